/**
 * The series the rule engine reads: per series, its labels and its recent (time, value) samples,
 * kept in growable typed arrays and trimmed to the longest range any loaded rule reads. The agent
 * appends one sample per series per tick (src/alarms/ingest.ts); tests load promtool's input
 * series. A staleness marker is Prometheus' own NaN bit pattern (value.StaleNaN), so a series that
 * ends (a removed container) drops out of instant selectors at once, as in Prometheus.
 */
import { matches, type Matcher } from './parser.js';

/** A label set, `__name__` included, never mutated once made. */
export type Labels = Readonly<Record<string, string>>;

const STALE_HI = 0x7ff00000;
const STALE_LO = 0x00000002;

export class Series {
  ts = new Float64Array(16);
  vs = new Float64Array(16);
  private bits = new Uint32Array(this.vs.buffer);
  start = 0;
  end = 0;
  /** Set when the store forgot it (no samples left): a holder must ask the store again. */
  dropped = false;
  /** The labels without `__name__`, made on first use (functions and arithmetic drop the name). */
  private nameless?: Labels;

  constructor(
    readonly labels: Labels,
    readonly key: string,
  ) {}

  get withoutName(): Labels {
    if (!this.nameless) {
      const { __name__: _, ...rest } = this.labels;
      this.nameless = rest;
    }
    return this.nameless;
  }

  get length(): number {
    return this.end - this.start;
  }

  lastTime(): number | undefined {
    return this.end > this.start ? this.ts[this.end - 1] : undefined;
  }

  isStale(i: number): boolean {
    // Little-endian: the high word of element i is at 2i+1.
    return this.bits[2 * i + 1] === STALE_HI && this.bits[2 * i] === STALE_LO;
  }

  append(t: number, v: number): void {
    this.room();
    this.ts[this.end] = t;
    this.vs[this.end] = v;
    this.end++;
  }

  appendStale(t: number): void {
    this.room();
    this.ts[this.end] = t;
    this.bits[2 * this.end] = STALE_LO;
    this.bits[2 * this.end + 1] = STALE_HI;
    this.end++;
  }

  /** Drops samples older than `beforeMs`. */
  trim(beforeMs: number): void {
    while (this.start < this.end && this.ts[this.start] < beforeMs) this.start++;
  }

  /** First index with time >= t (binary search). */
  lowerBound(t: number): number {
    let lo = this.start;
    let hi = this.end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ts[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First index with time > t. */
  upperBound(t: number): number {
    let lo = this.start;
    let hi = this.end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ts[mid] <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private room(): void {
    if (this.end < this.ts.length) return;
    const live = this.end - this.start;
    const size = live * 2 > this.ts.length ? this.ts.length * 2 : this.ts.length;
    const ts = new Float64Array(size);
    const vs = new Float64Array(size);
    ts.set(this.ts.subarray(this.start, this.end));
    vs.set(this.vs.subarray(this.start, this.end));
    this.ts = ts;
    this.vs = vs;
    this.bits = new Uint32Array(vs.buffer);
    this.start = 0;
    this.end = live;
  }
}

/** The identity of a label set: its pairs in name order. */
export function labelsKey(labels: Labels): string {
  const names = Object.keys(labels).sort();
  let key = '';
  for (const n of names) key += `${n}\u0000${labels[n]}\u0001`;
  return key;
}

export class SeriesDB {
  private readonly byName = new Map<string, Map<string, Series>>();

  /** The series with these labels, made when new. */
  series(labels: Labels, key = labelsKey(labels)): Series {
    const name = labels.__name__ ?? '';
    let family = this.byName.get(name);
    if (!family) {
      family = new Map();
      this.byName.set(name, family);
    }
    let s = family.get(key);
    if (!s) {
      s = new Series(labels, key);
      family.set(key, s);
    }
    return s;
  }

  /** Trims every series to samples at or after `beforeMs` and forgets series left empty. */
  trim(beforeMs: number): void {
    for (const [name, family] of this.byName) {
      for (const [key, s] of family) {
        s.trim(beforeMs);
        if (s.length === 0) {
          s.dropped = true;
          family.delete(key);
        }
      }
      if (family.size === 0) this.byName.delete(name);
    }
  }

  /** Series matching a selector: by name when it has one, else every series that the matchers accept. */
  select(name: string | undefined, matchers: readonly Matcher[]): Series[] {
    const out: Series[] = [];
    const families = name !== undefined ? [this.byName.get(name)] : [...this.byName.values()];
    for (const family of families) {
      if (!family) continue;
      for (const s of family.values()) {
        let ok = true;
        for (const m of matchers) {
          if (!matches(m, s.labels[m.name] ?? '')) {
            ok = false;
            break;
          }
        }
        if (ok) out.push(s);
      }
    }
    return out;
  }

  /** Every series, for persistence and tests. */
  *all(): IterableIterator<Series> {
    for (const family of this.byName.values()) yield* family.values();
  }
}
