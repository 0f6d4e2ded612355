import { toJson } from '../../src/api/json.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { derive } from '../../src/derive/index.js';
import { cpuPercent, memoryLimit, memoryUsageNoCache, networkTotal, workingSet } from '../../src/derive/docker.js';
import { counterDelta, ratePerSecond } from '../../src/derive/counters.js';
import type { Sample } from '../../src/model.js';

const GiB = 1024n ** 3n;

function sample(over: Partial<Sample> & { usageNs?: bigint; monoNs?: bigint }): Sample {
  return {
    timestampMs: 0,
    monoNs: over.monoNs ?? 0n,
    cgroup: over.cgroup ?? { cpu: { usageNs: over.usageNs ?? 0n } },
    network: over.network,
    systemCpuNs: over.systemCpuNs ?? 0n,
    onlineCpus: over.onlineCpus ?? 2,
  };
}

test('CPU %: docker formula, half a core of two CPUs is 50 %', () => {
  // 1 s of wall time on 2 CPUs = 2e9 ns of host CPU; the container used 0.5e9 ns.
  assert.equal(cpuPercent(10n, 10n + 500_000_000n, 1_000n, 1_000n + 2_000_000_000n, 2), 50);
});

test('CPU %: zero when nothing moved, when the host counter did not advance, or on a counter reset', () => {
  assert.equal(cpuPercent(5n, 5n, 0n, 100n, 2), 0);
  assert.equal(cpuPercent(0n, 100n, 7n, 7n, 2), 0);
  assert.equal(cpuPercent(1000n, 10n, 0n, 100n, 2), 0);
  assert.equal(cpuPercent(undefined, 10n, 0n, 100n, 2), 0);
});

test('CPU %: deltas of counters above 2^53 stay exact', () => {
  const base = 2n ** 60n;
  // A delta of 1 ns on top of 2^60 would vanish in float64 arithmetic on the absolute values.
  assert.equal(cpuPercent(base, base + 1_000_000_000n, base, base + 4_000_000_000n, 4), 100);
});

test('memory usage: usage − inactive file, only when inactive is below usage (docker/cli)', () => {
  assert.equal(memoryUsageNoCache({ usageBytes: 100n, inactiveFileBytes: 30n }), 70n);
  assert.equal(memoryUsageNoCache({ usageBytes: 100n, inactiveFileBytes: 300n }), 100n);
  assert.equal(memoryUsageNoCache({ usageBytes: 100n }), 100n);
  assert.equal(workingSet({ usageBytes: 100n, inactiveFileBytes: 300n }), 0n);
});

test('memory limit: capped at host memory; unlimited shows host memory', () => {
  assert.equal(memoryLimit({ limitBytes: 64n * 1024n * 1024n }, 24n * GiB), 64n * 1024n * 1024n);
  assert.equal(memoryLimit({ limitBytes: null }, 24n * GiB), 24n * GiB);
  assert.equal(memoryLimit({ limitBytes: 9223372036854771712n }, 24n * GiB), 24n * GiB);
});

test('network totals leave out lo', () => {
  const iface = (name: string, rx: bigint, tx: bigint) => ({ name, rxBytes: rx, txBytes: tx, rxPackets: 0n, rxErrors: 0n, rxDropped: 0n, txPackets: 0n, txErrors: 0n, txDropped: 0n });
  const ifaces = [iface('lo', 1000n, 1000n), iface('eth0', 5n, 7n), iface('eth1', 1n, 1n)];
  assert.deepEqual([networkTotal(ifaces, 'rxBytes'), networkTotal(ifaces, 'txBytes')], [6n, 8n]);
});

test('rates: per second over the monotonic interval; a counter that goes back gives no rate', () => {
  assert.equal(ratePerSecond(100n, 300n, 2), 100);
  assert.equal(ratePerSecond(300n, 100n, 2), undefined);
  assert.equal(counterDelta(2n ** 64n - 2n, 2n ** 64n - 1n), 1);
  const prev = sample({ usageNs: 1_000_000_000n, monoNs: 0n, systemCpuNs: 0n });
  const cur = sample({ usageNs: 1_500_000_000n, monoNs: 2_000_000_000n, systemCpuNs: 4_000_000_000n });
  const d = derive(prev, cur, 8n * GiB);
  assert.equal(d.rates.cpuUsageNs, 250_000_000);
  assert.equal(d.cpuCores, 0.25);
  assert.equal(d.cpuPercent, 25);
  // A restarted container: its CPU counter starts again from a small value.
  const restarted = derive(cur, sample({ usageNs: 5n, monoNs: 3_000_000_000n, systemCpuNs: 6_000_000_000n }), 8n * GiB);
  assert.equal(restarted.rates.cpuUsageNs, undefined);
  assert.equal(restarted.cpuPercent, 0);
  assert.ok(Object.values(restarted.rates.toJSON()).every((r) => r >= 0));
});

test('first sample: no rates, CPU 0, memory figures present', () => {
  const d = derive(undefined, sample({ cgroup: { memory: { usageBytes: 2048n, inactiveFileBytes: 1024n, limitBytes: 4096n } } }), 8n * GiB);
  assert.deepEqual(d.rates.toJSON(), {});
  assert.equal(d.cpuPercent, 0);
  assert.equal(d.memoryUsageBytes, 1024);
  assert.equal(d.memoryPercent, 25);
});

test('rates: exactly the counters and interface fields that have one, under any interface name', () => {
  const iface = (name: string, rx: bigint, txPackets: bigint) => ({ name, rxBytes: rx, txBytes: 0n, rxPackets: 0n, rxErrors: 0n, rxDropped: 0n, txPackets, txErrors: 0n, txDropped: 0n });
  // Names a literal could trip on; the second interface's tx packets go back (a reset): no rate for that field.
  const names = ['eth0', 'we"ird\\name', "it's"];
  const prev = sample({ usageNs: 10n, monoNs: 0n, network: names.map((n) => iface(n, 100n, 50n)) });
  const cur = sample({ usageNs: 30n, monoNs: 2_000_000_000n, network: [...names.map((n, i) => iface(n, 300n + BigInt(i), i === 1 ? 1n : 50n)), iface('new0', 1n, 1n)] });
  const d = derive(prev, cur, 8n * GiB);
  const expected: Record<string, number> = { 'cpu.usageNs': 10, 'net.rxBytes': (904 - 300) / 2, 'net.txBytes': 0 };
  names.forEach((n, i) => {
    for (const f of ['rxBytes', 'rxPackets', 'rxErrors', 'rxDropped', 'txBytes', 'txPackets', 'txErrors', 'txDropped']) expected[`net.${n}.${f}`] = 0;
    expected[`net.${n}.rxBytes`] = (200 + i) / 2;
  });
  delete expected[`net.${names[1]}.txPackets`];
  assert.deepEqual(d.rates.toJSON(), expected);
  assert.deepEqual(Object.keys(d.rates.toJSON()), Object.keys(expected), 'in the wire order');
  // Both writers of the wire (REST's toJson, the stream's JSON.stringify) write that object.
  assert.equal(toJson(d.rates), JSON.stringify(expected));
  assert.equal(JSON.stringify({ rates: d.rates }), JSON.stringify({ rates: expected }));
  // The same key set again reuses its maker and still gives this sample's values.
  const again = derive(cur, { ...cur, monoNs: 4_000_000_000n, cgroup: { cpu: { usageNs: 50n } } }, 8n * GiB);
  assert.equal(again.rates.cpuUsageNs, 10);
  assert.equal(again.rates.toJSON()['net.new0.rxBytes'], 0);
  assert.equal(Object.keys(again.rates.toJSON()).length, 3 + 4 * 8);
});

test('the same figures in three samples in a row: the previous tick\'s Derived, equal to a fresh one', () => {
  const cgroup = { cpu: { usageNs: 500n }, memory: { usageBytes: 4096n, limitBytes: 8192n }, blkio: { devices: [{ major: 8, minor: 0, readBytes: 1n, writeBytes: 2n, reads: 1n, writes: 1n }], source: 'x' } };
  const network = [{ name: 'eth0', rxBytes: 9n, txBytes: 9n, rxPackets: 1n, rxErrors: 0n, rxDropped: 0n, txPackets: 1n, txErrors: 0n, txDropped: 0n }];
  const s0 = sample({ monoNs: 0n, systemCpuNs: 0n, cgroup, network });
  const s1 = sample({ monoNs: 1_000_000_000n, systemCpuNs: 2_000_000_000n, cgroup, network });
  const s2 = sample({ monoNs: 2_000_000_000n, systemCpuNs: 4_000_000_000n, cgroup, network });
  const d1 = derive(s0, s1, 8n * GiB);
  const d2 = derive(s1, s2, 8n * GiB, { sample: s0, derived: d1 });
  assert.equal(d2, d1, 'handed back, not made again');
  assert.deepEqual(d2, derive(s1, s2, 8n * GiB), 'what derive would have made');
  assert.equal(Object.keys(d2.rates.toJSON()).length, 1 + 4 + 2 + 8, 'CPU, four block I/O, two network totals, eight of eth0');
  // Any one of the three differing, or a new host memory size capping the limit: made afresh.
  const moved = { ...s2, cgroup: { ...cgroup, cpu: { usageNs: 700n } } };
  assert.equal(derive(s1, moved, 8n * GiB, { sample: s0, derived: d1 }).cpuPercent, (200 / 2e9) * 2 * 100);
  const d1moved = derive({ ...s0, cgroup: { cpu: { usageNs: 100n } } }, s1, 8n * GiB);
  const fresh = derive(s1, s2, 8n * GiB, { sample: { ...s0, cgroup: { cpu: { usageNs: 100n } } }, derived: d1moved });
  assert.notEqual(fresh, d1moved);
  assert.equal(fresh.rates.cpuUsageNs, 0);
  assert.equal(derive(s1, s2, 4096n, { sample: s0, derived: d1 }).memoryLimitBytes, 4096);
});

test('CPU % of limit and throttled %: from the group quota and nr_periods / nr_throttled; absent without a quota', () => {
  const cpu = (usageNs: bigint, periods: bigint, throttledPeriods: bigint, quotaUs: bigint | null) => ({ usageNs, periods, throttledPeriods, quotaUs, periodUs: 100_000n });
  // --cpus 0.5 (50 ms every 100 ms), 0.25 s of CPU in 1 s, 10 periods of which 4 throttled.
  const prev = sample({ monoNs: 0n, cgroup: { cpu: cpu(0n, 100n, 10n, 50_000n) } });
  const cur = sample({ monoNs: 1_000_000_000n, cgroup: { cpu: cpu(250_000_000n, 110n, 14n, 50_000n) } });
  const d = derive(prev, cur, GiB);
  assert.equal(d.cpuLimitPercent, 50);
  assert.equal(d.throttledPercent, 40);
  const free = derive(sample({ cgroup: { cpu: cpu(0n, 0n, 0n, null) } }), sample({ monoNs: 1_000_000_000n, cgroup: { cpu: cpu(1n, 0n, 0n, null) } }), GiB);
  assert.equal(free.cpuLimitPercent, undefined);
  assert.equal(free.throttledPercent, undefined);
  // A quota but no period elapsed (the group did not run): not throttled.
  assert.equal(derive(prev, sample({ monoNs: 1_000_000_000n, cgroup: { cpu: cpu(0n, 100n, 10n, 50_000n) } }), GiB).throttledPercent, 0);
});

test('memory cache: memory.stat cache as read; absent when not read', () => {
  assert.equal(derive(undefined, sample({ cgroup: { memory: { usageBytes: 10n, cacheBytes: 4096n } } }), GiB).memoryCacheBytes, 4096);
  assert.equal(derive(undefined, sample({ cgroup: { memory: { usageBytes: 10n } } }), GiB).memoryCacheBytes, undefined);
});
