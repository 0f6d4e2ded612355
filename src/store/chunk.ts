/**
 * One compressed chunk of rows (a timestamp and one float64 per column), as Prometheus and
 * Facebook's Gorilla encode them. Timestamps are stored as delta-of-delta (a tick on schedule
 * costs one bit); each value as the XOR of its bits with the previous value of its column (an
 * unchanged value costs one bit, a slowly moving one its changed middle bits). The in-memory
 * ring (ring.ts) and the tiers on disk (tiers.ts) are both made of these chunks. A chunk's bit
 * stream only grows, so an open chunk can be saved as it stands and resumed: decoding it
 * restores the encoder's state exactly.
 */
import { BitReader, BitWriter } from './bits.js';

/** Which 32-bit half of a float64 holds the sign and exponent on this machine. */
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** Trailing zero bits of a non-zero 32-bit value. */
function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/**
 * Delta-of-delta classes for timestamps: a prefix of ones ended by a zero, then a zigzag value
 * of the given width. Past the last class (4 ones) the timestamp is written whole.
 */
const DOD_WIDTHS = [7, 9, 12] as const;

/** Encoder and decoder state shared by the XOR scheme: the previous bits and window per metric. */
class XorState {
  readonly hi: Uint32Array;
  readonly lo: Uint32Array;
  readonly lead: Int8Array;
  readonly trail: Int8Array;
  prevTs = 0;
  prevDelta = 0;

  constructor(columns: number) {
    this.hi = new Uint32Array(columns);
    this.lo = new Uint32Array(columns);
    this.lead = new Int8Array(columns).fill(-1);
    this.trail = new Int8Array(columns);
  }
}

function writeFloat(w: BitWriter, value: number): void {
  f64[0] = value;
  w.write(u32[HI], 32);
  w.write(u32[LO], 32);
}

function readFloat(r: BitReader): number {
  u32[HI] = r.read(32);
  u32[LO] = r.read(32);
  return f64[0];
}

/** Writes the bits of (xh, xl) between `lead` leading and `trail` trailing bits. */
function writeWindow(w: BitWriter, xh: number, xl: number, lead: number, trail: number): void {
  const len = 64 - lead - trail;
  let hi: number;
  let lo: number;
  if (trail >= 32) {
    hi = 0;
    lo = xh >>> (trail - 32);
  } else if (trail === 0) {
    hi = xh;
    lo = xl;
  } else {
    hi = xh >>> trail;
    lo = ((xl >>> trail) | (xh << (32 - trail))) >>> 0;
  }
  if (len > 32) {
    w.write(hi, len - 32);
    w.write(lo, 32);
  } else {
    w.write(lo, len);
  }
}

/** Reads what writeWindow wrote and shifts it back into place; sets XOR_HI / XOR_LO. */
let XOR_HI = 0;
let XOR_LO = 0;
function readWindow(r: BitReader, lead: number, trail: number): void {
  const len = 64 - lead - trail;
  const hi = len > 32 ? r.read(len - 32) : 0;
  const lo = r.read(Math.min(len, 32));
  if (trail >= 32) {
    XOR_HI = (lo << (trail - 32)) >>> 0;
    XOR_LO = 0;
  } else if (trail === 0) {
    XOR_HI = hi;
    XOR_LO = lo;
  } else {
    XOR_HI = ((hi << trail) | (lo >>> (32 - trail))) >>> 0;
    XOR_LO = (lo << trail) >>> 0;
  }
}

function encodeTimestamp(w: BitWriter, s: XorState, ts: number, first: boolean): void {
  if (!first) {
    const delta = ts - s.prevTs;
    const dod = delta - s.prevDelta;
    const zz = dod >= 0 ? dod * 2 : -dod * 2 - 1;
    if (zz === 0) {
      w.write(0, 1);
      s.prevDelta = delta;
      s.prevTs = ts;
      return;
    }
    if (Number.isInteger(dod)) {
      for (let c = 0; c < DOD_WIDTHS.length; c++) {
        if (zz < 2 ** DOD_WIDTHS[c]) {
          w.write((1 << (c + 2)) - 2, c + 2); // c + 1 ones, then a zero
          w.write(zz, DOD_WIDTHS[c]);
          s.prevDelta = delta;
          s.prevTs = ts;
          return;
        }
      }
    }
    w.write(0b1111, 4);
    s.prevDelta = delta;
  }
  writeFloat(w, ts);
  s.prevTs = ts;
}

function decodeTimestamp(r: BitReader, s: XorState, first: boolean): number {
  if (!first) {
    let ones = 0;
    while (ones < DOD_WIDTHS.length + 1 && r.readBit() === 1) ones++;
    if (ones <= DOD_WIDTHS.length) {
      let dod = 0;
      if (ones > 0) {
        const zz = r.read(DOD_WIDTHS[ones - 1]);
        dod = zz % 2 === 0 ? zz / 2 : -(zz + 1) / 2;
      }
      s.prevDelta += dod;
      s.prevTs += s.prevDelta;
      return s.prevTs;
    }
    const ts = readFloat(r);
    s.prevDelta = ts - s.prevTs;
    s.prevTs = ts;
    return ts;
  }
  s.prevTs = readFloat(r);
  return s.prevTs;
}

function encodeValue(w: BitWriter, s: XorState, col: number, value: number): void {
  f64[0] = value;
  const hi = u32[HI];
  const lo = u32[LO];
  const xh = (hi ^ s.hi[col]) >>> 0;
  const xl = (lo ^ s.lo[col]) >>> 0;
  s.hi[col] = hi;
  s.lo[col] = lo;
  if (xh === 0 && xl === 0) {
    w.write(0, 1);
    return;
  }
  const lead = Math.min(31, xh !== 0 ? Math.clz32(xh) : 32 + Math.clz32(xl));
  const trail = xl !== 0 ? ctz32(xl) : 32 + ctz32(xh);
  const prevLead = s.lead[col];
  const prevTrail = s.trail[col];
  if (prevLead >= 0 && lead >= prevLead && trail >= prevTrail) {
    w.write(0b10, 2);
    writeWindow(w, xh, xl, prevLead, prevTrail);
    return;
  }
  w.write(0b11, 2);
  w.write(lead, 5);
  w.write(64 - lead - trail - 1, 6);
  writeWindow(w, xh, xl, lead, trail);
  s.lead[col] = lead;
  s.trail[col] = trail;
}

function decodeValue(r: BitReader, s: XorState, col: number): number {
  if (r.readBit() === 1) {
    if (r.readBit() === 1) {
      const lead = r.read(5);
      const len = r.read(6) + 1;
      s.lead[col] = lead;
      s.trail[col] = 64 - lead - len;
    }
    readWindow(r, s.lead[col], s.trail[col]);
    s.hi[col] = (s.hi[col] ^ XOR_HI) >>> 0;
    s.lo[col] = (s.lo[col] ^ XOR_LO) >>> 0;
  }
  u32[HI] = s.hi[col];
  u32[LO] = s.lo[col];
  return f64[0];
}

/** Passes over a value as decodeValue reads it, keeping only the window its successors may reuse. */
function skipValue(r: BitReader, s: XorState, col: number): void {
  if (r.readBit() === 0) return;
  if (r.readBit() === 1) {
    const lead = r.read(5);
    const len = r.read(6) + 1;
    s.lead[col] = lead;
    s.trail[col] = 64 - lead - len;
  }
  r.skip(64 - s.lead[col] - s.trail[col]);
}

/** An open chunk being appended to. */
export class ChunkWriter {
  /** The encoder while rows are appended; made at the first row, or restored from `saved`. */
  private enc?: { w: BitWriter; state: XorState };
  /**
   * The bytes written, while there is no encoder: a chunk resumed from disk until its first new
   * row, or one parked between rows (park()).
   */
  private saved?: { bytes: Uint8Array; bits: number };
  count = 0;
  firstTs = NaN;
  lastTs = NaN;

  constructor(readonly columns: number) {}

  /**
   * A writer that continues `bytes` (a chunk of `count` rows, `bits` long, ending at `lastTs`),
   * as if it had written them. Its state is decoded from the bytes at the first push, not here:
   * an agent starting over many containers serves before it has decoded every open chunk.
   */
  static resume(columns: number, bytes: Uint8Array, count: number, bits: number, lastTs: number): ChunkWriter {
    const c = new ChunkWriter(columns);
    if (count === 0) return c;
    c.saved = { bytes, bits };
    c.count = count;
    c.firstTs = readFloat(new BitReader(bytes));
    c.lastTs = lastTs;
    return c;
  }

  /**
   * Keeps only the bytes written, exactly sized, and lets the encoder go (its per-column state
   * and the writer's spare room): the next push decodes the bytes to restore it, as after a
   * restart. For chunks that get a row a minute or an hour, whose encoder would otherwise sit in
   * memory between rows; the decode is the price of each such row.
   */
  park(): void {
    if (!this.enc) return;
    this.saved = { bytes: this.enc.w.finish(), bits: this.enc.w.bitLength };
    this.enc = undefined;
  }

  /** The encoder: new for an empty chunk, else restored by decoding the saved bytes. */
  private encoder(): { w: BitWriter; state: XorState } {
    if (this.enc) return this.enc;
    const state = new XorState(this.columns);
    const saved = this.saved;
    if (!saved) return (this.enc = { w: new BitWriter(), state });
    const r = new BitReader(saved.bytes);
    for (let k = 0; k < this.count; k++) {
      decodeTimestamp(r, state, k === 0);
      for (let i = 0; i < this.columns; i++) decodeValue(r, state, i);
    }
    this.saved = undefined;
    return (this.enc = { w: BitWriter.resume(saved.bytes, r.position), state });
  }

  push(timestampMs: number, values: ArrayLike<number>): void {
    const { w, state } = this.encoder();
    encodeTimestamp(w, state, timestampMs, this.count === 0);
    for (let i = 0; i < this.columns; i++) encodeValue(w, state, i, values[i]);
    if (this.count === 0) this.firstTs = timestampMs;
    this.lastTs = timestampMs;
    this.count++;
  }

  /** The bytes written so far, copied. */
  finish(): Uint8Array {
    return this.enc ? this.enc.w.finish() : this.saved ? this.saved.bytes.slice(0, (this.saved.bits + 7) >>> 3) : new Uint8Array(0);
  }

  /** The bytes written so far, without copying (valid until the next push). */
  view(): Uint8Array {
    return this.enc ? this.enc.w.view() : this.saved ? this.saved.bytes.subarray(0, (this.saved.bits + 7) >>> 3) : new Uint8Array(0);
  }

  get bitLength(): number {
    return this.enc ? this.enc.w.bitLength : (this.saved?.bits ?? 0);
  }

  get capacityBytes(): number {
    return this.enc ? this.enc.w.capacityBytes : (this.saved?.bytes.byteLength ?? 0);
  }
}

/**
 * Decodes a chunk of `count` rows, calling `visit` with each timestamp and the row (one array,
 * reused: copy what you keep). With `wanted` (a flag per column), only the flagged columns are
 * decoded: the others are passed over and hold NaN. Throws RangeError when the bytes end early.
 */
export function decodeChunk(bytes: Uint8Array, count: number, columns: number, visit: (ts: number, row: Float64Array) => void, wanted?: Uint8Array): void {
  const r = new BitReader(bytes);
  const s = new XorState(columns);
  const row = new Float64Array(columns);
  if (wanted) row.fill(NaN);
  for (let k = 0; k < count; k++) {
    const ts = decodeTimestamp(r, s, k === 0);
    for (let i = 0; i < columns; i++) {
      if (wanted === undefined || wanted[i] === 1) row[i] = decodeValue(r, s, i);
      else skipValue(r, s, i);
    }
    visit(ts, row);
  }
}
