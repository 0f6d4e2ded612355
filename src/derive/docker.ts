/**
 * The figures `docker stats` shows, computed the way docker/cli computes them
 * (cli/command/container/stats_helpers.go), so that cstats and docker stats agree.
 */
import type { BlkioStats, CpuStats, MemoryStats, NetInterfaceStats } from '../kernel/types.js';
import { counterDelta, sumBig } from './counters.js';

/**
 * CPU %: Δcontainer CPU / Δhost CPU × online CPUs × 100. Both deltas come from the same two
 * ticks; the host figure is /proc/stat's first seven columns, as dockerd reads it.
 */
export function cpuPercent(
  prevUsageNs: bigint | undefined,
  curUsageNs: bigint | undefined,
  prevSystemNs: bigint,
  curSystemNs: bigint,
  onlineCpus: number,
): number {
  const cpuDelta = counterDelta(prevUsageNs, curUsageNs);
  const systemDelta = counterDelta(prevSystemNs, curSystemNs);
  if (cpuDelta === undefined || systemDelta === undefined || systemDelta === 0 || cpuDelta === 0) return 0;
  return (cpuDelta / systemDelta) * onlineCpus * 100;
}

/**
 * Memory usage without page cache. v1 subtracts memory.stat total_inactive_file, v2
 * inactive_file (both land in MemoryStats.inactiveFileBytes); docker/cli subtracts only when the
 * inactive figure is below usage, and otherwise shows usage unchanged.
 */
export function memoryUsageNoCache(mem: MemoryStats | undefined): bigint {
  const usage = mem?.usageBytes ?? 0n;
  const inactive = mem?.inactiveFileBytes;
  return inactive !== undefined && inactive < usage ? usage - inactive : usage;
}

/** cAdvisor's working set: usage − inactive file, never below zero. */
export function workingSet(mem: MemoryStats | undefined): bigint {
  const usage = mem?.usageBytes ?? 0n;
  const inactive = mem?.inactiveFileBytes ?? 0n;
  return inactive < usage ? usage - inactive : 0n;
}

/**
 * The limit dockerd reports: the cgroup limit, or the host's memory when the cgroup's is
 * larger or unlimited (moby caps MemoryStats.Limit at the machine's memory).
 */
export function memoryLimit(mem: MemoryStats | undefined, hostMemoryBytes: bigint): bigint {
  const limit = mem?.limitBytes;
  if (limit === undefined || limit === null || limit > hostMemoryBytes) return hostMemoryBytes;
  return limit;
}

export function memoryPercent(usage: bigint, limit: bigint): number {
  return limit === 0n ? 0 : (Number(usage) / Number(limit)) * 100;
}

/**
 * NET I/O totals. dockerd reports the sandbox's endpoint interfaces, never the loopback, so
 * `lo` is left out of the totals (it stays in the per-interface figures).
 */
export function networkTotal(ifaces: readonly NetInterfaceStats[] | undefined, field: 'rxBytes' | 'txBytes'): bigint {
  let total = 0n;
  for (const i of ifaces ?? []) if (i.name !== 'lo') total += i[field];
  return total;
}

/** BLOCK I/O totals: the sum of read and write bytes over every device. */
export function blockTotals(blkio: BlkioStats | undefined): { read: bigint; write: bigint } {
  const devices = blkio?.devices ?? [];
  return { read: sumBig(devices, (d) => d.readBytes), write: sumBig(devices, (d) => d.writeBytes) };
}

/**
 * The CPU limit in cores: CFS quota / period (`--cpus`), or undefined when the group has no
 * quota of its own (v1 cpu.cfs_quota_us -1, v2 cpu.max "max"). Not a docker stats figure: the
 * base of cstats' "CPU % of limit".
 */
export function cpuLimitCores(cpu: CpuStats | undefined): number | undefined {
  const quota = cpu?.quotaUs;
  const period = cpu?.periodUs;
  if (quota === undefined || quota === null || period === undefined || period === 0n) return undefined;
  return Number(quota) / Number(period);
}
