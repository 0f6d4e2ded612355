/**
 * Instant evaluation of the PromQL subset at one time, with Prometheus 2.x semantics (checked
 * against `promtool test rules` in tests/alarms/promtool-oracle.test.ts): an instant selector
 * takes a series' latest sample in [t - lookback, t] unless it is a staleness marker; a range
 * selector takes the samples in [t - range, t] (both ends included, as in Prometheus 2.x), stale
 * markers skipped; rate/increase/delta extrapolate as promql/functions.go extrapolatedRate does;
 * arithmetic and functions drop the metric name, comparisons without `bool` filter and keep it.
 */
import type { BinOp, Expr, VectorMatching } from './parser.js';
import { labelsKey, type Labels, type Series, type SeriesDB } from './series.js';

export interface Sample {
  labels: Labels;
  v: number;
}
export type Value = number | Sample[] | string;

export class EvalError extends Error {
  override name = 'EvalError';
}

export const DEFAULT_LOOKBACK_MS = 5 * 60_000;

export interface EvalContext {
  db: SeriesDB;
  /** Evaluation time, ms since the epoch. */
  t: number;
  lookbackMs: number;
}

export function evaluate(e: Expr, ctx: EvalContext): Value {
  switch (e.kind) {
    case 'number':
      return e.value;
    case 'string':
      return e.value;
    case 'paren':
      return evaluate(e.expr, ctx);
    case 'selector':
      return instant(e, ctx);
    case 'range':
      throw new EvalError('a range vector cannot be the result of an expression');
    case 'unary': {
      const v = evaluate(e.expr, ctx);
      return typeof v === 'number' ? -v : (v as Sample[]).map((s) => ({ labels: dropName(s.labels), v: -s.v }));
    }
    case 'call':
      return call(e.func, e.args, ctx);
    case 'aggregate':
      return aggregate(e.op, evaluate(e.expr, ctx) as Sample[], e.grouping);
    case 'binary':
      return binary(e.op, evaluate(e.lhs, ctx), evaluate(e.rhs, ctx), e.bool, e.matching);
  }
}

function instant(e: Extract<Expr, { kind: 'selector' }>, ctx: EvalContext): Sample[] {
  const ref = ctx.t - e.offsetMs;
  const out: Sample[] = [];
  for (const s of ctx.db.select(e.name, e.matchers)) {
    const i = s.upperBound(ref) - 1;
    if (i < s.start || s.ts[i] < ref - ctx.lookbackMs || s.isStale(i)) continue;
    out.push({ labels: s.labels, v: s.vs[i] });
  }
  return out;
}

/** A series' samples in a range: indices [lo, hi) of non-stale samples, copied when a stale marker falls inside. */
interface Window {
  ts: Float64Array;
  vs: Float64Array;
  lo: number;
  hi: number;
}

function windowOf(s: Series, from: number, to: number): Window {
  const lo = s.lowerBound(from);
  const hi = s.upperBound(to);
  let stale = 0;
  for (let i = lo; i < hi; i++) if (s.isStale(i)) stale++;
  if (stale === 0) return { ts: s.ts, vs: s.vs, lo, hi };
  const ts = new Float64Array(hi - lo - stale);
  const vs = new Float64Array(hi - lo - stale);
  let j = 0;
  for (let i = lo; i < hi; i++) {
    if (s.isStale(i)) continue;
    ts[j] = s.ts[i];
    vs[j++] = s.vs[i];
  }
  return { ts, vs, lo: 0, hi: j };
}

type RangeFn = (w: Window, rangeStart: number, rangeEnd: number, rangeMs: number) => number | undefined;

/** promql/functions.go extrapolatedRate: delta over the window, extrapolated towards its edges. */
function extrapolatedRate(isCounter: boolean, isRate: boolean): RangeFn {
  return (w, rangeStart, rangeEnd, rangeMs) => {
    const n = w.hi - w.lo;
    if (n < 2) return undefined;
    const first = w.vs[w.lo];
    const last = w.vs[w.hi - 1];
    let result = last - first;
    if (isCounter) {
      let prev = 0;
      for (let i = w.lo; i < w.hi; i++) {
        if (w.vs[i] < prev) result += prev;
        prev = w.vs[i];
      }
    }
    let toStart = (w.ts[w.lo] - rangeStart) / 1000;
    const toEnd = (rangeEnd - w.ts[w.hi - 1]) / 1000;
    const sampled = (w.ts[w.hi - 1] - w.ts[w.lo]) / 1000;
    const avgStep = sampled / (n - 1);
    if (isCounter && result > 0 && first >= 0) {
      const toZero = sampled * (first / result);
      if (toZero < toStart) toStart = toZero;
    }
    const threshold = avgStep * 1.1;
    let interval = sampled;
    interval += toStart < threshold ? toStart : avgStep / 2;
    interval += toEnd < threshold ? toEnd : avgStep / 2;
    result *= interval / sampled;
    return isRate ? result / (rangeMs / 1000) : result;
  };
}

/** irate and idelta: the last two samples. */
function instantValue(isRate: boolean): RangeFn {
  return (w) => {
    if (w.hi - w.lo < 2) return undefined;
    const last = w.vs[w.hi - 1];
    const prev = w.vs[w.hi - 2];
    let result = isRate && last < prev ? last : last - prev;
    if (!isRate) return result;
    const dt = (w.ts[w.hi - 1] - w.ts[w.hi - 2]) / 1000;
    if (dt === 0) return undefined;
    result /= dt;
    return result;
  };
}

function fold(init: (v: number) => number, step: (acc: number, v: number) => number, done: (acc: number, n: number) => number = (a) => a): RangeFn {
  return (w) => {
    if (w.hi === w.lo) return undefined;
    let acc = init(w.vs[w.lo]);
    for (let i = w.lo + 1; i < w.hi; i++) acc = step(acc, w.vs[i]);
    return done(acc, w.hi - w.lo);
  };
}

/** Prometheus' min/max_over_time: a NaN is replaced by any number that follows. */
const minMax = (pick: (a: number, b: number) => boolean): RangeFn => fold((v) => v, (a, v) => (pick(v, a) || Number.isNaN(a) ? v : a));

const RANGE_FUNCTIONS: Record<string, RangeFn> = {
  rate: extrapolatedRate(true, true),
  increase: extrapolatedRate(true, false),
  delta: extrapolatedRate(false, false),
  irate: instantValue(true),
  idelta: instantValue(false),
  avg_over_time: fold((v) => v, (a, v) => a + v, (a, n) => a / n),
  sum_over_time: fold((v) => v, (a, v) => a + v),
  count_over_time: fold(() => 1, (a) => a + 1),
  min_over_time: minMax((v, a) => v < a),
  max_over_time: minMax((v, a) => v > a),
  changes: pairs((a, b) => a !== b && !(Number.isNaN(a) && Number.isNaN(b))),
  resets: pairs((a, b) => b < a),
  last_over_time: (w) => (w.hi > w.lo ? w.vs[w.hi - 1] : undefined),
  present_over_time: (w) => (w.hi > w.lo ? 1 : undefined),
};

/** changes and resets look at consecutive pairs. */
function pairs(count: (prev: number, cur: number) => boolean): RangeFn {
  return (w) => {
    if (w.hi === w.lo) return undefined;
    let n = 0;
    for (let i = w.lo + 1; i < w.hi; i++) if (count(w.vs[i - 1], w.vs[i])) n++;
    return n;
  };
}

const MATH: Record<string, (v: number) => number> = { abs: Math.abs, ceil: Math.ceil, floor: Math.floor };

function call(func: string, args: Expr[], ctx: EvalContext): Value {
  const rangeFn = RANGE_FUNCTIONS[func];
  if (rangeFn) {
    const r = args[0] as Extract<Expr, { kind: 'range' }>;
    const end = ctx.t - r.selector.offsetMs;
    const start = end - r.rangeMs;
    const out: Sample[] = [];
    for (const s of ctx.db.select(r.selector.name, r.selector.matchers)) {
      const v = rangeFn(windowOf(s, start, end), start, end, r.rangeMs);
      // last_over_time keeps the metric name; every other function drops it.
      if (v !== undefined) out.push({ labels: func === 'last_over_time' ? s.labels : s.withoutName, v });
    }
    return out;
  }
  if (func === 'time') return ctx.t / 1000;
  const arg = evaluate(args[0], ctx);
  if (func === 'vector') return [{ labels: {}, v: arg as number }];
  if (func === 'scalar') {
    const v = arg as Sample[];
    return v.length === 1 ? v[0].v : NaN;
  }
  const samples = arg as Sample[];
  if (func === 'clamp_min' || func === 'clamp_max') {
    const bound = evaluate(args[1], ctx) as number;
    const f = func === 'clamp_min' ? Math.max : Math.min;
    return samples.map((s) => ({ labels: dropName(s.labels), v: f(s.v, bound) }));
  }
  const f = MATH[func];
  if (!f) throw new EvalError(`function ${func} is not implemented`);
  return samples.map((s) => ({ labels: dropName(s.labels), v: f(s.v) }));
}

const namelessCache = new WeakMap<Labels, Labels>();
function dropName(labels: Labels): Labels {
  if (labels.__name__ === undefined) return labels;
  let out = namelessCache.get(labels);
  if (!out) {
    const { __name__: _, ...rest } = labels;
    out = rest;
    namelessCache.set(labels, out);
  }
  return out;
}

const signatureCache = new WeakMap<Labels, string>();
/** The matching key of a label set: all labels but the name, or only/all but those named by on/ignoring. */
function signature(labels: Labels, matching: VectorMatching | undefined): string {
  if (!matching) {
    let sig = signatureCache.get(labels);
    if (sig === undefined) {
      sig = labelsKey(dropName(labels));
      signatureCache.set(labels, sig);
    }
    return sig;
  }
  const picked: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    if (k === '__name__') continue;
    if (matching.on === matching.labels.includes(k)) picked[k] = v;
  }
  return labelsKey(picked);
}

function aggregate(op: string, input: Sample[], grouping: { without: boolean; labels: string[] } | undefined): Sample[] {
  const groups = new Map<string, { labels: Labels; acc: number; n: number }>();
  for (const s of input) {
    const labels: Record<string, string> = {};
    // No grouping: everything in one group without labels.
    if (grouping && !grouping.without) {
      for (const l of grouping.labels) if (s.labels[l] !== undefined && s.labels[l] !== '') labels[l] = s.labels[l];
    } else if (grouping) {
      for (const [k, v] of Object.entries(s.labels)) if (k !== '__name__' && !grouping.labels.includes(k)) labels[k] = v;
    }
    const key = labelsKey(labels);
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { labels, acc: op === 'count' || op === 'group' ? 1 : s.v, n: 1 });
      continue;
    }
    g.n++;
    switch (op) {
      case 'sum':
        g.acc += s.v;
        break;
      case 'avg':
        // Incremental mean, as Prometheus computes it.
        g.acc += (s.v - g.acc) / g.n;
        break;
      case 'min':
        if (g.acc > s.v || Number.isNaN(g.acc)) g.acc = s.v;
        break;
      case 'max':
        if (g.acc < s.v || Number.isNaN(g.acc)) g.acc = s.v;
        break;
      case 'count':
        g.acc++;
        break;
    }
  }
  return [...groups.values()].map((g) => ({ labels: g.labels, v: g.acc }));
}

function arith(op: BinOp, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    case '%':
      return a % b;
    case '^':
      return Math.pow(a, b);
    default:
      throw new EvalError(`not an arithmetic operator: ${op}`);
  }
}

/** Comparison result, or undefined for a non-comparison operator. */
function compare(op: BinOp, a: number, b: number): boolean | undefined {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '>':
      return a > b;
    case '<':
      return a < b;
    case '>=':
      return a >= b;
    case '<=':
      return a <= b;
    default:
      return undefined;
  }
}

function binary(op: BinOp, l: Value, r: Value, bool: boolean, matching: VectorMatching | undefined): Value {
  if (typeof l === 'number' && typeof r === 'number') {
    const c = compare(op, l, r);
    return c === undefined ? arith(op, l, r) : c ? 1 : 0;
  }
  if (op === 'and' || op === 'or' || op === 'unless') return setOp(op, l as Sample[], r as Sample[], matching);
  if (typeof l === 'number' || typeof r === 'number') {
    const scalarLeft = typeof l === 'number';
    const vec = (scalarLeft ? r : l) as Sample[];
    const k = (scalarLeft ? l : r) as number;
    const out: Sample[] = [];
    for (const s of vec) {
      const [a, b] = scalarLeft ? [k, s.v] : [s.v, k];
      const c = compare(op, a, b);
      if (c === undefined) out.push({ labels: dropName(s.labels), v: arith(op, a, b) });
      else if (bool) out.push({ labels: dropName(s.labels), v: c ? 1 : 0 });
      else if (c) out.push(s);
    }
    return out;
  }
  const lv = l as Sample[];
  const rv = r as Sample[];
  const right = new Map<string, Sample>();
  for (const s of rv) {
    const sig = signature(s.labels, matching);
    if (right.has(sig)) throw new EvalError('found duplicate series for the match group on the right hand-side of the operation: many-to-many matching not allowed');
    right.set(sig, s);
  }
  const out: Sample[] = [];
  const seen = new Set<string>();
  for (const s of lv) {
    const sig = signature(s.labels, matching);
    const other = right.get(sig);
    if (!other) continue;
    if (seen.has(sig)) throw new EvalError('found duplicate series for the match group on the left hand-side of the operation: many-to-many matching not allowed');
    seen.add(sig);
    const c = compare(op, s.v, other.v);
    // One-to-one (promql resultMetric): the left side's labels, only the on(...) ones or without the
    // ignoring(...) ones; the name dropped for arithmetic and `bool`.
    const labels = matching ? matchedLabels(s.labels, matching) : s.labels;
    if (c === undefined) out.push({ labels: dropName(labels), v: arith(op, s.v, other.v) });
    else if (bool) out.push({ labels: dropName(labels), v: c ? 1 : 0 });
    else if (c) out.push({ labels, v: s.v });
  }
  return out;
}

function matchedLabels(labels: Labels, matching: VectorMatching): Labels {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (matching.on ? matching.labels.includes(k) : !matching.labels.includes(k)) out[k] = v;
  return out;
}

function setOp(op: 'and' | 'or' | 'unless', l: Sample[], r: Sample[], matching: VectorMatching | undefined): Sample[] {
  const rightSigs = new Set(r.map((s) => signature(s.labels, matching)));
  if (op === 'and') return l.filter((s) => rightSigs.has(signature(s.labels, matching)));
  if (op === 'unless') return l.filter((s) => !rightSigs.has(signature(s.labels, matching)));
  const leftSigs = new Set(l.map((s) => signature(s.labels, matching)));
  return [...l, ...r.filter((s) => !leftSigs.has(signature(s.labels, matching)))];
}
