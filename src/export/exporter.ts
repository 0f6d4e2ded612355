/**
 * The exporters at run time: each tick of the collector becomes an ExportTick (ExportFeed); each
 * sink encodes it and queues the payload (in the tick, synchronously: a write(2) of a few
 * kilobytes); a sender per sink drains its queue oldest first, in batches of `maxBatch`, apart
 * from the sampling loop, which it never blocks.
 *
 * A failed send that may succeed later (network error, timeout, 5xx, 429) is retried after a
 * backoff of 0.5 s doubling up to 5 s, or the receiver's Retry-After when it asks for longer
 * (up to 5 minutes): the queue keeps everything meanwhile. Any other answer refuses the batch:
 * its payloads are then sent one at a time, and each one refused alone is dropped, counted
 * (reason "rejected"), as retrying what the receiver refuses would block the queue behind it
 * forever. One at a time, because a receiver refuses a whole request for one sample it does not
 * take, and because one that was frozen may still process a request the sender had given up on
 * (timed out) and store part of a later batch: Prometheus then refuses that batch as out of
 * order (400) for its first samples, while the rest of it is stored nowhere.
 */
import type { Logger } from '../log.js';
import type { ContainerEntry, Store } from '../store/store.js';
import type { Sample } from '../model.js';
import { familyText, type FamilySeries, type MetricType } from '../api/prometheus-text.js';
import type { PayloadQueue } from './queue.js';
import { SendError, type ExportTick, type Sink } from './sink.js';

export interface Backoff {
  minMs: number;
  maxMs: number;
  /** The longest Retry-After honoured. */
  retryAfterMaxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { minMs: 500, maxMs: 5000, retryAfterMaxMs: 300_000 };

export class Exporter {
  /** Samples encoded and queued. */
  samples = 0;
  sentSamples = 0;
  /** Samples in batches the receiver refused for good. */
  rejectedSamples = 0;
  retries = 0;
  /** Requests the receiver took, and the time spent in them. */
  batchesSent = 0;
  sendSeconds = 0;
  lastError?: { atMs: number; message: string };
  private stopped = false;
  /** Payloads up to this sequence number are sent alone: they were in a batch the receiver refused. */
  private aloneThrough = -1;
  private wake?: () => void;
  private running = false;

  constructor(
    readonly sink: Sink,
    readonly queue: PayloadQueue,
    private readonly log: Logger,
    private readonly backoff: Backoff = DEFAULT_BACKOFF,
  ) {}

  /** Encodes and queues one tick; a sink that throws loses that tick's payload only (logged). */
  offer(tick: ExportTick): void {
    try {
      const p = this.sink.encode(tick);
      if (!p) return;
      this.queue.push(p.bytes, p.samples, tick.timestampMs);
      this.samples += p.samples;
    } catch (err) {
      this.log.warnOnce(`export-encode:${this.sink.name}`, 'export', `${this.sink.name}: a tick could not be encoded or queued: ${(err as Error).stack ?? err}`);
      return;
    }
    this.wake?.();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.run();
  }

  /**
   * Stops sending and closes the queue (fsync). A request under way is not waited for: its
   * batch stays queued and is sent again by the next start.
   */
  stop(): void {
    this.stopped = true;
    this.wake?.();
    this.queue.close();
  }

  private async run(): Promise<void> {
    let delayMs = this.backoff.minMs;
    while (!this.stopped) {
      const oldest = this.queue.oldestSeq;
      const batch = this.queue.peek(oldest !== undefined && oldest <= this.aloneThrough ? 1 : this.sink.maxBatch);
      if (!batch) {
        await this.pause(Infinity);
        continue;
      }
      try {
        const startedMs = performance.now();
        const refused = await this.sink.send(batch.payloads);
        // Stopped meanwhile: the queue may be closed; the batch is sent again after the restart.
        if (this.stopped) break;
        this.batchesSent++;
        this.sendSeconds += (performance.now() - startedMs) / 1000;
        this.queue.ack(batch.lastSeq);
        const refusedSamples = refused ? Math.min(refused.samples, batch.samples) : 0;
        this.sentSamples += batch.samples - refusedSamples;
        if (refused && refusedSamples > 0) {
          this.rejectedSamples += refusedSamples;
          this.log.warnOnce(`export-partial:${this.sink.name}`, 'export', `${this.sink.name}: the receiver took a batch but refused ${refused.samples} of its samples: ${refused.message}`);
        }
        delayMs = this.backoff.minMs;
      } catch (caught) {
        const err = caught instanceof SendError ? caught : new SendError(String((caught as Error)?.message ?? caught), false);
        this.lastError = { atMs: Date.now(), message: err.message };
        if (this.stopped) break;
        if (!err.retryable) {
          if (batch.payloads.length > 1) {
            this.aloneThrough = batch.lastSeq;
            continue;
          }
          this.queue.ack(batch.lastSeq);
          this.rejectedSamples += batch.samples;
          this.log.warnOnce(`export-rejected:${this.sink.name}:${err.status}`, 'export', `${this.sink.name}: a payload (${batch.samples} samples) refused on its own, dropped: ${err.message}`);
          continue;
        }
        this.retries++;
        this.log.warnOnce(`export-retry:${this.sink.name}`, 'export', `${this.sink.name}: send failed, retrying with backoff (queue kept): ${err.message}`);
        await this.pause(Math.max(delayMs, Math.min(err.retryAfterMs ?? 0, this.backoff.retryAfterMaxMs)));
        delayMs = Math.min(delayMs * 2, this.backoff.maxMs);
      }
    }
  }

  /** Waits `ms`, or until a payload is queued (when waiting for one) or the exporter stops. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(done, ms) : undefined;
      const forPayload = !Number.isFinite(ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        if (forPayload || this.stopped) done();
      };
    });
  }

  health(nowMs = Date.now()) {
    const oldest = this.queue.oldestMs;
    return {
      queuedPayloads: this.queue.length,
      queuedBytes: this.queue.bytes,
      oldestQueuedAgeSeconds: oldest === undefined ? null : Math.max(0, nowMs - oldest) / 1000,
      samples: this.samples,
      sentSamples: this.sentSamples,
      dropped: { queueFull: this.queue.droppedSamples, rejected: this.rejectedSamples },
      retries: this.retries,
      batchesSent: this.batchesSent,
      sendSeconds: this.sendSeconds,
      lastError: this.lastError ? { at: new Date(this.lastError.atMs).toISOString(), message: this.lastError.message } : null,
    };
  }
}

/**
 * Makes each tick's ExportTick from the store: the running (or paused) containers whose latest
 * sample is new since the last tick, and those that left since.
 */
export class ExportFeed {
  private readonly exported = new Map<string, { entry: ContainerEntry; sample: Sample }>();

  constructor(private readonly store: Store) {}

  next(nowMs: number): ExportTick {
    const containers: ContainerEntry[] = [];
    const live = new Set<string>();
    for (const e of this.store.list(false)) {
      const s = e.latest;
      if (!s || (e.info.state !== 'running' && e.info.state !== 'paused')) continue;
      live.add(e.info.id);
      if (this.exported.get(e.info.id)?.sample !== s) containers.push(e);
      this.exported.set(e.info.id, { entry: e, sample: s });
    }
    const gone: ContainerEntry[] = [];
    for (const [id, x] of this.exported) {
      if (live.has(id)) continue;
      gone.push(x.entry);
      this.exported.delete(id);
    }
    return { timestampMs: nowMs, containers, gone, host: this.store.host?.latest };
  }
}

/** Every configured sink with its queue and sender, fed by the collector's ticks. */
export class Exports {
  private readonly feed: ExportFeed;

  constructor(
    store: Store,
    readonly exporters: readonly Exporter[],
  ) {
    this.feed = new ExportFeed(store);
  }

  tick(nowMs = Date.now()): void {
    if (this.exporters.length === 0) return;
    const t = this.feed.next(nowMs);
    for (const x of this.exporters) x.offer(t);
  }

  start(): void {
    for (const x of this.exporters) x.start();
  }

  stop(): void {
    for (const x of this.exporters) x.stop();
  }

  /** For /healthz: per sink. */
  health(): Record<string, ReturnType<Exporter['health']>> {
    const now = Date.now();
    return Object.fromEntries(this.exporters.map((x) => [x.sink.name, x.health(now)]));
  }

  /** The exporters' own series, appended to /metrics. */
  metricsText(): string {
    if (this.exporters.length === 0) return '';
    const family = (name: string, type: MetricType, help: string, value: (x: Exporter) => Array<[Array<[string, string]>, number]>): string =>
      familyText(name, type, help, this.exporters.flatMap((x) => value(x).map(([labels, v]): FamilySeries => [[['sink', x.sink.name], ...labels], v])));
    return (
      family('cstats_export_samples_total', 'counter', 'Samples encoded and queued for the sink.', (x) => [[[], x.samples]]) +
      family('cstats_export_samples_sent_total', 'counter', 'Samples the receiver took.', (x) => [[[], x.sentSamples]]) +
      family('cstats_export_samples_dropped_total', 'counter', 'Samples dropped: the queue was full (the oldest go), or the receiver refused them (4xx).', (x) => [
        [[['reason', 'queue_full']], x.queue.droppedSamples],
        [[['reason', 'rejected']], x.rejectedSamples],
      ]) +
      family('cstats_export_queue_bytes', 'gauge', 'Bytes queued for the sink, not yet taken by the receiver.', (x) => [[[], x.queue.bytes]]) +
      family('cstats_export_retries_total', 'counter', 'Sends that failed and will be retried (network error, 5xx, 429).', (x) => [[[], x.retries]]) +
      family('cstats_export_batches_sent_total', 'counter', 'Requests the receiver took (a batch of ticks each).', (x) => [[[], x.batchesSent]]) +
      family('cstats_export_send_seconds_total', 'counter', 'Time spent in the requests the receiver took: queued time drained over it is the drain rate.', (x) => [[[], x.sendSeconds]])
    );
  }
}
