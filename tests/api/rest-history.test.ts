/**
 * GET /api/v1/containers/{ref}/history over HTTP: malformed since, until, step and metrics get a
 * 400 naming the parameter and what it accepts (stats too); good ones read the store (here memory-only).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { Router, startServer } from '../../src/api/http.js';
import { registerRest } from '../../src/api/rest.js';
import { Store } from '../../src/store/store.js';
import type { Collector } from '../../src/collector/collector.js';
import { ID_A, containerInfo, fixtureCgroup, put, sampleOf } from './support.js';

test('history: malformed parameters are refused with a clear 400; good ones answer', async () => {
  const store = new Store(900, 900_000);
  const now = Date.now();
  put(store, containerInfo(ID_A, 'web'), sampleOf(fixtureCgroup(), now - 1000));
  const router = new Router();
  registerRest(router, { store, discoverers: [], collector: {} as Collector, intervalMs: 1000, startedMs: now });
  const server = await startServer(router, '127.0.0.1:0');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/containers/web/history`;
  const get = async (q: string) => {
    const res = await fetch(base + q);
    return { status: res.status, body: (await res.json()) as any };
  };
  try {
    const bad: [string, RegExp][] = [
      ['?since=yesterday', /^since: expected an RFC 3339 time, epoch milliseconds or a duration like 5m, got "yesterday"/],
      ['?since=12', /^since: expected/],
      ['?since=-5m', /^since: expected/],
      ['?until=2026-13-45T99:00:00Z', /^until: expected/],
      ['?until=%00', /^until: expected/],
      ['?since=1m&until=10m', /^until \(.*\) is before since/],
      ['?step=0', /^step: expected between 1ms and 366d, got "0"/],
      ['?step=fast', /^step: expected a duration like 500ms, 1s, 15m, 30d, got "fast"/],
      ['?step=-1s', /^step: expected a duration/],
      ['?step=400d', /^step: expected between 1ms and 366d/],
      ['?metrics=cpu_percent,nope', /^unknown metrics: nope; known: cpu_percent, /],
      ['?metrics=%20,%2C', /^metrics: no metric named in " ,,"/], // only separators: names none (an empty ?metrics= means all)
      ['?step=1m&stats=median', /^unknown stats: median; known: mean, min, max, last/],
      ['?step=1m&stats=max,p99,MIN', /^unknown stats: p99, MIN; known:/],
      ['?step=1m&stats=,', /^stats: no statistic named in ","/],
    ];
    for (const [q, re] of bad) {
      const { status, body } = await get(q);
      if (re.source === '^$') {
        assert.equal(status, 200, q);
        continue;
      }
      assert.equal(status, 400, `${q}: ${JSON.stringify(body)}`);
      assert.match(body.error ?? body.message, re, q);
    }
    const ok = await get('?since=5m&metrics=pids,cpu_cores');
    assert.equal(ok.status, 200);
    assert.equal(ok.body.tier, 'memory');
    assert.equal(ok.body.stepMs, null);
    assert.deepEqual(Object.keys(ok.body.series), ['pids', 'cpu_cores']);
    assert.deepEqual(ok.body.timestamps, [now - 2000, now - 1000]);
    const stepped = await get(`?since=${now - 60_000}&until=${now}&step=1m&metrics=pids`);
    assert.equal(stepped.status, 200);
    assert.equal(stepped.body.stepMs, 60_000);
    assert.equal(stepped.body.timestamps.length, stepped.body.series.pids.length);
    assert.ok(stepped.body.series.pids.includes(null) || stepped.body.timestamps.length === 1);
    assert.deepEqual(stepped.body.max.pids.filter((v: number | null) => v !== null), stepped.body.series.pids.filter((v: number | null) => v !== null));
    // stats picks the statistics: the others are left out, the ones asked are the same numbers.
    const maxOnly = await get(`?since=${now - 60_000}&until=${now}&step=1m&metrics=pids&stats=max,max`);
    assert.equal(maxOnly.status, 200);
    assert.deepEqual(Object.keys(maxOnly.body).filter((k) => ['series', 'min', 'max', 'last'].includes(k)), ['max']);
    assert.deepEqual(maxOnly.body.max, stepped.body.max);
  } finally {
    server.close();
  }
});
