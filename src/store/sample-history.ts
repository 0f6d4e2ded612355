/**
 * The raw samples of the last few minutes, for APIs that answer with series of raw counters
 * (cAdvisor's stats with count / num_stats, which cAdvisor answers from the samples it keeps in
 * memory for --storage_duration). Exact: a rebuilt sample deep-equals the one recorded, every
 * bigint and float bit for bit. Compact: each sample is taken apart into shape, references and
 * leaves (shape.ts); shape and references are logged only when they change, and each leaf is
 * stored as the change of its change (delta-of-delta): a counter that moves at a steady rate,
 * or not at all, costs nothing but its place in a changed-leaves mask, and a mask equal to the
 * previous sample's costs nothing either. Samples go into chunks of CHUNK_SAMPLES that start
 * with a full record; whole chunks drop off the old end.
 *
 * A sample's bytes: a header (how the changed-leaves mask is given, or FULL), the mask, then a
 * payload per changed leaf, in leaf order:
 * - bigint leaf: the delta-of-delta, zigzagged, its trailing decimal zeros stripped into the
 *   low 3 bits (nanoseconds converted from USER_HZ ticks or µs end in zeros), as a varint;
 * - number leaf: where the value is an exact number of hundredths (pressure and load averages,
 *   milliseconds) and the change small, twice the packed delta-of-delta of the hundredths; else
 *   1 and the raw float64.
 */
import { ByteReader, ByteWriter } from './bytes.js';
import { Parts, TakeMemory, rebuild, type Leaf, type Schema } from './shape.js';
import { takerOf } from './taker.js';

const CHUNK_SAMPLES = 64;

/** Sample headers. */
const SAME_MASK = 0;
const GAP_MASK = 1;
const BITMAP_MASK = 2;
const FULL = 3;

/** Number payloads: odd means a raw float64 follows. */
const RAW = 1;
/** Largest value in hundredths taken as exact (its deltas stay safe integers). */
const MAX_CENTS = 2 ** 51;
/** Largest delta-of-delta (or full value) in hundredths written packed (payloads stay below 2^50). */
const MAX_PACKED_CENTS = 2 ** 45;
/** Bigint changes up to this size take the number path (packed, below 2^50). */
const MAX_FAST = 2n ** 46n;
const MAX_FAST_NUMBER = 2 ** 46;
/** Counters below this are encoded with Number arithmetic: their deltas and delta-of-deltas stay exact. */
const NUMBER_RANGE = 2 ** 52;

/** The value in hundredths when that is exact (not -0, not too large); NaN otherwise. */
function cents(v: number): number {
  const c = Math.round(v * 100);
  return Math.abs(c) <= MAX_CENTS && Object.is(c / 100, v) && !Object.is(c, -0) ? c : NaN;
}

/** Zigzag with trailing decimal zeros moved to the low 3 bits; |n| ≤ 2^46. */
function pack(n: number): number {
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  let k = 0;
  while (k < 7 && z !== 0 && z % 10 === 0) {
    z /= 10;
    k++;
  }
  return z * 8 + k;
}

function packBig(n: bigint): bigint {
  let z = n >= 0n ? n << 1n : (-n << 1n) - 1n;
  let k = 0n;
  while (k < 7n && z !== 0n && z % 10n === 0n) {
    z /= 10n;
    k++;
  }
  return (z << 3n) | k;
}

function unpackBig(v: number | bigint): bigint {
  const b = BigInt(v);
  const z = (b >> 3n) * 10n ** (b & 7n);
  return z & 1n ? -((z + 1n) >> 1n) : z >> 1n;
}

function unpack(v: number): number {
  const z = Math.floor(v / 8) * 10 ** (v % 8);
  return z % 2 === 1 ? -(z + 1) / 2 : z / 2;
}

function writeBig(w: ByteWriter, n: bigint): void {
  if (n >= -MAX_FAST && n <= MAX_FAST) w.varint(pack(Number(n)));
  else w.bigVarint(packBig(n));
}

/** The number payload of a full record: the value as if its previous value and delta were 0. */
function writeFullNumber(w: ByteWriter, v: number): void {
  const c = cents(v);
  if (Math.abs(c) <= MAX_PACKED_CENTS) w.varint(pack(c) * 2);
  else {
    w.varint(RAW);
    w.float(v);
  }
}

interface Shape {
  tokens: readonly unknown[];
  /** 1 where the leaf is a bigint, 0 where a number. */
  bigs: Uint8Array;
}

interface Chunk {
  bytes: Uint8Array;
  count: number;
  firstMs: number;
  lastMs: number;
  /** The shape from sample `at` on. */
  shapes: { at: number; shape: Shape }[];
  /** The references from sample `at` on. */
  refs: { at: number; refs: readonly unknown[] }[];
}

interface OpenChunk extends Omit<Chunk, 'bytes'> {
  writer: ByteWriter;
}

/** What both directions carry from one sample to the next, leaf by leaf. */
class LeafState {
  readonly values: Leaf[] = [];
  /** Bigint leaves: the previous delta; number leaves: the previous delta in hundredths (0 after a raw value). */
  readonly deltas: Leaf[] = [];
  /** The previous sample's changed leaves; undefined after a full record. */
  mask?: number[];

  /** After a full record of `shape`: deltas are zero. */
  resetDeltas(shape: Shape): void {
    const n = shape.bigs.length;
    this.values.length = n;
    this.deltas.length = n;
    for (let i = 0; i < n; i++) this.deltas[i] = shape.bigs[i] ? 0n : 0;
    this.mask = undefined;
  }
}

export interface HistoryWindow {
  /** Newest points wanted; -1 or absent for all. */
  count?: number;
  startMs?: number;
  endMs?: number;
}

/** Scratch shared by every history: the parts of the sample being recorded, its changed leaves and their payloads. */
const parts = new Parts();
const changed: number[] = [];
const payloads: Leaf[] = [];
const NO_TOKENS: readonly unknown[] = [];

export class SampleHistory<T> {
  private readonly sealed: Chunk[] = [];
  private open?: OpenChunk;
  private total = 0;
  private shape?: Shape;
  private readonly take;
  private readonly memory = new TakeMemory();
  private readonly state = new LeafState();
  private lastRefs: readonly unknown[] = [];
  /**
   * The encoder's view of bigint leaves as Numbers, where they are below NUMBER_RANGE (NaN where
   * not): the previous value and delta. A BigInt subtraction allocates; most counters never
   * need one. `state.deltas` holds a bigint leaf's delta only while its Number here is NaN.
   */
  private valueNumbers = new Float64Array(0);
  private deltaNumbers = new Float64Array(0);

  constructor(
    private readonly schema: Schema,
    /** Samples kept (the window / the interval, plus one). */
    readonly capacity: number,
  ) {
    this.take = takerOf(schema);
  }

  record(sample: T): void {
    const p = parts;
    this.take(p, sample, this.shape?.tokens ?? NO_TOKENS, this.state.values, this.memory);
    const timeMs = p.leaves[0] as number;
    const open = (this.open ??= { writer: new ByteWriter(), count: 0, firstMs: timeMs, lastMs: timeMs, shapes: [], refs: [] });
    if (p.shapeChanged || !this.shape) this.shape = { tokens: p.tokens.slice(0, p.tokenCount), bigs: leafKinds(p) };
    if (open.count === 0 || open.shapes.at(-1)!.shape !== this.shape) open.shapes.push({ at: open.count, shape: this.shape });
    if (open.count === 0 || !sameRefs(p, this.lastRefs)) {
      this.lastRefs = p.refs.slice(0, p.refCount);
      open.refs.push({ at: open.count, refs: this.lastRefs });
    }
    const fresh = open.shapes.at(-1)!.at === open.count;
    if (fresh || !this.encodeChange(open.writer)) {
      if (!fresh) {
        // A leaf changed between bigint and number: a new shape.
        this.shape = { tokens: this.shape.tokens, bigs: leafKinds(p) };
        open.shapes.push({ at: open.count, shape: this.shape });
      }
      this.encodeFull(open.writer);
    }
    open.lastMs = timeMs;
    open.count++;
    this.total++;
    if (open.count === CHUNK_SAMPLES) {
      const { writer, ...rest } = open;
      this.sealed.push({ ...rest, bytes: writer.finish() });
      this.open = undefined;
    }
    while (this.sealed.length > 0 && this.total - this.sealed[0].count >= this.capacity) this.total -= this.sealed.shift()!.count;
  }

  private encodeFull(w: ByteWriter): void {
    const { leaves, leafCount } = parts;
    const bigs = this.shape!.bigs;
    if (this.valueNumbers.length !== leafCount) {
      this.valueNumbers = new Float64Array(leafCount);
      this.deltaNumbers = new Float64Array(leafCount);
    }
    w.byte(FULL);
    for (let i = 0; i < leafCount; i++) {
      const v = leaves[i];
      if (bigs[i]) {
        writeBig(w, v as bigint);
        const n = Number(v);
        this.valueNumbers[i] = n >= 0 && n < NUMBER_RANGE ? n : NaN;
        this.deltaNumbers[i] = 0;
      } else writeFullNumber(w, v as number);
      this.state.values[i] = v;
    }
    this.state.resetDeltas(this.shape!);
  }

  /** Writes the sample as changes of the previous one; false when a leaf's kind differs from the shape's. */
  private encodeChange(w: ByteWriter): boolean {
    const { leaves, leafCount } = parts;
    const bigs = this.shape!.bigs;
    const { values, deltas } = this.state;
    const { valueNumbers, deltaNumbers } = this;
    let n = 0;
    for (let i = 0; i < leafCount; i++) {
      const cur = leaves[i];
      if (bigs[i]) {
        if (typeof cur !== 'bigint') return false;
        const pd = deltaNumbers[i];
        if (pd === 0 && cur === values[i]) continue;
        const x = Number(cur);
        const px = valueNumbers[i];
        const inRange = x >= 0 && x < NUMBER_RANGE;
        if (inRange && px === px && pd === pd) {
          // Exact in Numbers: |d| < 2^52 and |pd| < 2^52.
          const d = x - px;
          values[i] = cur;
          valueNumbers[i] = x;
          if (d === pd) continue;
          deltaNumbers[i] = d;
          changed[n] = i;
          payloads[n++] = d - pd;
          continue;
        }
        const pdBig = pd === pd ? BigInt(pd) : (deltas[i] as bigint);
        const d = cur - (values[i] as bigint);
        values[i] = cur;
        valueNumbers[i] = inRange ? x : NaN;
        if (d === pdBig) continue;
        const dx = Number(d);
        if (Math.abs(dx) < NUMBER_RANGE) deltaNumbers[i] = dx;
        else {
          deltaNumbers[i] = NaN;
          deltas[i] = d;
        }
        changed[n] = i;
        payloads[n++] = d - pdBig;
      } else {
        if (typeof cur !== 'number') return false;
        const prev = values[i] as number;
        // Unchanged and not moving (0 and -0 told apart): the common case, without arithmetic.
        if (cur === prev && deltas[i] === 0 && (cur !== 0 || Object.is(cur, prev))) continue;
        const c = cents(cur);
        const pc = cents(prev);
        if (c === c && pc === pc) {
          const d = c - pc;
          const dod = d - (deltas[i] as number);
          values[i] = cur;
          if (dod === 0) continue;
          changed[n] = i;
          if (Math.abs(dod) <= MAX_PACKED_CENTS) {
            deltas[i] = d;
            payloads[n++] = pack(dod) * 2;
            continue;
          }
        } else {
          // A value that is not whole hundredths: written raw when it changed (its delta is 0).
          if (Object.is(cur, prev)) continue;
          values[i] = cur;
          changed[n] = i;
        }
        deltas[i] = 0;
        payloads[n++] = RAW;
      }
    }
    this.writeMask(w, n, leafCount);
    for (let k = 0; k < n; k++) {
      const v = payloads[k];
      if (typeof v === 'bigint') writeBig(w, v);
      else if (bigs[changed[k]]) {
        if (Math.abs(v) <= MAX_FAST_NUMBER) w.varint(pack(v));
        else writeBig(w, BigInt(v));
      } else {
        w.varint(v);
        if (v === RAW) w.float(leaves[changed[k]] as number);
      }
    }
    return true;
  }

  private writeMask(w: ByteWriter, n: number, leafCount: number): void {
    const { state } = this;
    const m = state.mask;
    let same = m !== undefined && m.length === n;
    for (let k = 0; same && k < n; k++) same = m![k] === changed[k];
    if (same) return w.byte(SAME_MASK);
    state.mask = changed.slice(0, n);
    const bitmapBytes = (leafCount + 7) >> 3;
    if (n + 1 < bitmapBytes) {
      w.byte(GAP_MASK);
      w.varint(n);
      let last = -1;
      for (let k = 0; k < n; k++) {
        w.varint(changed[k] - last - 1);
        last = changed[k];
      }
      return;
    }
    w.byte(BITMAP_MASK);
    const bits = new Uint8Array(bitmapBytes);
    for (let k = 0; k < n; k++) bits[changed[k] >> 3] |= 1 << (changed[k] & 7);
    for (const b of bits) w.byte(b);
  }

  /** Samples kept (at most `capacity`). */
  get length(): number {
    return Math.min(this.total, this.capacity);
  }

  /** Bytes held by the encoded chunks, the open one's reserve included. */
  get bytes(): number {
    return this.sealed.reduce((sum, c) => sum + c.bytes.byteLength, this.open?.writer.capacityBytes ?? 0);
  }

  /** The newest `count` of the kept samples within [startMs, endMs], oldest first, rebuilt. */
  read(w: HistoryWindow = {}): T[] {
    const start = w.startMs ?? -Infinity;
    const end = w.endMs ?? Infinity;
    let need = w.count === undefined || w.count < 0 ? Infinity : w.count;
    const chunks: Chunk[] = [...this.sealed];
    if (this.open) chunks.push({ ...this.open, bytes: this.open.writer.view() });
    let skip = this.total - this.length;
    const firstIndex: number[] = chunks.map((c) => {
      const from = Math.min(skip, c.count);
      skip -= from;
      return from;
    });
    const parts: T[][] = [];
    for (let i = chunks.length - 1; i >= 0 && need > 0; i--) {
      const c = chunks[i];
      if (c.lastMs < start) break;
      if (c.firstMs > end || firstIndex[i] >= c.count) continue;
      const got = this.decode(c, firstIndex[i], start, end);
      const kept = got.length > need ? got.slice(got.length - need) : got;
      parts.unshift(kept);
      need -= kept.length;
    }
    return parts.flat();
  }

  /** The samples of a chunk from index `from` on whose time is within [start, end]. */
  private decode(c: Chunk, from: number, start: number, end: number): T[] {
    const out: T[] = [];
    const r = new ByteReader(c.bytes);
    const st = new LeafState();
    let shape = c.shapes[0].shape;
    let refs = c.refs[0].refs;
    let s = 0;
    let f = 0;
    for (let i = 0; i < c.count; i++) {
      while (s < c.shapes.length && c.shapes[s].at === i) shape = c.shapes[s++].shape;
      while (f < c.refs.length && c.refs[f].at === i) refs = c.refs[f++].refs;
      const header = r.byte();
      if (header === FULL) decodeFull(r, st, shape);
      else decodeChange(r, st, shape, header);
      const timeMs = st.values[0] as number;
      if (i >= from && timeMs >= start && timeMs <= end) out.push(rebuild(this.schema, shape.tokens, st.values, refs) as T);
    }
    return out;
  }
}

function leafKinds(p: Parts): Uint8Array {
  const bigs = new Uint8Array(p.leafCount);
  for (let i = 0; i < p.leafCount; i++) bigs[i] = typeof p.leaves[i] === 'bigint' ? 1 : 0;
  return bigs;
}

function sameRefs(p: Parts, last: readonly unknown[]): boolean {
  if (p.refCount !== last.length) return false;
  for (let i = 0; i < p.refCount; i++) if (p.refs[i] !== last[i]) return false;
  return true;
}

function decodeFull(r: ByteReader, st: LeafState, shape: Shape): void {
  for (let i = 0; i < shape.bigs.length; i++) {
    if (shape.bigs[i]) st.values[i] = unpackBig(r.varint());
    else {
      const v = Number(r.varint());
      st.values[i] = v === RAW ? r.float() : unpack(v / 2) / 100;
    }
  }
  st.resetDeltas(shape);
}

function readMask(r: ByteReader, header: number, leafCount: number): number[] {
  const mask: number[] = [];
  if (header === GAP_MASK) {
    const n = r.smallVarint();
    let last = -1;
    for (let k = 0; k < n; k++) mask.push((last += r.smallVarint() + 1));
  } else if (header === BITMAP_MASK) {
    for (let b = 0; b < (leafCount + 7) >> 3; b++) {
      const bits = r.byte();
      for (let j = 0; j < 8; j++) if (bits & (1 << j)) mask.push(b * 8 + j);
    }
  } else {
    throw new RangeError(`bad sample header ${header} at ${r.pos - 1}`);
  }
  return mask;
}

function decodeChange(r: ByteReader, st: LeafState, shape: Shape, header: number): void {
  const n = shape.bigs.length;
  const mask = header === SAME_MASK ? st.mask! : (st.mask = readMask(r, header, n));
  const { values, deltas } = st;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const changed = k < mask.length && mask[k] === i;
    if (changed) k++;
    if (shape.bigs[i]) {
      if (changed) deltas[i] = (deltas[i] as bigint) + unpackBig(r.varint());
      if (deltas[i] !== 0n) values[i] = (values[i] as bigint) + (deltas[i] as bigint);
      continue;
    }
    const pc = cents(values[i] as number);
    if (!changed) {
      if (pc === pc) values[i] = (pc + (deltas[i] as number)) / 100;
      continue;
    }
    const v = Number(r.varint());
    if (v === RAW) {
      values[i] = r.float();
      deltas[i] = 0;
    } else {
      deltas[i] = (deltas[i] as number) + unpack(v / 2);
      values[i] = (pc + (deltas[i] as number)) / 100;
    }
  }
}
