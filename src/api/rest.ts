/**
 * cstats' own read-only JSON API under /api/v1, plus /healthz and the OpenAPI document.
 * Raw counters are served exactly (bigint → JSON integers); derived figures are floats.
 */
import type { ContainerEntry, Store } from '../store/store.js';
import { historyMetricNames } from '../store/store.js';
import type { Discoverer } from '../runtimes/types.js';
import type { Collector } from '../collector/collector.js';
import { HttpError, sendJson, type Router } from './http.js';
import { parseDuration } from '../config.js';
import { OPENAPI } from './openapi.js';
import { readProcessCounts } from './cadvisor-reads.js';
import { parseRfc3339 } from './params.js';

export interface RestDeps {
  store: Store;
  discoverers: readonly Discoverer[];
  collector: Collector;
  intervalMs: number;
  startedMs: number;
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
  return {
    id: i.id,
    name: i.name,
    runtime: i.runtime,
    kind: i.kind,
    image: i.image,
    state: e.removedMs !== undefined ? 'removed' : i.state,
    labels: i.labels,
    pod: i.pod,
    createdAt: new Date(i.createdMs).toISOString(),
    startedAt: i.startedMs !== undefined ? new Date(i.startedMs).toISOString() : undefined,
    removedAt: e.removedMs !== undefined ? new Date(e.removedMs).toISOString() : undefined,
    derived: e.derived,
  };
}

/** `processes`: the count read for this request (cadvisor-reads), when it could be read. */
export function containerDetail(e: ContainerEntry, processes?: bigint) {
  const i = e.info;
  const s = e.latest;
  return {
    ...containerSummary(e),
    processes,
    cgroup: { version: i.cgroup.version, path: i.cgroup.path },
    pid: i.pid,
    network: i.network,
    mounts: i.mounts,
    limits: limitsOf(e),
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

/** ?since= accepts an RFC 3339 time, milliseconds since the epoch, or a duration back from now ("5m"). */
export function parseSince(text: string | null, nowMs: number): number {
  if (text === null || text === '') return -Infinity;
  if (/^\d{12,}$/.test(text)) return Number(text);
  if (/^\d+(\.\d+)?(ms|s|m|h)$/.test(text)) return nowMs - parseDuration(text, 'since');
  const t = parseRfc3339(text);
  if (t === undefined) throw new HttpError(400, `since: expected an RFC 3339 time, epoch milliseconds or a duration like 5m, got ${JSON.stringify(text)}`);
  return t;
}

export function parseMetrics(text: string | null): string[] {
  if (text === null || text === '') return historyMetricNames;
  const wanted = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (wanted.length === 0) throw new HttpError(400, `metrics: no metric named in ${JSON.stringify(text)}; known: ${historyMetricNames.join(', ')}`);
  const unknown = wanted.filter((m) => !historyMetricNames.includes(m));
  if (unknown.length > 0) throw new HttpError(400, `unknown metrics: ${unknown.join(', ')}; known: ${historyMetricNames.join(', ')}`);
  return wanted;
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
  router.get(/^\/api\/v1\/containers\/([^/]+)\/history\/?$/, ({ res, params, url }) => {
    const e = find(store, params[0]);
    const now = Date.now();
    const since = parseSince(url.searchParams.get('since'), now);
    const metrics = parseMetrics(url.searchParams.get('metrics'));
    const { timestampsMs, values } = e.history.read(since, metrics.map((m) => historyMetricNames.indexOf(m)));
    sendJson(res, 200, {
      id: e.info.id,
      name: e.info.name,
      intervalMs: deps.intervalMs,
      timestamps: timestampsMs,
      series: Object.fromEntries(metrics.map((m, i) => [m, values[i]])),
    });
  });
  router.get(/^\/api\/v1\/machine\/?$/, ({ res }) => sendJson(res, 200, machineView(store)));
  router.get(/^\/healthz\/?$/, ({ res }) => {
    const sources = Object.fromEntries(deps.discoverers.map((d) => [d.name, d.health()]));
    const tick = deps.collector.lastTick;
    // A tick that fails part-way (after the host was read) is a stall too: judged by completed ticks.
    const lastMs = deps.collector.lastTickMs;
    const stalled = lastMs === undefined || Date.now() - lastMs > deps.intervalMs * 5;
    sendJson(res, stalled ? 503 : 200, {
      status: stalled ? 'stalled' : Object.values(sources).every((s) => s.up) ? 'ok' : 'degraded',
      uptimeSeconds: (Date.now() - deps.startedMs) / 1000,
      sources,
      collector: { lastTick: lastMs !== undefined ? new Date(lastMs).toISOString() : null, ...tick },
      history: store.historyFootprint(),
    });
  });
  router.get(/^\/api\/v1\/openapi\.json$/, ({ res }) => sendJson(res, 200, OPENAPI));
}
