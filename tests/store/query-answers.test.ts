/**
 * The history endpoint's answers over a store on disk, byte for byte: a fixture store (sealed
 * chunks in several segments, a gap, a restart, chunks waiting to be written, open chunks and
 * buckets in progress; NaN, -0, integers near 2^53, the largest double) is queried over HTTP, and
 * each body's SHA-256 must be what the query path answered before it was made faster. The
 * stored samples must also come back exactly as they were fed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Router, startServer } from '../../src/api/http.js';
import { registerRest } from '../../src/api/rest.js';
import { DataDir } from '../../src/store/datadir.js';
import { PersistentHistory } from '../../src/store/persist.js';
import { Store, historyMetricNames } from '../../src/store/store.js';
import { createLogger } from '../../src/log.js';
import type { Collector } from '../../src/collector/collector.js';
import type { ContainerInfo } from '../../src/model.js';

const T0 = Date.UTC(2026, 0, 1, 10, 59, 30) + 250;
const END = T0 + 9_000_000;
const CENTURY = 100 * 365 * 86_400_000;
const M = historyMetricNames.length;

function info(n: number): ContainerInfo {
  return { id: `cs12q${String(n).padStart(59, '0')}`, name: `cs12-q${n}`, runtime: 'cgroupfs', image: '', labels: {}, state: 'running', cgroup: { version: 2, path: `/cs12-q${n}`, dir: `/x/cs12-q${n}` }, network: { kind: 'unknown' }, createdMs: T0 - 1000, mounts: [] };
}

/** Container 0 busy (a walk, NaN now and then, -0, integers near 2^53, odd doubles); 1 idle. */
function rowAt(n: number, k: number): Float64Array {
  const row = new Float64Array(M);
  if (n === 1) {
    row.fill(7);
    row[3] = 268_435_456;
    return row;
  }
  for (let m = 0; m < M; m++) row[m] = Math.sin(k * 0.37 + m) * 50 + 50 + m * 0.1;
  row[1] = k % 13 === 0 ? NaN : row[1];
  row[2] = k % 5 === 0 ? -0 : 0.1 + 0.2 * k;
  row[3] = 2 ** 53 - 1 - (k % 1000);
  row[4] = k % 997 === 0 ? 1.7976931348623157e308 : 1e-300 * k;
  row[5] = Math.round(k / 100) * 4096;
  row[6] = NaN;
  return row;
}

/** Feeds samples `from` to `to` (seconds after T0) of both containers, flushing every 10 s unless told not to. */
function feed(h: PersistentHistory, from: number, to: number, flush = true): void {
  for (let k = from; k < to; k++) {
    for (const n of [0, 1]) h.record(info(n), T0 + k * 1000, rowAt(n, k));
    if (flush && k % 10 === 9) h.flush(T0 + k * 1000);
  }
}

function open(dir: string) {
  const log = createLogger(() => {});
  const dataDir = DataDir.open(dir, log);
  const h = new PersistentHistory({ dataDir, intervalMs: 1000, metrics: historyMetricNames, retentionMs: [CENTURY, CENTURY, CENTURY], maxBytes: 1 << 30, log });
  return { dataDir, h };
}

/** SHA-256 of each answer as the query path answered before it was optimised. */
const GOLDEN: Record<string, string> = {
  'container 0, query 0': '3c7764a3f9c95741e907f017d2eabc73f867111ddcfd5ed8ee87ba747bfc2ad2',
  'container 0, query 1': 'a88999fa9745629c5be0c335b910f145eb16d784fb2db68e62a50d51ee5724cd',
  'container 0, query 2': '51cbd01768f8eb27fee9451f75a15af444da175ec41e902f1bd58b15adf26c94',
  'container 0, query 3': '7f29189cf339c9f2d52c95abfa90786acc31f8b7c96e109572c31625f1fe33ed',
  'container 0, query 4': 'b531e12a27cdef42764f33de9ea40dd401b498301e6c5fd408fbdde28e58f61f',
  'container 0, query 5': '41f891de0ade3bb96c92b9cc8436f69ed18db361b05004de68920c8f1e74f55d',
  'container 0, query 6': '46f78f96f563518f157a47a47279a151d91d31eee99726883b4ca47e94c73288',
  'container 0, query 7': '1dc46076c5540dad2aea9089d93c48ebfac3f7b1cf81b951fa6ea8e1ef682f05',
  'container 1, query 0': 'c7fb4375e298887a1e8c952ba1e00a81377a650ae2def38fb61d25ef3511190e',
  'container 1, query 1': '7e9a4c7eec325b29b430f33c74e60b1a44df322e5c1dd205e6101bf3f13e1870',
  'container 1, query 2': '990ec3eca5f755b2db5bd64260f1bf4b162965e1b3316bbc705f20c4289b0c3c',
  'container 1, query 3': '0e24d4e774fd41f25200f8cf204d4815dfad1676517ea359d0198b475bb99108',
  'container 1, query 4': '46f128fc9a30c22f430b2afc05b7394c6823d764346bb850ee52d39ad8ac765a',
  'container 1, query 5': '10e0286d1ba22c8f995a0c6e3a3b42f9186444fc53ac186d6091c4d5b01ecf03',
  'container 1, query 6': '4023803bb01951a386ca5f80eb282338fd237225d6d4562a31aee9e6a45c476c',
  'container 1, query 7': '922f9431124fa80b0e49ba5bc3d07995ed28df24934df0b029c9e6f463a53c3c'
};

const QUERIES = [
  `since=${T0 - 3_600_000}&until=${END + 3_600_000}`,
  `since=${T0 + 1_234_567}&until=${T0 + 7_654_321}&metrics=cpu_percent,pids,memory_limit_bytes,cpu_percent`,
  `since=${T0}&until=${END}&step=1s&metrics=cpu_cores,cpu_throttled_percent`,
  `since=${T0 + 17}&until=${END - 17}&step=7s`,
  `since=${T0}&until=${END}&step=1m`,
  `since=${T0 + 1_000_000}&until=${END}&step=5m&metrics=memory_usage_bytes,memory_working_set_bytes`,
  `since=${T0 - 7_200_000}&until=${END}&step=1h`,
  `since=${T0}&until=${END}&step=90m&metrics=memory_limit_bytes`,
];

test('history answers: byte for byte what they were before the query path was optimised; samples exact', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs12-query-'));
  const a = open(dir);
  feed(a.h, 0, 5000);
  feed(a.h, 5600, 7000); // the agent was down for ten minutes
  a.h.close(T0 + 7000 * 1000);
  a.dataDir.close();
  const b = open(dir);
  feed(b.h, 7000, 8400);
  feed(b.h, 8400, 9000, false); // sealed chunks still waiting to be written, open chunks, buckets in progress
  const store = new Store(900, CENTURY, undefined, 1000, b.h);
  const router = new Router();
  registerRest(router, { store, discoverers: [], collector: {} as Collector, intervalMs: 1000, startedMs: Date.now() });
  const server = await startServer(router, '127.0.0.1:0');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/containers`;
  try {
    const actual: Record<string, string> = {};
    for (const n of [0, 1]) {
      for (const [i, q] of QUERIES.entries()) {
        const res = await fetch(`${base}/cs12-q${n}/history?${q}`);
        const text = await res.text();
        assert.equal(res.status, 200, text.slice(0, 200));
        actual[`container ${n}, query ${i}`] = createHash('sha256').update(text).digest('hex');
      }
    }
    assert.deepEqual(actual, GOLDEN);

    // Every sample as fed: null where it was NaN, -0 and doubles near 2^53 exact.
    const res = await fetch(`${base}/cs12-q0/history?since=${T0}&until=${END}`);
    const body = (await res.json()) as { timestamps: number[]; series: Record<string, (number | null)[]> };
    const gap = body.timestamps.indexOf(T0 + 5000 * 1000);
    assert.equal(body.timestamps.length, 8401, 'every sample and one null for the gap');
    assert.equal(body.series.cpu_percent[gap], null);
    body.timestamps.forEach((ts, i) => {
      if (i === gap) return;
      const k = (ts - T0) / 1000;
      const want = rowAt(0, k);
      historyMetricNames.forEach((name, m) => {
        const got = body.series[name][i];
        if (Number.isNaN(want[m]) || !Number.isFinite(want[m])) assert.equal(got, null, `${name} at ${k}`);
        else assert.equal(got, Object.is(want[m], -0) ? 0 : want[m], `${name} at ${k}`);
      });
    });
  } finally {
    server.close();
    b.h.close();
    b.dataDir.close();
    rmSync(dir, { recursive: true });
  }
});
