/**
 * The one HTTP server every API surface registers its routes on. Read-only: anything but GET
 * and HEAD is refused before a route's handler runs (a surface's fallback handler refuses it in
 * that surface's own error format). Handler exceptions become 500 with a JSON error and never
 * reach the process.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { toJsonChunks } from './json.js';
import type { SlabLease } from './slabs.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: string[];
}

export type Handler = (ctx: RequestContext) => void | Promise<void>;

/** Runs before routing; returns false when it has answered the request itself (e.g. 401). */
export type Guard = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean;

interface Route {
  pattern: RegExp;
  handler: Handler;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, pretty = false, lease?: SlabLease): void {
  // Encoded once: a history answer is megabytes. Written into a lease's slabs, they are given back
  // once the last byte went to the socket ('finish'); an answer cut short keeps them (they are
  // collected with it), as a write may still hold them.
  const chunks = toJsonChunks(body, pretty ? 2 : 0, lease);
  if (lease) res.once('finish', () => lease.release());
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': chunks.reduce((n, c) => n + c.length, 0) });
  // Corked: the pieces of a history answer leave in one writev.
  res.cork();
  for (const c of chunks) res.write(c);
  res.end();
}

function match(routes: readonly Route[], path: string): { r: Route; m: RegExpExecArray } | undefined {
  for (const r of routes) {
    const m = r.pattern.exec(path);
    if (m) return { r, m };
  }
  return undefined;
}

/** Whether the client takes a gzip body (Accept-Encoding lists gzip or *, without q=0). */
export function acceptsGzip(req: IncomingMessage): boolean {
  const header = req.headers['accept-encoding'];
  if (!header) return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)).find((x) => x);
    return (coding.trim() === 'gzip' || coding.trim() === '*') && (!q || Number(q[1]) > 0);
  });
}

export class Router {
  private readonly routes: Route[] = [];
  private readonly fallbacks: Route[] = [];
  /** Routes of other methods (POST, PUT, DELETE), by method: the few endpoints that change the agent's own alarms. */
  private readonly writes = new Map<string, Route[]>();

  constructor(private readonly guard?: Guard) {}

  /** Registers a GET route; capture groups of `pattern` become ctx.params (URI-decoded). */
  get(pattern: RegExp, handler: Handler): void {
    this.routes.push({ pattern, handler });
  }

  /** Registers a route for a method other than GET (the alarms API's create, update and delete). */
  on(method: 'POST' | 'PUT' | 'DELETE', pattern: RegExp, handler: Handler): void {
    let list = this.writes.get(method);
    if (!list) this.writes.set(method, (list = []));
    list.push({ pattern, handler });
  }

  /**
   * Registers a handler for every request on paths matching `pattern` that no GET route serves,
   * whatever the method: a surface with an error format of its own (the Docker-compatible API)
   * refuses those itself instead of getting the generic 404 and 405.
   */
  fallback(pattern: RegExp, handler: Handler): void {
    this.fallbacks.push({ pattern, handler });
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return sendJson(res, 400, { error: 'malformed request URL' });
    }
    if (this.guard && !this.guard(req, res, url)) return;
    const read = req.method === 'GET' || req.method === 'HEAD';
    const found = match(this.routes, url.pathname);
    const write = read ? undefined : match(this.writes.get(req.method ?? '') ?? [], url.pathname);
    const route = (read ? found : write) ?? match(this.fallbacks, url.pathname);
    const allowed = [...(found ? ['GET', 'HEAD'] : []), ...[...this.writes].filter(([, rs]) => match(rs, url.pathname)).map(([m]) => m)];
    if (!route && allowed.length === 0) return sendJson(res, 404, { error: `no such endpoint: ${url.pathname}` });
    if (!route) {
      res.setHeader('Allow', allowed.join(', '));
      return sendJson(res, 405, { error: `${req.method} is not allowed here${allowed.length === 2 && found ? ': this endpoint is read-only' : ''}` });
    }
    let params: string[];
    try {
      params = route.m.slice(1).map((p) => (p === undefined ? '' : decodeURIComponent(p)));
    } catch {
      return sendJson(res, 400, { error: 'malformed percent-encoding in path' });
    }
    try {
      await route.r.handler({ req, res, url, params });
    } catch (err) {
      if (res.headersSent) return void res.destroy();
      if (err instanceof HttpError) sendJson(res, err.status, { error: err.message });
      else sendJson(res, 500, { error: `internal error: ${(err as Error).message}` });
    }
  }
}

/** Serves `router` on host:port; over HTTPS when a PEM certificate chain and key are given. */
export function startServer(router: Router, listen: string, tls?: { cert: Buffer; key: Buffer }): Promise<Server> {
  const m = /^(.*):(\d+)$/.exec(listen)!;
  const host = m[1].replace(/^\[(.*)\]$/, '$1');
  const handler = (req: IncomingMessage, res: ServerResponse): void => void router.handle(req, res);
  const server: Server = tls ? createTlsServer({ cert: tls.cert, key: tls.key }, handler) : createServer(handler);
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(m[2]), host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
