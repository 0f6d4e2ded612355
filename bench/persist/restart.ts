/**
 * bench/persist restart: an agent starting over 1000 containers × 24 h of samples (and 30 days
 * of 1-minute, a year's 1-hour points where the feed reaches): time from spawn to serving, and
 * query times (24 h at 1 s for one container; 30 days at 1 min, with all four statistics and with
 * the means alone). Prints figures; asserts nothing.
 *
 * The data directory is made as the agent makes it: template containers (an idle one with
 * constant figures and a busy one with a noisy random walk, as the bench/collect mix) are fed
 * sample by sample through PersistentHistory for BENCH_DAYS days at 1 s; their chunk records are
 * then copied for 1000 series (the series number patched, the checksum recomputed by
 * RecordFile), one in BENCH_BUSY_EVERY (20) busy, so each series holds one template's history.
 *
 *   node dist/bench/persist/restart.js      (BENCH_CONTAINERS=1000 BENCH_DAYS=30; BENCH_KEEP=1 keeps
 *   the directories under /tmp/cs12-bench-restart)
 *
 * BENCH_AGENTS, paths of other builds' bin/cstats.js separated by spaces (default: this build's),
 * runs each in turn, each over its own copy of the same data directory, so that builds are
 * compared on the same bytes.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DataDir } from '../../src/store/datadir.js';
import { PersistentHistory, diskBytes, type KeptContainer } from '../../src/store/persist.js';
import { RecordFile } from '../../src/store/records.js';
import { historyMetricNames } from '../../src/store/store.js';
import { createLogger } from '../../src/log.js';
import { freePort } from '../../tests/integration/support.js';
import type { ContainerInfo } from '../../src/model.js';

const N = Number(process.env.BENCH_CONTAINERS ?? 1000);
const DAYS = Number(process.env.BENCH_DAYS ?? 30);
/** One container in this many is busy (bench/collect's mix: 50 Docker containers beside 1000 cgroups). */
const BUSY_EVERY = Number(process.env.BENCH_BUSY_EVERY ?? 20);
const ROOT = '/tmp/cs12-bench-restart';
const log = createLogger(() => {}, true);
const DAY = 86_400_000;

function info(i: number, createdMs: number): ContainerInfo {
  return { id: `cs12bench${String(i).padStart(55, '0')}`, name: `cs12-bench-${i}`, runtime: 'cgroupfs', kind: 'systemd', image: '', labels: {}, state: 'running', cgroup: { version: 1, path: `/cs12-bench/${i}`, dirs: {} }, network: { kind: 'host' }, createdMs, mounts: [] };
}

/** Feeds the two templates (series 0 idle, 1 busy) for DAYS days ending now. */
function makeTemplates(dir: string, nowMs: number): void {
  const dataDir = DataDir.open(dir, log);
  const h = new PersistentHistory({ dataDir, intervalMs: 1000, metrics: historyMetricNames, retentionMs: [DAY, 30 * DAY, 365 * DAY], maxBytes: 64 * 2 ** 30, log });
  const start = nowMs - DAYS * DAY;
  const idle = info(0, start);
  const busy = info(1, start);
  // Metrics past the first ten (throttling, cache, pressure) stay at 0 in both templates.
  const idleRow = new Float64Array(historyMetricNames.length);
  idleRow.set([0, 0, 1_310_720, 1_232_896, 8_323_743_744, 0, 0, 0, 0, 1]);
  const row = new Float64Array(historyMetricNames.length);
  let walk = 20;
  let x = 12345;
  const rand = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  const t0 = Date.now();
  for (let ts = start, k = 0; ts < nowMs; ts += 1000, k++) {
    h.record(idle, ts, idleRow);
    walk = Math.min(100, Math.max(0, walk + (rand() - 0.5) * 4));
    row[0] = walk * (0.9 + rand() * 0.2);
    row[1] = row[0] / 100;
    row[2] = 50_000_000 + Math.round(rand() * 4096) * 4096;
    row[3] = row[2] - 4_000_000;
    row[4] = 268_435_456;
    row[5] = Math.round(rand() * 20_000);
    row[6] = Math.round(rand() * 20_000);
    row[7] = 0;
    row[8] = rand() < 0.1 ? Math.round(rand() * 100) * 4096 : 0;
    row[9] = 4 + (rand() < 0.05 ? 1 : 0);
    h.record(busy, ts, row);
    if (k % 600 === 599) h.flush(ts);
  }
  h.close(nowMs);
  dataDir.close();
  console.log(`templates: ${DAYS} days at 1 s for an idle and a busy container in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/** Copies every record of the templates' files for N series: every BUSY_EVERY-th is busy (template 1), the others idle (0). */
function replicate(from: string, to: string, nowMs: number): void {
  mkdirSync(to, { recursive: true });
  const dataDir = DataDir.open(to, log);
  const kept: KeptContainer[] = Array.from({ length: N }, (_, i) => ({ series: i, info: info(i, nowMs - DAYS * DAY), removedMs: undefined }));
  dataDir.writeState('containers', { nextSeries: N, containers: kept });
  // Bytes of sealed chunks on disk per stored point (a row is 10 metrics), by template and tier.
  const perTemplate = new Map<string, { bytes: number; points: number }>();
  for (const sub of ['tier-raw', 'tier-1m', 'tier-1h', 'head']) {
    for (const name of readdirSync(join(from, sub))) {
      const records: Buffer[] = [];
      RecordFile.open(join(from, sub, name), (p) => records.push(Buffer.from(p))).file.close();
      if (sub !== 'head') {
        for (const r of records) {
          const key = `${sub} ${r.readUInt32LE(2) === 1 ? 'busy' : 'idle'}`;
          const t = perTemplate.get(key) ?? { bytes: 0, points: 0 };
          t.bytes += r.length + 8;
          t.points += r.readUInt32LE(6) * historyMetricNames.length;
          perTemplate.set(key, t);
        }
      }
      const out = RecordFile.open(join(dataDir.subdir(sub), name), () => {}).file;
      const batch: Uint8Array[] = [];
      for (let i = 0; i < N; i++) {
        for (const r of records) {
          if (r.readUInt32LE(2) !== (i % BUSY_EVERY === 0 ? 1 : 0)) continue;
          const copy = Buffer.from(r);
          copy.writeUInt32LE(i, 2);
          batch.push(copy);
        }
        if (batch.length > 5000) out.append(batch.splice(0));
      }
      out.append(batch);
      out.sync();
      out.close();
    }
  }
  dataDir.close();
  for (const [key, t] of [...perTemplate].sort()) console.log(`${key}: ${(t.bytes / t.points).toFixed(3)} B a stored point (${t.points} points in sealed chunks, records' headers included)`);
}

/**
 * Times `times` GETs of url, each two ways: to the answer's last byte (what the agent controls:
 * its query, its JSON and the transfer) and to the parsed answer (that plus the client's
 * JSON.parse). Both lists sorted.
 */
async function timeGet(url: string, times = 5): Promise<{ ms: number[]; bytesMs: number[]; points: number }> {
  const ms: number[] = [];
  const bytesMs: number[] = [];
  let points = 0;
  for (let i = 0; i < times; i++) {
    const t = performance.now();
    const res = await fetch(url);
    const text = await res.text();
    bytesMs.push(performance.now() - t);
    const body = JSON.parse(text) as { timestamps: number[] };
    ms.push(performance.now() - t);
    points = body.timestamps.length;
  }
  return { ms: ms.sort((a, b) => a - b), bytesMs: bytesMs.sort((a, b) => a - b), points };
}

/** "median M ms (min, max), to the last byte B ms": the parsed times' median and spread, and the median to the last byte. */
function timed(t: { ms: number[]; bytesMs: number[] }): string {
  const mid = t.ms.length >> 1;
  return `median ${t.ms[mid].toFixed(0)} ms (min ${t.ms[0].toFixed(0)}, max ${t.ms[t.ms.length - 1].toFixed(0)}), to the last byte ${t.bytesMs[mid].toFixed(0)} ms`;
}

async function main(): Promise<void> {
  rmSync(ROOT, { recursive: true, force: true });
  const nowMs = Date.now();
  makeTemplates(join(ROOT, 'templates'), nowMs);
  const made = join(ROOT, 'data');
  const t1 = Date.now();
  replicate(join(ROOT, 'templates'), made, nowMs);
  const bytes = diskBytes(made);
  console.log(`data directory: ${N} containers, ${(bytes / 2 ** 20).toFixed(1)} MiB (made in ${((Date.now() - t1) / 1000).toFixed(1)} s)`);
  const agents = (process.env.BENCH_AGENTS ?? 'bin/cstats.js').split(/\s+/).filter((a) => a !== '');
  // Each build starts over the directory as made (its first start writes the indexes): the
  // first build over it, each other one over a copy made before any start.
  const dirs = agents.map((_, i) => (i === 0 ? made : `${made}-${i}`));
  for (const dir of dirs.slice(1)) cpSync(made, dir, { recursive: true });
  for (const [i, bin] of agents.entries()) await measure(bin, dirs[i]);
  if (process.env.BENCH_KEEP !== '1') rmSync(ROOT, { recursive: true, force: true });
}

/** Two starts of the agent at bin over dir, each followed by the queries. */
async function measure(bin: string, dir: string): Promise<void> {
  console.log(`agent ${bin}:`);

  // The copied segments have no index yet: the first start reads them whole and indexes every
  // one but the newest of each tier (as an agent upgraded over an older data directory does);
  // the second start reads the indexes.
  for (const run of ['first start (segments read whole, then indexed)', 'second start (from the indexes)']) {
    const port = await freePort();
    const started = performance.now();
    // Through its #! line, as users start it: node's flags there (a 4 MB young generation) and
    // glibc's fixed trim threshold change what an answer costs (bin/cstats.js).
    const agent = spawn(bin, ['agent', '--data-dir', dir, '--no-docker', '--no-cgroups', '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    agent.stderr!.on('data', (c) => (stderr += c));
    const base = `http://127.0.0.1:${port}`;
    for (;;) {
      try {
        if ((await fetch(`${base}/healthz`)).status > 0) break;
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    const servingMs = performance.now() - started;
    const rss = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${agent.pid}/status`, 'latin1'))![1]) / 1024;
    console.log(`${run}: serving after ${servingMs.toFixed(0)} ms (spawn to the first /healthz answer), RSS ${rss.toFixed(1)} MiB; the agent's log: ${/read in \d+ ms/.exec(stderr)?.[0] ?? stderr.trim()}`);
    const id = info(0, 0).id; // busy
    const day = await timeGet(`${base}/api/v1/containers/${id}/history?since=24h`);
    console.log(`  24 h at 1 s, one busy container, all ${historyMetricNames.length} metrics: ${day.points} points, ${timed(day)}`);
    const dayOne = await timeGet(`${base}/api/v1/containers/${id}/history?since=24h&metrics=cpu_percent`);
    console.log(`  24 h at 1 s, one metric: ${timed(dayOne)}`);
    const dayStep = await timeGet(`${base}/api/v1/containers/${id}/history?since=24h&step=1m&metrics=cpu_percent`);
    console.log(`  24 h at 1 min, one metric: ${dayStep.points} points, ${timed(dayStep)}`);
    const month = await timeGet(`${base}/api/v1/containers/${id}/history?since=30d&step=1m`);
    console.log(`  30 days at 1 min, all metrics (mean, min, max, last): ${month.points} points, ${timed(month)}`);
    const monthMean = await timeGet(`${base}/api/v1/containers/${id}/history?since=30d&step=1m&stats=mean`);
    console.log(`  30 days at 1 min, all metrics, means alone (stats=mean): ${timed(monthMean)}`);
    agent.kill('SIGTERM');
    await new Promise((r) => agent.once('exit', r));
  }
}

await main();
