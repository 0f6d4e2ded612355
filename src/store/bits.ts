/**
 * Bit streams for compressed history: bits are packed most significant first, a byte at a
 * time, into a buffer that grows by doubling. Values are written and read in pieces of at most
 * 32 bits; 64-bit patterns go as two pieces.
 */
export class BitWriter {
  private buf: Uint8Array;
  private bits = 0;

  constructor(initialBytes = 32) {
    this.buf = new Uint8Array(initialBytes);
  }

  /** A writer holding the first `bits` bits of `bytes` (copied), ready to append after them. */
  static resume(bytes: Uint8Array, bits: number): BitWriter {
    const w = new BitWriter(Math.max(32, bytes.length * 2));
    const whole = bits >>> 3;
    w.buf.set(bytes.subarray(0, whole));
    // Bits past `bits` in the last byte are cleared: write() ORs new bits in.
    if (bits & 7) w.buf[whole] = bytes[whole] & (0xff << (8 - (bits & 7)));
    w.bits = bits;
    return w;
  }

  /** Appends the low `count` bits of `value` (0 ≤ count ≤ 32), most significant first. */
  write(value: number, count: number): void {
    const needed = (this.bits + count + 7) >>> 3;
    if (needed > this.buf.length) {
      const bigger = new Uint8Array(Math.max(needed, this.buf.length * 2));
      bigger.set(this.buf);
      this.buf = bigger;
    }
    while (count > 0) {
      const used = this.bits & 7;
      const take = Math.min(8 - used, count);
      const piece = (value >>> (count - take)) & ((1 << take) - 1);
      this.buf[this.bits >>> 3] |= piece << (8 - used - take);
      this.bits += take;
      count -= take;
    }
  }

  get bitLength(): number {
    return this.bits;
  }

  /** Bytes reserved, written or not. */
  get capacityBytes(): number {
    return this.buf.length;
  }

  /** The bytes written so far, copied into a buffer of exactly their size. */
  finish(): Uint8Array {
    return this.buf.slice(0, (this.bits + 7) >>> 3);
  }

  /** The bytes written so far, without copying (valid until the next write). */
  view(): Uint8Array {
    return this.buf.subarray(0, (this.bits + 7) >>> 3);
  }
}

export class BitReader {
  private pos = 0;

  constructor(private readonly buf: Uint8Array) {}

  /** Bits read so far. */
  get position(): number {
    return this.pos;
  }

  /** Reads `count` bits (0 ≤ count ≤ 32) as an unsigned number. */
  read(count: number): number {
    const pos = this.pos;
    const buf = this.buf;
    if (pos + count > buf.length * 8) throw new RangeError(`bit stream ends at bit ${buf.length * 8}, asked for ${count} at ${pos}`);
    if (count === 0) return 0;
    this.pos = pos + count;
    // The 32 bits from the byte holding `pos` (bytes past the end read as 0), shifted so that the
    // first wanted bit is the top one; the fifth byte supplies what they lack past 32.
    const i = pos >>> 3;
    const skip = pos & 7;
    const top = ((buf[i] << 24) | (buf[i + 1] << 16) | (buf[i + 2] << 8) | buf[i + 3]) << skip;
    const past = skip + count - 32;
    if (past <= 0) return top >>> (32 - count);
    return ((top >>> (32 - count)) | (buf[i + 4] >>> (8 - past))) >>> 0;
  }

  /** Reads one bit: read(1), without its arithmetic for wider fields. */
  readBit(): number {
    const pos = this.pos;
    if (pos >= this.buf.length * 8) throw new RangeError(`bit stream ends at bit ${this.buf.length * 8}, asked for 1 at ${pos}`);
    this.pos = pos + 1;
    return (this.buf[pos >>> 3] >>> (7 - (pos & 7))) & 1;
  }

  /** Passes over `count` bits without reading them. */
  skip(count: number): void {
    if (this.pos + count > this.buf.length * 8) throw new RangeError(`bit stream ends at bit ${this.buf.length * 8}, asked to skip ${count} at ${this.pos}`);
    this.pos += count;
  }
}
