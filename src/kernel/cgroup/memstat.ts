/**
 * memory.stat, shared by v1 and v2: every key into `stat`, and the named MemoryStats fields
 * from it. The file has 40 to 60 keys and is read for every container every second, but the
 * collector parses the same content only once (collector/cgroup-reads.ts), so an idle
 * container's is parsed when it changes; the raw-sample history keeps every key, so a lazy record would be parsed all
 * the same, and a getter on every sample's MemoryStats put V8 into slow dictionary objects.
 */
import { parseKeyValueRecord } from '../parse.js';
import type { MemoryStats } from '../types.js';

type StatField = 'rssBytes' | 'cacheBytes' | 'swapBytes' | 'inactiveFileBytes' | 'activeFileBytes' | 'mappedFileBytes';

/** The MemoryStats fields a memory.stat flavour names, as [key, field]. */
export type StatFields = ReadonlyArray<readonly [string, StatField]>;

/** MemoryStats holding `stat` and the named fields taken from it. */
function withFields(stat: Record<string, bigint>, fields: StatFields): MemoryStats {
  const out: MemoryStats = { stat };
  for (const [key, field] of fields) {
    const value = stat[key];
    if (value !== undefined) out[field] = value;
  }
  return out;
}

export function parseMemoryStat(text: string, file: string, fields: StatFields): MemoryStats {
  return withFields(parseKeyValueRecord(text, file), fields);
}

/**
 * A sample's own MemoryStats on top of a parse of memory.stat that ticks share: the record is
 * the shared one (never changed), the named fields are taken from it, other files' fields go on top.
 */
export function memoryStatsFrom(parsed: MemoryStats | undefined, fields: StatFields): MemoryStats {
  return parsed?.stat === undefined ? {} : withFields(parsed.stat, fields);
}
