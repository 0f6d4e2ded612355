/**
 * The shared part of the discoverers that ask a runtime daemon on its unix socket (containerd
 * over CRI, LXD/Incus over REST): subscribe to the daemon's events first, so nothing between the
 * listing and the stream is missed, then list; list again within 100 ms of an event and every
 * `resyncMs` in any case. A socket that is absent is no fault (that runtime is not on this host,
 * or not yet): the list is empty and the socket is looked for again. A daemon that fails or
 * stops is said once, and asked again every `retryMs`; the last list is kept meanwhile.
 */
import { existsSync } from 'node:fs';
import type { ContainerInfo } from '../model.js';
import { HealthState, type Discoverer } from './types.js';
import type { Logger } from '../log.js';

export interface DaemonOptions {
  socketPath: string;
  resyncMs?: number;
  retryMs?: number;
}

/** An open event stream: `done` settles when it ends (resolves) or breaks (rejects). */
export interface EventStream {
  done: Promise<void>;
  cancel: () => void;
}

export abstract class DaemonDiscoverer implements Discoverer {
  abstract readonly name: string;
  onChange?: () => void;
  private readonly healthState = new HealthState();
  private list: ContainerInfo[] = [];
  private stopped = false;
  private cancelEvents = (): void => {};
  private retryTimer?: NodeJS.Timeout;
  private resyncTimer?: NodeJS.Timeout;
  private debounce?: NodeJS.Timeout;
  private syncing?: Promise<void>;
  private syncAgain = false;
  private downSaid = false;

  constructor(
    protected readonly opts: DaemonOptions,
    protected readonly log: Logger,
    /** The log's component name, e.g. "containerd". */
    private readonly component: string,
  ) {}

  /** Opens the daemon's event stream; `onEvent` for any event that may change the list. */
  protected abstract subscribe(onEvent: () => void): EventStream;
  /** Every container the daemon knows now. */
  protected abstract listContainers(): Promise<ContainerInfo[]>;
  /** What /healthz says once connected, e.g. "connected to /run/containerd/containerd.sock (CRI)". */
  protected abstract connectedDetail(): string;
  /** Closes what the client keeps open beyond the event stream (containerd's HTTP/2 session). */
  protected close?(): void;
  /** Why a failure to connect means "nothing of ours here" rather than a fault, or undefined. */
  protected nothingHere(_err: Error): string | undefined {
    return undefined;
  }

  containers(): ContainerInfo[] {
    return this.list;
  }

  health() {
    return this.healthState.get();
  }

  async start(): Promise<void> {
    await this.connect();
    this.resyncTimer = setInterval(() => {
      if (this.healthState.get().up && !this.retryTimer) this.sync();
    }, this.opts.resyncMs ?? 10_000);
    this.resyncTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    this.cancelEvents();
    clearTimeout(this.retryTimer);
    clearTimeout(this.debounce);
    clearInterval(this.resyncTimer);
    this.close?.();
  }

  private async connect(): Promise<void> {
    this.retryTimer = undefined;
    if (this.stopped) return;
    if (!existsSync(this.opts.socketPath)) {
      if (this.healthState.set(true, `no socket at ${this.opts.socketPath}`)) this.log.info(this.component, `no socket at ${this.opts.socketPath}: looking again every ${this.opts.retryMs ?? 2000} ms`);
      this.setList([]);
      this.retry();
      return;
    }
    try {
      const events = this.subscribe(() => this.schedule());
      this.cancelEvents = events.cancel;
      events.done.then(
        () => this.down('event stream ended (daemon stopped?)'),
        (err: Error) => this.down(err.message),
      );
      this.setList(await this.listContainers());
      const detail = this.connectedDetail();
      this.downSaid = false;
      if (this.healthState.set(true, detail)) this.log.info(this.component, detail);
    } catch (err) {
      this.cancelEvents();
      const why = this.nothingHere(err as Error);
      if (why === undefined) {
        this.down((err as Error).message);
        return;
      }
      this.healthState.set(true, why);
      this.close?.();
      this.setList([]);
      this.retry(this.opts.resyncMs ?? 10_000);
    }
  }

  private down(reason: string): void {
    if (this.stopped || this.retryTimer) return;
    this.healthState.set(false, reason);
    // Said once per outage, the first one included (health starts as down: "not started").
    if (!this.downSaid) this.log.warn(this.component, `${this.opts.socketPath} unavailable: ${reason}; retrying every ${this.opts.retryMs ?? 2000} ms`);
    this.downSaid = true;
    this.cancelEvents();
    this.close?.();
    this.retry();
  }

  private retry(afterMs = this.opts.retryMs ?? 2000): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.connect(), afterMs);
    this.retryTimer.unref();
  }

  /** Coalesces a burst of events (a pod start sends a dozen) into one listing. */
  private schedule(): void {
    if (this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.sync();
    }, 100);
  }

  /** One listing at a time; a request during one runs once it ends. */
  private sync(): void {
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = this.listContainers()
      .then((list) => this.setList(list))
      .catch((err) => this.log.warnOnce(`${this.component}-sync:${this.opts.socketPath}`, this.component, `listing failed: ${(err as Error).message}`))
      .finally(() => {
        this.syncing = undefined;
        if (this.syncAgain) {
          this.syncAgain = false;
          this.sync();
        }
      });
  }

  private setList(next: ContainerInfo[]): void {
    if (JSON.stringify(next) === JSON.stringify(this.list)) return;
    this.list = next;
    this.onChange?.();
  }
}
