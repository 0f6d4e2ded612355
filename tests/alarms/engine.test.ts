/**
 * The engine over a store fed by hand (no containers needed): aodh's states and actions per
 * state with a real HTTP receiver, exec actions run for real, bounded retries counted, state
 * surviving a restart (pending `for` resumed, no second notification), a damaged state file,
 * and removal ending a container's alerts with a reason.
 */
import { noRates } from '../../src/derive/rates.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../src/store/store.js';
import { eventContainer } from '../../src/store/lifecycle.js';
import type { ContainerInfo, Derived, Sample } from '../../src/model.js';
import { AlarmEngine } from '../../src/alarms/engine.js';
import { Dispatcher } from '../../src/alarms/actions.js';
import { compileRuleSet } from '../../src/alarms/rulefile.js';
import { createLogger } from '../../src/log.js';
import { DataDir } from '../../src/store/datadir.js';

function info(name: string): ContainerInfo {
  return { id: name.padEnd(64, '0'), name, runtime: 'docker', image: 'busybox', labels: { 'com.docker.compose.project': 'shop' }, state: 'running', cgroup: { version: 2, path: `/docker/${name}`, dir: '/' }, network: { kind: 'unknown' }, createdMs: 0, mounts: [] };
}

function derived(memory: number): Derived {
  return { cpuPercent: 0, cpuCores: 0, memoryUsageBytes: memory, memoryLimitBytes: 1000, memoryPercent: memory / 10, workingSetBytes: memory, netRxBytes: 0, netTxBytes: 0, blockReadBytes: 0, blockWriteBytes: 0, pids: 1, rates: noRates() };
}

interface Receiver {
  url: string;
  bodies: any[];
  /** Statuses to answer with, in order; 200 once used up. */
  statuses: number[];
  server: Server;
}

async function receiver(): Promise<Receiver> {
  const r: Receiver = { url: '', bodies: [], statuses: [], server: undefined as unknown as Server };
  r.server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const status = r.statuses.shift() ?? 200;
      if (status === 200) r.bodies.push(JSON.parse(body));
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(r.server.address() as { port: number }).port}/hook`;
  return r;
}

const until = async (what: string, fn: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

class World {
  store = new Store(100, 60_000);
  lines: string[] = [];
  log = createLogger((l) => this.lines.push(l));
  engine!: AlarmEngine;
  constructor(
    readonly rules: unknown,
    readonly dataDir: string | undefined,
    readonly lockCheck?: () => void,
  ) {
    this.start();
  }
  start(): void {
    const rules = compileRuleSet(this.rules);
    assert.deepEqual(rules.errors, []);
    this.engine = new AlarmEngine({
      store: this.store,
      log: this.log,
      intervalMs: 1000,
      labelAllowlist: [],
      dataDir: this.dataDir,
      lockCheck: this.lockCheck,
      rules,
      dispatcher: new Dispatcher(this.log, { attempts: 3, backoffMs: 10, timeoutMs: 1000, queueLimit: 100 }),
    });
  }
  /** One tick at `t` with these memory figures per container. */
  tick(t: number, memory: Record<string, number>): void {
    for (const [name, m] of Object.entries(memory)) {
      const i = info(name);
      if (!this.store.get(i.id)) this.store.upsert(i);
      const s: Sample = { timestampMs: t, monoNs: BigInt(t) * 1_000_000n, cgroup: {}, systemCpuNs: 0n, onlineCpus: 1 };
      this.store.record(i.id, s, derived(m));
    }
    this.engine.evaluate(t);
  }
}

test('threshold alarm: insufficient data -> ok -> alarm -> ok, aodh bodies to a real webhook, history', async (t) => {
  const hook = await receiver();
  t.after(() => hook.server.close());
  const w = new World(
    {
      actions: { hook: { type: 'webhook', url: hook.url } },
      alarms: [
        {
          name: 'shop-memory',
          metric: 'memory_usage_bytes',
          selector: { composeProject: 'shop', namePattern: 'web-*' },
          aggregation: 'max',
          window: '3s',
          evaluationPeriods: 2,
          comparison: 'gt',
          threshold: 500,
          severity: 'critical',
          actions: { alarm: ['hook'], ok: ['hook'], insufficientData: ['hook'] },
        },
      ],
    },
    undefined,
  );
  const T = 1_700_000_000_000;
  w.tick(T, { 'web-1': 100, 'db-1': 900 });
  await until('ok notification', () => hook.bodies.length === 1);
  assert.deepEqual(Object.keys(hook.bodies[0]).sort(), ['alarm_id', 'alarm_name', 'current', 'previous', 'reason', 'reason_data', 'severity']);
  assert.equal(hook.bodies[0].alarm_name, 'shop-memory');
  assert.equal(hook.bodies[0].previous, 'insufficient data');
  assert.equal(hook.bodies[0].current, 'ok');
  assert.equal(hook.bodies[0].severity, 'critical');
  // Crossing: max over 3 s is over at T+1000; evaluation periods 2 = held for one more window (3 s).
  w.tick(T + 1000, { 'web-1': 600, 'db-1': 900 });
  w.tick(T + 2000, { 'web-1': 600 });
  w.tick(T + 3000, { 'web-1': 600 });
  assert.equal(w.engine.get('shop-memory')!.instances[0].state, 'pending');
  w.tick(T + 4000, { 'web-1': 600 });
  assert.equal(w.engine.get('shop-memory')!.state, 'alarm');
  await until('alarm notification', () => hook.bodies.length === 2);
  assert.equal(hook.bodies[1].previous, 'ok');
  assert.equal(hook.bodies[1].current, 'alarm');
  assert.deepEqual(hook.bodies[1].reason_data, { type: 'threshold', disposition: 'outside', count: 1, most_recent: 600 });
  assert.equal(hook.bodies[1].alarm_id, hook.bodies[0].alarm_id);
  // Back under for a whole window: ok again.
  for (let i = 5; i <= 8; i++) w.tick(T + i * 1000, { 'web-1': 100 });
  await until('ok notification', () => hook.bodies.length === 3);
  assert.equal(hook.bodies[2].current, 'ok');
  // No samples for longer than the window: insufficient data.
  w.engine.evaluate(T + 13_000);
  await until('insufficient data', () => hook.bodies.length === 4);
  assert.equal(hook.bodies[3].current, 'insufficient data');
  const history = w.engine.history('shop-memory')!;
  assert.deepEqual(
    history.map((h) => `${h.previous}->${h.current}`),
    ['insufficient data->ok', 'ok->alarm', 'alarm->ok', 'ok->insufficient data'],
  );
  assert.equal(history[1].time, new Date(T + 4000).toISOString());
  // The db container never matched the selector.
  assert.ok(w.engine.get('shop-memory')!.instances.every((i) => i.labels.name === 'web-1'));
});

test('exec action runs with the alarm in its environment; failures are retried, bounded and counted', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cs13-exec-'));
  const hook = await receiver();
  t.after(() => {
    hook.server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  hook.statuses = [500, 503];
  const out = join(dir, 'env.txt');
  const w = new World(
    {
      actions: {
        run: { type: 'exec', command: ['/bin/sh', '-c', `env | grep ^CSTATS_ | sort > ${out}`] },
        hook: { type: 'webhook', url: hook.url },
        dead: { type: 'webhook', url: 'http://127.0.0.1:1/unreachable' },
      },
      defaults: { actions: ['run', 'hook', 'dead'] },
      groups: [{ name: 'g', rules: [{ alert: 'Big', expr: 'cstats_memory_usage_bytes > 500', labels: { team: 'shop' }, annotations: { summary: '{{ $labels.name }} uses {{ $value }} bytes' } }] }],
    },
    undefined,
  );
  w.tick(1_700_000_000_000, { 'web-1': 700 });
  await until('exec output', () => existsSync(out) && readFileSync(out, 'utf8').includes('CSTATS_ALARM_CURRENT'));
  const env = readFileSync(out, 'utf8');
  assert.match(env, /^CSTATS_ALARM_NAME=Big$/m);
  assert.match(env, /^CSTATS_ALARM_CURRENT=alarm$/m);
  assert.match(env, /^CSTATS_ALARM_PREVIOUS=ok$/m);
  assert.match(env, /^CSTATS_ALARM_VALUE=700$/m);
  assert.match(env, /^CSTATS_LABEL_NAME=web-1$/m);
  assert.match(env, /^CSTATS_LABEL_TEAM=shop$/m);
  assert.match(env, /^CSTATS_ANNOTATION_SUMMARY=web-1 uses 700 bytes$/m);
  // The webhook answered 500 and 503, then took it: two retries, one delivery.
  await until('webhook delivery', () => hook.bodies.length === 1 && w.engine.dispatcher.stats.get(hook.url)?.sent === 1);
  await until('unreachable given up', () => (w.engine.dispatcher.stats.get('http://127.0.0.1:1/unreachable')?.failed ?? 0) === 1);
  const health = w.engine.health();
  assert.equal(health.actions[hook.url].retries, 2);
  assert.equal(health.actions[hook.url].sent, 1);
  assert.equal(health.actions['http://127.0.0.1:1/unreachable'].retries, 2);
  assert.equal(health.actionsFailing, true);
  const metrics = w.engine.metricsText();
  assert.match(metrics, /^cstats_alarm_notifications_failed_total\{action="http:\/\/127\.0\.0\.1:1\/unreachable"\} 1$/m);
  assert.match(metrics, /^cstats_alarm_alerts\{state="firing"\} 1$/m);
});

test('restart: a pending `for` resumes from its activeAt, a firing alarm is not notified again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cs13-state-'));
  const hook = await receiver();
  t.after(() => {
    hook.server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const rules = {
    actions: { hook: { type: 'webhook', url: hook.url } },
    defaults: { actions: ['hook'] },
    groups: [{ name: 'g', rules: [{ alert: 'Big', expr: 'cstats_memory_usage_bytes > 500', for: '10s' }] }],
  };
  const T = 1_700_000_000_000;
  const a = new World(rules, dir);
  a.tick(T, { 'web-1': 700 });
  a.tick(T + 1000, { 'web-1': 700 });
  assert.equal(a.engine.alerts()[0].state, 'pending');
  a.engine.flush();
  // A new agent on the same data directory: the alert stays pending from T, fires at T + 10 s.
  const b = new World(rules, dir);
  b.store = a.store;
  b.start();
  assert.equal(b.engine.alerts()[0].state, 'pending');
  assert.equal(b.engine.alerts()[0].activeAt, new Date(T).toISOString());
  b.tick(T + 9000, { 'web-1': 700 });
  assert.equal(b.engine.alerts()[0].state, 'pending');
  b.tick(T + 10_000, { 'web-1': 700 });
  assert.equal(b.engine.alerts()[0].state, 'firing');
  await until('alarm', () => hook.bodies.length === 1);
  b.engine.flush();
  // Restarted while firing: it goes on firing without a second notification.
  const c = new World(rules, dir);
  c.store = b.store;
  c.start();
  c.tick(T + 11_000, { 'web-1': 700 });
  c.tick(T + 12_000, { 'web-1': 700 });
  assert.equal(c.engine.alerts()[0].state, 'firing');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(hook.bodies.length, 1);
  c.tick(T + 13_000, { 'web-1': 100 });
  await until('ok', () => hook.bodies.length === 2);
  assert.equal(hook.bodies[1].current, 'ok');
  assert.equal(c.engine.history('Big')!.length, 2);
  c.engine.flush();
  // A damaged state file: one clear log line, set aside, the engine starts clean.
  writeFileSync(join(dir, 'alarms', 'state.json'), '{"version":1,"rules":{"Big":');
  const d = new World(rules, dir);
  assert.ok(d.lines.some((l) => /state\.json is damaged .* set aside as .*state\.json\.corrupt, starting clean/.test(l)), d.lines.join('\n'));
  assert.ok(existsSync(join(dir, 'alarms', 'state.json.corrupt')));
  assert.equal(d.engine.history('Big')!.length, 0);
});

test('removal ends the container\'s alerts with a reason and they are not raised again', async () => {
  const w = new World({ groups: [{ name: 'g', rules: [{ alert: 'Busy', expr: 'max_over_time(cstats_memory_usage_bytes[30s]) > 500' }] }] }, undefined);
  const T = 1_700_000_000_000;
  w.tick(T, { 'web-1': 700 });
  assert.equal(w.engine.alerts()[0].state, 'firing');
  const i = w.store.get(info('web-1').id)!.info;
  w.store.markRemoved(i.id, T + 500);
  w.engine.observe({ action: 'destroy', info: eventContainer(i), cgroupPath: i.cgroup.path, timeMs: T + 500, seq: 1 });
  w.engine.evaluate(T + 1000);
  const all = w.engine.get('Busy')!.instances;
  assert.equal(all.length, 1);
  assert.equal(all[0].state, 'inactive');
  assert.equal(all[0].reason, 'container removed');
  assert.equal(w.engine.history('Busy')!.at(-1)!.reason, 'container removed');
  // Its last samples are still inside the 30 s window, yet nothing is raised again.
  w.engine.evaluate(T + 5000);
  assert.equal(w.engine.alerts().length, 0);
});

test('a container seen stopped before it is removed: its alerts end saying so, then removal changes nothing', () => {
  const w = new World({ groups: [{ name: 'g', rules: [{ alert: 'Big', expr: 'cstats_memory_usage_bytes > 500' }] }] }, undefined);
  const T = 1_700_000_000_000;
  w.tick(T, { 'web-1': 700 });
  assert.equal(w.engine.alerts()[0].state, 'firing');
  // `docker rm -f`: killed (die, exit 137) at one tick, its series gone; removed at the next.
  const i = { ...w.store.get(info('web-1').id)!.info, state: 'exited' as const, docker: { exitCode: 137, oomKilled: false } as ContainerInfo['docker'] };
  w.store.upsert(i);
  w.engine.observe({ action: 'die', info: eventContainer(i), cgroupPath: i.cgroup.path, timeMs: T + 500, seq: 1 });
  w.engine.evaluate(T + 1000);
  assert.equal(w.engine.get('Big')!.instances[0].reason, 'container stopped (exit code 137)');
  w.store.markRemoved(i.id, T + 1500);
  w.engine.observe({ action: 'destroy', info: eventContainer(i), cgroupPath: i.cgroup.path, timeMs: T + 1500, seq: 2 });
  w.engine.evaluate(T + 2000);
  assert.deepEqual(w.engine.history('Big')!.map((h) => h.reason), ['condition met', 'container stopped (exit code 137)']);
});

test('lifecycle alarms: OOM (counter or Docker OOMKilled), non-zero exit until restarted, restart loop within its window', () => {
  const w = new World({ lifecycle: { restartLoop: { restarts: 3, window: '1m' }, oomHold: '30s' } }, undefined);
  const T = 1_700_000_000_000;
  const base = info('app');
  const at = (action: 'oom' | 'die' | 'start', ms: number, docker?: { exitCode?: number; oomKilled?: boolean }): void =>
    w.engine.observe({ action, info: { ...eventContainer(base), ...(docker && { exitCode: 0, oomKilled: false, ...docker }) }, cgroupPath: base.cgroup.path, timeMs: ms, seq: 0 });
  const state = (rule: string): string | undefined => w.engine.get(rule)!.instances[0]?.state;
  at('oom', T);
  w.engine.evaluate(T + 100);
  assert.equal(state('ContainerOOMKilled'), 'firing');
  w.engine.evaluate(T + 29_000);
  assert.equal(state('ContainerOOMKilled'), 'firing');
  w.engine.evaluate(T + 30_100);
  assert.equal(state('ContainerOOMKilled'), 'inactive');
  // Three stops and starts within a minute: a loop; exit 1 each time fires the exit alarm, a start clears it.
  for (let i = 0; i < 3; i++) {
    at('die', T + 40_000 + i * 5000, { exitCode: 1 });
    w.engine.evaluate(T + 40_000 + i * 5000 + 100);
    assert.equal(state('ContainerExitedNonZero'), 'firing');
    assert.equal(w.engine.get('ContainerExitedNonZero')!.instances[0].value, 1);
    at('start', T + 41_000 + i * 5000);
    w.engine.evaluate(T + 41_000 + i * 5000 + 100);
    assert.equal(state('ContainerExitedNonZero'), 'inactive');
  }
  assert.equal(state('ContainerRestartLoop'), 'firing');
  assert.equal(w.engine.get('ContainerRestartLoop')!.instances[0].value, 3);
  // The first restart leaves the 1 m window: fewer than 3, resolved.
  w.engine.evaluate(T + 41_000 + 60_001);
  assert.equal(state('ContainerRestartLoop'), 'inactive');
  // A main process killed by the OOM killer stops the container: Docker's OOMKilled raises the alarm.
  at('die', T + 200_000, { exitCode: 137, oomKilled: true });
  w.engine.evaluate(T + 200_100);
  assert.equal(state('ContainerOOMKilled'), 'firing');
  assert.equal(w.engine.get('ContainerExitedNonZero')!.instances[0].value, 137);
});

test('a data directory another agent took: alarm states and API alarms are no longer written there', (t) => {
  const path = mkdtempSync(join(tmpdir(), 'cs13-lock-'));
  t.after(() => rmSync(path, { recursive: true, force: true }));
  const dataDir = DataDir.open(path, createLogger(() => {}));
  const rules = { groups: [{ name: 'g', rules: [{ alert: 'Big', expr: 'cstats_memory_usage_bytes > 500', for: '10s' }] }] };
  const w = new World(rules, path, () => dataDir.assertHeld());
  const T = 1_700_000_000_000;
  w.tick(T, { 'web-1': 700 });
  w.engine.flush();
  const state = join(path, 'alarms', 'state.json');
  assert.match(readFileSync(state, 'utf8'), /"Big"/);
  // Another agent's LOCK (the directory was taken over while this one was stopped, say).
  writeFileSync(join(path, 'LOCK'), '4194303\nhost elsewhere\nrenew-ms 10000\n');
  const before = readFileSync(state, 'utf8');
  w.tick(T + 1000, { 'web-1': 100 });
  w.engine.flush();
  assert.equal(readFileSync(state, 'utf8'), before, 'state.json left as it was');
  assert.ok(w.lines.some((l) => /cannot save alarm state: .*LOCK no longer names this agent/.test(l)), w.lines.join('\n'));
  assert.throws(() => w.engine.put({ name: 'mem', metric: 'memory_usage_bytes', window: '30s', threshold: 1, actions: { alarm: ['log://'] } }, undefined), /LOCK no longer names this agent/);
  assert.ok(!existsSync(join(path, 'alarms', 'alarms.json')), 'no API alarm file written');
  assert.equal(w.engine.list().some((a) => a.name === 'mem'), false, 'and no alarm made');
});
