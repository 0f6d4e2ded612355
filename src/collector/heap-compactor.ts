/**
 * A compacting collection of V8's heap now and then, right after a tick.
 *
 * Why: V8 moves live objects out of fragmented old-space pages only when its own heuristics pick
 * them. An agent sampling 1000 containers allocates steadily, so those heuristics seldom fire:
 * the old space's committed size climbed from the live heap to up to 23 MB above it over some 40
 * minutes and fell back only when V8 did compact (bench/README.md, the soak, 2026-12-07). That
 * saw-tooth alone spanned 15 % of the agent's RSS. Node's `--compact-on-every-full-gc` keeps the
 * old space at the live heap, but compacts at every full collection (one every 35 s there), each
 * pausing the agent for about 165 ms. Here the same flag is turned on for one collection every
 * `everyMs` (5 minutes by default): the pause falls right after a tick, in the part of the
 * interval the agent would spend waiting: 263 ms at 1000 containers and 62 ms at 100, once in
 * 300 s (bench/README.md, 2026-12-08).
 *
 * The flag is read by V8's mark-compact collector when it picks the pages to evacuate, at each
 * full collection, so turning it on for one collection and off again after it does exactly that.
 * It needs `gc()`, which node exposes with --expose-gc (bin/cstats.js runs node so); without it
 * nothing is compacted, and the agent says so once.
 */
import { setFlagsFromString } from 'node:v8';

export interface CompactionFigures {
  /** Compactions done since the start. */
  count: number;
  /** Their pauses added up, ns. */
  pauseNs: bigint;
}

/** One compacting full collection; its pause in ns, or undefined when node runs without --expose-gc. */
export function compactHeap(): bigint | undefined {
  const gc = globalThis.gc;
  if (!gc) return undefined;
  const t0 = process.hrtime.bigint();
  setFlagsFromString('--compact-on-every-full-gc');
  try {
    // Without options: in node 20 (V8 11.3), gc({ type: 'major', execution: 'sync' }) took 4 ms
    // and freed nothing of 110 MB let go, where gc() is a full collection.
    gc();
  } finally {
    setFlagsFromString('--no-compact-on-every-full-gc');
  }
  return process.hrtime.bigint() - t0;
}

export class HeapCompactor {
  private readonly figures: CompactionFigures = { count: 0, pauseNs: 0n };
  private lastMs: number;
  private pending = false;

  /** `everyMs` 0 turns it off; the first compaction comes `everyMs` after `nowMs`. */
  constructor(
    private readonly everyMs: number,
    nowMs: number,
  ) {
    this.lastMs = nowMs;
  }

  /** Whether compactions can run at all (node was given --expose-gc) and are asked for. */
  get enabled(): boolean {
    return this.everyMs > 0 && globalThis.gc !== undefined;
  }

  /**
   * Called after every tick: when a compaction is due, it runs once the tick's listeners are done
   * (setImmediate), before the timers of the next tick.
   */
  afterTick(nowMs: number): void {
    if (!this.enabled || this.pending || nowMs - this.lastMs < this.everyMs) return;
    this.pending = true;
    setImmediate(() => {
      this.pending = false;
      this.lastMs = Date.now();
      const pause = compactHeap();
      if (pause === undefined) return;
      this.figures.count++;
      this.figures.pauseNs += pause;
    });
  }

  get done(): Readonly<CompactionFigures> {
    return this.figures;
  }
}
