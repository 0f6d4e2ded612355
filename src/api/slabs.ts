/**
 * Memory lent to one large answer (a history query's columns, its JSON bytes) and taken back
 * after it, so that the next one writes into pages already touched.
 *
 * Why: a day at 1 s of 15 metrics is 11 MB of columns and 9 MB of JSON, a month at 1 minute 21 MB
 * and 19 MB. Each large buffer is a fresh mmap(2) (glibc maps allocations of 128 KiB and more; with
 * the fixed trim threshold bin/cstats.js sets, it never raises that limit), and every 4 KiB page of
 * it faults when first written: 5 000 faults an answer for the day, 12 000 for the month, at 12 to
 * 17 µs each on this host (a 2 MiB buffer allocated and written a page at a time). Slabs taken
 * back are kept for the next answer (at most MAX_KEPT of them, 64 MiB, and only for KEEP_MS after
 * the last use, so an agent nobody asks for history holds none of it).
 */

/** Size of one slab: a column of 131 072 numbers, or a part of the JSON. */
export const SLAB_BYTES = 1 << 20;
/**
 * Slabs kept between answers at most: about what a month at 1 minute of every metric takes (31
 * for its columns, 19 for its JSON). With 24, what a day takes, the month's other slabs faulted
 * again at every answer: 300 to 450 ms an answer, against 192 to 222 with 64 (curl, 12 answers
 * back to back).
 */
const MAX_KEPT = 64;
/** Kept slabs are let go this long after the last answer that used them. */
const KEEP_MS = 30_000;

export class SlabPool {
  private readonly kept: ArrayBuffer[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly maxKept = MAX_KEPT,
    private readonly keepMs = KEEP_MS,
  ) {}

  lease(): SlabLease {
    return new SlabLease(this);
  }

  /** A slab: a kept one if any, else a new one. */
  take(): ArrayBuffer {
    return this.kept.pop() ?? new ArrayBuffer(SLAB_BYTES);
  }

  /** Slabs no longer written or read by anyone. */
  give(slabs: readonly ArrayBuffer[]): void {
    for (const s of slabs) if (this.kept.length < this.maxKept) this.kept.push(s);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.letGo(), this.keepMs);
    this.timer.unref();
  }

  /**
   * Drops the kept slabs. An ArrayBuffer's memory is freed when V8 collects it, at its next full
   * collection: an agent sampling 50 containers kept 64 MiB of them for minutes. So one is asked
   * for, concurrent with the agent's work, where node runs with --expose-gc (bin/cstats.js):
   * RSS was back where it was 40 s after the last answer.
   */
  private letGo(): void {
    if (this.kept.length === 0) return;
    this.kept.length = 0;
    void globalThis.gc?.({ type: 'major', execution: 'async' });
  }
}

/** The slabs one answer took, handed back together by release(). */
export class SlabLease {
  private readonly slabs: ArrayBuffer[] = [];
  /** The slab being cut into Float64Arrays, and the byte its free part starts at. */
  private current: ArrayBuffer | undefined;
  private used = 0;
  private released = false;

  constructor(private readonly pool: SlabPool) {}

  /** A whole slab as bytes, to be written from its start. */
  bytes(): Buffer {
    return Buffer.from(this.slab());
  }

  /**
   * `n` numbers, not cleared (whoever asks writes every one before reading it); from the slab
   * being cut while it has room, a new one when not, and a buffer of their own past a slab's size.
   */
  float64(n: number): Float64Array<ArrayBuffer> {
    const size = n * 8;
    if (size > SLAB_BYTES) return new Float64Array(n);
    if (!this.current || this.used + size > SLAB_BYTES) {
      this.current = this.slab();
      this.used = 0;
    }
    const a = new Float64Array(this.current, this.used, n);
    this.used += size;
    return a;
  }

  /** Everything lent: nothing made from it may be used after this. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.pool.give(this.slabs);
    this.current = undefined;
  }

  private slab(): ArrayBuffer {
    if (this.released) throw new Error('a slab lease used after its release');
    const s = this.pool.take();
    this.slabs.push(s);
    return s;
  }
}
