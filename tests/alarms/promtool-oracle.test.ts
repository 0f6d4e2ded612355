/**
 * Oracle for rule semantics: the same rule files and input series go through cstats' engine and
 * through `promtool test rules` (Debian's prometheus 2.42). cstats' results at every evaluation
 * (which alerts are pending and firing with which labels: ALERTS; when each became active:
 * ALERTS_FOR_STATE; the firing alerts' labels and annotations) are written as the test's
 * expectations, and promtool must pass them. Covers for, keep_firing_for, gaps (beyond and
 * within the 5 m lookback), staleness markers, counter resets, rate/irate/increase,
 * *_over_time, aggregations, vector matching, set operators and templates.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { SeriesDB } from '../../src/alarms/promql/series.js';
import { DEFAULT_LOOKBACK_MS } from '../../src/alarms/promql/eval.js';
import { compileGroups } from '../../src/alarms/prometheus-rules.js';
import { AlertingRule } from '../../src/alarms/rule.js';
import { loadSeriesNotation } from './notation.js';

interface Case {
  name: string;
  intervalMs: number;
  evalIntervalMs: number;
  steps: number;
  series: Array<{ series: string; values: string }>;
  groups: unknown[];
}

const CASES: Case[] = [
  {
    name: 'rate over a counter with a reset, for 2m',
    intervalMs: 15_000,
    evalIntervalMs: 15_000,
    steps: 40,
    series: [
      { series: 'container_cpu_usage_seconds_total{cpu="total",id="/docker/a",image="busybox",name="a"}', values: seq(0, 40, (i) => (i < 20 ? i * 12 : (i - 20) * 12 + 3)) },
      { series: 'container_cpu_usage_seconds_total{cpu="total",id="/docker/b",image="busybox",name="b"}', values: seq(0, 40, (i) => i * 3) },
    ],
    groups: [
      {
        name: 'cpu',
        rules: [
          {
            alert: 'ContainerBusy',
            expr: 'rate(container_cpu_usage_seconds_total{name!=""}[1m]) > 0.5',
            for: '2m',
            labels: { severity: 'warning', container: '{{ $labels.name }}' },
            annotations: { summary: 'CPU of {{ $labels.name }} is {{ $value }}', pretty: '{{ $value | humanize }} cores' },
          },
          { alert: 'IncreaseHigh', expr: 'increase(container_cpu_usage_seconds_total[2m]) >= 20', for: '30s' },
          { alert: 'IrateHigh', expr: 'irate(container_cpu_usage_seconds_total[1m]) > 0.7' },
        ],
      },
    ],
  },
  {
    name: 'gaps, staleness and keep_firing_for',
    intervalMs: 60_000,
    evalIntervalMs: 60_000,
    steps: 30,
    series: [
      { series: 'container_memory_working_set_bytes{id="/docker/a",name="a"}', values: '10 90 90 90 _ _ _ _ _ _ _ 90 90 10 10 10 90 90 stale 90 90 90 10 10 10 10 10 10 10 10 10' },
      { series: 'container_spec_memory_limit_bytes{id="/docker/a",name="a"}', values: rep('100', 31) },
      { series: 'container_memory_working_set_bytes{id="/docker/b",name="b"}', values: '95 95 95 95 95 95 95 95 1000000 2500000 1234567 95 95 _ _ _ _ _ _ _ 95 95 95 95 95 95 95 95 95 95 95' },
      { series: 'container_spec_memory_limit_bytes{id="/docker/b",name="b"}', values: rep('100', 31) },
    ],
    groups: [
      {
        name: 'memory',
        rules: [
          {
            alert: 'MemoryNearLimit',
            expr: 'container_memory_working_set_bytes / container_spec_memory_limit_bytes > 0.8',
            for: '2m',
            keep_firing_for: '3m',
            annotations: { ratio: '{{ $value | humanizePercentage }}', raw: '{{ $value }}' },
          },
          { alert: 'WorkingSetPresent', expr: 'last_over_time(container_memory_working_set_bytes[2m]) > 50', keep_firing_for: '2m' },
          { alert: 'Big', expr: 'container_memory_working_set_bytes > 100', annotations: { v: 'value {{ $value }} of {{ $labels.name }} ({{ $labels.missing }})', f: '{{ printf "%.2f" $value }}' } },
        ],
      },
    ],
  },
  {
    name: 'aggregations, matching and set operators',
    intervalMs: 30_000,
    evalIntervalMs: 60_000,
    steps: 20,
    series: [
      { series: 'container_cpu_usage_seconds_total{cpu="total",id="/a",image="web",name="a"}', values: seq(0, 40, (i) => i * 20) },
      { series: 'container_cpu_usage_seconds_total{cpu="total",id="/b",image="web",name="b"}', values: seq(0, 40, (i) => i * (i > 20 ? 30 : 5)) },
      { series: 'container_cpu_usage_seconds_total{cpu="total",id="/c",image="db",name="c"}', values: seq(0, 40, (i) => i * 1) },
      { series: 'container_spec_cpu_quota{id="/a",image="web",name="a"}', values: rep('50000', 41) },
      { series: 'container_spec_cpu_quota{id="/b",image="web",name="b"}', values: rep('100000', 41) },
      { series: 'container_spec_cpu_period{id="/a",image="web",name="a"}', values: rep('100000', 41) },
      { series: 'container_spec_cpu_period{id="/b",image="web",name="b"}', values: rep('100000', 41) },
      { series: 'container_memory_working_set_bytes{id="/a",image="web",name="a"}', values: seq(0, 40, (i) => 1000 * i) },
      { series: 'container_memory_working_set_bytes{id="/c",image="db",name="c"}', values: seq(0, 40, (i) => 500 * i) },
    ],
    groups: [
      {
        name: 'agg',
        rules: [
          { alert: 'ImageCpu', expr: 'sum by (image) (rate(container_cpu_usage_seconds_total[1m])) > 0.5', labels: { severity: 'page' } },
          { alert: 'AvgCpu', expr: 'avg without (id, name, cpu) (rate(container_cpu_usage_seconds_total[2m])) >= 0.4', for: '1m' },
          { alert: 'MaxMin', expr: 'max(container_memory_working_set_bytes) - min(container_memory_working_set_bytes) > 10000' },
          { alert: 'CountAll', expr: 'count(container_memory_working_set_bytes > 3000) >= 2' },
          {
            alert: 'CpuOfLimit',
            expr:
              'sum by (id, name) (rate(container_cpu_usage_seconds_total[1m])) / on (id, name) (container_spec_cpu_quota / container_spec_cpu_period) > 0.3',
            annotations: { pct: '{{ $value | humanizePercentage }}' },
          },
          { alert: 'BusyAndBig', expr: 'rate(container_cpu_usage_seconds_total[1m]) > 0.3 and ignoring(cpu) container_memory_working_set_bytes > 5000' },
          { alert: 'BusyOrBig', expr: 'rate(container_cpu_usage_seconds_total[1m]) > 0.9 or on(name) container_memory_working_set_bytes > 15000' },
          { alert: 'BusyUnlessWeb', expr: 'rate(container_cpu_usage_seconds_total[90s]) > 0 unless on(image) container_spec_cpu_quota' },
          { alert: 'OverTime', expr: 'avg_over_time(container_memory_working_set_bytes[3m]) > 5000 and max_over_time(container_memory_working_set_bytes[3m]) < 12000 and min_over_time(container_memory_working_set_bytes[1m]) > 0' },
          { alert: 'Arith', expr: '(container_memory_working_set_bytes * 2 + 100) % 7000 > bool 3000 == 1' },
          { alert: 'Counts', expr: 'count_over_time(container_memory_working_set_bytes[2m]) + sum_over_time(container_memory_working_set_bytes[1m]) / 1e4 > 4', for: '2m' },
          { alert: 'Changes', expr: 'changes(container_spec_cpu_quota[5m]) == 0 and resets(container_cpu_usage_seconds_total[5m]) < 1' },
          { alert: 'Delta', expr: 'delta(container_memory_working_set_bytes[2m]) > 3500 and idelta(container_memory_working_set_bytes[2m]) > 0' },
          { alert: 'Clamp', expr: 'clamp_max(abs(-container_memory_working_set_bytes), 8000) >= 8000 unless floor(container_memory_working_set_bytes / 1e4) > 1' },
          { alert: 'ScalarTime', expr: 'container_memory_working_set_bytes > scalar(max(container_memory_working_set_bytes)) / 2 + time() * 0' },
          { alert: 'Offset', expr: 'container_memory_working_set_bytes offset 2m > 5000' },
          { alert: 'Pow', expr: '-2 ^ 2 + container_memory_working_set_bytes{name=~"a|c"} > 4000' },
        ],
      },
    ],
  },
];

function seq(from: number, to: number, f: (i: number) => number): string {
  const out: string[] = [];
  for (let i = from; i <= to; i++) out.push(String(f(i)));
  return out.join(' ');
}

function rep(v: string, n: number): string {
  return Array(n).fill(v).join(' ');
}

const labelText = (name: string, labels: Record<string, string>): string =>
  `${name}{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',')}}`;

const fmt = (ms: number): string => `${ms / 1000}s`;

for (const c of CASES) {
  test(`promtool oracle: ${c.name}`, () => {
    const db = new SeriesDB();
    for (const s of c.series) loadSeriesNotation(db, s.series, s.values, c.intervalMs);
    const compiled = compileGroups(c.groups, () => true);
    assert.deepEqual(compiled.errors, []);
    const rules = compiled.rules.map((r) => new AlertingRule(r));
    const promql: unknown[] = [];
    const alertTests: unknown[] = [];
    let firings = 0;
    for (let step = 0; step <= c.steps; step++) {
      const t = step * c.evalIntervalMs;
      for (const r of rules) r.eval({ db, t, lookbackMs: DEFAULT_LOOKBACK_MS });
      const alerts = rules.flatMap((r) => r.alerts());
      promql.push({
        expr: 'ALERTS',
        eval_time: fmt(t),
        exp_samples: alerts.map((a) => ({ labels: labelText('ALERTS', { ...a.labels, alertstate: a.state }), value: 1 })),
      });
      promql.push({
        expr: 'ALERTS_FOR_STATE',
        eval_time: fmt(t),
        exp_samples: alerts.map((a) => ({ labels: labelText('ALERTS_FOR_STATE', a.labels), value: a.activeAt! / 1000 })),
      });
      for (const r of rules) {
        const firing = r.alerts().filter((a) => a.state === 'firing');
        firings += firing.length;
        alertTests.push({ eval_time: fmt(t), alertname: r.spec.name, exp_alerts: firing.map((a) => ({ exp_labels: a.labels, exp_annotations: a.annotations })) });
      }
    }
    // The case must exercise something: alerts that fire.
    assert.ok(firings > 0, 'no alert fired: the case tests nothing');
    const dir = mkdtempSync(join(tmpdir(), 'cs13-oracle-'));
    try {
      writeFileSync(join(dir, 'rules.yml'), stringify({ groups: c.groups }));
      writeFileSync(
        join(dir, 'test.yml'),
        stringify({
          rule_files: ['rules.yml'],
          evaluation_interval: fmt(c.evalIntervalMs),
          tests: [{ interval: fmt(c.intervalMs), input_series: c.series, promql_expr_test: promql, alert_rule_test: alertTests }],
        }),
      );
      let output = '';
      try {
        output = execFileSync('promtool', ['test', 'rules', 'test.yml'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string };
        assert.fail(`promtool disagrees with cstats:\n${e.stdout ?? ''}${e.stderr ?? ''}`.slice(0, 6000));
      }
      assert.match(output, /SUCCESS/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
