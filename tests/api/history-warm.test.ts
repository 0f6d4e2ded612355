/**
 * The start's warm-up of the history answers (history-warm.ts): its made-up answers must reach
 * every path a real answer takes, or V8 compiles those paths at the first real query after all.
 * Whether that makes the first query faster is measured by bench/persist/restart.js, not here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HistoryWarmUp, warmHistoryAnswers } from '../../src/api/history-warm.js';
import { historyMetricNames } from '../../src/store/store.js';
import { createLogger } from '../../src/log.js';

interface Body {
  tier: string;
  stepMs: number | null;
  timestamps: number[];
  series: Record<string, (number | null)[]>;
  min?: Record<string, (number | null)[]>;
}

test('warm-up: a day of points, a day of one metric and a month of buckets, with every kind of number the writer tells apart', () => {
  const [day, one, month] = new HistoryWarmUp(historyMetricNames).round().map((chunks) => Buffer.concat(chunks).toString());
  const d = JSON.parse(day) as Body;
  assert.equal(d.tier, 'raw');
  assert.equal(d.stepMs, null);
  assert.equal(d.timestamps.length, 4800, 'every raw row in the range');
  assert.deepEqual(Object.keys(d.series), historyMetricNames);
  const o = JSON.parse(one) as Body;
  assert.deepEqual(Object.keys(o.series), [historyMetricNames[0]]);
  assert.deepEqual(o.series[historyMetricNames[0]], d.series[historyMetricNames[0]], 'one metric decoded alone, as in the full answer');
  const m = JSON.parse(month) as Body;
  assert.equal(m.tier, '1m');
  assert.equal(m.stepMs, 60_000);
  assert.equal(m.timestamps.length, 2401);
  assert.ok(m.min, 'the four statistics');
  // The number writer's branches (api/json.ts): null, negatives, integers up to 1e8 and past it
  // (past 2^31 too), and fractions; each in the day's answer.
  const values = Object.values(d.series).flat();
  assert.ok(values.includes(null), 'null');
  assert.ok(values.some((v) => v !== null && v < 0 && Number.isInteger(v)), 'a negative integer');
  assert.ok(values.some((v) => v !== null && Number.isInteger(v) && v > 0 && v < 1e8), 'an integer below 1e8');
  assert.ok(values.some((v) => v !== null && Number.isInteger(v) && v >= 1e8 && v < 2 ** 31), 'an integer from 1e8 to 2^31');
  assert.ok(values.some((v) => v !== null && Number.isInteger(v) && v > 2 ** 31), 'an integer past 2^31');
  assert.ok(values.some((v) => v !== null && !Number.isInteger(v)), 'a fraction');
});

test('warm-up at start: its rounds run between other work and end with one line', async () => {
  const lines: string[] = [];
  warmHistoryAnswers(historyMetricNames, createLogger((l) => lines.push(l)));
  assert.deepEqual(lines, [], 'nothing runs before the caller returns to the event loop');
  for (let i = 0; i < 200 && lines.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
  assert.equal(lines.length, 1);
  assert.match(lines[0], /history answers compiled on a made-up series in \d+ ms/);
});
