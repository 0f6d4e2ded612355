/**
 * bench/persist overhead: what keeping history on disk adds to the agent at BENCH_N (1000)
 * containers: two agents side by side over the same plain cgroups (a sleep each, in
 * cs12-bench-overhead.slice), one with --no-persist and one with a data directory, both running
 * for BENCH_WARMUP s before CPU time (utime + stime of the process) is read over BENCH_WINDOW s,
 * RSS every 5 s through it. Side by side, so both see the same load of a shared machine. Prints figures
 * and the differences; asserts nothing.
 *
 *   node dist/bench/persist/overhead.js     (as root)
 */
import { readFileSync, rmSync } from 'node:fs';
import { readHostLayout } from '../../src/runtimes/layout.js';
import { BenchCgroups } from '../collect/cgroups.js';
import { prepareStateDir, sleep, start, stop } from '../collect/children.js';
import { residentOf, type Resident } from '../collect/cpu.js';

const N = Number(process.env.BENCH_N ?? 1000);
const WARMUP_S = Number(process.env.BENCH_WARMUP ?? 120);
const WINDOW_S = Number(process.env.BENCH_WINDOW ?? 60);
const RSS_EVERY_S = 5;
const SLICE = 'cs12-bench-overhead.slice';
const DATA = '/tmp/cs12-bench-overhead';

/** utime + stime of a process, in clock ticks (USER_HZ, 100 here). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

/** Mean RSS and anonymous RSS of the readings, and a line with the mean and the range of RSS. */
function rssFigures(rs: Resident[]): { mean: number; anonMean: number; text: string } {
  if (rs.length === 0) return { mean: NaN, anonMean: NaN, text: 'RSS not read (the agent is gone?)' };
  const meanOf = (key: keyof Resident): number => rs.reduce((a, r) => a + r[key], 0) / rs.length;
  const mean = meanOf('rssBytes');
  const anonMean = meanOf('anonBytes');
  const mib = (b: number): string => (b / 2 ** 20).toFixed(1);
  const sorted = rs.map((r) => r.rssBytes).sort((a, b) => a - b);
  return { mean, anonMean, text: `RSS mean ${mib(mean)} MiB (${mib(sorted[0])} to ${mib(sorted[sorted.length - 1])} in ${rs.length} readings), anonymous ${mib(anonMean)} MiB` };
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
    // RSS moves by several MiB with each agent's garbage collections: read every RSS_EVERY_S
    // seconds through the window, and compare the means.
    const readings: [Resident[], Resident[]] = [[], []];
    for (let s = 0; s < WINDOW_S; s += RSS_EVERY_S) {
      await sleep(Math.min(RSS_EVERY_S, WINDOW_S - s) * 1000);
      [plain, disk].forEach((agent, i) => {
        const r = residentOf(agent.pid);
        if (r) readings[i].push(r);
      });
    }
    const after = [cpuTicks(plain.pid), cpuTicks(disk.pid)];
    const cpu = after.map((a, i) => (a - before[i]) / WINDOW_S); // % of one core (100 ticks a second)
    const rss = readings.map((rs) => rssFigures(rs));
    console.log(`memory only:  CPU ${cpu[0].toFixed(2)} % of a core, ${rss[0].text}`);
    console.log(`with disk:    CPU ${cpu[1].toFixed(2)} % of a core, ${rss[1].text}`);
    const rssAdded = rss[1].mean - rss[0].mean;
    const anonAdded = rss[1].anonMean - rss[0].anonMean;
    console.log(
      `added by persistence: CPU ${(cpu[1] - cpu[0]).toFixed(2)} points (${((cpu[1] / cpu[0] - 1) * 100).toFixed(0)} %), ` +
        `mean RSS ${(rssAdded / 2 ** 20).toFixed(1)} MiB (${(rssAdded / 1e6).toFixed(1)} MB), mean anonymous ${(anonAdded / 2 ** 20).toFixed(1)} MiB`,
    );
    await stop(plain);
    await stop(disk);
  } finally {
    await BenchCgroups.destroy(layout, SLICE);
    rmSync(DATA, { recursive: true, force: true });
  }
}

await main();
