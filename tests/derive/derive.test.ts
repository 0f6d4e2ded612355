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
  assert.equal(d.rates['cpu.usageNs'], 250_000_000);
  assert.equal(d.cpuCores, 0.25);
  assert.equal(d.cpuPercent, 25);
  // A restarted container: its CPU counter starts again from a small value.
  const restarted = derive(cur, sample({ usageNs: 5n, monoNs: 3_000_000_000n, systemCpuNs: 6_000_000_000n }), 8n * GiB);
  assert.equal(restarted.rates['cpu.usageNs'], undefined);
  assert.equal(restarted.cpuPercent, 0);
  assert.ok(Object.values(restarted.rates).every((r) => r >= 0));
});

test('first sample: no rates, CPU 0, memory figures present', () => {
  const d = derive(undefined, sample({ cgroup: { memory: { usageBytes: 2048n, inactiveFileBytes: 1024n, limitBytes: 4096n } } }), 8n * GiB);
  assert.deepEqual(d.rates, {});
  assert.equal(d.cpuPercent, 0);
  assert.equal(d.memoryUsageBytes, 1024);
  assert.equal(d.memoryPercent, 25);
});
