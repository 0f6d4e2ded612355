import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveHost } from '../../src/derive/host.js';
import type { HostSample } from '../../src/model.js';
import type { ProcStatCpu } from '../../src/kernel/types.js';

const cpu = (busy: bigint, idle: bigint): ProcStatCpu => ({ user: busy, nice: 0n, system: 0n, idle, iowait: 0n, irq: 0n, softirq: 0n, steal: 0n, guest: busy, guestNice: 0n });
const disk = (sectorsRead: bigint, sectorsWritten: bigint) =>
  ({ major: 8, minor: 0, name: 'sda', reads: 0n, readsMerged: 0n, sectorsRead, readTimeMs: 0n, writes: 0n, writesMerged: 0n, sectorsWritten, writeTimeMs: 0n, ioInProgress: 0n, ioTimeMs: 0n, weightedIoTimeMs: 0n });
const net = (rxBytes: bigint, txBytes: bigint) => ({ name: 'eth0', rxBytes, txBytes, rxPackets: 0n, rxErrors: 0n, rxDropped: 0n, txPackets: 0n, txErrors: 0n, txDropped: 0n });

function host(monoNs: bigint, busy: bigint, idle: bigint, sectors: bigint, bytes: bigint): HostSample {
  return {
    timestampMs: 0,
    monoNs,
    stat: { total: cpu(busy, idle), perCpu: new Map([[0, cpu(0n, 0n)], [1, cpu(0n, 0n)]]) },
    meminfo: new Map([['MemTotal', 1000n], ['MemAvailable', 400n]]),
    disks: [disk(sectors, 2n * sectors)],
    network: [net(bytes, 2n * bytes)],
    filesystems: [],
  };
}

test('host: busy share of all CPUs (guest counted once, in user), memory in use, disk and net rates', () => {
  // 2 s: 150 busy ticks and 50 idle ticks → 75 %; 1.5 cores of 2.
  const d = deriveHost(host(0n, 100n, 100n, 0n, 0n), host(2_000_000_000n, 250n, 150n, 1000n, 4000n));
  assert.equal(d.cpuPercent, 75);
  assert.equal(d.cpuBusyCores, 1.5);
  assert.equal(d.memoryUsedBytes, 600);
  assert.deepEqual(d.disks, [{ name: 'sda', readBytesPerSecond: 256_000, writeBytesPerSecond: 512_000 }]);
  assert.deepEqual(d.networks, [{ name: 'eth0', rxBytesPerSecond: 2000, txBytesPerSecond: 4000 }]);
});

test('host: no previous sample, no rates; a counter that went back gives none either', () => {
  const first = deriveHost(undefined, host(0n, 100n, 100n, 10n, 10n));
  assert.equal(first.cpuPercent, undefined);
  assert.equal(first.disks[0].readBytesPerSecond, undefined);
  const back = deriveHost(host(0n, 100n, 100n, 10n, 10n), host(1_000_000_000n, 200n, 200n, 5n, 5n));
  assert.equal(back.disks[0].readBytesPerSecond, undefined);
  assert.equal(back.networks[0].rxBytesPerSecond, undefined);
});
