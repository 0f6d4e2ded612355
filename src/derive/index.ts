/**
 * The one place where two samples become the figures people read. Pure: (previous, current,
 * host memory) in, Derived out. With no previous sample, every rate is absent and CPU % is 0,
 * as docker stats shows for a container's first tick.
 */
import type { Derived, Sample } from '../model.js';
import type { NetInterfaceStats } from '../kernel/types.js';
import { ratePerSecond, sumBig } from './counters.js';
import {
  blockTotals,
  cpuPercent,
  memoryLimit,
  memoryPercent,
  memoryUsageNoCache,
  networkTotals,
  workingSet,
} from './docker.js';

type Counter = (s: Sample) => bigint | undefined;

const NET_FIELDS = ['rxBytes', 'rxPackets', 'rxErrors', 'rxDropped', 'txBytes', 'txPackets', 'txErrors', 'txDropped'] as const;

/** The container-level counters that get a per-second rate, by the name used in `rates`. */
const COUNTERS: Record<string, Counter> = {
  'cpu.usageNs': (s) => s.cgroup.cpu?.usageNs,
  'cpu.userNs': (s) => s.cgroup.cpu?.userNs,
  'cpu.systemNs': (s) => s.cgroup.cpu?.systemNs,
  'cpu.throttledNs': (s) => s.cgroup.cpu?.throttledNs,
  'cpu.throttledPeriods': (s) => s.cgroup.cpu?.throttledPeriods,
  'memory.failcnt': (s) => s.cgroup.memory?.failcnt,
  'memory.oomKills': (s) => s.cgroup.memory?.oomKills,
  'blkio.readBytes': (s) => (s.cgroup.blkio ? blockTotals(s.cgroup.blkio).read : undefined),
  'blkio.writeBytes': (s) => (s.cgroup.blkio ? blockTotals(s.cgroup.blkio).write : undefined),
  'blkio.reads': (s) => (s.cgroup.blkio ? sumBig(s.cgroup.blkio.devices, (d) => d.reads) : undefined),
  'blkio.writes': (s) => (s.cgroup.blkio ? sumBig(s.cgroup.blkio.devices, (d) => d.writes) : undefined),
  'net.rxBytes': (s) => (s.network ? networkTotals(s.network).rx : undefined),
  'net.txBytes': (s) => (s.network ? networkTotals(s.network).tx : undefined),
  'pressure.cpu.someUs': (s) => s.cgroup.pressure?.cpu?.some?.totalUs,
  'pressure.memory.someUs': (s) => s.cgroup.pressure?.memory?.some?.totalUs,
  'pressure.memory.fullUs': (s) => s.cgroup.pressure?.memory?.full?.totalUs,
  'pressure.io.someUs': (s) => s.cgroup.pressure?.io?.some?.totalUs,
  'pressure.io.fullUs': (s) => s.cgroup.pressure?.io?.full?.totalUs,
};

function interfaceRates(prev: NetInterfaceStats[] | undefined, cur: NetInterfaceStats[] | undefined, seconds: number, out: Record<string, number>): void {
  if (!prev || !cur) return;
  const before = new Map(prev.map((i) => [i.name, i]));
  for (const iface of cur) {
    const p = before.get(iface.name);
    if (!p) continue;
    for (const field of NET_FIELDS) {
      const r = ratePerSecond(p[field], iface[field], seconds);
      if (r !== undefined) out[`net.${iface.name}.${field}`] = r;
    }
  }
}

export function derive(prev: Sample | undefined, cur: Sample, hostMemoryBytes: bigint): Derived {
  const mem = cur.cgroup.memory;
  const usage = memoryUsageNoCache(mem);
  const limit = memoryLimit(mem, hostMemoryBytes);
  const net = networkTotals(cur.network);
  const block = blockTotals(cur.cgroup.blkio);
  const rates: Record<string, number> = {};
  let cpuPct = 0;
  let cores = 0;
  if (prev) {
    const seconds = Number(cur.monoNs - prev.monoNs) / 1e9;
    for (const [name, pick] of Object.entries(COUNTERS)) {
      const r = ratePerSecond(pick(prev), pick(cur), seconds);
      if (r !== undefined) rates[name] = r;
    }
    interfaceRates(prev.network, cur.network, seconds, rates);
    cpuPct = cpuPercent(prev.cgroup.cpu?.usageNs, cur.cgroup.cpu?.usageNs, prev.systemCpuNs, cur.systemCpuNs, cur.onlineCpus);
    cores = (rates['cpu.usageNs'] ?? 0) / 1e9;
  }
  return {
    cpuPercent: cpuPct,
    cpuCores: cores,
    memoryUsageBytes: Number(usage),
    memoryLimitBytes: Number(limit),
    memoryPercent: memoryPercent(usage, limit),
    workingSetBytes: Number(workingSet(mem)),
    netRxBytes: Number(net.rx),
    netTxBytes: Number(net.tx),
    blockReadBytes: Number(block.read),
    blockWriteBytes: Number(block.write),
    pids: Number(cur.cgroup.pids?.current ?? 0n),
    rates,
  };
}
