/**
 * cAdvisor's REST API (/api/v1.x and /api/v2.x) over the agent's store, for cAdvisor's clients
 * and scripts. Containers are named by their cgroup path as cAdvisor names them ("/docker/<id>",
 * "/system.slice/x.scope"); "/" is the machine, from the host samples; the directories between
 * them are listed as subcontainers without figures of their own. Stats series come from the raw
 * samples the store keeps for --raw-history (cAdvisor's --storage_duration, 2 minutes by
 * default), rebuilt exactly; the summary's percentiles come from the history window. Errors are
 * plain text with status 500, as cAdvisor answers them. The v1 calls also take cAdvisor's POST body (its Go client sends the request
 * options that way); nothing is changed by it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ContainerEntry, Store } from '../store/store.js';
import { historyMetricNames } from '../store/store.js';
import type { HostSample } from '../model.js';
import { hostMemoryBytes } from '../derive/host.js';
import { toJson } from './json.js';
import type { Handler, RequestContext, Router } from './http.js';
import { deviceNames } from '../kernel/proc/diskstats.js';
import { containerPoint, containerSpecJson, machineInfoJson, machinePoint, machineSpecJson, type SpecJson, type StatPoint } from './cadvisor-v1.js';
import { cpuInst, derivedStats, machineStats, v2DeprecatedStats, v2Spec, v2Stats, type UsageHistory } from './cadvisor-v2.js';
import type { ProcessCountLog } from '../collector/process-counts.js';
import { readMachineIdentity, readMachineInventory, type MachineIdentity } from '../collector/machine.js';
import { GO_ZERO_TIME } from './go-format.js';
import type { LifecycleLog } from '../store/lifecycle.js';
import { cadvisorEvents } from './cadvisor-events.js';
import { parseInteger, parseRfc3339 } from './params.js';

export interface CadvisorDeps {
  store: Store;
  lifecycle: LifecycleLog;
  intervalMs: number;
  /** The machine's identity; read from the host's files when not given. */
  identity?: MachineIdentity;
  /** Process counts of every point; without it, points carry none. */
  processes?: ProcessCountLog;
}

/** An error cAdvisor's handler writes with http.Error: text, status 500. */
class CadvisorError extends Error {}

interface Node {
  name: string;
  entry?: ContainerEntry;
  children: Set<string>;
}

function parentOf(name: string): string {
  const i = name.lastIndexOf('/');
  return i <= 0 ? '/' : name.slice(0, i);
}

/** The cgroup tree cAdvisor would see: "/", every sampled container, and the directories between. */
export function cgroupTree(store: Store): Map<string, Node> {
  const nodes = new Map<string, Node>([['/', { name: '/', children: new Set() }]]);
  const ensure = (name: string): Node => {
    let n = nodes.get(name);
    if (!n) {
      n = { name, children: new Set() };
      nodes.set(name, n);
      ensure(parentOf(name)).children.add(name);
    }
    return n;
  };
  for (const e of store.list(false)) {
    const path = e.info.cgroup.path.replace(/\/+$/, '');
    if (path === '' || e.latest === undefined) continue;
    ensure(path).entry = e;
  }
  return nodes;
}

function descendants(nodes: Map<string, Node>, name: string): Node[] {
  const node = nodes.get(name);
  if (!node) return [];
  return [node, ...[...node.children].sort().flatMap((c) => descendants(nodes, c))];
}

/** "/api/v1.3/containers/docker/abc/" → "/docker/abc". */
function containerName(rest: string): string {
  const trimmed = rest.replace(/^\/+|\/+$/g, '');
  return `/${trimmed}`;
}

const EMPTY_SPEC: SpecJson = {
  creation_time: GO_ZERO_TIME,
  labels: undefined,
  has_cpu: false,
  cpu: { limit: 0n, max_limit: 0, quota: undefined, period: undefined },
  has_memory: false,
  memory: { limit: undefined, swap_limit: undefined },
  has_hugetlb: false,
  has_network: false,
  has_processes: false,
  processes: { limit: undefined },
  has_filesystem: false,
  has_diskio: false,
  has_custom_metrics: false,
  image: undefined,
};

interface Window {
  /** Points wanted, newest last; -1 for all. */
  count: number;
  startMs?: number;
  endMs?: number;
}

function send(res: ServerResponse, body: unknown): void {
  const text = toJson(body);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, message: string): void {
  const text = `${message}\n`;
  res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
      if (body.length > limit) reject(new CadvisorError('request body too large'));
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

/** A time of the request body as Go's time.Time decodes it from JSON: an RFC 3339 string; the zero time is none. */
function parseTime(value: unknown, what: string): number | undefined {
  if (value === undefined || value === null || value === '' || (typeof value === 'string' && value.startsWith('0001-01-01'))) return undefined;
  const ms = typeof value === 'string' ? parseRfc3339(value) : undefined;
  if (ms === undefined) throw new CadvisorError(`unable to decode the json value: ${what}: not an RFC 3339 time: ${JSON.stringify(value)}`);
  return ms;
}

/** cAdvisor's ContainerInfoRequest (num_stats, start, end), from a POST body; 60 points by default. */
function v1Window(body: string): Window {
  if (body.trim() === '') return { count: 60 };
  let q: { num_stats?: unknown; start?: unknown; end?: unknown } | null;
  try {
    q = JSON.parse(body);
  } catch (err) {
    throw new CadvisorError(`unable to decode the json value: ${(err as Error).message}`);
  }
  // As Go's decoder into the request struct: null leaves the defaults, anything but an object is refused.
  if (q === null) return { count: 60 };
  if (typeof q !== 'object' || Array.isArray(q)) throw new CadvisorError(`unable to decode the json value: expected an object, got ${body.trim().slice(0, 40)}`);
  const n = q.num_stats ?? 0;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new CadvisorError(`unable to decode the json value: num_stats: not an integer: ${JSON.stringify(n)}`);
  if (n < -1) throw new CadvisorError(`invalid num_stats ${n}: only -1 (all) and larger values allowed`);
  return { count: n || 60, startMs: parseTime(q.start, 'start'), endMs: parseTime(q.end, 'end') };
}

interface V2Options {
  type: 'name' | 'docker';
  count: number;
  recursive: boolean;
}

/** cAdvisor's GetRequestOptions: type (name, docker), count (64 by default, -1 for all), recursive. */
function v2Options(params: URLSearchParams): V2Options {
  const type = params.get('type') || 'name';
  if (type !== 'name' && type !== 'docker') throw new CadvisorError(`unknown 'type' "${type}"`);
  const countText = params.get('count');
  let count = 64;
  if (countText) {
    const n = parseInteger(countText);
    if (n === undefined) throw new CadvisorError(`failed to parse 'count' option: ${countText}`);
    count = n;
    if (count < -1) throw new CadvisorError(`invalid 'count' option: only -1 and larger values allowed, not ${count}`);
  }
  return { type, count, recursive: params.get('recursive') === 'true' };
}

/** Runs a handler, answering its errors as cAdvisor does. */
const handle =
  (fn: (ctx: RequestContext) => void | Promise<void>): Handler =>
  async (ctx) => {
    try {
      await fn(ctx);
    } catch (err) {
      if (!(err instanceof CadvisorError)) throw err;
      if (ctx.res.headersSent) return void ctx.res.destroy();
      sendError(ctx.res, err.message);
    }
  };

const byName = <T>(nodes: Node[], build: (n: Node) => T): Record<string, T> => Object.fromEntries(nodes.map((n) => [n.name, build(n)]));

/** The v1 calls: containers, subcontainers, docker (GET, or POST with a ContainerInfoRequest body). */
const V1 = /^\/api\/v1\.[0-3]\/(containers|subcontainers|docker)(\/.*)?$/;

export function registerCadvisor(router: Router, deps: CadvisorDeps): void {
  const api = new CadvisorApi(deps.store, deps.identity ?? readMachineIdentity(), deps.intervalMs, deps.processes);
  router.get(V1, handle((ctx) => api.v1(ctx)));
  router.fallback(
    V1,
    handle((ctx) => {
      if (ctx.req.method !== 'POST') throw new CadvisorError(`${ctx.req.method} is not supported: this API is read-only`);
      return api.v1(ctx);
    }),
  );
  router.get(/^\/api\/v(?:1\.[0-3]|2\.[01])\/machine\/?$/, handle((ctx) => api.machine(ctx)));
  router.get(/^\/api\/v2\.([01])\/stats(\/.*)?$/, handle((ctx) => api.stats(ctx)));
  router.get(/^\/api\/v2\.[01]\/spec(\/.*)?$/, handle((ctx) => api.spec(ctx)));
  router.get(/^\/api\/v2\.[01]\/summary(\/.*)?$/, handle((ctx) => api.summary(ctx)));
  router.get(/^\/api\/v2\.1\/machinestats\/?$/, handle((ctx) => api.machineStats(ctx)));
  router.get(
    /^\/api\/v(?:1\.3|2\.[01])\/events(\/.*)?$/,
    handle(({ req, res, url, params }) => {
      const found = cadvisorEvents(req, res, url, containerName(params[0] ?? ''), deps.lifecycle);
      if (found) send(res, found);
    }),
  );
}

/** cAdvisor's answers over the store: one route handler per call, and what they share. */
class CadvisorApi {
  constructor(
    private readonly store: Store,
    private readonly identity: MachineIdentity,
    private readonly intervalMs: number,
    private readonly processes?: ProcessCountLog,
  ) {}

  async v1({ req, res, params }: RequestContext): Promise<void> {
    const [kind, rest] = params;
    const w = v1Window(req.method === 'POST' ? await readBody(req) : '');
    const nodes = cgroupTree(this.store);
    const ref = rest.replace(/^\/+|\/+$/g, '');
    const picked =
      kind === 'containers'
        ? [lookup(nodes, containerName(rest))]
        : kind === 'subcontainers'
          ? descendants(nodes, lookup(nodes, containerName(rest)).name)
          : ref === ''
            ? dockerNodes(nodes)
            : [this.dockerNode(nodes, ref)];
    if (kind === 'containers') return send(res, this.v1Info(picked[0], w));
    if (kind === 'subcontainers') return send(res, picked.map((n) => this.v1Info(n, w)));
    send(res, byName(picked, (n) => this.v1Info(n, w)));
  }

  machine({ res }: RequestContext): void {
    send(res, machineInfoJson(this.latestHost(), this.identity, readMachineInventory()));
  }

  async stats({ res, url, params }: RequestContext): Promise<void> {
    const o = v2Options(url.searchParams);
    const nodes = this.requested(containerName(params[1]), o);
    const w = { count: o.count };
    // v2.0's deprecated stats never carry processes (see v2DeprecatedStats).
    if (params[0] === '0') return send(res, byName(nodes, (n) => v2DeprecatedStats(this.specOf(n), this.points(n, w))));
    // The machine's figures are /api/v2.1/machinestats, not a container's.
    const containers = nodes.filter((n) => n.name !== '/');
    send(
      res,
      byName(containers, (n) => {
        const spec = this.specOf(n);
        const r = reference(n);
        return { spec: v2Spec(spec, r.aliases, r.namespace, this.machineMemory()), stats: v2Stats(spec, this.points(n, w)) };
      }),
    );
  }

  spec({ res, url, params }: RequestContext): void {
    const nodes = this.requested(containerName(params[0]), v2Options(url.searchParams));
    send(
      res,
      byName(nodes, (n) => {
        const r = reference(n);
        return v2Spec(this.specOf(n), r.aliases, r.namespace, this.machineMemory());
      }),
    );
  }

  summary({ res, url, params }: RequestContext): void {
    const nodes = this.requested(containerName(params[0]), v2Options(url.searchParams));
    send(res, byName(nodes, (n) => derivedStats(this.usageHistory(n), Date.now(), this.intervalMs)));
  }

  machineStats({ res, url }: RequestContext): void {
    // As cAdvisor's MachineStatsFromV1: the first point read has no cpu_inst.
    const h = this.hostSamples({ count: v2Options(url.searchParams).count });
    send(res, machineStats(h.map(machinePoint), h));
  }

  private latestHost(): HostSample {
    const h = this.store.host;
    if (!h) throw new CadvisorError('machine figures are not sampled yet');
    return h.latest;
  }

  /** The machine's raw samples in the window, oldest first. */
  private hostSamples(w: Window): HostSample[] {
    this.latestHost();
    return this.store.hostRaw.read(w);
  }

  /** A node's points, each with the process count of its tick. */
  private points(node: Node, w: Window): StatPoint[] {
    if (node.name === '/') return this.hostSamples(w).map(machinePoint);
    const e = node.entry;
    if (!e?.raw) return [];
    const names = deviceNames(this.store.host?.latest.disks);
    return e.raw.read(w).map((s) => containerPoint(s, e.info.cgroup.version, names, this.processes?.countAt(e.info.id, s.monoNs)));
  }

  private specOf(node: Node): SpecJson {
    if (node.name === '/') {
      const h = this.latestHost();
      return machineSpecJson(h, Number(h.stat.bootTimeSec ?? 0n) * 1000);
    }
    return node.entry ? containerSpecJson(node.entry.info, node.entry.latest) : EMPTY_SPEC;
  }

  private v1Info(node: Node, w: Window) {
    const children = [...node.children].sort();
    const stats = this.points(node, w).map((p) => p.stats);
    return {
      ...reference(node),
      subcontainers: children.length > 0 ? children.map((name) => ({ name })) : undefined,
      spec: this.specOf(node),
      stats: stats.length > 0 ? stats : undefined,
    };
  }

  private dockerNode(nodes: Map<string, Node>, ref: string): Node {
    const e = this.store.find(ref);
    const node = e && dockerNodes(nodes).find((n) => n.entry === e);
    if (!node) throw new CadvisorError(`unable to find Docker container "${ref}"`);
    return node;
  }

  /** cAdvisor's getRequestedContainers. */
  private requested(name: string, o: V2Options): Node[] {
    const nodes = cgroupTree(this.store);
    if (o.type === 'name') return o.recursive ? descendants(nodes, lookup(nodes, name).name) : [lookup(nodes, name)];
    if (!o.recursive) return [this.dockerNode(nodes, name.replace(/^\//, ''))];
    if (name !== '/') throw new CadvisorError(`invalid request for docker container "${name}" with subcontainers`);
    return dockerNodes(nodes);
  }

  private machineMemory(): bigint {
    return hostMemoryBytes(this.store.host?.latest);
  }

  /** CPU and working set over the history window; the machine has only its latest rate. */
  private usageHistory(node: Node): UsageHistory {
    if (node.entry) {
      const metrics = ['cpu_cores', 'memory_working_set_bytes'].map((m) => historyMetricNames.indexOf(m));
      const { timestampsMs, values } = this.store.recent(node.entry, metrics);
      return { timestampsMs, cpuCores: values[0], workingSetBytes: values[1] };
    }
    const [p0, p1] = this.points(node, { count: 2 });
    const inst = p1 && cpuInst(p0, p1);
    if (!inst) return { timestampsMs: [], cpuCores: [], workingSetBytes: [] };
    return { timestampsMs: [p1.timeMs], cpuCores: [Number(inst.usage.total) / 1e9], workingSetBytes: [Number(p1.stats.memory.working_set)] };
  }
}

/** Docker's containers carry their id, [name, id] as aliases and the "docker" namespace. */
function reference(node: Node) {
  const info = node.entry?.info;
  const docker = info?.runtime === 'docker';
  return { id: docker ? info.id : undefined, name: node.name, aliases: docker ? [info.name, info.id] : undefined, namespace: docker ? 'docker' : undefined };
}

function lookup(nodes: Map<string, Node>, name: string): Node {
  const node = nodes.get(name);
  if (!node) throw new CadvisorError(`unknown container "${name}"`);
  return node;
}

function dockerNodes(nodes: Map<string, Node>): Node[] {
  return [...nodes.values()].filter((n) => n.entry?.info.runtime === 'docker');
}

