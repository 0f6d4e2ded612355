/**
 * cstats' own read-only JSON API under /api/v1, plus /healthz and the OpenAPI document.
 * Raw counters are served exactly (bigint → JSON integers); derived figures are floats.
 */
import type { ContainerEntry, Store } from '../store/store.js';
import { endedOf, historyMetricNames } from '../store/store.js';
import { QueryError, type ColumnAlloc } from '../store/query.js';
import { BUCKET_STATS, type BucketStat } from '../store/aggregate.js';
import type { Discoverer } from '../runtimes/types.js';
import type { Collector } from '../collector/collector.js';
import { HttpError, sendJson, type Router } from './http.js';
import { SlabPool } from './slabs.js';
import { parseDuration } from '../config.js';
import { OPENAPI } from './openapi.js';
import { readProcessCounts } from '../collector/process-counts.js';
import { parseRfc3339 } from './params.js';
import { deriveHost } from '../derive/host.js';

export interface RestDeps {
  store: Store;
  discoverers: readonly Discoverer[];
  collector: Collector;
  intervalMs: number;
  startedMs: number;
  /** The alarm engine's health (rules, firing, action failures), when it runs. */
  alarms?: { health(): unknown };
  /** The exporters (remote_write ...): per sink, what is queued and what went wrong. */
  exports?: { health(): unknown };
}

function limitsOf(e: ContainerEntry) {
  const cg = e.latest?.cgroup;
  const quota = cg?.cpu?.quotaUs;
  const period = cg?.cpu?.periodUs;
  return {
    cpuQuotaUs: quota ?? null,
    cpuPeriodUs: period ?? null,
    cpus: quota && period ? Number(quota) / Number(period) : null,
    memoryLimitBytes: cg?.memory?.limitBytes ?? null,
    swapLimitBytes: cg?.memory?.swapLimitBytes ?? null,
    pidsLimit: cg?.pids?.limit ?? null,
  };
}

export function containerSummary(e: ContainerEntry) {
  const i = e.info;
  // Removed: as recorded when it left; exited but still there: Docker's record.
  const ended = e.ended ?? (i.state === 'exited' || i.state === 'dead' ? endedOf(e, i.docker?.finishedMs ?? Date.now()) : undefined);
  return {
    id: i.id,
    name: i.name,
    runtime: i.runtime,
    kind: i.kind,
    image: i.image,
    state: e.removedMs !== undefined ? 'removed' : i.state,
    labels: i.labels,
    pod: i.pod,
    network: i.network,
    createdAt: new Date(i.createdMs).toISOString(),
    startedAt: i.startedMs !== undefined ? new Date(i.startedMs).toISOString() : undefined,
    removedAt: e.removedMs !== undefined ? new Date(e.removedMs).toISOString() : undefined,
    endedAt: ended && new Date(ended.atMs).toISOString(),
    exitCode: ended?.exitCode,
    oomKilled: ended?.oomKilled,
    /** When the sample the figures come from was taken: the tick's time in the stream and the history. */
    sampledAt: e.latest !== undefined ? new Date(e.latest.timestampMs).toISOString() : undefined,
    derived: e.derived,
  };
}

/** `processes`: the count read for this request (collector/process-counts.ts), when it could be read. */
export function containerDetail(e: ContainerEntry, processes?: bigint) {
  const i = e.info;
  const s = e.latest;
  return {
    ...containerSummary(e),
    processes,
    cgroup: { version: i.cgroup.version, path: i.cgroup.path },
    pid: i.pid,
    mounts: i.mounts,
    limits: limitsOf(e),
    lxd: i.lxd,
    sample: s && {
      timestamp: new Date(s.timestampMs).toISOString(),
      systemCpuNs: s.systemCpuNs,
      onlineCpus: s.onlineCpus,
      cpu: s.cgroup.cpu,
      memory: s.cgroup.memory,
      blkio: s.cgroup.blkio,
      pids: s.cgroup.pids,
      pressure: s.cgroup.pressure,
      network: s.network,
      filesystems: s.filesystems,
      layerUsage: s.layerUsage,
    },
  };
}

/**
 * ?since= and ?until= accept an RFC 3339 time, milliseconds since the epoch, or a duration back
 * from now ("5m", "7d"); absent, `absent`.
 */
export function parseTime(text: string | null, nowMs: number, name: string, absent: number): number {
  if (text === null || text === '') return absent;
  if (/^\d{12,}$/.test(text)) return Number(text);
  if (/^\d+(\.\d+)?(ms|s|m|h|d)$/.test(text)) return nowMs - parseDuration(text, name);
  const t = parseRfc3339(text);
  if (t === undefined) throw new HttpError(400, `${name}: expected an RFC 3339 time, epoch milliseconds or a duration like 5m, got ${JSON.stringify(text)}`);
  return t;
}

/** ?step= is a duration ("1m", "30s", "1h"; a bare number is milliseconds) from 1 ms to 366 days. */
export function parseStep(text: string | null): number | undefined {
  if (text === null || text === '') return undefined;
  let ms: number;
  try {
    ms = parseDuration(text, 'step');
  } catch (err) {
    throw new HttpError(400, (err as Error).message);
  }
  if (!(ms >= 1 && ms <= 366 * 86_400_000)) throw new HttpError(400, `step: expected between 1ms and 366d, got ${JSON.stringify(text)}`);
  return ms;
}

/**
 * A comma-separated list of names from `known` (`param` its parameter, `noun` what it names):
 * all of them when absent or empty; a 400 that lists the known names for a list of separators
 * only or for names it does not know.
 */
function parseNames<T extends string>(text: string | null, param: string, noun: string, known: readonly T[]): readonly T[] {
  if (text === null || text === '') return known;
  const wanted = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (wanted.length === 0) throw new HttpError(400, `${param}: no ${noun} named in ${JSON.stringify(text)}; known: ${known.join(', ')}`);
  const unknown = wanted.filter((m) => !(known as readonly string[]).includes(m));
  if (unknown.length > 0) throw new HttpError(400, `unknown ${param}: ${unknown.join(', ')}; known: ${known.join(', ')}`);
  return wanted as T[];
}

export function parseMetrics(text: string | null): readonly string[] {
  return parseNames(text, 'metrics', 'metric', historyMetricNames);
}

/** ?stats= names which of each bucket's statistics a grid answer carries: all four by default. */
export function parseStats(text: string | null): readonly BucketStat[] {
  return parseNames(text, 'stats', 'statistic', BUCKET_STATS);
}

function find(store: Store, ref: string): ContainerEntry {
  const e = store.find(ref);
  if (!e) throw new HttpError(404, `no such container: ${ref}`);
  return e;
}

function bool(text: string | null, name: string): boolean {
  if (text === null || text === '' || text === '0' || text === 'false') return false;
  if (text === '1' || text === 'true') return true;
  throw new HttpError(400, `${name}: expected true or false, got ${JSON.stringify(text)}`);
}

export function machineView(store: Store) {
  const h = store.host?.latest;
  if (!h) return { ready: false };
  return {
    ready: true,
    timestamp: new Date(h.timestampMs).toISOString(),
    cpus: h.stat.perCpu.size,
    cpu: { total: h.stat.total, perCpu: h.stat.perCpu, bootTimeSec: h.stat.bootTimeSec, contextSwitches: h.stat.contextSwitches },
    memory: h.meminfo,
    load: h.loadavg,
    disks: h.disks,
    networks: h.network,
    filesystems: h.filesystems,
    derived: deriveHost(store.host?.previous, h),
  };
}

/** `/api/v1/containers/{id}/history`: a container's derived figures over a span. */
function historyReply(deps: RestDeps, id: string, url: URL, alloc: ColumnAlloc) {
  const e = find(deps.store, id);
  const now = Date.now();
  // Without since, the in-memory window's span, as before there was a disk.
  const since = parseTime(url.searchParams.get('since'), now, 'since', now - deps.store.capacity * deps.intervalMs);
  // Without until, up to now; a since still to come then asks for nothing yet (an empty answer, as before there was a disk).
  const until = parseTime(url.searchParams.get('until'), now, 'until', Math.max(now, since));
  if (until < since) throw new HttpError(400, `until (${new Date(until).toISOString()}) is before since (${new Date(since).toISOString()})`);
  const stepMs = parseStep(url.searchParams.get('step'));
  const metrics = parseMetrics(url.searchParams.get('metrics'));
  const stats = parseStats(url.searchParams.get('stats'));
  let h;
  try {
    h = deps.store.history(e, { sinceMs: since, untilMs: until, stepMs, metrics: metrics.map((m) => historyMetricNames.indexOf(m)), stats }, now, alloc);
  } catch (err) {
    if (err instanceof QueryError) throw new HttpError(400, err.message);
    throw err;
  }
  const byMetric = (cols: Float64Array[] | undefined) => cols && Object.fromEntries(metrics.map((m, i) => [m, cols[i]]));
  return {
    id: e.info.id,
    name: e.info.name,
    intervalMs: deps.intervalMs,
    tier: h.tier,
    stepMs: h.stepMs,
    timestamps: h.timestampsMs,
    series: byMetric(h.values),
    ...(h.aggregates && { min: byMetric(h.aggregates.min), max: byMetric(h.aggregates.max), last: byMetric(h.aggregates.last) }),
  };
}

/** `/healthz`: 503 when ticks stopped, "degraded" when a source or the disk is down. */
function health(deps: RestDeps): { status: number; body: unknown } {
  const sources = Object.fromEntries(deps.discoverers.map((d) => [d.name, d.health()]));
  const tick = deps.collector.lastTick;
  // A tick that fails part-way (after the host was read) is a stall too: judged by completed ticks.
  const lastMs = deps.collector.lastTickMs;
  const stalled = lastMs === undefined || Date.now() - lastMs > deps.intervalMs * 5;
  const disk = deps.store.persist?.health();
  const healthy = Object.values(sources).every((s) => s.up) && (disk === undefined || disk.ok);
  return {
    status: stalled ? 503 : 200,
    body: {
      status: stalled ? 'stalled' : healthy ? 'ok' : 'degraded',
      uptimeSeconds: (Date.now() - deps.startedMs) / 1000,
      sources,
      collector: { lastTick: lastMs !== undefined ? new Date(lastMs).toISOString() : null, ...tick },
      history: deps.store.historyFootprint(),
      alarms: deps.alarms?.health(),
      exports: deps.exports?.health(),
      persistence: disk ? { enabled: true, ...disk } : { enabled: false },
    },
  };
}

export function registerRest(router: Router, deps: RestDeps): void {
  const { store } = deps;
  router.get(/^\/api\/v1\/containers\/?$/, ({ res, url }) => {
    // Like `docker ps`: running (and paused) containers, or with all=1 every known one,
    // including stopped and recently removed.
    const all = bool(url.searchParams.get('all'), 'all');
    const entries = store.list(all).filter((e) => all || e.info.state === 'running' || e.info.state === 'paused');
    sendJson(res, 200, entries.map(containerSummary));
  });
  router.get(/^\/api\/v1\/containers\/([^/]+)\/?$/, async ({ res, params }) => {
    const e = find(store, params[0]);
    const processes = e.removedMs === undefined ? (await readProcessCounts([e])).get(e.info.id) : undefined;
    sendJson(res, 200, containerDetail(e, processes));
  });
  // An answer's columns are made in slabs lent for it, given back once written as JSON (sendJson
  // reads them before it returns); its JSON in slabs of its own, given back once sent.
  const slabs = new SlabPool();
  router.get(/^\/api\/v1\/containers\/([^/]+)\/history\/?$/, ({ res, params, url }) => {
    const columns = slabs.lease();
    try {
      sendJson(res, 200, historyReply(deps, params[0], url, (n) => columns.float64(n)), false, slabs.lease());
    } finally {
      columns.release();
    }
  });
  router.get(/^\/api\/v1\/machine\/?$/, ({ res }) => sendJson(res, 200, machineView(store)));
  router.get(/^\/healthz\/?$/, ({ res }) => {
    const { status, body } = health(deps);
    sendJson(res, status, body);
  });
  router.get(/^\/api\/v1\/openapi\.json$/, ({ res }) => sendJson(res, 200, OPENAPI));
}
