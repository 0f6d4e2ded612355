/**
 * /healthz of the real collector sampling this host (no containers: the machine's own /proc):
 * 200 "ok" while ticks complete, 503 "stalled" once none has completed for five intervals,
 * whether sampling stopped or every tick fails part-way; the HTTP side keeps answering.
 * The failing tick comes from a discoverer that throws on demand (a real runtime cannot be made
 * to fail on cue); everything else is the agent's own code.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { Collector } from '../../src/collector/collector.js';
import { Router, startServer } from '../../src/api/http.js';
import { registerRest } from '../../src/api/rest.js';
import { createLogger } from '../../src/log.js';
import { HealthState, type Discoverer } from '../../src/runtimes/types.js';
import { Store } from '../../src/store/store.js';
import { sleep, waitFor } from '../integration/support.js';

const INTERVAL_MS = 100;
let failing = false;
const health = new HealthState();
health.set(true, 'in-process');
const discoverer: Discoverer = {
  name: 'on-demand',
  start: async () => undefined,
  stop: () => undefined,
  containers: () => {
    if (failing) throw new Error('discovery broke');
    return [];
  },
  health: () => health.get(),
};
const logged: string[] = [];
const store = new Store(50, 5_000);
const collector = new Collector(store, [discoverer], { intervalMs: INTERVAL_MS, fsIntervalMs: 10_000 }, createLogger((l) => logged.push(l), true));
let server: Server;
let base: string;

before(async () => {
  const router = new Router();
  registerRest(router, { store, discoverers: [discoverer], collector, intervalMs: INTERVAL_MS, startedMs: Date.now() });
  server = await startServer(router, '127.0.0.1:0');
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(() => {
  collector.stop();
  server.close();
});

async function healthz(): Promise<{ status: number; body: { status: string; collector: { lastTick: string | null } } }> {
  const res = await fetch(`${base}/healthz`);
  return { status: res.status, body: await res.json() };
}

test('before the first tick: 503 stalled, no last tick', async () => {
  const h = await healthz();
  assert.equal(h.status, 503);
  assert.equal(h.body.status, 'stalled');
  assert.equal(h.body.collector.lastTick, null);
});

test('ticks completing: 200 ok, the last tick recent', async () => {
  collector.start();
  const h = await waitFor('a healthy answer', async () => {
    const r = await healthz();
    return r.status === 200 ? r : undefined;
  });
  assert.equal(h.body.status, 'ok');
  assert.ok(Date.now() - Date.parse(h.body.collector.lastTick!) < INTERVAL_MS * 5);
});

test('every tick failing part-way (after the host was read): 503 stalled within five intervals and a bit, 200 again once ticks complete', async () => {
  failing = true;
  const failedAt = Date.now();
  const stalled = await waitFor('503', async () => {
    const r = await healthz();
    return r.status === 503 ? r : undefined;
  }, 5_000);
  assert.equal(stalled.body.status, 'stalled');
  assert.ok(Date.now() - Date.parse(stalled.body.collector.lastTick!) >= INTERVAL_MS * 5, 'not before five intervals without a completed tick');
  assert.ok(Date.parse(stalled.body.collector.lastTick!) <= failedAt + INTERVAL_MS, 'lastTick is the last tick that completed');
  assert.ok(logged.some((l) => l.includes('tick failed') && l.includes('discovery broke')), logged.join('\n'));
  failing = false;
  await waitFor('200 again', async () => ((await healthz()).status === 200 ? true : undefined), 5_000);
});

test('sampling stopped: 503 stalled after five intervals, while the server still answers', async () => {
  collector.stop();
  await sleep(INTERVAL_MS * 6);
  const h = await healthz();
  assert.equal(h.status, 503);
  assert.equal(h.body.status, 'stalled');
});
