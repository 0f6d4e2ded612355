/**
 * The agent's own process, as Prometheus clients expose theirs (client_golang's process
 * collector, prom-client's Node.js collectors: the same names), so an operator can watch the
 * watcher: CPU, resident and virtual memory, descriptors against their limit, start time, and
 * V8's heap by space. Read when /metrics is rendered (at most once a tick).
 */
import { readFileSync } from 'node:fs';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import { countOpenDescriptors } from '../kernel/proc/fd.js';
import { parseMaxOpenFiles } from '../kernel/proc/limits.js';
import { parsePidStat } from '../kernel/proc/pidstat.js';
import { parseProcStat } from '../kernel/proc/stat.js';
import { USER_HZ } from '../kernel/proc/userhz.js';

export interface HeapSpace {
  /** V8's name less its "_space" suffix, as prom-client labels it: new, old, code, large_object... */
  space: string;
  totalBytes: number;
  usedBytes: number;
  availableBytes: number;
}

export interface SelfFigures {
  /** User + system CPU time, µs (getrusage). */
  cpuUs: bigint;
  residentBytes: number;
  virtualBytes?: bigint;
  /** Seconds since the epoch: boot time + the process's start in ticks after boot. */
  startTimeSec?: number;
  openFds?: number;
  maxFds?: bigint;
  heapTotalBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
  spaces: HeapSpace[];
}

/** The boot time and this process's start never change: read once. */
let started: { startTimeSec: number } | undefined;

function readOr<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined; // a /proc that does not answer (or answers garbage): the figure is left out
  }
}

export function readSelf(): SelfFigures {
  const stat = readOr(() => parsePidStat(readFileSync('/proc/self/stat', 'latin1')));
  started ??= readOr(() => {
    const boot = parseProcStat(readFileSync('/proc/stat', 'latin1')).bootTimeSec;
    return boot === undefined || stat === undefined ? undefined : { startTimeSec: Number(boot) + Number(stat.startTimeTicks) / Number(USER_HZ) };
  });
  const { user, system } = process.cpuUsage();
  const heap = getHeapStatistics();
  return {
    cpuUs: BigInt(user) + BigInt(system),
    residentBytes: process.memoryUsage.rss(),
    virtualBytes: stat?.vsizeBytes,
    startTimeSec: started?.startTimeSec,
    openFds: countOpenDescriptors(),
    maxFds: readOr(() => parseMaxOpenFiles(readFileSync('/proc/self/limits', 'latin1'))),
    heapTotalBytes: heap.total_heap_size,
    heapUsedBytes: heap.used_heap_size,
    externalBytes: heap.external_memory,
    spaces: getHeapSpaceStatistics().map((s) => ({
      space: s.space_name.replace(/_space$/, ''),
      totalBytes: s.space_size,
      usedBytes: s.space_used_size,
      availableBytes: s.space_available_size,
    })),
  };
}
