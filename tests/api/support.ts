/**
 * Stores for API tests: containers sampled from the real v1 fixture tree (kernel 6.18), plus
 * hand-made samples with values past 2^53, and a host sample.
 */
import { statCgroupV1 } from '../../src/kernel/cgroup/v1/index.js';
import type { CgroupStats } from '../../src/kernel/types.js';
import type { NetInterfaceStats, ProcStatCpu } from '../../src/kernel/types.js';
import type { ContainerInfo, HostSample, Sample } from '../../src/model.js';
import { derive } from '../../src/derive/index.js';
import { Store } from '../../src/store/store.js';
import { diskContext } from '../kernel/context.js';

export const U64_MAX = 18446744073709551615n;
const TREE = 'tests/fixtures/kernel/cgroup1-6.18';

/** What the fixture cgroup "kt" holds: 64 MiB limit, 0.5 CPU quota, 8 MiB read and written on vda. */
export function fixtureCgroup(): CgroupStats {
  const dirs = { cpu: `${TREE}/cpu/kt`, cpuacct: `${TREE}/cpuacct/kt`, memory: `${TREE}/memory/kt`, blkio: `${TREE}/blkio/kt`, pids: `${TREE}/pids/kt` };
  const { ctx, errors } = diskContext();
  const stats = statCgroupV1(ctx, dirs);
  if (errors.length > 0) throw new Error(`fixture tree: ${errors.join('; ')}`);
  return stats;
}

export function iface(name: string, n: bigint): NetInterfaceStats {
  return { name, rxBytes: n, rxPackets: n + 1n, rxErrors: n + 2n, rxDropped: n + 3n, txBytes: n + 4n, txPackets: n + 5n, txErrors: n + 6n, txDropped: n + 7n };
}

export function containerInfo(id: string, name: string, extra: Partial<ContainerInfo> = {}): ContainerInfo {
  return {
    id,
    name,
    runtime: 'docker',
    image: 'busybox:local',
    labels: {},
    state: 'running',
    cgroup: { version: 1, path: `/docker/${id}`, dirs: {} },
    network: { kind: 'own', pid: 1 },
    createdMs: 1_700_000_000_250,
    startedMs: 1_700_000_001_750,
    mounts: [],
    ...extra,
  };
}

export function sampleOf(cgroup: CgroupStats, timestampMs: number, extra: Partial<Sample> = {}): Sample {
  return { timestampMs, monoNs: BigInt(timestampMs) * 1_000_000n, cgroup, systemCpuNs: BigInt(timestampMs) * 2_000_000n, onlineCpus: 2, ...extra };
}

const cpuLine = (n: bigint): ProcStatCpu => ({ user: n, nice: 0n, system: n, idle: n, iowait: 0n, irq: 0n, softirq: 0n, steal: 0n, guest: 0n, guestNice: 0n });

export function hostSample(timestampMs: number): HostSample {
  return {
    timestampMs,
    monoNs: BigInt(timestampMs) * 1_000_000n,
    stat: { total: cpuLine(200n), perCpu: new Map([[0, cpuLine(100n)], [1, cpuLine(100n)]]) },
    meminfo: new Map([['MemTotal', 8_323_743_744n], ['SwapTotal', 0n]]),
    disks: [{ major: 254, minor: 0, name: 'vda', reads: 0n, readsMerged: 0n, sectorsRead: 0n, readTimeMs: 0n, writes: 0n, writesMerged: 0n, sectorsWritten: 0n, writeTimeMs: 0n, ioInProgress: 0n, ioTimeMs: 0n, weightedIoTimeMs: 0n }],
    network: [],
    filesystems: [],
  };
}

/** Records `sample` for `info` (two ticks, so derived figures exist) in `store`. */
export function put(store: Store, info: ContainerInfo, sample: Sample): void {
  store.upsert(info);
  const before = { ...sample, timestampMs: sample.timestampMs - 1000, monoNs: sample.monoNs - 1_000_000_000n };
  store.record(info.id, before, derive(undefined, before, 8_323_743_744n));
  store.record(info.id, sample, derive(before, sample, 8_323_743_744n));
}

export const ID_A = 'a'.repeat(64);
export const ID_B = 'b'.repeat(64);
export const ID_C = 'c'.repeat(64);
export const T = 1_700_000_100_900;

/**
 * A: the fixture cgroup, labels that need escaping, lo + eth0, a rootfs. B: u64 extremes (CPU
 * time 2^64-1 ns, eth0 byte counter 2^64-1). C: exited, so never reported.
 */
export function fixtureStore(): Store {
  const store = new Store(10, 60_000);
  const a = containerInfo(ID_A, 'web', {
    image: 'nginx:1.25',
    labels: { 'com.example.team': 'pay"ments\\eu\nwest', secret: 'do-not-export' },
  });
  put(store, a, sampleOf(fixtureCgroup(), T, {
    network: [iface('lo', 100n), iface('eth0', 1000n)],
    filesystems: [
      { mountpoint: '/var/lib/docker/overlay2/x/diff', device: '/dev/vda1', fsType: 'ext4', role: 'rootfs', totalBytes: 21_003_583_488n, freeBytes: 1n, availableBytes: 1n, usedBytes: 1n, inodes: 1_310_720n, inodesFree: 1_000_000n },
      { mountpoint: '/srv/data', device: '/dev/vdb', fsType: 'ext4', role: 'volume', destination: '/data', totalBytes: 1n, freeBytes: 1n, availableBytes: 1n, usedBytes: 1n, inodes: 1n, inodesFree: 1n },
    ],
  }));
  put(store, containerInfo(ID_B, 'big'), sampleOf({ cpu: { usageNs: U64_MAX, userNs: 9_007_199_254_740_993n, systemNs: 1n } }, T, { network: [iface('eth0', U64_MAX - 7n)] }));
  put(store, containerInfo(ID_C, 'gone', { state: 'exited' }), sampleOf({ cpu: { usageNs: 5n } }, T));
  store.recordHost(hostSample(T));
  return store;
}
