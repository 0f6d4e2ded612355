/**
 * One sink's queue of encoded payloads, oldest first: on disk under the data directory (an
 * agent restart, by SIGTERM or kill -9, loses nothing queued), or in memory with --no-persist.
 *
 * On disk it is Prometheus' WAL shape at small scale: append-only segment files
 * (`<first seq>.seg`, a new one past `segmentBytes`) of checksummed records, and an `ack` file
 * (written whole, src/store/datadir.ts writeFileAtomic) naming the last record the receiver
 * took. A record is
 *
 *     u32 payload length | u32 crc32 of the rest | f64 queued at (ms) | u32 samples | payload
 *
 * (little-endian). A record is written with one write(2): a kill -9 leaves it in the page cache,
 * whole; only a machine crash can tear the tail, and the scan at open cuts a segment at its first
 * record whose length or checksum is wrong, and logs it. A payload sent but not yet acked when
 * the agent dies is sent again: receivers take a sample they already hold (same series, time and
 * value) without complaint.
 *
 * The cap counts the records not yet acked (headers included); a push past it drops the OLDEST
 * records and counts their samples (`dropped`): the newest data is worth more to a receiver
 * that comes back.
 */
import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, readFileSync, readSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { writeFileAtomic } from '../store/datadir.js';
import type { Logger } from '../log.js';

const HEADER_BYTES = 20;
/** A segment longer than this is not written: a length field above it is a torn or damaged record. */
const MAX_SEGMENT_BYTES = 1 << 30;
const SEGMENT = /^(\d{20})\.seg$/;

/** A record not yet acked. */
interface Entry {
  seq: number;
  atMs: number;
  samples: number;
  /** Header + payload. */
  bytes: number;
  /** In memory: the payload; on disk: where it is. */
  payload?: Uint8Array;
  segment?: Segment;
  offset?: number;
}

interface Segment {
  firstSeq: number;
  path: string;
  fd: number;
  size: number;
  /** Records of it not yet acked or dropped. */
  live: number;
}

export interface QueueOptions {
  /** The queue's directory (created by the caller), or undefined for a queue in memory. */
  dir?: string;
  /**
   * Throws (ELOCKLOST) when the data directory is no longer this agent's (DataDir.assertHeld):
   * the queue then goes on in memory and neither writes nor deletes a file there.
   */
  lockCheck?: () => void;
  maxBytes: number;
  /** Default: a sixteenth of the cap, between 64 KiB and 8 MiB. */
  segmentBytes?: number;
  log: Logger;
  /** For the log lines: the sink's name. */
  name: string;
}

export interface QueuedBatch {
  payloads: Uint8Array[];
  /** The last record's seq: what `ack` takes once the receiver has them. */
  lastSeq: number;
  samples: number;
}

export class PayloadQueue {
  private readonly entries: Entry[] = [];
  /** entries[head] is the oldest (entries are shifted out in chunks, not one by one). */
  private head = 0;
  private readonly segments: Segment[] = [];
  private nextSeq = 1;
  private ackedSeq = 0;
  private readonly segmentBytes: number;
  /** Bytes of the records queued. */
  bytes = 0;
  /** Samples dropped because the cap was reached (since start). */
  droppedSamples = 0;
  droppedPayloads = 0;

  constructor(private readonly opts: QueueOptions) {
    this.segmentBytes = opts.segmentBytes ?? Math.min(8 << 20, Math.max(64 << 10, Math.floor(opts.maxBytes / 16)));
    if (opts.dir !== undefined) this.load(opts.dir);
  }

  get length(): number {
    return this.entries.length - this.head;
  }

  /** When the oldest queued payload was queued (ms), or undefined when empty. */
  get oldestMs(): number | undefined {
    return this.length > 0 ? this.entries[this.head].atMs : undefined;
  }

  /** Queues a payload; drops the oldest ones (counted) while the queue is over its cap. */
  push(payload: Uint8Array, samples: number, atMs: number): void {
    const seq = this.nextSeq++;
    const entry: Entry = { seq, atMs, samples, bytes: HEADER_BYTES + payload.length };
    if (this.onDisk()) this.append(entry, payload);
    else entry.payload = payload;
    this.entries.push(entry);
    this.bytes += entry.bytes;
    let dropped = 0;
    while (this.bytes > this.opts.maxBytes && this.length > 0) {
      const e = this.shift();
      this.droppedSamples += e.samples;
      this.droppedPayloads++;
      dropped += e.samples;
      this.ackedSeq = e.seq;
    }
    if (dropped > 0) {
      this.opts.log.warnOnce(`export-queue-full:${this.opts.name}`, 'export', `${this.opts.name}: queue reached its cap of ${this.opts.maxBytes} bytes: oldest payloads dropped (counted in cstats_export_dropped_samples_total{reason="queue_full"})`);
      this.writeAck();
    }
  }

  /** The sequence number of the oldest payload still queued. */
  get oldestSeq(): number | undefined {
    return this.length > 0 ? this.entries[this.head].seq : undefined;
  }

  /** The oldest `max` payloads, still queued. */
  peek(max: number): QueuedBatch | undefined {
    const n = Math.min(max, this.length);
    if (n === 0) return undefined;
    const picked = this.entries.slice(this.head, this.head + n);
    return { payloads: picked.map((e) => this.read(e)), lastSeq: picked[n - 1].seq, samples: picked.reduce((s, e) => s + e.samples, 0) };
  }

  /** Forgets every record up to `seq` (the receiver took them, or refused them for good). */
  ack(seq: number): void {
    while (this.length > 0 && this.entries[this.head].seq <= seq) this.shift();
    if (seq > this.ackedSeq) {
      this.ackedSeq = seq;
      this.writeAck();
    }
  }

  /** Writes what is queued to disk (fsync) and closes the files. */
  close(): void {
    for (const s of this.segments) {
      fsyncSync(s.fd);
      closeSync(s.fd);
    }
    this.segments.length = 0;
  }

  private shift(): Entry {
    const e = this.entries[this.head++];
    this.bytes -= e.bytes;
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
    if (e.segment) {
      e.segment.live--;
      // A segment every record of which is gone, and that no longer takes appends, is deleted.
      while (this.segments.length > 1 && this.segments[0].live === 0) this.removeSegment(this.segments.shift()!);
    }
    return e;
  }

  private removeSegment(s: Segment): void {
    closeSync(s.fd);
    if (this.onDisk()) unlinkSync(s.path);
  }

  /** Whether the queue writes to its directory: it has one, and the data directory is still this agent's. */
  private onDisk(): boolean {
    if (this.opts.dir === undefined) return false;
    try {
      this.opts.lockCheck?.();
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKLOST') throw err;
      this.opts.log.warnOnce(`export-queue-lock:${this.opts.name}`, 'export', `${this.opts.name}: ${(err as Error).message}; the queue goes on in memory`);
      return false;
    }
  }

  private append(entry: Entry, payload: Uint8Array): void {
    let seg = this.segments[this.segments.length - 1];
    if (!seg || seg.size >= this.segmentBytes) {
      if (seg) fsyncSync(seg.fd);
      const path = join(this.opts.dir!, `${String(entry.seq).padStart(20, '0')}.seg`);
      seg = { firstSeq: entry.seq, path, fd: openSync(path, 'a+', 0o600), size: 0, live: 0 };
      this.segments.push(seg);
    }
    const record = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
    record.writeUInt32LE(payload.length, 0);
    record.writeDoubleLE(entry.atMs, 8);
    record.writeUInt32LE(entry.samples, 16);
    record.set(payload, HEADER_BYTES);
    record.writeUInt32LE(crc32(record.subarray(8)), 4);
    writeSync(seg.fd, record);
    entry.segment = seg;
    entry.offset = seg.size;
    seg.size += record.length;
    seg.live++;
  }

  private read(e: Entry): Uint8Array {
    if (e.payload) return e.payload;
    const out = Buffer.allocUnsafe(e.bytes - HEADER_BYTES);
    readSync(e.segment!.fd, out, 0, out.length, e.offset! + HEADER_BYTES);
    return out;
  }

  private ackFile(): string {
    return join(this.opts.dir!, 'ack');
  }

  private writeAck(): void {
    if (this.onDisk()) writeFileAtomic(this.ackFile(), `${this.ackedSeq}\n`);
  }

  /** Reads the segments back: every whole record after the ack position is queued again. */
  private load(dir: string): void {
    const ackPath = this.ackFile();
    if (existsSync(ackPath)) {
      const text = readFileSync(ackPath, 'utf8').trim();
      if (/^\d+$/.test(text)) this.ackedSeq = Number(text);
      else this.opts.log.warn('export', `${this.opts.name}: ${ackPath} reads ${JSON.stringify(text.slice(0, 40))}, not a record number: sending every queued payload again`);
    }
    this.nextSeq = this.ackedSeq + 1;
    const names = readdirSync(dir).filter((f) => SEGMENT.test(f)).sort();
    for (const name of names) {
      const path = join(dir, name);
      const seg: Segment = { firstSeq: Number(SEGMENT.exec(name)![1]), path, fd: openSync(path, 'a+', 0o600), size: 0, live: 0 };
      const data = readFileSync(path);
      let seq = seg.firstSeq;
      let pos = 0;
      while (pos < data.length) {
        const len = pos + HEADER_BYTES <= data.length ? data.readUInt32LE(pos) : -1;
        const end = pos + HEADER_BYTES + len;
        if (len < 0 || len > MAX_SEGMENT_BYTES || end > data.length || crc32(data.subarray(pos + 8, end)) !== data.readUInt32LE(pos + 4)) {
          this.opts.log.warn('export', `${this.opts.name}: ${path}: torn or damaged record at byte ${pos} (checksum or length): cut there, ${data.length - pos} bytes dropped`);
          ftruncateSync(seg.fd, pos);
          break;
        }
        if (seq > this.ackedSeq) {
          const entry: Entry = { seq, atMs: data.readDoubleLE(pos + 8), samples: data.readUInt32LE(pos + 16), bytes: end - pos, segment: seg, offset: pos };
          this.entries.push(entry);
          this.bytes += entry.bytes;
          seg.live++;
        }
        seq++;
        pos = end;
      }
      seg.size = pos;
      this.nextSeq = Math.max(this.nextSeq, seq);
      if (seg.live === 0) {
        this.removeSegment(seg);
        continue;
      }
      this.segments.push(seg);
    }
    if (this.length > 0) this.opts.log.info('export', `${this.opts.name}: ${this.length} payloads (${this.bytes} bytes) still queued from before`);
  }
}
