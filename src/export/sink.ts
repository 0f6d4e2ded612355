/**
 * What every exporter (remote_write, OTLP, Gnocchi) is made of: a Sink turns each tick into a
 * payload, which is queued on disk (src/export/queue.ts) before anything is sent; a sender
 * drains the queue oldest first through the sink's `send`, retrying what the receiver may
 * take later. A payload is encoded once, at its tick, so that what is sent after an outage is
 * what the agent measured then, not what it holds now.
 */
import type { ContainerEntry } from '../store/store.js';
import type { HostSample } from '../model.js';

/** One tick as the exporters see it. */
export interface ExportTick {
  /** When the tick ran (ms since the epoch). */
  timestampMs: number;
  /**
   * Live containers whose latest sample (`e.latest`) was not handed to the exporters before:
   * each sample is exported once, also one taken between ticks (a container sampled at its
   * start event). Its own `e.latest.timestampMs` is the time to send.
   */
  containers: readonly ContainerEntry[];
  /** Containers that left the live list since the previous tick: staleness markers, ends. */
  gone: readonly ContainerEntry[];
  /** The host's sample of this tick. */
  host?: HostSample;
}

/** A send that failed: `retryable` (a network error, 5xx, 429) is tried again later; the rest are dropped and counted. */
export class SendError extends Error {
  override name = 'SendError';
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    /** What the receiver asked for (Retry-After), in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** Data points a receiver answered 2xx for but did not store (OTLP's partial_success), and why. */
export interface Refused {
  samples: number;
  message: string;
}

/** What `encode` makes of a tick: the bytes to queue, and how many samples they carry (what the counters count). */
export interface Payload {
  bytes: Uint8Array;
  samples: number;
}

export interface Sink {
  /** Unique among the configured sinks; a file name and a label value: `remote_write-0`, `otlp-0`, `gnocchi-0`. */
  readonly name: string;
  /** The most queued payloads one `send` takes. */
  readonly maxBatch: number;
  /** What one tick contributes, or undefined when it has nothing to send. */
  encode(tick: ExportTick): Payload | undefined;
  /**
   * Sends payloads (oldest first) as one request or several; resolves once the receiver answered
   * for them all, with what it refused of data it otherwise took; throws SendError.
   */
  send(payloads: readonly Uint8Array[]): Promise<void | Refused>;
}

/**
 * Payloads cut into runs of up to `maxBytes` (a payload larger than that alone), in order,
 * each run to go in one request.
 */
export function runsOf(payloads: readonly Uint8Array[], maxBytes: number): Uint8Array[][] {
  const runs: Uint8Array[][] = [];
  let run: Uint8Array[] = [];
  let bytes = 0;
  for (const p of payloads) {
    if (run.length > 0 && bytes + p.length > maxBytes) {
      runs.push(run);
      run = [];
      bytes = 0;
    }
    run.push(p);
    bytes += p.length;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}
