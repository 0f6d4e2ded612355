/**
 * GET /api/v1/stream: Server-Sent Events, one `tick` event per collector tick with the host's
 * derived figures and every running container's (or only those named in `?container=a,b`: ids, id prefixes or
 * names, as the REST API resolves them).
 *
 * With an alarm engine, an `alerts` event carries the alerts pending or firing, as GET
 * /api/v1/alerts gives them (every container's, whatever the filter): once on connect, then
 * after each tick whose evaluation changed them (an alert came or went, changed state, or its
 * value moved). An idle host with nothing firing sends no alerts event after the first.
 *
 * An event is serialized once per tick per distinct filter and the same bytes are written to
 * every client that asked for it. A client that does not read is never buffered without bound:
 * when a tick finds more than `maxBufferedBytes` still waiting to be sent to it, it is
 * disconnected (an EventSource reconnects by itself and gets the current state at once).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ContainerEntry, Store } from '../store/store.js';
import { HttpError, type Router } from './http.js';
import { deriveHost } from '../derive/host.js';

export interface TickSource {
  /** Calls `listener` after every tick; returns the function that unsubscribes it. */
  onTick(listener: () => void): () => void;
}

export interface StreamOptions {
  /** Bytes that may still wait in a client's send buffer when the next event is due. */
  maxBufferedBytes: number;
  /**
   * The alerts pending or firing now (the `alerts` event), read after each tick's listeners that
   * came before the stream's: subscribe the alarm evaluation first, so a tick's alerts go out with it.
   */
  alerts?: () => readonly unknown[];
}

export const DEFAULT_STREAM_OPTIONS: StreamOptions = { maxBufferedBytes: 1 << 20 };

interface Client {
  res: ServerResponse;
  /** Container references of `?container=`, or undefined for all. */
  refs?: string[];
  /** Clients with the same key receive the same bytes. */
  key: string;
}

export interface StreamCounters {
  /** Clients connected now. */
  clients: number;
  /** Clients disconnected for not reading. */
  dropped: number;
  /** Events written since start. */
  events: number;
}

const live = (e: ContainerEntry): boolean => e.removedMs === undefined && e.derived !== undefined && (e.info.state === 'running' || e.info.state === 'paused');

export class StreamHub {
  private readonly clients = new Set<Client>();
  private readonly unsubscribe: () => void;
  /** The last `alerts` event, sent again to each client that connects. */
  private alertsEvent?: { json: string; chunk: Buffer };
  readonly counters: StreamCounters = { clients: 0, dropped: 0, events: 0 };

  constructor(
    private readonly store: Store,
    ticks: TickSource,
    private readonly opts: StreamOptions = DEFAULT_STREAM_OPTIONS,
  ) {
    this.unsubscribe = ticks.onTick(() => this.broadcast());
  }

  /** Stops listening to ticks and ends every stream. */
  close(): void {
    this.unsubscribe();
    for (const c of this.clients) c.res.end();
    this.clients.clear();
    this.counters.clients = 0;
  }

  /** Answers one request: validates the filter, sends the headers and the current state. */
  attach(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const param = url.searchParams.get('container');
    const refs = param === null ? undefined : [...new Set(param.split(',').map((s) => s.trim()).filter((s) => s !== ''))];
    if (refs !== undefined) {
      if (refs.length === 0) throw new HttpError(400, 'container: expected a comma-separated list of container ids or names');
      const unknown = refs.filter((r) => this.store.find(r) === undefined);
      if (unknown.length > 0) throw new HttpError(404, `no such container: ${unknown.join(', ')}`);
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
      // Tells a buffering reverse proxy (nginx) to pass each event through at once.
      'X-Accel-Buffering': 'no',
    });
    if (req.method === 'HEAD') return void res.end();
    req.socket.setNoDelay(true);
    const client: Client = { res, refs, key: refs === undefined ? '*' : refs.join(',') };
    this.clients.add(client);
    this.counters.clients = this.clients.size;
    res.on('close', () => {
      this.clients.delete(client);
      this.counters.clients = this.clients.size;
    });
    res.write('retry: 1000\n\n');
    if (this.send(client, this.event(client, new Map())) && this.opts.alerts) this.send(client, (this.alertsEvent ?? this.alertsChanged())?.chunk);
  }

  /** Writes the latest tick to every client, and the alerts when they changed. */
  broadcast(): void {
    const events = new Map<string, Buffer | undefined>();
    if (this.clients.size === 0) {
      // Nobody to tell: the next client to connect is sent the alerts as they are then.
      this.alertsEvent = undefined;
      return;
    }
    const alerts = this.alertsChanged();
    for (const c of this.clients) {
      if (this.send(c, this.event(c, events)) && alerts) this.send(c, alerts.chunk);
    }
  }

  /** The new `alerts` event when the alerts differ from the last one built, else undefined. */
  private alertsChanged(): { json: string; chunk: Buffer } | undefined {
    if (!this.opts.alerts) return undefined;
    const json = JSON.stringify(this.opts.alerts());
    if (json === this.alertsEvent?.json) return undefined;
    this.alertsEvent = { json, chunk: Buffer.from(`event: alerts\ndata: ${json}\n\n`, 'utf8') };
    return this.alertsEvent;
  }

  /** Writes one event unless the client is too far behind (it is then dropped: false). */
  private send(c: Client, chunk: Buffer | undefined): boolean {
    if (chunk === undefined) return true;
    // What is still queued in the process from earlier events: bounded by the cap plus one event.
    if (c.res.writableLength > this.opts.maxBufferedBytes) {
      this.counters.dropped++;
      this.clients.delete(c);
      this.counters.clients = this.clients.size;
      c.res.destroy();
      return false;
    }
    c.res.write(chunk);
    this.counters.events++;
    return true;
  }

  /** The client's event for the current tick, built once per filter; undefined before the first tick. */
  private event(c: Client, built: Map<string, Buffer | undefined>): Buffer | undefined {
    if (built.has(c.key)) return built.get(c.key);
    const host = this.store.host?.latest;
    let chunk: Buffer | undefined;
    if (host) {
      const containers = this.selected(c.refs).map((e) => ({ id: e.info.id, name: e.info.name, derived: e.derived }));
      const data = JSON.stringify({ timestamp: new Date(host.timestampMs).toISOString(), host: deriveHost(this.store.host?.previous, host), containers });
      chunk = Buffer.from(`event: tick\nid: ${host.timestampMs}\ndata: ${data}\n\n`, 'utf8');
    }
    built.set(c.key, chunk);
    return chunk;
  }

  private selected(refs: string[] | undefined): ContainerEntry[] {
    if (refs === undefined) return this.store.list(false).filter(live);
    const out = new Map<string, ContainerEntry>();
    for (const ref of refs) {
      const e = this.store.find(ref);
      if (e && live(e)) out.set(e.info.id, e);
    }
    return [...out.values()];
  }
}

export function registerStream(router: Router, store: Store, ticks: TickSource, opts: StreamOptions = DEFAULT_STREAM_OPTIONS): StreamHub {
  const hub = new StreamHub(store, ticks, opts);
  router.get(/^\/api\/v1\/stream\/?$/, ({ req, res, url }) => hub.attach(req, res, url));
  return hub;
}
