/**
 * bench/persist disk: bytes on disk per stored point (one metric, one timestamp), the cstats
 * agent beside netdata's dbengine (Debian's netdata 1.37, one tier of every second), over the
 * same containers for the same time: BENCH_IDLE plain cgroups with a sleep each (bench/collect's, in cs12-bench.slice)
 * and BENCH_BUSY Docker containers running a shell loop under --cpus 0.05 (the busy part of the
 * mix; 0 for the idle figure). Prints figures and the ratio; asserts nothing.
 *
 * Every BENCH_EVERY minutes, while both run: cstats' data directory (segments, head log, state)
 * and the values its history holds (every metric of every sample that has one); netdata's
 * dbengine directory and the points of its cgroup charts (dimensions × seconds charted). Each
 * line prints the bytes a point added since the line before, and for cstats in brackets those of
 * its segments alone: the head log (the open chunks, appended every --fsync-interval, rewritten
 * once over twice their bytes) is the part that does not grow with the days kept. Netdata writes
 * a page when it is full (1024 points of a dimension), so its lines lag. At the end, after both were stopped with
 * SIGTERM (each writes out what it held), the whole run's figure.
 *
 *   node dist/bench/persist/disk.js     (as root; BENCH_MINUTES=40 BENCH_EVERY=10 BENCH_IDLE=200 BENCH_BUSY=10)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { readHostLayout } from '../../src/runtimes/layout.js';
import { diskBytes } from '../../src/store/persist.js';
import { BenchCgroups } from '../collect/cgroups.js';
import { cleanUpOnSignal, prepareStateDir, sleep, start, stop, type Started } from '../collect/children.js';
import { startNetdata } from '../collect/netdata.js';
import { freePort } from '../../tests/integration/support.js';

const MINUTES = Number(process.env.BENCH_MINUTES ?? 40);
const EVERY = Number(process.env.BENCH_EVERY ?? 10);
const IDLE = Number(process.env.BENCH_IDLE ?? 200);
const BUSY = Number(process.env.BENCH_BUSY ?? 10);
const ROOT = '/tmp/cs12-bench-disk';
const busyName = (i: number): string => `cs12-bench-busy-${i}`;
const SLICE = 'cs12-bench.slice';
/** The data directory's segment directories (src/store/README.md). */
const TIERS = ['tier-raw', 'tier-1m', 'tier-1h'];

async function json<T>(url: string): Promise<T> {
  return (await (await fetch(url)).json()) as T;
}

interface Reading {
  atMs: number;
  /** `tierBytes`: the segments alone (tier-*), without the head log and the state files. */
  cstats: { bytes: number; tierBytes: number; points: number };
  netdata: { bytes: number; points: number };
}

/**
 * The values the agent's history holds in (sinceMs, untilMs] over the containers it lists: every
 * metric at every sample that has one (a metric the kernel does not give, such as pressure
 * without PSI, stores no value and is not counted).
 */
async function cstatsPoints(port: number, sinceMs: number, untilMs: number): Promise<number> {
  const containers = await json<{ id: string }[]>(`http://127.0.0.1:${port}/api/v1/containers?all=1`);
  let points = 0;
  for (const c of containers) {
    const h = await json<{ timestamps: number[]; series: Record<string, (number | null)[]> }>(
      `http://127.0.0.1:${port}/api/v1/containers/${c.id}/history?since=${sinceMs + 1}&until=${untilMs}`,
    );
    for (const values of Object.values(h.series)) points += values.filter((v) => v !== null).length;
  }
  return points;
}

/** Points netdata's cgroup charts hold: each chart's dimensions × the seconds from its first entry to its last. */
async function netdataPoints(port: number): Promise<number> {
  const charts = await json<{ charts: Record<string, { first_entry: number; last_entry: number; dimensions: Record<string, unknown> }> }>(`http://127.0.0.1:${port}/api/v1/charts`);
  let points = 0;
  for (const [id, ch] of Object.entries(charts.charts)) {
    if (id.startsWith('cgroup_')) points += Object.keys(ch.dimensions).length * Math.max(0, ch.last_entry - ch.first_entry + 1);
  }
  return points;
}

async function main(): Promise<void> {
  // bench/collect/run.sh installs it; this script asks for it before it makes anything.
  if (spawnSync('netdata', ['-v']).error) throw new Error('netdata is not installed: apt-get install netdata (Debian\'s netdata 1.37), then run this again');
  const layout = readHostLayout();
  const cgroups = new BenchCgroups(layout, SLICE);
  rmSync(ROOT, { recursive: true, force: true });
  prepareStateDir();
  // What this run started, stopped whatever way it ends: an agent left running would go on
  // writing into the next run's data directory (its lock file goes with the directory).
  const started: Started[] = [];
  const cleanup = async (): Promise<void> => {
    for (const p of started) await stop(p, 60_000);
    for (let i = 0; i < BUSY; i++) spawnSync('docker', ['rm', '-f', busyName(i)]);
    await BenchCgroups.destroy(layout, SLICE);
    if (process.env.BENCH_KEEP !== '1') rmSync(ROOT, { recursive: true, force: true });
  };
  const interrupted = cleanUpOnSignal((msg) => console.error(msg), cleanup);
  try {
    await cgroups.grow(IDLE);
    for (let i = 0; i < BUSY; i++) {
      spawnSync('docker', ['rm', '-f', busyName(i)]);
      execFileSync('docker', ['run', '-d', '--name', busyName(i), '--cpus', '0.05', 'busybox:local', 'sh', '-c', 'while true; do :; done']);
    }
    const [cPort, nPort] = [await freePort(), await freePort()];
    // Through its #! line, as users start it (bin/cstats.js).
    const agent = start('cs12-cstats', 'bin/cstats.js', ['agent', '--data-dir', `${ROOT}/cstats`, '--listen', `127.0.0.1:${cPort}`, '--quiet']);
    started.push(agent);
    const netdata = startNetdata('v1', nPort, 'dbengine', `${ROOT}/netdata`);
    started.push(netdata.proc);
    console.log(`${IDLE} idle cgroups and ${BUSY} busy containers, ${MINUTES} min, cstats and netdata side by side, read every ${EVERY} min`);
    console.log('minute | cstats bytes (segments) | cstats points | netdata bytes | netdata points | since the last reading: cstats B a point (segments) | netdata B a point | ratio');
    let last: Reading = { atMs: Date.now(), cstats: { bytes: 0, tierBytes: 0, points: 0 }, netdata: { bytes: 0, points: 0 } };
    const startedMs = last.atMs;
    for (let minute = EVERY; minute <= MINUTES; minute += EVERY) {
      await sleep(startedMs + minute * 60_000 - Date.now());
      // One instant ends this reading's span and starts the next, so no sample is counted twice.
      const atMs = Date.now();
      const now: Reading = {
        atMs,
        cstats: {
          bytes: diskBytes(`${ROOT}/cstats`),
          tierBytes: TIERS.reduce((n, t) => n + diskBytes(`${ROOT}/cstats/${t}`), 0),
          points: last.cstats.points + (await cstatsPoints(cPort, last.atMs, atMs)),
        },
        netdata: { bytes: diskBytes(`${ROOT}/netdata/cache`), points: await netdataPoints(nPort) },
      };
      const per = (k: 'cstats' | 'netdata'): number => (now[k].bytes - last[k].bytes) / (now[k].points - last[k].points);
      const segments = (now.cstats.tierBytes - last.cstats.tierBytes) / (now.cstats.points - last.cstats.points);
      console.log(
        `${minute} | ${now.cstats.bytes} (${now.cstats.tierBytes}) | ${now.cstats.points} | ${now.netdata.bytes} | ${now.netdata.points} | ` +
          `${per('cstats').toFixed(3)} (${segments.toFixed(3)}) | ${per('netdata').toFixed(3)} | ${(per('cstats') / per('netdata')).toFixed(2)}`,
      );
      last = now;
    }
    await stop(agent);
    await stop(netdata.proc, 60_000);
    // After both stopped (SIGTERM: each wrote out what it held): the whole run.
    const cBytes = diskBytes(`${ROOT}/cstats`);
    const nBytes = diskBytes(`${ROOT}/netdata/cache`);
    const cPer = cBytes / last.cstats.points;
    const nPer = nBytes / last.netdata.points;
    console.log(`whole run, after both stopped: cstats ${cBytes} bytes for ${last.cstats.points} points: ${cPer.toFixed(3)} B a point`);
    console.log(`                               netdata ${nBytes} bytes in its dbengine directory for ${last.netdata.points} points: ${nPer.toFixed(3)} B a point`);
    console.log(`ratio cstats / netdata: ${(cPer / nPer).toFixed(2)}`);
  } finally {
    if (!interrupted()) await cleanup();
  }
}

await main();
