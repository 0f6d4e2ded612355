/**
 * bench/soak: the agent for an hour at 1000 containers, its resident memory and open descriptors
 * over time. The in-memory history fills for the first 15 minutes (`--history 15m`), so memory
 * grows then by design; after that a steady agent stays flat, and what it still gains is a leak.
 * Prints one line per sample and, at the end, the growth from minute 15 to the end. Asserts
 * nothing; not run in CI.
 *
 * The containers are plain cgroups with a `sleep` each (bench/collect/cgroups.ts), a few of them
 * replaced every so often (new names, so new containers: the agent must also forget the ones
 * that left), as on a real host.
 *
 * With BENCH_BASELINE=REV (run.sh builds that revision into STATE_DIR/baseline), that build's
 * agent runs beside this one over the same cgroups for the same hour, each with a data directory
 * of its own, and both are printed: two agents of one hour compare where two hours do not (the
 * host's speed and V8's collections differ from one to the next).
 *
 * Usage: node main.js [cleanup]   (as root, from run.sh's build; see bench/README.md)
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { readHostLayout } from '../../src/runtimes/layout.js';
import type { CgroupLayout } from '../../src/kernel/cgroup/hierarchy.js';
import { BenchCgroups } from '../collect/cgroups.js';
import { cpuDeltaNs, processProbe, residentOf, type CpuProbe, type CpuSnapshot } from '../collect/cpu.js';
import { PREFIX, STATE_DIR, cleanUpOnSignal, envNumber, killRecorded, prepareStateDir, running, sleep, stop } from '../collect/children.js';
import { freePort } from '../../tests/integration/support.js';
import { health, startAgent, type Agent } from '../collect/agent.js';


const SETTINGS = {
  containers: envNumber('BENCH_SOAK_N', 1000),
  durationS: envNumber('BENCH_SOAK_S', 3600),
  /** Seconds between samples of RSS and descriptors. */
  everyS: envNumber('BENCH_SOAK_EVERY', 30),
  /** Growth is measured from here on: the history window (15 min) is full by then. */
  settledS: envNumber('BENCH_SOAK_SETTLED', 900),
  /** Containers replaced every churn period (0: none). */
  churn: envNumber('BENCH_SOAK_CHURN', 2),
  churnEveryS: envNumber('BENCH_SOAK_CHURN_EVERY', 20),
  /** A revision run beside this build (run.sh built it into STATE_DIR/baseline). */
  baseline: process.env.BENCH_BASELINE || undefined,
};
const SLICE = `${PREFIX}-soak.slice`;
/** Mean over this many seconds at the start and at the end of the settled part: GC makes RSS saw. */
const MEAN_OVER_S = 300;
/** Memory is read this often between samples; a sample's RSS and anon are the means of those readings. */
const MEMORY_EVERY_MS = 1000;

const t0 = Date.now();
const note = (msg: string): void => void process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(5)} s] ${msg}\n`);

interface Point {
  s: number;
  rssMb: number;
  anonMb: number;
  fds: number;
  containers: number;
  historyKb: number;
  rawKb: number;
  tickMs: number;
  cpuMsPerS: number;
}


const openDescriptors = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

/** One agent measured: its points, and the readings of memory since its last point. */
interface Subject {
  label: string;
  agent: Agent;
  cpu: CpuProbe;
  cpuBefore: CpuSnapshot;
  readings: { n: number; rssBytes: number; anonBytes: number };
  points: Point[];
}

function subject(label: string, agent: Agent): Subject {
  const cpu = processProbe(label, () => [agent.proc.pid]);
  return { label, agent, cpu, cpuBefore: cpu.snapshot(), readings: { n: 0, rssBytes: 0, anonBytes: 0 }, points: [] };
}

/** A reading of memory a second: one reading swings by 10 MB and more with V8's collections. */
function readMemory(x: Subject): void {
  const mem = residentOf(x.agent.proc.pid);
  if (!mem) return;
  x.readings.n++;
  x.readings.rssBytes += mem.rssBytes;
  x.readings.anonBytes += mem.anonBytes;
}

/** The subject's point at the end of a sample period (`sinceMs`: when the one before ended). */
async function pointOf(x: Subject, start: number, sinceMs: number): Promise<Point> {
  const { agent: a, readings } = x;
  if (!running(a.proc)) throw new Error(`the agent ${x.label} exited: see ${a.proc.log}`);
  const h = await health(a);
  const hist = await historyOf(a);
  const cpuNow = x.cpu.snapshot();
  const now = Date.now();
  const p: Point = {
    s: (now - start) / 1000,
    rssMb: readings.rssBytes / readings.n / 2 ** 20,
    anonMb: readings.anonBytes / readings.n / 2 ** 20,
    fds: openDescriptors(a.proc.pid),
    containers: h?.containers ?? NaN,
    historyKb: (hist?.bytes ?? NaN) / 1024,
    rawKb: (hist?.raw ?? NaN) / 1024,
    tickMs: h?.durationMs ?? NaN,
    cpuMsPerS: Number(cpuDeltaNs(x.cpuBefore, cpuNow)) / 1e6 / ((now - sinceMs) / 1000),
  };
  x.cpuBefore = cpuNow;
  x.readings = { n: 0, rssBytes: 0, anonBytes: 0 };
  x.points.push(p);
  return p;
}

async function historyOf(agent: Agent): Promise<{ bytes: number; raw: number } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${agent.port}/healthz`, { signal: AbortSignal.timeout(5_000) });
    const h = (await res.json()) as { history?: { bytes: number; raw?: { bytes: number } } };
    return h.history ? { bytes: h.history.bytes, raw: h.history.raw?.bytes ?? NaN } : undefined;
  } catch {
    return undefined;
  }
}

/** The heap compactions the agent asked for (its /metrics), or that it has none. */
async function compactionsOf(agent: Agent): Promise<string> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${agent.port}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
    const value = (name: string): number | undefined => {
      const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
      return m ? Number(m[1]) : undefined;
    };
    const count = value('cstats_heap_compactions_total');
    const seconds = value('cstats_heap_compaction_seconds_total');
    return count === undefined || seconds === undefined
      ? '  heap compactions: none (this build has none, or node runs without --expose-gc)'
      : `  heap compactions: ${count}, ${(seconds * 1000).toFixed(0)} ms of pauses (${count > 0 ? ((seconds * 1000) / count).toFixed(0) : '-'} ms each)`;
  } catch (err) {
    return `  heap compactions: /metrics did not answer (${(err as Error).message})`;
  }
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den > 0 ? num / den : NaN;
}

const meanOf = (ps: Point[], key: keyof Point): number => ps.reduce((a, p) => a + p[key], 0) / ps.length;

const HEADER = '   min  containers  RSS MB  anon MB    fds   history KB  raw KB  tick ms  CPU ms/s';
const line = (p: Point): string =>
  [
    (p.s / 60).toFixed(1).padStart(6),
    String(p.containers).padStart(11),
    p.rssMb.toFixed(1).padStart(7),
    p.anonMb.toFixed(1).padStart(8),
    String(p.fds).padStart(7),
    p.historyKb.toFixed(0).padStart(12),
    p.rawKb.toFixed(0).padStart(7),
    p.tickMs.toFixed(1).padStart(8),
    p.cpuMsPerS.toFixed(1).padStart(9),
  ].join('');

/** Growth of each figure from the start of the settled part to the end, and its trend there. */
function summary(points: Point[]): string[] {
  const settled = points.filter((p) => p.s >= SETTINGS.settledS);
  if (settled.length < 4) return [`too short to tell growth: fewer than 4 samples after ${SETTINGS.settledS} s`];
  const early = settled.filter((p) => p.s < settled[0].s + MEAN_OVER_S);
  const late = settled.filter((p) => p.s > settled[settled.length - 1].s - MEAN_OVER_S);
  const out = [
    `From ${(settled[0].s / 60).toFixed(1)} to ${(settled[settled.length - 1].s / 60).toFixed(1)} min (means over the first and last ${MEAN_OVER_S / 60} min of that span; trend: least squares over all of it):`,
  ];
  for (const [key, label] of [
    ['rssMb', 'RSS MB'],
    ['anonMb', 'anon MB'],
    ['fds', 'descriptors'],
    ['historyKb', 'history KB'],
  ] as const) {
    const a = meanOf(early, key);
    const b = meanOf(late, key);
    const perHour = slope(settled.map((p) => p.s / 3600), settled.map((p) => p[key]));
    out.push(
      `  ${label.padEnd(12)} ${a.toFixed(1).padStart(9)} -> ${b.toFixed(1).padStart(9)}  growth ${(((b - a) / a) * 100).toFixed(2).padStart(6)} %   trend ${((perHour / a) * 100).toFixed(2).padStart(6)} %/h`,
    );
  }
  return out;
}

async function cleanup(layout: CgroupLayout, agents: Agent[] = []): Promise<void> {
  for (const agent of agents) await stop(agent.proc, 3000).catch(() => undefined);
  const killed = killRecorded();
  if (killed > 0) note(`cleanup: ended ${killed} leftover processes`);
  await BenchCgroups.destroy(layout, SLICE);
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) throw new Error('run as root: it creates cgroups');
  const layout = readHostLayout();
  prepareStateDir();
  await cleanup(layout); // whatever an interrupted run left
  if (process.argv[2] === 'cleanup') return 0;

  const cgroups = new BenchCgroups(layout, SLICE);
  const agents: Agent[] = [];
  const interrupted = cleanUpOnSignal(note, () => cleanup(layout, agents));

  try {
    note(`settings: ${JSON.stringify(SETTINGS)}; cgroups ${cgroups.describe()}; logs in ${STATE_DIR}`);
    note(`creating ${SETTINGS.containers} plain cgroups`);
    await cgroups.grow(SETTINGS.containers);
    // The persistent store on, as by default, in a directory of each agent's own, empty at the start.
    const builds = [{ label: 'this build', name: 'agent-soak', bin: undefined as string | undefined }];
    if (SETTINGS.baseline) builds.push({ label: SETTINGS.baseline, name: 'agent-soak-baseline', bin: `${STATE_DIR}/baseline/bin/cstats.js` });
    for (const b of builds) {
      rmSync(`${STATE_DIR}/${b.name}.data`, { recursive: true, force: true });
      agents.push(startAgent(b.name, { port: await freePort(), interval: '1s', args: ['--data-dir', `${STATE_DIR}/${b.name}.data`], bin: b.bin }));
    }
    for (const a of agents) {
      for (let waited = 0; ; waited++) {
        const h = await health(a);
        if (h && h.containers >= SETTINGS.containers) break;
        if (!running(a.proc)) throw new Error(`the agent exited: see ${a.proc.log}`);
        if (waited > 300) throw new Error(`the agent does not see ${SETTINGS.containers} containers after 300 s`);
        await sleep(1000);
      }
    }
    note(`${agents.length === 1 ? 'the agent sees' : 'both agents see'} them all; sampling every ${SETTINGS.everyS} s for ${SETTINGS.durationS} s`);
    const start = Date.now();
    const subjects = agents.map((a, i) => subject(builds[i].label, a));
    let lastMs = Date.now();
    let nextChurn = start + SETTINGS.churnEveryS * 1000;
    let replaced = 0;
    process.stdout.write((subjects.length > 1 ? subjects.map((x) => x.label.padEnd(HEADER.length)).join(' | ') + '\n' : '') + subjects.map(() => HEADER).join(' | ') + '\n');
    for (let k = 1; Date.now() - start < SETTINGS.durationS * 1000; k++) {
      const due = start + k * SETTINGS.everyS * 1000;
      while (Date.now() < due) {
        if (SETTINGS.churn > 0 && Date.now() >= nextChurn) {
          await cgroups.replaceOldest(SETTINGS.churn);
          replaced += SETTINGS.churn;
          nextChurn += SETTINGS.churnEveryS * 1000;
        }
        subjects.forEach(readMemory);
        await sleep(Math.max(0, Math.min(due, SETTINGS.churn > 0 ? nextChurn : due, Date.now() + MEMORY_EVERY_MS) - Date.now()));
      }
      const points: Point[] = [];
      for (const x of subjects) points.push(await pointOf(x, start, lastMs));
      lastMs = Date.now();
      process.stdout.write(points.map(line).join(' | ') + '\n');
    }
    process.stdout.write(
      [
        '',
        `Soak: ${SETTINGS.containers} plain cgroups for ${(SETTINGS.durationS / 60).toFixed(0)} min, ${replaced} of them replaced along the way (${SETTINGS.churn} every ${SETTINGS.churnEveryS} s); agent at --interval 1s, default history (15m), raw history (2m) and persistent store (${STATE_DIR}/<agent>.data).`,
        ...(await Promise.all(subjects.map(async (x) => {
          const warnings = readFileSync(x.agent.proc.log, 'utf8').split('\n').filter((l) => /warn|error/i.test(l));
          return [
            ...(subjects.length > 1 ? [`${x.label}:`] : []),
            ...summary(x.points),
            await compactionsOf(x.agent),
            `Agent log: ${warnings.length} warning or error lines${warnings.length ? ` (first: ${warnings[0]})` : ''}; ${x.agent.proc.log}`,
          ];
        }))).flat(),
        '',
      ].join('\n'),
    );
  } finally {
    if (!interrupted()) {
      note('cleaning up');
      await cleanup(layout, agents);
    }
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench/soak: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
