/**
 * cAdvisor's stats series from the raw-sample history: count, num_stats and their defaults, -1
 * for everything kept, start/end windows; older points in the same JSON shape as the newest, the
 * process count on the newest only; the machine's series likewise.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { Store } from '../../../src/store/store.js';
import { derive } from '../../../src/derive/index.js';
import { Router, startServer } from '../../../src/api/http.js';
import { registerCadvisor } from '../../../src/api/cadvisor.js';
import { LifecycleLog } from '../../../src/store/lifecycle.js';
import type { Sample } from '../../../src/model.js';
import { ProcessCountLog } from '../../../src/collector/process-counts.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { ID, host, info, sample } from './fixture.js';

const T0 = Date.UTC(2026, 0, 1, 12);
/** 2 minutes at 1 s and the sample at the window's start, as the agent's default. */
const RAW = 121;
const TICKS = 150;
const NAME = `/system.slice/docker-${ID}.scope`;
const store = new Store(900, 60_000, RAW);
const processes = new ProcessCountLog(RAW * 1000);
const cgroupDir = mkdtempSync(`${tmpdir()}/cstats-series-cg-`);
let server: Server;
let base: string;
const get = async (path: string, init?: RequestInit) => {
  const r = await fetch(base + path, init);
  const text = await r.text();
  if (r.status !== 200) throw new Error(`${path}: ${r.status} ${text}`);
  return JSON.parse(text);
};

/** Keys of every object in a JSON value, by path: what "the same shape" compares. */
function shape(v: unknown, path = ''): string[] {
  if (Array.isArray(v)) return v.length > 0 ? shape(v[0], `${path}[]`) : [`${path}[]`];
  if (v === null || typeof v !== 'object') return [path];
  return Object.entries(v).flatMap(([k, x]) => shape(x, `${path}.${k}`));
}

before(async () => {
  // The container's cgroup.procs is rewritten at each tick with that tick's processes.
  store.upsert(info({ cgroup: { version: 2, path: NAME, dir: cgroupDir } }));
  let prev: Sample | undefined;
  for (let i = 0; i < TICKS; i++) {
    const t = T0 + i * 1000;
    store.recordHost(host(t, 1000n + BigInt(i) * 100n));
    // Half a core: 0.5 s of CPU a second, and a task count that moves: 2 + i % 3 processes of one thread each.
    const s = sample(t, 1_000_000_000n + BigInt(i) * 500_000_000n);
    const n = i === TICKS - 1 ? 1 : 2 + (i % 3);
    s.cgroup.pids = { current: BigInt(n), limit: null };
    writeFileSync(`${cgroupDir}/cgroup.procs`, Array.from({ length: n }, (_, k) => `${100 + k}\n`).join(''));
    store.record(ID, s, derive(prev, s, 8n << 30n));
    processes.observe(store.list(false));
    prev = s;
  }
  const router = new Router();
  registerCadvisor(router, { store, lifecycle: new LifecycleLog(store), intervalMs: 1000, processes });
  server = await startServer(router, '127.0.0.1:0');
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(() => {
  server.close();
  rmSync(cgroupDir, { recursive: true, force: true });
});

test('v2 stats: count points 1 s apart, cumulative CPU +0.5 s each; 64 by default, -1 for all the window keeps', async () => {
  const ten = (await get(`/api/v2.0/stats/${ID}?type=docker&count=10`))[NAME] as any[];
  assert.equal(ten.length, 10);
  const times = ten.map((p) => Date.parse(p.timestamp));
  assert.deepEqual(times, Array.from({ length: 10 }, (_, i) => T0 + (TICKS - 10 + i) * 1000));
  for (let i = 1; i < 10; i++) assert.equal(ten[i].cpu.usage.total - ten[i - 1].cpu.usage.total, 500_000_000);
  assert.equal((await get(`/api/v2.0/stats/${ID}?type=docker`))[NAME].length, 64);
  const all = (await get(`/api/v2.0/stats/${ID}?type=docker&count=-1`))[NAME] as any[];
  assert.equal(all.length, RAW);
  assert.equal(Date.parse(all[0].timestamp), T0 + (TICKS - RAW) * 1000);
  // v2.1: the newest point is the latest sample as before, cpu_inst from the point before it.
  const v21 = (await get(`/api/v2.1/stats/${ID}?type=docker&count=3`))[NAME].stats as any[];
  assert.equal(v21.length, 3);
  assert.equal(v21[0].cpu_inst, undefined, 'the first point read has nothing to rate against');
  assert.equal(v21[2].cpu_inst.usage.total, 500_000_000);
  assert.equal(v21[2].cpu.usage.total, Number(store.get(ID)!.latest!.cgroup.cpu!.usageNs));
});

test('v1: num_stats (60 by default), start and end; older points have the newest one\'s shape, each its own tick\'s process count', async () => {
  const five = await get(`/api/v1.3/docker/${ID}`, { method: 'POST', body: '{"num_stats":5}' });
  const stats = five[NAME].stats as any[];
  assert.equal(stats.length, 5);
  assert.equal((await get(`/api/v1.3/containers${NAME}`)).stats.length, 60);
  for (const p of stats) assert.deepEqual(shape(p), shape(stats[4]));
  // Each point has the count of its tick (2, 3, 4 processes in turn); the newest has 1 task, so 1.
  assert.deepEqual(stats.map((p) => p.processes.process_count), [3, 4, 2, 3, 1].map((_, k) => (k === 4 ? 1 : 2 + ((TICKS - 5 + k) % 3))));
  const start = new Date(T0 + 100_000).toISOString();
  const end = new Date(T0 + 109_000).toISOString();
  const windowed = await get(`/api/v1.3/containers${NAME}`, { method: 'POST', body: JSON.stringify({ num_stats: 100, start, end }) });
  assert.deepEqual(
    windowed.stats.map((p: any) => Date.parse(p.timestamp)),
    Array.from({ length: 10 }, (_, i) => T0 + (100 + i) * 1000),
  );
});

test("the machine '/': its own series, and machinestats whose first point has no cpu_inst", async () => {
  const root = await get('/api/v1.3/containers/', { method: 'POST', body: '{"num_stats":7}' });
  assert.equal(root.stats.length, 7);
  for (const p of root.stats) assert.deepEqual(shape(p), shape(root.stats[6]));
  const ms = (await get('/api/v2.1/machinestats?count=4')) as any[];
  assert.equal(ms.length, 4);
  assert.equal(ms[0].cpu_inst, undefined);
  assert.equal(ms[3].cpu_inst.usage.total, 1_000_000_000, '100 ticks of busy CPU a second: one core');
  assert.equal(((await get('/api/v2.1/machinestats?count=-1')) as any[]).length, RAW);
});
