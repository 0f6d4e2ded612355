/**
 * JSON with exact 64-bit integers: bigint values are written as plain JSON numbers with every
 * digit (JSON.stringify refuses bigint, and Number() would round above 2^53). Non-finite floats
 * become null. Map objects are written as objects; an object with a toJSON method as what it returns;
 * a Float64Array as an array.
 */
import { SLAB_BYTES, type SlabLease } from './slabs.js';

export function toJson(value: unknown, indent = 0): string {
  const out = new JsonOut();
  write(value, out, indent, '');
  return out.text();
}

/**
 * As toJson, as UTF-8 bytes in pieces to be sent one after the other: a body with long number
 * columns (a history answer) is written to bytes directly, and never copied into one buffer.
 * With `lease`, the bytes are written into its slabs: the pieces are valid until it is released.
 */
export function toJsonChunks(value: unknown, indent = 0, lease?: SlabLease): Buffer[] {
  const out = new JsonOut(lease);
  write(value, out, indent, '');
  return out.chunks();
}

/** A new byte buffer made to measure is at least this big (the numbers of one column go into one buffer). */
const MIN_BUFFER = 64 * 1024;
/** The longest number String() writes ("-2.2250738585072014e-308", 24 characters) and its comma. */
const NUMBER_MAX = 25;

/**
 * Where the text goes: short pieces gather as strings (joined once, as before); a Float64Array's
 * numbers are written as ASCII straight into byte buffers, after the pieces before them. The
 * buffers are made to measure, or with a lease its slabs, one after another.
 */
class JsonOut {
  private pieces: string[] = [];
  /** Byte buffers filled, each cut to what was written; the last one is being written. */
  private readonly done: Buffer[] = [];
  private buf: Buffer | undefined;
  private length = 0;

  constructor(private readonly lease?: SlabLease) {}

  push(...texts: string[]): void {
    this.pieces.push(...texts);
  }

  column(v: Float64Array): void {
    this.flush();
    if (mostlyFractions(v)) return this.stringified(v);
    this.room(NUMBER_MAX + 1, v.length * NUMBER_MAX + 2);
    this.buf![this.length++] = BRACKET_OPEN;
    for (let i = 0; i < v.length; ) {
      this.room(NUMBER_MAX, (v.length - i) * NUMBER_MAX + 1);
      i = this.numbers(v, i);
    }
    this.room(1);
    this.buf![this.length++] = BRACKET_CLOSE;
  }

  /**
   * A column most of whose numbers are fractions, BATCH numbers at a time through JSON.stringify
   * of a plain array, which writes a double's shortest round-trip text straight into its output:
   * 185 to 230 ns a fraction here, where String() of each, which makes a string of it first, took
   * 255 to 520 (its garbage makes the spread). The same text: JSON.stringify writes NaN and the
   * infinities as null, -0 as 0 and any other number as String() does.
   */
  private stringified(v: Float64Array): void {
    for (let i = 0; i < v.length; i += BATCH) {
      const k = Math.min(BATCH, v.length - i);
      batch.length = k;
      for (let j = 0; j < k; j++) batch[j] = v[i + j];
      const text = JSON.stringify(batch);
      // "[x,y]" where the column goes on: its "[" begins the column or becomes the comma after
      // the numbers before it; its "]" is written over by what follows.
      this.room(text.length, (v.length - i) * NUMBER_MAX + 2);
      const at = this.length;
      this.length += this.buf!.write(text, at, 'latin1') - 1;
      if (i > 0) this.buf![at] = COMMA;
    }
    this.room(1);
    this.buf![this.length++] = BRACKET_CLOSE;
  }

  text(): string {
    if (!this.buf) return this.pieces.join('');
    return Buffer.concat(this.chunks()).toString('utf8');
  }

  chunks(): Buffer[] {
    if (!this.buf) return [Buffer.from(this.pieces.join(''))];
    this.flush();
    return [...this.done, this.buf.subarray(0, this.length)];
  }

  private flush(): void {
    if (this.pieces.length === 0) return;
    const text = this.pieces.join('');
    this.pieces = [];
    this.room(Buffer.byteLength(text));
    this.length += this.buf!.write(text, this.length);
  }

  /**
   * Room for `need` bytes in the buffer being written, else a new one: a slab of the lease when
   * `need` fits in one, else a buffer made to measure for `want` bytes (what is still to come).
   */
  private room(need: number, want = need): void {
    if (this.buf && this.length + need <= this.buf.length) return;
    if (this.buf) this.done.push(this.buf.subarray(0, this.length));
    this.buf = this.lease && need <= SLAB_BYTES ? this.lease.bytes() : Buffer.allocUnsafe(Math.max(want, MIN_BUFFER));
    this.length = 0;
  }

  /**
   * The numbers of a column from index `i` on, as JSON.stringify writes the plain array of them:
   * NaN and infinities as null, the others as String() writes them, each after a comma but the
   * column's first, while the buffer has room for one more. Integers below 2^53 (counters, byte
   * sizes, minima and maxima) are written here digit by digit, which is several times faster than
   * V8's general double-to-text, and gives the same text (String() writes such an integer in
   * plain digits, -0 as 0); every other number through String(). Returns the next index.
   */
  private numbers(v: Float64Array, i: number): number {
    const buf = this.buf!;
    const last = buf.length - NUMBER_MAX;
    let at = this.length;
    for (; i < v.length && at <= last; i++) {
      if (i > 0) buf[at++] = COMMA;
      let x = v[i];
      if (Number.isSafeInteger(x)) {
        if (x < 0) {
          buf[at++] = 45; // '-'
          x = -x;
        }
        at = writeInteger(x, buf, at);
      } else if (Number.isFinite(x)) {
        const text = String(x);
        for (let k = 0; k < text.length; k++) buf[at++] = text.charCodeAt(k);
      } else {
        NULL.copy(buf, at);
        at += 4;
      }
    }
    this.length = at;
    return i;
  }
}

function write(v: unknown, out: JsonOut, indent: number, pad: string): void {
  switch (typeof v) {
    case 'bigint':
      out.push(v.toString());
      return;
    case 'number':
      out.push(Number.isFinite(v) ? String(v) : 'null');
      return;
    case 'string':
      out.push(JSON.stringify(v));
      return;
    case 'boolean':
      out.push(v ? 'true' : 'false');
      return;
    case 'undefined':
    case 'function':
    case 'symbol':
      out.push('null');
      return;
  }
  if (v === null) {
    out.push('null');
    return;
  }
  const inner = indent > 0 ? pad + ' '.repeat(indent) : '';
  const nl = indent > 0 ? '\n' : '';
  const colon = indent > 0 ? ': ' : ':';
  if (v instanceof Float64Array) {
    if (indent === 0) return out.column(v);
    v = Array.from(v);
  }
  if (Array.isArray(v)) {
    if (v.length === 0) return void out.push('[]');
    out.push('[', nl);
    v.forEach((item, i) => {
      if (i > 0) out.push(',', nl);
      out.push(inner);
      write(item, out, indent, inner);
    });
    out.push(nl, pad, ']');
    return;
  }
  // As JSON.stringify: an object that says how it is written (toJSON) is written so.
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return write((v as { toJSON(): unknown }).toJSON(), out, indent, pad);
  const entries = v instanceof Map ? [...v.entries()].map(([k, x]) => [String(k), x] as const) : Object.entries(v as object);
  const kept = entries.filter(([, x]) => x !== undefined && typeof x !== 'function');
  if (kept.length === 0) return void out.push('{}');
  out.push('{', nl);
  kept.forEach(([k, x], i) => {
    if (i > 0) out.push(',', nl);
    out.push(inner, JSON.stringify(k), colon);
    write(x, out, indent, inner);
  });
  out.push(nl, pad, '}');
}

/** Numbers a column sends through JSON.stringify at once, and the plain array they go in (reused). */
const BATCH = 1024;
const batch: number[] = [];

/** Whether more than half of a column's numbers are finite and not integers. */
function mostlyFractions(v: Float64Array): boolean {
  let fractions = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (!Number.isInteger(x) && Number.isFinite(x)) fractions++;
  }
  return fractions * 2 > v.length;
}

const COMMA = 44;
const BRACKET_OPEN = 91;
const BRACKET_CLOSE = 93;
const NULL = Buffer.from('null');
/** The two ASCII digits of 0 to 99, at 2n and 2n + 1. */
const PAIRS = Buffer.from(Array.from({ length: 100 }, (_, n) => String(n).padStart(2, '0')).join(''), 'latin1');

/**
 * Writes a non-negative integer below 2^53 in plain digits at `at`; returns the index after it.
 * Its length is known first, so the digits go straight to their places, last pair first. One
 * function, without calls: the first answers after a start run it in V8's interpreter, where a
 * call costs more than the digits.
 */
function writeInteger(x: number, buf: Buffer, at: number): number {
  // 2^53 < 1e16: past 1e8 the upper half is below 1e8 too, and the lower one is written as 8
  // digits, its leading zeros included.
  let n = x < 1e8 ? x : Math.floor(x / 1e8);
  let lower = x < 1e8 ? -1 : x - n * 1e8;
  const digits = n < 10_000 ? (n < 100 ? (n < 10 ? 1 : 2) : n < 1000 ? 3 : 4) : n < 1_000_000 ? (n < 100_000 ? 5 : 6) : n < 10_000_000 ? 7 : 8;
  const end = at + digits + (lower < 0 ? 0 : 8);
  let p = end;
  for (let k = 0; lower >= 0 && k < 4; k++) {
    const rest = (lower / 100) | 0;
    const pair = 2 * (lower - rest * 100);
    buf[--p] = PAIRS[pair + 1];
    buf[--p] = PAIRS[pair];
    lower = rest;
  }
  while (n >= 100) {
    const rest = (n / 100) | 0;
    const pair = 2 * (n - rest * 100);
    buf[--p] = PAIRS[pair + 1];
    buf[--p] = PAIRS[pair];
    n = rest;
  }
  if (n >= 10) {
    buf[--p] = PAIRS[2 * n + 1];
    buf[--p] = PAIRS[2 * n];
  } else buf[--p] = 48 + n;
  return end;
}

/**
 * The number writer once over a column of every kind of number, at load. V8 optimises a function
 * for the kinds of values its branches have seen; a branch never run has no feedback, and the
 * optimised code is thrown away the first time it runs. `--trace-deopt` over the first month
 * answer after a start: the writer's functions were deoptimised 14 times, 4 with this; that
 * JSON took 193 to 230 ms, 161 to 178 with this (warm answers unchanged). The same done for the
 * chunk decoder left the first query as it was and made warm ones slower (105 to 128 ms against
 * 98 to 106: its call sites then saw two kinds of byte array and several callbacks), so it is
 * not. Microseconds at load, and nothing kept.
 */
function seedFeedback(): void {
  const kinds = [0, -0, 7, -7, 42, 512, 4096, 65_536, 123_456, 7_654_321, 99_999_999, 123_456_789, 1_794_074_400_000, 2 ** 53 - 1, -(2 ** 53), 2 ** 53 + 2, 0.5, -1.25, 1e-7, 1e21, NaN, Infinity];
  // V8 gives a function its feedback only after some calls (lazy feedback allocation): rounds.
  for (let round = 0; round < 16; round++) {
    toJsonChunks(Float64Array.from(kinds));
    toJsonChunks(Float64Array.from(kinds, (x) => x / 3));
  }
}
seedFeedback();
