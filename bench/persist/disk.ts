/**
 * bench/persist disk: bytes on disk per stored point (one metric, one timestamp), the cstats
 * agent beside netdata's dbengine (Debian's netdata 1.37, one tier of every second), over the
 * same containers for the same time: BENCH_IDLE plain cgroups with a sleep each (bench/collect's, in cs12-bench.slice)
 * and BENCH_BUSY Docker containers running a shell loop under --cpus 0.05 (the busy part of the
 * mix; 0 for the idle figure). Prints figures and the ratio; asserts nothing.
 *
 * cstats: the data directory's bytes (segments, head log, state) over the samples its history
 * serves × 10 metrics. netdata: its dbengine directory's bytes over the points of its cgroup
 * charts (dimensions × seconds charted), after both were stopped with SIGTERM.
 *
 *   node dist/bench/persist/disk.js     (as root; BENCH_MINUTES=12 BENCH_IDLE=200 BENCH_BUSY=10)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { readHostLayout } from '../../src/runtimes/layout.js';
import { diskBytes } from '../../src/store/persist.js';
import { BenchCgroups } from '../collect/cgroups.js';
import { prepareStateDir, sleep, start, stop } from '../collect/children.js';
import { startNetdata } from '../collect/netdata.js';

const MINUTES = Number(process.env.BENCH_MINUTES ?? 12);
const IDLE = Number(process.env.BENCH_IDLE ?? 200);
const BUSY = Number(process.env.BENCH_BUSY ?? 10);
const ROOT = '/tmp/cs12-bench-disk';
const busyName = (i: number): string => `cs12-bench-busy-${i}`;
const SLICE = 'cs12-bench.slice';

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function json<T>(url: string): Promise<T> {
  return (await (await fetch(url)).json()) as T;
}

async function main(): Promise<void> {
  const layout = readHostLayout();
  const cgroups = new BenchCgroups(layout, SLICE);
  rmSync(ROOT, { recursive: true, force: true });
  prepareStateDir();
  try {
    await cgroups.grow(IDLE);
    for (let i = 0; i < BUSY; i++) {
      spawnSync('docker', ['rm', '-f', busyName(i)]);
      execFileSync('docker', ['run', '-d', '--name', busyName(i), '--cpus', '0.05', 'busybox:local', 'sh', '-c', 'while true; do :; done']);
    }
    const [cPort, nPort] = [await freePort(), await freePort()];
    const startedMs = Date.now();
    const agent = start('cs12-cstats', process.execPath, ['bin/cstats.js', 'agent', '--data-dir', `${ROOT}/cstats`, '--listen', `127.0.0.1:${cPort}`, '--quiet']);
    const netdata = startNetdata('v1', nPort, 'dbengine', `${ROOT}/netdata`);
    console.log(`${IDLE} idle cgroups and ${BUSY} busy containers, ${MINUTES} min, cstats and netdata side by side (a shared machine: other engineers' work ran too)`);
    await sleep(MINUTES * 60_000);

    // What each serves, read before they stop.
    type Summary = { id: string; name: string };
    const containers = await json<Summary[]>(`http://127.0.0.1:${cPort}/api/v1/containers`);
    let samples = 0;
    for (const c of containers) {
      const h = await json<{ timestamps: number[]; series: { pids: (number | null)[] } }>(`http://127.0.0.1:${cPort}/api/v1/containers/${c.id}/history?since=${startedMs}&metrics=pids`);
      samples += h.series.pids.filter((v) => v !== null).length;
    }
    const charts = await json<{ charts: Record<string, { first_entry: number; last_entry: number; dimensions: Record<string, unknown> }> }>(`http://127.0.0.1:${nPort}/api/v1/charts`);
    let ndPoints = 0;
    let ndCharts = 0;
    for (const [id, ch] of Object.entries(charts.charts)) {
      if (!id.startsWith('cgroup_')) continue;
      ndCharts++;
      ndPoints += Object.keys(ch.dimensions).length * Math.max(0, ch.last_entry - ch.first_entry + 1);
    }
    await stop(agent);
    await stop(netdata.proc, 60_000);
    const cBytes = diskBytes(`${ROOT}/cstats`);
    const nBytes = diskBytes(`${ROOT}/netdata/cache`);
    const cPoints = samples * 10;
    const cPer = cBytes / cPoints;
    const nPer = nBytes / ndPoints;
    console.log(`cstats:  ${containers.length} containers, ${cPoints} points (10 metrics), ${cBytes} bytes on disk: ${cPer.toFixed(3)} B a point`);
    console.log(`netdata: ${ndCharts} cgroup charts, ${ndPoints} points, ${nBytes} bytes in its dbengine directory: ${nPer.toFixed(3)} B a point`);
    console.log(`ratio cstats / netdata: ${(cPer / nPer).toFixed(2)}`);
  } finally {
    for (let i = 0; i < BUSY; i++) spawnSync('docker', ['rm', '-f', busyName(i)]);
    await BenchCgroups.destroy(layout, SLICE);
    if (process.env.BENCH_KEEP !== '1') rmSync(ROOT, { recursive: true, force: true });
  }
}

await main();
