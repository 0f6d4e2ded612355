/**
 * bench/collect: what sampling every container every second costs the cstats agent, against
 * netdata's cgroups plugin, dockerd+containerd serving `docker stats`, and plain Node loops
 * over the same files, all in one run on this host. Prints figures and ratios; asserts nothing.
 *
 * Each subject runs alone while measured: the others are paused (SIGSTOP) or not running, so
 * that on a small host they do not share the CPU caches and cores. The agent and netdata take
 * turns, so that both see the same drift in the load of a shared host.
 *
 * Usage: node main.js [cleanup]   (as root, from run.sh's build; see bench/README.md)
 */
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readHostLayout } from '../../src/runtimes/layout.js';
import { historyMetricNames } from '../../src/store/store.js';
import type { CgroupLayout } from '../../src/kernel/cgroup/hierarchy.js';
import { BenchCgroups, busyCommand, busyFiles } from './cgroups.js';
import { armBlkioAccounting } from '../../tests/integration/support.js';
import { cpuDeltaNs, processProbe, residentOf, type CpuProbe, type CpuSnapshot, type Resident } from './cpu.js';
import { PREFIX, STATE_DIR, cleanUpOnSignal, envNumber, killRecorded, pause, prepareStateDir, resume, running, sleep, start, stop, type Started } from './children.js';
import { daemonsProbe, dockerAvailable, removeContainers, runningContainers, shimsProbe, startContainers } from './docker.js';
import { cgroupsProbe, chartedCgroups, collectionsIn, collectorThreadProbe, startNetdata, type Netdata } from './netdata.js';
import { health, historyLength, keptOpenFiles, openFilesLimit, ranOutOfDescriptors, startAgent, ticksIn, type Agent } from './agent.js';
import { formatSummary, summarizeProfile } from './profile.js';
import { BASELINE_MODES, type BaselineMode } from './baseline.js';
import { formatFileCosts, measureFileCosts, type FileCost } from './filecost.js';
import { measureNamespacePasses, type NamespacePassCost } from './nsmounts.js';

// ---------------------------------------------------------------------------- settings


const envFlag = (name: string, fallback: boolean): boolean => (process.env[name] === undefined ? fallback : /^(1|yes|true)$/i.test(process.env[name]!));

const QUICK = envFlag('BENCH_QUICK', false);
const SETTINGS = {
  counts: (process.env.BENCH_N ?? (QUICK ? '50 200' : '50 200 1000')).split(/[\s,]+/).filter((s) => s !== '').map(Number),
  dockerContainers: envNumber('BENCH_DOCKER', QUICK ? 20 : 50),
  /**
   * Seconds of measurement per subject and N (agent and netdata: split into `rounds` turns). A
   * minute, so that the agent's once-a-minute work (its disk-usage walks, the safety-net reads of
   * limits) falls into its turns about as often as it runs, not in one turn of three or none.
   */
  windowS: envNumber('BENCH_WINDOW', QUICK ? 6 : 60),
  rounds: Math.max(1, Math.round(envNumber('BENCH_ROUNDS', 3))),
  /**
   * Seconds the agent runs alone before its turns: V8 compiles the sampling code as it gets hot,
   * which takes minutes when a tick handles 100 containers, and the first filesystem walks run.
   * At 100 containers the agent used 42, 17, 21, 22, 17 ms/s in its first five half-minutes and
   * 14-16 from 150 s on: code first run at the 64th and 120th sample (the first history chunks
   * sealed) deoptimizes and is compiled again. With the store (2026-12-07, 100 containers) the
   * agent settled later: 17 to 19 ms/s from minute 1 to 2.5, 13 to 14 from minute 4, with a wave
   * of deoptimizations and recompilations between minutes 3 and 5. Netdata has been running
   * since before its discovery wait. Measured and reported apart.
   */
  warmupS: envNumber('BENCH_WARMUP', QUICK ? 20 : 300),
  /** Run the agent at 200 ms with 180 s of history at the largest N: 900 samples a container, as 15 min at 1 s. */
  historyRun: envFlag('BENCH_HISTORY', !QUICK),
  /** A second netdata in its default cgroup mode: both then take on new cgroups at half speed (+2 min). */
  netdataDefault: envFlag('BENCH_NETDATA_DEFAULT', false),
  /** Measure docker stats at every N (it does not depend on N: by default only at the largest). */
  dockerEveryN: envFlag('BENCH_DOCKER_EVERY', false),
  profile: envFlag('BENCH_PROFILE', false),
  /** The mixes measured at every N, in this order. */
  mixes: (process.env.BENCH_MIX ?? 'idle busy').split(/[\s,]+/).filter((m): m is Mix => m === 'idle' || m === 'busy'),
  agentPort: envNumber('BENCH_AGENT_PORT', 17181),
  /** Further flags for this build's agent (e.g. --no-persist, for a baseline without the store). */
  agentArgs: (process.env.BENCH_AGENT_ARGS ?? '').split(/\s+/).filter((a) => a !== ''),
  /**
   * Other builds of the agent: BENCH_BASELINE's entries, `REV` or `REV:FLAGS` (its own flags,
   * comma-separated), which run.sh built into baseline-<i>. Each runs over the same containers in
   * turns with this one and netdata, warmed up at the same time.
   */
  baselines: (process.env.BENCH_BASELINE ?? '')
    .split(/\s+/)
    .filter((e) => e !== '')
    .map((e, i) => {
      const [rev, flags = ''] = e.split(/:(.*)/s);
      return { rev, bin: `${STATE_DIR}/baseline-${i}/bin/cstats.js`, args: flags.split(',').filter((f) => f !== '') };
    }),
  netdataPort: envNumber('BENCH_NETDATA_PORT', 19981),
};
const HISTORY_RUN_S = 205;
const BUSY_SLICE = `${PREFIX}-busy.slice`;
/** Where the busy cgroups' O_DIRECT writes go (busyFiles): its disk's blkio accounting is armed. */
const BUSY_DISK_PATH = '/var/tmp';
const HISTORY_INTERVAL = '200ms';
const HISTORY_WINDOW = '180s';
/** The raw samples scaled the same way: the default 2 minutes at 1 s are 120 samples, 24 s at 200 ms. */
const RAW_HISTORY_WINDOW = '24s';
/** After SIGCONT a sampler first does the tick it owes; windows start after it. */
const SETTLE_MS = 1500;
/** CPU of the history run is taken from here to its end: start-up long past, history two-thirds full. */
const HISTORY_CPU_FROM_S = 120;
/** A profile covers the agent's start-up too: long enough that steady ticks dominate. */
const PROFILE_MIN_S = 40;
/** Seconds of a profile left out of its summary: the agent's start-up and V8's first compilations. */
const PROFILE_SKIP_S = 15;
/** Netdata takes on 1000 new cgroups in about two minutes on a quiet 2-core host. */
const DISCOVERY_TIMEOUT_S = 300;
/** netdata's "check for new cgroups every". */
const NETDATA_RESCAN_S = 10;

// ---------------------------------------------------------------------------- output

const t0 = Date.now();
function note(msg: string): void {
  process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`);
}

const mb = (bytes: number | undefined): string => (bytes === undefined ? '-' : (bytes / 2 ** 20).toFixed(1));
const mbOf = (r: Resident | undefined): string => (r === undefined ? '-' : `${mb(r.rssBytes)} (anon ${mb(r.anonBytes)})`);
const us = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '-' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined || !(b > 0) ? '-' : (a / b).toFixed(2));

// ---------------------------------------------------------------------------- measuring

interface Window {
  seconds: number;
  ns: bigint[];
  /** Wall-clock span, ms since the epoch: the collections taken in it are counted. */
  fromMs: number;
  toMs: number;
}

/** CPU ns of each probe over one window of wall time. */
async function measure(probes: CpuProbe[], seconds: number): Promise<Window> {
  const before = probes.map((p) => p.snapshot());
  const start = process.hrtime.bigint();
  const fromMs = Date.now();
  await sleep(seconds * 1000);
  const after = probes.map((p) => p.snapshot());
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  return { seconds: elapsed, ns: probes.map((_, i) => cpuDeltaNs(before[i], after[i])), fromMs, toMs: Date.now() };
}

/** µs of CPU per container per sample, for a collector sampling every intervalS. */
function perSampleUs(ns: bigint, seconds: number, intervalS: number, containers: number): number {
  return Number(ns) / 1000 / ((seconds / intervalS) * containers);
}

async function waitFor<T>(what: string, timeoutS: number, probe: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const v = await probe();
    if (done(v)) return v;
    if (Date.now() > deadline) {
      note(`  ${what}: still not there after ${timeoutS} s (last: ${JSON.stringify(v)}); going on`);
      return v;
    }
    await sleep(1000);
  }
}

// ---------------------------------------------------------------------------- one N

const readList = (file: string): string[] => readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');

/** The agent's figures at one N, or why there are none. */
type AgentResult =
  | { ok: true; containers: number; containersEnd?: number; us: number; rounds: number[]; ticks: string; warmupUs: number; memory?: Resident; tickMs: number; files: string[]; fdLimit?: number; emfile: boolean }
  | { ok: false; expected: number; failure: string };

/** idle: every bench cgroup sleeps; busy: a quarter of them run busyCommand (CPU, memory, block IO, network). */
type Mix = 'idle' | 'busy';

interface Row {
  n: number;
  mix: Mix;
  agent: AgentResult;
  netdata: { mode: string; cgroups: number; us: number; rounds: number[]; collectorUs: number; ticks: string }[];
  docker?: { containers: number; daemonsUs: number; shimsUs: number };
  baselineUs?: Record<BaselineMode, number>;
  /** The BENCH_BASELINE builds' agents (SETTINGS.baselines' order), in the same turns. */
  olds: AgentResult[];
  fileList?: string;
}

interface Run {
  layout: CgroupLayout;
  cgroups: BenchCgroups;
  /** The busy quarter of the busy mix. */
  busy: BenchCgroups;
  netdatas: Netdata[];
  /** Everything started and not yet stopped, for cleanup. */
  live: Set<Started>;
}

async function stopLive(run: Run, p: Started): Promise<void> {
  await stop(p);
  run.live.delete(p);
}

/** An agent of this build (with BENCH_AGENT_ARGS), or of `build`, a baseline (with its own flags). */
async function startedAgent(run: Run, name: string, port: number, interval: string, history?: { window: string; raw: string }, cpuProfDir?: string, build?: { bin: string; args: string[] }): Promise<Agent> {
  const agent = startAgent(name, { port, interval, history: history?.window, rawHistory: history?.raw, cpuProfDir, bin: build?.bin, args: build?.args ?? SETTINGS.agentArgs });
  run.live.add(agent.proc);
  return agent;
}

/**
 * Waits until the agent reports at least `expected` running containers; returns what it
 * reports, or undefined when it exited.
 */
async function agentReady(agent: Agent, expected: number): Promise<number | undefined> {
  const h = await waitFor(
    `agent sees ${expected} containers`,
    DISCOVERY_TIMEOUT_S,
    async () => (running(agent.proc) ? health(agent) : null),
    (h) => h === null || (h !== undefined && h.containers >= expected),
  );
  return h ? h.containers : undefined;
}

/** The telling line of a log that ended in a failure: its last error, else its last line. */
function failureLine(file: string): string {
  const lines = readFileSync(file, 'latin1').split('\n').filter((l) => l.trim() !== '');
  return [...lines].reverse().find((l) => /error|EMFILE/i.test(l)) ?? lines[lines.length - 1] ?? '(empty log)';
}

/** The three reference loops side by side (each a separate process, each a few % of a core). */
async function baselinesUs(run: Run, fileList: string, containers: number): Promise<Record<BaselineMode, number>> {
  const script = fileURLToPath(new URL('./baseline.js', import.meta.url));
  const procs = BASELINE_MODES.map((mode) => start(`node-${mode}`, process.execPath, [script, mode, '1000', fileList]));
  for (const p of procs) run.live.add(p);
  await sleep(2500); // first tick done (the keepopen loops open their files then)
  const w = await measure(
    procs.map((p) => processProbe(p.name, () => [p.pid])),
    SETTINGS.windowS,
  );
  for (const p of procs) await stopLive(run, p);
  return Object.fromEntries(BASELINE_MODES.map((mode, i) => [mode, perSampleUs(w.ns[i], w.seconds, 1, containers)])) as Record<BaselineMode, number>;
}

/** Something measured in turns: its probes, and how to stop and restart it between turns. */
interface Subject {
  probes: CpuProbe[];
  pause(): void;
  resume(): void;
}

/**
 * Takes turns: each subject runs alone (the others paused) for one window, `rounds` times
 * over. On a shared host the load drifts; turns expose every subject to the same drift, and
 * the spread of the rounds shows how much there was. Returns the windows per subject.
 */
async function inTurns(subjects: Subject[], rounds: number, windowS: number): Promise<Window[][]> {
  const out: Window[][] = subjects.map(() => []);
  for (const s of subjects) s.pause();
  for (let r = 0; r < rounds; r++) {
    for (const [i, s] of subjects.entries()) {
      s.resume();
      await sleep(SETTLE_MS); // the tick it owes after SIGCONT falls outside the window
      out[i].push(await measure(s.probes, windowS));
      s.pause();
    }
  }
  return out;
}

/** Per-container-sample µs of probe `p` over all windows, and of each window. */
/**
 * Per-container-sample µs of probe `p` over all windows, and of each window. `ticks`: the
 * collections the subject actually took in each window; without them, one a second is assumed.
 */
function turnsUs(ws: Window[], p: number, containers: number, ticks?: number[]): { us: number; rounds: number[] } {
  const samples = (w: Window, i: number): number => ticks?.[i] ?? w.seconds;
  const ns = ws.reduce((sum, w) => sum + w.ns[p], 0n);
  const total = ws.reduce((sum, w, i) => sum + samples(w, i), 0);
  return { us: perSampleUs(ns, total, 1, containers), rounds: ws.map((w, i) => perSampleUs(w.ns[p], samples(w, i), 1, containers)) };
}

/** Collections taken over the windows, and the seconds they spanned: "57 in 60 s". */
function tickCount(ws: Window[], ticks: number[] | undefined): string {
  const seconds = ws.reduce((sum, w) => sum + w.seconds, 0);
  return ticks ? `${ticks.reduce((a, b) => a + b, 0)} in ${seconds.toFixed(0)} s` : `not counted (${seconds.toFixed(0)} s)`;
}

/** An agent's figures over its turns, read from it once it runs again. */
async function agentFigures(agent: Agent, windows: Window[], containers: number, warmupUs: number): Promise<AgentResult> {
  resume(agent.proc);
  await sleep(SETTLE_MS); // so that /healthz reports a regular tick, not the one owed
  // bench-0 (idle, the oldest) is there at every N and mix: one sample of it per tick.
  const ticks = await ticksIn(agent, 'bench-0', windows);
  const after = await health(agent);
  const t = turnsUs(windows, 0, containers, ticks);
  return {
    ok: true,
    containers,
    us: t.us,
    rounds: t.rounds,
    ticks: tickCount(windows, ticks),
    warmupUs,
    memory: residentOf(agent.proc.pid),
    tickMs: after?.durationMs ?? NaN,
    containersEnd: after?.containers,
    files: keptOpenFiles(agent),
    fdLimit: openFilesLimit(agent),
    emfile: ranOutOfDescriptors(agent),
  };
}

/**
 * One N, the cgroups already there. The counts go down (1000, 200, 50): netdata takes about a
 * tenth of a second per new cgroup to take it on (it forks a helper for each), a minute or more
 * for 1000, but drops removed ones at its next rescan.
 */
async function measureN(run: Run, n: number, mix: Mix, first: boolean, measureDocker: boolean): Promise<Row> {
  // A lower bound: other people's containers come and go on a shared host.
  const expected = n + SETTINGS.dockerContainers;
  const netdatas: Subject = {
    probes: [...run.netdatas.map(cgroupsProbe), ...run.netdatas.map(collectorThreadProbe)],
    pause: () => run.netdatas.forEach((nd) => pause(nd.proc)),
    resume: () => run.netdatas.forEach((nd) => resume(nd.proc)),
  };
  netdatas.resume();
  if (first) {
    // New busy cgroups replaced idle ones: the removed ones' charts go at netdata's next rescan.
    if (mix === 'busy') await sleep((NETDATA_RESCAN_S + 2) * 1000);
    note(`N=${n} ${mix}: waiting for netdata to chart at least ${expected} cgroups (${n} plain + ${SETTINGS.dockerContainers} Docker)`);
    await Promise.all(run.netdatas.map((nd) => waitFor(`netdata ${nd.mode} charts ${expected} cgroups`, DISCOVERY_TIMEOUT_S, () => chartedCgroups(nd), (c) => (c ?? 0) >= expected)));
  } else {
    note(`N=${n}: letting netdata rescan (every ${NETDATA_RESCAN_S} s) and drop the removed cgroups`);
    await sleep((NETDATA_RESCAN_S + 2) * 1000);
  }
  netdatas.pause();

  // This build's agent, and the baseline builds' beside it: all warm up at once, then take turns.
  interface Running {
    agent: Agent;
    /** What it saw once ready; undefined when it exited. */
    containers?: number;
    warmupUs: number;
  }
  const agents: Running[] = [{ agent: await startedAgent(run, `agent-${n}`, SETTINGS.agentPort, '1s'), warmupUs: NaN }];
  for (const [i, b] of SETTINGS.baselines.entries()) {
    agents.push({ agent: await startedAgent(run, `${b.rev}-${n}`, SETTINGS.agentPort + 3 + i, '1s', undefined, undefined, b), warmupUs: NaN });
  }
  for (const a of agents) {
    a.containers = await agentReady(a.agent, expected);
    if (a.containers === undefined) note(`N=${n}: ${a.agent.proc.name} failed (${failureLine(a.agent.proc.log)})`);
  }
  const ran = agents.filter((a) => a.containers !== undefined);
  const probeOf = (a: Agent): CpuProbe => processProbe(a.proc.name, () => [a.proc.pid]);
  const subjects: Subject[] = [...ran.map(({ agent: a }) => ({ probes: [probeOf(a)], pause: () => pause(a.proc), resume: () => resume(a.proc) })), netdatas];
  if (ran.length > 0 && SETTINGS.warmupS > 0) {
    note(`N=${n}: ${ran.map((a) => a.agent.proc.name).join(' and ')} alone for ${SETTINGS.warmupS} s first (warm-up, reported apart)`);
    const w = await measure(ran.map((a) => probeOf(a.agent)), SETTINGS.warmupS);
    ran.forEach((a, i) => (a.warmupUs = perSampleUs(w.ns[i], w.seconds, 1, a.containers!)));
  }
  const windowS = SETTINGS.windowS / SETTINGS.rounds;
  note(`N=${n}: ${ran.map((a) => `${a.agent.proc.name} over ${a.containers} containers, `).join('')}netdata cgroups threads, in turns: ${SETTINGS.rounds} × ${windowS} s each`);
  const turns = await inTurns(subjects, SETTINGS.rounds, windowS);

  // `ran` is `agents` without those that exited, in order: turns[i] are ran[i]'s windows.
  const results: AgentResult[] = [];
  for (const a of agents) {
    const i = ran.indexOf(a);
    results.push(i >= 0 ? await agentFigures(a.agent, turns[i], a.containers!, a.warmupUs) : { ok: false, expected, failure: `exited: ${failureLine(a.agent.proc.log)}` });
  }
  const [agent, ...olds] = results;
  for (const a of agents) await stopLive(run, a.agent.proc);

  // What netdata sampled (charts of removed cgroups are gone by now).
  netdatas.resume();
  const charted = await Promise.all(run.netdatas.map(chartedCgroups));
  const nw = turns[turns.length - 1];
  const collected = await Promise.all(run.netdatas.map((nd) => collectionsIn(nd, 'bench-0', nw)));
  netdatas.pause();
  const k = run.netdatas.length;
  const netdata = run.netdatas.map((nd, i) => {
    const cgroups = Math.max(charted[i] ?? 0, 1);
    const t = turnsUs(nw, i, cgroups, collected[i]);
    return { mode: nd.mode, cgroups, us: t.us, rounds: t.rounds, collectorUs: turnsUs(nw, k + i, cgroups, collected[i]).us, ticks: tickCount(nw, collected[i]) };
  });

  let dockerRow: Row['docker'];
  if (measureDocker) {
    const running = await runningContainers();
    const stats = start('docker-stats', 'docker', ['stats']);
    run.live.add(stats);
    await sleep(5000); // the first round of a stream opens one stats stream per container
    note(`N=${n}: dockerd+containerd while docker stats streams ${running} containers, ${SETTINGS.windowS} s`);
    const dw = await measure([daemonsProbe, shimsProbe], SETTINGS.windowS);
    await stopLive(run, stats);
    dockerRow = { containers: running, daemonsUs: perSampleUs(dw.ns[0], dw.seconds, 1, running), shimsUs: perSampleUs(dw.ns[1], dw.seconds, 1, running) };
  }

  const row: Row = { n, mix, agent, olds, netdata, docker: dockerRow };
  // The reference loops read what the agent kept open, so they need an agent that ran.
  if (agent.ok) {
    note(`N=${n}: node loops over the agent's ${agent.files.length} open files, ${SETTINGS.windowS} s`);
    row.fileList = `${STATE_DIR}/files-${n}.txt`;
    writeFileSync(row.fileList, agent.files.join('\n') + '\n');
    row.baselineUs = await baselinesUs(run, row.fileList, agent.containers);
  }
  return row;
}

// ---------------------------------------------------------------------------- 15-minute history

interface HistoryResult {
  containers: number;
  /** RSS and the samples bench-0's history holds, at each checkpoint. */
  points: { atS: number; memory?: Resident; held?: number }[];
  /** The agent's own account of its history at the end (/healthz). */
  footprint?: { containers: number; samples: number; bytes: number };
  us: number;
  tickMs: number;
}

const HISTORY_SAMPLES = 900;

/**
 * 900 samples per container (15 min at 1 s) held by a window of history/interval = 180 s / 200 ms,
 * filled in 3 minutes when every tick fits in 200 ms. The samples are as real as at 1 s: the
 * same containers read the same way, only more often.
 */
async function historyRun(run: Run, n: number): Promise<HistoryResult> {
  const started = Date.now();
  const agent = await startedAgent(run, 'agent-history', SETTINGS.agentPort + 1, HISTORY_INTERVAL, { window: HISTORY_WINDOW, raw: RAW_HISTORY_WINDOW });
  const containers = await agentReady(agent, n + SETTINGS.dockerContainers);
  if (containers === undefined) throw new Error(`the history agent exited: ${failureLine(agent.proc.log)}`);
  note(`history: agent at ${HISTORY_INTERVAL} with ${HISTORY_WINDOW} of history over ${containers} containers, for ${HISTORY_RUN_S} s`);
  const points: HistoryResult['points'] = [];
  const cpu = processProbe('agent', () => [agent.proc.pid]);
  let from: { snap: CpuSnapshot; ns: bigint } | undefined;
  for (const atS of [30, 60, 90, HISTORY_CPU_FROM_S, 150, 180, 195, HISTORY_RUN_S]) {
    await sleep(Math.max(0, started + atS * 1000 - Date.now()));
    points.push({ atS, memory: residentOf(agent.proc.pid), held: await historyLength(agent, 'bench-0') });
    if (atS === HISTORY_CPU_FROM_S) from = { snap: cpu.snapshot(), ns: process.hrtime.bigint() };
  }
  const cpuNs = cpuDeltaNs(from!.snap, cpu.snapshot());
  const seconds = Number(process.hrtime.bigint() - from!.ns) / 1e9;
  const h = await health(agent);
  await stopLive(run, agent.proc);
  // Samples actually taken: fewer than one per interval when a tick takes longer than that.
  const held = points.find((p) => p.atS === HISTORY_CPU_FROM_S)?.held;
  const heldEnd = points[points.length - 1].held;
  const samples = held !== undefined && heldEnd !== undefined && heldEnd < HISTORY_SAMPLES ? heldEnd - held : seconds / 0.2;
  return { containers, points, footprint: h?.history, us: Number(cpuNs) / 1000 / (samples * containers), tickMs: h?.durationMs ?? NaN };
}

// ---------------------------------------------------------------------------- profile

/**
 * This build under --cpu-prof, then each BENCH_BASELINE build the same way, one at a time over the
 * same containers; each summary leaves out the first PROFILE_SKIP_S seconds (start-up, V8's
 * first compilations), so builds compare by their steady ticks.
 */
async function profileRun(run: Run, n: number): Promise<string> {
  const builds = [{ rev: 'this build', build: undefined }, ...SETTINGS.baselines.map((b) => ({ rev: b.rev, build: b }))];
  const seconds = Math.max(SETTINGS.windowS, PROFILE_MIN_S);
  const out: string[] = [];
  for (const [i, { rev, build }] of builds.entries()) {
    const dir = `${STATE_DIR}/cpuprof-${i}`;
    rmSync(dir, { recursive: true, force: true });
    const agent = await startedAgent(run, `profile-${i}`, SETTINGS.agentPort + 2, '1s', undefined, dir, build);
    await agentReady(agent, n);
    note(`profile: ${rev} with --cpu-prof, ${seconds} s`);
    await sleep(seconds * 1000);
    await stopLive(run, agent.proc);
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    out.push(
      file
        ? `${rev}, N=${n}, ${dir}/${file} (${seconds} s, read from second ${PROFILE_SKIP_S})\n${formatSummary(summarizeProfile(`${dir}/${file}`, PROFILE_SKIP_S), 20)}`
        : `${rev}: no profile written\n`,
    );
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------- report

const revs = SETTINGS.baselines.map((b) => b.rev);

const label = (r: Row): string => (r.mix === 'idle' ? String(r.n) : `${r.n} busy`);

function table(rows: Row[], modes: string[]): string[] {
  const docker = rows.find((r) => r.docker)?.docker;
  const head = [
    'N',
    'cont',
    'agent µs',
    'RSS MB',
    'tick ms',
    ...revs.flatMap((rev) => [`${rev} µs`, `${rev} RSS MB`, `agent/${rev}`]),
    ...modes.map((m) => `netdata ${m} µs`),
    'dockerd µs',
    ...BASELINE_MODES.map((m) => `node ${m} µs`),
    'agent/netdata',
    'agent/dockerd',
  ];
  const body = rows.map((r) => {
    const a = r.agent.ok ? r.agent : undefined;
    const nd = r.netdata.find((x) => x.mode === 'v1') ?? r.netdata[0];
    const d = r.docker ?? docker;
    return [
      label(r),
      a ? String(a.containers) : `(${r.agent.ok ? '' : r.agent.expected})`,
      a ? us(a.us) : 'FAILED',
      mb(a?.memory?.rssBytes),
      a ? a.tickMs.toFixed(1) : '-',
      ...r.olds.flatMap((old) => {
        const o = old.ok ? old : undefined;
        return [o ? us(o.us) : 'FAILED', mb(o?.memory?.rssBytes), ratio(a?.us, o?.us)];
      }),
      ...r.netdata.map((x) => us(x.us)),
      d ? us(d.daemonsUs) + (r.docker ? '' : '*') : '-',
      ...BASELINE_MODES.map((m) => us(r.baselineUs?.[m])),
      ratio(a?.us, nd?.us),
      ratio(a?.us, d?.daemonsUs),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
}

/** RSS against containers through the rows where the agent ran: a + b × containers, when two or more. */
function rssLine(rows: Row[]): { baseBytes: number; perContainerBytes: number } | undefined {
  const pts = rows.flatMap((r) => (r.agent.ok && r.agent.memory ? [{ x: r.agent.containers, y: r.agent.memory.rssBytes }] : []));
  if (pts.length < 2) return undefined;
  const mx = pts.reduce((s, p) => s + p.x, 0) / pts.length;
  const my = pts.reduce((s, p) => s + p.y, 0) / pts.length;
  const b = pts.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0) / pts.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return { baseBytes: my - b * mx, perContainerBytes: b };
}

interface Extras {
  /** The history run's figures, or why there are none. */
  hist?: HistoryResult | string;
  fileCosts?: { n: number; containers: number; costs: FileCost[] };
  nsPasses?: NamespacePassCost;
  profile?: string;
}

function report(rows: Row[], run: Run, x: Extras): string {
  const docker = rows.find((r) => r.docker)?.docker;
  const ran = rows.flatMap((r) => (r.agent.ok ? [{ n: r.n, a: r.agent }] : []));
  const out = table(rows, run.netdatas.map((nd) => nd.mode));
  out.push(
    '',
    'µs = CPU time per container per sample: CPU ns over the window / (samples taken × containers sampled). Samples taken are',
    "counted, not assumed from elapsed seconds: the agent's from the history of bench-0 (one sample a tick), netdata's from the seconds",
    "with a value in bench-0's cpu chart (a collection it skipped is a gap): " +
      rows.map((r) => `N=${label(r)}: agent ${r.agent.ok ? r.agent.ticks : '-'}, ${r.netdata.map((y) => `netdata ${y.mode} ${y.ticks}`).join(', ')}`).join('; ') +
      '.',
    `CPU from /proc/<pid>/task/*/schedstat (ns on CPU, all threads). Agent and netdata run in turns, one at a time (the other`,
    `paused with SIGSTOP), ${SETTINGS.rounds} turns of ${+(SETTINGS.windowS / SETTINGS.rounds).toFixed(1)} s each; docker stats and the node loops get one ${SETTINGS.windowS} s window.`,
    'cont = running containers the agent sampled (plain cgroups + every running container on the host, the benchmark\'s or not).',
    `Plain cgroups: ${run.cgroups.describe()}, one sleep each. Busy mix ("N busy"): a quarter of the N are instead`,
    `${run.busy.describe()}, each every second using a little CPU, rewriting a tmpfs file of a new size (memory that`,
    'changes), writing 32 KiB with O_DIRECT (block IO, accounting armed) and pinging its own loopback (network namespace of its own).',
    '',
    'per-turn µs (min-max), the noise of this host: ' +
      rows
        .map((r) => {
          const spread = (xs: number[]): string => `${us(Math.min(...xs))}-${us(Math.max(...xs))}`;
          return `N=${label(r)}: ${r.agent.ok ? `agent ${spread(r.agent.rounds)}, ` : ''}${r.olds.map((o, i) => (o.ok ? `${revs[i]} ${spread(o.rounds)}, ` : '')).join('')}${r.netdata.map((y) => `netdata ${y.mode} ${spread(y.rounds)}`).join(', ')}`;
        })
        .join('; ') +
      '.',
    '',
    "agent      cstats agent at --interval 1s, whole process; RSS = VmRSS after the window; tick ms = its last tick's duration (/healthz).",
    `           Its turns start after ${SETTINGS.warmupS} s alone (BENCH_WARMUP) once it sees every container; those first seconds, while V8`,
    '           compiles the sampling code and the first disk-usage walks run, cost: ' +
      ran.map(({ n, a }) => `N=${n}: ${us(a.warmupUs)} µs`).join('; ') +
      '.',
    '           RSS MB (anon): ' + ran.map(({ n, a }) => `N=${n}: ${mbOf(a.memory)}`).join('; ') + '.',
    '           kernel files kept open: ' +
      ran.map(({ n, a }) => `N=${n}: ${a.files.length} (${(a.files.length / a.containers).toFixed(1)} per container)`).join('; ') +
      `; RLIMIT_NOFILE ${ran[0]?.a.fdLimit ?? '?'}.`,
  );
  for (const [i, b] of SETTINGS.baselines.entries()) {
    const olds = rows.flatMap((r) => (r.olds[i].ok ? [{ r, o: r.olds[i] }] : []));
    out.push(
      `${b.rev.padEnd(10)} the agent built from ${b.rev} (BENCH_BASELINE)${b.args.length ? ` with ${b.args.join(' ')}` : ''}, started with this build's and warmed up at the same time, then`,
      '           in the same turns over the same containers. Its samples: ' + olds.map(({ r, o }) => `N=${label(r)}: ${o.ticks}`).join('; ') + '.',
      '           Warm-up µs: ' + olds.map(({ r, o }) => `N=${label(r)}: ${us(o.warmupUs)}`).join('; ') + '; RSS MB (anon): ' + olds.map(({ r, o }) => `N=${label(r)}: ${mbOf(o.memory)}`).join('; ') + '.',
    );
  }
  if (SETTINGS.agentArgs.length > 0) out.push(`           This build's agent ran with ${SETTINGS.agentArgs.join(' ')} (BENCH_AGENT_ARGS).`);
  for (const r of rows) {
    r.olds.forEach((o, i) => {
      if (!o.ok) out.push(`FAILED N=${label(r)}: the agent of ${revs[i]}, over ${o.expected}+ containers, ${o.failure}`);
    });
    if (!r.agent.ok) out.push(`FAILED N=${label(r)}: the agent, over ${r.agent.expected}+ containers, ${r.agent.failure}`);
    else if (r.agent.containersEnd !== undefined && Math.abs(r.agent.containersEnd - r.agent.containers) > 0.05 * r.agent.containers) {
      out.push(`WARNING N=${label(r)}: the agent sampled ${r.agent.containers} containers before its turns and ${r.agent.containersEnd} after: someone else made or removed containers meanwhile; its µs is not valid.`);
    } else if (r.agent.emfile) out.push(`WARNING N=${label(r)}: the agent ran out of file descriptors (EMFILE in ${STATE_DIR}/agent-${r.n}.log): its figures are not valid.`);
  }
  out.push(
    'netdata    netdata 1.37 cgroups plugin at update every = 1: both "PLUGIN[cgroups]" threads (collector + discovery), divided by',
    '           the cgroups it charted at the end of the window (' + rows.map((r) => `N=${label(r)}: ${r.netdata.map((y) => `${y.mode} ${y.cgroups}`).join(', ')}`).join('; ') + ').',
    '           v1 = "use unified cgroups = no": the same v1 controllers the agent reads (cpuacct, cpu, memory, blkio, pids).',
    ...(run.netdatas.some((nd) => nd.mode === 'default')
      ? ["           default = netdata's own choice, which on a hybrid host is the controller-less cgroup2 tree: cpu.stat and PSI only."]
      : []),
    '           collector thread alone (µs): ' + rows.map((r) => `N=${label(r)}: ${r.netdata.map((y) => `${y.mode} ${us(y.collectorUs)}`).join(', ')}`).join('; ') + '.',
  );
  for (const r of rows) {
    for (const y of r.netdata) if (y.cgroups < r.n) out.push(`WARNING N=${label(r)}: netdata ${y.mode} took on only ${y.cgroups} cgroups in time; its µs is divided by that count.`);
  }
  if (docker) {
    out.push(
      `dockerd    dockerd + containerd while \`docker stats\` (the real CLI, streaming all) runs, per Docker container per second`,
      `           (${docker.containers} running). The containerd-shim-runc-v2 processes, which read the cgroup files for them, add ${us(docker.shimsUs)} µs.`,
      '           * = measured once, at the largest N: it does not depend on the number of plain cgroups.',
    );
  }
  out.push(
    "node       plain Node loops reading the agent's kept-open files every second, no parsing, the three side by side in one window.",
    '           keepopen = open once, pread at offset 0 until a read returns 0 (two reads); keepopen-1read = one pread per file;',
    '           reopen = open/read-until-0/close each time. They read every kept file every second; the agent re-reads a',
    '           counter that cannot have moved (idle group, no quota, no limit, no OOM kill, quiet parent PSI) every 10 ticks.',
    '',
  );
  if (x.fileCosts) {
    out.push(`What one read of each file costs plain Node (in this process, N=${x.fileCosts.n}, ${x.fileCosts.containers} containers):`, formatFileCosts(x.fileCosts.costs, x.fileCosts.containers), '');
  }
  if (x.nsPasses) {
    const p = x.nsPasses;
    out.push(
      `A filesystem pass (every --fs-interval) over a Docker container's own mount namespace, in this process, ${p.containers} containers, µs of CPU a container:`,
      `  ${p.keptUs.toFixed(1)} as the agent does it (the table worked out again when its text changed), ${p.everyPassUs.toFixed(1)} worked out at every pass (before ae46f04): ${(p.keptUs / p.everyPassUs).toFixed(2)}.`,
      '',
    );
  }
  const line = rssLine(rows);
  const failed = rows.filter((r) => !r.agent.ok);
  if (line && failed.length > 0) {
    out.push(
      `RSS against containers (least squares through the rows where the agent ran): ${mb(line.baseBytes)} MB + ${(line.perContainerBytes / 1024).toFixed(0)} KiB per container;`,
      '  ' + failed.map((r) => `at ${r.agent.ok ? '' : r.agent.expected} containers that is ${mb(line.baseBytes + line.perContainerBytes * (r.agent.ok ? 0 : r.agent.expected))} MB`).join(', ') + ' (EXTRAPOLATED).',
      '',
    );
  }
  const hist = x.hist;
  if (typeof hist === 'string') out.push(`15-minute history, emulated: FAILED: ${hist}`, '');
  else if (hist) {
    const end = hist.points[hist.points.length - 1];
    const filled = (end.held ?? 0) >= HISTORY_SAMPLES;
    const f = hist.footprint;
    out.push(
      `15 minutes of history: the agent at --interval ${HISTORY_INTERVAL} --history ${HISTORY_WINDOW} --raw-history ${RAW_HISTORY_WINDOW} over ${hist.containers} containers for ${HISTORY_RUN_S} s,`,
      `  which holds history/interval = ${HISTORY_SAMPLES} samples per container, as 15m at 1s does, once every tick fits in ${HISTORY_INTERVAL}, and 120 raw samples, as the default 2m at 1s.`,
      '  RSS MB (samples held by bench-0): ' + hist.points.map((p) => `${p.atS} s ${mb(p.memory?.rssBytes)} (${p.held ?? '?'})`).join(', ') + '.',
      f
        ? `  History as the agent counts it (/healthz): ${f.samples} samples of ${f.containers} containers in ${mb(f.bytes)} MB compressed` +
          ` (${(f.bytes / Math.max(1, f.samples)).toFixed(1)} bytes a sample, ${historyMetricNames.length} metrics + timestamp; ${mb(f.samples * (historyMetricNames.length + 1) * 8)} MB as float64 columns).`
        : '  History footprint: /healthz did not answer.',
      filled
        ? `  RSS with full 15-minute history at ${hist.containers} containers: ${mbOf(end.memory)} MB (target: under 150 MB at 1000).`
        : `  History did NOT fill (ticks took ${hist.tickMs.toFixed(0)} ms, more than the ${HISTORY_INTERVAL} interval): RSS at the end, ${mbOf(end.memory)} MB, is a lower bound` +
          ` (target: under 150 MB at 1000).`,
      `  CPU at ${HISTORY_INTERVAL} from ${HISTORY_CPU_FROM_S} s to the end: ${us(hist.us)} µs per container-sample; last tick ${hist.tickMs.toFixed(1)} ms.`,
      '',
    );
  }
  out.push("Targets (issue 17): agent/netdata <= 0.7, idle and busy, at N=50 and N=1000; RSS under 150 MB at 1000 containers with 15 minutes of history.");
  if (x.profile) out.push('', 'Agent CPU profile (node --cpu-prof):', x.profile);
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------- main

async function cleanup(layout: CgroupLayout, run?: Run): Promise<void> {
  if (run) for (const p of run.live) await stop(p, 3000).catch(() => undefined);
  const killed = killRecorded();
  if (killed > 0) note(`cleanup: ended ${killed} leftover processes`);
  const removed = await removeContainers().catch(() => 0);
  if (removed > 0) note(`cleanup: removed ${removed} containers`);
  await BenchCgroups.destroy(layout);
  await BenchCgroups.destroy(layout, BUSY_SLICE);
  for (const stem of busyFiles(PREFIX)) {
    const dir = dirname(stem);
    for (const f of readdirSync(dir)) if (`${dir}/${f}`.startsWith(stem)) rmSync(`${dir}/${f}`, { force: true });
  }
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) throw new Error('run as root: it creates cgroups and Docker containers');
  const layout = readHostLayout();
  prepareStateDir();
  if (process.argv[2] === 'cleanup') {
    await cleanup(layout);
    return 0;
  }
  if (!(await dockerAvailable())) throw new Error('docker does not answer: run scripts/testbed.sh first');

  await cleanup(layout); // whatever an interrupted run left
  const run: Run = { layout, cgroups: new BenchCgroups(layout), busy: new BenchCgroups(layout, BUSY_SLICE, 'busy', busyCommand(PREFIX)), netdatas: [], live: new Set() };
  const interrupted = cleanUpOnSignal(note, () => cleanup(layout, run));

  try {
    const counts = [...SETTINGS.counts].sort((a, b) => b - a);
    note(`settings: ${JSON.stringify({ ...SETTINGS, counts })}; cgroup layout ${layout.mode}`);
    // Netdata first: it takes on new cgroups slowly, so let it do so while they are made.
    for (const mode of SETTINGS.netdataDefault ? (['v1', 'default'] as const) : (['v1'] as const)) {
      const nd = startNetdata(mode, SETTINGS.netdataPort + (mode === 'v1' ? 0 : 1));
      run.netdatas.push(nd);
      run.live.add(nd.proc);
    }
    note(`starting ${SETTINGS.dockerContainers} Docker containers`);
    await startContainers(SETTINGS.dockerContainers);
    note(`creating ${counts[0]} plain cgroups`);
    await run.cgroups.grow(counts[0]);
    const rows: Row[] = [];
    const x: Extras = {};
    if (SETTINGS.mixes.includes('busy')) armBlkioAccounting(BUSY_DISK_PATH);
    for (const [i, n] of counts.entries()) {
      await run.busy.shrink(0);
      await run.cgroups.shrink(n);
      const first = i === 0;
      for (const mix of SETTINGS.mixes) {
        if (mix === 'busy') {
          // A quarter of the N busy: idle ones go, as many busy ones come (netdata takes those on at its rescans).
          const busy = Math.round(n / 4);
          await run.cgroups.shrink(n - busy);
          note(`N=${n} busy: ${busy} busy cgroups beside ${n - busy} idle ones`);
          await run.busy.grow(busy);
        }
        const row = await measureN(run, n, mix, first || mix === 'busy', (first && mix === SETTINGS.mixes[0]) || SETTINGS.dockerEveryN);
        rows.unshift(row);
        note('so far:\n' + table(rows, run.netdatas.map((nd) => nd.mode)).join('\n'));
        // At the largest N where the agent ran, while its cgroups exist (netdata stays paused).
        if (x.fileCosts || !row.agent.ok || !row.fileList) continue;
        x.fileCosts = { n, containers: row.agent.containers, costs: measureFileCosts(readList(row.fileList)) };
        x.nsPasses = await measureNamespacePasses();
        if (SETTINGS.historyRun) x.hist = await historyRun(run, n).catch((err: Error) => err.message);
        if (SETTINGS.profile) x.profile = await profileRun(run, n).catch((err: Error) => err.message);
      }
    }
    for (const nd of run.netdatas) await stopLive(run, nd.proc);
    process.stdout.write('\n' + report(rows, run, x));
  } finally {
    if (!interrupted()) {
      note('cleaning up');
      await cleanup(layout, run);
      note('done');
    }
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench/collect: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
