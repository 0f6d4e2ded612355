/**
 * The Gnocchi sink without a Gnocchi (the real one: tests/integration/export/gnocchi.test.ts):
 * what a tick encodes from the fixture store (meters measured only, u64 converted explicitly),
 * and the requests a send makes against a scripted receiver (409 taken as "exists").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fixtureStore, ID_A, ID_B, T, U64_MAX } from '../api/support.js';
import { ExportFeed } from '../../src/export/exporter.js';
import { GnocchiSink } from '../../src/export/gnocchi.js';

function sink(url = 'http://127.0.0.1:9/') {
  return new GnocchiSink({ name: 'gnocchi-0', target: { url: new URL(url), username: 'admin', timeoutMs: 2000 }, archivePolicy: 'cstats', resourceType: 'cstats_container', tiers: [{ granularityMs: 1000, timespanMs: 86_400_000 }], host: 'h1', userAgent: 'cstats/test' });
}

test('a tick: the meters each sample measured, in ceilometer units, u64 as the nearest double', () => {
  const p = sink().encode(new ExportFeed(fixtureStore()).next(T + 500))!;
  const json = JSON.parse(Buffer.from(p.bytes).toString('utf8'));
  const at = new Date(T).toISOString();
  const a = json.m[ID_A];
  assert.deepEqual(a.vcpus, [[at, 0.5]]);
  assert.deepEqual(a.memory, [[at, 64]]);
  assert.deepEqual(a['network.incoming.bytes'], [[at, 1000]], 'eth0 only, lo left out');
  // Every device of the fixture's blkio.throttle.io_service_bytes summed.
  assert.deepEqual(a['disk.device.read.bytes'], [[at, 8552448]]);
  // B measured CPU and eth0 only: no memory, no disk meter, never a zero.
  assert.deepEqual(Object.keys(json.m[ID_B]).sort(), ['cpu', 'network.incoming.bytes', 'network.outgoing.bytes', 'vcpus']);
  assert.deepEqual(json.m[ID_B].cpu, [[at, Number(U64_MAX)]]);
  assert.equal(json.m[ID_B].cpu[0][1], 18446744073709551616);
  assert.deepEqual(json.r[ID_A], { name: 'web', image: 'nginx:1.25', runtime: 'docker', host: 'h1', started_at: '2023-11-14T22:13:21.750Z' });
  assert.equal(p.samples, Object.values(json.m).reduce((n: number, m: any) => n + Object.keys(m).length, 0));
});

test('a send: archive policy and resource type (409: exist), each resource once, one batch with units, ended_at', async (t) => {
  const seen: Array<{ method: string; url: string; body: any }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, body: JSON.parse(body) });
      res.statusCode = req.url === '/v1/resource_type' ? 409 : req.method === 'PATCH' ? 200 : 201;
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const s = sink(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  const store = fixtureStore();
  const feed = new ExportFeed(store);
  const first = s.encode(feed.next(T + 500))!;
  store.upsert({ ...store.get(ID_B)!.info, state: 'exited' });
  const second = s.encode(feed.next(T + 1500))!;
  await s.send([first.bytes, second.bytes]);
  assert.deepEqual(seen.map((r) => `${r.method} ${r.url}`), [
    'POST /v1/archive_policy',
    'POST /v1/resource_type',
    'POST /v1/resource/cstats_container',
    'POST /v1/resource/cstats_container',
    'POST /v1/batch/resources/metrics/measures?create_metrics=true',
    `PATCH /v1/resource/cstats_container/${ID_B}`,
  ]);
  assert.deepEqual(seen[0].body.aggregation_methods, ['mean', 'min', 'max', 'last', 'rate:mean']);
  assert.deepEqual(seen[0].body.definition, [{ granularity: 1, timespan: 86400 }]);
  assert.equal(seen[4].body[ID_A].cpu.unit, 'ns');
  assert.equal(seen[4].body[ID_A]['memory.usage'].unit, 'MB');
  assert.equal(seen[4].body[ID_A].cpu.archive_policy_name, 'cstats');
  assert.deepEqual(seen[5].body, { ended_at: new Date(T + 1500).toISOString() });
  seen.length = 0;
  await s.send([first.bytes]);
  assert.deepEqual(seen.map((r) => r.url), ['/v1/batch/resources/metrics/measures?create_metrics=true'], 'resources and policy once per run');
});
