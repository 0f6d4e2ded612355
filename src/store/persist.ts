/**
 * History on disk, in three tiers: every sample (raw), 1-minute and 1-hour min/max/sum/count/last
 * points (aggregate.ts). Each container's points of a tier go into compressed chunks (chunk.ts);
 * a full chunk is sealed and appended to the tier's current segment file (records.ts:
 * checksummed records); the chunks still open are saved every fsync interval to a head log
 * (head/NNNNNNNN.wal: the whole chunk once, then only its new bytes, since a chunk's bit stream
 * only grows). So a kill loses at most one fsync interval, and SIGTERM nothing.
 *
 * Layout: tier-raw/, tier-1m/, tier-1h/ hold segments NNNNNNNN-<created ms>.seg, a new one per
 * segment span (1 h, 1 day, 30 days); head/ the head log; state/containers.json which series
 * number each container has, and what is known of it (removed when, exit code, OOM-killed).
 * Retention drops whole segments whose newest point is older than the tier keeps; over the disk
 * cap, the oldest raw segments go first, then 1-minute, then 1-hour ones.
 *
 * Start: a segment's chunks come from its index (each written when the segment is no longer
 * appended to, and for the newest at every stop), and what follows the indexed part, like the head
 * logs, is read and checked (records.ts cuts a torn or damaged tail); heads already sealed into a
 * segment before a crash are dropped; the 1-minute and 1-hour buckets in progress are rebuilt
 * from the finer tier; a fresh head log is written.
 */
import { readFileSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import type { ContainerInfo } from '../model.js';
import type { Logger } from '../log.js';
import { ChunkWriter, decodeChunk } from './chunk.js';
import { AGG, Bucketer } from './aggregate.js';
import { RecordError, RecordFile, type Cut } from './records.js';
import { writeFileAtomic, type DataDir } from './datadir.js';

export interface TierSpec {
  name: 'raw' | '1m' | '1h';
  /** Time between points; for raw, the sampling interval. */
  resolutionMs: number;
  retentionMs: number;
  /** Points per chunk. */
  chunkPoints: number;
  /** A new segment file is started after this long. */
  segmentMs: number;
}

export interface PersistOptions {
  dataDir: DataDir;
  intervalMs: number;
  /** Metric names of a sample row (the raw tier's columns). */
  metrics: readonly string[];
  /** Retention of the raw, 1-minute and 1-hour tiers. */
  retentionMs: readonly [number, number, number];
  /** Cap on the bytes of all segments and the head log. */
  maxBytes: number;
  log: Logger;
}

/** What is kept of a container besides its points: who it was and how it ended. */
export interface KeptContainer {
  series: number;
  info: ContainerInfo;
  removedMs?: number;
  ended?: Ended;
}

/** How a container ended, as far as it was seen: null where it was not. */
export interface Ended {
  atMs: number;
  exitCode: number | null;
  oomKilled: boolean | null;
}

interface Registry {
  nextSeries: number;
  containers: KeptContainer[];
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const REC_CHUNK = 1;
const REC_HEAD_FULL = 2;
const REC_HEAD_DELTA = 3;
/**
 * The head log is rewritten (a fresh one with every head whole, the old ones deleted) once it is
 * over twice what that fresh one would hold, and over this: the rest is bytes since sealed into
 * segments, or heads superseded by their later bytes. Rewriting at twice keeps the log within
 * twice its live bytes and writes at most about twice what is appended; the floor keeps a few
 * idle containers from rewriting it every few flushes.
 */
const HEAD_LOG_MIN = 256 << 10;
/** A head record's bytes besides the chunk's: the record's length and CRC-32, and encodeHead's header. */
const HEAD_RECORD_OVERHEAD = 8 + 26;
/** Sealed chunks held while the disk refuses them (ENOSPC); past this the oldest are dropped, and counted. */
const PENDING_MAX = 64 << 20;

export function tierSpecs(intervalMs: number, retentionMs: readonly [number, number, number]): TierSpec[] {
  return [
    { name: 'raw', resolutionMs: intervalMs, retentionMs: retentionMs[0], chunkPoints: 600, segmentMs: HOUR },
    { name: '1m', resolutionMs: 60_000, retentionMs: retentionMs[1], chunkPoints: 120, segmentMs: DAY },
    { name: '1h', resolutionMs: HOUR, retentionMs: retentionMs[2], chunkPoints: 168, segmentMs: 30 * DAY },
  ];
}

class Segment {
  /**
   * (series, offset) pairs of the chunks it holds: sorted by series, then offset (so by time
   * within a series) up to `sortedCount`, appended after that until the next lookup sorts them.
   */
  refs: Uint32Array;
  /**
   * While it is appended to: each chunk's (first, last) time, beside `refs`, for its index and to
   * read only the chunks a scan's range needs (the newest segment holds the buckets' rebuild).
   * A closed segment keeps none: a year of them would cost 16 bytes a chunk.
   */
  times?: Float64Array;
  count = 0;
  private sortedCount = 0;
  minTs = Infinity;
  maxTs = -Infinity;
  /** Bytes of its index file, once written. */
  indexBytes = 0;

  constructor(
    readonly no: number,
    readonly createdMs: number,
    readonly file: RecordFile,
    chunks = 32,
  ) {
    this.refs = new Uint32Array(chunks * 2);
    this.times = new Float64Array(chunks * 2);
  }

  add(series: number, offset: number, firstTs: number, lastTs: number): void {
    if (this.count * 2 === this.refs.length) {
      this.refs = resized(this.refs, Math.max(64, this.count * 4));
      if (this.times) this.times = resized(this.times, Math.max(64, this.count * 4));
    }
    this.refs[this.count * 2] = series;
    this.refs[this.count * 2 + 1] = offset;
    if (this.times) {
      this.times[this.count * 2] = firstTs;
      this.times[this.count * 2 + 1] = lastTs;
    }
    this.count++;
    if (firstTs < this.minTs) this.minTs = firstTs;
    if (lastTs > this.maxTs) this.maxTs = lastTs;
  }

  /** Appended to no more: its times go and its pairs take no more room than they need. */
  close(): void {
    this.times = undefined;
    this.refs = resized(this.refs, this.count * 2);
  }

  /** Offsets of the series' chunks, oldest first: those that may hold points between sinceMs and untilMs. */
  offsetsOf(series: number, sinceMs: number, untilMs: number): number[] {
    if (this.sortedCount < this.count) this.sort();
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.refs[mid * 2] < series) lo = mid + 1;
      else hi = mid;
    }
    const out: number[] = [];
    for (let i = lo; i < this.count && this.refs[i * 2] === series; i++) {
      if (!this.times || (this.times[i * 2 + 1] >= sinceMs && this.times[i * 2] <= untilMs)) out.push(this.refs[i * 2 + 1]);
    }
    return out;
  }

  /** Forgets one chunk (found damaged when read). */
  remove(series: number, offset: number): void {
    for (let i = 0; i < this.count; i++) {
      if (this.refs[i * 2] !== series || this.refs[i * 2 + 1] !== offset) continue;
      this.refs.copyWithin(i * 2, i * 2 + 2, this.count * 2);
      this.times?.copyWithin(i * 2, i * 2 + 2, this.count * 2);
      this.count--;
      if (i < this.sortedCount) this.sortedCount--;
      return;
    }
  }

  private sort(): void {
    // One float64 key per pair (series × 2^32 + offset, exact below 2^53) and a numeric sort;
    // the times, while kept, follow the keys' order.
    const keys = new Float64Array(this.count);
    for (let i = 0; i < this.count; i++) keys[i] = this.refs[i * 2] * 2 ** 32 + this.refs[i * 2 + 1];
    if (this.times) {
      const times = this.times.slice(0, this.count * 2);
      const order = Array.from({ length: this.count }, (_, i) => i).sort((a, b) => keys[a] - keys[b]);
      order.forEach((from, i) => this.times!.set(times.subarray(from * 2, from * 2 + 2), i * 2));
    }
    keys.sort();
    for (let i = 0; i < this.count; i++) {
      this.refs[i * 2] = Math.floor(keys[i] / 2 ** 32);
      this.refs[i * 2 + 1] = keys[i] % 2 ** 32;
    }
    this.sortedCount = this.count;
  }
}

function resized<T extends Uint32Array | Float64Array>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a.subarray(0, Math.min(length, a.length)));
  return b;
}

interface SealedChunk {
  tier: number;
  series: number;
  count: number;
  firstTs: number;
  lastTs: number;
  bytes: Uint8Array;
}

/** A series' open chunk of one tier, and how much of it the head log holds. */
class Head {
  savedBits = 0;
  savedCount = 0;
  constructor(public writer: ChunkWriter) {}
}

class Series {
  readonly heads: Head[];
  /** 1-minute and 1-hour buckets in progress (index 1 and 2; 0 unused). */
  readonly buckets: (Bucketer | undefined)[] = [];
  /** Newest point per tier that is on disk or in a head. */
  readonly lastTs = [-Infinity, -Infinity, -Infinity];

  constructor(
    readonly no: number,
    columns: readonly number[],
  ) {
    this.heads = columns.map((c) => new Head(new ChunkWriter(c)));
  }
}

function encodeChunk(c: SealedChunk): Uint8Array {
  const b = Buffer.allocUnsafe(26 + c.bytes.byteLength);
  b[0] = REC_CHUNK;
  b[1] = c.tier;
  b.writeUInt32LE(c.series, 2);
  b.writeUInt32LE(c.count, 6);
  b.writeDoubleLE(c.firstTs, 10);
  b.writeDoubleLE(c.lastTs, 18);
  b.set(c.bytes, 26);
  return b;
}

function decodeChunkRecord(p: Buffer): SealedChunk {
  if (p.length < 26 || p[0] !== REC_CHUNK) throw new Error('not a chunk record');
  return { tier: p[1], series: p.readUInt32LE(2), count: p.readUInt32LE(6), firstTs: p.readDoubleLE(10), lastTs: p.readDoubleLE(18), bytes: p.subarray(26) };
}

/** A head log record: the head's bytes from `fromByte` on (0 and REC_HEAD_FULL: the whole chunk). */
function encodeHead(tier: number, series: number, w: ChunkWriter, fromByte: number): Uint8Array {
  const bytes = w.view().subarray(fromByte);
  const b = Buffer.allocUnsafe(26 + bytes.byteLength);
  b[0] = fromByte === 0 ? REC_HEAD_FULL : REC_HEAD_DELTA;
  b[1] = tier;
  b.writeUInt32LE(series, 2);
  b.writeUInt32LE(w.count, 6);
  b.writeUInt32LE(w.bitLength, 10);
  b.writeUInt32LE(fromByte, 14);
  b.writeDoubleLE(w.lastTs, 18);
  b.set(bytes, 26);
  return b;
}

function segmentName(no: number, createdMs: number): string {
  return `${String(no).padStart(8, '0')}-${createdMs}.seg`;
}

/** One chunk of a segment as its index lists it: series, record offset, first and last time. */
type IndexEntry = [number, number, number, number];

const INDEX_MAGIC = Buffer.from('CSIDX01\n', 'latin1');
const INDEX_ENTRY = 24;

function indexPath(segmentPath: string): string {
  return segmentPath.replace(/\.seg$/, '.idx');
}

/**
 * A segment's index: `[magic][u32 segment bytes][u32 entries][entries: u32 series, u32 offset,
 * f64 first ts, f64 last ts][u32 CRC-32 of everything before]`. Written when the segment is no
 * longer appended to and at every stop, so a start reads 24 bytes a chunk instead of every
 * chunk, and of the newest segment only what was appended after the stop.
 */
function encodeIndex(seg: Segment): Buffer {
  const n = seg.count;
  const b = Buffer.allocUnsafe(16 + n * INDEX_ENTRY + 4);
  INDEX_MAGIC.copy(b, 0);
  b.writeUInt32LE(seg.file.size, 8);
  b.writeUInt32LE(n, 12);
  for (let i = 0; i < n; i++) {
    const at = 16 + i * INDEX_ENTRY;
    b.writeUInt32LE(seg.refs[i * 2], at);
    b.writeUInt32LE(seg.refs[i * 2 + 1], at + 4);
    b.writeDoubleLE(seg.times![i * 2], at + 8);
    b.writeDoubleLE(seg.times![i * 2 + 1], at + 16);
  }
  b.writeUInt32LE(crc32(b.subarray(0, b.length - 4)), b.length - 4);
  return b;
}

/** The index's segment length and entries; undefined when it is damaged or not an index. */
function decodeIndex(b: Buffer): { segmentBytes: number; entries: IndexEntry[] } | undefined {
  if (b.length < 20 || !b.subarray(0, 8).equals(INDEX_MAGIC)) return undefined;
  const n = b.readUInt32LE(12);
  if (b.length !== 16 + n * INDEX_ENTRY + 4 || crc32(b.subarray(0, b.length - 4)) !== b.readUInt32LE(b.length - 4)) return undefined;
  const entries: IndexEntry[] = [];
  for (let i = 0, at = 16; i < n; i++, at += INDEX_ENTRY) entries.push([b.readUInt32LE(at), b.readUInt32LE(at + 4), b.readDoubleLE(at + 8), b.readDoubleLE(at + 16)]);
  return { segmentBytes: b.readUInt32LE(8), entries };
}

/** Rows of one tier for one series between two times, oldest first. */
export interface Rows {
  timestampsMs: number[];
  rows: Float64Array[];
}

export interface PersistHealth {
  dataDir: string;
  ok: boolean;
  /** Why writing failed, and since when (ISO), while it fails. */
  error?: string;
  failingSince?: string;
  lastFlush: string | null;
  bytes: number;
  maxBytes: number;
  tiers: { name: string; resolutionMs: number; retentionMs: number; segments: number; bytes: number; oldest: string | null; newest: string | null }[];
  /** What the start cut from damaged or torn files. */
  repaired: Cut[];
  /** Segments dropped to keep under the disk cap, and sealed chunks dropped while the disk refused writes. */
  droppedSegments: number;
  droppedChunks: number;
  /** Series with open chunks and buckets in memory: those sampled within the last hour or so. */
  openSeries: number;
}

export class PersistentHistory {
  readonly tiers: TierSpec[];
  private readonly columns: number[];
  private readonly segments: Segment[][] = [[], [], []];
  private readonly series = new Map<number, Series>();
  private readonly registry: Registry;
  private readonly byId = new Map<string, KeptContainer>();
  private registryDirty = false;
  private pending: SealedChunk[] = [];
  private pendingBytes = 0;
  /** Undefined only while the disk refuses even a fresh head log. */
  private headLog?: RecordFile;
  private headLogNo = 0;
  private nextSegmentNo = 0;
  private readonly repaired: Cut[] = [];
  private failure?: { error: string; sinceMs: number };
  private lastFlushMs?: number;
  private droppedSegments = 0;
  private droppedChunks = 0;
  private readonly log: Logger;

  constructor(private readonly opts: PersistOptions) {
    this.log = opts.log;
    this.tiers = tierSpecs(opts.intervalMs, opts.retentionMs);
    const m = opts.metrics.length;
    this.columns = [m, m * AGG, m * AGG];
    this.registry = opts.dataDir.readState<Registry>('containers') ?? { nextSeries: 0, containers: [] };
    for (const k of this.registry.containers) this.byId.set(k.info.id, k);
    this.loadSegments();
    this.loadHeads();
    this.rebuildBuckets();
    // Only the containers still running when the last agent stopped may be sampled again.
    const live = new Set(this.registry.containers.filter((k) => k.removedMs === undefined).map((k) => k.series));
    for (const s of this.series.values()) if (!live.has(s.no)) this.retire(s);
    try {
      // Chunks sealed above go to their segments before the head logs that hold them are deleted.
      this.writePending(Date.now());
      this.rotateHeadLog();
    } catch (err) {
      this.failed(err, Date.now());
    }
  }

  private tierDir(t: number): string {
    return this.opts.dataDir.subdir(`tier-${this.tiers[t].name}`);
  }

  private seriesOf(no: number): Series {
    let s = this.series.get(no);
    if (!s) {
      s = new Series(no, this.columns);
      for (let t = 1; t < 3; t++) s.buckets[t] = this.bucketer(s, t);
      this.series.set(no, s);
    }
    return s;
  }

  /** Tier t's bucket of series s: a closed bucket becomes a point of tier t. */
  private bucketer(s: Series, t: number): Bucketer {
    return new Bucketer(this.tiers[t].resolutionMs, this.opts.metrics.length, t > 1, (startMs, acc) => this.append(s, t, startMs, acc));
  }

  /**
   * Every tier's segments: the chunks its index lists (checked as they are read), and the records
   * after them read and checked (a torn or damaged tail cut); without an index that matches it,
   * the segment is read whole, and indexed if it is no longer the newest.
   */
  private loadSegments(): void {
    for (let t = 0; t < 3; t++) {
      const dir = this.tierDir(t);
      const files = readdirSync(dir);
      const names = files.filter((f) => /^\d{8}-\d+\.seg$/.test(f)).sort();
      // An index whose segment went (a crash between the two unlinks) or a half-written one.
      for (const f of files) if ((f.endsWith('.idx') && !names.includes(f.replace(/\.idx$/, '.seg'))) || f.endsWith('.idx.tmp')) unlinkSync(join(dir, f));
      names.forEach((name, i) => {
        const [no, created] = name.slice(0, -4).split('-').map(Number);
        const path = join(dir, name);
        const index = this.readIndex(path);
        const read: IndexEntry[] = [];
        const { file, cut, known } = RecordFile.open(
          path,
          (p, offset) => {
            const c = decodeChunkRecord(p);
            read.push([c.series, offset, c.firstTs, c.lastTs]);
          },
          index?.segmentBytes,
        );
        this.noteCut(cut);
        const entries = known ? [...index!.entries, ...read] : read;
        const seg = new Segment(no, created, file, entries.length);
        for (const [series, offset, first, last] of entries) {
          seg.add(series, offset, first, last);
          const s = this.seriesOf(series);
          if (last > s.lastTs[t]) s.lastTs[t] = last;
        }
        this.segments[t].push(seg);
        this.nextSegmentNo = Math.max(this.nextSegmentNo, no + 1);
        // The newest segment's index (written at the last stop) is rewritten at the next; the others' now if stale.
        if (index && (i === names.length - 1 || (known && read.length === 0))) seg.indexBytes = 16 + index.entries.length * INDEX_ENTRY + 4;
        else if (i < names.length - 1) this.writeIndex(seg);
        if (i < names.length - 1) seg.close();
      });
    }
  }

  private readIndex(segmentPath: string): { segmentBytes: number; entries: IndexEntry[] } | undefined {
    let bytes: Buffer;
    try {
      bytes = readFileSync(indexPath(segmentPath));
    } catch {
      return undefined;
    }
    const index = decodeIndex(bytes);
    if (!index) this.log.warn('store', `${indexPath(segmentPath)} is damaged: ${segmentPath} is read whole instead, and indexed again`);
    return index;
  }

  /** Writes a segment's index from the chunks it holds. A failure only costs a slower start. */
  private writeIndex(seg: Segment): void {
    try {
      const bytes = encodeIndex(seg);
      writeFileAtomic(indexPath(seg.file.path), bytes);
      seg.indexBytes = bytes.length;
    } catch (err) {
      this.log.warnOnce(`index:${(err as Error).message}`, 'store', `${indexPath(seg.file.path)}: not written (${(err as Error).message}); the next start reads the segment whole`);
    }
  }

  private noteCut(cut: Cut | undefined): void {
    if (!cut) return;
    this.repaired.push(cut);
    this.log.warn('store', `${cut.file}: ${cut.reason} at byte ${cut.atByte}: cut ${cut.bytesCut} bytes off; everything before it is kept`);
  }

  /** Replays the head logs, oldest first: a later record of a head replaces or extends an earlier one. */
  private loadHeads(): void {
    const dir = this.opts.dataDir.subdir('head');
    const names = readdirSync(dir).filter((f) => /^\d{8}\.wal$/.test(f)).sort();
    const heads = new Map<string, { tier: number; series: number; count: number; bits: number; lastTs: number; bytes: Uint8Array }>();
    for (const name of names) {
      this.headLogNo = Math.max(this.headLogNo, Number(name.slice(0, 8)) + 1);
      const { file, cut } = RecordFile.open(join(dir, name), (p) => {
        const tier = p[1];
        const series = p.readUInt32LE(2);
        const key = `${tier}/${series}`;
        const count = p.readUInt32LE(6);
        const bits = p.readUInt32LE(10);
        const from = p.readUInt32LE(14);
        const lastTs = p.readDoubleLE(18);
        const data = p.subarray(26);
        const prev = heads.get(key);
        if (p[0] === REC_HEAD_FULL || !prev) {
          if (p[0] !== REC_HEAD_FULL) return; // a delta whose whole chunk is in a log already removed
          heads.set(key, { tier, series, count, bits, lastTs, bytes: Uint8Array.from(data) });
          return;
        }
        if (from > prev.bytes.length) return;
        const bytes = new Uint8Array(from + data.length);
        bytes.set(prev.bytes.subarray(0, from));
        bytes.set(data, from);
        heads.set(key, { tier, series, count, bits, lastTs, bytes });
      });
      this.noteCut(cut);
      file.close();
    }
    for (const h of heads.values()) {
      if (h.tier > 2 || h.count === 0) continue;
      const s = this.seriesOf(h.series);
      let w: ChunkWriter;
      try {
        w = ChunkWriter.resume(this.columns[h.tier], h.bytes, h.count, h.bits, h.lastTs);
      } catch (err) {
        this.log.warn('store', `head of series ${h.series} tier ${this.tiers[h.tier].name} does not decode (${(err as Error).message}): dropped`);
        continue;
      }
      // Sealed into a segment before the crash, after this head was logged: the segment has it.
      if (w.firstTs <= s.lastTs[h.tier]) continue;
      s.heads[h.tier] = new Head(w);
      s.lastTs[h.tier] = w.lastTs;
    }
  }

  /**
   * The 1-hour buckets in progress again from the 1-minute points after the last 1-hour point,
   * then the 1-minute buckets from the samples after the last 1-minute point (which may close
   * buckets, making points as they would have been made without the restart).
   */
  private rebuildBuckets(): void {
    for (const s of this.series.values()) {
      for (const t of [2, 1]) {
        const last = s.lastTs[t];
        const from = Number.isFinite(last) ? last + this.tiers[t].resolutionMs : -Infinity;
        const b = s.buckets[t]!;
        this.scan(s.no, t - 1, from, Infinity, (ts, row) => b.add(ts, row));
      }
    }
  }

  private rotateHeadLog(): void {
    const dir = this.opts.dataDir.subdir('head');
    const no = this.headLogNo++;
    const { file } = RecordFile.open(join(dir, `${String(no).padStart(8, '0')}.wal`), () => {});
    const records: Uint8Array[] = [];
    for (const s of this.series.values()) {
      s.heads.forEach((h, t) => {
        if (h.writer.count > 0) records.push(encodeHead(t, s.no, h.writer, 0));
      });
    }
    try {
      file.append(records);
      file.sync();
    } catch (err) {
      file.close();
      unlinkSync(file.path);
      throw err;
    }
    const old = this.headLog;
    this.headLog = file;
    for (const s of this.series.values()) {
      for (const h of s.heads) {
        h.savedBits = h.writer.bitLength;
        h.savedCount = h.writer.count;
      }
    }
    old?.close();
    for (const f of readdirSync(dir)) if (/^\d{8}\.wal$/.test(f) && Number(f.slice(0, 8)) < no) unlinkSync(join(dir, f));
  }

  /** The container's series number, allocated (and its record kept) on first sight. */
  describe(info: ContainerInfo): number {
    let k = this.byId.get(info.id);
    if (!k) {
      k = { series: this.registry.nextSeries++, info };
      this.registry.containers.push(k);
      this.byId.set(info.id, k);
      this.registryDirty = true;
    } else if (k.info !== info) {
      if (k.removedMs !== undefined || k.info.state !== info.state || k.info.name !== info.name || k.info.startedMs !== info.startedMs) this.registryDirty = true;
      k.info = info;
      k.removedMs = undefined;
      k.ended = undefined;
    }
    return k.series;
  }

  /** Records that a container is gone, and how it ended. */
  removed(id: string, removedMs: number, ended: Ended): void {
    const k = this.byId.get(id);
    if (!k) return;
    k.removedMs = removedMs;
    k.ended = ended;
    this.registryDirty = true;
    const s = this.series.get(k.series);
    if (s) this.retire(s);
  }

  /** Containers known from earlier runs and this one. */
  kept(): readonly KeptContainer[] {
    return this.registry.containers;
  }

  /** The newest raw point of a series, if any is kept. */
  lastSampleMs(series: number): number | undefined {
    const last = this.series.get(series)?.lastTs[0];
    return last !== undefined && Number.isFinite(last) ? last : undefined;
  }

  seriesOfId(id: string): number | undefined {
    return this.byId.get(id)?.series;
  }

  /** Appends one sample row (one value per metric) of container `id`. */
  record(info: ContainerInfo, ts: number, row: ArrayLike<number>): void {
    const s = this.seriesOf(this.describe(info));
    this.append(s, 0, ts, row);
    s.buckets[1]!.add(ts, row);
  }

  private append(s: Series, t: number, ts: number, row: ArrayLike<number>): void {
    const head = s.heads[t];
    head.writer.push(ts, row);
    s.lastTs[t] = ts;
    if (t === 1) s.buckets[2]!.add(ts, row);
    if (head.writer.count >= this.tiers[t].chunkPoints) this.seal(s, t);
    // A 1-minute or 1-hour chunk gets its next row a minute or an hour from now: until then it
    // is its bytes alone (75 columns' encoder state and the writer's spare room let go).
    else if (t > 0) head.writer.park();
  }

  /** Seals the series' open chunk of tier t: it waits to be written to the tier's segment. */
  private seal(s: Series, t: number): void {
    const w = s.heads[t].writer;
    const chunk = { tier: t, series: s.no, count: w.count, firstTs: w.firstTs, lastTs: w.lastTs, bytes: w.finish() };
    this.pending.push(chunk);
    this.pendingBytes += chunk.bytes.byteLength;
    s.heads[t] = new Head(new ChunkWriter(this.columns[t]));
  }

  /**
   * A series no longer sampled leaves memory: its buckets in progress become points, its open
   * chunks are sealed (even short), and its points are read from the segments from then on. So a
   * removed container costs its registry record, not three encoders and two buckets.
   */
  private retire(s: Series): void {
    s.buckets[1]!.close(); // its point goes into the 1-hour bucket, closed next
    s.buckets[2]!.close();
    for (let t = 0; t < 3; t++) if (s.heads[t].writer.count > 0) this.seal(s, t);
    this.series.delete(s.no);
  }

  /**
   * Writes what is new: the container records if changed, sealed chunks to the segments, the
   * heads' new bytes to the head log, each fsynced; then retention and the cap. A failure
   * (ENOSPC) is kept for /healthz and retried at the next flush; nothing is lost from memory.
   */
  flush(nowMs = Date.now()): void {
    for (const s of this.series.values()) {
      for (let t = 1; t < 3; t++) {
        const b = s.buckets[t]!;
        // A bucket whose container stopped sampling: closed once its span and two intervals passed.
        if (!Number.isNaN(b.startMs) && nowMs >= b.startMs + b.resolutionMs + 2 * this.opts.intervalMs) b.close();
      }
      // Not sampled for longer than an hour (a stopped container), or known only from the segments.
      if (Number.isNaN(s.buckets[1]!.startMs) && Number.isNaN(s.buckets[2]!.startMs)) this.retire(s);
    }
    try {
      this.checkLock();
      if (this.registryDirty) {
        this.opts.dataDir.writeState('containers', this.registry);
        this.registryDirty = false;
      }
      this.writePending(nowMs);
      this.writeHeads();
      this.enforceLimits(nowMs);
      if (this.failure) this.log.info('store', `writing history works again (it failed since ${new Date(this.failure.sinceMs).toISOString()}: ${this.failure.error})`);
      this.failure = undefined;
      this.lastFlushMs = nowMs;
    } catch (err) {
      this.failed(err, nowMs);
    }
  }

  /**
   * Renews the data directory's lock; throws ELOCKLOST (so nothing is written: the flush fails,
   * is reported and retried) when the lock is no longer this agent's (DataDir.assertHeld).
   */
  private checkLock(): void {
    if (!this.opts.dataDir.renewLock()) throw this.opts.dataDir.lockLost();
  }

  private failed(err: unknown, nowMs: number): void {
    const error = `${(err as NodeJS.ErrnoException).code ?? 'error'}: ${(err as Error).message}`;
    if (!this.failure) this.log.warn('store', `writing history failed (${error}); sampling and serving from memory go on, and writing is retried every flush`);
    this.failure = { error, sinceMs: this.failure?.sinceMs ?? nowMs };
    while (this.pendingBytes > PENDING_MAX && this.pending.length > 0) {
      this.pendingBytes -= this.pending.shift()!.bytes.byteLength;
      this.droppedChunks++;
    }
  }

  private currentSegment(t: number, nowMs: number): Segment {
    const segs = this.segments[t];
    const last = segs[segs.length - 1];
    if (last && nowMs - last.createdMs < this.tiers[t].segmentMs) return last;
    const no = this.nextSegmentNo++;
    const path = join(this.tierDir(t), segmentName(no, nowMs));
    const { file } = RecordFile.open(path, () => {});
    const seg = new Segment(no, nowMs, file);
    // The one before is appended to no more: its index lets a start skip reading it.
    if (last) {
      this.writeIndex(last);
      last.close();
    }
    segs.push(seg);
    return seg;
  }

  private writePending(nowMs: number): void {
    if (this.pending.length === 0) return;
    const touched = new Set<Segment>();
    while (this.pending.length > 0) {
      const c = this.pending[0];
      const seg = this.currentSegment(c.tier, nowMs);
      const [offset] = seg.file.append([encodeChunk(c)]);
      seg.add(c.series, offset, c.firstTs, c.lastTs);
      touched.add(seg);
      this.pending.shift();
      this.pendingBytes -= c.bytes.byteLength;
    }
    for (const seg of touched) seg.file.sync();
  }

  private writeHeads(): void {
    const records: Uint8Array[] = [];
    const saved: [Head, number, number][] = [];
    // What a fresh log would hold: every open head whole.
    let live = 0;
    for (const s of this.series.values()) {
      s.heads.forEach((h, t) => {
        const w = h.writer;
        if (w.count > 0) live += HEAD_RECORD_OVERHEAD + ((w.bitLength + 7) >>> 3);
        if (w.count === h.savedCount) return;
        // A new chunk since the last flush goes whole; a grown one from the byte its last save ended in.
        const from = h.savedCount === 0 ? 0 : h.savedBits >>> 3;
        records.push(encodeHead(t, s.no, w, from));
        saved.push([h, w.bitLength, w.count]);
      });
    }
    if (!this.headLog) return this.rotateHeadLog();
    if (this.headLog.size > Math.max(HEAD_LOG_MIN, 2 * live)) {
      try {
        return this.rotateHeadLog();
      } catch {
        // The fresh log could not be written (a nearly full disk): it was removed, the old one is
        // whole and takes this flush's new bytes, as before; the rewrite is tried at every flush,
        // and a failure to append is reported as any.
      }
    }
    if (records.length === 0) return;
    this.headLog.append(records);
    this.headLog.sync();
    for (const [h, bits, count] of saved) {
      h.savedBits = bits;
      h.savedCount = count;
    }
  }

  private enforceLimits(nowMs: number): void {
    for (let t = 0; t < 3; t++) {
      const segs = this.segments[t];
      while (segs.length > 1 && segs[0].maxTs < nowMs - this.tiers[t].retentionMs) this.dropSegment(t);
    }
    while (this.totalBytes() > this.opts.maxBytes) {
      const t = [0, 1, 2].find((i) => this.segments[i].length > 1);
      if (t === undefined) break;
      this.dropSegment(t);
      this.droppedSegments++;
    }
    // Containers gone for longer than the longest tier keeps: nothing of them is left to read.
    const horizon = nowMs - Math.max(...this.tiers.map((x) => x.retentionMs));
    const before = this.registry.containers.length;
    this.registry.containers = this.registry.containers.filter((k) => k.removedMs === undefined || k.removedMs >= horizon);
    if (this.registry.containers.length !== before) {
      this.byId.clear();
      for (const k of this.registry.containers) this.byId.set(k.info.id, k);
      this.registryDirty = true;
    }
  }

  private dropSegment(t: number): void {
    const seg = this.segments[t].shift()!;
    seg.file.close();
    // The index first: a segment without one is read whole, an index without its segment is removed at start.
    if (seg.indexBytes > 0) unlinkSync(indexPath(seg.file.path));
    unlinkSync(seg.file.path);
  }

  private totalBytes(): number {
    let n = this.headLog?.size ?? 0;
    for (const segs of this.segments) for (const seg of segs) n += seg.file.size + seg.indexBytes;
    return n;
  }

  /**
   * Calls `visit` for each point of tier `t` of a series with sinceMs <= time <= untilMs, oldest
   * first (the row is reused: copy what you keep): from the segments, the chunks waiting to be
   * written, the open chunk and the bucket in progress. With `wanted` (a flag per column) only
   * those columns are decoded: the others are NaN, but in the bucket in progress. A chunk that
   * fails its checksum on read is skipped and logged.
   */
  scan(series: number, t: number, sinceMs: number, untilMs: number, visit: (ts: number, row: Float64Array) => void, wanted?: Uint8Array): void {
    const inRange = (ts: number, row: Float64Array): void => {
      if (ts >= sinceMs && ts <= untilMs) visit(ts, row);
    };
    const cols = this.columns[t];
    for (const seg of this.segments[t]) {
      if (seg.maxTs < sinceMs || seg.minTs > untilMs) continue;
      for (const offset of seg.offsetsOf(series, sinceMs, untilMs)) {
        let c: SealedChunk;
        try {
          c = decodeChunkRecord(seg.file.readAt(offset));
        } catch (err) {
          this.cutChunk(seg, series, offset, err);
          continue;
        }
        if (c.lastTs >= sinceMs && c.firstTs <= untilMs) decodeChunk(c.bytes, c.count, cols, inRange, wanted);
      }
    }
    for (const c of this.pending) if (c.tier === t && c.series === series && c.lastTs >= sinceMs && c.firstTs <= untilMs) decodeChunk(c.bytes, c.count, cols, inRange, wanted);
    const s = this.series.get(series);
    const w = s?.heads[t].writer;
    if (w && w.count > 0 && w.lastTs >= sinceMs && w.firstTs <= untilMs) decodeChunk(w.view(), w.count, cols, inRange, wanted);
    // The bucket in progress too, as it stands: the newest minute (hour) is there before it ends.
    const b = s?.buckets[t];
    if (b && !Number.isNaN(b.startMs)) inRange(b.startMs, b.acc);
  }

  /**
   * A chunk that fails its checksum when read (segments opened from their index are checked a
   * chunk at a time): left out from now on, logged and reported as cut; the others are kept.
   */
  private cutChunk(seg: Segment, series: number, offset: number, err: unknown): void {
    const reason = err instanceof RecordError ? err.reason : (err as Error).message;
    seg.remove(series, offset);
    this.noteCut({ file: seg.file.path, atByte: offset, bytesCut: err instanceof RecordError ? err.bytes : 0, reason: `${reason} (series ${series}'s chunk)` });
  }

  /** The points scan() visits, copied. */
  rows(series: number, t: number, sinceMs: number, untilMs: number): Rows {
    const out: Rows = { timestampsMs: [], rows: [] };
    this.scan(series, t, sinceMs, untilMs, (ts, row) => {
      out.timestampsMs.push(ts);
      out.rows.push(Float64Array.from(row));
    });
    return out;
  }

  /** The raw tier's open chunks: the series with samples in one, their samples, and the bytes reserved for them. */
  openRawFootprint(): { containers: number; samples: number; bytes: number } {
    const f = { containers: 0, samples: 0, bytes: 0 };
    for (const s of this.series.values()) {
      const w = s.heads[0].writer;
      if (w.count === 0) continue;
      f.containers++;
      f.samples += w.count;
      f.bytes += w.capacityBytes;
    }
    return f;
  }

  /** What is kept and whether writing works, for /healthz. */
  health(nowMs = Date.now()): PersistHealth {
    return {
      dataDir: this.opts.dataDir.path,
      ok: this.failure === undefined,
      error: this.failure?.error,
      failingSince: this.failure && new Date(this.failure.sinceMs).toISOString(),
      lastFlush: this.lastFlushMs !== undefined ? new Date(this.lastFlushMs).toISOString() : null,
      bytes: this.totalBytes(),
      maxBytes: this.opts.maxBytes,
      tiers: this.tiers.map((spec, t) => {
        const segs = this.segments[t];
        const oldest = segs.reduce((m, s) => Math.min(m, s.minTs), Infinity);
        const newest = segs.reduce((m, s) => Math.max(m, s.maxTs), -Infinity);
        return {
          name: spec.name,
          resolutionMs: spec.resolutionMs,
          retentionMs: spec.retentionMs,
          segments: segs.length,
          bytes: segs.reduce((n, s) => n + s.file.size + s.indexBytes, 0),
          oldest: Number.isFinite(oldest) ? new Date(oldest).toISOString() : null,
          newest: Number.isFinite(newest) ? new Date(Math.min(newest, nowMs)).toISOString() : null,
        };
      }),
      repaired: this.repaired,
      droppedSegments: this.droppedSegments,
      droppedChunks: this.droppedChunks,
      openSeries: this.series.size,
    };
  }

  /** Writes everything (SIGTERM loses nothing), indexes the newest segments and closes the files. */
  close(nowMs = Date.now()): void {
    this.flush(nowMs);
    if (this.opts.dataDir.holdsLock()) for (const segs of this.segments) if (segs.length > 0) this.writeIndex(segs[segs.length - 1]);
    this.headLog?.close();
    for (const segs of this.segments) for (const seg of segs) seg.file.close();
  }
}

/** Bytes of the files under `dir`, for benchmarks and tests. */
export function diskBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? diskBytes(p) : statSync(p).size;
  }
  return n;
}
