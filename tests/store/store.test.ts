import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Store } from '../../src/store/store.js';
import { derive } from '../../src/derive/index.js';
import type { ContainerInfo, Sample } from '../../src/model.js';

function info(id: string, name: string): ContainerInfo {
  return { id, name, runtime: 'docker', image: 'x', labels: {}, state: 'running', cgroup: { version: 2, path: '/', dir: '/' }, network: { kind: 'unknown' }, createdMs: 0, mounts: [] };
}
function sample(t: number): Sample {
  return { timestampMs: t, monoNs: BigInt(t) * 1_000_000n, cgroup: { cpu: { usageNs: BigInt(t) * 1000n } }, systemCpuNs: BigInt(t) * 2_000_000n, onlineCpus: 2 };
}

test('store: history bounded by capacity; previous sample kept as precpu', () => {
  const s = new Store(4, 60_000);
  s.upsert(info('a'.repeat(64), 'web'));
  let prev: Sample | undefined;
  for (let t = 1000; t <= 10_000; t += 1000) {
    const cur = sample(t);
    s.record('a'.repeat(64), cur, derive(prev, cur, 1n << 30n));
    prev = cur;
  }
  const e = s.get('a'.repeat(64))!;
  assert.equal(e.history!.length, 4);
  assert.deepEqual(s.historyFootprint(), { containers: 1, samples: 4, bytes: e.history!.bytes, raw: { samples: 10, bytes: e.raw!.bytes } });
  assert.deepStrictEqual(e.raw!.read({ count: 2 }), [e.previous, e.latest]);
  assert.equal(e.latest!.timestampMs, 10_000);
  assert.equal(e.previous!.timestampMs, 9000);
});

test('find: full id, name with or without slash, unique prefix; ambiguous prefix finds nothing', () => {
  const s = new Store(2, 1000);
  s.upsert(info('abc1' + '0'.repeat(60), 'one'));
  s.upsert(info('abc2' + '0'.repeat(60), 'two'));
  assert.equal(s.find('one')?.info.name, 'one');
  assert.equal(s.find('/two')?.info.name, 'two');
  assert.equal(s.find('abc2')?.info.name, 'two');
  assert.equal(s.find('abc'), undefined);
  assert.equal(s.find('nope'), undefined);
});

test('removed containers stay readable for the retention window, then go', () => {
  const s = new Store(2, 1000);
  s.upsert(info('a'.repeat(64), 'gone'));
  s.markRemoved('a'.repeat(64), 5000);
  assert.equal(s.list(false).length, 0);
  assert.equal(s.list(true).length, 1);
  s.prune(5500);
  assert.ok(s.find('gone'));
  s.prune(6001);
  assert.equal(s.find('gone'), undefined);
});

test('a live container wins over a removed one with the same name', () => {
  const s = new Store(2, 10_000);
  s.upsert(info('a'.repeat(64), 'web'));
  s.markRemoved('a'.repeat(64), 1);
  s.upsert(info('b'.repeat(64), 'web'));
  assert.equal(s.find('web')?.info.id, 'b'.repeat(64));
});
