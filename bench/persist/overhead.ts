/**
 * bench/persist overhead: what keeping history on disk adds to the agent at BENCH_N (1000)
 * containers: two agents side by side over the same plain cgroups (a sleep each, in
 * cs12-bench-overhead.slice), one with --no-persist and one with a data directory, both running
 * for BENCH_WARMUP s before CPU time (utime + stime of the process) and RSS are read over
 * BENCH_WINDOW s. Side by side, so both see the same load of a shared machine. Prints figures
 * and the differences; asserts nothing.
 *
 *   node dist/bench/persist/overhead.js     (as root)
 */
import { readFileSync, rmSync } from 'node:fs';
import { readHostLayout } from '../../src/runtimes/layout.js';
import { BenchCgroups } from '../collect/cgroups.js';
import { prepareStateDir, sleep, start, stop } from '../collect/children.js';
import { residentOf } from '../collect/cpu.js';

const N = Number(process.env.BENCH_N ?? 1000);
const WARMUP_S = Number(process.env.BENCH_WARMUP ?? 120);
const WINDOW_S = Number(process.env.BENCH_WINDOW ?? 60);
const SLICE = 'cs12-bench-overhead.slice';
const DATA = '/tmp/cs12-bench-overhead';

/** utime + stime of a process, in clock ticks (USER_HZ, 100 here). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

async function main(): Promise<void> {
  const layout = readHostLayout();
  const cgroups = new BenchCgroups(layout, SLICE);
  rmSync(DATA, { recursive: true, force: true });
  prepareStateDir();
  try {
    await cgroups.grow(N);
    const common = ['agent', '--no-docker', '--quiet'];
    const plain = start('cs12-overhead-memory', 'bin/cstats.js', [...common, '--no-persist', '--listen', '127.0.0.1:0']);
    const disk = start('cs12-overhead-disk', 'bin/cstats.js', [...common, '--data-dir', DATA, '--listen', '127.0.0.1:0']);
    console.log(`${N} plain cgroups; the agent with and without history on disk side by side; ${WARMUP_S} s warm-up, ${WINDOW_S} s measured (a shared machine)`);
    await sleep(WARMUP_S * 1000);
    const before = [cpuTicks(plain.pid), cpuTicks(disk.pid)];
    await sleep(WINDOW_S * 1000);
    const after = [cpuTicks(plain.pid), cpuTicks(disk.pid)];
    const cpu = after.map((a, i) => (a - before[i]) / WINDOW_S); // % of one core (100 ticks a second)
    const rss = [residentOf(plain.pid), residentOf(disk.pid)];
    const mib = (r: ReturnType<typeof residentOf>): string => (r ? `${(r.rssBytes / 2 ** 20).toFixed(1)} MiB` : '?');
    console.log(`memory only:  CPU ${cpu[0].toFixed(2)} % of a core, RSS ${mib(rss[0])}`);
    console.log(`with disk:    CPU ${cpu[1].toFixed(2)} % of a core, RSS ${mib(rss[1])}`);
    console.log(`added by persistence: CPU ${(cpu[1] - cpu[0]).toFixed(2)} points (${((cpu[1] / cpu[0] - 1) * 100).toFixed(0)} %), RSS ${rss[0] && rss[1] ? ((rss[1].rssBytes - rss[0].rssBytes) / 2 ** 20).toFixed(1) : '?'} MiB`);
    await stop(plain);
    await stop(disk);
  } finally {
    await BenchCgroups.destroy(layout, SLICE);
    rmSync(DATA, { recursive: true, force: true });
  }
}

await main();
