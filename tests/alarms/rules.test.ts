/**
 * Loading rules: every refused rule is named with its reason and the others load; threshold
 * alarms compile to the expression they document; time constraints; the REST view of errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileRuleSet, loadRulesFile } from '../../src/alarms/rulefile.js';
import { compileThreshold, validateThreshold } from '../../src/alarms/threshold.js';
import { ConstraintWindow } from '../../src/alarms/cron.js';

test('bad Prometheus rules are refused one by one, each error naming group and rule', () => {
  const set = compileRuleSet({
    groups: [
      {
        name: 'g',
        rules: [
          { alert: 'Good', expr: 'rate(container_cpu_usage_seconds_total[1m]) > 1', for: '5m' },
          { alert: 'Syntax', expr: 'container_memory_rss > > 1' },
          { alert: 'UnknownMetric', expr: 'node_cpu_seconds_total > 1' },
          { alert: 'UnknownFunction', expr: 'frobnicate(container_memory_rss)' },
          { alert: 'Unsupported', expr: 'topk(3, container_memory_rss)' },
          { alert: 'Subquery', expr: 'max_over_time(rate(container_cpu_usage_seconds_total[1m])[5m:1m])' },
          { alert: 'BadFor', expr: 'container_memory_rss > 1', for: 'ten minutes' },
          { alert: 'BadTemplate', expr: 'container_memory_rss > 1', annotations: { s: '{{ range $labels }}x{{ end }}' } },
          { alert: 'RangeResult', expr: 'container_memory_rss[5m]' },
          { record: 'job:x:sum', expr: 'sum(container_memory_rss)' },
          { alert: 'Extra', expr: 'container_memory_rss > 1', severity: 'high' },
        ],
      },
    ],
  });
  assert.deepEqual(set.prometheus.map((r) => r.name), ['Good']);
  const byRule = (name: string): string => set.errors.find((e) => e.includes(`"${name}"`)) ?? `(no error for ${name})`;
  assert.match(byRule('Syntax'), /^group "g", rule "Syntax": expr: unexpected ">"$/);
  assert.match(byRule('UnknownMetric'), /unknown metric "node_cpu_seconds_total"/);
  assert.match(byRule('UnknownFunction'), /unknown function with name "frobnicate"/);
  assert.match(byRule('Unsupported'), /rule "Unsupported": expr: aggregation "topk"|function "topk" is not supported/);
  assert.match(byRule('Subquery'), /subqueries are not supported/);
  assert.match(byRule('BadFor'), /rule "BadFor": for: not a valid duration/);
  assert.match(byRule('BadTemplate'), /rule "BadTemplate": annotations.s: unsupported template/);
  assert.match(byRule('RangeResult'), /needs an instant vector or scalar, got matrix/);
  assert.match(byRule('job:x:sum'), /recording rules are not supported/);
  assert.match(byRule('Extra'), /unknown field "severity"/);
  assert.equal(set.errors.length, 10);
});

test('a rules file that is not YAML yields one error with its position; the agent goes on', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs13-rules-'));
  try {
    const f = join(dir, 'rules.yml');
    writeFileSync(f, 'groups:\n  - name: g\n    rules: [\n');
    const set = loadRulesFile(f);
    assert.equal(set.errors.length, 1);
    assert.match(set.errors[0], /rules\.yml: not valid YAML or JSON: .*line/s);
    assert.deepEqual(set.prometheus, []);
    assert.match(loadRulesFile(join(dir, 'missing.yml')).errors[0], /cannot read .*missing\.yml/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('threshold alarms: validation names the alarm; compiled expression as documented', () => {
  const named = new Map();
  assert.throws(() => validateThreshold({ name: 'a', metric: 'cpu_bogus', threshold: 1 }, named), /^RuleError: alarm "a": metric: unknown metric "cpu_bogus"/);
  assert.throws(() => validateThreshold({ name: 'b', metric: 'cpu_percent' }, named), /alarm "b": threshold: expected a number/);
  assert.throws(() => validateThreshold({ name: 'c', metric: 'cpu_percent', threshold: 1, comparison: 'above' }, named), /alarm "c": comparison: expected one of gt, ge, lt, le, eq, ne/);
  assert.throws(() => validateThreshold({ name: 'd', metric: 'cpu_percent', threshold: 1, actions: { alarm: ['ftp://x'] } }, named), /alarm "d": actions.alarm: "ftp:\/\/x" is neither/);
  assert.throws(() => validateThreshold({ name: 'e', metric: 'cpu_percent', threshold: 1, timeConstraints: [{ start: '61 * * * *', duration: 60 }] }, named), /alarm "e": timeConstraints\[0\].start: minute/);
  assert.throws(() => validateThreshold({ name: 'f', metric: 'cpu_percent', threshold: 1, timeConstraints: [{ start: '0 9 * * *', duration: 60, timezone: 'Mars/Base' }] }, named), /unknown time zone/);
  const a = validateThreshold(
    { name: 'shop', metric: 'cstats_memory_percent', threshold: 90, aggregation: 'max', window: '30s', evaluationPeriods: 3, selector: { namePattern: 'web-*', labels: { 'com.example/tier': 'front' }, composeProject: 'shop' } },
    named,
  );
  const spec = compileThreshold(a);
  assert.equal(spec.exprText, 'max by (id, name) (max_over_time(cstats_memory_percent{name=~"web-.*",container_label_com_example_tier="front",compose_project="shop"}[30s])) > 90');
  assert.equal(spec.forMs, 60_000);
  assert.equal(compileThreshold(validateThreshold({ name: 'r', metric: 'pids', threshold: 5, aggregation: 'rate', window: '10s' }, named)).exprText, 'max by (id, name) (delta(cstats_pids{name=~".+"}[10s]) / 10) > 5');
});

test('time constraints: inside the window from each cron start for its duration, in its time zone', () => {
  // Weekdays 09:00-09:30 in Berlin (UTC+1 in December).
  const w = new ConstraintWindow([{ name: 'office', start: '0 9 * * 1-5', durationS: 1800, timezone: 'Europe/Berlin' }]);
  assert.equal(w.inside(Date.parse('2026-12-04T08:10:00Z')), true); // Friday 09:10 Berlin
  assert.equal(new ConstraintWindow([{ name: 'o', start: '0 9 * * 1-5', durationS: 1800, timezone: 'Europe/Berlin' }]).inside(Date.parse('2026-12-04T08:31:00Z')), false);
  assert.equal(new ConstraintWindow([{ name: 'o', start: '0 9 * * 1-5', durationS: 1800, timezone: 'Europe/Berlin' }]).inside(Date.parse('2026-12-05T08:10:00Z')), false); // Saturday
  assert.equal(new ConstraintWindow([]).inside(0), true);
});
