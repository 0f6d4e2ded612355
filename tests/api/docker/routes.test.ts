/**
 * The Docker-compatible surface over real HTTP, in process: version prefixes, ping headers,
 * Docker-style refusals of every write and of endpoints it does not serve, stats answered at
 * once or streamed per tick, and events. The rest of the agent's routes keep their behaviour.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, type Server } from 'node:http';
import { Router, startServer, sendJson } from '../../../src/api/http.js';
import { registerDockerCompat } from '../../../src/api/docker/index.js';
import { LifecycleLog } from '../../../src/store/lifecycle.js';
import { derive } from '../../../src/derive/index.js';
import { Store } from '../../../src/store/store.js';
import type { ContainerInfo, HostSample, Sample } from '../../../src/model.js';
import { parseExact } from './exact-json.js';

const ID = '1'.repeat(64);
const store = new Store(10, 60_000);
const tickListeners = new Set<() => void>();
const ticks = { onTick: (l: () => void) => (tickListeners.add(l), () => tickListeners.delete(l)) };
const lifecycle = new LifecycleLog(store);
let server: Server;
let base: string;
let usageNs = 1_000_000_000n;
let systemNs = 500_000_000_000n;

function info(id: string, name: string, state: ContainerInfo['state']): ContainerInfo {
  return { id, name, runtime: 'docker', image: 'busybox:local', labels: { app: 'web' }, state, cgroup: { version: 1, path: `/docker/${id}`, dirs: {} }, network: { kind: 'unknown' }, createdMs: 1000, startedMs: 2000, mounts: [] };
}

/** One collector tick: a sample 0.5 CPU busier for every running container, then the listeners. */
function tick(): void {
  usageNs += 500_000_000n;
  systemNs += 2_000_000_000n;
  const host = { timestampMs: Date.now(), monoNs: 0n, stat: { total: {}, perCpu: new Map([[0, {}], [1, {}]]) }, meminfo: new Map([['MemTotal', 8n << 30n]]), disks: [], network: [], filesystems: [] };
  store.recordHost(host as unknown as HostSample);
  for (const e of store.list(false)) {
    if (e.info.state !== 'running') continue;
    const s: Sample = { timestampMs: Date.now(), monoNs: 0n, systemCpuNs: systemNs, onlineCpus: 2, cgroup: { cpu: { usageNs, userNs: 0n, systemNs: 0n }, memory: { usageBytes: 4096n, limitBytes: null, stat: {} } } };
    store.record(e.info.id, s, derive(e.latest, s, 8n << 30n));
  }
  lifecycle.observe();
  for (const l of tickListeners) l();
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(method: string, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(base + path, { method }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens a streaming GET and collects its JSON lines. */
function openStream(path: string): Promise<{ lines: any[]; ended: Promise<void>; close: () => void }> {
  return new Promise((resolve, reject) => {
    const lines: any[] = [];
    const req = request(base + path, (res) => {
      let pending = '';
      const ended = new Promise<void>((done) => res.on('end', done).on('close', done));
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        pending += c;
        for (let nl; (nl = pending.indexOf('\n')) >= 0; pending = pending.slice(nl + 1)) lines.push(parseExact(pending.slice(0, nl)));
      });
      resolve({ lines, ended, close: () => req.destroy() });
    });
    req.on('error', (err) => (err.message === 'socket hang up' ? undefined : reject(err)));
    req.end();
  });
}

const settle = () => new Promise((r) => setTimeout(r, 50));

before(async () => {
  store.upsert(info(ID, 'web', 'running'));
  tick();
  tick();
  const router = new Router();
  router.get(/^\/api\/v1\/containers\/?$/, ({ res }) => sendJson(res, 200, []));
  registerDockerCompat(router, { store, collector: ticks, lifecycle, cgroupVersion: 1, intervalMs: 1000 });
  server = await startServer(router, '127.0.0.1:0');
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

test('/_ping answers HEAD and GET under any version with the headers the CLI negotiates from', async () => {
  for (const [method, path] of [['HEAD', '/_ping'], ['GET', '/v1.44/_ping'], ['GET', '/v1.24/_ping']]) {
    const r = await call(method, path);
    assert.equal(r.status, 200, path);
    assert.equal(r.headers['api-version'], '1.44');
    assert.equal(r.headers['ostype'], 'linux');
    assert.equal(r.headers['docker-experimental'], 'false');
    assert.equal(r.body, method === 'HEAD' ? '' : 'OK');
  }
});

test('a client newer or older than the API gets Docker\'s version error', async () => {
  const newer = await call('GET', '/v1.99/version');
  assert.equal(newer.status, 400);
  assert.deepEqual(JSON.parse(newer.body), { message: 'client version 1.99 is too new. Maximum supported API version is 1.44' });
  const older = await call('GET', '/v1.12/containers/json');
  assert.equal(older.status, 400);
  assert.match(JSON.parse(older.body).message, /client version 1\.12 is too old\. Minimum supported API version is 1\.24/);
});

test('every write is refused with a Docker-style error, and nothing changes', async () => {
  const writes: Array<[string, string]> = [
    ['POST', '/v1.44/containers/create?name=x'],
    ['POST', `/v1.44/containers/${ID}/start`],
    ['POST', `/containers/${ID}/stop`],
    ['POST', `/v1.44/containers/${ID}/exec`],
    ['POST', '/v1.44/exec/abc/start'],
    ['DELETE', `/v1.44/containers/${ID}?force=1`],
    ['POST', `/v1.44/containers/${ID}/json`],
    ['PUT', '/v1.44/containers/x/archive'],
    ['POST', '/build'],
  ];
  for (const [method, path] of writes) {
    const r = await call(method, path);
    assert.equal(r.status, 403, `${method} ${path}`);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['api-version'], '1.44');
    assert.match(JSON.parse(r.body).message, /^cstats serves a read-only Docker API: .* is refused/);
  }
  assert.deepEqual(store.list(true).map((e) => [e.info.id, e.info.state]), [[ID, 'running']]);
});

test('endpoints it does not serve get 501 with the list of those it does; other surfaces keep their errors', async () => {
  const images = await call('GET', '/v1.44/images/json');
  assert.equal(images.status, 501);
  assert.match(JSON.parse(images.body).message, /cstats does not serve GET \/v1\.44\/images\/json: .*\/containers\/\{id\}\/stats/);
  const restWrite = await call('POST', '/api/v1/containers');
  assert.equal(restWrite.status, 405);
  assert.deepEqual(Object.keys(JSON.parse(restWrite.body)), ['error']);
  const unknown = await call('GET', '/nothing-here');
  assert.equal(unknown.status, 404);
  assert.deepEqual(Object.keys(JSON.parse(unknown.body)), ['error']);
});

test('non-streaming stats answer at once with precpu_stats from the previous sample; one-shot without', async () => {
  const t0 = performance.now();
  const r = await call('GET', `/v1.44/containers/web/stats?stream=false`);
  const ms = performance.now() - t0;
  assert.equal(r.status, 200);
  const body = parseExact(r.body);
  assert.ok(ms < 200, `${ms} ms`);
  assert.equal(body.id, ID);
  assert.equal(body.name, '/web');
  assert.equal(body.cpu_stats.cpu_usage.total_usage - body.precpu_stats.cpu_usage.total_usage, 500_000_000);
  assert.equal(body.cpu_stats.system_cpu_usage - body.precpu_stats.system_cpu_usage, 2_000_000_000);
  const oneShot = parseExact((await call('GET', `/containers/${ID.slice(0, 12)}/stats?stream=0&one-shot=1`)).body);
  assert.equal(oneShot.precpu_stats.system_cpu_usage, undefined);
  assert.equal(oneShot.preread, '0001-01-01T00:00:00Z');
  const missing = await call('GET', '/v1.44/containers/nope/stats?stream=0');
  assert.equal(missing.status, 404);
  assert.deepEqual(JSON.parse(missing.body), { message: 'No such container: nope' });
});

test('streamed stats: a frame at once, one per tick, empty frames once stopped, the end when removed', async () => {
  const s = await openStream(`/v1.44/containers/${ID}/stats`);
  await settle();
  assert.equal(s.lines.length, 1);
  tick();
  await settle();
  assert.equal(s.lines.length, 2);
  assert.equal(s.lines[1].precpu_stats.cpu_usage.total_usage, s.lines[0].cpu_stats.cpu_usage.total_usage, 'precpu is the frame before');
  store.upsert(info(ID, 'web', 'exited'));
  tick();
  await settle();
  assert.equal(s.lines.length, 3);
  assert.equal(s.lines[2].read, '0001-01-01T00:00:00Z');
  store.markRemoved(ID, Date.now());
  tick();
  await s.ended;
  assert.equal(s.lines.length, 3);
});

test('events: container lifecycle as Engine API messages, filtered, live and from the log', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  const all = await openStream(`/v1.44/events?filters=${encodeURIComponent('{"type":["container"]}')}`);
  const images = await openStream(`/v1.44/events?filters=${encodeURIComponent('{"type":{"image":true}}')}`);
  await settle();
  const id2 = '2'.repeat(64);
  store.upsert(info(id2, 'api', 'running'));
  tick();
  await settle();
  assert.deepEqual(all.lines.map((l) => l.Action), ['create', 'start']);
  const start = all.lines[1];
  assert.deepEqual(Object.keys(start), ['status', 'id', 'from', 'Type', 'Action', 'Actor', 'scope', 'time', 'timeNano']);
  assert.deepEqual(start.Actor, { ID: id2, Attributes: { app: 'web', image: 'busybox:local', name: 'api' } });
  assert.equal(start.Type, 'container');
  assert.equal(typeof start.timeNano, 'string', 'ns since the epoch is beyond 2^53 and written exactly');
  assert.deepEqual(images.lines, []);
  all.close();
  images.close();
  // A past window is answered from the log, then the stream ends.
  const past = await call('GET', `/events?since=${since}&until=${Math.ceil(Date.now() / 1000) + 0.5}&filters=${encodeURIComponent('{"event":["start"]}')}`);
  const actions = past.body.trim().split('\n').map((l) => JSON.parse(l).Action);
  assert.ok(actions.length >= 1 && actions.every((a) => a === 'start'), past.body);
});
