/**
 * bench/collect: what sampling every container every second costs the cstats agent, against
 * netdata's cgroups plugin, dockerd+containerd serving `docker stats`, and two plain Node loops
 * over the same files, all in one run on this host. Prints figures and ratios; asserts nothing.
 *
 * Each subject is measured alone: the others are paused (SIGSTOP) or not running during its
 * window, so that on a small host they do not share the CPU caches and cores.
 *
 * Usage: node dist/bench/collect/main.js [cleanup]   (as root; see bench/README.md)
 */
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readHostLayout } from '../../src/runtimes/layout.js';
import type { CgroupLayout } from '../../src/kernel/cgroup/hierarchy.js';
import { BenchCgroups } from './cgroups.js';
import { cpuDeltaNs, processProbe, residentOf, type CpuProbe, type CpuSnapshot, type Resident } from './cpu.js';
import { STATE_DIR, killRecorded, pause, prepareStateDir, resume, sleep, start, stop, type Started } from './children.js';
import { daemonsProbe, dockerAvailable, removeContainers, runningContainers, shimsProbe, startContainers } from './docker.js';
import { cgroupsProbe, chartedCgroups, collectorThreadProbe, startNetdata, type Netdata } from './netdata.js';
import { health, historyLength, keptOpenFiles, startAgent, type Agent } from './agent.js';
import { formatSummary, summarizeProfile } from './profile.js';
import { BASELINE_MODES, type BaselineMode } from './baseline.js';
import { formatFileCosts, measureFileCosts, type FileCost } from './filecost.js';

// ---------------------------------------------------------------------------- settings

function envNumber(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}: expected a number, got ${JSON.stringify(v)}`);
  return n;
}

const envFlag = (name: string, fallback: boolean): boolean => (process.env[name] === undefined ? fallback : /^(1|yes|true)$/i.test(process.env[name]!));

const QUICK = envFlag('BENCH_QUICK', false);
const SETTINGS = {
  counts: (process.env.BENCH_N ?? (QUICK ? '50 200' : '50 200 1000')).split(/[\s,]+/).filter((s) => s !== '').map(Number),
  dockerContainers: envNumber('BENCH_DOCKER', QUICK ? 20 : 50),
  windowS: envNumber('BENCH_WINDOW', QUICK ? 5 : 20),
  /** Run the agent at 100 ms with 90 s of history at the largest N: the 15-minute ring, filled in 95 s. */
  historyRun: envFlag('BENCH_HISTORY', !QUICK),
  netdataDefault: envFlag('BENCH_NETDATA_DEFAULT', true),
  /** Measure docker stats at every N (it does not depend on N: by default only at the first). */
  dockerEveryN: envFlag('BENCH_DOCKER_EVERY', false),
  profile: envFlag('BENCH_PROFILE', false),
  agentPort: envNumber('BENCH_AGENT_PORT', 17181),
  netdataPort: envNumber('BENCH_NETDATA_PORT', 19981),
};
const HISTORY_RUN_S = 95;
/** CPU of the history run is taken from here to its end: start-up long past, ring two-thirds full. */
const HISTORY_CPU_FROM_S = 60;
/** A profile covers the agent's start-up too: long enough that steady ticks dominate. */
const PROFILE_MIN_S = 40;
const DISCOVERY_TIMEOUT_S = 180;

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
}

/** CPU ns of each probe over one window of wall time. */
async function measure(probes: CpuProbe[], seconds: number): Promise<Window> {
  const before = probes.map((p) => p.snapshot());
  const start = process.hrtime.bigint();
  await sleep(seconds * 1000);
  const after = probes.map((p) => p.snapshot());
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  return { seconds: elapsed, ns: probes.map((_, i) => cpuDeltaNs(before[i], after[i])) };
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

interface Row {
  n: number;
  agentContainers: number;
  agentUs: number;
  agentMemory?: Resident;
  agentTickMs: number;
  netdata: { mode: string; cgroups: number; us: number; collectorUs: number }[];
  docker?: { containers: number; daemonsUs: number; shimsUs: number };
  baselineUs: Record<BaselineMode, number>;
  files: number;
  fileList: string;
}

interface Run {
  layout: CgroupLayout;
  cgroups: BenchCgroups;
  netdatas: Netdata[];
  /** Everything started and not yet stopped, for cleanup. */
  live: Set<Started>;
}

async function stopLive(run: Run, p: Started): Promise<void> {
  await stop(p);
  run.live.delete(p);
}

async function startedAgent(run: Run, name: string, port: number, interval: string, history?: string, cpuProfDir?: string): Promise<Agent> {
  const agent = startAgent(name, { port, interval, history, cpuProfDir });
  run.live.add(agent.proc);
  return agent;
}

/** Waits until the agent reports at least `expected` running containers; returns what it reports. */
async function agentReady(agent: Agent, expected: number): Promise<number> {
  const h = await waitFor(`agent sees ${expected} containers`, DISCOVERY_TIMEOUT_S, () => health(agent), (h) => h !== undefined && h.containers >= expected);
  return h?.containers ?? 0;
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

async function measureN(run: Run, n: number, measureDocker: boolean): Promise<Row> {
  note(`N=${n}: creating plain cgroups`);
  await run.cgroups.grow(n);
  // A lower bound: other people's containers come and go on a shared host.
  const expected = n + SETTINGS.dockerContainers;
  for (const nd of run.netdatas) resume(nd.proc);
  const agent = await startedAgent(run, `agent-${n}`, SETTINGS.agentPort, '1s');
  note(`N=${n}: waiting for the agent and netdata to see at least ${expected} containers (${n} plain + ${SETTINGS.dockerContainers} Docker)`);
  const [agentContainers, ...charted] = await Promise.all([
    agentReady(agent, expected),
    ...run.netdatas.map((nd) => waitFor(`netdata ${nd.mode} charts ${expected} cgroups`, DISCOVERY_TIMEOUT_S, () => chartedCgroups(nd), (c) => (c ?? 0) >= expected)),
  ]);

  // The agent alone.
  for (const nd of run.netdatas) pause(nd.proc);
  await sleep(2000);
  note(`N=${n}: agent, ${SETTINGS.windowS} s`);
  const aw = await measure([processProbe('agent', () => [agent.proc.pid])], SETTINGS.windowS);
  const agentMemory = residentOf(agent.proc.pid);
  const h = await health(agent);
  const files = keptOpenFiles(agent);
  const fileList = `${STATE_DIR}/files-${n}.txt`;
  writeFileSync(fileList, files.join('\n') + '\n');
  await stopLive(run, agent.proc);

  // Netdata alone (both modes side by side: each is a few % of one core).
  for (const nd of run.netdatas) resume(nd.proc);
  await sleep(3000);
  note(`N=${n}: netdata cgroups threads, ${SETTINGS.windowS} s`);
  const collectorProbes = run.netdatas.map(collectorThreadProbe);
  const nw = await measure([...run.netdatas.map(cgroupsProbe), ...collectorProbes], SETTINGS.windowS);
  for (const nd of run.netdatas) pause(nd.proc);
  const k = run.netdatas.length;
  const netdata = run.netdatas.map((nd, i) => {
    const cgroups = Math.max(charted[i] ?? 0, 1);
    return {
      mode: nd.mode,
      cgroups,
      us: perSampleUs(nw.ns[i], nw.seconds, 1, cgroups),
      collectorUs: perSampleUs(nw.ns[k + i], nw.seconds, 1, cgroups),
    };
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

  note(`N=${n}: node loops over the agent's ${files.length} open files, ${SETTINGS.windowS} s`);
  const baselineUs = await baselinesUs(run, fileList, agentContainers);

  return {
    n,
    agentContainers,
    agentUs: perSampleUs(aw.ns[0], aw.seconds, 1, agentContainers),
    agentMemory,
    agentTickMs: h?.durationMs ?? NaN,
    netdata,
    docker: dockerRow,
    baselineUs,
    files: files.length,
    fileList,
  };
}

// ---------------------------------------------------------------------------- 15-minute history

interface HistoryResult {
  containers: number;
  /** RSS and the samples bench-0's ring holds, at each checkpoint. */
  points: { atS: number; memory?: Resident; held?: number }[];
  us: number;
  tickMs: number;
}

const RING_SAMPLES = 900;

/**
 * RSS with a full ring: the last reading when the ring filled, else a straight line through
 * the first and last readings (RSS against samples held) carried on to 900 samples.
 */
function fullRingRss(h: HistoryResult): { bytes?: number; extrapolated: boolean } {
  const first = h.points[0];
  const last = h.points[h.points.length - 1];
  const [rss0, rss1] = [first.memory?.rssBytes, last.memory?.rssBytes];
  if ((last.held ?? 0) >= RING_SAMPLES || rss1 === undefined) return { bytes: rss1, extrapolated: false };
  if (rss0 === undefined || first.held === undefined || last.held === undefined || last.held <= first.held) return { bytes: undefined, extrapolated: true };
  const perSample = (rss1 - rss0) / (last.held - first.held);
  return { bytes: rss1 + perSample * (RING_SAMPLES - last.held), extrapolated: true };
}

/** 900 samples per container (15 min at 1 s) held by a ring of history/interval = 90 s / 100 ms. */
async function historyRun(run: Run, n: number): Promise<HistoryResult> {
  const started = Date.now();
  const agent = await startedAgent(run, 'agent-history', SETTINGS.agentPort + 1, '100ms', '90s');
  const containers = await agentReady(agent, n + SETTINGS.dockerContainers);
  note(`history: agent at 100 ms with 90 s of history over ${containers} containers, for ${HISTORY_RUN_S} s`);
  const points: HistoryResult['points'] = [];
  const cpu = processProbe('agent', () => [agent.proc.pid]);
  let from: { snap: CpuSnapshot; ns: bigint } | undefined;
  for (const atS of [15, 30, 45, 60, 75, 90, HISTORY_RUN_S]) {
    await sleep(Math.max(0, started + atS * 1000 - Date.now()));
    points.push({ atS, memory: residentOf(agent.proc.pid), held: await historyLength(agent, 'bench-0') });
    if (atS === HISTORY_CPU_FROM_S) from = { snap: cpu.snapshot(), ns: process.hrtime.bigint() };
  }
  const cpuNs = cpuDeltaNs(from!.snap, cpu.snapshot());
  const seconds = Number(process.hrtime.bigint() - from!.ns) / 1e9;
  const h = await health(agent);
  await stopLive(run, agent.proc);
  // Samples actually taken: fewer than one per 100 ms when a tick takes longer than that.
  const held = points.find((p) => p.atS === HISTORY_CPU_FROM_S)?.held;
  const heldEnd = points[points.length - 1].held;
  const samples = held !== undefined && heldEnd !== undefined && heldEnd < RING_SAMPLES ? heldEnd - held : seconds / 0.1;
  return { containers, points, us: Number(cpuNs) / 1000 / (samples * containers), tickMs: h?.durationMs ?? NaN };
}

// ---------------------------------------------------------------------------- profile

async function profileRun(run: Run, n: number): Promise<string> {
  const dir = `${STATE_DIR}/cpuprof`;
  rmSync(dir, { recursive: true, force: true });
  const agent = await startedAgent(run, 'agent-profile', SETTINGS.agentPort + 2, '1s', undefined, dir);
  await agentReady(agent, n);
  const seconds = Math.max(SETTINGS.windowS, PROFILE_MIN_S);
  note(`profile: agent with --cpu-prof, ${seconds} s`);
  await sleep(seconds * 1000);
  await stopLive(run, agent.proc);
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return 'no profile written\n';
  return `${dir}/${file} (${seconds} s, start-up included)\n${formatSummary(summarizeProfile(`${dir}/${file}`), 20)}`;
}

// ---------------------------------------------------------------------------- report

function table(rows: Row[], modes: string[]): string[] {
  const docker = rows.find((r) => r.docker)?.docker;
  const head = ['N', 'cont', 'agent µs', 'RSS MB', 'tick ms', ...modes.map((m) => `netdata ${m} µs`), 'dockerd µs', ...BASELINE_MODES.map((m) => `node ${m} µs`), 'agent/netdata', 'agent/dockerd'];
  const body = rows.map((r) => {
    const nd = r.netdata.find((x) => x.mode === 'v1') ?? r.netdata[0];
    const d = r.docker ?? docker;
    return [
      String(r.n),
      String(r.agentContainers),
      us(r.agentUs),
      mb(r.agentMemory?.rssBytes),
      r.agentTickMs.toFixed(1),
      ...r.netdata.map((x) => us(x.us)),
      d ? us(d.daemonsUs) + (r.docker ? '' : '*') : '-',
      ...BASELINE_MODES.map((m) => us(r.baselineUs[m])),
      ratio(r.agentUs, nd?.us),
      ratio(r.agentUs, d?.daemonsUs),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
}

interface Extras {
  hist?: HistoryResult;
  fileCosts?: FileCost[];
  profile?: string;
}

function report(rows: Row[], run: Run, x: Extras): string {
  const docker = rows.find((r) => r.docker)?.docker;
  const out = table(rows, run.netdatas.map((nd) => nd.mode));
  out.push(
    '',
    'µs = CPU time per container per sample: CPU ns over the window / (samples taken × containers sampled).',
    `CPU from /proc/<pid>/task/*/schedstat (ns on CPU, all threads), ${SETTINGS.windowS} s window per subject, each measured alone`,
    '(the others paused with SIGSTOP or not running). cont = running containers the agent sampled (plain cgroups + every',
    `running Docker container on the host). Plain cgroups: ${run.cgroups.describe()}, one sleep each.`,
    '',
    'agent      cstats agent at --interval 1s, whole process; RSS = VmRSS after the window; tick ms = its last tick\'s duration (/healthz).',
    '           RSS MB (anon): ' + rows.map((r) => `N=${r.n}: ${mbOf(r.agentMemory)}`).join('; ') + '.',
  );
  for (const r of rows) {
    for (const x of r.netdata) {
      if (x.cgroups < r.n) out.push(`WARNING N=${r.n}: netdata ${x.mode} charted only ${x.cgroups} cgroups; its µs is divided by that count.`);
    }
  }
  out.push(
    'netdata    netdata 1.37 cgroups plugin at update every = 1: both "PLUGIN[cgroups]" threads (collector + discovery), divided',
    '           by the cgroups it charts (' + rows.map((r) => `N=${r.n}: ${r.netdata.map((x) => `${x.mode} ${x.cgroups}`).join(', ')}`).join('; ') + ').',
    '           v1 = "use unified cgroups = no": the same v1 controllers the agent reads (cpuacct, cpu, memory, blkio, pids).',
    '           default = netdata\'s own choice, which on this hybrid host is the controller-less cgroup2 tree: cpu.stat and PSI only.',
    '           collector thread alone (µs): ' + rows.map((r) => `N=${r.n}: ${r.netdata.map((x) => `${x.mode} ${us(x.collectorUs)}`).join(', ')}`).join('; ') + '.',
  );
  if (docker) {
    out.push(
      `dockerd    dockerd + containerd while \`docker stats\` (the real CLI, streaming all) runs, per Docker container per second`,
      `           (${docker.containers} running). The containerd-shim-runc-v2 processes, which read the cgroup files for them, add ${us(docker.shimsUs)} µs.`,
      '           * = measured once, at the first N: it does not depend on the number of plain cgroups.',
    );
  }
  out.push(
    `node       plain Node loops reading the agent's kept-open files (${rows.map((r) => `${r.files} at N=${r.n}`).join(', ')}) every second, no parsing,`,
    '           the three side by side in one window. keepopen = open once, pread at offset 0 until a read returns 0 (two reads,',
    '           as the agent does); keepopen-1read = one pread per file; reopen = open/read-until-0/close each time.',
    '',
  );
  if (x.fileCosts) {
    const last = rows[rows.length - 1];
    out.push(`What one read of each file costs plain Node (in this process, N=${last.n}, ${last.agentContainers} containers):`, formatFileCosts(x.fileCosts, last.agentContainers), '');
  }
  const hist = x.hist;
  if (hist) {
    const full = fullRingRss(hist);
    out.push(
      `15-minute history, emulated: the agent at --interval 100ms --history 90s over ${hist.containers} containers for ${HISTORY_RUN_S} s.`,
      `  The ring holds history/interval = ${RING_SAMPLES} samples per container, as 15m at 1s does, and fills in 90 s if every tick`,
      '  fits in 100 ms. RSS MB (samples held by bench-0): ' + hist.points.map((p) => `${p.atS} s ${mb(p.memory?.rssBytes)} (${p.held ?? '?'})`).join(', ') + '.',
      `  At the end: ${mbOf(hist.points[hist.points.length - 1].memory)} MB.`,
      `  RSS with a full 15-minute ring at ${hist.containers} containers: ${mb(full.bytes)} MB` +
        (full.extrapolated ? ` EXTRAPOLATED (the ring did not fill: ticks took longer than 100 ms; straight line in samples held)` : '') +
        ' (target: under 150 MB).',
      `  CPU at 100 ms from ${HISTORY_CPU_FROM_S} s to the end: ${us(hist.us)} µs per container-sample; last tick ${hist.tickMs.toFixed(1)} ms.`,
      '',
    );
  }
  out.push('Targets (issue): agent µs at or below netdata\'s (agent/netdata <= 1); RSS under 150 MB at 1000 containers with 15 minutes of history.');
  if (x.profile) out.push('', 'Agent CPU profile (node --cpu-prof) at the largest N:', x.profile);
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
  const run: Run = { layout, cgroups: new BenchCgroups(layout), netdatas: [], live: new Set() };
  let interrupted = false;
  const onSignal = (sig: string): void => {
    if (interrupted) return;
    interrupted = true;
    note(`${sig}: cleaning up`);
    void cleanup(layout, run).finally(() => process.exit(130));
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  try {
    const counts = [...SETTINGS.counts].sort((a, b) => a - b);
    note(`settings: ${JSON.stringify({ ...SETTINGS, counts })}; cgroup layout ${layout.mode}`);
    note(`starting ${SETTINGS.dockerContainers} Docker containers`);
    await startContainers(SETTINGS.dockerContainers);
    for (const mode of SETTINGS.netdataDefault ? (['v1', 'default'] as const) : (['v1'] as const)) {
      const nd = startNetdata(mode, SETTINGS.netdataPort + (mode === 'v1' ? 0 : 1));
      run.netdatas.push(nd);
      run.live.add(nd.proc);
    }
    const rows: Row[] = [];
    for (const [i, n] of counts.entries()) {
      rows.push(await measureN(run, n, i === 0 || SETTINGS.dockerEveryN));
      note('so far:\n' + table(rows, run.netdatas.map((nd) => nd.mode)).join('\n'));
    }
    for (const nd of run.netdatas) await stopLive(run, nd.proc);
    const largest = counts[counts.length - 1];
    const fileCosts = measureFileCosts(readList(rows[rows.length - 1].fileList));
    const hist = SETTINGS.historyRun ? await historyRun(run, largest) : undefined;
    const profile = SETTINGS.profile ? await profileRun(run, largest) : undefined;
    process.stdout.write('\n' + report(rows, run, { hist, fileCosts, profile }));
  } finally {
    if (!interrupted) {
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
