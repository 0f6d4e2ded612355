/**
 * Byte streams for the raw-sample history (and protobuf, src/export/remote-write.ts): unsigned LEB128 varints (7 bits a byte, low group
 * first) of numbers up to 2^53 or of bigints of any size, and raw float64s. A varint of up to
 * seven bytes reads back as a number, a longer one as a bigint.
 */

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);

/** Seven-byte varints hold 49 bits: always a safe integer. */
const NUMBER_BYTES = 7;

export class ByteWriter {
  private buf: Uint8Array;
  length = 0;

  constructor(initialBytes = 64) {
    this.buf = new Uint8Array(initialBytes);
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(this.length + n, this.buf.length * 2));
    bigger.set(this.buf.subarray(0, this.length));
    this.buf = bigger;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.length++] = b;
  }

  /** A non-negative safe integer. */
  varint(n: number): void {
    this.reserve(8);
    while (n >= 128) {
      this.buf[this.length++] = (n % 128) | 128;
      n = Math.floor(n / 128);
    }
    this.buf[this.length++] = n;
  }

  /** A non-negative bigint of any size. */
  bigVarint(n: bigint): void {
    while (n >= 128n) {
      this.byte(Number(n & 127n) | 128);
      n >>= 7n;
    }
    this.byte(Number(n));
  }

  float(x: number): void {
    this.reserve(8);
    f64[0] = x;
    this.buf.set(f64Bytes, this.length);
    this.length += 8;
  }

  /** Bytes as they are. */
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** Bytes reserved, written or not. */
  get capacityBytes(): number {
    return this.buf.length;
  }

  /** The bytes written, copied into a buffer of exactly their size. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }

  /** The bytes written so far, without copying (valid until the next write). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

export class ByteReader {
  pos = 0;

  constructor(private readonly buf: Uint8Array) {}

  private next(): number {
    if (this.pos >= this.buf.length) throw new RangeError(`byte stream ends at ${this.buf.length}`);
    return this.buf[this.pos++];
  }

  byte(): number {
    return this.next();
  }

  /** A varint: a number when it fits in seven bytes, else a bigint. */
  varint(): number | bigint {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < NUMBER_BYTES; i++) {
      const b = this.next();
      n += (b & 127) * scale;
      if (b < 128) return n;
      scale *= 128;
    }
    let big = BigInt(n);
    let shift = BigInt(7 * NUMBER_BYTES);
    for (;;) {
      const b = this.next();
      big |= BigInt(b & 127) << shift;
      if (b < 128) return big;
      shift += 7n;
    }
  }

  /** A varint the writer wrote with `varint` (a safe integer). */
  smallVarint(): number {
    const v = this.varint();
    if (typeof v === 'bigint') throw new RangeError(`varint at ${this.pos} exceeds 2^49`);
    return v;
  }

  float(): number {
    if (this.pos + 8 > this.buf.length) throw new RangeError(`byte stream ends at ${this.buf.length}`);
    f64Bytes.set(this.buf.subarray(this.pos, this.pos + 8));
    this.pos += 8;
    return f64[0];
  }
}
