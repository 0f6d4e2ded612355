/**
 * A history query: which tier answers (the coarsest whose resolution fits the step among those
 * that still hold the start of the range; else the finest that holds it), then either every
 * sample as stored (no step, raw tier) or a regular grid of `step` buckets. Where nothing was
 * sampled (the agent was down, the container did not exist) the answer holds nulls: nothing is
 * interpolated.
 */
import { Bucketer, statOf } from './aggregate.js';

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
  /** Calls `visit` for each point with sinceMs <= time <= untilMs, oldest first (the row may be reused). */
  scan(tier: number, sinceMs: number, untilMs: number, visit: (ts: number, row: ArrayLike<number>) => void): void;
}

export interface HistoryQuery {
  sinceMs: number;
  untilMs: number;
  /** Bucket width; undefined: every point of the tier. */
  stepMs?: number;
  /** Indexes of the metrics wanted. */
  metrics: readonly number[];
}

export interface HistoryResult {
  tier: string;
  /** Width of the buckets, or null when every stored point is returned. */
  stepMs: number | null;
  timestampsMs: number[];
  /** Per metric: the value (raw) or the bucket's mean. */
  values: (number | null)[][];
  /** With buckets: per metric their min, max and last. */
  aggregates?: { min: (number | null)[][]; max: (number | null)[][]; last: (number | null)[][] };
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

const num = (v: number): number | null => (Number.isNaN(v) ? null : v);

export function queryHistory(src: HistorySource, q: HistoryQuery, nowMs: number): HistoryResult {
  const t = chooseTier(src.tiers, q.sinceMs, q.stepMs, nowMs);
  const tier = src.tiers[t];
  const since = Math.max(q.sinceMs, nowMs - tier.retentionMs);
  if (t === 0 && q.stepMs === undefined) return asStored(src, tier, since, q);
  const step = Math.max(q.stepMs ?? tier.resolutionMs, tier.resolutionMs);
  // Whole buckets: the first one starts at or before `since`.
  const first = Math.floor(since / step) * step;
  const n = Math.floor((q.untilMs - first) / step) + 1;
  if (n > MAX_POINTS) throw new QueryError(`the range holds ${n} steps of ${step} ms; at most ${MAX_POINTS}: narrow since/until or widen step`);
  const out: HistoryResult = {
    tier: tier.name,
    stepMs: step,
    timestampsMs: Array.from({ length: Math.max(0, n) }, (_, i) => first + i * step),
    values: q.metrics.map(() => new Array<number | null>(Math.max(0, n)).fill(null)),
    aggregates: { min: q.metrics.map(() => new Array(Math.max(0, n)).fill(null)), max: q.metrics.map(() => new Array(Math.max(0, n)).fill(null)), last: q.metrics.map(() => new Array(Math.max(0, n)).fill(null)) },
  };
  const b = new Bucketer(step, src.metricCount, t > 0, (startMs, acc) => {
    const i = (startMs - first) / step;
    if (i < 0 || i >= n) return;
    q.metrics.forEach((m, j) => {
      out.values[j][i] = num(statOf(acc, m, 'mean'));
      out.aggregates!.min[j][i] = num(statOf(acc, m, 'min'));
      out.aggregates!.max[j][i] = num(statOf(acc, m, 'max'));
      out.aggregates!.last[j][i] = num(statOf(acc, m, 'last'));
    });
  });
  src.scan(t, first, q.untilMs, (ts, row) => b.add(ts, row));
  b.close();
  return out;
}

/** Every stored point; a null point marks each gap longer than two and a half intervals. */
function asStored(src: HistorySource, tier: TierView, since: number, q: HistoryQuery): HistoryResult {
  const out: HistoryResult = { tier: tier.name, stepMs: null, timestampsMs: [], values: q.metrics.map(() => []) };
  let prev = NaN;
  src.scan(0, since, q.untilMs, (ts, row) => {
    if (ts - prev > 2.5 * tier.resolutionMs) {
      out.timestampsMs.push(prev + tier.resolutionMs);
      for (const v of out.values) v.push(null);
    }
    prev = ts;
    out.timestampsMs.push(ts);
    q.metrics.forEach((m, j) => out.values[j].push(num(row[m])));
  });
  return out;
}
