/**
 * bench/ui: the performance part of issue 11 (see bench/ui/README.md). The web dashboard in
 * Debian's Chromium and `cstats top` in tmux, against a real agent over plain cgroups with a
 * `sleep` each (bench/collect/cgroups.ts, in <prefix>-ui.slice):
 *
 *   1. N (100) containers, agent at 1 s: the overview's first contentful paint and the first frame
 *      with a row for every container, for fresh pages; `cstats top` at 120×40, its CPU and the
 *      bytes it writes to the terminal (tmux pipe-pane), while a second agent at a short interval
 *      fills 900 samples of history; then that agent's container page: the time from the click
 *      to the frame with every chart holding the 900 points.
 *   2. N (300) containers, agent at 1 s: the agent alone, with one overview page open, with ten,
 *      alone again (agent CPU; the tab's renderer CPU, the whole browser's, the JS heap; when each
 *      tick reached the page's screen); then netdata 1.37's dashboard over the same cgroups (its
 *      cgroups plugin only, as bench/collect configures it), alone and with its page open.
 *
 * CPU is /proc/<pid>/task/<tid>/schedstat summed over threads (bench/collect/cpu.ts), per second
 * of the window. Figures printed against the issue's targets, never asserted; not run in CI.
 *
 * Usage: node main.js [cleanup]   (as root, from run.sh's build)
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readHostLayout } from '../../src/runtimes/layout.js';
import type { CgroupLayout } from '../../src/kernel/cgroup/hierarchy.js';
import { BenchCgroups } from '../collect/cgroups.js';
import { cpuDeltaNs, processProbe, type CpuProbe } from '../collect/cpu.js';
import { cmdlineOf, PREFIX, STATE_DIR, cleanUpOnSignal, envNumber, killRecorded, prepareStateDir, running, sleep, stop, type Started } from '../collect/children.js';
import { health, historyLength, startAgent, type Agent } from '../collect/agent.js';
import { chartedCgroups, startNetdata } from '../collect/netdata.js';
import { median, quantile } from '../stats.js';
import { freePort, mean } from '../../tests/integration/support.js';
import { TopTerminal } from '../../tests/integration/ui/support.js';
import { Chromium, chromiumProcesses, descendants, heapUsedBytes, historyDraw, liveHeapBytes, rendererProcesses, tickLatencies, type OpenPage } from './browser.js';

const QUICK = envNumber('BENCH_QUICK', 0) === 1;
const SETTINGS = {
  small: envNumber('BENCH_UI_N', 100),
  large: envNumber('BENCH_UI_LARGE_N', 300),
  /** Seconds the agent runs before anything is measured (V8 compiles its hot code). */
  warmupS: envNumber('BENCH_UI_WARMUP', QUICK ? 15 : 60),
  /** Fresh overview pages timed. */
  loads: envNumber('BENCH_UI_LOADS', 5),
  topS: envNumber('BENCH_UI_TOP', QUICK ? 20 : 60),
  /** The history agent's interval: 900 samples fill in 900 × this. */
  historyIntervalMs: envNumber('BENCH_UI_HISTORY_INTERVAL', QUICK ? 100 : 200),
  /** Times a container's page is opened. */
  draws: envNumber('BENCH_UI_DRAWS', 5),
  /** Seconds one page is open (the issue: 5 minutes). */
  windowS: envNumber('BENCH_UI_WINDOW', QUICK ? 60 : 300),
  /** Seconds of each turn of the agent's measure (no page, one, ten), and rounds of those turns. */
  turnS: envNumber('BENCH_UI_TURN', QUICK ? 20 : 60),
  rounds: envNumber('BENCH_UI_ROUNDS', QUICK ? 2 : 3),
  pages: envNumber('BENCH_UI_PAGES', 10),
  netdata: envNumber('BENCH_UI_NETDATA', 1) === 1,
};
const SLICE = `${PREFIX}-ui.slice`;
const SCOPE = 'ui';
const HISTORY_POINTS = 900;
const INTERVAL_MS = 1000;
/** Bytes `cstats top` writes to its terminal, as tmux passes them on (pipe-pane). */
const TOP_OUTPUT = `${STATE_DIR}/top-output`;
/** After pages open, before their window. */
const SETTLE_MS = 5000;
/** Heap and CPU are read this often inside a window with pages. */
const SAMPLE_EVERY_MS = 10_000;

const t0 = Date.now();
const note = (msg: string): void => void process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(5)} s] ${msg}\n`);
const report: string[] = [];
const say = (line = ''): void => {
  report.push(line);
  note(line.trim());
};

const loadavg = (): string => readFileSync('/proc/loadavg', 'latin1').split(' ').slice(0, 3).join(' ');
const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`;
const pctOfCore = (msPerS: number): string => `${(msPerS / 10).toFixed(2)} %`;
const verdict = (value: number, limit: number): string => (value <= limit ? 'met' : 'NOT met');
const list = (xs: number[], digits = 0): string => xs.map((x) => x.toFixed(digits)).join(' ');

async function waitUntil(what: string, ok: () => Promise<boolean>, timeoutS: number, proc?: Started): Promise<void> {
  for (let waited = 0; !(await ok().catch(() => false)); waited++) {
    if (proc && !running(proc)) throw new Error(`${proc.name} exited: see ${proc.log}`);
    if (waited > timeoutS) throw new Error(`${what}: not after ${timeoutS} s`);
    await sleep(1000);
  }
}

/** Containers the agent samples (the bench's and whatever else runs here), once it samples at least `n`. */
async function sampling(agent: Agent, n: number): Promise<number> {
  await waitUntil(`${agent.proc.name} samples ${n} containers`, async () => ((await health(agent))?.containers ?? 0) >= n, 300, agent.proc);
  return (await health(agent))!.containers;
}

/** The running containers the agent lists (GET /api/v1/containers): the rows of the overview. */
async function listed(agent: Agent): Promise<{ id: string; name: string }[]> {
  return (await (await fetch(`http://127.0.0.1:${agent.port}/api/v1/containers`)).json()) as { id: string; name: string }[];
}

async function idOf(agent: Agent, name: string): Promise<string> {
  const c = (await listed(agent)).find((x) => x.name === name);
  if (!c) throw new Error(`${agent.proc.name} does not list ${name}`);
  return c.id;
}

/** What the benchmark started, for the cleanup (also on Ctrl-C). */
interface Held {
  procs: Started[];
  /** The first serves every page but those of the many-pages turns, which have one each. */
  browsers: Chromium[];
  term?: TopTerminal;
}

interface Window {
  seconds: number;
  /** ms on a CPU per second, by probe label. */
  cpu: Map<string, number>;
  /** Per page: the largest JS heap in use seen, and the live heap after a full GC at the end. */
  heapMax: number[];
  heapLive: number[];
  /** ms from sample to screen, every page's ticks together. */
  latencies: number[];
}

/** CPU of `probes` over `seconds`, with the pages' heaps read every SAMPLE_EVERY_MS and their ticks' latencies. */
async function measure(probes: CpuProbe[], seconds: number, pages: OpenPage[] = []): Promise<Window> {
  const before = probes.map((p) => p.snapshot());
  const from = Date.now();
  const heapMax = pages.map(() => 0);
  while (Date.now() - from < seconds * 1000) {
    await sleep(Math.min(SAMPLE_EVERY_MS, seconds * 1000 - (Date.now() - from)));
    const used = await Promise.all(pages.map(heapUsedBytes));
    used.forEach((u, i) => (heapMax[i] = Math.max(heapMax[i], u)));
  }
  const elapsed = (Date.now() - from) / 1000;
  const cpu = new Map(probes.map((p, i) => [p.label, Number(cpuDeltaNs(before[i], p.snapshot())) / 1e6 / elapsed]));
  const latencies = (await Promise.all(pages.map((p) => tickLatencies(p, from)))).flat();
  const heapLive = await Promise.all(pages.map(liveHeapBytes));
  return { seconds: elapsed, cpu, heapMax, heapLive, latencies };
}

/** `cstats top` in tmux at 120×40: its pid (the node process in the pane). */
function topPid(term: TopTerminal, session: string): number {
  const pane = Number(term.tmux('list-panes', '-t', session, '-F', '#{pane_pid}').trim());
  const pid = [pane, ...descendants(pane)].find((p) => cmdlineOf(p)?.includes('cstats.js top'));
  if (pid === undefined) throw new Error('cstats top is not running in its tmux pane');
  return pid;
}

async function measureTop(agent: Agent, held: Held): Promise<void> {
  const term = new TopTerminal(`http://127.0.0.1:${agent.port}`);
  held.term = term;
  try {
    const session = term.start('top', 120, 40);
    writeFileSync(TOP_OUTPUT, '');
    term.tmux('pipe-pane', '-t', session, `cat >> ${TOP_OUTPUT}`);
    await waitUntil('cstats top draws its table', async () => term.screen(session).includes('NAME'), 30);
    await sleep(5000);
    const pid = topPid(term, session);
    const bytes0 = statSync(TOP_OUTPUT).size;
    const w = await measure([processProbe('top', () => [pid])], SETTINGS.topS);
    const bytesPerS = (statSync(TOP_OUTPUT).size - bytes0) / w.seconds;
    const ms = w.cpu.get('top')!;
    // Others' containers come and go on a shared host: the count at the end of the window.
    const containers = (await health(agent))?.containers;
    say(`  cstats top, 120×40, ${w.seconds.toFixed(0)} s over ${containers} containers: CPU ${ms.toFixed(2)} ms/s = ${pctOfCore(ms)} of a core (target ≤ 1 %: ${verdict(ms / 10, 1)}); ${bytesPerS.toFixed(0)} bytes/s written to the terminal`);
    term.keys(session, 'q');
  } finally {
    term.close();
    held.term = undefined;
  }
}

/** Phase 1: N containers: the overview's first paint, `cstats top`, and a container's 15-minute history. */
async function small(chromium: Chromium, agent: Agent, held: Held): Promise<void> {
  const n = SETTINGS.small;
  const containers = await sampling(agent, n);
  note(`agent samples ${containers} containers; warming up ${SETTINGS.warmupS} s`);
  await sleep(SETTINGS.warmupS * 1000);
  say(`${n} bench containers (${containers} sampled by the agent), agent at 1 s; load average ${loadavg()}:`);
  const url = `http://127.0.0.1:${agent.port}/`;
  const loads: { fcpMs: number; drawnMs: number }[] = [];
  const rows = (await listed(agent)).length;
  for (let i = 0; i < SETTINGS.loads; i++) loads.push(await chromium.overviewLoad(url, rows));
  const drawn = loads.map((l) => l.drawnMs);
  say(`  overview, a row for each of ${rows} containers drawn, ms from navigation: ${list(drawn)} (first load with an empty cache first); median ${median(drawn).toFixed(0)} (target ≤ 1000: ${verdict(median(drawn), 1000)}), worst ${Math.max(...drawn).toFixed(0)} (${verdict(Math.max(...drawn), 1000)})`);
  say(`  first contentful paint ("Loading…"), ms: ${list(loads.map((l) => l.fcpMs))}`);

  // A second agent whose history holds 900 samples as --history 15m at 1 s does, filled in
  // 900 × its interval; `cstats top` is measured against the first agent meanwhile.
  const historyAgent = startAgent('agent-history', {
    port: await freePort(),
    interval: `${SETTINGS.historyIntervalMs}ms`,
    history: `${(HISTORY_POINTS * SETTINGS.historyIntervalMs) / 1000}s`,
    args: ['--no-persist'],
  });
  held.procs.push(historyAgent.proc);
  await measureTop(agent, held);
  const name = `${SCOPE}-0`;
  await waitUntil(`${HISTORY_POINTS} samples of history`, async () => ((await historyLength(historyAgent, name)) ?? 0) >= HISTORY_POINTS, (HISTORY_POINTS * SETTINGS.historyIntervalMs) / 1000 + 120, historyAgent.proc);
  const points = (await historyLength(historyAgent, name))!;
  const page = await chromium.open(`http://127.0.0.1:${historyAgent.port}/`);
  await page.page.waitForSelector('table.containers tbody tr[data-id]');
  const id = await idOf(historyAgent, name);
  const draws = [];
  for (let i = 0; i < SETTINGS.draws; i++) draws.push(await historyDraw(page, id, points));
  await page.page.close();
  await stop(historyAgent.proc);
  const d = draws[0];
  say(`  a container's history (${d.points} points × ${d.series} series in ${d.charts} charts; agent at ${SETTINGS.historyIntervalMs} ms, load average ${loadavg()}), ms from the click, ${SETTINGS.draws} times:`);
  say(`    history fetched (last byte): ${list(draws.map((x) => x.fetchMs))}`);
  say(`    then drawn (parse, charts, first frame): ${list(draws.map((x) => x.drawMs))}; median ${median(draws.map((x) => x.drawMs)).toFixed(0)} (target ≤ 200: ${verdict(median(draws.map((x) => x.drawMs)), 200)})`);
  say(`    total: ${list(draws.map((x) => x.totalMs))}; median ${median(draws.map((x) => x.totalMs)).toFixed(0)}`);
}

/** Phase 2: N containers, pages open for a window: agent, tab and browser CPU, JS heap, tick latency; netdata's page beside. */
async function large(chromium: Chromium, cgroups: BenchCgroups, agent: Agent, held: Held): Promise<void> {
  const n = SETTINGS.large;
  await cgroups.grow(n);
  const netdata = SETTINGS.netdata ? startNetdata('v1', await freePort(), 'ram', `${STATE_DIR}/netdata`) : undefined;
  if (netdata) held.procs.push(netdata.proc);
  const containers = await sampling(agent, n);
  note(`agent samples ${containers} containers; settling ${SETTINGS.warmupS} s`);
  await sleep(SETTINGS.warmupS * 1000);
  const agentProbe = processProbe('agent', () => [agent.proc.pid]);
  const tab = processProbe('renderers', rendererProcesses);
  const browser = processProbe('browser', chromiumProcesses);
  const overviews = async (k: number): Promise<OpenPage[]> => {
    const pages: OpenPage[] = [];
    for (let i = 0; i < k; i++) {
      if (i === held.browsers.length) held.browsers.push(await Chromium.launch());
      pages.push(await held.browsers[i].open(`http://127.0.0.1:${agent.port}/`));
    }
    await Promise.all(pages.map((p) => p.page.waitForSelector('table.containers tbody tr[data-id]')));
    // What opening costs (the list, the table built) is not the steady state measured.
    await sleep(SETTLE_MS);
    return pages;
  };
  say();
  say(`${n} bench containers (${containers} sampled by the agent), agent at 1 s${netdata ? ', netdata running' : ''}:`);

  // The tab: one page open for the whole window.
  const one = await overviews(1);
  const w1 = await measure([agentProbe, tab, browser], SETTINGS.windowS, one);
  await one[0].page.close();
  const p95 = quantile(w1.latencies, 0.95);
  say(`  one overview page open ${w1.seconds.toFixed(0)} s (load average ${loadavg()}):`);
  say(`    the tab (renderer) ${pctOfCore(w1.cpu.get('renderers')!)} of a core (target ≤ 15 %: ${verdict(w1.cpu.get('renderers')! / 10, 15)}); the whole browser ${pctOfCore(w1.cpu.get('browser')!)}`);
  say(`    JS heap in use, largest of every ${SAMPLE_EVERY_MS / 1000} s: ${mb(w1.heapMax[0])} (target ≤ 60 MB: ${verdict(w1.heapMax[0] / 2 ** 20, 60)}); live after a full GC at the end ${mb(w1.heapLive[0])}`);
  say(`    sample to screen, ${w1.latencies.length} ticks: p50 ${median(w1.latencies).toFixed(0)} ms, p95 ${p95.toFixed(0)} ms (target ≤ ${1.5 * INTERVAL_MS}: ${verdict(p95, 1.5 * INTERVAL_MS)}), max ${Math.max(...w1.latencies).toFixed(0)} ms`);
  say(`    agent ${w1.cpu.get('agent')!.toFixed(1)} ms/s meanwhile`);

  // The agent: turns without a page, with one and with ten, so that the host's drift falls on all three alike.
  const turns = new Map<number, Window[]>([[0, []], [1, []], [SETTINGS.pages, []]]);
  for (let r = 0; r < SETTINGS.rounds; r++) {
    for (const [k, done] of turns) {
      const pages = await overviews(k);
      done.push(await measure([agentProbe, tab, browser], SETTINGS.turnS, pages));
      await Promise.all(pages.map((p) => p.page.close()));
      note(`${k} pages: agent ${done[done.length - 1].cpu.get('agent')!.toFixed(1)} ms/s`);
    }
  }
  const agentMs = (k: number): number[] => turns.get(k)!.map((w) => w.cpu.get('agent')!);
  const added = (k: number): number => (mean(agentMs(k)) - mean(agentMs(0))) / 10;
  const signed = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(2)} %`;
  say(`  the agent in ${SETTINGS.rounds} rounds of turns of ${SETTINGS.turnS} s (load average ${loadavg()}), ms/s in each turn:`);
  say(`    no page ${list(agentMs(0), 1)}; one page ${list(agentMs(1), 1)}; ${SETTINGS.pages} pages ${list(agentMs(SETTINGS.pages), 1)}`);
  say(`    one page adds ${signed(added(1))} of a core (target ≤ +1 %: ${verdict(added(1), 1)}); ${SETTINGS.pages} pages add ${signed(added(SETTINGS.pages))} (target ≤ +3 %: ${verdict(added(SETTINGS.pages), 3)})`);
  const many = turns.get(SETTINGS.pages)!;
  const manyLatencies = many.flatMap((w) => w.latencies);
  const p95ofMany = quantile(manyLatencies, 0.95);
  say(`    with ${SETTINGS.pages} pages: renderers ${pctOfCore(mean(many.map((w) => w.cpu.get('renderers')!)))} of a core together, the whole browser ${pctOfCore(mean(many.map((w) => w.cpu.get('browser')!)))}; JS heap largest ${mb(Math.max(...many.flatMap((w) => w.heapMax)))}`);
  say(`    sample to screen, ${manyLatencies.length} ticks of all pages: p50 ${median(manyLatencies).toFixed(0)} ms, p95 ${p95ofMany.toFixed(0)} ms (${verdict(p95ofMany, 1.5 * INTERVAL_MS)}), max ${Math.max(...manyLatencies).toFixed(0)} ms`);

  // The many-pages turns' browsers, idle now, would count in netdata's whole-browser figure.
  for (const b of held.browsers.splice(1)) await b.close();
  if (!netdata) return;
  const charted = await chartedCgroups(netdata);
  const netdataProbe = processProbe('netdata', () => [netdata.proc.pid, ...descendants(netdata.proc.pid)]);
  const ndAlone = await measure([netdataProbe], SETTINGS.turnS);
  const nd = [await chromium.open(`http://127.0.0.1:${netdata.port}/`)];
  const ndWindow = await measure([netdataProbe, tab, browser], SETTINGS.windowS, nd);
  const ndLoad = loadavg();
  const external = nd[0].external.length;
  await nd[0].page.close();
  say(`  netdata 1.37's dashboard over the same cgroups (cgroups plugin only, ${charted ?? '?'} cgroups charted; load average ${ndLoad}):`);
  say(`    the tab (renderer) ${pctOfCore(ndWindow.cpu.get('renderers')!)} of a core; the whole browser ${pctOfCore(ndWindow.cpu.get('browser')!)}; JS heap largest ${mb(ndWindow.heapMax[0])}, live at the end ${mb(ndWindow.heapLive[0])}`);
  say(`    netdata (all its processes) ${ndAlone.cpu.get('netdata')!.toFixed(1)} ms/s alone, ${ndWindow.cpu.get('netdata')!.toFixed(1)} with its page open: ${((ndWindow.cpu.get('netdata')! - ndAlone.cpu.get('netdata')!) / 10).toFixed(2)} % of a core for the page`);
  say(`    requests to other hosts (no internet here; they fail): ${external}${external ? ` (${[...new Set(nd[0].external.map((u) => new URL(u).host))].join(', ')})` : ''}`);
  say(`  ratio, tab CPU netdata / cstats: ${(ndWindow.cpu.get('renderers')! / w1.cpu.get('renderers')!).toFixed(1)}; JS heap netdata / cstats: ${(ndWindow.heapMax[0] / w1.heapMax[0]).toFixed(1)}`);
}

async function cleanup(layout: CgroupLayout, held: Held = { procs: [], browsers: [] }): Promise<void> {
  held.term?.close();
  for (const b of held.browsers.splice(0)) await b.close().catch(() => undefined);
  for (const p of held.procs) await stop(p, 3000).catch(() => undefined);
  const killed = killRecorded();
  if (killed > 0) note(`cleanup: ended ${killed} leftover processes`);
  await BenchCgroups.destroy(layout, SLICE);
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) throw new Error('run as root: it creates cgroups');
  // TopTerminal starts `bin/cstats.js` from the working directory: this build's tree.
  process.chdir(fileURLToPath(new URL('../../../', import.meta.url)));
  const layout = readHostLayout();
  prepareStateDir();
  await cleanup(layout);
  if (process.argv[2] === 'cleanup') return 0;

  const held: Held = { procs: [], browsers: [] };
  const interrupted = cleanUpOnSignal(note, () => cleanup(layout, held));
  try {
    const cgroups = new BenchCgroups(layout, SLICE, SCOPE);
    note(`settings: ${JSON.stringify(SETTINGS)}; cgroups ${cgroups.describe()}; logs in ${STATE_DIR}`);
    await cgroups.grow(SETTINGS.small);
    const agent = startAgent('agent', { port: await freePort(), interval: `${INTERVAL_MS}ms`, args: ['--no-persist'] });
    held.procs.push(agent.proc);
    const chromium = await Chromium.launch();
    held.browsers.push(chromium);
    await small(chromium, agent, held);
    if (SETTINGS.large > 0) await large(chromium, cgroups, agent, held);
    return 0;
  } finally {
    // What was measured, also when a later step failed.
    process.stdout.write(`\n${report.join('\n')}\n`);
    if (!interrupted()) await cleanup(layout, held);
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    note(`failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
