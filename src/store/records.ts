/**
 * An append-only file of checksummed records, as Prometheus' WAL and chunk files: an 8-byte
 * magic, then records of [u32 payload length][u32 CRC-32 of the payload][payload], little
 * endian. Opening a file checks every record; at the first one that is torn (a crash mid-write)
 * or does not match its checksum (a flipped byte), the file is cut there, so what precedes it is
 * kept and appends continue after it. A failed append (ENOSPC) is cut back the same way.
 */
import { closeSync, constants, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';

const MAGIC = Buffer.from('CSREC01\n', 'latin1');
const HEADER = 8;
/** A record larger than this is taken for garbage in its length field. */
const MAX_RECORD = 64 << 20;

/** What opening a file cut off, for the log and /healthz. */
export interface Cut {
  file: string;
  /** Offset where the kept part ends. */
  atByte: number;
  /** Bytes removed. */
  bytesCut: number;
  reason: string;
}

/** A record readAt found bad: why, and the bytes it spans. */
export class RecordError extends Error {
  override name = 'RecordError';
  constructor(
    readonly reason: string,
    readonly bytes: number,
  ) {
    super(reason);
  }
}

/**
 * Visits the good records in `buf`, the file's bytes from offset `base` (past the magic, checked
 * by the caller, when 0); where they end (an offset in the file) and why.
 */
function walk(buf: Buffer, base: number, visit: (payload: Buffer, offset: number) => void): { end: number; reason?: string } {
  const size = buf.length;
  let at = base === 0 ? HEADER : 0;
  while (at < size) {
    if (size - at < 8) return { end: base + at, reason: 'torn record header' };
    const len = buf.readUInt32LE(at);
    const sum = buf.readUInt32LE(at + 4);
    if (len > MAX_RECORD || at + 8 + len > size) return { end: base + at, reason: len > MAX_RECORD ? `implausible record length ${len}` : 'torn record' };
    const payload = buf.subarray(at + 8, at + 8 + len);
    if (crc32(payload) !== sum) return { end: base + at, reason: 'checksum mismatch' };
    visit(payload, base + at);
    at += 8 + len;
  }
  return { end: base + at };
}

export class RecordFile {
  private constructor(
    readonly path: string,
    private readonly fd: number,
    /** Bytes of whole, checked records (and the magic): where the next record goes. */
    private end: number,
  ) {}

  /**
   * Opens or creates `path`, calling `visit` for each good record in order with its payload
   * (a view valid during the call) and offset; cuts the file after the last good one. With
   * `knownEnd` (an index lists the records before it) and a file at least that long, only the
   * records from there on are read (`known`); the others are checked one by one as readAt reads them.
   */
  static open(path: string, visit: (payload: Buffer, offset: number) => void, knownEnd = 0): { file: RecordFile; cut?: Cut; known: boolean } {
    const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
    const size = fstatSync(fd).size;
    const known = knownEnd >= HEADER && knownEnd <= size;
    const from = known ? knownEnd : 0;
    const buf = Buffer.allocUnsafe(size - from);
    if (buf.length > 0) readSync(fd, buf, 0, buf.length, from);
    let cut: Cut | undefined;
    let end = HEADER;
    if (size === 0) {
      writeSync(fd, MAGIC);
      fsyncSync(fd);
    } else if (!known && (size < HEADER || !buf.subarray(0, HEADER).equals(MAGIC))) {
      cut = { file: path, atByte: 0, bytesCut: size, reason: 'not a cstats record file (bad magic)' };
      end = 0;
    } else {
      const walked = walk(buf, from, visit);
      end = walked.end;
      if (walked.reason !== undefined) cut = { file: path, atByte: end, bytesCut: size - end, reason: walked.reason };
    }
    const file = new RecordFile(path, fd, end);
    if (cut) {
      ftruncateSync(fd, end);
      if (end === 0) {
        writeSync(fd, MAGIC, 0, HEADER, 0);
        file.end = HEADER;
      }
      fsyncSync(fd);
    }
    return { file, cut, known };
  }

  /** Bytes of good records (and the magic). */
  get size(): number {
    return this.end;
  }

  /**
   * Appends the records in one write and returns their offsets. On failure the file is cut
   * back to where it was and the error rethrown: nothing half-written stays.
   */
  append(payloads: readonly Uint8Array[]): number[] {
    let total = 0;
    for (const p of payloads) total += 8 + p.byteLength;
    const buf = Buffer.allocUnsafe(total);
    const offsets: number[] = [];
    let at = 0;
    for (const p of payloads) {
      offsets.push(this.end + at);
      buf.writeUInt32LE(p.byteLength, at);
      buf.writeUInt32LE(crc32(p), at + 4);
      buf.set(p, at + 8);
      at += 8 + p.byteLength;
    }
    try {
      let done = 0;
      while (done < total) done += writeSync(this.fd, buf, done, total - done, this.end + done);
    } catch (err) {
      try {
        ftruncateSync(this.fd, this.end);
      } catch {
        // the next open cuts the torn tail instead
      }
      throw err;
    }
    this.end += total;
    return offsets;
  }

  sync(): void {
    fsyncSync(this.fd);
  }

  /** The payload of the record at `offset`, checked against its checksum (throws with the reason, as a Cut's, if it does not match). */
  readAt(offset: number): Buffer {
    const head = Buffer.allocUnsafe(8);
    if (readSync(this.fd, head, 0, 8, offset) !== 8) throw new RecordError('no record', 0);
    const len = head.readUInt32LE(0);
    if (len > MAX_RECORD || offset + 8 + len > this.end) throw new RecordError('torn record', this.end - offset);
    const payload = Buffer.allocUnsafe(len);
    readSync(this.fd, payload, 0, len, offset + 8);
    if (crc32(payload) !== head.readUInt32LE(4)) throw new RecordError('checksum mismatch', 8 + len);
    return payload;
  }

  close(): void {
    closeSync(this.fd);
  }
}
