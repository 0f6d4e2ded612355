/**
 * cAdvisor's info/v2 types, built from the v1 ones exactly as cAdvisor converts them
 * (info/v2/conversion.go): ContainerStats and the deprecated v2.0 stats, ContainerSpec,
 * MachineStats with MachineFsStats, and DerivedStats (the summary) from the history window.
 */
import type { DiskStat, FsStats } from '../kernel/types.js';
import type { HostSample } from '../model.js';
import { cadvisorFsType, diskOf, TCP_ADVANCED_ZERO, TCP_ZERO, UDP_ZERO, type SpecJson, type StatPoint } from './cadvisor-v1.js';
import { goTime } from './go-format.js';
import { nanoCores } from '../derive/counters.js';

/**
 * cAdvisor's InstCpuStats: nanocores between two points, none for the first. The interval is
 * the monotonic one between the two reads of this container, as cAdvisor times each read.
 */
export function cpuInst(last: StatPoint | undefined, cur: StatPoint) {
  if (!last || cur.monoNs <= last.monoNs) return undefined;
  const ns = Number(cur.monoNs - last.monoNs);
  const rate = (a: bigint, b: bigint) => nanoCores(a, b, ns);
  const [u0, u1] = [last.stats.cpu.usage, cur.stats.cpu.usage];
  const total = rate(u0.total, u1.total);
  const user = rate(u0.user, u1.user);
  const system = rate(u0.system, u1.system);
  const p0 = u0.per_cpu_usage ?? [];
  const p1 = u1.per_cpu_usage ?? [];
  const perCpu = p0.length === p1.length ? p0.map((v, i) => rate(v, p1[i])) : undefined;
  if (total === undefined || user === undefined || system === undefined || !perCpu || perCpu.some((v) => v === undefined)) return undefined;
  return { usage: { total, per_cpu_usage: perCpu.length > 0 ? (perCpu as bigint[]) : undefined, user, system } };
}

/** v2 NetworkStats as the conversion fills it: interfaces and the TCP tables; UDP and advanced zero. */
function v2Network(stats: StatPoint['stats']) {
  return { interfaces: stats.network.interfaces, tcp: TCP_ZERO, tcp6: TCP_ZERO, udp: UDP_ZERO, udp6: UDP_ZERO, tcp_advanced: TCP_ADVANCED_ZERO };
}

/** v2 FilesystemStats: the conversion takes a container's one filesystem, and leaves several out. */
function v2Filesystem(stats: StatPoint['stats']) {
  const fs = stats.filesystem;
  if (fs?.length !== 1) return undefined;
  return { totalUsageBytes: fs[0].usage, baseUsageBytes: fs[0].base_usage, inodeUsage: fs[0].inodes };
}

/** v2 ContainerStats series (the /api/v2.1/stats answer). */
export function v2Stats(spec: SpecJson, points: readonly StatPoint[]) {
  return points.map((p, i) => ({
    timestamp: p.stats.timestamp,
    cpu: spec.has_cpu ? p.stats.cpu : undefined,
    cpu_inst: spec.has_cpu ? cpuInst(points[i - 1], p) : undefined,
    diskio: spec.has_diskio ? p.stats.diskio : undefined,
    memory: spec.has_memory ? p.stats.memory : undefined,
    network: spec.has_network ? v2Network(p.stats) : undefined,
    processes: spec.has_processes ? p.stats.processes : undefined,
    filesystem: spec.has_filesystem ? v2Filesystem(p.stats) : undefined,
    resctrl: {},
  }));
}

const ZERO_CPU = {
  usage: { total: 0, user: 0, system: 0 },
  cfs: { periods: 0, throttled_periods: 0, throttled_time: 0 },
  schedstat: { run_time: 0, runqueue_time: 0, run_periods: 0 },
  load_average: 0,
};
const ZERO_DATA = { pgfault: 0, pgmajfault: 0, numa_stats: {} };
const ZERO_MEMORY = { usage: 0, max_usage: 0, cache: 0, rss: 0, swap: 0, mapped_file: 0, working_set: 0, failcnt: 0, container_data: ZERO_DATA, hierarchical_data: ZERO_DATA };
const ZERO_LOAD = { nr_sleeping: 0, nr_running: 0, nr_stopped: 0, nr_uninterruptible: 0, nr_io_wait: 0 };

/**
 * The deprecated v2.0 stats series. cAdvisor writes every struct even when its has_* flag is
 * false, and never sets has_processes (so processes is always zero), which is kept.
 */
export function v2DeprecatedStats(spec: SpecJson, points: readonly StatPoint[]) {
  return points.map((p, i) => ({
    timestamp: p.stats.timestamp,
    has_cpu: spec.has_cpu,
    cpu: spec.has_cpu ? p.stats.cpu : ZERO_CPU,
    cpu_inst: spec.has_cpu ? cpuInst(points[i - 1], p) : undefined,
    has_diskio: spec.has_diskio,
    diskio: spec.has_diskio ? p.stats.diskio : {},
    has_memory: spec.has_memory,
    memory: spec.has_memory ? p.stats.memory : ZERO_MEMORY,
    has_hugetlb: false,
    has_network: spec.has_network,
    network: { ...v2Network(p.stats), interfaces: spec.has_network ? p.stats.network.interfaces : undefined },
    has_processes: false,
    processes: { process_count: 0, fd_count: 0, socket_count: 0 },
    has_filesystem: spec.has_filesystem,
    filesystem: spec.has_filesystem ? p.stats.filesystem : undefined,
    has_load: false,
    load_stats: ZERO_LOAD,
    has_custom_metrics: false,
    resctrl: {},
  }));
}

/**
 * v2 ContainerSpec from the v1 one (ContainerSpecFromV1 copies limit, max_limit and mask of
 * the CPU spec only, and no process limit), with an unset memory limit shown as the machine's.
 */
export function v2Spec(spec: SpecJson, aliases: string[] | undefined, namespace: string | undefined, machineMemory: bigint) {
  return {
    creation_time: spec.creation_time,
    aliases,
    namespace,
    labels: spec.labels,
    has_cpu: spec.has_cpu,
    cpu: spec.has_cpu ? { limit: spec.cpu.limit, max_limit: spec.cpu.max_limit } : { limit: 0, max_limit: 0 },
    has_memory: spec.has_memory,
    memory: spec.has_memory ? { limit: spec.memory.limit ?? machineMemory, swap_limit: spec.memory.swap_limit } : {},
    has_hugetlb: spec.has_hugetlb,
    has_custom_metrics: spec.has_custom_metrics,
    has_processes: spec.has_processes,
    processes: {},
    has_network: spec.has_network,
    has_filesystem: spec.has_filesystem,
    has_diskio: spec.has_diskio,
    image: spec.image,
  };
}

/** v2 MachineFsStats: note the DiskStats tagged `json:"inline"`, which Go writes as a key named "inline". */
function machineFsJson(fs: FsStats, disks: readonly DiskStat[]) {
  const d = diskOf(fs, disks);
  const msToNs = (ms: bigint | undefined) => (ms === undefined ? undefined : ms * 1_000_000n);
  return {
    device: fs.device,
    type: cadvisorFsType(fs.fsType),
    capacity: fs.totalBytes,
    usage: fs.usedBytes,
    available: fs.availableBytes,
    inodes_free: fs.inodesFree,
    inline: {
      reads_completed: d?.reads,
      reads_merged: d?.readsMerged,
      sectors_read: d?.sectorsRead,
      read_duration: msToNs(d?.readTimeMs),
      writes_completed: d?.writes,
      writes_merged: d?.writesMerged,
      sectors_written: d?.sectorsWritten,
      write_duration: msToNs(d?.writeTimeMs),
      io_in_progress: d?.ioInProgress,
      io_duration: msToNs(d?.ioTimeMs),
      weighted_io_duration: msToNs(d?.weightedIoTimeMs),
    },
  };
}

/** v2 MachineStats series (/api/v2.1/machinestats) from the machine's points and host samples. */
export function machineStats(points: readonly StatPoint[], hosts: readonly HostSample[]) {
  return points.map((p, i) => ({
    timestamp: p.stats.timestamp,
    cpu: p.stats.cpu,
    cpu_inst: cpuInst(points[i - 1], p),
    memory: p.stats.memory,
    network: v2Network(p.stats),
    filesystem: hosts[i].filesystems.map((fs) => machineFsJson(fs, hosts[i].disks)),
  }));
}

/** cAdvisor's percentile: linear interpolation at d·(n+1) over the sorted values. */
export function percentile(sorted: readonly number[], d: number): number {
  const n = d * (sorted.length + 1);
  const index = Math.min(Math.max(Math.trunc(n), 1), sorted.length);
  let value = sorted[index - 1];
  if (index > 1 && index < sorted.length) value += (n - Math.trunc(n)) * (sorted[index] - sorted[index - 1]);
  return Math.trunc(value);
}

function percentiles(values: readonly number[]) {
  if (values.length === 0) return { present: false, mean: 0, max: 0, fifty: 0, ninety: 0, ninetyfive: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  return {
    present: true,
    mean: Math.trunc(values.reduce((a, b) => a + b, 0) / values.length),
    max: Math.trunc(sorted[sorted.length - 1]),
    fifty: percentile(sorted, 0.5),
    ninety: percentile(sorted, 0.9),
    ninetyfive: percentile(sorted, 0.95),
  };
}

export interface UsageHistory {
  timestampsMs: readonly number[];
  /** CPU in cores and working set in bytes, one value per timestamp. */
  cpuCores: readonly number[];
  workingSetBytes: readonly number[];
}

/** v2 DerivedStats: the latest usage and minute/hour/day percentiles of CPU (millicores) and memory. */
export function derivedStats(h: UsageHistory, nowMs: number, intervalMs: number) {
  const usage = (windowMs: number) => {
    const idx = h.timestampsMs.flatMap((t, i) => (t > nowMs - windowMs && Number.isFinite(h.cpuCores[i]) ? [i] : []));
    return {
      percent_complete: Math.min(100, Math.trunc(((idx.length * intervalMs) / windowMs) * 100)),
      cpu: percentiles(idx.map((i) => h.cpuCores[i] * 1000)),
      memory: percentiles(idx.map((i) => h.workingSetBytes[i])),
    };
  };
  const last = h.timestampsMs.length - 1;
  return {
    timestamp: goTime(last >= 0 ? h.timestampsMs[last] : nowMs),
    latest_usage: { cpu: last >= 0 ? Math.trunc(h.cpuCores[last] * 1000) : 0, memory: last >= 0 ? Math.trunc(h.workingSetBytes[last]) : 0 },
    minute_usage: usage(60_000),
    hour_usage: usage(3_600_000),
    day_usage: usage(86_400_000),
  };
}
