/**
 * memory.stat, shared by v1 and v2: the named MemoryStats fields at once, every key into `stat`
 * when someone asks for it. The file has 40 to 60 keys and is read for every container every
 * second; only a handful feed the figures of every tick, so the rest stay text until an API
 * response needs them. The whole file is checked at once all the same, so a malformed file is
 * reported when it is read and `stat` never fails later.
 */
import { parseKeyValueRecord, parseU64 } from '../parse.js';
import type { MemoryStats } from '../types.js';

type StatField = 'rssBytes' | 'cacheBytes' | 'swapBytes' | 'inactiveFileBytes' | 'activeFileBytes' | 'mappedFileBytes';

/** Lines of "key value" (value: up to 20 digits), blank lines allowed. */
const WELL_FORMED = /^(?:[^ \n]+ \d{1,20}(?:\n|$)|\n)*$/;
/** A 20-digit value may exceed 2^64 − 1: such a file takes the full parse, which says so. */
const TWENTY_DIGITS = / \d{20}(?:\n|$)/;

interface Lookup {
  key: string;
  field: StatField;
  /** "key " at the start of the file, "\nkey " anywhere else. */
  first: string;
  later: string;
}

/** The MemoryStats fields a memory.stat flavour names, by key; made once per flavour. */
export type StatFields = readonly Lookup[];

export function statFields(pairs: ReadonlyArray<readonly [string, StatField]>): StatFields {
  return pairs.map(([key, field]) => ({ key, field, first: `${key} `, later: `\n${key} ` }));
}

/** The value on the line of `l`'s key, or undefined when the file lacks the key. */
function valueOf(text: string, l: Lookup, file: string): bigint | undefined {
  let start: number;
  if (text.startsWith(l.first)) start = l.first.length;
  else {
    const at = text.indexOf(l.later);
    if (at < 0) return undefined;
    start = at + l.later.length;
  }
  const end = text.indexOf('\n', start);
  return parseU64(text.slice(start, end < 0 ? text.length : end), file);
}

export function parseMemoryStat(text: string, file: string, fields: StatFields): MemoryStats {
  if (!WELL_FORMED.test(text) || TWENTY_DIGITS.test(text)) {
    // The slow path names the offending line (ParseError) or, for a large but valid value, parses.
    const stat = parseKeyValueRecord(text, file);
    const out: MemoryStats = { stat };
    for (const { key, field } of fields) if (stat[key] !== undefined) out[field] = stat[key];
    return out;
  }
  let stat: Record<string, bigint> | undefined;
  const out: MemoryStats = {
    get stat(): Record<string, bigint> {
      return (stat ??= parseKeyValueRecord(text, file));
    },
  };
  for (const l of fields) {
    const value = valueOf(text, l, file);
    if (value !== undefined) out[l.field] = value;
  }
  return out;
}

/**
 * A sample's own MemoryStats on top of a parse of memory.stat that ticks share (the same
 * content is parsed once): the named fields copied, the full record asked of the shared parse.
 */
export function memoryStatsFrom(parsed: MemoryStats | undefined, fields: StatFields): MemoryStats {
  if (parsed === undefined) return {};
  const out: MemoryStats = {
    get stat(): Record<string, bigint> | undefined {
      return parsed.stat;
    },
  };
  for (const l of fields) {
    const value = parsed[l.field];
    if (value !== undefined) out[l.field] = value;
  }
  return out;
}
