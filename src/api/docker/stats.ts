/**
 * GET /containers/{id}/stats bodies, field for field as dockerd 20.10+ writes them from the
 * same kernel files (moby daemon statsV1/statsV2 over containerd's cgroups readers), built
 * from the agent's raw samples. u64 counters stay bigint so that toJson writes them exactly.
 *
 * The two cgroup versions give different field sets, as in moby:
 * - v1: percpu_usage; memory_stats.stats holds containerd's 32 v1 keys and max_usage; blkio has
 *   all eight recursive lists, io_service_bytes/io_serviced per device and operation;
 *   pids_stats.limit is absent when unlimited.
 * - v2: no percpu_usage or max_usage; memory_stats.stats holds the 31 v2 keys; failcnt is
 *   memory.events "oom"; blkio has only io_service_bytes_recursive with lowercase "read" and
 *   "write" (the other lists null); an unlimited pids.max is math.MaxUint64.
 */
import { interfaceCounters } from '../interface-json.js';
import type { BlkioStats, MemoryStats, NetInterfaceStats } from '../../kernel/types.js';
import type { ContainerInfo, Sample } from '../../model.js';
import { memoryLimit } from '../../derive/docker.js';
import { GO_ZERO_TIME, goMap, goTime } from '../go-format.js';

/** containerd's cgroup v1 memory keys that moby copies into memory_stats.stats. */
const V1_MEMORY_KEYS = [
  'cache', 'rss', 'rss_huge', 'mapped_file', 'dirty', 'writeback', 'pgpgin', 'pgpgout', 'pgfault', 'pgmajfault',
  'inactive_anon', 'active_anon', 'inactive_file', 'active_file', 'unevictable', 'hierarchical_memory_limit',
  'hierarchical_memsw_limit', 'total_cache', 'total_rss', 'total_rss_huge', 'total_mapped_file', 'total_dirty',
  'total_writeback', 'total_pgpgin', 'total_pgpgout', 'total_pgfault', 'total_pgmajfault', 'total_inactive_anon',
  'total_active_anon', 'total_inactive_file', 'total_active_file', 'total_unevictable',
].sort();

/** containerd's cgroup v2 memory.stat keys that moby copies into memory_stats.stats. */
const V2_MEMORY_KEYS = [
  'anon', 'file', 'kernel_stack', 'slab', 'sock', 'shmem', 'file_mapped', 'file_dirty', 'file_writeback', 'anon_thp',
  'inactive_anon', 'active_anon', 'inactive_file', 'active_file', 'unevictable', 'slab_reclaimable',
  'slab_unreclaimable', 'pgfault', 'pgmajfault', 'workingset_refault', 'workingset_activate', 'workingset_nodereclaim',
  'pgrefill', 'pgscan', 'pgsteal', 'pgactivate', 'pgdeactivate', 'pglazyfree', 'pglazyfreed', 'thp_fault_alloc',
  'thp_collapse_alloc',
].sort();

const BLKIO_LISTS = [
  'io_service_bytes_recursive',
  'io_serviced_recursive',
  'io_queue_recursive',
  'io_service_time_recursive',
  'io_wait_time_recursive',
  'io_merged_recursive',
  'io_time_recursive',
  'sectors_recursive',
] as const;

/** What Go's math.MaxUint64 prints as: containerd's reading of "max" in a v2 file. */
export const U64_MAX = 18446744073709551615n;

type CgroupVersion = 1 | 2;

/** Go's `omitempty` for unsigned integers: the key is left out when the value is zero. */
function nonZero(v: bigint | undefined): bigint | undefined {
  return v === undefined || v === 0n ? undefined : v;
}

function cpuStats(s: Sample, version: CgroupVersion) {
  const cpu = s.cgroup.cpu;
  return {
    cpu_usage: {
      total_usage: cpu?.usageNs ?? 0n,
      percpu_usage: version === 1 && cpu?.perCpuNs?.length ? cpu.perCpuNs : undefined,
      usage_in_kernelmode: cpu?.systemNs ?? 0n,
      usage_in_usermode: cpu?.userNs ?? 0n,
    },
    system_cpu_usage: s.systemCpuNs,
    online_cpus: s.onlineCpus,
    throttling_data: {
      periods: cpu?.periods ?? 0n,
      throttled_periods: cpu?.throttledPeriods ?? 0n,
      throttled_time: cpu?.throttledNs ?? 0n,
    },
  };
}

/** A CPUStats with nothing in it: precpu_stats of a first frame, and both of a stopped container. */
const EMPTY_CPU = {
  cpu_usage: { total_usage: 0n, usage_in_kernelmode: 0n, usage_in_usermode: 0n },
  throttling_data: { periods: 0n, throttled_periods: 0n, throttled_time: 0n },
};

function memoryStats(mem: MemoryStats | undefined, version: CgroupVersion, hostMemoryBytes: bigint) {
  if (!mem) return {};
  const keys = version === 1 ? V1_MEMORY_KEYS : V2_MEMORY_KEYS;
  const stats: Record<string, bigint> = {};
  for (const k of keys) stats[k] = mem.stat?.[k] ?? 0n;
  return {
    usage: nonZero(mem.usageBytes),
    max_usage: version === 1 ? nonZero(mem.maxUsageBytes) : undefined,
    stats,
    failcnt: nonZero(version === 1 ? mem.failcnt : mem.oomEvents),
    // moby caps the limit at the machine's memory (an unlimited cgroup reports MemTotal).
    limit: nonZero(memoryLimit(mem, hostMemoryBytes)),
  };
}

interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: bigint;
}

/** One rwstat file as the kernel prints it per device: Read, Write, Discard (4.19), Total. */
function v1Entries(blkio: BlkioStats | undefined, bytes: boolean): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const d of blkio?.devices ?? []) {
    const read = bytes ? d.readBytes : d.reads;
    const write = bytes ? d.writeBytes : d.writes;
    const discard = bytes ? d.discardBytes : d.discards;
    const entry = (op: string, value: bigint): BlkioEntry => ({ major: d.major, minor: d.minor, op, value });
    out.push(entry('Read', read), entry('Write', write));
    if (discard !== undefined) out.push(entry('Discard', discard));
    // The kernel's Total is read + write + discard (blkg_prfill_rwstat).
    out.push(entry('Total', read + write + (discard ?? 0n)));
  }
  return out;
}

function blkioStats(blkio: BlkioStats | undefined, version: CgroupVersion) {
  const lists: Record<string, BlkioEntry[] | null> = {};
  if (version === 1) {
    for (const name of BLKIO_LISTS) lists[name] = [];
    lists.io_service_bytes_recursive = v1Entries(blkio, true);
    lists.io_serviced_recursive = v1Entries(blkio, false);
    return lists;
  }
  for (const name of BLKIO_LISTS) lists[name] = null;
  const devices = blkio?.devices ?? [];
  if (devices.length > 0) {
    lists.io_service_bytes_recursive = devices.flatMap((d) => [
      { major: d.major, minor: d.minor, op: 'read', value: d.readBytes },
      { major: d.major, minor: d.minor, op: 'write', value: d.writeBytes },
    ]);
  }
  return lists;
}

function pidsStats(s: Sample, version: CgroupVersion) {
  const pids = s.cgroup.pids;
  if (!pids) return {};
  const limit = pids.limit === null ? (version === 2 ? U64_MAX : undefined) : pids.limit;
  return { current: nonZero(pids.current), limit: nonZero(limit) };
}

/** The sandbox's interfaces by name, loopback excluded, as libnetwork reports them; absent when none. */
function networks(ifaces: readonly NetInterfaceStats[] | undefined) {
  const kept = (ifaces ?? []).filter((i) => i.name !== 'lo');
  if (kept.length === 0) return undefined;
  const byName = kept.map((i) => [i.name, interfaceCounters(i)]);
  return goMap(Object.fromEntries(byName));
}

export interface StatsFrame {
  info: ContainerInfo;
  /** The sample reported; undefined for a container that is not running. */
  current?: Sample;
  /** The one before it (precpu_stats), or undefined for a first frame / one-shot answer. */
  previous?: Sample;
  hostMemoryBytes: bigint;
}

/** One stats body, in moby's key order. */
export function dockerStats({ info, current, previous, hostMemoryBytes }: StatsFrame) {
  const name = `/${info.name}`;
  if (!current) {
    return {
      read: GO_ZERO_TIME,
      preread: GO_ZERO_TIME,
      pids_stats: {},
      blkio_stats: Object.fromEntries(BLKIO_LISTS.map((l) => [l, null])),
      num_procs: 0,
      storage_stats: {},
      cpu_stats: EMPTY_CPU,
      precpu_stats: EMPTY_CPU,
      memory_stats: {},
      name,
      id: info.id,
    };
  }
  const version = info.cgroup.version;
  return {
    read: goTime(current.timestampMs),
    preread: goTime(previous?.timestampMs),
    pids_stats: pidsStats(current, version),
    blkio_stats: blkioStats(current.cgroup.blkio, version),
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(current, version),
    precpu_stats: previous ? cpuStats(previous, version) : EMPTY_CPU,
    memory_stats: memoryStats(current.cgroup.memory, version, hostMemoryBytes),
    name,
    id: info.id,
    networks: networks(current.network),
  };
}
