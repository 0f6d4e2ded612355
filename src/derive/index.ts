/**
 * The one place where two samples become the figures people read. Pure: (previous, current,
 * host memory) in, Derived out. With no previous sample, every rate is absent and CPU % is 0,
 * as docker stats shows for a container's first tick.
 */
import type { Derived, Rates, Sample } from '../model.js';
import { blockTotals, cpuLimitCores, cpuPercent, memoryLimit, memoryPercent, memoryUsageNoCache, networkTotal, workingSet } from './docker.js';
import { counterRates, noRates } from './rates.js';

/**
 * Share of the CFS periods that elapsed this tick in which the group was throttled
 * (Δnr_throttled / Δnr_periods), for a group with a quota; 0 when no period elapsed (the group
 * did not run, so it was not throttled); undefined without a quota or without the counters.
 */
function throttledPercent(rates: Rates, limitCores: number | undefined): number | undefined {
  const periods = rates.cpuPeriods;
  const throttled = rates.cpuThrottledPeriods;
  if (limitCores === undefined || periods === undefined || throttled === undefined) return undefined;
  return periods === 0 ? 0 : (throttled / periods) * 100;
}

/** No counter can have moved from `a` to `b`: a sampler handed out the same figures again. */
const sameCounters = (a: Sample, b: Sample): boolean => a.cgroup === b.cgroup && a.network === b.network;

/**
 * The figures of `prev` → `cur`. `before` is the previous tick's: its sample (the one before
 * `prev`) and what derive made of it and `prev`. When the sampler handed out the same figures
 * in all three samples, as it does for an idle container, the figures are those of the previous
 * tick (every rate 0 over the same counters, the same memory) and that object is returned.
 */
export function derive(prev: Sample | undefined, cur: Sample, hostMemoryBytes: bigint, before?: { sample: Sample; derived: Derived }): Derived {
  const mem = cur.cgroup.memory;
  const limit = memoryLimit(mem, hostMemoryBytes);
  if (prev && before && sameCounters(prev, cur) && sameCounters(before.sample, prev) && before.derived.memoryLimitBytes === Number(limit)) return before.derived;
  const usage = memoryUsageNoCache(mem);

  const block = blockTotals(cur.cgroup.blkio);
  let rates: Rates;
  let cpuPct = 0;
  let cores = 0;
  let throttledPct: number | undefined;
  const limitCores = cpuLimitCores(cur.cgroup.cpu);
  if (prev) {
    rates = counterRates(prev, cur, Number(cur.monoNs - prev.monoNs) / 1e9);
    cpuPct = cpuPercent(prev.cgroup.cpu?.usageNs, cur.cgroup.cpu?.usageNs, prev.systemCpuNs, cur.systemCpuNs, cur.onlineCpus);
    cores = (rates.cpuUsageNs ?? 0) / 1e9;
    throttledPct = throttledPercent(rates, limitCores);
  } else {
    rates = noRates();
  }
  return {
    cpuPercent: cpuPct,
    cpuCores: cores,
    cpuLimitPercent: limitCores === undefined ? undefined : (cores / limitCores) * 100,
    throttledPercent: throttledPct,
    memoryUsageBytes: Number(usage),
    memoryLimitBytes: Number(limit),
    memoryPercent: memoryPercent(usage, limit),
    workingSetBytes: Number(workingSet(mem)),
    memoryCacheBytes: mem?.cacheBytes === undefined ? undefined : Number(mem.cacheBytes),
    netRxBytes: Number(networkTotal(cur.network, 'rxBytes')),
    netTxBytes: Number(networkTotal(cur.network, 'txBytes')),
    blockReadBytes: Number(block.read),
    blockWriteBytes: Number(block.write),
    pids: Number(cur.cgroup.pids?.current ?? 0n),
    rates,
  };
}
