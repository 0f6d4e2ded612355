/**
 * OpenTelemetry OTLP/HTTP metrics (opentelemetry-proto v1: collector/metrics/v1
 * ExportMetricsServiceRequest), as binary protobuf or the OTLP/JSON mapping, POSTed to the
 * endpoint's full URL (…/v1/metrics).
 *
 *     ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
 *     ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; }
 *     Resource        { repeated KeyValue attributes = 1; }
 *     ScopeMetrics    { InstrumentationScope scope = 1; repeated Metric metrics = 2; }
 *     InstrumentationScope { string name = 1; string version = 2; }
 *     Metric          { string name = 1; string description = 2; string unit = 3;
 *                       oneof data { Gauge gauge = 5; Sum sum = 7; } }
 *     Gauge           { repeated NumberDataPoint data_points = 1; }
 *     Sum             { repeated NumberDataPoint data_points = 1;
 *                       AggregationTemporality aggregation_temporality = 2; bool is_monotonic = 3; }
 *     NumberDataPoint { repeated KeyValue attributes = 7; fixed64 start_time_unix_nano = 2;
 *                       fixed64 time_unix_nano = 3; oneof value { double as_double = 4; sfixed64 as_int = 6; } }
 *     KeyValue        { string key = 1; AnyValue value = 2; }
 *     AnyValue        { oneof value { string string_value = 1; ArrayValue array_value = 5; } }
 *     ArrayValue      { repeated AnyValue values = 1; }
 *
 * One ResourceMetrics per container and tick, the container being the resource (container.*,
 * host.name, k8s.* attributes). The values are /metrics' own (api/prometheus.ts
 * forEachContainerValue), under the names of OpenTelemetry's semantic conventions for
 * containers (FAMILIES below). A queued payload is one tick's ResourceMetrics, already in the
 * wire form, behind a byte naming the encoding: several payloads of one encoding concatenated
 * (protobuf: repeated field 1; JSON: elements of the resourceMetrics array) are one request.
 */
import { hostname } from 'node:os';
import { gzipSync } from 'node:zlib';
import { forEachContainerValue, type Digits } from '../api/prometheus.js';
import { parseRenderedLabels } from '../api/prometheus-text.js';
import { ByteReader, ByteWriter } from '../store/bytes.js';
import type { Logger } from '../log.js';
import type { ContainerInfo } from '../model.js';
import { post, type Answer, type HttpTarget } from './http.js';
import { toDouble } from './remote-write.js';
import { runsOf, type ExportTick, type Payload, type Refused, type Sink } from './sink.js';

export type OtlpProtocol = 'protobuf' | 'json';

/** The byte in front of each queued payload: how it is encoded (the protocol may change across restarts). */
const FORMAT: Record<OtlpProtocol, number> = { protobuf: 0x50, json: 0x4a };
const CONTENT_TYPE: Record<OtlpProtocol, string> = { protobuf: 'application/x-protobuf', json: 'application/json' };
/** Payloads concatenated into one request up to this size (uncompressed). */
const REQUEST_BYTES = 1 << 20;
const AGGREGATION_TEMPORALITY_CUMULATIVE = 2;
const INT64_MAX = (1n << 63n) - 1n;
const utf8 = new TextEncoder();

interface Descriptor {
  name: string;
  description: string;
  unit: string;
  /** A cumulative monotonic Sum, or a Gauge. */
  sum: boolean;
}

const CPU_TIME: Descriptor = { name: 'container.cpu.time', description: 'Total CPU time consumed.', unit: 's', sum: true };
const UPTIME: Descriptor = { name: 'container.uptime', description: 'The time the container has been running.', unit: 's', sum: false };
const MEMORY_USAGE: Descriptor = { name: 'container.memory.usage', description: 'Memory usage of the container.', unit: 'By', sum: false };
const NETWORK_IO: Descriptor = { name: 'container.network.io', description: 'Network bytes for the container.', unit: 'By', sum: true };
const DISK_IO: Descriptor = { name: 'container.disk.io', description: 'Disk bytes for the container.', unit: 'By', sum: true };

/**
 * The /metrics families exported, each as a metric of the conventions with its attributes
 * (from the family's own labels). container.cpu.time is either by cpu.mode (user and system,
 * when both were read) or the total alone: the conventions want a metric's points all with a
 * mode or all without.
 */
const FAMILIES: ReadonlyMap<string, { metric: Descriptor; attributes: (labels: Record<string, string>) => Array<[string, string]> }> = new Map([
  ['container_cpu_usage_seconds_total', { metric: CPU_TIME, attributes: () => [] }],
  ['container_cpu_user_seconds_total', { metric: CPU_TIME, attributes: () => [['cpu.mode', 'user']] }],
  ['container_cpu_system_seconds_total', { metric: CPU_TIME, attributes: () => [['cpu.mode', 'system']] }],
  ['container_memory_usage_bytes', { metric: MEMORY_USAGE, attributes: () => [] }],
  ['container_network_receive_bytes_total', { metric: NETWORK_IO, attributes: (l) => [['network.io.direction', 'receive'], ['network.interface.name', l.interface]] }],
  ['container_network_transmit_bytes_total', { metric: NETWORK_IO, attributes: (l) => [['network.io.direction', 'transmit'], ['network.interface.name', l.interface]] }],
  ['container_fs_reads_bytes_total', { metric: DISK_IO, attributes: (l) => [['disk.io.direction', 'read'], ['system.device', l.device]] }],
  ['container_fs_writes_bytes_total', { metric: DISK_IO, attributes: (l) => [['disk.io.direction', 'write'], ['system.device', l.device]] }],
] as const);
const FAMILY_NAMES: ReadonlySet<string> = new Set(FAMILIES.keys());

type AttributeValue = string | readonly string[];
type Attributes = ReadonlyArray<readonly [string, AttributeValue]>;

/** One data point: an integer (asInt) or seconds (asDouble). */
export interface OtlpPoint {
  attributes: Attributes;
  /** Unknown (0, left out) for a gauge, or a counter whose start the agent does not know. */
  startMs?: number;
  timeMs: number;
  value: bigint | number;
}

export interface OtlpMetric {
  metric: Descriptor;
  points: OtlpPoint[];
}

export interface OtlpResource {
  attributes: Attributes;
  metrics: OtlpMetric[];
}

/**
 * "registry/repo:tag" as container.image.name and container.image.tags; a digest
 * ("name@sha256:…") or an image without a tag is the name alone.
 */
export function imageAttributes(image: string): Array<[string, AttributeValue]> {
  if (image === '') return [];
  const at = image.indexOf('@');
  const colon = image.lastIndexOf(':');
  if (at < 0 && colon > image.lastIndexOf('/')) return [['container.image.name', image.slice(0, colon)], ['container.image.tags', [image.slice(colon + 1)]]];
  return [['container.image.name', at < 0 ? image : image.slice(0, at)]];
}

/** The resource of a container: who it is, where it runs, its pod when it is in one. */
export function resourceAttributes(info: ContainerInfo, host: string): Array<[string, AttributeValue]> {
  const attrs: Array<[string, AttributeValue]> = [
    ['container.id', info.id],
    ['container.name', info.name],
    ...imageAttributes(info.image),
    ['container.runtime.name', info.runtime],
    ['host.name', host],
  ];
  const pod = info.pod;
  if (pod?.name) attrs.push(['k8s.pod.name', pod.name]);
  if (pod?.namespace) attrs.push(['k8s.namespace.name', pod.namespace]);
  if (pod?.uid) attrs.push(['k8s.pod.uid', pod.uid]);
  if (pod?.container) attrs.push(['k8s.container.name', pod.container]);
  return attrs;
}

/**
 * When the container's counters started from zero: its start as the runtime reports it. Plain
 * cgroups (runtime "cgroupfs") carry the time the agent found them instead, which is no start:
 * unknown there.
 */
function containerStartMs(info: ContainerInfo): number | undefined {
  return info.runtime === 'cgroupfs' ? undefined : info.startedMs;
}

/** What is kept of a container between ticks to tell a counter's start: its last value, and a reset seen. */
interface SeriesState {
  value: bigint;
  timeMs: number;
  resetMs?: number;
}

interface ContainerState {
  startMs?: number;
  series: Map<string, SeriesState>;
}

/**
 * Makes each tick's resources from the store's samples, and keeps, per counter, what its
 * start_time_unix_nano is: the container's start, or the time of the last sample before a
 * reset seen since (the counter went back). A container started again (a new start time) starts
 * over.
 */
export class OtlpModel {
  private readonly state = new Map<string, ContainerState>();
  /** Resource attributes per ContainerInfo object (discovery makes a new one when anything about the container changes). */
  private readonly resources = new WeakMap<ContainerInfo, Attributes>();

  constructor(
    private readonly host: string = hostname(),
    private readonly log?: Logger,
  ) {}

  tick(tick: ExportTick): OtlpResource[] {
    const out: OtlpResource[] = [];
    for (const e of tick.containers) {
      const sample = e.latest;
      if (!sample) continue;
      const startMs = containerStartMs(e.info);
      let st = this.state.get(e.info.id);
      if (!st || st.startMs !== startMs) {
        st = { startMs, series: new Map() };
        this.state.set(e.info.id, st);
      }
      const values: Array<{ family: string; labels: Record<string, string>; x: bigint; digits: Digits }> = [];
      forEachContainerValue(e.info, sample, tick.host, FAMILY_NAMES, (family, extra, x, digits) => values.push({ family, labels: parseRenderedLabels(extra), x, digits }));
      const byMode = values.some((v) => v.family === 'container_cpu_user_seconds_total') && values.some((v) => v.family === 'container_cpu_system_seconds_total');
      const metrics = new Map<Descriptor, OtlpPoint[]>();
      const timeMs = sample.timestampMs;
      if (startMs !== undefined) metrics.set(UPTIME, [{ attributes: [], timeMs, value: Math.max(0, timeMs - startMs) / 1000 }]);
      for (const v of values) {
        const { metric, attributes } = FAMILIES.get(v.family)!;
        if (metric === CPU_TIME && (v.family === 'container_cpu_usage_seconds_total') === byMode) continue;
        const attrs = attributes(v.labels);
        if (v.digits === 0 && v.x > INT64_MAX) {
          // asInt is an int64: a u64 counter past 2^63 - 1 is left out, not rounded.
          this.log?.warnOnce(`otlp-int64:${metric.name}`, 'export', `${metric.name} of ${e.info.name}: ${v.x} does not fit OTLP's int64, left out`);
          continue;
        }
        const point: OtlpPoint = { attributes: attrs, timeMs, value: v.digits === 0 ? v.x : toDouble(v.x, v.digits) };
        if (metric.sum) point.startMs = this.counterStart(st, `${metric.name}\0${attrs.join('\0')}`, v.x, timeMs);
        let points = metrics.get(metric);
        if (!points) metrics.set(metric, (points = []));
        points.push(point);
      }
      let attributes = this.resources.get(e.info);
      if (!attributes) this.resources.set(e.info, (attributes = resourceAttributes(e.info, this.host)));
      out.push({ attributes, metrics: [...metrics].map(([metric, points]) => ({ metric, points })) });
    }
    for (const e of tick.gone) this.state.delete(e.info.id);
    return out;
  }

  private counterStart(st: ContainerState, key: string, value: bigint, timeMs: number): number | undefined {
    const s = st.series.get(key);
    if (!s) {
      st.series.set(key, { value, timeMs });
      return st.startMs;
    }
    // The counter went back: it counts from zero since some time after the previous sample.
    if (value < s.value) s.resetMs = s.timeMs;
    s.value = value;
    s.timeMs = timeMs;
    return s.resetMs ?? st.startMs;
  }
}

const ns = (ms: number): bigint => BigInt(ms) * 1_000_000n;

// --- protobuf -------------------------------------------------------------------------------

function tag(w: ByteWriter, field: number, wireType: number): void {
  w.varint((field << 3) | wireType);
}

function pbString(w: ByteWriter, field: number, s: string): void {
  const b = utf8.encode(s);
  tag(w, field, 2);
  w.varint(b.length);
  w.bytes(b);
}

/** Scratch writers by nesting depth, reused: a message is written into one, then copied into its parent. */
const scratch: ByteWriter[] = [];
let depth = 0;

/** A nested message: written into the scratch writer of its depth, then length-prefixed. */
function pbMessage(w: ByteWriter, field: number, body: (m: ByteWriter) => void): void {
  const m = (scratch[depth] ??= new ByteWriter(256));
  m.length = 0;
  depth++;
  try {
    body(m);
  } finally {
    depth--;
  }
  tag(w, field, 2);
  w.varint(m.length);
  w.bytes(m.view());
}

const fixedBytes = new Uint8Array(8);
const fixed = new DataView(fixedBytes.buffer);
/** sfixed64: eight bytes, little-endian. */
function pbSfixed64(w: ByteWriter, field: number, x: bigint): void {
  tag(w, field, 1);
  fixed.setBigInt64(0, x, true);
  w.bytes(fixedBytes);
}

/** Times as fixed64 nanoseconds, by ms: a tick's points share a few times. */
const times = new Map<number, Uint8Array>();
function pbTime(w: ByteWriter, field: number, ms: number): void {
  let bytes = times.get(ms);
  if (!bytes) {
    if (times.size >= 4096) times.clear();
    bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, ns(ms), true);
    times.set(ms, bytes);
  }
  tag(w, field, 1);
  w.bytes(bytes);
}

/** Encoded KeyValues by key and value: the same few (cpu.mode, directions, devices, interfaces) recur every tick. */
const keyValues = new Map<string, Uint8Array>();
/** Encoded attribute lists of resources, by the list (OtlpModel hands out one per ContainerInfo). */
const resourceBytes = new WeakMap<Attributes, Uint8Array>();

function pbKeyValue(key: string, value: AttributeValue): Uint8Array {
  const id = typeof value === 'string' ? `${key}\0${value}` : undefined;
  const cached = id === undefined ? undefined : keyValues.get(id);
  if (cached) return cached;
  const kv = new ByteWriter(64);
  pbString(kv, 1, key);
  pbMessage(kv, 2, (any) => {
    if (typeof value === 'string') pbString(any, 1, value);
    else pbMessage(any, 5, (arr) => value.forEach((v) => pbMessage(arr, 1, (a) => pbString(a, 1, v))));
  });
  const bytes = kv.finish();
  if (id !== undefined) {
    // Bounded: interface and device names come and go.
    if (keyValues.size >= 4096) keyValues.clear();
    keyValues.set(id, bytes);
  }
  return bytes;
}

function pbAttributes(w: ByteWriter, field: number, attrs: Attributes): void {
  for (const [key, value] of attrs) {
    const kv = pbKeyValue(key, value);
    tag(w, field, 2);
    w.varint(kv.length);
    w.bytes(kv);
  }
}

function pbResource(w: ByteWriter, attrs: Attributes): void {
  let bytes = resourceBytes.get(attrs);
  if (!bytes) {
    const r = new ByteWriter(512);
    pbAttributes(r, 1, attrs);
    bytes = r.finish();
    resourceBytes.set(attrs, bytes);
  }
  tag(w, 1, 2);
  w.varint(bytes.length);
  w.bytes(bytes);
}

function pbPoint(w: ByteWriter, p: OtlpPoint): void {
  pbMessage(w, 1, (dp) => {
    if (p.startMs !== undefined) pbTime(dp, 2, p.startMs);
    pbTime(dp, 3, p.timeMs);
    if (typeof p.value === 'number') {
      tag(dp, 4, 1);
      dp.float(p.value);
    } else pbSfixed64(dp, 6, p.value);
    pbAttributes(dp, 7, p.attributes);
  });
}

/** ResourceMetrics as field 1 of ExportMetricsServiceRequest, one after the other. */
export function encodeProtobuf(resources: readonly OtlpResource[], scopeVersion: string): Uint8Array {
  const w = new ByteWriter(1 << 12);
  for (const r of resources) {
    pbMessage(w, 1, (rm) => {
      pbResource(rm, r.attributes);
      pbMessage(rm, 2, (sm) => {
        pbMessage(sm, 1, (scope) => {
          pbString(scope, 1, 'cstats');
          pbString(scope, 2, scopeVersion);
        });
        for (const { metric, points } of r.metrics) {
          pbMessage(sm, 2, (m) => {
            pbString(m, 1, metric.name);
            pbString(m, 2, metric.description);
            pbString(m, 3, metric.unit);
            pbMessage(m, metric.sum ? 7 : 5, (data) => {
              for (const p of points) pbPoint(data, p);
              if (metric.sum) {
                tag(data, 2, 0);
                data.varint(AGGREGATION_TEMPORALITY_CUMULATIVE);
                tag(data, 3, 0);
                data.varint(1);
              }
            });
          });
        }
      });
    });
  }
  return w.finish();
}

// --- JSON (OTLP/JSON: lowerCamelCase fields, 64-bit integers as decimal strings, enums as numbers) ---

const jsonAttributes = (attrs: Attributes) =>
  attrs.map(([key, value]) => ({ key, value: typeof value === 'string' ? { stringValue: value } : { arrayValue: { values: value.map((v) => ({ stringValue: v })) } } }));

/** The ResourceMetrics objects, comma-separated: elements of the request's resourceMetrics array. */
export function encodeJson(resources: readonly OtlpResource[], scopeVersion: string): Uint8Array {
  const items = resources.map((r) =>
    JSON.stringify({
      resource: { attributes: jsonAttributes(r.attributes) },
      scopeMetrics: [
        {
          scope: { name: 'cstats', version: scopeVersion },
          metrics: r.metrics.map(({ metric, points }) => {
            const dataPoints = points.map((p) => ({
              attributes: jsonAttributes(p.attributes),
              ...(p.startMs !== undefined && { startTimeUnixNano: String(ns(p.startMs)) }),
              timeUnixNano: String(ns(p.timeMs)),
              ...(typeof p.value === 'number' ? { asDouble: p.value } : { asInt: String(p.value) }),
            }));
            const data = metric.sum ? { sum: { dataPoints, aggregationTemporality: AGGREGATION_TEMPORALITY_CUMULATIVE, isMonotonic: true } } : { gauge: { dataPoints } };
            return { name: metric.name, description: metric.description, unit: metric.unit, ...data };
          }),
        },
      ],
    }),
  );
  return utf8.encode(items.join(','));
}

// --- the answer ---------------------------------------------------------------------------

/** ExportMetricsServiceResponse's partial_success (field 1: rejected_data_points = 1, error_message = 2), if any. */
export function partialSuccess(answer: Pick<Answer, 'bytes' | 'body' | 'headers'>, protocol: OtlpProtocol): Refused | undefined {
  try {
    if (protocol === 'json') {
      const p = (JSON.parse(answer.body) as { partialSuccess?: { rejectedDataPoints?: string | number; errorMessage?: string } }).partialSuccess;
      const n = Number(p?.rejectedDataPoints ?? 0);
      return n > 0 || p?.errorMessage ? { samples: n, message: p?.errorMessage ?? '' } : undefined;
    }
    let samples = 0;
    let message = '';
    const r = new ByteReader(answer.bytes);
    while (r.pos < answer.bytes.length) {
      const key = r.smallVarint();
      if (key !== 0x0a) break;
      const end = r.pos + r.smallVarint();
      while (r.pos < end) {
        const k = r.smallVarint();
        if (k === 0x08) samples = Number(r.varint());
        else if (k === 0x12) {
          const len = r.smallVarint();
          message = Buffer.from(answer.bytes.subarray(r.pos, r.pos + len)).toString('utf8');
          r.pos += len;
        } else break;
      }
      r.pos = end;
    }
    return samples > 0 || message ? { samples, message } : undefined;
  } catch {
    // An answer the receiver cut or that is not OTLP's: it took the data.
    return undefined;
  }
}

// --- the sink -----------------------------------------------------------------------------

export interface OtlpOptions {
  /** `otlp-N`. */
  name: string;
  target: HttpTarget;
  protocol: OtlpProtocol;
  /** Sent with every request (before the sender's own). */
  headers: Readonly<Record<string, string>>;
  gzip: boolean;
  userAgent: string;
  /** The instrumentation scope's version (cstats'). */
  version: string;
  host?: string;
  log?: Logger;
  /** Queued payloads (ticks) per send. */
  maxBatch?: number;
}

export class OtlpSink implements Sink {
  readonly name: string;
  readonly maxBatch: number;
  private readonly model: OtlpModel;

  constructor(private readonly opts: OtlpOptions) {
    this.name = opts.name;
    this.maxBatch = opts.maxBatch ?? 60;
    this.model = new OtlpModel(opts.host, opts.log);
  }

  encode(tick: ExportTick): Payload | undefined {
    const resources = this.model.tick(tick);
    const samples = resources.reduce((n, r) => n + r.metrics.reduce((k, m) => k + m.points.length, 0), 0);
    if (samples === 0) return undefined;
    const body = this.opts.protocol === 'json' ? encodeJson(resources, this.opts.version) : encodeProtobuf(resources, this.opts.version);
    const bytes = new Uint8Array(body.length + 1);
    bytes[0] = FORMAT[this.opts.protocol];
    bytes.set(body, 1);
    return { bytes, samples };
  }

  /**
   * One request per run of payloads of one encoding up to 1 MiB; what the receivers refused of
   * them (partial_success), summed.
   */
  async send(payloads: readonly Uint8Array[]): Promise<Refused | undefined> {
    let refused: Refused | undefined;
    let i = 0;
    while (i < payloads.length) {
      const format = payloads[i][0];
      let j = i;
      while (j < payloads.length && payloads[j][0] === format) j++;
      const protocol: OtlpProtocol = format === FORMAT.json ? 'json' : 'protobuf';
      for (const run of runsOf(payloads.slice(i, j), REQUEST_BYTES)) {
        const r = await this.post(run, protocol);
        if (r) refused = { samples: (refused?.samples ?? 0) + r.samples, message: [refused?.message, r.message].filter((m) => m).join('; ') };
      }
      i = j;
    }
    return refused;
  }

  private async post(run: readonly Uint8Array[], protocol: OtlpProtocol): Promise<Refused | undefined> {
    const parts = run.map((p) => p.subarray(1));
    let body: Uint8Array = protocol === 'json' ? utf8.encode(`{"resourceMetrics":[${parts.map((p) => Buffer.from(p).toString('utf8')).join(',')}]}`) : Buffer.concat(parts);
    const headers: Record<string, string> = { ...this.opts.headers, 'Content-Type': CONTENT_TYPE[protocol], 'User-Agent': this.opts.userAgent };
    if (this.opts.gzip) {
      body = gzipSync(body);
      headers['Content-Encoding'] = 'gzip';
    }
    return partialSuccess(await post(this.opts.target, body, headers), protocol);
  }
}
