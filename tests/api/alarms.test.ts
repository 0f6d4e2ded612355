/**
 * The alarms REST API over a real HTTP server on loopback: create, list, get, replace, delete,
 * history, errors (bad body naming the alarm, wrong content type, conflicts with rules-file
 * rules, unknown names, methods), and API-made alarms surviving a restart of the engine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { Router, startServer } from '../../src/api/http.js';
import { registerAlarms } from '../../src/api/alarms.js';
import { AlarmEngine } from '../../src/alarms/engine.js';
import { compileRuleSet } from '../../src/alarms/rulefile.js';
import { createLogger } from '../../src/log.js';
import { Store } from '../../src/store/store.js';
import { DataDir } from '../../src/store/datadir.js';

async function serve(engine: AlarmEngine): Promise<{ server: Server; url: string }> {
  const router = new Router();
  registerAlarms(router, engine, new Store(10, 60_000));
  const server = await startServer(router, '127.0.0.1:0');
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

const engineOn = (dataDir: string): AlarmEngine =>
  new AlarmEngine({
    store: new Store(10, 60_000),
    log: createLogger(() => undefined),
    intervalMs: 1000,
    labelAllowlist: [],
    dataDir,
    rules: compileRuleSet({ groups: [{ name: 'g', rules: [{ alert: 'FromFile', expr: 'cstats_pids > 100' }] }] }),
  });

test('alarms API: CRUD, history, errors, and API alarms kept across a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cs13-api-'));
  const { server, url } = await serve(engineOn(dir));
  t.after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const call = async (method: string, path: string, body?: unknown, type = 'application/json') => {
    const res = await fetch(url + path, { method, headers: body === undefined ? {} : { 'Content-Type': type }, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  };
  const alarm = { name: 'web-cpu', metric: 'cpu_limit_percent', selector: { namePattern: 'web-*' }, window: '30s', threshold: 90, actions: { alarm: ['log://'] } };
  const created = await call('POST', '/api/v1/alarms', alarm);
  assert.equal(created.status, 201);
  assert.equal(created.headers.get('location'), '/api/v1/alarms/web-cpu');
  assert.equal(created.body.origin, 'api');
  assert.equal(created.body.state, 'insufficient data');
  assert.equal(created.body.expr, 'max by (id, name) (avg_over_time(cstats_cpu_limit_percent{name=~"web-.*"}[30s])) > 90');
  assert.equal(created.body.definition.severity, 'low');
  assert.equal((await call('POST', '/api/v1/alarms', alarm)).status, 409);
  const list = await call('GET', '/api/v1/alarms');
  assert.deepEqual(list.body.map((a: any) => a.name).sort(), ['ContainerExitedNonZero', 'ContainerOOMKilled', 'ContainerRestartLoop', 'FromFile', 'web-cpu']);
  assert.equal((await call('GET', '/api/v1/alarms/web-cpu')).body.definition.threshold, 90);
  const replaced = await call('PUT', '/api/v1/alarms/web-cpu', { ...alarm, threshold: 75, comparison: 'ge' });
  assert.equal(replaced.status, 200);
  assert.match(replaced.body.expr, / >= 75$/);
  // Errors.
  const bad = await call('POST', '/api/v1/alarms', { ...alarm, name: 'bad-one', metric: 'nope' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error, /^alarm "bad-one": metric: unknown metric "nope"/);
  assert.equal((await call('POST', '/api/v1/alarms', '{"name":', 'application/json')).status, 400);
  assert.equal((await call('POST', '/api/v1/alarms', 'name=x', 'application/x-www-form-urlencoded')).status, 415);
  assert.equal((await call('PUT', '/api/v1/alarms/FromFile', { ...alarm, name: 'FromFile' })).status, 409);
  assert.equal((await call('DELETE', '/api/v1/alarms/ContainerOOMKilled')).status, 409);
  assert.equal((await call('PUT', '/api/v1/alarms/ghost', { ...alarm, name: 'ghost' })).status, 404);
  assert.equal((await call('PUT', '/api/v1/alarms/web-cpu', { ...alarm, name: 'other' })).status, 400);
  const wrongMethod = await call('DELETE', '/api/v1/alarms');
  assert.equal(wrongMethod.status, 405);
  assert.equal(wrongMethod.headers.get('allow'), 'GET, HEAD, POST');
  assert.deepEqual((await call('GET', '/api/v1/alarms/web-cpu/history')).body, []);
  assert.equal((await call('GET', '/api/v1/alarms/ghost/history')).status, 404);
  assert.deepEqual((await call('GET', '/api/v1/alerts')).body, []);
  // A new engine on the same data directory has the API alarm, as replaced.
  const again = await serve(engineOn(dir));
  try {
    const kept = await fetch(`${again.url}/api/v1/alarms/web-cpu`).then((r) => r.json() as Promise<any>);
    assert.equal(kept.definition.threshold, 75);
    assert.equal(kept.origin, 'api');
  } finally {
    again.server.close();
  }
  assert.equal((await call('DELETE', '/api/v1/alarms/web-cpu')).status, 204);
  assert.equal((await call('GET', '/api/v1/alarms/web-cpu')).status, 404);
  assert.equal((await call('DELETE', '/api/v1/alarms/web-cpu')).status, 404);
});

test('alarms API: a data directory another agent took answers 503 with why, and nothing changes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cs13-api-lock-'));
  const dataDir = DataDir.open(dir, createLogger(() => undefined));
  const engine = new AlarmEngine({ store: new Store(10, 60_000), log: createLogger(() => undefined), intervalMs: 1000, labelAllowlist: [], dataDir: dir, lockCheck: () => dataDir.assertHeld() });
  const { server, url } = await serve(engine);
  t.after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const alarm = { name: 'web-cpu', metric: 'cpu_limit_percent', window: '30s', threshold: 90, actions: { alarm: ['log://'] } };
  const post = (name: string) => fetch(`${url}/api/v1/alarms`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ...alarm, name }) });
  assert.equal((await post('web-cpu')).status, 201);
  writeFileSync(join(dir, 'LOCK'), '4194303\nhost elsewhere\nrenew-ms 10000\n');
  const refused = await post('web-mem').then(async (r) => ({ status: r.status, body: (await r.json()) as { error: string } }));
  assert.equal(refused.status, 503);
  assert.match(refused.body.error, /LOCK no longer names this agent/);
  assert.equal((await fetch(`${url}/api/v1/alarms/web-cpu`, { method: 'DELETE' })).status, 503);
  assert.equal((await fetch(`${url}/api/v1/alarms/web-cpu`)).status, 200, 'still there');
  assert.equal((await fetch(`${url}/api/v1/alarms/web-mem`)).status, 404, 'not made');
});
