/**
 * The page's data: the container list (REST, ?all=1, with stopped and removed containers),
 * the machine (REST), and the live stream, whose every tick replaces each live container's
 * derived figures with the agent's for that tick, and whose `alerts` events replace the alerts
 * pending or firing (as GET /api/v1/alerts gives them). Nothing is computed here: the figures shown
 * are the agent's, so anything the page shows can be fetched by a script.
 */
import type { Alert, HostDerived, Summary, Tick } from '../model.js';

export interface Machine {
  ready: boolean;
  timestamp?: string;
  cpus?: number;
  memory?: Record<string, number>;
  load?: { load1: number; load5: number; load15: number; runnable: number; total: number };
  filesystems?: { mountpoint: string; device: string; fsType: string; totalBytes: number; usedBytes: number; availableBytes: number }[];
  derived?: HostDerived;
}

export class AuthError extends Error {}

export async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
  if (res.status === 401) throw new AuthError('the session has ended: log in again');
  if (!res.ok) throw new Error(`${path}: ${res.status} ${(await res.text()).slice(0, 200)}`);
  return (await res.json()) as T;
}

export type Status = 'connecting' | 'live' | 'paused' | 'reconnecting';
export type Change = 'tick' | 'list' | 'status' | 'alerts';

export class Live {
  readonly containers = new Map<string, Summary>();
  machine: Machine = { ready: false };
  host?: HostDerived;
  /** The tick the figures shown are from (the stream event's timestamp). */
  tick?: string;
  status: Status = 'connecting';
  /**
   * Alerts pending or firing, from the stream (applied while paused too: an alarm is not a
   * figure to hold still, and its panel says when each began).
   */
  alerts: Alert[] = [];
  paused = false;
  private source?: EventSource;
  private readonly listeners = new Set<(kind: Change) => void>();
  private listDue = false;
  private ticks = 0;

  on(listener: (kind: Change) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(kind: Change): void {
    for (const l of this.listeners) l(kind);
  }

  private setStatus(s: Status): void {
    if (this.status !== s) (this.status = s), this.emit('status');
  }

  async start(): Promise<void> {
    await Promise.all([this.refreshList(), this.refreshMachine()]);
    this.host = this.machine.derived;
    this.connect();
  }

  private connect(): void {
    const es = new EventSource('/api/v1/stream');
    this.source = es;
    es.addEventListener('open', () => this.setStatus(this.paused ? 'paused' : 'live'));
    es.addEventListener('error', () => {
      // An EventSource reconnects by itself; a 401 (session ended) closes it for good.
      if (es.readyState === EventSource.CLOSED) void this.refreshList().catch((e) => this.fail(e));
      this.setStatus('reconnecting');
    });
    es.addEventListener('tick', (ev) => this.onTick(JSON.parse((ev as MessageEvent<string>).data) as Tick));
    es.addEventListener('alerts', (ev) => {
      this.alerts = JSON.parse((ev as MessageEvent<string>).data) as Alert[];
      this.emit('alerts');
    });
  }

  private fail(err: unknown): void {
    if (err instanceof AuthError) location.reload();
  }

  /** Freezes the figures shown (the stream stays open; ticks are not applied while paused). */
  setPaused(paused: boolean): void {
    this.paused = paused;
    this.setStatus(paused ? 'paused' : this.source?.readyState === EventSource.OPEN ? 'live' : 'reconnecting');
  }

  private onTick(t: Tick): void {
    if (this.paused) return;
    let unknown = false;
    const seen = new Set<string>();
    for (const c of t.containers) {
      seen.add(c.id);
      const s = this.containers.get(c.id);
      if (!s || (s.state !== 'running' && s.state !== 'paused')) unknown = true;
      else (s.derived = c.derived), (s.sampledAt = t.timestamp);
    }
    // A live container the tick no longer lists has stopped or gone: the list tells which.
    for (const s of this.containers.values()) if ((s.state === 'running' || s.state === 'paused') && !seen.has(s.id)) unknown = true;
    this.tick = t.timestamp;
    if (t.host) this.host = t.host;
    this.ticks++;
    this.emit('tick');
    if (unknown && !this.listDue) {
      this.listDue = true;
      void this.refreshList().catch((e) => this.fail(e)).finally(() => (this.listDue = false));
    }
    // Load averages and filesystems are not in the stream: the machine is read every 5 ticks.
    if (this.ticks % 5 === 0) void this.refreshMachine().catch((e) => this.fail(e));
  }

  async refreshList(): Promise<void> {
    const list = await getJson<Summary[]>('/api/v1/containers?all=1');
    this.containers.clear();
    for (const c of list) this.containers.set(c.id, c);
    this.emit('list');
  }

  async refreshMachine(): Promise<void> {
    this.machine = await getJson<Machine>('/api/v1/machine');
  }
}
