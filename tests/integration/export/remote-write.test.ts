/**
 * remote_write into the real Prometheus (Debian's, --web.enable-remote-write-receiver):
 * - the values Prometheus stores for a busy container are the values the agent's /metrics
 *   showed at those ticks, one sample a second, and the last is within a tick of the cgroup's
 *   own cpuacct.usage;
 * - Prometheus stopped (SIGSTOP) for 30 s with the agent restarted (SIGTERM) in the middle:
 *   every sample the agent took (its own history, from the data directory) is in Prometheus
 *   afterwards, and the backlog drains many times faster than real time (printed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, freePort, run, sleep, waitFor } from '../support.js';
import { agentHistory, exportHealth, startExportingAgent } from './support.js';
import { requires } from '../../requires.js';

const PROMETHEUS = '/usr/bin/prometheus';
const BUSY = 'export-busy';
const IDLE = 'export-idle';

interface Prom {
  url: string;
  proc: ChildProcess;
  /** What it wrote to stderr (warnings and errors, such as out-of-order samples refused). */
  log(): string;
  stop(): Promise<void>;
}

async function startPrometheus(dir: string): Promise<Prom> {
  const port = await freePort();
  writeFileSync(join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 1m\nscrape_configs: []\n');
  const proc = spawn(PROMETHEUS, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`, '--web.enable-remote-write-receiver', '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr!.on('data', (c) => (log += c));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`prometheus ready (${log})`, async () => (await fetch(`${url}/-/ready`)).ok || undefined, 30_000, 200);
  return {
    url,
    proc,
    log: () => log,
    stop: () => new Promise((resolve) => (proc.exitCode !== null ? resolve() : (proc.once('exit', () => resolve()), proc.kill('SIGTERM')))),
  };
}

/** Raw samples of `selector` over the last `range` (e.g. "90s"), as [ms, value] per series. */
async function rawSamples(prom: Prom, selector: string, range: string): Promise<Array<[number, number]>> {
  const res = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(`${selector}[${range}]`)}`);
  const body = (await res.json()) as { data: { result: Array<{ values: Array<[number, string]> }> } };
  assert.equal(body.data.result.length, 1, `${selector}: one series`);
  return body.data.result[0].values.map(([t, v]) => [Math.round(t * 1000), Number(v)]);
}

const busyCpuOnMetrics = async (port: number): Promise<number | undefined> => {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = new RegExp(`^container_cpu_usage_seconds_total\\{[^}]*name="${BUSY}"[^}]*\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
};

test('remote_write into the real Prometheus: /metrics values, every second; an outage with an agent restart loses nothing', { skip: requires(existsSync(PROMETHEUS), 'Debian prometheus (scripts/testbed.sh)'), timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cstats-export-it-'));
  const dataDir = join(dir, 'agent');
  const busyId = run(BUSY, ['--cpus', '0.5'], ['sh', '-c', 'while :; do :; done']);
  run(IDLE, [], ['sleep', '3600']);
  const prom = await startPrometheus(dir);
  const port = await freePort();
  let agent = await startExportingAgent(port, dataDir, `${prom.url}/api/v1/write`);
  t.after(async () => {
    prom.proc.kill('SIGCONT');
    await agent.stop();
    await prom.stop();
    docker('rm', '-f', BUSY, IDLE);
    rmSync(dir, { recursive: true, force: true });
  });

  // 1. The values: what /metrics shows at each tick (read 5 times a tick) is what Prometheus stores.
  const seen = new Set<number>();
  const t0 = Date.now();
  while (Date.now() - t0 < 15_000) {
    const v = await busyCpuOnMetrics(port);
    if (v !== undefined) seen.add(v);
    await sleep(200);
  }
  const samples = await waitFor('busy container in Prometheus', async () => {
    const s = await rawSamples(prom, `container_cpu_usage_seconds_total{name="${BUSY}",host="itest",cpu="total"}`, '20s').catch(() => undefined);
    return s && s.length >= 12 ? s : undefined;
  }, 10_000, 500);
  const inWindow = samples.filter(([, v]) => v >= Math.min(...seen) && v <= Math.max(...seen));
  const missing = inWindow.filter(([, v]) => !seen.has(v));
  assert.ok(inWindow.length >= 12, `${inWindow.length} samples in the window`);
  assert.ok(missing.length <= 1, `values in Prometheus that /metrics never showed: ${JSON.stringify(missing)}`);
  for (let i = 1; i < inWindow.length; i++) {
    const gap = inWindow[i][0] - inWindow[i - 1][0];
    assert.ok(gap >= 500 && gap <= 1500, `sample spacing ${gap} ms`);
  }
  // The kernel's own figure: cpuacct.usage (ns) read now is past the last exported value by less than 2 s of 0.5 CPU.
  const usage = Number(readFileSync(`/sys/fs/cgroup/cpuacct/docker/${busyId}/cpuacct.usage`, 'utf8')) / 1e9;
  const last = samples[samples.length - 1][1];
  assert.ok(usage >= last && usage - last < 1.5, `cpuacct.usage ${usage} s, last in Prometheus ${last} s`);
  // The idle container is there too, under the same names.
  const idle = await rawSamples(prom, `container_memory_usage_bytes{name="${IDLE}",host="itest"}`, '10s');
  assert.ok(idle.length >= 5);

  // 2. The outage: Prometheus frozen 30 s, the agent restarted after 15 s of it.
  const outageStart = Date.now();
  prom.proc.kill('SIGSTOP');
  await sleep(15_000);
  await agent.stop();
  const firstLog = agent.log();
  agent = await startExportingAgent(port, dataDir, `${prom.url}/api/v1/write`);
  await sleep(15_000);
  const queued = await exportHealth(port);
  assert.ok(queued.queuedBytes > 0 && queued.oldestQueuedAgeSeconds! > 25, `queued across the restart: ${JSON.stringify(queued)}`);
  const backlogSeconds = queued.oldestQueuedAgeSeconds!;
  prom.proc.kill('SIGCONT');
  const resumed = Date.now();
  await waitFor('the backlog drained', async () => ((await exportHealth(port)).queuedBytes === 0 ? true : undefined), 60_000, 100);
  const drainSeconds = (Date.now() - resumed) / 1000;
  const outageEnd = resumed;
  console.log(`remote_write backlog: ${backlogSeconds.toFixed(1)} s of samples drained in ${drainSeconds.toFixed(2)} s: ${(backlogSeconds / drainSeconds).toFixed(1)}x real time (a request of up to 10 ticks at a time, after a 2 s timeout backoff of at most 5 s)`);

  // Every sample the agent took over the outage (its history on disk) is in Prometheus.
  const hist = await agentHistory(port, busyId, outageStart - 2000, outageEnd);
  assert.ok(hist.timestamps.length >= 20, `agent history over the outage: ${hist.timestamps.length} samples (${hist.tier})`);
  const inProm = new Set((await rawSamples(prom, `container_cpu_usage_seconds_total{name="${BUSY}",host="itest",cpu="total"}`, '90s')).map(([ms]) => ms));
  const lost = hist.timestamps.filter((ms) => !inProm.has(ms));
  // Per second over the outage, as Prometheus holds them.
  const perSecond = new Map<number, number>();
  for (const ms of inProm) if (ms >= outageStart && ms < outageEnd) perSecond.set(Math.floor(ms / 1000), (perSecond.get(Math.floor(ms / 1000)) ?? 0) + 1);
  console.log(`outage ${((outageEnd - outageStart) / 1000).toFixed(1)} s: agent took ${hist.timestamps.length} samples of ${BUSY}, Prometheus holds ${[...perSecond.values()].reduce((a, b) => a + b, 0)} in that span over ${perSecond.size} distinct seconds; lost ${lost.length}`);
  const exportLines = (text: string): string => text.split('\n').filter((l) => / export /.test(l)).join('\n');
  assert.deepEqual(lost, [], `samples the agent took that Prometheus lacks; the agents said:\n${exportLines(firstLog + agent.log())}\nPrometheus said:\n${prom.log().slice(-3000)}`);
});
