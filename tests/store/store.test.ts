import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RAW_SAMPLES, historyMetricNames, Store } from '../../src/store/store.js';
import { DataDir } from '../../src/store/datadir.js';
import { PersistentHistory } from '../../src/store/persist.js';
import { createLogger } from '../../src/log.js';
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

test('history keeps a gap, not a zero, where a tick did not measure: CPU at the first sample, memory and pids not read', () => {
  const s = new Store(8, 60_000, 1000);
  const id = 'c'.repeat(64);
  s.upsert(info(id, 'gaps'));
  const memory = { usageBytes: 5000n, inactiveFileBytes: 1000n, limitBytes: 1n << 20n };
  const first: Sample = { ...sample(1000), cgroup: { cpu: { usageNs: 1_000_000n }, memory, pids: { current: 3n } } };
  const second: Sample = { ...sample(2000), cgroup: { cpu: { usageNs: 501_000_000n } } };
  s.record(id, first, derive(undefined, first, 1n << 30n));
  s.record(id, second, derive(first, second, 1n << 30n));
  const names = ['cpu_cores', 'memory_usage_bytes', 'memory_working_set_bytes', 'memory_limit_bytes', 'pids'];
  const h = s.history(s.get(id)!, { sinceMs: 0, untilMs: 3000, metrics: names.map((n) => historyMetricNames.indexOf(n)) }, 3000);
  assert.deepEqual(Array.from(h.timestampsMs), [1000, 2000]);
  // Docker's stats show CPU 0 at the first sample and 0 B for memory not read: history does not (NaN is served as null).
  assert.deepEqual(h.values!.map((v) => Array.from(v)), [[NaN, 0.5], [4000, NaN], [4000, NaN], [1 << 20, NaN], [3, NaN]]);
});

test('with persistence each row is compressed once, into the raw tier: no in-memory ring, and the --history window reads the same from the tier', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-store-'));
  const log = createLogger(() => {});
  const dataDir = DataDir.open(dir, log);
  const persist = new PersistentHistory({ dataDir, intervalMs: 1000, metrics: historyMetricNames, retentionMs: [86_400_000, 30 * 86_400_000, 365 * 86_400_000], maxBytes: 1 << 30, log });
  const memory = new Store(4, 60_000);
  const disk = new Store(4, 60_000, DEFAULT_RAW_SAMPLES, 1000, persist);
  const id = 'b'.repeat(64);
  let prev: Sample | undefined;
  for (const s of [memory, disk]) s.upsert(info(id, 'web'));
  for (let t = 1000; t <= 10_000; t += 1000) {
    const cur = sample(t);
    const d = derive(prev, cur, 1n << 30n);
    for (const s of [memory, disk]) s.record(id, cur, d);
    prev = cur;
  }
  const metrics = ['cpu_percent', 'cpu_cores', 'memory_usage_bytes'].map((m) => historyMetricNames.indexOf(m));
  const fromMemory = memory.recent(memory.get(id)!, metrics, 10_000);
  assert.deepEqual(fromMemory.timestampsMs, [7000, 8000, 9000, 10_000]);
  // The samples' CPU time grows by 1 ms a second: 0.001 cores.
  assert.deepEqual(fromMemory.values[1], [0.001, 0.001, 0.001, 0.001]);
  assert.deepEqual(disk.recent(disk.get(id)!, metrics, 10_000), fromMemory);
  assert.equal(disk.get(id)!.history, undefined);
  // What memory holds of it: the raw tier's open chunk, all ten rows.
  const f = disk.historyFootprint();
  assert.deepEqual([f.containers, f.samples], [1, 10]);
  assert.ok(f.bytes > 0);
  // Removed: the OOM kill its last sample counted is its end; memory then keeps who it was and
  // how it ended, as after a restart, and its history reads from the tier.
  const last: Sample = { ...sample(11_000), cgroup: { cpu: { usageNs: 11_000_000n }, memory: { usageBytes: 4096n, oomKills: 1n } } };
  disk.record(id, last, derive(prev, last, 1n << 30n));
  disk.markRemoved(id, 11_500);
  const gone = disk.get(id)!;
  assert.deepEqual(gone.ended, { atMs: 11_500, exitCode: null, oomKilled: true });
  assert.deepEqual([gone.latest, gone.previous, gone.derived, gone.raw], [undefined, undefined, undefined, undefined]);
  const after = disk.history(gone, { sinceMs: 0, untilMs: 12_000, metrics: [historyMetricNames.indexOf('memory_usage_bytes')] }, 12_000);
  assert.deepEqual(Array.from(after.timestampsMs).slice(-2), [10_000, 11_000]);
  assert.equal(after.values![0].at(-1), 4096);
  persist.close(12_000);
  dataDir.close();
  rmSync(dir, { recursive: true });
});
