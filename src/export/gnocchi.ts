/**
 * OpenStack Gnocchi (4.x REST API v1), for ceilometer's users: a resource per container (type
 * `cstats_container` unless told otherwise) holding ceilometer's meters under their names and
 * units (ceilometer/publisher/data/gnocchi_resources.yaml and its pollsters), measures sent
 * with the batch API `POST /v1/batch/resources/metrics/measures?create_metrics=true`.
 *
 * A payload is one tick as JSON, encoded at its time: the measures of each container sampled,
 * the attributes of those containers (so that a sender started later, or after the payload
 * that first named a container was dropped, can still create its resource), and the
 * containers that ended (`ended_at`) or came back (`ended_at` cleared). Before sending, the
 * sender makes sure, once per run, of the archive policy and the resource type it created by
 * default, and of each container's resource (POST; 409 means it exists).
 *
 * Kernel counters are unsigned 64-bit and Gnocchi keeps float64: each value is converted once,
 * explicitly, with Number(); below 2^53 (104 days of CPU time in ns, 8 PiB) that is exact, and
 * beyond it rounds to the nearest double (a relative error below 1.2e-16).
 */
import { blockTotals, cpuLimitCores, memoryUsageNoCache, networkTotal } from '../derive/docker.js';
import type { Sample } from '../model.js';
import type { ContainerEntry } from '../store/store.js';
import { post, type HttpTarget } from './http.js';
import { SendError, type ExportTick, type Payload, type Sink } from './sink.js';

/** Ceilometer's MB is the mebibyte: libvirt's KiB / 1024 (ceilometer/compute/virt/libvirt/inspector.py). */
const MIB = 1048576;

/** A meter: ceilometer's name and unit, and its value in a sample (undefined: not measured in it). */
interface Meter {
  name: string;
  unit: string;
  value(s: Sample): number | undefined;
}

/**
 * The meters, as ceilometer names them (instance_stats.py, net.py, disk.py, meters.yaml). The
 * network and disk meters are totals over the container's interfaces (not lo, as docker stats)
 * and block devices: ceilometer keeps them per vNIC and per disk on resources of their own.
 */
export const METERS: readonly Meter[] = [
  { name: 'cpu', unit: 'ns', value: (s) => big(s.cgroup.cpu?.usageNs) },
  // The CFS quota in CPUs (--cpus), else every CPU online: what the container may use.
  { name: 'vcpus', unit: 'vcpu', value: (s) => cpuLimitCores(s.cgroup.cpu) ?? (s.onlineCpus > 0 ? s.onlineCpus : undefined) },
  // The memory limit; an unlimited container has none to send.
  { name: 'memory', unit: 'MB', value: (s) => (typeof s.cgroup.memory?.limitBytes === 'bigint' ? Number(s.cgroup.memory.limitBytes) / MIB : undefined) },
  // docker stats' usage: usage less inactive page cache.
  { name: 'memory.usage', unit: 'MB', value: (s) => (s.cgroup.memory?.usageBytes === undefined ? undefined : Number(memoryUsageNoCache(s.cgroup.memory)) / MIB) },
  { name: 'network.incoming.bytes', unit: 'B', value: (s) => (hasInterfaces(s) ? Number(networkTotal(s.network, 'rxBytes')) : undefined) },
  { name: 'network.outgoing.bytes', unit: 'B', value: (s) => (hasInterfaces(s) ? Number(networkTotal(s.network, 'txBytes')) : undefined) },
  { name: 'disk.device.read.bytes', unit: 'B', value: (s) => (s.cgroup.blkio ? Number(blockTotals(s.cgroup.blkio).read) : undefined) },
  { name: 'disk.device.write.bytes', unit: 'B', value: (s) => (s.cgroup.blkio ? Number(blockTotals(s.cgroup.blkio).write) : undefined) },
];

function big(x: bigint | undefined): number | undefined {
  return x === undefined ? undefined : Number(x);
}

/** Interfaces measured, other than lo: a host-network container or an unmeasured namespace has no figures of its own. */
function hasInterfaces(s: Sample): boolean {
  return s.network?.some((i) => i.name !== 'lo') ?? false;
}

/** The resource type's attributes hold at most 255 characters (its max_length); longer names and images are cut there. */
function cut(text: string): string {
  return text.length > 255 ? text.slice(0, 255) : text;
}

/** The resource type cstats creates when none is named: a container's identity. */
export const DEFAULT_RESOURCE_TYPE = 'cstats_container';
export const RESOURCE_ATTRIBUTES = ['name', 'image', 'runtime', 'host'] as const;
/** The archive policy cstats creates when none is named. */
export const DEFAULT_ARCHIVE_POLICY = 'cstats';
/** Every aggregation aodh's gnocchi threshold alarms are commonly given, rate:mean for the cumulative meters. */
export const AGGREGATION_METHODS = ['mean', 'min', 'max', 'last', 'rate:mean'];

type Attributes = Record<(typeof RESOURCE_ATTRIBUTES)[number], string> & { started_at?: string };

/** A payload: r, resources by container id; m, measures by id and meter as [ISO time, value]; e, ended_at by id (null: running again). */
interface Encoded {
  r: Record<string, Attributes>;
  m: Record<string, Record<string, Array<[string, number]>>>;
  e: Record<string, string | null>;
}

export interface GnocchiOptions {
  /** `gnocchi-0`, ... */
  name: string;
  /** The API root (`http://host:8041`); its path is kept as a prefix. */
  target: HttpTarget;
  /** Keystone token, sent as X-Auth-Token. */
  token?: string;
  archivePolicy: string;
  resourceType: string;
  /** Granularity and timespan of each point kind of the default archive policy, in ms (the agent's store tiers). */
  tiers: ReadonlyArray<{ granularityMs: number; timespanMs: number }>;
  /** The `host` attribute. */
  host: string;
  userAgent: string;
  maxBatch?: number;
}

export class GnocchiSink implements Sink {
  readonly name: string;
  readonly maxBatch: number;
  private readonly headers: Record<string, string>;
  /** Resources created or found in this run. */
  private readonly known = new Set<string>();
  /** Containers whose end this process encoded: seen again, their ended_at is cleared. */
  private readonly ended = new Set<string>();
  private prepared = false;

  constructor(private readonly opts: GnocchiOptions) {
    this.name = opts.name;
    this.maxBatch = opts.maxBatch ?? 30;
    // Gnocchi's uWSGI (http-socket mode) closes each connection after its answer: a kept-alive socket would hang up on the next request.
    this.headers = { Connection: 'close', 'Content-Type': 'application/json', 'User-Agent': opts.userAgent, ...(opts.token !== undefined && { 'X-Auth-Token': opts.token }) };
  }

  encode(tick: ExportTick): Payload | undefined {
    const p: Encoded = { r: {}, m: {}, e: {} };
    let samples = 0;
    for (const c of tick.containers) {
      const s = c.latest;
      if (!s) continue;
      const at = new Date(s.timestampMs).toISOString();
      const measures: Record<string, Array<[string, number]>> = {};
      for (const m of METERS) {
        const v = m.value(s);
        if (v === undefined || !Number.isFinite(v)) continue;
        measures[m.name] = [[at, v]];
        samples++;
      }
      p.r[c.info.id] = this.attributes(c);
      p.m[c.info.id] = measures;
      if (this.ended.delete(c.info.id)) p.e[c.info.id] = null;
    }
    for (const c of tick.gone) {
      p.r[c.info.id] = this.attributes(c);
      p.e[c.info.id] = new Date(tick.timestampMs).toISOString();
      this.ended.add(c.info.id);
    }
    if (Object.keys(p.r).length === 0) return undefined;
    return { bytes: Buffer.from(JSON.stringify(p)), samples };
  }

  private attributes(c: ContainerEntry): Attributes {
    const i = c.info;
    const started = i.startedMs ?? i.createdMs;
    return {
      name: cut(i.name),
      image: cut(i.image),
      runtime: i.runtime,
      host: cut(this.opts.host),
      ...(started > 0 && { started_at: new Date(started).toISOString() }),
    };
  }

  async send(payloads: readonly Uint8Array[]): Promise<void> {
    const merged: Encoded = { r: {}, m: {}, e: {} };
    for (const bytes of payloads) {
      const p = JSON.parse(Buffer.from(bytes).toString('utf8')) as Encoded;
      Object.assign(merged.r, p.r);
      Object.assign(merged.e, p.e);
      for (const [id, meters] of Object.entries(p.m)) {
        const to = (merged.m[id] ??= {});
        for (const [name, points] of Object.entries(meters)) (to[name] ??= []).push(...points);
      }
    }
    if (!this.prepared) {
      await this.prepare();
      this.prepared = true;
    }
    for (const [id, attrs] of Object.entries(merged.r)) {
      if (this.known.has(id)) continue;
      await this.create(`v1/resource/${encodeURIComponent(this.opts.resourceType)}`, { id, ...attrs });
      this.known.add(id);
    }
    const batch: Record<string, Record<string, { archive_policy_name: string; unit: string; measures: Array<{ timestamp: string; value: number }> }>> = {};
    for (const [id, meters] of Object.entries(merged.m)) {
      const to: (typeof batch)[string] = {};
      for (const m of METERS) {
        const points = meters[m.name];
        if (points) to[m.name] = { archive_policy_name: this.opts.archivePolicy, unit: m.unit, measures: points.map(([timestamp, value]) => ({ timestamp, value })) };
      }
      if (Object.keys(to).length > 0) batch[id] = to;
    }
    if (Object.keys(batch).length > 0) await this.request('v1/batch/resources/metrics/measures?create_metrics=true', batch);
    for (const [id, endedAt] of Object.entries(merged.e)) {
      await this.request(`v1/resource/${encodeURIComponent(this.opts.resourceType)}/${encodeURIComponent(id)}`, { ended_at: endedAt }, 'PATCH');
    }
  }

  /** The archive policy and resource type cstats made by default, created when missing; a named one must exist. */
  private async prepare(): Promise<void> {
    if (this.opts.archivePolicy === DEFAULT_ARCHIVE_POLICY) {
      await this.create('v1/archive_policy', {
        name: DEFAULT_ARCHIVE_POLICY,
        back_window: 0,
        aggregation_methods: AGGREGATION_METHODS,
        definition: this.opts.tiers.map((t) => ({ granularity: t.granularityMs / 1000, timespan: t.timespanMs / 1000 })),
      });
    }
    if (this.opts.resourceType === DEFAULT_RESOURCE_TYPE) {
      await this.create('v1/resource_type', {
        name: DEFAULT_RESOURCE_TYPE,
        attributes: Object.fromEntries(RESOURCE_ATTRIBUTES.map((a) => [a, { type: 'string', required: false, min_length: 0, max_length: 255 }])),
      });
    }
  }

  /** POSTs a new object; 409 (it exists already) is as good as created. */
  private async create(path: string, body: unknown): Promise<void> {
    try {
      await this.request(path, body);
    } catch (err) {
      if (!(err instanceof SendError && err.status === 409)) throw err;
    }
  }

  private async request(path: string, body: unknown, method = 'POST'): Promise<void> {
    const root = this.opts.target.url;
    const url = new URL(path, root.href.endsWith('/') ? root : `${root.href}/`);
    await post({ ...this.opts.target, url }, Buffer.from(JSON.stringify(body)), this.headers, method);
  }
}
