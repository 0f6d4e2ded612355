import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sameStats } from '../../src/collector/same-stats.js';

test('sameStats: equal figures all the way down, whatever the objects', () => {
  const stat = { total_rss: 2n ** 64n - 1n };
  const a = { cpu: { usageNs: 2n ** 63n + 1n, perCpuNs: [1n, 2n] }, memory: { stat, limitBytes: null }, blkio: { devices: [{ major: 8, minor: 0, readBytes: 1n }], source: 'io.stat' } };
  const b = { cpu: { perCpuNs: [1n, 2n], usageNs: 2n ** 63n + 1n }, memory: { stat: { ...stat }, limitBytes: null }, blkio: { devices: [{ major: 8, minor: 0, readBytes: 1n }], source: 'io.stat' } };
  assert.ok(sameStats(a, b));
  assert.ok(sameStats(a, a));
  assert.ok(sameStats({}, {}));
});

test('sameStats: any difference counts, 1 in 2^64 included, and a key present but undefined is not an absent one', () => {
  const base = () => ({ cpu: { usageNs: 2n ** 64n - 1n, perCpuNs: [1n, 2n] }, memory: { limitBytes: null as bigint | null, usageBytes: undefined as bigint | undefined } });
  assert.ok(sameStats(base(), base()));
  const cases: [string, (o: ReturnType<typeof base>) => unknown][] = [
    ['a u64 one lower', (o) => (o.cpu.usageNs = 2n ** 64n - 2n)],
    ['an array element', (o) => (o.cpu.perCpuNs = [1n, 3n])],
    ['an array length', (o) => (o.cpu.perCpuNs = [1n, 2n, 0n])],
    ['null against a value', (o) => (o.memory.limitBytes = 0n)],
    ['an undefined key dropped', (o) => delete o.memory.usageBytes],
    ['a key added', (o) => Object.assign(o, { pids: { current: 1n } })],
    ['an array against a record', (o) => Object.assign(o.cpu, { perCpuNs: { 0: 1n, 1: 2n, length: 2 } })],
    ['a bigint against a number', (o) => Object.assign(o.cpu, { usageNs: Number(2n ** 64n - 1n) })],
  ];
  for (const [what, change] of cases) {
    const b = base();
    change(b);
    assert.equal(sameStats(base(), b), false, what);
    assert.equal(sameStats(b, base()), false, `${what} (other way)`);
  }
});
