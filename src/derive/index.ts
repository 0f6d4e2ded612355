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
  cpuLimitCores,
  cpuPercent,
  memoryLimit,
  memoryPercent,
  memoryUsageNoCache,
  networkTotal,
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
  'cpu.periods': (s) => s.cgroup.cpu?.periods,
  'cpu.throttledPeriods': (s) => s.cgroup.cpu?.throttledPeriods,
  'memory.failcnt': (s) => s.cgroup.memory?.failcnt,
  'memory.oomKills': (s) => s.cgroup.memory?.oomKills,
  'blkio.readBytes': (s) => (s.cgroup.blkio ? sumBig(s.cgroup.blkio.devices, (d) => d.readBytes) : undefined),
  'blkio.writeBytes': (s) => (s.cgroup.blkio ? sumBig(s.cgroup.blkio.devices, (d) => d.writeBytes) : undefined),
  'blkio.reads': (s) => (s.cgroup.blkio ? sumBig(s.cgroup.blkio.devices, (d) => d.reads) : undefined),
  'blkio.writes': (s) => (s.cgroup.blkio ? sumBig(s.cgroup.blkio.devices, (d) => d.writes) : undefined),
  'net.rxBytes': (s) => (s.network ? networkTotal(s.network, 'rxBytes') : undefined),
  'net.txBytes': (s) => (s.network ? networkTotal(s.network, 'txBytes') : undefined),
  'pressure.cpu.someUs': (s) => s.cgroup.pressure?.cpu?.some?.totalUs,
  'pressure.memory.someUs': (s) => s.cgroup.pressure?.memory?.some?.totalUs,
  'pressure.memory.fullUs': (s) => s.cgroup.pressure?.memory?.full?.totalUs,
  'pressure.io.someUs': (s) => s.cgroup.pressure?.io?.some?.totalUs,
  'pressure.io.fullUs': (s) => s.cgroup.pressure?.io?.full?.totalUs,
};

const COUNTER_NAMES = Object.keys(COUNTERS);
// A rates signature holds one bit per counter in a 32-bit mask.
if (COUNTER_NAMES.length > 31) throw new Error('derive: more counters than a rates signature holds');
const COUNTER_PICKS = Object.values(COUNTERS);

/** `net.<interface>.<field>` for each NET_FIELDS entry, made once per interface name. */
const rateKeys = new Map<string, string[]>();
function rateKeysOf(name: string): string[] {
  let keys = rateKeys.get(name);
  if (!keys) {
    keys = NET_FIELDS.map((field) => `net.${name}.${field}`);
    rateKeys.set(name, keys);
  }
  return keys;
}

/**
 * A rates object is made by an object literal of exactly the keys it holds, compiled once per
 * set of keys. Built key by key, an object of more than about 16 keys (a container with one
 * interface has 34) becomes a V8 dictionary: slower to make, to read and to serialise.
 * A key set is named by its signature: the bit mask of the counters that have a rate, then
 * `/<mask>/<interface>` per interface (interface names never hold a '/').
 */
type RatesMaker = (values: readonly number[]) => Record<string, number>;
const makers = new Map<string, RatesMaker>();
/** Interface names come from the containers: past this many key sets, start again. */
const MAX_MAKERS = 256;

function makerFor(signature: string): RatesMaker {
  let make = makers.get(signature);
  if (!make) {
    const [counters, ...ifaces] = signature.split('/');
    const keys = COUNTER_NAMES.filter((_, i) => (Number(counters) >> i) & 1);
    for (let i = 0; i < ifaces.length; i += 2) {
      const fields = Number(ifaces[i]);
      keys.push(...rateKeysOf(ifaces[i + 1]).filter((_, f) => (fields >> f) & 1));
    }
    // The keys are JSON string literals: an interface name cannot break out of them.
    make = new Function('v', `return {${keys.map((k, i) => `${JSON.stringify(k)}: v[${i}]`).join(', ')}};`) as RatesMaker;
    if (makers.size >= MAX_MAKERS) makers.clear();
    makers.set(signature, make);
  }
  return make;
}

/** Scratch for one derive call (synchronous): the rates in key order. */
const values: number[] = [];

/** Appends the interfaces' rates to `values` and returns their part of the signature. */
function interfaceRates(prev: readonly NetInterfaceStats[] | undefined, cur: readonly NetInterfaceStats[] | undefined, seconds: number): string {
  if (!prev || !cur) return '';
  let signature = '';
  for (const iface of cur) {
    // A handful of interfaces at most: a scan is cheaper than a map per sample.
    const p = prev.find((i) => i.name === iface.name);
    if (!p) continue;
    let mask = 0;
    for (let f = 0; f < NET_FIELDS.length; f++) {
      const r = ratePerSecond(p[NET_FIELDS[f]], iface[NET_FIELDS[f]], seconds);
      if (r !== undefined) {
        mask |= 1 << f;
        values.push(r);
      }
    }
    signature += `/${mask}/${iface.name}`;
  }
  return signature;
}

/**
 * Share of the CFS periods that elapsed this tick in which the group was throttled
 * (Δnr_throttled / Δnr_periods), for a group with a quota; 0 when no period elapsed (the group
 * did not run, so it was not throttled); undefined without a quota or without the counters.
 */
function throttledPercent(rates: Record<string, number>, limitCores: number | undefined): number | undefined {
  const periods = rates['cpu.periods'];
  const throttled = rates['cpu.throttledPeriods'];
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
  let rates: Record<string, number> = {};
  let cpuPct = 0;
  let cores = 0;
  let throttledPct: number | undefined;
  const limitCores = cpuLimitCores(cur.cgroup.cpu);
  if (prev) {
    const seconds = Number(cur.monoNs - prev.monoNs) / 1e9;
    values.length = 0;
    let mask = 0;
    for (let i = 0; i < COUNTER_PICKS.length; i++) {
      const r = ratePerSecond(COUNTER_PICKS[i](prev), COUNTER_PICKS[i](cur), seconds);
      if (r !== undefined) {
        mask |= 1 << i;
        values.push(r);
      }
    }
    rates = makerFor(mask + interfaceRates(prev.network, cur.network, seconds))(values);
    cpuPct = cpuPercent(prev.cgroup.cpu?.usageNs, cur.cgroup.cpu?.usageNs, prev.systemCpuNs, cur.systemCpuNs, cur.onlineCpus);
    cores = (rates['cpu.usageNs'] ?? 0) / 1e9;
    throttledPct = throttledPercent(rates, limitCores);
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
