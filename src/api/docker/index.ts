/**
 * The Docker-Engine-compatible surface: enough of the Engine API (/_ping, /version, /info,
 * /containers/json, /containers/{id}/json, /containers/{id}/stats, /events) under any /vX.Y
 * prefix for the unmodified docker CLI's `ps` and `stats` to run against the agent. Stats come
 * from the agent's latest samples: a non-streaming answer is immediate, where dockerd samples
 * twice (1-2 s). Read-only by construction: every other path and method of the Engine API gets
 * a Docker-style error, and no handler here can reach a container.
 */
import { readFileSync } from 'node:fs';
import { countOpenDescriptors } from '../../kernel/proc/fd.js';
import type { ServerResponse } from 'node:http';
import type { ContainerEntry, Store } from '../../store/store.js';
import { hostMemoryBytes } from '../../derive/host.js';
import { toJson } from '../json.js';
import type { Handler, RequestContext, Router } from '../http.js';
import { inspectJson, listContainers, parseListQuery } from './containers.js';
import { eventFilter, eventJson, parseEventTime } from './events.js';
import type { LifecycleEvent, LifecycleLog } from '../../store/lifecycle.js';
import { API_VERSION, DockerError, MIN_API_VERSION, dockerHeaders, queryFlag, sendDocker } from './reply.js';
import { dockerStats } from './stats.js';
import { infoJson, versionJson, type InfoInputs, type SystemFacts } from './system.js';
import { readHostInfoFacts, type HostInfoFacts } from '../../collector/machine.js';
import { readHostLayout } from '../../runtimes/layout.js';

/** Where tick notifications come from (the Collector). */
export interface TickSource {
  onTick(listener: () => void): () => void;
}

export interface DockerCompatDeps {
  store: Store;
  collector: TickSource;
  lifecycle: LifecycleLog;
  cgroupVersion: 1 | 2;
  intervalMs: number;
  /** GET /info of the real dockerd; absent without Docker discovery. */
  dockerInfo?: () => Promise<Record<string, unknown>>;
  /** Host facts for /info when dockerd cannot be asked (read once, on first use). */
  hostInfo?: () => HostInfoFacts;
}

const VERSION_PREFIX = '(?:/v([0-9]+(?:\\.[0-9]+)?))?';
const route = (path: string): RegExp => new RegExp(`^${VERSION_PREFIX}${path}/?$`);

/** Every path the Engine API has, with or without a version: what the fallback answers for. */
const ENGINE_PATHS =
  /^(?:\/v[0-9][^/]*\/|\/(?:_ping|version|info|events|containers|images|networks|volumes|exec|build|commit|auth|swarm|services|nodes|tasks|secrets|configs|plugins|system|session|distribution|grpc)(?:\/|$))/;

const SERVED = '/_ping, /version, /info, /containers/json, /containers/{id}/json, /containers/{id}/stats and /events';

/** A stream that cannot keep up is dropped rather than buffered without bound. */
const MAX_BUFFERED_BYTES = 1 << 20;

function versionNumber(v: string): number[] {
  return v.split('.').map(Number);
}

function older(a: string, b: string): boolean {
  const [x, y] = [versionNumber(a), versionNumber(b)];
  return x[0] < y[0] || (x[0] === y[0] && (x[1] ?? 0) < (y[1] ?? 0));
}

function checkVersion(v: string): void {
  if (v === '') return;
  if (older(API_VERSION, v)) throw new DockerError(400, `client version ${v} is too new. Maximum supported API version is ${API_VERSION}`);
  if (older(v, MIN_API_VERSION)) {
    throw new DockerError(400, `client version ${v} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
  }
}

/** This build's version, as the Engine's "Version" ("0.1.0-cstats"); read at registration, not import. */
function serverVersion(): string {
  return `${(JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string }).version}-cstats`;
}

function isSampled(e: ContainerEntry): boolean {
  return e.removedMs === undefined && (e.info.state === 'running' || e.info.state === 'paused');
}

function startStream(res: ServerResponse, headers: Record<string, string>): void {
  res.writeHead(200, { ...headers, 'Content-Type': 'application/json' });
  res.flushHeaders();
}

/** Writes one line of a stream; false when the client is gone or too slow (then it is dropped). */
function writeLine(res: ServerResponse, body: unknown): boolean {
  if (res.destroyed) return false;
  if (res.writableLength > MAX_BUFFERED_BYTES) {
    res.destroy();
    return false;
  }
  res.write(toJson(body) + '\n');
  return true;
}

/** Runs a handler with the version check, answering any error the Engine API's way. */
function docker(headers: Record<string, string>, fn: (ctx: RequestContext) => void | Promise<void>): Handler {
  return async (ctx) => {
    try {
      checkVersion(ctx.params[0]);
      await fn(ctx);
    } catch (err) {
      if (ctx.res.headersSent) return void ctx.res.destroy();
      const status = err instanceof DockerError ? err.status : 500;
      sendDocker(ctx.res, headers, status, { message: (err as Error).message });
    }
  };
}

export function registerDockerCompat(router: Router, deps: DockerCompatDeps): void {
  const api = new DockerCompatApi(deps, serverVersion());
  const handle = (fn: (ctx: RequestContext) => void | Promise<void>): Handler => docker(api.headers, fn);
  router.get(route('/_ping'), (ctx) => api.ping(ctx));
  router.get(route('/version'), handle((ctx) => api.version(ctx)));
  router.get(route('/info'), handle((ctx) => api.info(ctx)));
  router.get(route('/containers/json'), handle((ctx) => api.list(ctx)));
  router.get(route('/containers/([^/]+)/json'), handle((ctx) => api.inspect(ctx)));
  router.get(route('/containers/([^/]+)/stats'), handle((ctx) => api.stats(ctx)));
  router.get(route('/events'), handle((ctx) => api.events(ctx)));
  router.fallback(ENGINE_PATHS, (ctx) => api.refuse(ctx));
}

/** The Engine API's answers over the store: one route handler per call, and what they share. */
class DockerCompatApi {
  readonly headers: Record<string, string>;
  /** Clients following /events now (/info's NEventsListener). */
  private eventListeners = 0;

  constructor(
    private readonly deps: DockerCompatDeps,
    private readonly serverVersion: string,
  ) {
    this.headers = dockerHeaders(serverVersion);
  }

  ping({ res, params }: RequestContext): void {
    try {
      checkVersion(params[0]);
    } catch (err) {
      return sendDocker(res, this.headers, 400, { message: (err as Error).message });
    }
    res.writeHead(200, {
      ...this.headers,
      'Builder-Version': '',
      Swarm: 'inactive',
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache',
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': 2,
    });
    res.end('OK');
  }

  version({ res }: RequestContext): void {
    sendDocker(res, this.headers, 200, versionJson(this.facts()));
  }

  private hostInfo: HostInfoFacts | undefined;

  async info({ res }: RequestContext): Promise<void> {
    const { deps } = this;
    let source: InfoInputs['source'] | undefined;
    let daemonError = 'Docker discovery is off';
    if (deps.dockerInfo) {
      try {
        source = { daemon: await deps.dockerInfo() };
      } catch (err) {
        daemonError = (err as Error).message;
      }
    }
    if (!source) {
      this.hostInfo ??= (deps.hostInfo ?? (() => readHostInfoFacts(readHostLayout())))();
      source = { daemonError, host: this.hostInfo };
    }
    const body = infoJson({ facts: this.facts(), entries: deps.store.list(false), eventListeners: this.eventListeners, nowMs: Date.now(), openFds: countOpenDescriptors(), source });
    sendDocker(res, this.headers, 200, body);
  }

  list({ res, url }: RequestContext): void {
    sendDocker(res, this.headers, 200, listContainers(this.deps.store.list(false), parseListQuery(url.searchParams), Date.now()));
  }

  inspect({ res, params }: RequestContext): void {
    sendDocker(res, this.headers, 200, inspectJson(this.find(params[1])));
  }

  async stats({ req, res, url, params }: RequestContext): Promise<void> {
    const e = this.find(params[1]);
    const stream = queryFlag(url.searchParams, 'stream', true);
    const oneShot = queryFlag(url.searchParams, 'one-shot', false);
    if (stream && oneShot) throw new DockerError(400, 'cannot have stream=true and one-shot=true');
    if (!stream) return this.statsOnce(res, e, oneShot);
    startStream(res, this.headers);
    let sent: unknown;
    const send = (): void => {
      const current = this.deps.store.get(e.info.id);
      // Docker ends the stream when the container is removed; a stopped one gets empty frames.
      if (!current || current.removedMs !== undefined) return void res.end();
      if (isSampled(current)) {
        if (current.latest === undefined || current.latest === sent) return;
        sent = current.latest;
        writeLine(res, dockerStats({ info: current.info, current: current.latest, previous: current.previous, hostMemoryBytes: this.hostMemory() }));
      } else {
        sent = undefined;
        writeLine(res, dockerStats({ info: current.info, hostMemoryBytes: this.hostMemory() }));
      }
    };
    send();
    const unsubscribe = this.deps.collector.onTick(send);
    req.on('close', unsubscribe);
    res.on('close', unsubscribe);
  }

  /**
   * Docker answers a non-streaming request after two samples (so precpu_stats is filled),
   * one-shot after one; the agent has them already unless the container is brand new.
   */
  private async statsOnce(res: ServerResponse, e: ContainerEntry, oneShot: boolean): Promise<void> {
    const ready = (): boolean => !isSampled(e) || (e.latest !== undefined && (oneShot || e.previous !== undefined));
    const deadline = Date.now() + this.deps.intervalMs * 3;
    while (!ready() && Date.now() < deadline) await this.nextTick(deadline - Date.now());
    const sampled = isSampled(e) && e.latest !== undefined;
    const body = dockerStats({
      info: e.info,
      current: sampled ? e.latest : undefined,
      previous: sampled && !oneShot ? e.previous : undefined,
      hostMemoryBytes: this.hostMemory(),
    });
    sendDocker(res, this.headers, 200, body);
  }

  events({ req, res, url }: RequestContext): void {
    const { lifecycle } = this.deps;
    const matches = eventFilter(url.searchParams.get('filters'));
    const now = Date.now();
    const since = parseEventTime(url.searchParams.get('since'), 'since');
    const until = parseEventTime(url.searchParams.get('until'), 'until');
    startStream(res, this.headers);
    const write = (e: LifecycleEvent): void => {
      if (matches(e)) writeLine(res, eventJson(e));
    };
    if (since !== undefined) for (const e of lifecycle.between(since, until ?? now)) write(e);
    if (until !== undefined && until <= now) return void res.end();
    this.eventListeners++;
    const unsubscribe = lifecycle.subscribe(write);
    const timer = until !== undefined ? setTimeout(() => res.end(), until - now) : undefined;
    let open = true;
    const stop = (): void => {
      if (!open) return;
      open = false;
      unsubscribe();
      this.eventListeners--;
      clearTimeout(timer);
    };
    req.on('close', stop);
    res.on('close', stop);
  }

  /** Every other path of the Engine API: not served (reads) or refused (anything that would change something). */
  refuse({ req, res, url }: RequestContext): void {
    const read = req.method === 'GET' || req.method === 'HEAD';
    const what = `${req.method} ${url.pathname}`;
    if (read) sendDocker(res, this.headers, 501, { message: `cstats does not serve ${what}: its Docker-compatible API has ${SERVED}` });
    else sendDocker(res, this.headers, 403, { message: `cstats serves a read-only Docker API: ${what} is refused; nothing can be created, started, stopped, executed or changed` });
  }

  private facts(): SystemFacts {
    const host = this.deps.store.host?.latest;
    return {
      serverVersion: this.serverVersion,
      cgroupVersion: this.deps.cgroupVersion,
      cpus: host?.stat.perCpu.size ?? 0,
      memTotalBytes: hostMemoryBytes(host),
    };
  }

  private find(ref: string): ContainerEntry {
    const e = this.deps.store.find(ref);
    if (!e || e.removedMs !== undefined) throw new DockerError(404, `No such container: ${ref}`);
    return e;
  }

  /** Resolves after the next tick, or after `timeoutMs` when the collector stalls. */
  private nextTick(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const unsubscribe = this.deps.collector.onTick(done);
      function done(): void {
        clearTimeout(timer);
        unsubscribe();
        resolve();
      }
    });
  }

  private hostMemory(): bigint {
    return hostMemoryBytes(this.deps.store.host?.latest);
  }
}
