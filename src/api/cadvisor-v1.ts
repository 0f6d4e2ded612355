/**
 * cAdvisor's info/v1 types, field for field as google/cadvisor (v0.4x) marshals them
 * (info/v1/container.go, machine.go), built from the agent's samples: the containers it tracks
 * by their cgroup names, and the machine ("/") from the host samples. Go's encoding rules are
 * kept: `omitempty` drops empty slices, maps and zero numbers but never structs; key order is
 * the structs' field order; maps are written with sorted keys.
 *
 * What cstats does not measure is written as cAdvisor writes it when disabled: zeros for the
 * TCP/UDP tables, schedstat and task load. A container's process count is read when asked, so
 * only its latest point has one.
 */
import { interfaceCounters, type InterfaceCountersJson } from './interface-json.js';
import type { BlkioStats, CpuStats, DiskStat, FsStats, MemoryStats, NetInterfaceStats } from '../kernel/types.js';
import type { ContainerInfo, HostSample, LayerUsage, Sample } from '../model.js';
import type { MachineIdentity, MachineInventory } from '../collector/machine.js';
import { workingSet } from '../derive/docker.js';
import { busyNs, hostMemory, hostMemoryBytes } from '../derive/host.js';
import { goMap, goTime } from './go-format.js';

/** cAdvisor's isIgnoredDevice: interfaces it never reports. */
const IGNORED_INTERFACES = ['lo', 'veth', 'docker', 'nerdctl'];

const TCP_FIELDS = ['Established', 'SynSent', 'SynRecv', 'FinWait1', 'FinWait2', 'TimeWait', 'Close', 'CloseWait', 'LastAck', 'Listen', 'Closing'];
const UDP_FIELDS = ['Listen', 'Dropped', 'RxQueued', 'TxQueued'];
const TCP_ADVANCED_FIELDS = [
  'RtoAlgorithm', 'RtoMin', 'RtoMax', 'MaxConn', 'ActiveOpens', 'PassiveOpens', 'AttemptFails', 'EstabResets', 'CurrEstab',
  'InSegs', 'OutSegs', 'RetransSegs', 'InErrs', 'OutRsts', 'InCsumErrors', 'EmbryonicRsts', 'SyncookiesSent', 'SyncookiesRecv',
  'SyncookiesFailed', 'PruneCalled', 'RcvPruned', 'OfoPruned', 'OutOfWindowIcmps', 'LockDroppedIcmps', 'TW', 'TWRecycled',
  'TWKilled', 'TCPTimeWaitOverflow', 'TCPTimeouts', 'TCPSpuriousRTOs', 'TCPLossProbes', 'TCPLossProbeRecovery',
  'TCPRenoRecoveryFail', 'TCPSackRecoveryFail', 'TCPRenoFailures', 'TCPSackFailures', 'TCPLossFailures', 'DelayedACKs',
  'DelayedACKLocked', 'DelayedACKLost', 'ListenOverflows', 'ListenDrops', 'TCPHPHits', 'TCPPureAcks', 'TCPHPAcks',
  'TCPRenoRecovery', 'TCPSackRecovery', 'TCPSACKReneging', 'TCPFACKReorder', 'TCPSACKReorder', 'TCPRenoReorder',
  'TCPTSReorder', 'TCPFullUndo', 'TCPPartialUndo', 'TCPDSACKUndo', 'TCPLossUndo', 'TCPFastRetrans', 'TCPSlowStartRetrans',
  'TCPLostRetransmit', 'TCPRetransFail', 'TCPRcvCollapsed', 'TCPDSACKOldSent', 'TCPDSACKOfoSent', 'TCPDSACKRecv',
  'TCPDSACKOfoRecv', 'TCPAbortOnData', 'TCPAbortOnClose', 'TCPAbortOnMemory', 'TCPAbortOnTimeout', 'TCPAbortOnLinger',
  'TCPAbortFailed', 'TCPMemoryPressures', 'TCPMemoryPressuresChrono', 'TCPSACKDiscard', 'TCPDSACKIgnoredOld',
  'TCPDSACKIgnoredNoUndo', 'TCPMD5NotFound', 'TCPMD5Unexpected', 'TCPMD5Failure', 'TCPSackShifted', 'TCPSackMerged',
  'TCPSackShiftFallback', 'TCPBacklogDrop', 'PFMemallocDrop', 'TCPMinTTLDrop', 'TCPDeferAcceptDrop', 'IPReversePathFilter',
  'TCPReqQFullDoCookies', 'TCPReqQFullDrop', 'TCPFastOpenActive', 'TCPFastOpenActiveFail', 'TCPFastOpenPassive',
  'TCPFastOpenPassiveFail', 'TCPFastOpenListenOverflow', 'TCPFastOpenCookieReqd', 'TCPSynRetrans', 'TCPOrigDataSent',
  'PAWSActive', 'PAWSEstab',
];
const zeros = (fields: readonly string[]) => Object.fromEntries(fields.map((f) => [f, 0]));
export const TCP_ZERO = zeros(TCP_FIELDS);
export const UDP_ZERO = zeros(UDP_FIELDS);
export const TCP_ADVANCED_ZERO = zeros(TCP_ADVANCED_FIELDS);

/** v1 InterfaceStats. */
export interface InterfaceJson extends InterfaceCountersJson {
  name: string;
}

export function interfaceJson(i: NetInterfaceStats): InterfaceJson {
  return { name: i.name, ...interfaceCounters(i) };
}

/** The interfaces cAdvisor reports for a network namespace. */
export function reportedInterfaces(ifaces: readonly NetInterfaceStats[] | undefined): NetInterfaceStats[] {
  return (ifaces ?? []).filter((i) => !IGNORED_INTERFACES.some((p) => i.name.startsWith(p)));
}

const NO_INTERFACE = interfaceJson({ name: '', rxBytes: 0n, rxPackets: 0n, rxErrors: 0n, rxDropped: 0n, txBytes: 0n, txPackets: 0n, txErrors: 0n, txDropped: 0n });

/** v1 NetworkStats: the first interface inline, then all of them, then the (unmeasured) tables. */
function networkJson(ifaces: readonly NetInterfaceStats[] | undefined) {
  const kept = reportedInterfaces(ifaces).map(interfaceJson);
  return { ...(kept[0] ?? NO_INTERFACE), interfaces: kept.length > 0 ? kept : undefined, tcp: TCP_ZERO, tcp6: TCP_ZERO, udp: UDP_ZERO, udp6: UDP_ZERO, tcp_advanced: TCP_ADVANCED_ZERO };
}

export interface CpuJson {
  usage: { total: bigint; per_cpu_usage?: bigint[]; user: bigint; system: bigint };
  cfs: { periods: bigint; throttled_periods: bigint; throttled_time: bigint };
  schedstat: { run_time: 0; runqueue_time: 0; run_periods: 0 };
  load_average: 0;
}

const SCHEDSTAT_ZERO = { run_time: 0 as const, runqueue_time: 0 as const, run_periods: 0 as const };

function cpuJson(cpu: CpuStats | undefined): CpuJson {
  return {
    usage: { total: cpu?.usageNs ?? 0n, per_cpu_usage: cpu?.perCpuNs?.length ? cpu.perCpuNs : undefined, user: cpu?.userNs ?? 0n, system: cpu?.systemNs ?? 0n },
    cfs: { periods: cpu?.periods ?? 0n, throttled_periods: cpu?.throttledPeriods ?? 0n, throttled_time: cpu?.throttledNs ?? 0n },
    schedstat: SCHEDSTAT_ZERO,
    load_average: 0,
  };
}

export interface MemoryJson {
  usage: bigint;
  max_usage: bigint;
  cache: bigint;
  rss: bigint;
  swap: bigint;
  mapped_file: bigint;
  working_set: bigint;
  failcnt: bigint;
  container_data: { pgfault: bigint; pgmajfault: bigint; numa_stats: object };
  hierarchical_data: { pgfault: bigint; pgmajfault: bigint; numa_stats: object };
}

/** memory.stat keys for this cgroup only and for its hierarchy: v1 prefixes total_, v2 is always hierarchical. */
function faults(stat: Record<string, bigint>, hierarchical: boolean, version: 1 | 2) {
  const key = (k: string) => (hierarchical && version === 1 ? `total_${k}` : k);
  return { pgfault: stat[key('pgfault')] ?? 0n, pgmajfault: stat[key('pgmajfault')] ?? 0n, numa_stats: {} };
}

function memoryJson(mem: MemoryStats | undefined, version: 1 | 2): MemoryJson {
  const stat = mem?.stat ?? {};
  return {
    usage: mem?.usageBytes ?? 0n,
    max_usage: mem?.maxUsageBytes ?? 0n,
    cache: mem?.cacheBytes ?? 0n,
    rss: mem?.rssBytes ?? 0n,
    swap: mem?.swapBytes ?? 0n,
    mapped_file: mem?.mappedFileBytes ?? 0n,
    working_set: workingSet(mem),
    failcnt: mem?.failcnt ?? 0n,
    container_data: faults(stat, false, version),
    hierarchical_data: faults(stat, true, version),
  };
}

/**
 * v1 DiskIoStats, as libcontainer reads the controller: per device a map of operations, with
 * the kernel's Total (read + write + discard) on v1 and only Read and Write from v2's io.stat.
 */
function diskIoJson(blkio: BlkioStats | undefined, version: 1 | 2, names: ReadonlyMap<string, string>) {
  const devices = blkio?.devices ?? [];
  const per = (bytes: boolean) =>
    devices.map((d) => {
      const read = bytes ? d.readBytes : d.reads;
      const write = bytes ? d.writeBytes : d.writes;
      const discard = bytes ? d.discardBytes : d.discards;
      const stats: Record<string, bigint> = {};
      if (version === 1 && discard !== undefined) stats.Discard = discard;
      stats.Read = read;
      if (version === 1) stats.Total = read + write + (discard ?? 0n);
      stats.Write = write;
      return { device: names.get(`${d.major}:${d.minor}`) ?? '', major: d.major, minor: d.minor, stats };
    });
  return devices.length > 0 ? { io_service_bytes: per(true), io_serviced: per(false) } : {};
}

/** cAdvisor's filesystem type names: its own three kinds, VFS for everything else. */
export function cadvisorFsType(fsType: string): string {
  if (fsType === 'zfs') return 'zfs';
  return fsType.startsWith('nfs') ? 'nfs' : 'vfs';
}

/** /proc/diskstats of the device a filesystem is mounted from ("/dev/vda1" → "vda1"). */
export function diskOf(fs: FsStats, disks: readonly DiskStat[]): DiskStat | undefined {
  const name = fs.device.replace(/^\/dev\//, '');
  return disks.find((d) => d.name === name);
}

/** v1 FsStats of a host filesystem: statfs figures and the device's I/O counters. */
export function hostFsJson(fs: FsStats, disks: readonly DiskStat[]) {
  const d = diskOf(fs, disks);
  return {
    device: fs.device || undefined,
    type: cadvisorFsType(fs.fsType),
    capacity: fs.totalBytes,
    usage: fs.usedBytes,
    base_usage: 0n,
    available: fs.availableBytes,
    has_inodes: true,
    inodes: fs.inodes,
    inodes_free: fs.inodesFree,
    reads_completed: d?.reads ?? 0n,
    reads_merged: d?.readsMerged ?? 0n,
    sectors_read: d?.sectorsRead ?? 0n,
    read_time: d?.readTimeMs ?? 0n,
    writes_completed: d?.writes ?? 0n,
    writes_merged: d?.writesMerged ?? 0n,
    sectors_written: d?.sectorsWritten ?? 0n,
    write_time: d?.writeTimeMs ?? 0n,
    io_in_progress: d?.ioInProgress ?? 0n,
    io_time: d?.ioTimeMs ?? 0n,
    weighted_io_time: d?.weightedIoTimeMs ?? 0n,
  };
}

export type HostFsJson = ReturnType<typeof hostFsJson>;

/**
 * v1 FsStats of a container, as cAdvisor's Docker handler fills it: the device and capacity of
 * the filesystem its layer is on, the bytes its own files use (total and base usage) and the
 * inodes of its layer in `inodes`; nothing else.
 */
export function containerFsJson(fs: FsStats, u: LayerUsage): HostFsJson {
  return { ...hostFsJson(fs, []), usage: u.totalBytes, base_usage: u.baseBytes, available: 0n, has_inodes: false, inodes: u.inodes, inodes_free: 0n };
}

const TASK_STATS_ZERO = { nr_sleeping: 0, nr_running: 0, nr_stopped: 0, nr_uninterruptible: 0, nr_io_wait: 0 };

export interface StatsJson {
  timestamp: string;
  cpu: CpuJson;
  diskio: ReturnType<typeof diskIoJson>;
  memory: MemoryJson;
  network: ReturnType<typeof networkJson>;
  filesystem?: HostFsJson[];
  task_stats: typeof TASK_STATS_ZERO;
  /** fd_count and socket_count (cAdvisor walks every process's fds for them) are not read, so not written. */
  processes: { process_count?: bigint; threads_current?: bigint; threads_max?: bigint };
  resctrl: object;
  cpuset: { memory_migrate: 0 };
  oom_events?: bigint;
}

/** One v1 ContainerStats and the instant it stands for: wall time for windows, monotonic for rates. */
export interface StatPoint {
  timeMs: number;
  monoNs: bigint;
  stats: StatsJson;
}

/** v1 ContainerStats of one container sample, with its process count when one was read for its tick (else none: never a 0 not counted). */
export function containerStatsJson(s: Sample, version: 1 | 2, names: ReadonlyMap<string, string>, processCount?: bigint): StatsJson {
  const pids = s.cgroup.pids;
  const mem = s.cgroup.memory;
  const oom = mem?.oomEvents ?? mem?.oomKills;
  const rootfs = s.filesystems?.find((f) => f.role === 'rootfs');
  return {
    timestamp: goTime(s.timestampMs),
    cpu: cpuJson(s.cgroup.cpu),
    diskio: diskIoJson(s.cgroup.blkio, version, names),
    memory: memoryJson(mem, version),
    network: networkJson(s.network),
    filesystem: rootfs && s.layerUsage ? [containerFsJson(rootfs, s.layerUsage)] : undefined,
    task_stats: TASK_STATS_ZERO,
    // pids.current counts tasks: the threads; the processes are counted from cgroup.procs.
    processes: {
      process_count: processCount,
      threads_current: pids?.current || undefined,
      threads_max: pids?.limit || undefined,
    },
    resctrl: {},
    cpuset: { memory_migrate: 0 },
    oom_events: oom || undefined,
  };
}

/** v1 ContainerStats of the machine ("/"), from one host sample. */
export function machineStatsJson(h: HostSample): StatsJson {
  const total = busyNs(h.stat.total);
  const perCpu = [...h.stat.perCpu.entries()].sort(([a], [b]) => a - b).map(([, c]) => busyNs(c));
  const m = hostMemory(h.meminfo);
  return {
    timestamp: goTime(h.timestampMs),
    cpu: {
      usage: { total: total.user + total.system, per_cpu_usage: perCpu.map((c) => c.user + c.system), user: total.user, system: total.system },
      cfs: { periods: 0n, throttled_periods: 0n, throttled_time: 0n },
      schedstat: SCHEDSTAT_ZERO,
      load_average: 0,
    },
    diskio: {},
    memory: {
      usage: m.usage,
      max_usage: 0n,
      cache: m.cache,
      rss: m.rss,
      swap: m.swap,
      mapped_file: m.mapped,
      working_set: m.workingSet,
      failcnt: 0n,
      container_data: { pgfault: 0n, pgmajfault: 0n, numa_stats: {} },
      hierarchical_data: { pgfault: 0n, pgmajfault: 0n, numa_stats: {} },
    },
    network: networkJson(h.network),
    filesystem: h.filesystems.map((fs) => hostFsJson(fs, h.disks)),
    task_stats: TASK_STATS_ZERO,
    // /proc/loadavg's total counts threads (scheduling entities), not processes.
    processes: { threads_current: h.loadavg === undefined ? undefined : BigInt(h.loadavg.total) },
    resctrl: {},
    cpuset: { memory_migrate: 0 },
  };
}

/** cAdvisor's v2 conversion of a cgroup v2 cpu.weight into v1 shares. */
function weightToShares(weight: bigint): bigint {
  return 2n + ((weight - 1n) * 262142n) / 9999n;
}

/** What the kernel writes for "no limit": v2's "max" reads as math.MaxUint64, v1's as PAGE_COUNTER_MAX pages. */
function unlimited(version: 1 | 2): bigint {
  return version === 2 ? 2n ** 64n - 1n : 9223372036854771712n;
}

/** v1 ContainerSpec of a container, from its latest sample (limits) and discovery (identity). */
export function containerSpecJson(info: ContainerInfo, s: Sample | undefined) {
  const version = info.cgroup.version;
  const cpu = s?.cgroup.cpu;
  const mem = s?.cgroup.memory;
  const pids = s?.cgroup.pids;
  const memLimit = mem?.limitBytes === null ? unlimited(version) : mem?.limitBytes;
  // v1 memory.memsw.limit_in_bytes is memory + swap; cstats keeps the swap part.
  const swapLimit =
    mem?.swapLimitBytes === undefined ? undefined : mem.swapLimitBytes === null || mem.limitBytes == null ? unlimited(version) : version === 1 ? mem.swapLimitBytes + mem.limitBytes : mem.swapLimitBytes;
  const shares = version === 1 ? cpu?.shares : cpu?.weight !== undefined ? weightToShares(cpu.weight) : undefined;
  return {
    creation_time: goTime(info.createdMs),
    labels: Object.keys(info.labels).length > 0 ? info.labels : undefined,
    has_cpu: cpu !== undefined,
    cpu: { limit: shares ?? 0n, max_limit: 0, quota: cpu?.quotaUs || undefined, period: cpu?.periodUs || undefined },
    has_memory: mem !== undefined,
    memory: { limit: memLimit || undefined, swap_limit: swapLimit || undefined },
    has_hugetlb: false,
    has_network: s?.network !== undefined && info.network.kind !== 'host',
    has_processes: pids !== undefined,
    processes: { limit: pids?.limit || undefined },
    has_filesystem: info.rootfsPath !== undefined,
    has_diskio: s?.cgroup.blkio !== undefined,
    has_custom_metrics: false,
    image: info.image || undefined,
  };
}

export type SpecJson = ReturnType<typeof containerSpecJson>;

/** v1 ContainerSpec of the machine ("/"). */
export function machineSpecJson(h: HostSample, bootMs: number): SpecJson {
  return {
    creation_time: goTime(bootMs),
    labels: undefined,
    has_cpu: true,
    cpu: { limit: 1024n, max_limit: 0, quota: undefined, period: undefined },
    has_memory: true,
    memory: { limit: hostMemoryBytes(h) || undefined, swap_limit: h.meminfo.get('SwapTotal') || undefined },
    has_hugetlb: false,
    has_network: true,
    has_processes: true,
    processes: { limit: undefined },
    has_filesystem: true,
    has_diskio: false,
    has_custom_metrics: false,
    image: undefined,
  };
}

/**
 * v1 MachineInfo: memory from the host samples, the hardware as read from sysfs and cpuinfo
 * (collector/machine.ts), the identity. A figure the host does not give (no cpufreq and no MHz
 * in cpuinfo, no CPU topology) is left out, never written as 0.
 */
export function machineInfoJson(h: HostSample, id: MachineIdentity, hw: MachineInventory) {
  const mem = h.meminfo;
  const hugePageBytes = mem.get('Hugepagesize');
  return {
    timestamp: goTime(h.timestampMs),
    vendor_id: hw.vendorId,
    num_cores: hw.numCores,
    num_physical_cores: hw.numPhysicalCores,
    num_sockets: hw.numSockets,
    cpu_frequency_khz: hw.cpuFrequencyKhz,
    memory_capacity: mem.get('MemTotal'),
    swap_capacity: mem.get('SwapTotal'),
    memory_by_type: hw.memoryByType,
    // nvm (Optane capacities) needs Intel's libipmctl: not read, so not written.
    hugepages: hugePageBytes ? [{ page_size: hugePageBytes / 1024n, num_pages: mem.get('HugePages_Total') ?? 0n }] : [],
    machine_id: id.machineId,
    system_uuid: id.systemUuid,
    boot_id: id.bootId,
    filesystems: h.filesystems.map((fs) => ({ device: fs.device, capacity: fs.totalBytes, type: cadvisorFsType(fs.fsType), inodes: fs.inodes, has_inodes: true })),
    disk_map: goMap(Object.fromEntries(hw.disks.map((d) => [`${d.major}:${d.minor}`, d]))),
    network_devices: hw.networkDevices,
    topology: hw.topology,
    cloud_provider: 'Unknown',
    instance_type: 'Unknown',
    instance_id: 'None',
  };
}

export function containerPoint(s: Sample, version: 1 | 2, names: ReadonlyMap<string, string>, processCount?: bigint): StatPoint {
  return { timeMs: s.timestampMs, monoNs: s.monoNs, stats: containerStatsJson(s, version, names, processCount) };
}

export function machinePoint(h: HostSample): StatPoint {
  return { timeMs: h.timestampMs, monoNs: h.monoNs, stats: machineStatsJson(h) };
}
