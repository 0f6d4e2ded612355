/**
 * promtool's input series, loaded into the engine's series store: `name{l="v",...}` and
 * space-separated values at `intervalMs` from time 0, where `_` is no sample and `stale` a
 * staleness marker (the subset of promtool's expanding notation these tests write).
 */
import { parsePromQL } from '../../src/alarms/promql/parser.js';
import type { SeriesDB } from '../../src/alarms/promql/series.js';

export function loadSeriesNotation(db: SeriesDB, seriesText: string, values: string, intervalMs: number): void {
  const sel = parsePromQL(seriesText);
  if (sel.kind !== 'selector' || sel.name === undefined) throw new Error(`not a series: ${seriesText}`);
  const labels: Record<string, string> = { __name__: sel.name };
  for (const m of sel.matchers) labels[m.name] = m.value;
  const series = db.series(labels);
  values
    .trim()
    .split(/\s+/)
    .forEach((v, i) => {
      if (v === '_') return;
      if (v === 'stale') series.appendStale(i * intervalMs);
      else series.append(i * intervalMs, Number(v));
    });
}
