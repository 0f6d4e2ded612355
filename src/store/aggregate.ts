/**
 * Downsampling, as netdata's dbengine tiers keep it: each point of a coarser tier holds, per
 * metric, the min, max, sum, count and last of the points it covers (mean = sum / count).
 * Missing values (NaN: a rate with no previous sample) are not counted. The same fold makes the
 * 1-minute tier from samples, the 1-hour tier from 1-minute points, and a query's `step` buckets
 * from either.
 */

export const STATS = ['min', 'max', 'sum', 'count', 'last'] as const;
export const AGG = STATS.length;
const MIN = 0;
const MAX = 1;
const SUM = 2;
const COUNT = 3;
const LAST = 4;

/** Empties an aggregate row of `metrics` metrics. */
export function resetAgg(acc: Float64Array): void {
  for (let i = 0; i < acc.length; i += AGG) {
    acc[i + MIN] = NaN;
    acc[i + MAX] = NaN;
    acc[i + SUM] = 0;
    acc[i + COUNT] = 0;
    acc[i + LAST] = NaN;
  }
}

/** Folds a sample row (one value per metric) into an aggregate row. */
export function foldRaw(acc: Float64Array, row: ArrayLike<number>): void {
  for (let m = 0, i = 0; i < acc.length; m++, i += AGG) {
    const v = row[m];
    if (Number.isNaN(v)) continue;
    if (acc[i + COUNT] === 0) {
      acc[i + MIN] = v;
      acc[i + MAX] = v;
    } else {
      if (v < acc[i + MIN]) acc[i + MIN] = v;
      if (v > acc[i + MAX]) acc[i + MAX] = v;
    }
    acc[i + SUM] += v;
    acc[i + COUNT]++;
    acc[i + LAST] = v;
  }
}

/** Folds an aggregate row into another. */
export function foldAgg(acc: Float64Array, row: ArrayLike<number>): void {
  for (let i = 0; i < acc.length; i += AGG) {
    const n = row[i + COUNT];
    if (!(n > 0)) continue;
    if (acc[i + COUNT] === 0) {
      acc[i + MIN] = row[i + MIN];
      acc[i + MAX] = row[i + MAX];
    } else {
      if (row[i + MIN] < acc[i + MIN]) acc[i + MIN] = row[i + MIN];
      if (row[i + MAX] > acc[i + MAX]) acc[i + MAX] = row[i + MAX];
    }
    acc[i + SUM] += row[i + SUM];
    acc[i + COUNT] += n;
    acc[i + LAST] = row[i + LAST];
  }
}

/** What a bucket of a query's grid answers per metric, made from an aggregate row. */
export const BUCKET_STATS = ['mean', 'min', 'max', 'last'] as const;
export type BucketStat = (typeof BUCKET_STATS)[number];

/**
 * The columns of a metric's aggregate row (offsets 0 to AGG - 1) that `stats` are made from:
 * the count always, as it tells a bucket that holds data from one that does not.
 */
export function aggColumnsFor(stats: readonly BucketStat[]): number[] {
  const cols = new Set([COUNT]);
  for (const s of stats) cols.add(s === 'mean' ? SUM : s === 'min' ? MIN : s === 'max' ? MAX : LAST);
  return [...cols].sort((a, b) => a - b);
}

/** Where a grid answer's buckets go: for each statistic asked, a column per metric. */
export interface StatColumns {
  mean?: Float64Array[];
  min?: Float64Array[];
  max?: Float64Array[];
  last?: Float64Array[];
}

/**
 * Writes the statistics of bucket `i` of every metric from an aggregate row: the mean is sum /
 * count, NaN when nothing was counted (min, max and last are NaN then too, from resetAgg).
 */
export function writeStats(acc: ArrayLike<number>, i: number, out: StatColumns): void {
  const { mean, min, max, last } = out;
  for (let m = 0, a = 0; a < acc.length; m++, a += AGG) {
    if (mean) mean[m][i] = acc[a + COUNT] > 0 ? acc[a + SUM] / acc[a + COUNT] : NaN;
    if (min) min[m][i] = acc[a + MIN];
    if (max) max[m][i] = acc[a + MAX];
    if (last) last[m][i] = acc[a + LAST];
  }
}

/**
 * Rows in time order folded into buckets of `resolutionMs` aligned to the epoch; a bucket is
 * handed to `emit` (its start and the aggregate row, reused) when a row of a later bucket
 * arrives or `close` is called.
 */
export class Bucketer {
  startMs = NaN;
  readonly acc: Float64Array;
  private readonly fold: (acc: Float64Array, row: ArrayLike<number>) => void;

  constructor(
    readonly resolutionMs: number,
    metrics: number,
    /** Rows are aggregate rows (a coarser tier from a finer one) rather than samples. */
    fromAggregates: boolean,
    private readonly emit: (startMs: number, acc: Float64Array) => void,
  ) {
    this.acc = new Float64Array(metrics * AGG);
    resetAgg(this.acc);
    this.fold = fromAggregates ? foldAgg : foldRaw;
  }

  add(ts: number, row: ArrayLike<number>): void {
    const start = ts - (((ts % this.resolutionMs) + this.resolutionMs) % this.resolutionMs);
    if (start !== this.startMs) {
      this.close();
      this.startMs = start;
    }
    this.fold(this.acc, row);
  }

  /** Emits the bucket in progress, if any. */
  close(): void {
    if (Number.isNaN(this.startMs)) return;
    this.emit(this.startMs, this.acc);
    resetAgg(this.acc);
    this.startMs = NaN;
  }
}
