/**
 * The fleet: every host's containers, read from a Prometheus-compatible query API (Prometheus,
 * VictoriaMetrics, Thanos, Mimir) that the agents fill with --remote-write. One instant query
 * per figure, all at the same evaluation time, over the series /metrics names (cAdvisor's) plus
 * the `host` label remote_write adds. Rates are the query server's (irate over the last two
 * samples in a short window); this module only puts the answers together as the REST list's
 * Summary shape, so `cstats top` and the dashboard show them with their usual columns.
 *
 * A host is down when its newest sample (container_last_seen, the agent's sample time) is older
 * than `downAfterMs`. Its containers stay listed with their last gauges (memory, limits, totals)
 * and are marked; its rates are absent once the rate window holds fewer than two samples.
 */
import { httpTarget, post, type HttpTarget } from '../export/http.js';
import type { Derived, Summary } from '../ui/model.js';

export interface FleetSourceOptions {
  /** The query API's base, e.g. http://vm:8428 or http://prometheus:9090 (…/api/v1/query is appended). */
  url: string;
  username?: string;
  password?: string;
  bearerToken?: string;
  timeoutMs: number;
  /** A host whose newest sample is older than this is down. */
  downAfterMs: number;
}

/** A container of the fleet: the REST list's shape plus the host it was read under. */
export type FleetContainer = Summary & { host: string; hostDown: boolean };

export interface FleetHost {
  host: string;
  /** The newest sample time of any of its containers. */
  lastSampleAt: string;
  down: boolean;
  containers: number;
}

/** GET /api/v1/fleet's answer and what `cstats top --prometheus` shows. */
export interface Fleet {
  /** The evaluation time of every query. */
  queriedAt: string;
  downAfterSeconds: number;
  hosts: FleetHost[];
  containers: FleetContainer[];
}

/**
 * How far back a series is looked for: a host that stopped writing stays listed (as down) this
 * long. Prometheus' own lookback (5 min) and VictoriaMetrics' (its step) differ: the window is
 * given in every query instead.
 */
const LOOKBACK = '10m';
/** irate's window: the two newest samples within it (agents sample every second by default). */
const RATE_WINDOW = '30s';
/** The largest answer read (bytes): about 6,000 containers' series per query. */
const MAX_ANSWER = 64 * 1024 * 1024;

const last = (metric: string): string => `last_over_time(${metric}[${LOOKBACK}])`;
const perSecond = (metric: string): string => `irate(${metric}[${RATE_WINDOW}])`;
/** Summed over interfaces or devices: one value per host and container. */
const total = (q: string): string => `sum by (host, id) (${q})`;

/** Each figure and the query that gives it, one value per (host, id). */
const QUERIES = {
  lastSeen: last('container_last_seen'),
  cpuCores: perSecond('container_cpu_usage_seconds_total'),
  quota: last('container_spec_cpu_quota'),
  period: last('container_spec_cpu_period'),
  periods: perSecond('container_cpu_cfs_periods_total'),
  throttledPeriods: perSecond('container_cpu_cfs_throttled_periods_total'),
  workingSet: last('container_memory_working_set_bytes'),
  memoryLimit: last('container_spec_memory_limit_bytes'),
  threads: last('container_threads'),
  netRx: total(last('container_network_receive_bytes_total')),
  netTx: total(last('container_network_transmit_bytes_total')),
  netRxRate: total(perSecond('container_network_receive_bytes_total')),
  netTxRate: total(perSecond('container_network_transmit_bytes_total')),
  blockRead: total(last('container_fs_reads_bytes_total')),
  blockWrite: total(last('container_fs_writes_bytes_total')),
  blockReadRate: total(perSecond('container_fs_reads_bytes_total')),
  blockWriteRate: total(perSecond('container_fs_writes_bytes_total')),
  psiMemory: perSecond('container_pressure_memory_waiting_seconds_total'),
} as const;
type Figure = keyof typeof QUERIES;

interface VectorEntry {
  metric: Record<string, string>;
  value: [number, string];
}

/** A query API: instant queries by POST (form-encoded, as Prometheus and VictoriaMetrics take them). */
export class FleetSource {
  readonly target: HttpTarget;

  constructor(readonly options: FleetSourceOptions) {
    const base = options.url.replace(/\/+$/, '');
    this.target = httpTarget({ url: `${base}/api/v1/query`, username: options.username, password: options.password, bearerToken: options.bearerToken, timeoutMs: options.timeoutMs });
  }

  /** One instant query at `atMs`; throws with the query and the server's error. */
  async query(promql: string, atMs: number): Promise<VectorEntry[]> {
    // nocache=1: VictoriaMetrics otherwise answers for 30 s ago (-search.latencyOffset); Prometheus ignores it.
    const form = new URLSearchParams({ query: promql, time: (atMs / 1000).toFixed(3), nocache: '1' });
    const answer = await post(this.target, Buffer.from(form.toString()), { 'Content-Type': 'application/x-www-form-urlencoded' }, 'POST', MAX_ANSWER).catch((err: Error) => {
      throw new Error(`${promql}: ${err.message}`);
    });
    if (answer.truncated) throw new Error(`${promql}: the answer is larger than ${MAX_ANSWER} bytes`);
    let reply: { status?: string; error?: string; data?: { resultType?: string; result?: VectorEntry[] } };
    try {
      reply = JSON.parse(answer.body) as typeof reply;
    } catch {
      throw new Error(`${this.target.url.href}: not a Prometheus query API (the answer is not JSON: ${JSON.stringify(answer.body.slice(0, 100))})`);
    }
    if (reply.status !== 'success' || reply.data?.resultType !== 'vector' || !Array.isArray(reply.data.result)) {
      throw new Error(`${promql}: ${reply.error ?? `expected a vector, got ${JSON.stringify(answer.body.slice(0, 200))}`}`);
    }
    return reply.data.result;
  }
}

/** The id docker and the REST API show, from the cgroup path in cAdvisor's `id` label (/docker/<id>, /system.slice/docker-<id>.scope). */
export function containerIdOf(cgroupPath: string): string {
  const leaf = cgroupPath.slice(cgroupPath.lastIndexOf('/') + 1);
  return leaf.replace(/\.scope$/, '').replace(/^(docker|libpod|cri-containerd|crio)-/, '') || cgroupPath;
}

const keyOf = (m: Record<string, string>): string => `${m.host ?? ''}\u0000${m.id ?? ''}`;

/**
 * Every host's containers at `nowMs`. Figures a query did not answer for a container are left
 * out (shown "–"), never zero. Values are the query server's float64s.
 */
export async function queryFleet(source: FleetSource, nowMs = Date.now()): Promise<Fleet> {
  const figures = Object.keys(QUERIES) as Figure[];
  const answers = await Promise.all(figures.map((f) => source.query(QUERIES[f], nowMs)));
  const values = new Map<string, Partial<Record<Figure, number>>>();
  const labels = new Map<string, Record<string, string>>();
  figures.forEach((f, i) => {
    for (const e of answers[i]) {
      const key = keyOf(e.metric);
      const v = Number(e.value[1]);
      if (!Number.isFinite(v)) continue;
      const row = values.get(key) ?? {};
      row[f] = v;
      values.set(key, row);
      // The full label set (name, image, container_label_*) comes from the series kept as they are.
      if (e.metric.name !== undefined) labels.set(key, e.metric);
    }
  });
  const newest = new Map<string, number>();
  for (const [key, v] of values) {
    if (v.lastSeen === undefined) continue;
    const host = key.slice(0, key.indexOf('\u0000'));
    newest.set(host, Math.max(newest.get(host) ?? 0, v.lastSeen * 1000));
  }
  const down = (host: string): boolean => nowMs - (newest.get(host) ?? 0) > source.options.downAfterMs;
  const containers: FleetContainer[] = [];
  for (const [key, v] of values) {
    const m = labels.get(key);
    // Containers only: a series without a name (the root cgroup, a plain cgroup without one) or without a sample time is not listed.
    if (!m || v.lastSeen === undefined) continue;
    containers.push(fleetContainer(m, v, down(m.host ?? '')));
  }
  containers.sort((a, b) => a.host.localeCompare(b.host) || a.name.localeCompare(b.name));
  const hosts = [...newest].map(([host, ms]) => ({ host, lastSampleAt: new Date(ms).toISOString(), down: down(host), containers: containers.filter((c) => c.host === host).length }));
  hosts.sort((a, b) => a.host.localeCompare(b.host));
  return { queriedAt: new Date(nowMs).toISOString(), downAfterSeconds: source.options.downAfterMs / 1000, hosts, containers };
}

const ratio = (a: number | undefined, b: number | undefined, scale = 100): number | undefined => (a === undefined || b === undefined || b === 0 ? undefined : (a / b) * scale);

function fleetContainer(m: Record<string, string>, v: Partial<Record<Figure, number>>, hostDown: boolean): FleetContainer {
  const containerLabels: Record<string, string> = {};
  for (const [k, value] of Object.entries(m)) if (k.startsWith('container_label_')) containerLabels[k.slice('container_label_'.length)] = value;
  // cAdvisor writes an unlimited memory limit as 0: no limit is known (the host's memory is not exported).
  const limit = v.memoryLimit === 0 ? undefined : v.memoryLimit;
  const quotaCores = v.quota !== undefined && v.quota > 0 ? ratio(v.quota, v.period, 1) : undefined;
  const rates: Record<string, number> = {};
  const rate = (name: string, x: number | undefined): void => void (x !== undefined && (rates[name] = x));
  rate('net.rxBytes', v.netRxRate);
  rate('net.txBytes', v.netTxRate);
  rate('blkio.readBytes', v.blockReadRate);
  rate('blkio.writeBytes', v.blockWriteRate);
  // µs of stall a second, as the agent's pressure.memory.someUs rate.
  rate('pressure.memory.someUs', v.psiMemory === undefined ? undefined : v.psiMemory * 1e6);
  // docker's CPU % (Δcontainer / Δsystem × CPUs × 100) is the container's CPU seconds a second × 100.
  const figures: Partial<Derived> = {
    cpuPercent: v.cpuCores === undefined ? undefined : v.cpuCores * 100,
    cpuCores: v.cpuCores,
    cpuLimitPercent: ratio(v.cpuCores, quotaCores),
    throttledPercent: ratio(v.throttledPeriods, v.periods),
    // docker's usage − inactive file is cAdvisor's working set.
    memoryUsageBytes: v.workingSet,
    workingSetBytes: v.workingSet,
    memoryLimitBytes: limit,
    memoryPercent: ratio(v.workingSet, limit),
    netRxBytes: v.netRx,
    netTxBytes: v.netTx,
    blockReadBytes: v.blockRead,
    blockWriteBytes: v.blockWrite,
    pids: v.threads,
    rates: rates as Derived['rates'],
  };
  for (const k of Object.keys(figures) as (keyof Derived)[]) if (figures[k] === undefined) delete figures[k];
  const sampledAt = new Date(v.lastSeen! * 1000).toISOString();
  return {
    id: containerIdOf(m.id ?? ''),
    name: m.name,
    image: m.image ?? '',
    runtime: 'fleet',
    // Every listed container had a sample in the lookback window; a stopped one's series end with a staleness marker.
    state: 'running',
    labels: containerLabels,
    createdAt: sampledAt,
    sampledAt,
    // A subset of the agent's figures: those absent read undefined and show "–".
    derived: figures as Derived,
    host: m.host ?? '',
    hostDown,
  };
}
