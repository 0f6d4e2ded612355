/**
 * The one place where two samples become the figures people read. Pure: (previous, current,
 * host memory) in, Derived out. With no previous sample, every rate is absent and CPU % is 0,
 * as docker stats shows for a container's first tick.
 */
import type { Derived, Rates, Sample } from '../model.js';
import { blockTotals, cpuPercent, memoryLimit, memoryPercent, memoryUsageNoCache, networkTotal, workingSet } from './docker.js';
import { counterRates, noRates } from './rates.js';

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
  if (prev) {
    rates = counterRates(prev, cur, Number(cur.monoNs - prev.monoNs) / 1e9);
    cpuPct = cpuPercent(prev.cgroup.cpu?.usageNs, cur.cgroup.cpu?.usageNs, prev.systemCpuNs, cur.systemCpuNs, cur.onlineCpus);
    cores = (rates.cpuUsageNs ?? 0) / 1e9;
  } else {
    rates = noRates();
  }
  return {
    cpuPercent: cpuPct,
    cpuCores: cores,
    memoryUsageBytes: Number(usage),
    memoryLimitBytes: Number(limit),
    memoryPercent: memoryPercent(usage, limit),
    workingSetBytes: Number(workingSet(mem)),
    netRxBytes: Number(networkTotal(cur.network, 'rxBytes')),
    netTxBytes: Number(networkTotal(cur.network, 'txBytes')),
    blockReadBytes: Number(block.read),
    blockWriteBytes: Number(block.write),
    pids: Number(cur.cgroup.pids?.current ?? 0n),
    rates,
  };
}
