/** memory.stat, shared by v1 and v2: every key into `stat`, plus the named MemoryStats fields. */
import { parseKeyValueRecord } from '../parse.js';
import type { MemoryStats } from '../types.js';

export type StatFieldMap = ReadonlyArray<readonly [string, 'rssBytes' | 'cacheBytes' | 'swapBytes' | 'inactiveFileBytes' | 'activeFileBytes' | 'mappedFileBytes']>;

export function parseMemoryStat(text: string, file: string, fields: StatFieldMap): MemoryStats {
  const stat = parseKeyValueRecord(text, file);
  const out: MemoryStats = { stat };
  for (const [key, field] of fields) {
    const value = stat[key];
    if (value !== undefined) out[field] = value;
  }
  return out;
}
