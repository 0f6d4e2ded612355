/**
 * The host's figures people read, from two host samples: CPU busy share, memory in use, and
 * per-second rates of each disk and network interface. Pure, like the container figures.
 */
import type { HostSample } from '../model.js';
import type { ProcStatCpu } from '../kernel/types.js';
import { ticksToNs } from '../kernel/proc/userhz.js';
import { counterDelta, ratePerSecond } from './counters.js';

/** /proc/diskstats counts 512-byte sectors whatever the device's own sector size. */
const SECTOR_BYTES = 512;

export interface HostDerived {
  /** Busy share of all online CPUs over the tick: 1 − Δ(idle + iowait) / Δ(all columns but guest). */
  cpuPercent?: number;
  /** The same in cores. */
  cpuBusyCores?: number;
  onlineCpus: number;
  memoryTotalBytes?: number;
  /** MemAvailable (kernel 3.14): what can be had without swapping. */
  memoryAvailableBytes?: number;
  /** MemTotal − MemAvailable. */
  memoryUsedBytes?: number;
  /** Per disk (partitions included, as /proc/diskstats lists them). */
  disks: { name: string; readBytesPerSecond?: number; writeBytesPerSecond?: number }[];
  /** Per interface of the agent's network namespace. */
  networks: { name: string; rxBytesPerSecond?: number; txBytesPerSecond?: number }[];
}

/** guest and guest_nice are already counted in user and nice. */
const allTicks = (c: ProcStatCpu): bigint => c.user + c.nice + c.system + c.idle + c.iowait + c.irq + c.softirq + c.steal;

export function deriveHost(prev: HostSample | undefined, cur: HostSample): HostDerived {
  const onlineCpus = cur.stat.perCpu.size;
  const total = cur.meminfo.get('MemTotal');
  const available = cur.meminfo.get('MemAvailable');
  const seconds = prev ? Number(cur.monoNs - prev.monoNs) / 1e9 : 0;
  let cpuPercent: number | undefined;
  if (prev) {
    const all = counterDelta(allTicks(prev.stat.total), allTicks(cur.stat.total));
    const idle = counterDelta(prev.stat.total.idle + prev.stat.total.iowait, cur.stat.total.idle + cur.stat.total.iowait);
    if (all !== undefined && idle !== undefined && all > 0) cpuPercent = ((all - idle) / all) * 100;
  }
  return {
    cpuPercent,
    cpuBusyCores: cpuPercent === undefined ? undefined : (cpuPercent / 100) * onlineCpus,
    onlineCpus,
    memoryTotalBytes: total === undefined ? undefined : Number(total),
    memoryAvailableBytes: available === undefined ? undefined : Number(available),
    memoryUsedBytes: total === undefined || available === undefined ? undefined : Number(total - available),
    disks: cur.disks.map((d) => {
      const p = prev?.disks.find((x) => x.name === d.name);
      const rate = (pick: (x: typeof d) => bigint) => {
        const r = p && ratePerSecond(pick(p), pick(d), seconds);
        return r === undefined ? undefined : r * SECTOR_BYTES;
      };
      return { name: d.name, readBytesPerSecond: rate((x) => x.sectorsRead), writeBytesPerSecond: rate((x) => x.sectorsWritten) };
    }),
    networks: cur.network.map((n) => {
      const p = prev?.network.find((x) => x.name === n.name);
      return { name: n.name, rxBytesPerSecond: p && ratePerSecond(p.rxBytes, n.rxBytes, seconds), txBytesPerSecond: p && ratePerSecond(p.txBytes, n.txBytes, seconds) };
    }),
  };
}

/** The host's memory (/proc/meminfo MemTotal), bytes; 0 before the host is sampled. */
export function hostMemoryBytes(host: HostSample | undefined): bigint {
  return host?.meminfo.get('MemTotal') ?? 0n;
}

/**
 * The host's busy CPU time from a /proc/stat line as cAdvisor counts the machine's: user (with
 * nice) and system (with irq and softirq), ns.
 */
export function busyNs(c: ProcStatCpu): { user: bigint; system: bigint } {
  return { user: ticksToNs(c.user + c.nice), system: ticksToNs(c.system + c.irq + c.softirq) };
}

/** The host's busy CPU (user + system, as `busyNs`) between two samples in nanocores, rounded; none without a previous sample. */
export function hostBusyNanoCores(prev: HostSample | undefined, cur: HostSample): bigint | undefined {
  const seconds = prev ? Number(cur.monoNs - prev.monoNs) / 1e9 : 0;
  if (!prev || !(seconds > 0)) return undefined;
  const busy = (h: HostSample) => {
    const b = busyNs(h.stat.total);
    return b.user + b.system;
  };
  return BigInt(Math.round(Number(busy(cur) - busy(prev)) / seconds));
}

/** Host memory from /proc/meminfo as the root cgroup accounts it. */
export function hostMemory(meminfo: ReadonlyMap<string, bigint>) {
  const get = (k: string) => meminfo.get(k) ?? 0n;
  const usage = get('MemTotal') - get('MemFree');
  const inactiveFile = get('Inactive(file)');
  return {
    usage,
    cache: get('Cached') + get('Buffers'),
    rss: get('AnonPages'),
    swap: get('SwapTotal') - get('SwapFree'),
    mapped: get('Mapped'),
    workingSet: inactiveFile < usage ? usage - inactiveFile : 0n,
  };
}
