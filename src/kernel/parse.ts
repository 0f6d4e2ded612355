/**
 * Tiny helpers shared by every kernel-file parser. All of them are pure (text in, value out)
 * and throw ParseError naming the file on malformed input.
 */
import { ParseError } from './errors.js';

const U64_MAX = (1n << 64n) - 1n;
const UNSIGNED = /^\d+$/;
const SIGNED = /^-?\d+$/;

/** One unsigned 64-bit decimal, exact. */
export function parseU64(token: string, file: string): bigint {
  if (!UNSIGNED.test(token)) throw new ParseError(file, `not an unsigned integer: ${JSON.stringify(token)}`);
  const value = BigInt(token);
  if (value > U64_MAX) throw new ParseError(file, `value exceeds 64 bits: ${token}`);
  return value;
}

/** An unsigned integer that stays far below 2^53 (pids, mount ids, counts) as a number. */
export function parseUint(token: string, file: string): number {
  if (!UNSIGNED.test(token) || token.length > 15) throw new ParseError(file, `not a small unsigned integer: ${JSON.stringify(token)}`);
  return Number(token);
}

/** A signed 64-bit decimal (v1 cpu.cfs_quota_us is -1 when unset). */
export function parseI64(token: string, file: string): bigint {
  if (!SIGNED.test(token)) throw new ParseError(file, `not an integer: ${JSON.stringify(token)}`);
  return BigInt(token);
}

/** A file holding a single unsigned number, e.g. memory.usage_in_bytes. */
export function parseSingleU64(text: string, file: string): bigint {
  const token = text.trim();
  if (token === '') throw new ParseError(file, 'empty file');
  return parseU64(token, file);
}

/** A v2 file holding a number or "max", e.g. memory.max, pids.max. `null` means "max". */
export function parseU64OrMax(text: string, file: string): bigint | null {
  const token = text.trim();
  if (token === '') throw new ParseError(file, 'empty file');
  return token === 'max' ? null : parseU64(token, file);
}

/**
 * Calls `fn` for every "key value" line (memory.stat, cpu.stat, memory.events, cpuacct.stat).
 * The kernel separates key and value by one space; blank lines are skipped; a line without a
 * space, or whose value is not one unsigned number, is an error. Scans with indexOf: these
 * files are read for every container every second.
 */
export function forEachKeyValue(text: string, file: string, fn: (key: string, value: bigint) => void): void {
  const n = text.length;
  let start = 0;
  while (start < n) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = n;
    if (end > start) {
      const sp = text.indexOf(' ', start);
      if (sp <= start || sp >= end) {
        throw new ParseError(file, `expected "key value", got ${JSON.stringify(text.slice(start, end))}`);
      }
      fn(text.slice(start, sp), parseU64(text.slice(sp + 1, end), file));
    }
    start = end + 1;
  }
}

/**
 * The value of one "key value" line, undefined when no line has that key; other lines are not
 * looked at (/proc/vmstat has 170 of them, and only oom_kill is wanted every tick).
 */
export function keyValueOf(text: string, file: string, key: string): bigint | undefined {
  const head = `${key} `;
  let at = 0;
  if (!text.startsWith(head)) {
    const nl = text.indexOf(`\n${head}`);
    if (nl < 0) return undefined;
    at = nl + 1;
  }
  at += head.length;
  let end = text.indexOf('\n', at);
  if (end < 0) end = text.length;
  return parseU64(text.slice(at, end), file);
}

/** "key value" lines into a Map. */
export function parseKeyValues(text: string, file: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  forEachKeyValue(text, file, (key, value) => out.set(key, value));
  return out;
}

/** "key value" lines into a plain record (memory.stat → MemoryStats.stat). */
export function parseKeyValueRecord(text: string, file: string): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  forEachKeyValue(text, file, (key, value) => {
    out[key] = value;
  });
  return out;
}

/**
 * Splits a line on runs of spaces and tabs, ignoring leading and trailing ones (the column
 * layout of /proc/stat, diskstats, net/dev). A plain loop: no regex, one array.
 */
export function splitFields(line: string): string[] {
  const out: string[] = [];
  const n = line.length;
  let i = 0;
  for (;;) {
    while (i < n && (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9)) i++;
    if (i >= n) return out;
    let j = i + 1;
    while (j < n && line.charCodeAt(j) !== 32 && line.charCodeAt(j) !== 9) j++;
    out.push(line.slice(i, j));
    i = j;
  }
}

/** Whitespace-separated unsigned numbers on one line (cpuacct.usage_percpu). */
export function parseU64List(text: string, file: string): bigint[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  return trimmed.split(/\s+/).map((t) => parseU64(t, file));
}

/** "MAJ:MIN" → [major, minor]. */
export function parseDevice(token: string, file: string): [number, number] {
  const m = /^(\d+):(\d+)$/.exec(token);
  if (!m) throw new ParseError(file, `not a MAJ:MIN device: ${JSON.stringify(token)}`);
  return [Number(m[1]), Number(m[2])];
}

/** A float as the kernel prints it in pressure files ("0.25"). */
export function parseFloatStrict(token: string, file: string): number {
  if (!/^\d+(\.\d+)?$/.test(token)) throw new ParseError(file, `not a decimal: ${JSON.stringify(token)}`);
  return Number(token);
}

/**
 * What each line of a file parsed to at its previous read, for files of many lines that mostly
 * repeat from one read to the next: the host's net/dev (a veth per container, most of them
 * idle) and diskstats (idle devices). A line equal to one of the previous read gives back the
 * same object, so results are shared from read to read and nobody may change them. Holds the
 * lines of two reads at most.
 */
export class LineMemo<T> {
  private previous = new Map<string, T>();
  private current = new Map<string, T>();

  /** Starts a read of the file (a read that threw leaves nothing behind). */
  begin(): void {
    this.current.clear();
  }

  line(text: string, parse: (line: string) => T): T {
    let value = this.previous.get(text);
    if (value === undefined) value = parse(text);
    this.current.set(text, value);
    return value;
  }

  /** Ends a read: the next one is compared with this one's lines. */
  end(): void {
    const done = this.current;
    this.current = this.previous;
    this.previous = done;
  }
}

/** `parse` over every non-empty line from index `from` on, through `memo` when there is one. */
export function parseLines<T>(lines: readonly string[], from: number, parse: (line: string) => T, memo?: LineMemo<T>): T[] {
  const out: T[] = [];
  memo?.begin();
  for (let i = from; i < lines.length; i++) {
    const line = lines[i];
    if (line !== '') out.push(memo ? memo.line(line, parse) : parse(line));
  }
  memo?.end();
  return out;
}
