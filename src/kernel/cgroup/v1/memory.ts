/** cgroup v1 memory controller (Documentation/admin-guide/cgroup-v1/memory.rst). */
import { memoryStatsFrom, parseMemoryStat, type StatFields } from '../memstat.js';
import { parseKeyValues, parseSingleU64 } from '../../parse.js';
import type { CgroupStats, MemoryStats } from '../../types.js';
import { hasFields, readParsed, type StatContext } from '../read-file.js';
import type { V1Dirs } from './dirs.js';

/**
 * "No limit" is PAGE_COUNTER_MAX pages in bytes: LONG_MAX rounded down to the page size, i.e.
 * 9223372036854771712 with 4 KiB pages and 9223372036854710272 with 64 KiB pages (arm64,
 * ppc64). Anything at or above the 64 KiB figure is treated as unlimited.
 */
const UNLIMITED_FROM = 0x7fff_ffff_ffff_0000n;

/** memory.limit_in_bytes / memory.memsw.limit_in_bytes; null = unlimited. */
export function parseV1Limit(text: string, file: string): bigint | null {
  const value = parseSingleU64(text, file);
  return value >= UNLIMITED_FROM ? null : value;
}

/** MemoryStats fields taken from v1 memory.stat: the hierarchical total_* figures. */
const STAT_FIELDS: StatFields = [
  ['total_rss', 'rssBytes'],
  ['total_cache', 'cacheBytes'],
  ['total_swap', 'swapBytes'],
  ['total_inactive_file', 'inactiveFileBytes'],
  ['total_active_file', 'activeFileBytes'],
  ['total_mapped_file', 'mappedFileBytes'],
];

/** memory.stat: every key into `stat`, plus the named total_* fields (total_swap only with swap accounting). */
export function parseMemoryStatV1(text: string, file: string): MemoryStats {
  return parseMemoryStat(text, file, STAT_FIELDS);
}

/** memory.oom_control: "oom_kill_disable 0\nunder_oom 0\noom_kill N"; oom_kill since kernel 4.13. */
export function parseOomKills(text: string, file: string): bigint | undefined {
  return parseKeyValues(text, file).get('oom_kill');
}

export function statMemory(ctx: StatContext, dirs: V1Dirs, stats: CgroupStats): void {
  const dir = dirs.memory;
  if (dir === undefined) return;
  const stat = readParsed(ctx, dir, 'memory.stat', parseMemoryStatV1);
  const usageBytes = readParsed(ctx, dir, 'memory.usage_in_bytes', parseSingleU64);
  const limitBytes = readParsed(ctx, dir, 'memory.limit_in_bytes', parseV1Limit);
  const maxUsageBytes = readParsed(ctx, dir, 'memory.max_usage_in_bytes', parseSingleU64);
  const failcnt = readParsed(ctx, dir, 'memory.failcnt', parseSingleU64);
  // memsw.* exist only with swap accounting (CONFIG_MEMCG_SWAP and swapaccount=1).
  const memsw = readParsed(ctx, dir, 'memory.memsw.limit_in_bytes', parseV1Limit);
  const oomKills = readParsed(ctx, dir, 'memory.oom_control', parseOomKills);
  const mem = memoryStatsFrom(stat, STAT_FIELDS);
  if (usageBytes !== undefined) mem.usageBytes = usageBytes;
  if (limitBytes !== undefined) mem.limitBytes = limitBytes;
  if (maxUsageBytes !== undefined) mem.maxUsageBytes = maxUsageBytes;
  if (failcnt !== undefined) mem.failcnt = failcnt;
  if (memsw !== undefined && limitBytes !== undefined) {
    mem.swapLimitBytes = memsw === null || limitBytes === null ? null : memsw - limitBytes;
  }
  if (oomKills !== undefined) mem.oomKills = oomKills;
  if (hasFields(mem)) stats.memory = mem;
}
