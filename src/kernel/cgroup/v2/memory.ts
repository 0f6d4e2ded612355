/** cgroup v2 memory controller (Documentation/admin-guide/cgroup-v2.rst). */
import { memoryStatsFrom, parseMemoryStat, type StatFields } from '../memstat.js';
import { parseKeyValues, parseSingleU64, parseU64OrMax } from '../../parse.js';
import type { CgroupStats, MemoryStats } from '../../types.js';
import { hasFields, readParsed, type StatContext } from '../read-file.js';

/** MemoryStats fields taken from v2 memory.stat (always hierarchical in v2). */
const STAT_FIELDS: StatFields = [
  ['anon', 'rssBytes'],
  ['file', 'cacheBytes'],
  ['inactive_file', 'inactiveFileBytes'],
  ['active_file', 'activeFileBytes'],
  ['file_mapped', 'mappedFileBytes'],
];

/** memory.stat: every key into `stat`, plus the named fields. */
export function parseMemoryStatV2(text: string, file: string): MemoryStats {
  return parseMemoryStat(text, file, STAT_FIELDS);
}

/**
 * memory.events: "low high max oom oom_kill oom_group_kill (5.17)". `max` counts the times
 * usage hit memory.max, the v2 counterpart of v1 failcnt.
 */
export function parseMemoryEvents(text: string, file: string): Pick<MemoryStats, 'failcnt' | 'oomEvents' | 'oomKills'> {
  const kv = parseKeyValues(text, file);
  const out: Pick<MemoryStats, 'failcnt' | 'oomEvents' | 'oomKills'> = {};
  const max = kv.get('max');
  if (max !== undefined) out.failcnt = max;
  const oom = kv.get('oom');
  if (oom !== undefined) out.oomEvents = oom;
  const oomKill = kv.get('oom_kill');
  if (oomKill !== undefined) out.oomKills = oomKill;
  return out;
}

export function statMemory(ctx: StatContext, dir: string, stats: CgroupStats): void {
  const stat = readParsed(ctx, dir, 'memory.stat', parseMemoryStatV2);
  const usageBytes = readParsed(ctx, dir, 'memory.current', parseSingleU64);
  const limitBytes = readParsed(ctx, dir, 'memory.max', parseU64OrMax);
  const maxUsageBytes = readParsed(ctx, dir, 'memory.peak', parseSingleU64); // kernel 5.19
  // memory.swap.* exist only with swap accounting (CONFIG_MEMCG_SWAP, not swapaccount=0).
  const swapBytes = readParsed(ctx, dir, 'memory.swap.current', parseSingleU64);
  const swapLimitBytes = readParsed(ctx, dir, 'memory.swap.max', parseU64OrMax);
  const events = readParsed(ctx, dir, 'memory.events', parseMemoryEvents);
  const mem = memoryStatsFrom(stat, STAT_FIELDS);
  if (usageBytes !== undefined) mem.usageBytes = usageBytes;
  if (limitBytes !== undefined) mem.limitBytes = limitBytes;
  if (maxUsageBytes !== undefined) mem.maxUsageBytes = maxUsageBytes;
  if (swapBytes !== undefined) mem.swapBytes = swapBytes;
  if (swapLimitBytes !== undefined) mem.swapLimitBytes = swapLimitBytes;
  if (events !== undefined) Object.assign(mem, events);
  if (hasFields(mem)) stats.memory = mem;
}
