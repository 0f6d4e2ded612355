/** Samples and entries shared by the cAdvisor and kubelet shape tests. */
import type { ContainerInfo, HostSample, Sample } from '../../../src/model.js';
import type { ProcStatCpu } from '../../../src/kernel/types.js';

export const ID = 'c'.repeat(64);

export function info(over: Partial<ContainerInfo> = {}): ContainerInfo {
  return {
    id: ID,
    name: 'web',
    runtime: 'docker',
    image: 'busybox:local',
    labels: { tier: 'web' },
    state: 'running',
    cgroup: { version: 2, path: `/system.slice/docker-${ID}.scope`, dir: '' },
    network: { kind: 'own', pid: 1 },
    createdMs: Date.UTC(2026, 0, 1),
    startedMs: Date.UTC(2026, 0, 1, 0, 0, 1),
    mounts: [],
    ...over,
  };
}

/** A v2 sample at `t` ms with `usageNs` of CPU; limits unlimited ("max"), one disk, eth0 and lo. */
export function sample(t: number, usageNs: bigint): Sample {
  return {
    timestampMs: t,
    monoNs: BigInt(t) * 1_000_000n,
    systemCpuNs: 0n,
    onlineCpus: 2,
    cgroup: {
      cpu: { usageNs, userNs: usageNs / 2n, systemNs: usageNs / 4n, periods: 10n, throttledPeriods: 2n, throttledNs: 3000n, quotaUs: null, periodUs: 100000n, weight: 100n },
      memory: {
        usageBytes: 50n << 20n,
        limitBytes: null,
        maxUsageBytes: 60n << 20n,
        rssBytes: 30n << 20n,
        cacheBytes: 20n << 20n,
        inactiveFileBytes: 5n << 20n,
        swapBytes: 0n,
        swapLimitBytes: null,
        failcnt: 0n,
        stat: { pgfault: 1234n, pgmajfault: 5n },
      },
      blkio: { devices: [{ major: 254, minor: 0, readBytes: 4096n, writeBytes: 8192n, reads: 1n, writes: 2n, discardBytes: 0n, discards: 0n }], source: 'io.stat' },
      pids: { current: 3n, limit: null },
    },
    network: [
      { name: 'lo', rxBytes: 9n, rxPackets: 1n, rxErrors: 0n, rxDropped: 0n, txBytes: 9n, txPackets: 1n, txErrors: 0n, txDropped: 0n },
      { name: 'eth0', rxBytes: 2n ** 60n, rxPackets: 7n, rxErrors: 0n, rxDropped: 0n, txBytes: 300n, txPackets: 3n, txErrors: 0n, txDropped: 0n },
    ],
    filesystems: [
      { mountpoint: '/var/lib/docker/overlay2/x/diff', device: '/dev/vda1', fsType: 'ext4', role: 'rootfs', destination: '/', totalBytes: 100n << 30n, freeBytes: 60n << 30n, availableBytes: 55n << 30n, usedBytes: 40n << 30n, inodes: 1000n, inodesFree: 900n },
    ],
  };
}

const cpuLine = (busyTicks: bigint, idle: bigint): ProcStatCpu => ({ user: busyTicks, nice: 0n, system: 0n, idle, iowait: 0n, irq: 0n, softirq: 0n, steal: 0n, guest: 0n, guestNice: 0n });

/** A host sample at `t` ms with `busyTicks` of CPU time spread over two CPUs. */
export function host(t: number, busyTicks: bigint): HostSample {
  return {
    timestampMs: t,
    monoNs: BigInt(t) * 1_000_000n,
    stat: { total: cpuLine(busyTicks, 1000n), perCpu: new Map([[0, cpuLine(busyTicks / 2n, 500n)], [1, cpuLine(busyTicks / 2n, 500n)]]), bootTimeSec: 1767225600n },
    meminfo: new Map([
      ['MemTotal', 8n << 30n],
      ['MemFree', 6n << 30n],
      ['Inactive(file)', 1n << 30n],
      ['Cached', 1n << 30n],
      ['Buffers', 0n],
      ['AnonPages', 512n << 20n],
      ['SwapTotal', 0n],
      ['SwapFree', 0n],
      ['Mapped', 1n << 20n],
      ['Hugepagesize', 2n << 20n],
      ['HugePages_Total', 0n],
    ]),
    loadavg: { load1: 0.5, load5: 0.4, load15: 0.3, runnable: 1, total: 321, lastPid: 999 },
    disks: [
      { major: 254, minor: 0, name: 'vda', reads: 10n, readsMerged: 1n, sectorsRead: 80n, readTimeMs: 7n, writes: 20n, writesMerged: 2n, sectorsWritten: 160n, writeTimeMs: 9n, ioInProgress: 0n, ioTimeMs: 11n, weightedIoTimeMs: 13n },
      { major: 254, minor: 1, name: 'vda1', reads: 5n, readsMerged: 0n, sectorsRead: 40n, readTimeMs: 3n, writes: 6n, writesMerged: 0n, sectorsWritten: 48n, writeTimeMs: 4n, ioInProgress: 0n, ioTimeMs: 5n, weightedIoTimeMs: 6n },
    ],
    network: [
      { name: 'lo', rxBytes: 1n, rxPackets: 1n, rxErrors: 0n, rxDropped: 0n, txBytes: 1n, txPackets: 1n, txErrors: 0n, txDropped: 0n },
      { name: 'eth0', rxBytes: 1000n, rxPackets: 10n, rxErrors: 1n, rxDropped: 0n, txBytes: 2000n, txPackets: 20n, txErrors: 2n, txDropped: 0n },
      { name: 'veth1234', rxBytes: 5n, rxPackets: 1n, rxErrors: 0n, rxDropped: 0n, txBytes: 5n, txPackets: 1n, txErrors: 0n, txDropped: 0n },
    ],
    filesystems: [
      { mountpoint: '/', device: '/dev/vda1', fsType: 'ext4', role: 'host', totalBytes: 100n << 30n, freeBytes: 60n << 30n, availableBytes: 55n << 30n, usedBytes: 40n << 30n, inodes: 1000n, inodesFree: 900n },
    ],
  };
}
