/**
 * bench/remote-write: what remote_write adds to the agent at N containers × 1 s, beside the peer
 * way of getting the same series into the same receiver (vmagent scraping the agent's /metrics
 * every second and forwarding them), and how soon a sample is queryable in Prometheus.
 *
 * N plain cgroups with a `sleep` each (bench/collect/cgroups.ts); VictoriaMetrics (Debian's
 * victoria-metrics) as the receiver of both ways; three processes sampling or scraping the same
 * cgroups, run in turns (the others paused with SIGSTOP, as bench/collect turns the agent and
 * netdata):
 *   - `plain`: an agent without exporter: the baseline;
 *   - `remote_write`: an agent with `--remote-write` to VictoriaMetrics;
 *   - `vmagent`: the plain agent again, scraped every second by vmagent (Debian's, from the
 *     victoria-metrics package) which remote-writes to the same VictoriaMetrics.
 * CPU is the processes' threads' time (/proc/<pid>/task/<tid>/schedstat) per second of the
 * turn; RSS is read at the end of each turn. Then the latency: an agent writing to a real
 * Prometheus 2.42 (`--web.enable-remote-write-receiver`), polled every 100 ms for the newest
 * sample of a few series (`timestamp()`): the time from a sample's own timestamp (when the agent
 * took it) to the first poll that returns it. Figures printed, never asserted; not run in CI.
 *
 * Usage: node main.js [cleanup]   (as root, from run.sh's build; see bench/README.md)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { readHostLayout } from '../../src/runtimes/layout.js';
import type { CgroupLayout } from '../../src/kernel/cgroup/hierarchy.js';
import { BenchCgroups } from '../collect/cgroups.js';
import { cpuDeltaNs, processProbe, residentOf } from '../collect/cpu.js';
import { PREFIX, STATE_DIR, cleanUpOnSignal, envNumber, killRecorded, pause, prepareStateDir, resume, running, sleep, start, stop, type Started } from '../collect/children.js';
import { freePort } from '../../tests/integration/support.js';
import { health, startAgent, type Agent } from '../collect/agent.js';
import { quantile } from '../stats.js';

const SETTINGS = {
  containers: envNumber('BENCH_RW_N', 1000),
  /** Seconds everything runs together first (V8 compiles the hot code, VictoriaMetrics creates the series). */
  warmupS: envNumber('BENCH_RW_WARMUP', 120),
  turnS: envNumber('BENCH_RW_TURN', 20),
  rounds: envNumber('BENCH_RW_ROUNDS', 3),
  /** Seconds of polling Prometheus for the latency. */
  latencyS: envNumber('BENCH_RW_LATENCY', 60),
};
const SLICE = `${PREFIX}-rw.slice`;
const VM = '/usr/bin/victoria-metrics';
const VMAGENT = '/usr/bin/vmagent';
const PROMETHEUS = '/usr/bin/prometheus';
/** Settling after a switch of turns: a resumed agent runs the tick it missed. */
const SETTLE_MS = 3000;
/** The host label of the latency agent's series, so that its series are told apart. */
const LATENCY_HOST = `${PREFIX}-latency`;

const t0 = Date.now();
const note = (msg: string): void => void process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(5)} s] ${msg}\n`);

async function waitUntil(what: string, ok: () => Promise<boolean>, timeoutS: number, proc?: Started): Promise<void> {
  for (let waited = 0; !(await ok().catch(() => false)); waited++) {
    if (proc && !running(proc)) throw new Error(`${proc.name} exited: see ${proc.log}`);
    if (waited > timeoutS) throw new Error(`${what}: not after ${timeoutS} s`);
    await sleep(1000);
  }
}

async function seesAll(agent: Agent): Promise<void> {
  await waitUntil(`${agent.proc.name} sees ${SETTINGS.containers} containers`, async () => ((await health(agent))?.containers ?? 0) >= SETTINGS.containers, 300, agent.proc);
}

async function query(base: string, promql: string, timeoutMs = 5_000): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`, { signal: AbortSignal.timeout(timeoutMs) });
  const body = (await res.json()) as { data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  return body.data?.result ?? [];
}

async function cleanup(layout: CgroupLayout, procs: Started[] = []): Promise<void> {
  for (const p of procs) await stop(p, 3000).catch(() => undefined);
  const killed = killRecorded();
  if (killed > 0) note(`cleanup: ended ${killed} leftover processes`);
  await BenchCgroups.destroy(layout, SLICE);
}

interface Turn {
  subject: string;
  cpuMsPerS: Map<string, number>;
  rssMb: Map<string, number>;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const pct = (msPerS: number): string => `${(msPerS / 10).toFixed(2)} %`;

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) throw new Error('run as root: it creates cgroups');
  const layout = readHostLayout();
  prepareStateDir();
  await cleanup(layout);
  if (process.argv[2] === 'cleanup') return 0;

  const procs: Started[] = [];
  const interrupted = cleanUpOnSignal(note, () => cleanup(layout, procs));
  try {
    const cgroups = new BenchCgroups(layout, SLICE);
    note(`settings: ${JSON.stringify(SETTINGS)}; cgroups ${cgroups.describe()}; logs in ${STATE_DIR}`);
    await cgroups.grow(SETTINGS.containers);

    const vmPort = await freePort();
    const vmUrl = `http://127.0.0.1:${vmPort}`;
    const vm = start('victoria-metrics', VM, [`-storageDataPath=${STATE_DIR}/vm`, `-httpListenAddr=127.0.0.1:${vmPort}`, '-retentionPeriod=1d', '-search.latencyOffset=0s', '-loggerLevel=ERROR']);
    procs.push(vm);
    await waitUntil('victoria-metrics ready', async () => (await fetch(`${vmUrl}/health`)).ok, 30, vm);

    const plain = startAgent('agent-plain', { port: await freePort(), interval: '1s', args: ['--data-dir', `${STATE_DIR}/agent-plain`] });
    procs.push(plain.proc);
    const rw = startAgent('agent-rw', { port: await freePort(), interval: '1s', args: ['--data-dir', `${STATE_DIR}/agent-rw`, '--remote-write', `${vmUrl}/api/v1/write`] });
    procs.push(rw.proc);
    const scrapeConfig = `${STATE_DIR}/vmagent.yml`;
    writeFileSync(scrapeConfig, `scrape_configs:\n  - job_name: cstats\n    scrape_interval: 1s\n    scrape_timeout: 1s\n    static_configs:\n      - targets: ['127.0.0.1:${plain.port}']\n`);
    mkdirSync(`${STATE_DIR}/vmagent`, { recursive: true });
    const vmagent = start('vmagent', VMAGENT, [
      `-promscrape.config=${scrapeConfig}`,
      `-remoteWrite.url=${vmUrl}/api/v1/write`,
      `-remoteWrite.tmpDataPath=${STATE_DIR}/vmagent`,
      `-httpListenAddr=127.0.0.1:${await freePort()}`,
      '-loggerLevel=ERROR',
    ]);
    procs.push(vmagent);
    await seesAll(plain);
    await seesAll(rw);
    note(`both agents see ${SETTINGS.containers} containers; all running together for ${SETTINGS.warmupS} s`);
    await sleep(SETTINGS.warmupS * 1000);

    const all: Array<[string, Started]> = [['agent', plain.proc], ['agent+remote_write', rw.proc], ['vmagent', vmagent]];
    const subjects: Array<[string, Started[]]> = [
      ['plain', [plain.proc]],
      ['remote_write', [rw.proc]],
      ['vmagent', [plain.proc, vmagent]],
    ];
    const turns: Turn[] = [];
    for (let r = 0; r < SETTINGS.rounds; r++) {
      for (const [subject, run] of subjects) {
        for (const [, p] of all) if (!run.includes(p)) pause(p);
        for (const p of run) resume(p);
        await sleep(SETTLE_MS);
        const probes = all.map(([label, p]) => [label, processProbe(label, () => [p.pid])] as const);
        const before = probes.map(([, probe]) => probe.snapshot());
        const from = Date.now();
        await sleep(SETTINGS.turnS * 1000);
        const seconds = (Date.now() - from) / 1000;
        const turn: Turn = { subject, cpuMsPerS: new Map(), rssMb: new Map() };
        probes.forEach(([label, probe], i) => turn.cpuMsPerS.set(label, Number(cpuDeltaNs(before[i], probe.snapshot())) / 1e6 / seconds));
        for (const [label, p] of all) turn.rssMb.set(label, (residentOf(p.pid)?.rssBytes ?? NaN) / 2 ** 20);
        turns.push(turn);
        note(`${subject}: ${[...turn.cpuMsPerS].map(([l, ms]) => `${l} ${ms.toFixed(1)} ms/s`).join(', ')}`);
      }
    }
    for (const [, p] of all) resume(p);
    // What reached VictoriaMetrics by each way (the agent's host label, vmagent's job label).
    const agentSeries = await query(vmUrl, `count(container_cpu_usage_seconds_total{host="${hostname()}"})`, 30_000).catch(() => []);
    const vmagentSeries = await query(vmUrl, `count(container_cpu_usage_seconds_total{job="cstats"})`, 30_000).catch(() => []);
    for (const [, p] of all) await stop(p);

    const of = (subject: string, label: string, key: 'cpuMsPerS' | 'rssMb'): number[] => turns.filter((t) => t.subject === subject).map((t) => t[key].get(label)!);
    const plainCpu = mean(of('plain', 'agent', 'cpuMsPerS'));
    const rwCpu = mean(of('remote_write', 'agent+remote_write', 'cpuMsPerS'));
    const scrapedCpu = mean(of('vmagent', 'agent', 'cpuMsPerS'));
    const vmagentCpu = mean(of('vmagent', 'vmagent', 'cpuMsPerS'));
    const plainRss = mean(turns.map((t) => t.rssMb.get('agent')!));
    const rwRss = mean(turns.map((t) => t.rssMb.get('agent+remote_write')!));
    const vmagentRss = mean(turns.map((t) => t.rssMb.get('vmagent')!));
    const spread = (xs: number[]): string => xs.map((x) => x.toFixed(1)).join(' ');

    note(`latency: an agent writing to Prometheus for ${SETTINGS.latencyS} s`);
    const latencies = await latency(procs);

    process.stdout.write(
      [
        '',
        `remote_write at ${SETTINGS.containers} plain cgroups × 1 s (${SETTINGS.rounds} turns of ${SETTINGS.turnS} s each, after ${SETTINGS.warmupS} s together; CPU in ms per second, % of one core):`,
        `  agent alone                          ${plainCpu.toFixed(1).padStart(6)} ms/s   (turns: ${spread(of('plain', 'agent', 'cpuMsPerS'))})   RSS ${plainRss.toFixed(1)} MB`,
        `  agent + remote_write                 ${rwCpu.toFixed(1).padStart(6)} ms/s   (turns: ${spread(of('remote_write', 'agent+remote_write', 'cpuMsPerS'))})   RSS ${rwRss.toFixed(1)} MB`,
        `  agent scraped by vmagent every 1 s   ${scrapedCpu.toFixed(1).padStart(6)} ms/s   (turns: ${spread(of('vmagent', 'agent', 'cpuMsPerS'))})`,
        `  vmagent                              ${vmagentCpu.toFixed(1).padStart(6)} ms/s   (turns: ${spread(of('vmagent', 'vmagent', 'cpuMsPerS'))})   RSS ${vmagentRss.toFixed(1)} MB`,
        `  added by remote_write:        CPU ${pct(rwCpu - plainCpu)} of a core, RSS ${(rwRss - plainRss).toFixed(1)} MB`,
        `  added by vmagent's way:       CPU ${pct(scrapedCpu - plainCpu + vmagentCpu)} of a core (agent serving /metrics ${pct(scrapedCpu - plainCpu)} + vmagent ${pct(vmagentCpu)}), RSS ${vmagentRss.toFixed(1)} MB (vmagent)`,
        `  container_cpu_usage_seconds_total series in VictoriaMetrics: ${agentSeries[0]?.value[1] ?? 'no answer'} from remote_write, ${vmagentSeries[0]?.value[1] ?? 'no answer'} from vmagent`,
        latencies.length === 0
          ? '  sample to queryable in Prometheus: no sample seen'
          : `  sample to queryable in Prometheus 2.42: p50 ${quantile(latencies, 0.5).toFixed(0)} ms, p99 ${quantile(latencies, 0.99).toFixed(0)} ms, max ${Math.max(...latencies).toFixed(0)} ms (${latencies.length} samples of 5 series, polled every 100 ms)`,
        '',
      ].join('\n'),
    );
    return 0;
  } finally {
    if (!interrupted()) await cleanup(layout, procs);
  }
}

/** An agent writing to Prometheus; the delay from each sample's own time to the first poll that returns it, in ms. */
async function latency(procs: Started[]): Promise<number[]> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const dir = `${STATE_DIR}/prometheus`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/prometheus.yml`, 'global:\n  scrape_interval: 1m\n');
  const prom = start('prometheus', PROMETHEUS, [`--config.file=${dir}/prometheus.yml`, `--storage.tsdb.path=${dir}/tsdb`, `--web.listen-address=127.0.0.1:${port}`, '--web.enable-remote-write-receiver', '--log.level=warn']);
  procs.push(prom);
  await waitUntil('prometheus ready', async () => (await fetch(`${base}/-/ready`)).ok, 60, prom);
  const agent = startAgent('agent-latency', {
    port: await freePort(),
    interval: '1s',
    args: ['--data-dir', `${STATE_DIR}/agent-latency`, '--remote-write', `${base}/api/v1/write`, '--remote-write-label', `host=${LATENCY_HOST}`],
  });
  procs.push(agent.proc);
  await seesAll(agent);
  const step = Math.max(1, Math.floor(SETTINGS.containers / 4));
  const names = [0, step, 2 * step, 3 * step, SETTINGS.containers - 1].map((i) => `bench-${i}`);
  const promql = `timestamp(container_cpu_usage_seconds_total{host="${LATENCY_HOST}",name=~"${names.join('|')}"})`;
  // The first seconds create 60,000 series in Prometheus' head: measured once it takes samples as they come.
  await sleep(10_000);
  const seen = new Map<string, number>();
  const latencies: number[] = [];
  const until = Date.now() + SETTINGS.latencyS * 1000;
  while (Date.now() < until) {
    const polled = Date.now();
    for (const r of await query(base, promql).catch(() => [])) {
      const sampleMs = Math.round(Number(r.value[1]) * 1000);
      const key = `${r.metric.name} ${sampleMs}`;
      if (seen.has(key)) continue;
      const arrived = Date.now();
      seen.set(key, arrived);
      // The first poll's answers were written before it: no arrival time.
      if (seen.size > names.length) latencies.push(arrived - sampleMs);
    }
    await sleep(Math.max(0, polled + 100 - Date.now()));
  }
  await stop(agent.proc);
  await stop(prom);
  return latencies;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    note(`failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
