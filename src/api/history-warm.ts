/**
 * A history answer's code, run at start over a series made up for it and then dropped, so that the
 * first real query after a start does not pay for V8's compiler.
 *
 * Why: V8 runs new code in its interpreter and compiles a function once it is hot, with the types
 * it has seen so far. A first answer of a day at 1 s (86 400 rows of 15 metrics) ran its decoder
 * and its number writer interpreted, then compiled, then threw the compiled code away at each
 * kind of number not yet seen (a negative, an integer past 2^31, a fraction: "insufficient type
 * feedback" in `--trace-deopt`), and took 280 to 340 ms where the same answer warm takes 110 to
 * 190. Here every kind of number and both kinds of answer (every stored point; buckets of a
 * coarser tier) go through the same functions as a real query: queryHistory, the chunk decoder
 * through decodeChunkInRange, historyBody and the JSON writer. Nothing of it is stored or served:
 * it reads no store, and its answers are dropped.
 */
import { AGG, foldRaw, resetAgg } from '../store/aggregate.js';
import { ChunkWriter, decodeChunkInRange } from '../store/chunk.js';
import { queryHistory, type HistorySource } from '../store/query.js';
import { toJsonChunks } from './json.js';
import type { Logger } from '../log.js';
import { historyBody } from './rest.js';

/** Rows of the made-up raw tier, and minutes of its 1-minute tier. */
const RAW_ROWS = 4800;
const MINUTE_ROWS = 2400;
/** Chunk sizes of the tiers on disk (persist.ts), so the decoder sees chunks as long as theirs. */
const RAW_CHUNK = 600;
const MINUTE_CHUNK = 120;
/** Rounds run at start: by the fourth, a round takes a third of what the first took. */
const ROUNDS = 4;

interface Chunk {
  bytes: Uint8Array;
  count: number;
}

/** Rows pushed into chunks of `perChunk` rows, as a tier seals them. */
function chunked(columns: number, rows: number, perChunk: number, firstMs: number, stepMs: number, row: (k: number) => Float64Array): Chunk[] {
  const chunks: Chunk[] = [];
  let w = new ChunkWriter(columns);
  for (let k = 0; k < rows; k++) {
    w.push(firstMs + k * stepMs, row(k));
    if (w.count === perChunk || k === rows - 1) {
      chunks.push({ bytes: w.finish(), count: w.count });
      w = new ChunkWriter(columns);
    }
  }
  return chunks;
}

/** The made-up series, and one round of answers over it at each call of `round`. */
export class HistoryWarmUp {
  private readonly src: HistorySource;
  private readonly nowMs = MINUTE_ROWS * 60_000;

  constructor(private readonly metrics: readonly string[]) {
    const m = metrics.length;
    // Every kind of number an answer holds: fractions (CPU percentages, means), integers below and
    // above 1e8 and 2^31 (counters, byte sizes), negatives, zeros and missing values (NaN).
    let x = 2463534242;
    const random = (): number => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) / 2 ** 32;
    };
    const raw = new Float64Array(m);
    const rawRow = (k: number): Float64Array => {
      for (let i = 0; i < m; i++) {
        const kind = i % 5;
        if (kind === 0) raw[i] = random() * 100;
        else if (kind === 1) raw[i] = 3_000_000_000 + Math.floor(random() * 1e6);
        else if (kind === 2) raw[i] = k % 97 === 0 ? NaN : Math.floor(random() * 5000);
        else if (kind === 3) raw[i] = k % 13 === 0 ? -Math.floor(random() * 300) : 0;
        else raw[i] = 123_456_789 + k;
      }
      return raw;
    };
    const agg = new Float64Array(m * AGG);
    const aggRow = (k: number): Float64Array => {
      resetAgg(agg);
      for (let s = 0; s < 60; s++) foldRaw(agg, rawRow(k * 60 + s));
      return agg;
    };
    const nowMs = this.nowMs;
    const tiers = [chunked(m, RAW_ROWS, RAW_CHUNK, nowMs - RAW_ROWS * 1000, 1000, rawRow), chunked(m * AGG, MINUTE_ROWS, MINUTE_CHUNK, 0, 60_000, aggRow)];
    const columns = [m, m * AGG];
    this.src = {
      tiers: [
        { name: 'raw', resolutionMs: 1000, retentionMs: nowMs },
        { name: '1m', resolutionMs: 60_000, retentionMs: nowMs },
      ],
      metricCount: m,
      lifespanMs: [0, nowMs],
      scan: (t, since, until, visit, wanted) => {
        for (const c of tiers[t]) decodeChunkInRange(c.bytes, c.count, columns[t], since, until, visit, wanted);
      },
    };
  }

  /**
   * A day-like answer of every metric and one of a single metric (every stored point, the other
   * columns passed over), and a month-like one (1-minute buckets): their JSON, to be dropped.
   */
  round(): Buffer[][] {
    const all = this.metrics.map((_, i) => i);
    const since = this.nowMs - RAW_ROWS * 1000;
    const answers = [
      queryHistory(this.src, { sinceMs: since, untilMs: this.nowMs, metrics: all }, this.nowMs),
      queryHistory(this.src, { sinceMs: since, untilMs: this.nowMs, metrics: [0] }, this.nowMs),
      queryHistory(this.src, { sinceMs: 0, untilMs: this.nowMs, stepMs: 60_000, metrics: all }, this.nowMs),
    ];
    return answers.map((h, i) => toJsonChunks(historyBody({ id: 'warm-up', name: 'warm-up' }, 1000, i === 1 ? this.metrics.slice(0, 1) : this.metrics, h)));
  }
}

/**
 * Runs ROUNDS rounds, each in its own turn of the event loop so that requests and ticks come in
 * between, and logs what they took. A failure is logged and ends them: only speed is at stake.
 */
export function warmHistoryAnswers(metrics: readonly string[], log: Logger): void {
  let warmUp: HistoryWarmUp | undefined;
  let ms = 0;
  let rounds = 0;
  const round = (): void => {
    const t0 = performance.now();
    try {
      warmUp ??= new HistoryWarmUp(metrics);
      warmUp.round();
    } catch (err) {
      log.warn('history', `compiling the history answers on a made-up series failed: ${(err as Error).message}`);
      return;
    }
    ms += performance.now() - t0;
    if (++rounds < ROUNDS) return void setImmediate(round);
    log.info('history', `history answers compiled on a made-up series in ${ms.toFixed(0)} ms`);
  };
  setImmediate(round);
}
