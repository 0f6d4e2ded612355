/**
 * remote_write into the real VictoriaMetrics (Debian's victoria-metrics): frozen with SIGSTOP for
 * 30 s while the agent is killed with SIGKILL and started again, then resumed: after the backlog
 * drains, VictoriaMetrics holds every sample the agent took (its own history) and the values
 * are /metrics' (the busy container's CPU seconds only grow, one sample a second).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, freePort, run, sleep, waitFor } from '../support.js';
import { requires } from '../../requires.js';
import { agentHistory, exportHealth, startExportingAgent } from './support.js';

const VM = '/usr/bin/victoria-metrics';
const BUSY = 'export-vm-busy';

/** Raw samples of the busy container's CPU seconds through VictoriaMetrics' /api/v1/export. */
async function exported(url: string): Promise<{ timestamps: number[]; values: number[] }> {
  const res = await fetch(`${url}/api/v1/export?match[]=${encodeURIComponent(`container_cpu_usage_seconds_total{name="${BUSY}",host="itest"}`)}`);
  const lines = (await res.text()).split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, 'one series');
  return JSON.parse(lines[0]) as { timestamps: number[]; values: number[] };
}

test('remote_write into the real VictoriaMetrics: frozen 30 s with the agent killed (SIGKILL) and restarted, no sample lost', { skip: requires(existsSync(VM), 'Debian victoria-metrics (scripts/testbed.sh)'), timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cstats-export-vm-'));
  const dataDir = join(dir, 'agent');
  const busyId = run(BUSY, ['--cpus', '0.3'], ['sh', '-c', 'while :; do :; done']);
  const vmPort = await freePort();
  const vm = spawn(VM, [`-storageDataPath=${join(dir, 'vm')}`, `-httpListenAddr=127.0.0.1:${vmPort}`, '-retentionPeriod=1d', '-search.latencyOffset=0s', '-loggerLevel=ERROR'], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${vmPort}`;
  await waitFor('victoria-metrics ready', async () => (await fetch(`${url}/health`)).ok || undefined, 30_000, 200);
  const port = await freePort();
  let agent = await startExportingAgent(port, dataDir, `${url}/api/v1/write`);
  t.after(async () => {
    vm.kill('SIGCONT');
    await agent.stop();
    vm.kill('SIGTERM');
    docker('rm', '-f', BUSY);
    await new Promise((r) => (vm.exitCode !== null ? r(undefined) : vm.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
  });
  await sleep(5000);
  const outageStart = Date.now();
  vm.kill('SIGSTOP');
  await sleep(15_000);
  agent.proc.kill('SIGKILL');
  await new Promise((r) => agent.proc.once('exit', r));
  agent = await startExportingAgent(port, dataDir, `${url}/api/v1/write`);
  await sleep(15_000);
  const queued = await exportHealth(port);
  assert.ok(queued.queuedBytes > 0 && queued.oldestQueuedAgeSeconds! > 25, `queued across the kill: ${JSON.stringify(queued)}`);
  vm.kill('SIGCONT');
  const resumed = Date.now();
  await waitFor('the backlog drained', async () => ((await exportHealth(port)).queuedBytes === 0 ? true : undefined), 60_000, 100);
  const drainSeconds = (Date.now() - resumed) / 1000;
  console.log(`victoria-metrics: ${queued.oldestQueuedAgeSeconds!.toFixed(1)} s of backlog drained in ${drainSeconds.toFixed(2)} s: ${(queued.oldestQueuedAgeSeconds! / drainSeconds).toFixed(1)}x real time`);
  const hist = await agentHistory(port, busyId, outageStart - 3000, resumed);
  assert.ok(hist.timestamps.length >= 20, `agent history: ${hist.timestamps.length} samples`);
  const got = await waitFor('the backlog searchable', async () => {
    const e = await exported(url).catch(() => undefined);
    return e && hist.timestamps.every((ms) => e.timestamps.includes(ms)) ? e : undefined;
  }, 20_000, 500).catch(async () => exported(url));
  const have = new Set(got.timestamps);
  const lost = hist.timestamps.filter((ms) => !have.has(ms));
  console.log(`victoria-metrics: agent took ${hist.timestamps.length} samples over the outage, lost ${lost.length}`);
  assert.deepEqual(lost, [], 'samples the agent took that VictoriaMetrics lacks');
  // Counter values in time order never go back (a resent payload repeats a sample, never reorders one).
  const order = got.timestamps.map((ms, i) => [ms, got.values[i]] as const).sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < order.length; i++) assert.ok(order[i][1] >= order[i - 1][1], `CPU seconds went back at ${order[i][0]}`);
});
