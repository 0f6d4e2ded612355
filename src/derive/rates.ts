/**
 * Per-second rates of a container's cumulative counters, from two samples. Typed fields for the
 * container-level counters and one entry per network interface; on the wire (REST, stream)
 * they are one object keyed by the counters' public names ("cpu.usageNs", "net.eth0.rxBytes"),
 * which toJSON writes, in the order below, interfaces after the counters in the sample's order.
 * A counter without two readings, or one that went back (a reset), has no rate: undefined.
 */
import type { NetInterfaceStats } from '../kernel/types.js';
import type { CounterRates, InterfaceRates, Rates, Sample } from '../model.js';
import { ratePerSecond, sumBig } from './counters.js';
import { networkTotal } from './docker.js';

/** Each counter's public name, in the order the wire lists them. */
const PUBLIC_NAMES: Readonly<Record<keyof CounterRates, string>> = {
  cpuUsageNs: 'cpu.usageNs',
  cpuUserNs: 'cpu.userNs',
  cpuSystemNs: 'cpu.systemNs',
  cpuThrottledNs: 'cpu.throttledNs',
  cpuPeriods: 'cpu.periods',
  cpuThrottledPeriods: 'cpu.throttledPeriods',
  memoryFailcnt: 'memory.failcnt',
  memoryOomKills: 'memory.oomKills',
  blkioReadBytes: 'blkio.readBytes',
  blkioWriteBytes: 'blkio.writeBytes',
  blkioReads: 'blkio.reads',
  blkioWrites: 'blkio.writes',
  netRxBytes: 'net.rxBytes',
  netTxBytes: 'net.txBytes',
  pressureCpuSomeUs: 'pressure.cpu.someUs',
  pressureMemorySomeUs: 'pressure.memory.someUs',
  pressureMemoryFullUs: 'pressure.memory.fullUs',
  pressureIoSomeUs: 'pressure.io.someUs',
  pressureIoFullUs: 'pressure.io.fullUs',
};
const COUNTER_FIELDS = Object.keys(PUBLIC_NAMES) as (keyof CounterRates)[];

const NET_FIELDS = ['rxBytes', 'rxPackets', 'rxErrors', 'rxDropped', 'txBytes', 'txPackets', 'txErrors', 'txDropped'] as const;

/** No interface has a rate: one shared map, never changed. */
const NO_INTERFACES: ReadonlyMap<string, InterfaceRates> = new Map();

/** Rates with every field present (undefined where none): one object shape for V8 throughout. */
class ContainerRates implements Rates {
  cpuUsageNs?: number = undefined;
  cpuUserNs?: number = undefined;
  cpuSystemNs?: number = undefined;
  cpuThrottledNs?: number = undefined;
  cpuPeriods?: number = undefined;
  cpuThrottledPeriods?: number = undefined;
  memoryFailcnt?: number = undefined;
  memoryOomKills?: number = undefined;
  blkioReadBytes?: number = undefined;
  blkioWriteBytes?: number = undefined;
  blkioReads?: number = undefined;
  blkioWrites?: number = undefined;
  netRxBytes?: number = undefined;
  netTxBytes?: number = undefined;
  pressureCpuSomeUs?: number = undefined;
  pressureMemorySomeUs?: number = undefined;
  pressureMemoryFullUs?: number = undefined;
  pressureIoSomeUs?: number = undefined;
  pressureIoFullUs?: number = undefined;
  interfaces: ReadonlyMap<string, InterfaceRates> = NO_INTERFACES;

  /** The wire form: the rates that exist, by public name. */
  toJSON(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const field of COUNTER_FIELDS) {
      const r = this[field];
      if (r !== undefined) out[PUBLIC_NAMES[field]] = r;
    }
    for (const [name, fields] of this.interfaces) {
      for (const f of NET_FIELDS) {
        const r = fields[f];
        if (r !== undefined) out[`net.${name}.${f}`] = r;
      }
    }
    return out;
  }
}

/** A first sample's rates: none. */
export function noRates(): Rates {
  return new ContainerRates();
}

const blkioSum = (s: Sample, pick: (d: { readBytes: bigint; writeBytes: bigint; reads: bigint; writes: bigint }) => bigint): bigint | undefined =>
  s.cgroup.blkio ? sumBig(s.cgroup.blkio.devices, pick) : undefined;
const netSum = (s: Sample, field: 'rxBytes' | 'txBytes'): bigint | undefined => (s.network ? networkTotal(s.network, field) : undefined);

/** The rates of `prev` → `cur`, over `seconds` of the monotonic clock. */
export function counterRates(prev: Sample, cur: Sample, seconds: number): Rates {
  const r = new ContainerRates();
  const rate = (a: bigint | undefined, b: bigint | undefined): number | undefined => ratePerSecond(a, b, seconds);
  const [c0, c1] = [prev.cgroup.cpu, cur.cgroup.cpu];
  r.cpuUsageNs = rate(c0?.usageNs, c1?.usageNs);
  r.cpuUserNs = rate(c0?.userNs, c1?.userNs);
  r.cpuSystemNs = rate(c0?.systemNs, c1?.systemNs);
  r.cpuThrottledNs = rate(c0?.throttledNs, c1?.throttledNs);
  r.cpuPeriods = rate(c0?.periods, c1?.periods);
  r.cpuThrottledPeriods = rate(c0?.throttledPeriods, c1?.throttledPeriods);
  const [m0, m1] = [prev.cgroup.memory, cur.cgroup.memory];
  r.memoryFailcnt = rate(m0?.failcnt, m1?.failcnt);
  r.memoryOomKills = rate(m0?.oomKills, m1?.oomKills);
  r.blkioReadBytes = rate(blkioSum(prev, (d) => d.readBytes), blkioSum(cur, (d) => d.readBytes));
  r.blkioWriteBytes = rate(blkioSum(prev, (d) => d.writeBytes), blkioSum(cur, (d) => d.writeBytes));
  r.blkioReads = rate(blkioSum(prev, (d) => d.reads), blkioSum(cur, (d) => d.reads));
  r.blkioWrites = rate(blkioSum(prev, (d) => d.writes), blkioSum(cur, (d) => d.writes));
  r.netRxBytes = rate(netSum(prev, 'rxBytes'), netSum(cur, 'rxBytes'));
  r.netTxBytes = rate(netSum(prev, 'txBytes'), netSum(cur, 'txBytes'));
  const [p0, p1] = [prev.cgroup.pressure, cur.cgroup.pressure];
  r.pressureCpuSomeUs = rate(p0?.cpu?.some?.totalUs, p1?.cpu?.some?.totalUs);
  r.pressureMemorySomeUs = rate(p0?.memory?.some?.totalUs, p1?.memory?.some?.totalUs);
  r.pressureMemoryFullUs = rate(p0?.memory?.full?.totalUs, p1?.memory?.full?.totalUs);
  r.pressureIoSomeUs = rate(p0?.io?.some?.totalUs, p1?.io?.some?.totalUs);
  r.pressureIoFullUs = rate(p0?.io?.full?.totalUs, p1?.io?.full?.totalUs);
  r.interfaces = interfaceRates(prev.network, cur.network, seconds);
  return r;
}

/** Each interface of `cur` that `prev` has too, with the rates of its fields. */
function interfaceRates(prev: readonly NetInterfaceStats[] | undefined, cur: readonly NetInterfaceStats[] | undefined, seconds: number): ReadonlyMap<string, InterfaceRates> {
  if (!prev || !cur || cur.length === 0) return NO_INTERFACES;
  let out: Map<string, InterfaceRates> | undefined;
  for (const iface of cur) {
    // A handful of interfaces at most: a scan is cheaper than a map per sample.
    const p = prev.find((i) => i.name === iface.name);
    if (!p) continue;
    const fields: InterfaceRates = {};
    for (const f of NET_FIELDS) {
      const r = ratePerSecond(p[f], iface[f], seconds);
      if (r !== undefined) fields[f] = r;
    }
    (out ??= new Map()).set(iface.name, fields);
  }
  return out ?? NO_INTERFACES;
}
