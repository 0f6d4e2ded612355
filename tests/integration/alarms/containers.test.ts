/**
 * Alarms against real parts: real containers (busybox:local), a real agent with a rules file,
 * Debian's Alertmanager on loopback (its own storage dir), a webhook receiver in the test and an
 * exec action. A `--cpus 0.5` busy loop trips a CPU-of-limit Prometheus rule and a threshold
 * alarm; a container in `-m 32m` allocating past it trips the OOM alarm; one exiting 3 trips the
 * exit alarm; removing the busy one resolves its alarms with the reason; the agent restarted while
 * one alert is pending and one fires resumes both without a second notification. Alertmanager
 * passes the alerts and their resolution on to the test's receiver.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { docker, freePort, run, sleep, startAgent, waitFor, type AgentProcess } from '../support.js';

const NAMES = ['cs13-busy', 'cs13-oom', 'cs13-exit3'];

interface Received {
  path: string;
  body: any;
  atMs: number;
}

test('alarms on real containers, Alertmanager, webhook and exec; agent restarts', { timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cs13-int-'));
  const received: Received[] = [];
  const hook = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: JSON.parse(body), atMs: Date.now() });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}`;
  const amPort = await freePort();
  writeFileSync(
    join(dir, 'am.yml'),
    stringify({
      route: { receiver: 'test', group_by: ['alertname', 'name'], group_wait: '1s', group_interval: '1s', repeat_interval: '1h' },
      receivers: [{ name: 'test', webhook_configs: [{ url: `${hookUrl}/am`, send_resolved: true }] }],
    }),
  );
  const am: ChildProcess = spawn(
    'prometheus-alertmanager',
    [`--config.file=${join(dir, 'am.yml')}`, `--storage.path=${join(dir, 'cs13-am-data')}`, `--web.listen-address=127.0.0.1:${amPort}`, '--cluster.listen-address='],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let amLog = '';
  am.stderr!.on('data', (d) => (amLog += d));
  const execLog = join(dir, 'exec.log');
  const rulesFile = join(dir, 'rules.yml');
  writeFileSync(
    rulesFile,
    stringify({
      actions: {
        am: { type: 'alertmanager', url: `http://127.0.0.1:${amPort}` },
        hook: { type: 'webhook', url: `${hookUrl}/aodh` },
        run: { type: 'exec', command: ['/bin/sh', '-c', `echo "$CSTATS_ALARM_NAME $CSTATS_ALARM_CURRENT $CSTATS_LABEL_NAME $CSTATS_ALARM_VALUE" >> ${execLog}`] },
      },
      defaults: { actions: ['am', 'hook', 'run'], resendDelay: '2s' },
      groups: [
        {
          name: 'cs13',
          rules: [
            {
              alert: 'CpuOfLimit',
              expr: 'sum by (id, name) (rate(container_cpu_usage_seconds_total{name=~"cs13-.*"}[5s])) / on (id, name) (container_spec_cpu_quota / container_spec_cpu_period) > 0.3',
              for: '2s',
              annotations: { summary: '{{ $labels.name }} at {{ $value | humanizePercentage }} of its CPU limit' },
            },
            { alert: 'CpuOfLimitSlow', expr: 'rate(container_cpu_usage_seconds_total{name="cs13-busy"}[5s]) > 0.1', for: '25s' },
          ],
        },
      ],
      alarms: [
        {
          name: 'cs13-cpu-threshold',
          metric: 'cpu_limit_percent',
          selector: { namePattern: 'cs13-*', labels: { 'cstats.test': '1' } },
          aggregation: 'mean',
          window: '3s',
          comparison: 'gt',
          threshold: 30,
          severity: 'moderate',
          actions: { alarm: ['hook'], ok: ['hook'] },
        },
      ],
    }),
  );
  let agent: AgentProcess | undefined;
  const agentArgs = ['--no-cgroups', '--rules', rulesFile, '--data-dir', join(dir, 'data')];
  t.after(async () => {
    await agent?.stop();
    for (const n of NAMES) docker('rm', '-f', n);
    am.kill('SIGTERM');
    hook.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await waitFor('alertmanager', async () => (await fetch(`http://127.0.0.1:${amPort}/-/ready`)).ok || undefined, 20_000).catch((err) => {
    throw new Error(`${(err as Error).message}\n${amLog}`);
  });
  agent = await startAgent(agentArgs);
  const a = agent;
  const alerts = () => a.get<any[]>('/api/v1/alerts');
  const aodh = (name: string) => received.filter((r) => r.path === '/aodh' && r.body.alarm_name === name);

  // 1. A busy loop under --cpus 0.5 trips the CPU-of-limit rule and the threshold alarm.
  const busyStarted = Date.now();
  // On a quiet machine the loop runs at its quota (CPU of limit about 1); on a machine shared with
  // other test runs it was seen at 0.4, so the rule fires from 0.3 and the value is bounded by 1.
  run('cs13-busy', ['--cpus', '0.5', '--cpu-shares', '8192'], ['sh', '-c', 'while :; do :; done']);
  const firing = await waitFor('CpuOfLimit firing', async () => (await alerts()).find((x) => x.alarm === 'CpuOfLimit' && x.state === 'firing' && x.labels.name === 'cs13-busy'), 60_000, 200).catch(async (err) => {
    throw new Error(`${(err as Error).message}\nalerts: ${JSON.stringify(await alerts())}\nagent log:\n${a.log().slice(-4000)}`);
  });
  assert.ok(firing.value > 0.3 && firing.value < 1.1, `CPU of limit ${firing.value}`);
  assert.match(firing.annotations.summary, /^cs13-busy at \d+(\.\d+)?% of its CPU limit$/);
  await waitFor('threshold alarm', () => aodh('cs13-cpu-threshold').find((r) => r.body.current === 'alarm'), 20_000, 200);
  const thr = aodh('cs13-cpu-threshold').find((r) => r.body.current === 'alarm')!.body;
  assert.equal(thr.severity, 'moderate');
  assert.equal(thr.reason_data.type, 'threshold');
  // The first evaluation's 3 s window may hold one or two ticks: a 1 s tick spans 10 or 11 of
  // CFS's 100 ms periods, each with the loop's whole quota, and on a loaded host the counter's
  // read lags its timestamp by up to a tick's share more (115 % seen in CI): a loose upper bound.
  assert.ok(thr.reason_data.most_recent > 30 && thr.reason_data.most_recent <= 150, String(thr.reason_data.most_recent));
  // Alertmanager got it and passed it on.
  await waitFor('alertmanager notification', () => received.find((r) => r.path === '/am' && r.body.status === 'firing' && r.body.alerts.some((x: any) => x.labels.alertname === 'CpuOfLimit' && x.labels.name === 'cs13-busy')), 20_000, 200);
  const amAlerts = (await (await fetch(`http://127.0.0.1:${amPort}/api/v2/alerts`)).json()) as any[];
  assert.ok(amAlerts.some((x) => x.labels.alertname === 'CpuOfLimit' && x.labels.name === 'cs13-busy' && x.status.state === 'active'));
  await waitFor('exec action', () => existsSync(execLog) && readFileSync(execLog, 'utf8').includes('CpuOfLimit alarm cs13-busy') || undefined, 10_000);
  console.log(`# busy loop -> CpuOfLimit firing after ${(Date.parse(firing.firedAt) - busyStarted) / 1000}s (rate over 5s, for 2s), at ${firing.value.toFixed(2)} of its limit`);

  // 2. Restart the agent while CpuOfLimit fires and CpuOfLimitSlow (for 25s) is pending.
  const pending = await waitFor('CpuOfLimitSlow pending', async () => (await alerts()).find((x) => x.alarm === 'CpuOfLimitSlow' && x.state === 'pending'), 20_000, 200);
  const alarmsBefore = aodh('CpuOfLimit').filter((r) => r.body.current === 'alarm').length;
  assert.equal(alarmsBefore, 1);
  await agent.stop();
  agent = await startAgent(agentArgs);
  const b = agent;
  const alertsB = () => b.get<any[]>('/api/v1/alerts');
  const resumed = await alertsB();
  assert.equal(resumed.find((x) => x.alarm === 'CpuOfLimit')?.state, 'firing', JSON.stringify(resumed));
  const slow = resumed.find((x) => x.alarm === 'CpuOfLimitSlow');
  assert.equal(slow?.activeAt, pending.activeAt, 'pending alert keeps its activeAt across the restart');
  const slowFired = await waitFor('CpuOfLimitSlow firing', async () => (await alertsB()).find((x) => x.alarm === 'CpuOfLimitSlow' && x.state === 'firing'), 40_000, 200);
  const heldMs = Date.parse(slowFired.firedAt) - Date.parse(pending.activeAt);
  assert.ok(heldMs >= 25_000 && heldMs < 29_000, `fired ${heldMs} ms after activeAt (for: 25s, counted across the restart)`);
  await sleep(3000);
  assert.equal(aodh('CpuOfLimit').filter((r) => r.body.current === 'alarm').length, 1, 'no second notification after the restart');

  // 3. Removal resolves the busy container's alarms with the reason. `docker rm -f` kills it
  // first: a tick that sees it dead before the removal ends the alert as stopped (SIGKILL: 137).
  docker('rm', '-f', 'cs13-busy');
  const ended = /^container (removed|stopped \(exit code 137\))$/;
  await waitFor('CpuOfLimit resolved', () => aodh('CpuOfLimit').find((r) => r.body.current === 'ok'), 15_000, 200);
  assert.match(aodh('CpuOfLimit').find((r) => r.body.current === 'ok')!.body.reason, ended);
  const rule = await b.get<any>('/api/v1/alarms/CpuOfLimit');
  assert.match(rule.instances.find((i: any) => i.labels.name === 'cs13-busy')?.reason, ended);
  await waitFor('alertmanager resolution', () => received.find((r) => r.path === '/am' && r.body.status === 'resolved' && r.body.alerts.some((x: any) => x.labels.alertname === 'CpuOfLimit' && x.labels.name === 'cs13-busy')), 20_000, 200);
  const history = (await b.get<any[]>('/api/v1/alarms/cs13-cpu-threshold/history')).filter((h) => h.instance.name === 'cs13-busy');
  assert.deepEqual(history.slice(-2).map((h) => [h.previous, h.current, h.reason]), [
    [history.at(-2).previous, 'alarm', 'condition met'],
    ['alarm', 'ok', 'container removed'],
  ]);

  // 4. OOM kill under -m 32m; 5. exit 3.
  run('cs13-oom', ['-m', '32m', '--memory-swap', '32m'], ['sh', '-c', 'x=aaaaaaaaaaaaaaaa; while :; do x="$x$x"; done']);
  run('cs13-exit3', [], ['sh', '-c', 'sleep 2; exit 3']);
  const oom = await waitFor('ContainerOOMKilled', async () => (await alertsB()).find((x) => x.alarm === 'ContainerOOMKilled' && x.labels.name === 'cs13-oom'), 60_000, 200).catch((err) => {
    throw new Error(`${(err as Error).message}; cs13-oom: ${docker('inspect', '-f', '{{.State.Status}} {{.State.ExitCode}} OOMKilled={{.State.OOMKilled}}', 'cs13-oom')}\n${b.log().split('\n').slice(-15).join('\n')}`);
  });
  assert.equal(oom.state, 'firing');
  assert.equal(docker('inspect', '-f', '{{.State.OOMKilled}}', 'cs13-oom'), 'true');
  const exit = await waitFor('ContainerExitedNonZero', async () => (await alertsB()).find((x) => x.alarm === 'ContainerExitedNonZero' && x.labels.name === 'cs13-exit3'), 30_000, 200);
  assert.equal(exit.value, 3);
  assert.equal(docker('inspect', '-f', '{{.State.ExitCode}}', 'cs13-exit3'), '3');
  await waitFor('lifecycle alarms at Alertmanager', () => received.find((r) => r.path === '/am' && r.body.alerts.some((x: any) => x.labels.alertname === 'ContainerExitedNonZero' && x.labels.name === 'cs13-exit3')), 20_000, 200);
  docker('rm', '-f', 'cs13-exit3');
  await waitFor('exit alarm resolved by removal', () => aodh('ContainerExitedNonZero').find((r) => r.body.current === 'ok' && r.body.reason === 'container removed'), 15_000, 200);
  const health = await b.get<any>('/healthz');
  assert.equal(health.alarms.actionsFailing, false, JSON.stringify(health.alarms.actions));
  assert.ok(health.alarms.actions[`alertmanager+http://127.0.0.1:${amPort}`].sent > 0);
});
