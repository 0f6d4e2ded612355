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
 * "key value" lines (memory.stat, cpu.stat, memory.events, cpuacct.stat). Blank lines are
 * skipped; a line without exactly two fields, or a non-numeric value, is an error.
 */
export function parseKeyValues(text: string, file: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const fields = line.trim().split(/\s+/);
    if (fields.length !== 2) throw new ParseError(file, `expected "key value", got ${JSON.stringify(line)}`);
    out.set(fields[0], parseU64(fields[1], file));
  }
  return out;
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

/** Reads a required key from a parsed key/value map. */
export function requireKey(map: Map<string, bigint>, key: string, file: string): bigint {
  const v = map.get(key);
  if (v === undefined) throw new ParseError(file, `missing key "${key}"`);
  return v;
}
