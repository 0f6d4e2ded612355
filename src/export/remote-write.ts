/**
 * Prometheus remote_write 1.0 (prometheus.io/docs/specs/remote_write_spec): a WriteRequest in
 * protobuf, compressed with Snappy's block format, POSTed with the spec's headers.
 *
 *     message WriteRequest { repeated TimeSeries timeseries = 1; }
 *     message TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
 *     message Label        { string name = 1; string value = 2; }
 *     message Sample       { double value = 1; int64 timestamp = 2; }   // ms since the epoch
 *
 * The series are those of /metrics, from the same code (api/prometheus.ts
 * forEachContainerSeries and LabelRenderer): the same names, labels and values, plus the
 * configured extra labels (`host` by default). Each series' sample carries the time its
 * container was sampled. Labels are sorted by name, as the spec requires.
 *
 * A series the previous payload had and this one lacks (a container gone, an interface
 * removed) gets a staleness marker, the NaN Prometheus itself writes (0x7ff0000000000002), so
 * that queries stop showing it at once rather than after 5 minutes of lookback. What a
 * previous agent process sent is not known after a restart: containers that left while the
 * agent was down get no marker.
 *
 * Several small queued payloads go in one request: a WriteRequest is a repeated field only, so
 * the uncompressed payloads concatenated are one WriteRequest holding every series of each.
 */
import { compress, uncompress } from 'snappyjs';
import { forEachContainerValue, LabelRenderer, METRIC_NAMES, type Digits } from '../api/prometheus.js';
import { parseRenderedLabels, scaledDecimal } from '../api/prometheus-text.js';
import { ByteReader, ByteWriter } from '../store/bytes.js';
import type { ContainerInfo } from '../model.js';
import { post, type HttpTarget } from './http.js';
import { runsOf, type ExportTick, type Payload, type Sink } from './sink.js';
import { blockHeader, compressPiece, type Piece } from './snappy.js';

/** Prometheus' staleness marker (model/value.StaleNaN), little-endian as protobuf writes a double. */
const STALE_NAN = new Uint8Array([0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f]);
const FAMILIES: ReadonlySet<string> = new Set(METRIC_NAMES);
const utf8 = new TextEncoder();
/** Compressed payloads merged into one request up to this size. */
const MERGE_BYTES = 256 << 10;
/** What changes in a series from one tick to the next: its sample's double (8 bytes), the timestamp's tag (0x10) and varint. */
const varyLength = (timestampBytes: number): number => 8 + 1 + timestampBytes;

export const REMOTE_WRITE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Encoding': 'snappy',
  'Content-Type': 'application/x-protobuf',
  'X-Prometheus-Remote-Write-Version': '0.1.0',
};

export interface RemoteWriteOptions {
  /** `remote_write-N`. */
  name: string;
  target: HttpTarget;
  labelAllowlist: readonly string[];
  /** Labels added to every series (an empty value is no label). */
  extraLabels: Readonly<Record<string, string>>;
  userAgent: string;
  /** Queued payloads (ticks) per request. */
  maxBatch?: number;
}

/**
 * A container's series as last sent, compressed (snappy.ts): the series (family name and own
 * labels, in /metrics' order) and the snappy piece of their TimeSeries, whose values and
 * timestamps are rewritten in place each tick while the series stay the same.
 */
interface Sent {
  info: ContainerInfo;
  names: string[];
  extras: string[];
  piece: Piece;
  /** Bytes of the timestamp's varint in every series of the piece. */
  timestampBytes: number;
}

function writeString(w: ByteWriter, field: number, s: string): void {
  const b = utf8.encode(s);
  w.byte((field << 3) | 2);
  w.varint(b.length);
  w.bytes(b);
}

/** The repeated Label fields of a TimeSeries, sorted by name; empty values left out. */
function encodeLabels(labels: Readonly<Record<string, string>>): Uint8Array {
  const w = new ByteWriter(256);
  const one = new ByteWriter(64);
  for (const name of Object.keys(labels).sort()) {
    const value = labels[name];
    if (value === '') continue;
    one.length = 0;
    writeString(one, 1, name);
    writeString(one, 2, value);
    w.byte(0x0a);
    w.varint(one.length);
    w.bytes(one.view());
  }
  return w.finish();
}

/** One TimeSeries of one sample (field 1 of WriteRequest); returns where its value starts (then 0x10 and the timestamp). */
function writeSeries(w: ByteWriter, labels: Uint8Array, value: number | Uint8Array, timestampMs: number): number {
  const sampleLength = 1 + 8 + 1 + varintLength(timestampMs);
  w.byte(0x0a);
  w.varint(labels.length + 1 + varintLength(sampleLength) + sampleLength);
  w.bytes(labels);
  w.byte(0x12);
  w.varint(sampleLength);
  w.byte(0x09);
  const at = w.length;
  if (typeof value === 'number') w.float(value);
  else w.bytes(value);
  w.byte(0x10);
  w.varint(timestampMs);
  return at;
}

const POWERS = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/**
 * The double nearest x / 10^digits: the number /metrics' text (formatValue) parses to. Below
 * 2^53 the integer and the power of ten are exact doubles, and one division rounds the exact
 * quotient as parsing its exact decimal does; above, the text is parsed (the integer alone would
 * round once before the division).
 */
export function toDouble(x: bigint, digits: Digits): number {
  if (digits === 0) return Number(x);
  if (x <= 9007199254740992n) return Number(x) / POWERS[digits];
  return Number(scaledDecimal(x, digits));
}

function varintLength(n: number): number {
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/** The label blocks of the TimeSeries in `raw` (an uncompressed WriteRequest of one-sample series). */
function labelBlocks(raw: Uint8Array): Uint8Array[] {
  const r = new ByteReader(raw);
  const blocks: Uint8Array[] = [];
  while (r.pos < raw.length) {
    r.byte(); // 0x0a: a TimeSeries
    const length = r.smallVarint();
    const body = raw.subarray(r.pos, r.pos + length);
    r.pos += length;
    // The labels (0x0a fields) come first, up to the Sample (0x12).
    const s = new ByteReader(body);
    while (s.pos < body.length && body[s.pos] === 0x0a) {
      s.byte();
      const length = s.smallVarint();
      s.pos += length;
    }
    blocks.push(body.subarray(0, s.pos));
  }
  return blocks;
}

/**
 * The payload under construction: snappy pieces one after the other, behind room for the
 * block's header (the total uncompressed length, known at the end).
 */
class Block {
  private static readonly HEADER_ROOM = 5;
  buf = new Uint8Array(1 << 16);
  data = new DataView(this.buf.buffer);
  length = Block.HEADER_ROOM;
  rawLength = 0;

  reset(): void {
    this.length = Block.HEADER_ROOM;
    this.rawLength = 0;
  }

  /** Appends a piece's elements; returns where they start. */
  append(piece: Piece): number {
    const n = piece.elements.length;
    if (this.length + n > this.buf.length) {
      const bigger = new Uint8Array(Math.max(this.length + n, this.buf.length * 2));
      bigger.set(this.buf.subarray(0, this.length));
      this.buf = bigger;
      this.data = new DataView(bigger.buffer);
    }
    const at = this.length;
    this.buf.set(piece.elements, at);
    this.length += n;
    this.rawLength += piece.rawLength;
    return at;
  }

  /** The block, copied out. */
  finish(): Uint8Array {
    const header = blockHeader(this.rawLength);
    const start = Block.HEADER_ROOM - header.length;
    this.buf.set(header, start);
    return this.buf.slice(start, this.length);
  }
}

export class RemoteWriteSink implements Sink {
  readonly name: string;
  readonly maxBatch: number;
  private readonly labels: LabelRenderer;
  private readonly sent = new Map<string, Sent>();
  private readonly block = new Block();
  private readonly timestamp = new ByteWriter(16);
  private readonly headers: Record<string, string>;
  /** One container's series of this tick (scratch, reused). */
  private readonly names: string[] = [];
  private readonly extras: string[] = [];
  private values = new Float64Array(256);
  private count = 0;
  private readonly collect = (name: string, extra: string, x: bigint, digits: Digits): void => {
    const i = this.count++;
    if (i === this.values.length) {
      const bigger = new Float64Array(i * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.names[i] = name;
    this.extras[i] = extra;
    this.values[i] = toDouble(x, digits);
  };

  constructor(private readonly opts: RemoteWriteOptions) {
    this.name = opts.name;
    this.maxBatch = opts.maxBatch ?? 10;
    this.labels = new LabelRenderer(opts.labelAllowlist);
    this.headers = { ...REMOTE_WRITE_HEADERS, 'User-Agent': opts.userAgent };
  }

  encode(tick: ExportTick): Payload | undefined {
    const block = this.block;
    block.reset();
    // Staleness markers go after every container's piece, in a piece of their own.
    const stale = new ByteWriter(0);
    let samples = 0;
    for (const e of tick.containers) {
      const sample = e.latest;
      if (!sample) continue;
      this.count = 0;
      forEachContainerValue(e.info, sample, tick.host, FAMILIES, this.collect);
      const timestampMs = sample.timestampMs;
      const timestampBytes = varintLength(timestampMs);
      let sent = this.sent.get(e.info.id);
      if (!sent || !this.sameSeries(sent, e.info, timestampBytes)) {
        const before = sent;
        sent = this.compressSeries(e.info, timestampMs);
        if (before) samples += staleMarkers(before, sent, stale, timestampMs);
        this.sent.set(e.info.id, sent);
      }
      if (this.count === 0) continue;
      const at = block.append(sent.piece);
      const { buf, data } = block;
      const varyAt = sent.piece.varyAt;
      const ts = this.timestamp;
      ts.length = 0;
      ts.varint(timestampMs);
      const tsBytes = ts.view();
      for (let i = 0; i < this.count; i++) {
        const o = at + varyAt[i];
        data.setFloat64(o, this.values[i], true);
        // Then the tag 0x10, unchanged, and the timestamp.
        for (let k = 0; k < timestampBytes; k++) buf[o + 9 + k] = tsBytes[k];
      }
      samples += this.count;
    }
    for (const e of tick.gone) {
      const before = this.sent.get(e.info.id);
      if (!before) continue;
      samples += staleMarkers(before, undefined, stale, tick.timestampMs);
      this.sent.delete(e.info.id);
    }
    if (stale.length > 0) block.append(compressPiece(stale.view()));
    if (samples === 0) return undefined;
    return { bytes: block.finish(), samples };
  }

  /** Whether this tick's series (the scratch) are those of `sent`, in the same order, with timestamps as long. */
  private sameSeries(sent: Sent, info: ContainerInfo, timestampBytes: number): boolean {
    if (sent.info !== info || sent.timestampBytes !== timestampBytes || sent.names.length !== this.count) return false;
    for (let i = 0; i < this.count; i++) if (sent.names[i] !== this.names[i] || sent.extras[i] !== this.extras[i]) return false;
    return true;
  }

  /** The scratch's series encoded with their labels and compressed, their values and timestamps left free to change. */
  private compressSeries(info: ContainerInfo, timestampMs: number): Sent {
    // Discovery hands out a new info object on each inspect: labels are encoded again then.
    const base = { ...this.opts.extraLabels, ...Object.fromEntries(this.labels.pairs(info)) };
    const raw = new ByteWriter(1 << 14);
    const starts: number[] = [];
    for (let i = 0; i < this.count; i++) {
      const labels = encodeLabels({ ...base, ...parseRenderedLabels(this.extras[i]), __name__: this.names[i] });
      starts.push(writeSeries(raw, labels, this.values[i], timestampMs));
    }
    const timestampBytes = varintLength(timestampMs);
    return {
      info,
      names: this.names.slice(0, this.count),
      extras: this.extras.slice(0, this.count),
      piece: compressPiece(raw.view(), starts, varyLength(timestampBytes)),
      timestampBytes,
    };
  }
  /**
   * One request per run of payloads up to MERGE_BYTES compressed (a single larger payload goes
   * alone): merging costs an uncompress and a compress on the agent's one thread, about 200 ms
   * per MiB (bench/export). Should a later request fail, the whole batch is sent again: the
   * receiver takes the repeated samples silently.
   */
  async send(payloads: readonly Uint8Array[]): Promise<void> {
    for (const run of runsOf(payloads, MERGE_BYTES)) await post(this.opts.target, mergeWriteRequests(run), this.headers);
  }
}

/** One compressed WriteRequest holding every series of `payloads` (each a compressed WriteRequest), in order. */
export function mergeWriteRequests(payloads: readonly Uint8Array[]): Uint8Array {
  if (payloads.length === 1) return payloads[0];
  const w = new ByteWriter(1 << 16);
  for (const p of payloads) w.bytes(uncompress(p));
  return compress(w.view());
}

/** The uncompressed TimeSeries of a piece. */
function expand(piece: Piece): Uint8Array {
  const header = blockHeader(piece.rawLength);
  const block = new Uint8Array(header.length + piece.elements.length);
  block.set(header);
  block.set(piece.elements, header.length);
  return uncompress(block);
}

/**
 * A staleness marker (written into `into`) for each series `before` had that `now` lacks (all
 * of them when the container is gone), series being told apart by their labels. Returns how many.
 */
function staleMarkers(before: Sent, now: Sent | undefined, into: ByteWriter, atMs: number): number {
  const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');
  const current = new Set(now ? labelBlocks(expand(now.piece)).map(latin1) : []);
  let n = 0;
  for (const labels of labelBlocks(expand(before.piece))) {
    if (current.has(latin1(labels))) continue;
    writeSeries(into, labels, STALE_NAN, atMs);
    n++;
  }
  return n;
}
