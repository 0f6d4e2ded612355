/**
 * The Docker-Engine-compatible surface: enough of the Engine API (/_ping, /version, /info,
 * /containers/json, /containers/{id}/json, /containers/{id}/stats, /events) under any /vX.Y
 * prefix for the unmodified docker CLI's `ps` and `stats` to run against the agent. Stats come
 * from the agent's latest samples: a non-streaming answer is immediate, where dockerd samples
 * twice (1-2 s). Read-only by construction: every other path and method of the Engine API gets
 * a Docker-style error, and no handler here can reach a container.
 */
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { ContainerEntry, Store } from '../../store/store.js';
import { toJson } from '../json.js';
import type { Handler, RequestContext, Router } from '../http.js';
import { inspectJson, listContainers, parseListQuery } from './containers.js';
import { eventFilter, eventJson, parseEventTime } from './events.js';
import type { LifecycleEvent, LifecycleLog } from './lifecycle.js';
import { API_VERSION, DockerError, MIN_API_VERSION, dockerHeaders, queryFlag, sendDocker } from './reply.js';
import { dockerStats } from './stats.js';
import { infoJson, versionJson, type SystemFacts } from './system.js';

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

/** Read when the module loads, before the collector holds its many descriptors open. */
const SERVER_VERSION = `${(JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string }).version}-cstats`;

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

export function registerDockerCompat(router: Router, deps: DockerCompatDeps): void {
  const { store, collector, lifecycle } = deps;
  const headers = dockerHeaders(SERVER_VERSION);
  let eventListeners = 0;

  const facts = (): SystemFacts => {
    const host = store.host?.latest;
    return {
      serverVersion: SERVER_VERSION,
      cgroupVersion: deps.cgroupVersion,
      cpus: host?.stat.perCpu.size ?? 0,
      memTotalBytes: host?.meminfo.get('MemTotal') ?? 0n,
    };
  };

  /** Runs a handler with the version check, answering any error the Engine API's way. */
  const docker =
    (fn: (ctx: RequestContext) => void | Promise<void>): Handler =>
    async (ctx) => {
      try {
        checkVersion(ctx.params[0]);
        await fn(ctx);
      } catch (err) {
        if (ctx.res.headersSent) return void ctx.res.destroy();
        const status = err instanceof DockerError ? err.status : 500;
        sendDocker(ctx.res, headers, status, { message: (err as Error).message });
      }
    };

  const find = (ref: string): ContainerEntry => {
    const e = store.find(ref);
    if (!e || e.removedMs !== undefined) throw new DockerError(404, `No such container: ${ref}`);
    return e;
  };

  /** Resolves after the next tick, or after `timeoutMs` when the collector stalls. */
  const nextTick = (timeoutMs: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const unsubscribe = collector.onTick(done);
      function done(): void {
        clearTimeout(timer);
        unsubscribe();
        resolve();
      }
    });

  const hostMemory = (): bigint => store.host?.latest.meminfo.get('MemTotal') ?? 0n;

  router.get(route('/_ping'), (ctx) => {
    const { res } = ctx;
    try {
      checkVersion(ctx.params[0]);
    } catch (err) {
      return sendDocker(res, headers, 400, { message: (err as Error).message });
    }
    res.writeHead(200, {
      ...headers,
      'Builder-Version': '',
      Swarm: 'inactive',
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache',
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': 2,
    });
    res.end('OK');
  });

  router.get(route('/version'), docker(({ res }) => sendDocker(res, headers, 200, versionJson(facts()))));

  router.get(route('/info'), docker(({ res }) => sendDocker(res, headers, 200, infoJson(facts(), store.list(false), eventListeners, Date.now()))));

  router.get(
    route('/containers/json'),
    docker(({ res, url }) => sendDocker(res, headers, 200, listContainers(store.list(false), parseListQuery(url.searchParams), Date.now()))),
  );

  router.get(route('/containers/([^/]+)/json'), docker(({ res, params }) => sendDocker(res, headers, 200, inspectJson(find(params[1])))));

  router.get(
    route('/containers/([^/]+)/stats'),
    docker(async ({ req, res, url, params }) => {
      const e = find(params[1]);
      const stream = queryFlag(url.searchParams, 'stream', true);
      const oneShot = queryFlag(url.searchParams, 'one-shot', false);
      if (stream && oneShot) throw new DockerError(400, 'cannot have stream=true and one-shot=true');
      if (!stream) {
        // Docker answers a non-streaming request after two samples (so precpu_stats is filled),
        // one-shot after one; the agent has them already unless the container is brand new.
        const ready = (): boolean => !isSampled(e) || (e.latest !== undefined && (oneShot || e.previous !== undefined));
        const deadline = Date.now() + deps.intervalMs * 3;
        while (!ready() && Date.now() < deadline) await nextTick(deadline - Date.now());
        const sampled = isSampled(e) && e.latest !== undefined;
        const body = dockerStats({
          info: e.info,
          current: sampled ? e.latest : undefined,
          previous: sampled && !oneShot ? e.previous : undefined,
          hostMemoryBytes: hostMemory(),
        });
        return sendDocker(res, headers, 200, body);
      }
      startStream(res, headers);
      let sent: unknown;
      const send = (): void => {
        const current = store.get(e.info.id);
        // Docker ends the stream when the container is removed; a stopped one gets empty frames.
        if (!current || current.removedMs !== undefined) return void res.end();
        if (isSampled(current)) {
          if (current.latest === undefined || current.latest === sent) return;
          sent = current.latest;
          writeLine(res, dockerStats({ info: current.info, current: current.latest, previous: current.previous, hostMemoryBytes: hostMemory() }));
        } else {
          sent = undefined;
          writeLine(res, dockerStats({ info: current.info, hostMemoryBytes: hostMemory() }));
        }
      };
      send();
      const unsubscribe = collector.onTick(send);
      req.on('close', unsubscribe);
      res.on('close', unsubscribe);
    }),
  );

  router.get(
    route('/events'),
    docker(({ req, res, url }) => {
      const matches = eventFilter(url.searchParams.get('filters'));
      const now = Date.now();
      const since = parseEventTime(url.searchParams.get('since'), 'since');
      const until = parseEventTime(url.searchParams.get('until'), 'until');
      startStream(res, headers);
      const write = (e: LifecycleEvent): void => {
        if (matches(e)) writeLine(res, eventJson(e));
      };
      if (since !== undefined) for (const e of lifecycle.between(since, until ?? now)) write(e);
      if (until !== undefined && until <= now) return void res.end();
      eventListeners++;
      const unsubscribe = lifecycle.subscribe(write);
      const timer = until !== undefined ? setTimeout(() => res.end(), until - now) : undefined;
      let open = true;
      const stop = (): void => {
        if (!open) return;
        open = false;
        unsubscribe();
        eventListeners--;
        clearTimeout(timer);
      };
      req.on('close', stop);
      res.on('close', stop);
    }),
  );

  router.fallback(ENGINE_PATHS, ({ req, res, url }) => {
    const read = req.method === 'GET' || req.method === 'HEAD';
    const what = `${req.method} ${url.pathname}`;
    if (read) sendDocker(res, headers, 501, { message: `cstats does not serve ${what}: its Docker-compatible API has ${SERVED}` });
    else sendDocker(res, headers, 403, { message: `cstats serves a read-only Docker API: ${what} is refused; nothing can be created, started, stopped, executed or changed` });
  });
}

