/**
 * Raw, cumulative figures exactly as the kernel gives them. Every u64 counter is a bigint so
 * that nothing above 2^53 is rounded; conversion to float happens only at the edges (derive,
 * serve). A field that is `undefined` means "the kernel did not give it" (missing file,
 * missing key, unparsable content), never zero.
 */

export interface CpuStats {
  /** Total CPU time consumed, ns (v1 cpuacct.usage; v2 cpu.stat usage_usec × 1000). */
  usageNs?: bigint;
  /** User-mode CPU time, ns (v1 cpuacct.stat user ticks → ns; v2 user_usec × 1000). */
  userNs?: bigint;
  /** Kernel-mode CPU time, ns. */
  systemNs?: bigint;
  /** Per-CPU total time, ns, index = CPU number (v1 cpuacct.usage_percpu; v2 has none). */
  perCpuNs?: bigint[];
  /** CFS enforcement periods elapsed (nr_periods). */
  periods?: bigint;
  /** Periods in which the group was throttled (nr_throttled). */
  throttledPeriods?: bigint;
  /** Total time throttled, ns (v1 throttled_time; v2 throttled_usec × 1000). */
  throttledNs?: bigint;
  /** CFS quota in µs; `null` = no quota ("max" / -1). */
  quotaUs?: bigint | null;
  /** CFS period in µs. */
  periodUs?: bigint;
  /** cpu.shares (v1) or cpu.weight (v2), as written in the file. */
  shares?: bigint;
  weight?: bigint;
}

export interface MemoryStats {
  /** Current usage including page cache (v1 memory.usage_in_bytes; v2 memory.current). */
  usageBytes?: bigint;
  /** Limit; `null` = unlimited (v2 "max", v1 values at or above the page-counter maximum). */
  limitBytes?: bigint | null;
  /** High-water mark (v1 memory.max_usage_in_bytes; v2 memory.peak, kernel >= 5.19). */
  maxUsageBytes?: bigint;
  /** Times the limit was hit (v1 memory.failcnt; v2 memory.events "max"). */
  failcnt?: bigint;
  /** Anonymous memory (v1 total_rss; v2 anon). */
  rssBytes?: bigint;
  /** Page cache (v1 total_cache; v2 file). */
  cacheBytes?: bigint;
  /** Swap in use (v1 total_swap; v2 memory.swap.current). */
  swapBytes?: bigint;
  /** Swap limit; `null` = unlimited (v1 memsw limit − mem limit; v2 memory.swap.max). */
  swapLimitBytes?: bigint | null;
  /** Inactive file pages (v1 total_inactive_file; v2 inactive_file). */
  inactiveFileBytes?: bigint;
  activeFileBytes?: bigint;
  mappedFileBytes?: bigint;
  /** OOM kills in this cgroup (v2 memory.events oom_kill; v1 memory.oom_control oom_kill). */
  oomKills?: bigint;
  /** OOM events (v2 memory.events oom; v1 counts under_oom transitions are not available). */
  oomEvents?: bigint;
  /** Every key of memory.stat as the kernel printed it (v1 includes the total_* keys). */
  stat?: Record<string, bigint>;
}

export interface BlkioDeviceStats {
  major: number;
  minor: number;
  readBytes: bigint;
  writeBytes: bigint;
  reads: bigint;
  writes: bigint;
  /** v2 io.stat discard counters; v1 has none. */
  discardBytes?: bigint;
  discards?: bigint;
}

export interface BlkioStats {
  devices: BlkioDeviceStats[];
  /** Which file the figures came from, e.g. "blkio.throttle.io_service_bytes" or "io.stat". */
  source: string;
}

export interface PidsStats {
  current?: bigint;
  /** `null` = unlimited ("max"). */
  limit?: bigint | null;
}

export interface PressureLine {
  avg10: number;
  avg60: number;
  avg300: number;
  /** Total stall time, µs. */
  totalUs: bigint;
}

export interface Pressure {
  some?: PressureLine;
  full?: PressureLine;
}

export interface PressureStats {
  cpu?: Pressure;
  memory?: Pressure;
  io?: Pressure;
}

/** Everything read from one cgroup in one tick, controller by controller. */
export interface CgroupStats {
  cpu?: CpuStats;
  memory?: MemoryStats;
  blkio?: BlkioStats;
  pids?: PidsStats;
  pressure?: PressureStats;
}

export interface NetInterfaceStats {
  name: string;
  rxBytes: bigint;
  rxPackets: bigint;
  rxErrors: bigint;
  rxDropped: bigint;
  txBytes: bigint;
  txPackets: bigint;
  txErrors: bigint;
  txDropped: bigint;
}

export interface FsStats {
  /** Mount point (host path) that was statfs'ed. */
  mountpoint: string;
  /** Source device or filesystem name from mountinfo. */
  device: string;
  fsType: string;
  /** What the mount is to the container: "rootfs" (writable layer), "volume", or "host". */
  role: 'rootfs' | 'volume' | 'host';
  /** Path inside the container, for volumes. */
  destination?: string;
  totalBytes: bigint;
  freeBytes: bigint;
  availableBytes: bigint;
  usedBytes: bigint;
  inodes: bigint;
  inodesFree: bigint;
}

/** Host-wide CPU from /proc/stat; times in USER_HZ ticks as printed. */
export interface ProcStatCpu {
  user: bigint;
  nice: bigint;
  system: bigint;
  idle: bigint;
  iowait: bigint;
  irq: bigint;
  softirq: bigint;
  steal: bigint;
  guest: bigint;
  guestNice: bigint;
}

export interface ProcStat {
  total: ProcStatCpu;
  /** Per CPU line, keyed by CPU number (offline CPUs are absent). */
  perCpu: Map<number, ProcStatCpu>;
  contextSwitches?: bigint;
  bootTimeSec?: bigint;
  processes?: bigint;
  procsRunning?: bigint;
  procsBlocked?: bigint;
}

export interface LoadAvg {
  load1: number;
  load5: number;
  load15: number;
  runnable: number;
  total: number;
  lastPid: number;
}

export interface DiskStat {
  major: number;
  minor: number;
  name: string;
  reads: bigint;
  readsMerged: bigint;
  sectorsRead: bigint;
  readTimeMs: bigint;
  writes: bigint;
  writesMerged: bigint;
  sectorsWritten: bigint;
  writeTimeMs: bigint;
  ioInProgress: bigint;
  ioTimeMs: bigint;
  weightedIoTimeMs: bigint;
  /** Discard counters: kernel >= 4.18 (18 fields). */
  discards?: bigint;
  discardsMerged?: bigint;
  sectorsDiscarded?: bigint;
  discardTimeMs?: bigint;
  /** Flush counters: kernel >= 5.5 (20 fields). */
  flushes?: bigint;
  flushTimeMs?: bigint;
}

export interface MountInfo {
  mountId: number;
  parentId: number;
  major: number;
  minor: number;
  root: string;
  mountpoint: string;
  options: string;
  fsType: string;
  source: string;
  superOptions: string;
}
