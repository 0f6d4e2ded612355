/**
 * A Store holding N running Docker-like containers with everything a real v1 sample carries
 * (full memory.stat, CFS quota, one block device, eth0 and lo, a rootfs, PSI), each with two
 * samples so derived figures exist. What /metrics and the stream render at scale, without
 * creating N containers.
 */
import type { ContainerInfo, HostSample, Sample } from '../../src/model.js';
import type { CgroupStats } from '../../src/kernel/types.js';
import type { NetInterfaceStats, ProcStatCpu } from '../../src/kernel/types.js';
import { derive } from '../../src/derive/index.js';
import { Store } from '../../src/store/store.js';

const MEMORY_STAT_KEYS = [
  'cache', 'rss', 'rss_huge', 'shmem', 'mapped_file', 'dirty', 'writeback', 'workingset_refault_anon', 'workingset_refault_file', 'swap',
  'pgpgin', 'pgpgout', 'pgfault', 'pgmajfault', 'inactive_anon', 'active_anon', 'inactive_file', 'active_file', 'unevictable',
];

function memoryStat(i: number): Record<string, bigint> {
  const stat: Record<string, bigint> = {};
  MEMORY_STAT_KEYS.forEach((k, j) => {
    stat[k] = BigInt(i * 4096 + j * 1_000_003);
    stat[`total_${k}`] = BigInt(i * 4096 + j * 1_000_003);
  });
  return stat;
}

function iface(name: string, n: bigint): NetInterfaceStats {
  return { name, rxBytes: n * 1500n, rxPackets: n, rxErrors: 0n, rxDropped: 0n, txBytes: n * 700n, txPackets: n, txErrors: 0n, txDropped: 0n };
}

function cgroupStats(i: number, tick: number): CgroupStats {
  const t = BigInt(tick);
  return {
    cpu: { usageNs: 123_456_789_012n * BigInt(i + 1) + t * 500_000_000n, userNs: 90_000_000_000n + t, systemNs: 30_000_000_000n + t, periods: 1000n + t * 10n, throttledPeriods: t, throttledNs: t * 1_000_000n, quotaUs: 50_000n, periodUs: 100_000n, shares: 1024n },
    memory: {
      usageBytes: BigInt(50 << 20) + BigInt(i),
      limitBytes: 268_435_456n,
      maxUsageBytes: BigInt(60 << 20),
      failcnt: 0n,
      rssBytes: BigInt(30 << 20),
      cacheBytes: BigInt(20 << 20),
      swapBytes: 0n,
      swapLimitBytes: 268_435_456n,
      inactiveFileBytes: BigInt(10 << 20),
      activeFileBytes: BigInt(10 << 20),
      mappedFileBytes: BigInt(1 << 20),
      oomKills: 0n,
      stat: memoryStat(i),
    },
    blkio: { source: 'blkio.throttle.io_service_bytes_recursive', devices: [{ major: 254, minor: 0, readBytes: BigInt(i) << 20n, writeBytes: t << 16n, reads: BigInt(i), writes: t, discardBytes: 0n }] },
    pids: { current: 3n, limit: null },
    pressure: {
      cpu: { some: { avg10: 0, avg60: 0, avg300: 0, totalUs: t * 1000n }, full: { avg10: 0, avg60: 0, avg300: 0, totalUs: t * 500n } },
      memory: { some: { avg10: 0, avg60: 0, avg300: 0, totalUs: 0n }, full: { avg10: 0, avg60: 0, avg300: 0, totalUs: 0n } },
      io: { some: { avg10: 0, avg60: 0, avg300: 0, totalUs: t }, full: { avg10: 0, avg60: 0, avg300: 0, totalUs: t } },
    },
  };
}

const cpuLine = (n: bigint): ProcStatCpu => ({ user: n, nice: 0n, system: n, idle: n, iowait: 0n, irq: 0n, softirq: 0n, steal: 0n, guest: 0n, guestNice: 0n });

function hostSample(timestampMs: number): HostSample {
  return {
    timestampMs,
    monoNs: BigInt(timestampMs) * 1_000_000n,
    stat: { total: cpuLine(BigInt(timestampMs)), perCpu: new Map([[0, cpuLine(1n)], [1, cpuLine(1n)]]) },
    meminfo: new Map([['MemTotal', 8_323_743_744n], ['SwapTotal', 0n]]),
    disks: [{ major: 254, minor: 0, name: 'vda', reads: 0n, readsMerged: 0n, sectorsRead: 0n, readTimeMs: 0n, writes: 0n, writesMerged: 0n, sectorsWritten: 0n, writeTimeMs: 0n, ioInProgress: 0n, ioTimeMs: 0n, weightedIoTimeMs: 0n }],
    network: [],
    filesystems: [],
  };
}

/** A Docker-like 64-hex id for container i. */
export const idOf = (i: number): string => (i.toString(16).padStart(8, '0') + 'c5a7e3b1').repeat(4);

export function containerInfo(i: number): ContainerInfo {
  const id = idOf(i);
  return {
    id,
    name: `app-${i}-web`,
    runtime: 'docker',
    image: `registry.example.com/team/service-${i % 20}:1.${i % 7}.0`,
    labels: { 'com.docker.compose.project': `proj${i % 10}`, 'com.example.team': `team-${i % 5}`, maintainer: 'someone@example.com' },
    state: 'running',
    cgroup: { version: 1, path: `/docker/${id}`, dirs: {} },
    network: { kind: 'own', pid: 1000 + i },
    createdMs: 1_700_000_000_000 + i,
    startedMs: 1_700_000_001_000 + i,
    mounts: [],
  };
}

/** Records tick `tick` (at `t0 + tick` seconds) for every container of the store. */
export function recordTick(store: Store, n: number, tick: number, t0Ms = 1_700_000_100_000): void {
  const timestampMs = t0Ms + tick * 1000;
  for (let i = 0; i < n; i++) {
    const id = idOf(i);
    const sample: Sample = {
      timestampMs,
      monoNs: BigInt(timestampMs) * 1_000_000n,
      cgroup: cgroupStats(i, tick),
      network: [iface('lo', 10n), iface('eth0', BigInt(i * 1000 + tick))],
      filesystems: [{ mountpoint: `/var/lib/docker/overlay2/${id}/diff`, device: '/dev/vda1', fsType: 'ext4', role: 'rootfs', totalBytes: 21_003_583_488n, freeBytes: 9_000_000_000n, availableBytes: 8_000_000_000n, usedBytes: 12_003_583_488n, inodes: 1_310_720n, inodesFree: 1_000_000n }],
      systemCpuNs: BigInt(timestampMs) * 2_000_000n,
      onlineCpus: 2,
    };
    store.record(id, sample, derive(store.get(id)?.latest, sample, 8_323_743_744n));
  }
  store.recordHost(hostSample(timestampMs));
}

/** A store with n containers and two ticks recorded. */
export function syntheticStore(n: number): Store {
  const store = new Store(16, 60_000);
  for (let i = 0; i < n; i++) store.upsert(containerInfo(i));
  recordTick(store, n, 0);
  recordTick(store, n, 1);
  return store;
}
