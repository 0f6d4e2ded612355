/**
 * A history query: which tier answers (the coarsest whose resolution fits the step among those
 * that still hold the start of the range; else the finest that holds it), then either every
 * sample as stored (no step, raw tier) or a regular grid of `step` buckets. Where nothing was
 * sampled (the agent was down, the container did not exist) the answer holds nulls: nothing is
 * interpolated.
 */
import { AGG, BUCKET_STATS, Bucketer, aggColumnsFor, writeStats, type BucketStat, type StatColumns } from './aggregate.js';

export interface TierView {
  name: string;
  resolutionMs: number;
  retentionMs: number;
}

/** Where the points come from: tiers finest first, and their rows (raw: one value per metric; coarser: aggregate rows). */
export interface HistorySource {
  tiers: readonly TierView[];
  /** Metrics in a raw row. */
  metricCount: number;
  /**
   * Calls `visit` for each point with sinceMs <= time <= untilMs, oldest first (the row may be
   * reused); only the columns flagged in `wanted` need to hold their values.
   */
  scan(tier: number, sinceMs: number, untilMs: number, visit: (ts: number, row: ArrayLike<number>) => void, wanted: Uint8Array): void;
  /**
   * When the container existed (its creation, and its removal or now), where known: no point
   * lies outside it, so an answer of stored points is sized from the part of the range within it.
   */
  lifespanMs?: readonly [number, number];
}

export interface HistoryQuery {
  sinceMs: number;
  untilMs: number;
  /** Bucket width; undefined: every point of the tier. */
  stepMs?: number;
  /** Indexes of the metrics wanted. */
  metrics: readonly number[];
  /**
   * Which statistics of each bucket a grid answer carries (default all four); the stored columns
   * only the others are made from are not decoded. An answer of stored points has values alone.
   */
  stats?: readonly BucketStat[];
}

/** Columns of numbers; NaN where there is no value (served as null). */
export interface HistoryResult {
  tier: string;
  /** Width of the buckets, or null when every stored point is returned. */
  stepMs: number | null;
  timestampsMs: Float64Array;
  /** Per metric: the value (raw) or the bucket's mean; undefined when the mean was not asked for. */
  values?: Float64Array[];
  /** With buckets: per metric their min, max and last, those asked for. */
  aggregates?: { min?: Float64Array[]; max?: Float64Array[]; last?: Float64Array[] };
}

/** Most points one answer may hold. */
export const MAX_POINTS = 100_000;

export class QueryError extends Error {
  override name = 'QueryError';
}

export function chooseTier(tiers: readonly TierView[], sinceMs: number, stepMs: number | undefined, nowMs: number): number {
  const holds = tiers.map((t) => sinceMs >= nowMs - t.retentionMs);
  const holding = tiers.map((_, i) => i).filter((i) => holds[i]);
  if (holding.length === 0) return tiers.length - 1;
  const step = stepMs ?? tiers[0].resolutionMs;
  const fitting = holding.filter((i) => tiers[i].resolutionMs <= step);
  return fitting.length > 0 ? fitting[fitting.length - 1] : holding[0];
}

/** Every column of a metric's aggregate row. */
const ALL_AGG = Array.from({ length: AGG }, (_, k) => k);

/**
 * Columns of a row of `tier` that hold the metrics: a raw row has one per metric, a coarser one
 * AGG per metric, of which those at `offsets` (aggColumnsFor).
 */
function columnsOf(tier: number, metrics: readonly number[], offsets: readonly number[] = ALL_AGG): number[] {
  return tier === 0 ? [...metrics] : metrics.flatMap((m) => offsets.map((k) => m * AGG + k));
}

function flags(count: number, columns: readonly number[]): Uint8Array {
  const wanted = new Uint8Array(count);
  for (const c of columns) wanted[c] = 1;
  return wanted;
}

/** Where an answer's columns come from: new arrays, or memory lent for the answer (api/slabs.ts). Not cleared. */
export type ColumnAlloc = (n: number) => Float64Array<ArrayBuffer>;

const newColumn: ColumnAlloc = (n) => new Float64Array(n);

export function queryHistory(src: HistorySource, q: HistoryQuery, nowMs: number, alloc = newColumn): HistoryResult {
  const t = chooseTier(src.tiers, q.sinceMs, q.stepMs, nowMs);
  const tier = src.tiers[t];
  const since = Math.max(q.sinceMs, nowMs - tier.retentionMs);
  if (t === 0 && q.stepMs === undefined) return asStored(src, tier, since, q, nowMs, alloc);
  const step = Math.max(q.stepMs ?? tier.resolutionMs, tier.resolutionMs);
  // Whole buckets: the first one starts at or before `since`.
  const first = Math.floor(since / step) * step;
  const n = Math.max(0, Math.floor((q.untilMs - first) / step) + 1);
  if (n > MAX_POINTS) throw new QueryError(`the range holds ${n} steps of ${step} ms; at most ${MAX_POINTS}: narrow since/until or widen step`);
  const stats = q.stats ?? BUCKET_STATS;
  const column = (stat: BucketStat) => (stats.includes(stat) ? q.metrics.map(() => alloc(n)) : undefined);
  const [mean, min, max, last] = BUCKET_STATS.map(column);
  const out: StatColumns = { mean, min, max, last };
  const answered = [mean, min, max, last].flatMap((c) => c ?? []);
  const timestampsMs = alloc(n);
  for (let i = 0; i < n; i++) timestampsMs[i] = first + i * step;
  // Buckets without a point hold NaN: written as the buckets before and after them are, so that
  // each cell of the columns is written once (they come from alloc uncleared).
  let filled = 0;
  const gap = (to: number): void => {
    for (const c of answered) c.fill(NaN, filled, to);
    filled = to;
  };
  // The buckets fold only the asked metrics: a row of theirs is gathered from the tier's row.
  const columns = columnsOf(t, q.metrics);
  const gathered = new Float64Array(columns.length);
  const b = new Bucketer(step, q.metrics.length, t > 0, (startMs, acc) => {
    const i = (startMs - first) / step;
    if (i < 0 || i >= n) return;
    if (i > filled) gap(i);
    writeStats(acc, i, out);
    if (i === filled) filled++;
  });
  // Columns not decoded hold whatever the reused row held: only statistics not asked for read them.
  const wanted = flags(t === 0 ? src.metricCount : src.metricCount * AGG, columnsOf(t, q.metrics, aggColumnsFor(stats)));
  src.scan(
    t,
    first,
    q.untilMs,
    (ts, row) => {
      for (let k = 0; k < columns.length; k++) gathered[k] = row[columns[k]];
      b.add(ts, gathered);
    },
    wanted,
  );
  b.close();
  gap(n);
  return { tier: tier.name, stepMs: step, timestampsMs, values: mean, aggregates: { min, max, last } };
}

/** Every stored point; a null point marks each gap longer than two and a half intervals. */
function asStored(src: HistorySource, tier: TierView, since: number, q: HistoryQuery, nowMs: number, alloc: ColumnAlloc): HistoryResult {
  // The columns are made as long as the points the range can hold (one a resolution, and a gap's
  // null), so that a day at 1 s is written into memory touched once: growing them by doubling
  // from 1024 took 68 of a first 24-hour answer's 364 ms of CPU (14 of about 150 once warm), in
  // copies and first touches of fresh pages. Points closer than the resolution (an agent that
  // ran at a shorter interval) still fit, as the columns double when full.
  const [born, gone] = src.lifespanMs ?? [since, nowMs];
  const spanMs = Math.min(q.untilMs, nowMs, gone) - Math.max(since, born);
  const fits = Number.isFinite(spanMs) && spanMs > 0 ? Math.floor(spanMs / tier.resolutionMs) + 2 : 0;
  let timestampsMs = alloc(Math.max(16, fits));
  let values = q.metrics.map(() => alloc(timestampsMs.length));
  let n = 0;
  let prev = NaN;
  const point = (ts: number, row: ArrayLike<number> | undefined): void => {
    if (n === timestampsMs.length) {
      timestampsMs = grown(timestampsMs);
      values = values.map(grown);
    }
    timestampsMs[n] = ts;
    for (let j = 0; j < values.length; j++) values[j][n] = row ? row[q.metrics[j]] : NaN;
    n++;
  };
  const visit = (ts: number, row: ArrayLike<number>): void => {
    if (ts - prev > 2.5 * tier.resolutionMs) point(prev + tier.resolutionMs, undefined);
    prev = ts;
    point(ts, row);
  };
  src.scan(0, since, q.untilMs, visit, flags(src.metricCount, q.metrics));
  return { tier: tier.name, stepMs: null, timestampsMs: timestampsMs.subarray(0, n), values: values.map((v) => v.subarray(0, n)) };
}

function grown(a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> {
  const b = new Float64Array(a.length * 2);
  b.set(a);
  return b;
}
