/**
 * Snappy's block format (github.com/google/snappy format_description.txt), written for payloads
 * that repeat themselves tick after tick: a remote_write container's series keep their labels
 * and change only in their sample's value and timestamp.
 *
 * A block is the varint of the uncompressed length, then elements: literals (tag 00, the bytes
 * follow) and copies of earlier output (tag 01: length 4..11, offset < 2048; tag 10: length
 * 1..64, 16-bit offset). A copy's offset is relative to where it is written, so the elements of
 * a piece compressed on its own (copies only from inside the piece) can be placed after any
 * other elements: `compressPiece` makes such pieces, and a block is the header plus pieces.
 *
 * `compressPiece` is told which byte ranges will change (`varyStarts`, each `varyLength` long):
 * no copy reads or covers them, so each lands whole in a literal, and the piece says where
 * (`varyAt`). Writing new bytes there gives the elements of the piece with those bytes, without
 * compressing anything again. The matcher is snappy's own (a hash of 4 bytes, the last position
 * seen for each), on pieces of tens of kilobytes.
 */

const HASH_BITS = 14;
const table = new Int32Array(1 << HASH_BITS);

export interface Piece {
  /** Snappy elements that produce `rawLength` bytes, with copies only from inside themselves. */
  elements: Uint8Array;
  rawLength: number;
  /** Where each varying range's bytes are in `elements` (in literals), in the order given. */
  varyAt: Uint32Array;
}

/** A growing byte buffer for elements. */
class Out {
  buf: Uint8Array;
  length = 0;
  constructor(bytes: number) {
    this.buf = new Uint8Array(bytes);
  }
  room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(this.length + n, this.buf.length * 2));
    bigger.set(this.buf.subarray(0, this.length));
    this.buf = bigger;
  }
}

function emitLiteral(out: Out, src: Uint8Array, from: number, to: number): number {
  const n = to - from;
  out.room(n + 5);
  const b = out.buf;
  let o = out.length;
  const m = n - 1;
  if (m < 60) b[o++] = m << 2;
  else if (m < 1 << 8) {
    b[o++] = 60 << 2;
    b[o++] = m;
  } else if (m < 1 << 16) {
    b[o++] = 61 << 2;
    b[o++] = m & 0xff;
    b[o++] = m >>> 8;
  } else if (m < 1 << 24) {
    b[o++] = 62 << 2;
    b[o++] = m & 0xff;
    b[o++] = (m >>> 8) & 0xff;
    b[o++] = m >>> 16;
  } else {
    b[o++] = 63 << 2;
    b[o++] = m & 0xff;
    b[o++] = (m >>> 8) & 0xff;
    b[o++] = (m >>> 16) & 0xff;
    b[o++] = m >>> 24;
  }
  b.set(src.subarray(from, to), o);
  out.length = o + n;
  return o;
}

/** One copy of `length` (4 or more) bytes from `offset` (< 65536) back, in elements of at most 64. */
function emitCopy(out: Out, offset: number, length: number): void {
  out.room(3 * (Math.ceil(length / 60) + 1));
  const b = out.buf;
  let o = out.length;
  const copy2 = (n: number): void => {
    b[o++] = ((n - 1) << 2) | 2;
    b[o++] = offset & 0xff;
    b[o++] = offset >>> 8;
  };
  while (length >= 68) {
    copy2(64);
    length -= 64;
  }
  if (length > 64) {
    copy2(60);
    length -= 60;
  }
  if (length >= 12 || offset >= 2048) copy2(length);
  else {
    b[o++] = ((offset >>> 8) << 5) | ((length - 4) << 2) | 1;
    b[o++] = offset & 0xff;
  }
  out.length = o;
}

const read32 = (s: Uint8Array, i: number): number => s[i] | (s[i + 1] << 8) | (s[i + 2] << 16) | (s[i + 3] << 24);

/**
 * `src` compressed on its own. `varyStarts` (ascending, not overlapping) are the starts of
 * ranges of `varyLength` bytes that no copy may read or cover.
 */
export function compressPiece(src: Uint8Array, varyStarts: ArrayLike<number> = [], varyLength = 0): Piece {
  const n = src.length;
  // fixedUntil[i]: the first varying byte at or after i (n when none): a window [i, i+k) is
  // fixed when fixedUntil[i] >= i + k.
  const fixedUntil = new Uint32Array(n + 1);
  let next = n;
  let v = varyStarts.length - 1;
  for (let i = n - 1; i >= 0; i--) {
    while (v >= 0 && varyStarts[v] > i) v--;
    if (v >= 0 && i < varyStarts[v] + varyLength) next = i;
    fixedUntil[i] = next;
  }
  fixedUntil[n] = n;

  table.fill(-1);
  const out = new Out(n / 4 + 64);
  const varyAt = new Uint32Array(varyStarts.length);
  let vi = 0;
  let literalFrom = 0;
  const flush = (to: number): void => {
    if (to <= literalFrom) return;
    const at = emitLiteral(out, src, literalFrom, to);
    while (vi < varyStarts.length && varyStarts[vi] < to) {
      varyAt[vi] = at + varyStarts[vi] - literalFrom;
      vi++;
    }
    literalFrom = to;
  };
  const shift = 32 - HASH_BITS;
  let i = 0;
  while (i + 4 <= n) {
    if (fixedUntil[i] < i + 4) {
      i = fixedUntil[i] + 1;
      continue;
    }
    const word = read32(src, i);
    const h = Math.imul(word, 0x1e35a7bd) >>> shift;
    const candidate = table[h];
    table[h] = i;
    if (candidate < 0 || i - candidate >= 65536 || read32(src, candidate) !== word || fixedUntil[candidate] < candidate + 4) {
      i++;
      continue;
    }
    let length = 4;
    const limit = Math.min(fixedUntil[i], i - candidate + fixedUntil[candidate]);
    while (i + length < limit && src[candidate + length] === src[i + length]) length++;
    flush(i);
    emitCopy(out, i - candidate, length);
    i += length;
    literalFrom = i;
  }
  flush(n);
  return { elements: out.buf.slice(0, out.length), rawLength: n, varyAt };
}

/** The varint that starts a block: the uncompressed length. */
export function blockHeader(rawLength: number): Uint8Array {
  const bytes: number[] = [];
  while (rawLength >= 128) {
    bytes.push((rawLength & 127) | 128);
    rawLength = Math.floor(rawLength / 128);
  }
  bytes.push(rawLength);
  return Uint8Array.from(bytes);
}
