/**
 * The Prometheus text exposition format, version 0.0.4: escaping, label names, and exact decimal
 * rendering of u64 counters. A value is written from its bigint with every digit, and a count of
 * ns or µs becomes seconds by moving the decimal point, so nothing is rounded on our side (the
 * scraper parses it into a float64, as it would cAdvisor's).
 */

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * `untyped` is for cAdvisor's two names that break the naming rules promtool enforces (a counter
 * without _total, a gauge with it): the names are the contract, the TYPE line is only a hint.
 */
export type MetricType = 'counter' | 'gauge' | 'untyped';

const LABEL_VALUE_SPECIALS = /[\\"\n]/;

/** A label value between double quotes: backslash, double quote and line feed escaped. */
export function escapeLabelValue(value: string): string {
  if (!LABEL_VALUE_SPECIALS.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text: backslash and line feed escaped (a double quote stays as it is). */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/**
 * A valid label name from anything, as cAdvisor's sanitizeLabelName does: every character
 * outside [a-zA-Z0-9_] becomes "_" ("com.example/app" → "com_example_app").
 */
export function sanitizeLabelName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_');
}

/** `a="x",b="y"` from (name, value) pairs; an empty value is the same as no label, so it is left out. */
export function renderLabels(pairs: ReadonlyArray<readonly [string, string]>): string {
  let out = '';
  for (const [name, value] of pairs) {
    if (value === '') continue;
    if (out !== '') out += ',';
    out += `${name}="${escapeLabelValue(value)}"`;
  }
  return out;
}

/** A series of a small family: its label pairs (as renderLabels takes them) and its value. */
export type FamilySeries = readonly [ReadonlyArray<readonly [string, string]>, number | bigint | string];

/**
 * A whole family as text, for the agent's own few series (process, alarms, exports): HELP and
 * TYPE, then a line per series, without braces when it has no labels.
 */
export function familyText(name: string, type: MetricType, help: string, series: readonly FamilySeries[]): string {
  let out = `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
  for (const [pairs, value] of series) {
    const labels = renderLabels(pairs);
    out += labels === '' ? `${name} ${value}\n` : `${name}{${labels}} ${value}\n`;
  }
  return out;
}

const renderedCache = new Map<string, Record<string, string>>();

/** The pairs of `a="x",b="y"` as renderLabels wrote them (escapes undone); cached, as a family's few label sets repeat every tick. */
export function parseRenderedLabels(text: string): Readonly<Record<string, string>> {
  let out = renderedCache.get(text);
  if (!out) {
    out = {};
    for (const m of text.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) out[m[1]] = m[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    if (renderedCache.size < 10_000) renderedCache.set(text, out);
  }
  return out;
}

const POWERS = [1n, 10n, 100n, 1000n, 10_000n, 100_000n, 1_000_000n, 10_000_000n, 100_000_000n, 1_000_000_000n];

/** v / 10^digits as an exact decimal string (0 ≤ digits ≤ 9): 1629238032 ns, 9 → "1.629238032". */
export function scaledDecimal(v: bigint, digits: number): string {
  const unit = POWERS[digits];
  const whole = v / unit;
  const frac = v % unit;
  if (frac === 0n) return whole.toString();
  return `${whole}.${frac.toString().padStart(digits, '0').replace(/0+$/, '')}`;
}

export const nsToSeconds = (ns: bigint): string => scaledDecimal(ns, 9);
export const usToSeconds = (us: bigint): string => scaledDecimal(us, 6);
