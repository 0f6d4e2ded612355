/**
 * remote_write payloads read back with protobufjs (the remote_write 1.0 .proto, as in
 * prometheus/prompb types.proto) and snappyjs: every container series of /metrics rendered from
 * the same store, with the same labels (plus the extra ones) and values, at the sample's time;
 * labels sorted; staleness markers with Prometheus' exact NaN when a container or a series goes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uncompress } from 'snappyjs';
import { fixtureStore, ID_A, ID_B, T } from '../api/support.js';
import { LabelRenderer, renderMetrics } from '../../src/api/prometheus.js';
import { ExportFeed } from '../../src/export/exporter.js';
import { mergeWriteRequests, RemoteWriteSink } from '../../src/export/remote-write.js';
import { remoteWriteLabels } from '../../src/export/index.js';
import { decodeWriteRequest as decode, type DecodedSeries } from './support.js';
import { derive } from '../../src/derive/index.js';
import type { Store } from '../../src/store/store.js';

const key = (labels: Record<string, string>): string => JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

const allow = ['com.example.team'];
const sink = (): RemoteWriteSink =>
  new RemoteWriteSink({
    name: 'remote_write-0',
    target: { url: new URL('http://127.0.0.1:1/api/v1/write'), timeoutMs: 1000 },
    labelAllowlist: allow,
    extraLabels: remoteWriteLabels(['dc=eu-1'], 'node-7'),
    userAgent: 'cstats/test',
  });

/** Every container series /metrics shows for `store` is in `series` with the same value, at `atMs`; returns how many. */
function compareWithMetrics(store: Store, series: DecodedSeries[], atMs: number): number {
  const byKey = new Map(series.map((s) => [key(Object.fromEntries(s.labels.map((l) => [l.name, l.value]))), s]));
  for (const s of series) {
    const names = s.labels.map((l) => l.name);
    assert.deepEqual(names, [...names].sort(), 'labels sorted by name');
    assert.equal(s.samples.length, 1);
    assert.equal(s.samples[0].timestamp, atMs);
  }
  const body = renderMetrics(store, new LabelRenderer(allow)).body.toString('utf8');
  let compared = 0;
  for (const line of body.split('\n')) {
    // container_processes needs a read of cgroup.procs at render time: not in a sample, not exported.
    if (!line.startsWith('container_') || line.startsWith('container_processes')) continue;
    const m = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line)!;
    const labels: Record<string, string> = { __name__: m[1], host: 'node-7', dc: 'eu-1' };
    for (const x of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[x[1]] = x[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const s = byKey.get(key(labels));
    assert.ok(s, `missing in the payload: ${line}`);
    assert.equal(s!.samples[0].value, Number(m[3]), line);
    compared++;
  }
  return compared;
}

test('remote_write: every container series of /metrics, same labels (+ host, dc) and values, at the sample time', () => {
  const store = fixtureStore();
  const payload = sink().encode(new ExportFeed(store).next(T + 500))!;
  const series = decode(payload.bytes);
  assert.equal(payload.samples, series.length);
  const compared = compareWithMetrics(store, series, T);
  assert.ok(compared > 50, `compared ${compared} series`);
  // Only the running containers (A, B) are reported, as on /metrics: no series of C.
  assert.equal(compared, series.length);
});

test('remote_write: later ticks rewrite the kept series with new values and times; a new series is added, none lost', () => {
  const store = fixtureStore();
  const feed = new ExportFeed(store);
  const s = sink();
  s.encode(feed.next(T + 500));
  const a = store.get(ID_A)!;
  const b = store.get(ID_B)!;
  for (let tick = 1; tick <= 3; tick++) {
    const at = T + tick * 1000;
    // A: the same series, every counter moved; B: from tick 2 an interface more, and CPU time past 2^53 ns.
    const cpuA = { ...a.latest!.cgroup.cpu!, usageNs: a.latest!.cgroup.cpu!.usageNs! + 123_456_789n * BigInt(tick), userNs: 9_007_199_254_740_993n + BigInt(tick) };
    const sampleA = { ...a.latest!, timestampMs: at, monoNs: BigInt(at) * 1_000_000n, cgroup: { ...a.latest!.cgroup, cpu: cpuA }, network: a.latest!.network!.map((i) => ({ ...i, rxBytes: i.rxBytes + BigInt(tick) })) };
    const eth1 = { ...b.latest!.network![0], name: 'eth1', rxBytes: BigInt(tick) };
    const sampleB = { ...b.latest!, timestampMs: at, monoNs: BigInt(at) * 1_000_000n, network: tick >= 2 ? [b.latest!.network![0], eth1] : b.latest!.network };
    store.record(ID_A, sampleA, derive(a.latest, sampleA, 8_323_743_744n));
    store.record(ID_B, sampleB, derive(b.latest, sampleB, 8_323_743_744n));
    const payload = s.encode(feed.next(at + 500))!;
    const series = decode(payload.bytes);
    assert.equal(payload.samples, series.length);
    assert.equal(compareWithMetrics(store, series, at), series.length, `tick ${tick}`);
    assert.ok(series.every((x) => !Number.isNaN(x.samples[0].value)), 'no staleness marker: nothing went');
  }
});

test('remote_write: a container that goes gets a staleness marker (NaN 0x7ff0000000000002) on each of its series', () => {
  const store = fixtureStore();
  const feed = new ExportFeed(store);
  const s = sink();
  const first = decode(s.encode(feed.next(T + 500))!.bytes);
  const ofB = first.filter((x) => x.labels.some((l) => l.name === 'id' && l.value.endsWith(ID_B)));
  assert.ok(ofB.length > 3);
  // Nothing new sampled: nothing to send.
  assert.equal(s.encode(feed.next(T + 1000)), undefined);
  store.markRemoved(ID_B, T + 1400);
  const payload = s.encode(feed.next(T + 1500))!;
  const stale = decode(payload.bytes);
  assert.equal(stale.length, ofB.length);
  assert.equal(payload.samples, ofB.length);
  for (const x of stale) {
    assert.ok(Number.isNaN(x.samples[0].value));
    assert.equal(x.samples[0].timestamp, T + 1500);
  }
  assert.deepEqual(new Set(stale.map((x) => key(Object.fromEntries(x.labels.map((l) => [l.name, l.value]))))), new Set(ofB.map((x) => key(Object.fromEntries(x.labels.map((l) => [l.name, l.value]))))));
  // The exact bits: field 1 (double) tag 0x09, then 02 00 00 00 00 00 f0 7f.
  const raw = Buffer.from(uncompress(payload.bytes));
  const marker = Buffer.from([0x09, 0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f]);
  let found = 0;
  for (let i = raw.indexOf(marker); i >= 0; i = raw.indexOf(marker, i + 1)) found++;
  assert.equal(found, ofB.length);
  assert.ok(first.some((x) => x.labels.some((l) => l.name === 'id' && l.value.endsWith(ID_A))));
});

test('remote_write: payloads merged into one request keep every series, in queue order', () => {
  const store = fixtureStore();
  const feed = new ExportFeed(store);
  const s = sink();
  const a = s.encode(feed.next(T + 500))!;
  store.markRemoved(ID_A, T + 1400);
  const b = s.encode(feed.next(T + 1500))!;
  const merged = decode(mergeWriteRequests([a.bytes, b.bytes]));
  assert.equal(merged.length, a.samples + b.samples);
  assert.deepEqual(merged.slice(0, a.samples), decode(a.bytes));
  assert.deepEqual(merged.slice(a.samples).map((x) => x.samples[0].timestamp), decode(b.bytes).map(() => T + 1500));
  assert.equal(mergeWriteRequests([a.bytes]), a.bytes);
});

test('remote_write labels: host is this machine unless given; "host=" removes it', () => {
  assert.deepEqual(remoteWriteLabels([], 'h1'), { host: 'h1' });
  assert.deepEqual(remoteWriteLabels(['host=web-3', 'dc=a=b'], 'h1'), { host: 'web-3', dc: 'a=b' });
  const store = fixtureStore();
  const s = new RemoteWriteSink({
    name: 'remote_write-0',
    target: { url: new URL('http://127.0.0.1:1/'), timeoutMs: 1000 },
    labelAllowlist: [],
    extraLabels: remoteWriteLabels(['host='], 'h1'),
    userAgent: 'cstats/test',
  });
  const series = decode(s.encode(new ExportFeed(store).next(T + 500))!.bytes);
  assert.ok(series.every((x) => !x.labels.some((l) => l.name === 'host')));
});
