/**
 * /proc/meminfo for a container, after LXCFS (src/proc_fuse.c, proc_meminfo_read): the host's
 * file line by line, with the lines the memory cgroup can answer replaced. Lines the cgroup
 * knows nothing about (HugePages_*, Vmalloc*, CommitLimit, ...) stay the host's, as in LXCFS.
 */

/** A container's memory as the cgroup reports it, v1 and v2 alike. Bytes. */
export interface MemoryView {
  /** The lowest limit on the cgroup or any ancestor; null = none. */
  limitBytes: bigint | null;
  /** v1 memory.usage_in_bytes, v2 memory.current (page cache included). */
  usageBytes: bigint;
  /** Swap the cgroup may use: undefined without swap accounting, null = no limit. */
  swapLimitBytes: bigint | null | undefined;
  swapUsageBytes: bigint;
  /** memory.stat counters under their v2 names (v1 total_* mapped onto them); absent = 0. */
  stat: MemoryStatView;
}

export interface MemoryStatView {
  file: bigint;
  anon: bigint;
  activeAnon: bigint;
  inactiveAnon: bigint;
  activeFile: bigint;
  inactiveFile: bigint;
  unevictable: bigint;
  fileDirty: bigint;
  fileWriteback: bigint;
  fileMapped: bigint;
  shmem: bigint;
  anonThp: bigint;
  shmemThp: bigint;
  /** v2 only: v1 memory.stat has no slab figures, so these stay 0 there (as in LXCFS). */
  slab: bigint;
  slabReclaimable: bigint;
  slabUnreclaimable: bigint;
}

const KB = 1024n;
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);
const sub0 = (a: bigint, b: bigint): bigint => (a > b ? a - b : 0n);

/** Swap shown to the container, kB: [total, free]. */
export function containerSwapKb(view: MemoryView, hostSwapTotalKb: bigint): [bigint, bigint] {
  if (view.swapLimitBytes === undefined) return [0n, 0n];
  const total = view.swapLimitBytes === null ? hostSwapTotalKb : min(hostSwapTotalKb, view.swapLimitBytes / KB);
  return [total, sub0(total, view.swapUsageBytes / KB)];
}

/** The kernel's layout: "Key:" padded to 16 columns, the value right-aligned in 8, then " kB". */
export function meminfoLine(key: string, kb: bigint): string {
  return `${`${key}:`.padEnd(16)}${`${kb}`.padStart(8)} kB`;
}

/** Host values this file needs, kB, from the host's own /proc/meminfo text. */
function hostKb(host: string, key: string): bigint {
  const m = new RegExp(`^${key.replace(/[()]/g, '\\$&')}:\\s+(\\d+)`, 'm').exec(host);
  return m ? BigInt(m[1]) : 0n;
}

export function renderMeminfo(host: string, view: MemoryView): string {
  const s = view.stat;
  const hostTotal = hostKb(host, 'MemTotal');
  const total = view.limitBytes === null ? hostTotal : min(hostTotal, view.limitBytes / KB);
  const free = sub0(total, view.usageBytes / KB);
  const [swapTotal, swapFree] = containerSwapKb(view, hostKb(host, 'SwapTotal'));
  const kb = (bytes: bigint): bigint => bytes / KB;
  const replaced = new Map<string, bigint>([
    ['MemTotal', total],
    ['MemFree', free],
    ['MemAvailable', min(total, free + kb(s.file))],
    ['Buffers', 0n],
    ['Cached', kb(s.file)],
    ['SwapCached', 0n],
    ['Active', kb(s.activeAnon + s.activeFile)],
    ['Inactive', kb(s.inactiveAnon + s.inactiveFile)],
    ['Active(anon)', kb(s.activeAnon)],
    ['Inactive(anon)', kb(s.inactiveAnon)],
    ['Active(file)', kb(s.activeFile)],
    ['Inactive(file)', kb(s.inactiveFile)],
    ['Unevictable', kb(s.unevictable)],
    ['SwapTotal', swapTotal],
    ['SwapFree', swapFree],
    ['Dirty', kb(s.fileDirty)],
    ['Writeback', kb(s.fileWriteback)],
    ['AnonPages', kb(s.anon)],
    ['Mapped', kb(s.fileMapped)],
    ['Shmem', kb(s.shmem)],
    ['Slab', kb(s.slab)],
    ['SReclaimable', kb(s.slabReclaimable)],
    ['SUnreclaim', kb(s.slabUnreclaimable)],
    ['AnonHugePages', kb(s.anonThp)],
    ['ShmemHugePages', kb(s.shmemThp)],
    ['ShmemPmdMapped', 0n],
  ]);
  const out: string[] = [];
  for (const line of host.split('\n')) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    const value = colon > 0 ? replaced.get(line.slice(0, colon)) : undefined;
    out.push(value === undefined ? line : meminfoLine(line.slice(0, colon), value));
  }
  return `${out.join('\n')}\n`;
}
