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
import { forEachContainerSeries, LabelRenderer, METRIC_NAMES } from '../api/prometheus.js';
import { parseRenderedLabels } from '../api/prometheus-text.js';
import { ByteWriter } from '../store/bytes.js';
import type { ContainerInfo } from '../model.js';
import { post, type HttpTarget } from './http.js';
import type { ExportTick, Payload, Sink } from './sink.js';

/** Prometheus' staleness marker (model/value.StaleNaN), little-endian as protobuf writes a double. */
const STALE_NAN = new Uint8Array([0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f]);
const FAMILIES: ReadonlySet<string> = new Set(METRIC_NAMES);
const utf8 = new TextEncoder();
/** Compressed payloads merged into one request up to this size. */
const MERGE_BYTES = 256 << 10;

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

/** A container's series as last sent: the encoded labels of each, by family name + own labels. */
interface Sent {
  info: ContainerInfo;
  series: Map<string, Uint8Array>;
}

function writeString(w: ByteWriter, field: number, s: string): void {
  const b = utf8.encode(s);
  w.byte((field << 3) | 2);
  w.varint(b.length);
  w.bytes(b);
}

/** The repeated Label fields of a TimeSeries, sorted by name; empty values left out. */
export function encodeLabels(labels: Readonly<Record<string, string>>): Uint8Array {
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

/** One TimeSeries of one sample (field 1 of WriteRequest): value bytes, or a float. */
function writeSeries(w: ByteWriter, labels: Uint8Array, value: number | Uint8Array, timestampMs: number): void {
  const tsBytes = varintLength(timestampMs);
  const sampleLength = 1 + 8 + 1 + tsBytes;
  w.byte(0x0a);
  w.varint(labels.length + 1 + varintLength(sampleLength) + sampleLength);
  w.bytes(labels);
  w.byte(0x12);
  w.varint(sampleLength);
  w.byte(0x09);
  if (typeof value === 'number') w.float(value);
  else w.bytes(value);
  w.byte(0x10);
  w.varint(timestampMs);
}

function varintLength(n: number): number {
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

export class RemoteWriteSink implements Sink {
  readonly name: string;
  readonly maxBatch: number;
  private readonly labels: LabelRenderer;
  private readonly sent = new Map<string, Sent>();
  private readonly out = new ByteWriter(1 << 16);
  private readonly headers: Record<string, string>;

  constructor(private readonly opts: RemoteWriteOptions) {
    this.name = opts.name;
    this.maxBatch = opts.maxBatch ?? 10;
    this.labels = new LabelRenderer(opts.labelAllowlist);
    this.headers = { ...REMOTE_WRITE_HEADERS, 'User-Agent': opts.userAgent };
  }

  encode(tick: ExportTick): Payload | undefined {
    const w = this.out;
    w.length = 0;
    let samples = 0;
    for (const e of tick.containers) {
      const sample = e.latest;
      if (!sample) continue;
      const id = e.info.id;
      const before = this.sent.get(id);
      // Discovery hands out a new info object on each inspect: labels are encoded again then.
      const sameInfo = before?.info === e.info;
      const series = new Map<string, Uint8Array>();
      const base = { ...this.opts.extraLabels, ...Object.fromEntries(this.labels.pairs(e.info)) };
      forEachContainerSeries(e.info, sample, tick.host, FAMILIES, (name, extra, value) => {
        const key = extra === '' ? name : `${name}{${extra}}`;
        let labels = sameInfo ? before.series.get(key) : undefined;
        labels ??= encodeLabels({ ...base, ...parseRenderedLabels(extra), __name__: name });
        series.set(key, labels);
        writeSeries(w, labels, Number(value), sample.timestampMs);
        samples++;
      });
      if (before) samples += this.staleMarkers(before, series, sameInfo, sample.timestampMs);
      this.sent.set(id, { info: e.info, series });
    }
    for (const e of tick.gone) {
      const before = this.sent.get(e.info.id);
      if (!before) continue;
      samples += this.staleMarkers(before, new Map(), true, tick.timestampMs);
      this.sent.delete(e.info.id);
    }
    if (samples === 0) return undefined;
    return { bytes: compress(w.finish()), samples };
  }

  /**
   * A staleness marker for each series `before` had that `now` lacks: by key while the
   * container's labels stay the same, else by the encoded labels themselves.
   */
  private staleMarkers(before: Sent, now: ReadonlyMap<string, Uint8Array>, sameInfo: boolean, atMs: number): number {
    const current = sameInfo ? undefined : new Set([...now.values()].map((l) => Buffer.from(l).toString('latin1')));
    let n = 0;
    for (const [key, labels] of before.series) {
      if (current ? current.has(Buffer.from(labels).toString('latin1')) : now.has(key)) continue;
      writeSeries(this.out, labels, STALE_NAN, atMs);
      n++;
    }
    return n;
  }

  /**
   * One request per run of payloads up to MERGE_BYTES compressed (a single larger payload goes
   * alone): merging costs an uncompress and a compress on the agent's one thread, about 200 ms
   * per MiB (bench/export). Should a later request fail, the whole batch is sent again: the
   * receiver takes the repeated samples silently.
   */
  async send(payloads: readonly Uint8Array[]): Promise<void> {
    let group: Uint8Array[] = [];
    let bytes = 0;
    for (const p of payloads) {
      if (group.length > 0 && bytes + p.length > MERGE_BYTES) {
        await post(this.opts.target, mergeWriteRequests(group), this.headers);
        group = [];
        bytes = 0;
      }
      group.push(p);
      bytes += p.length;
    }
    if (group.length > 0) await post(this.opts.target, mergeWriteRequests(group), this.headers);
  }
}

/** One compressed WriteRequest holding every series of `payloads` (each a compressed WriteRequest), in order. */
export function mergeWriteRequests(payloads: readonly Uint8Array[]): Uint8Array {
  if (payloads.length === 1) return payloads[0];
  const w = new ByteWriter(1 << 16);
  for (const p of payloads) w.bytes(uncompress(p));
  return compress(w.view());
}
