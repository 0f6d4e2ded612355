/**
 * Front end 2: threshold alarms in aodh's model, compiled to the same RuleSpec as Prometheus
 * rules. An alarm names one of cstats' derived figures, a container selector, an aggregation
 * over a window (aodh's granularity), how many consecutive windows must breach
 * (evaluation_periods), a comparison and threshold, a severity, actions per state (alarm, ok,
 * insufficient data), repeat_actions and time constraints. It becomes
 *
 *   max by (id, name) (AGG(cstats_METRIC{selector}[window])) OP threshold    for: window × (periods − 1)
 *
 * evaluated per container, with `count_over_time` over the same window telling `ok` from
 * `insufficient data`.
 */
import { parsePromQL } from './promql/parser.js';
import { DERIVED_METRICS } from './ingest.js';
import { actionFromUrl, type ActionSpec } from './actions.js';
import { validateTimezone, parseCron, type TimeConstraint } from './cron.js';
import { RuleError, durationField } from './prometheus-rules.js';
import { compileTemplate } from './template.js';
import type { RuleSpec } from './rule.js';

export const AGGREGATIONS = { mean: 'avg_over_time', max: 'max_over_time', min: 'min_over_time', last: 'last_over_time', rate: 'delta' } as const;
export const COMPARISONS = { gt: '>', ge: '>=', lt: '<', le: '<=', eq: '==', ne: '!=' } as const;
export const SEVERITIES = ['low', 'moderate', 'critical'] as const;

export interface Selector {
  name?: string;
  /** A shell-style pattern: `*` any run, `?` one character. */
  namePattern?: string;
  labels?: Record<string, string>;
  composeProject?: string;
  pod?: string;
  namespace?: string;
  runtime?: string;
}

/** A threshold alarm as stored and served (the REST API's body, the rules file's `alarms:` entries). */
export interface ThresholdAlarm {
  name: string;
  description?: string;
  enabled: boolean;
  metric: string;
  selector: Selector;
  aggregation: keyof typeof AGGREGATIONS;
  window: string;
  evaluationPeriods: number;
  comparison: keyof typeof COMPARISONS;
  threshold: number;
  severity: (typeof SEVERITIES)[number];
  actions: { alarm: string[]; ok: string[]; insufficientData: string[] };
  repeatActions: boolean;
  timeConstraints: TimeConstraint[];
}

/** Metric names threshold alarms accept: the derived figures without their `cstats_` prefix. */
export const THRESHOLD_METRICS = Object.keys(DERIVED_METRICS).map((n) => n.replace(/^cstats_/, ''));

const FIELDS = new Set(['name', 'description', 'enabled', 'metric', 'selector', 'aggregation', 'window', 'evaluationPeriods', 'comparison', 'threshold', 'severity', 'actions', 'repeatActions', 'timeConstraints']);
const SELECTOR_FIELDS = new Set(['name', 'namePattern', 'labels', 'composeProject', 'pod', 'namespace', 'runtime']);

function str(raw: unknown, what: string): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || raw === '') throw new RuleError(`${what}: expected a non-empty string`);
  return raw;
}

function oneOf<T extends string>(raw: unknown, allowed: readonly T[], what: string, fallback: T): T {
  if (raw === undefined) return fallback;
  if (!allowed.includes(raw as T)) throw new RuleError(`${what}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`);
  return raw as T;
}

function actionList(raw: unknown, what: string, named: ReadonlyMap<string, ActionSpec>): string[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw) || raw.some((a) => typeof a !== 'string')) throw new RuleError(`${what}: expected a list of action names or URLs`);
  for (const a of raw as string[]) {
    if (named.has(a)) continue;
    try {
      actionFromUrl(a);
    } catch (err) {
      throw new RuleError(`${what}: "${a}" is neither a defined action nor a supported URL: ${(err as Error).message}`);
    }
  }
  return raw as string[];
}

/** Validates a threshold alarm definition; every error names the alarm. */
export function validateThreshold(raw: unknown, named: ReadonlyMap<string, ActionSpec>): ThresholdAlarm {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new RuleError('alarm: expected a map');
  const a = raw as Record<string, unknown>;
  const name = a.name;
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.:-]{1,128}$/.test(name)) throw new RuleError(`alarm ${JSON.stringify(name)}: "name" must be 1-128 characters of letters, digits, _ . : -`);
  try {
    for (const k of Object.keys(a)) if (!FIELDS.has(k)) throw new RuleError(`unknown field "${k}"`);
    const metric = String(a.metric ?? '').replace(/^cstats_/, '');
    if (!THRESHOLD_METRICS.includes(metric)) throw new RuleError(`metric: unknown metric ${JSON.stringify(a.metric)}; known: ${THRESHOLD_METRICS.join(', ')}`);
    const sel = (a.selector ?? {}) as Record<string, unknown>;
    if (typeof sel !== 'object' || Array.isArray(sel)) throw new RuleError('selector: expected a map');
    for (const k of Object.keys(sel)) if (!SELECTOR_FIELDS.has(k)) throw new RuleError(`selector: unknown field "${k}"`);
    if (sel.labels !== undefined && (typeof sel.labels !== 'object' || sel.labels === null || Object.values(sel.labels).some((v) => typeof v !== 'string'))) {
      throw new RuleError('selector.labels: expected a map of label names to values');
    }
    const selector: Selector = {
      name: str(sel.name, 'selector.name'),
      namePattern: str(sel.namePattern, 'selector.namePattern'),
      labels: sel.labels as Record<string, string> | undefined,
      composeProject: str(sel.composeProject, 'selector.composeProject'),
      pod: str(sel.pod, 'selector.pod'),
      namespace: str(sel.namespace, 'selector.namespace'),
      runtime: str(sel.runtime, 'selector.runtime'),
    };
    for (const k of Object.keys(selector) as Array<keyof Selector>) if (selector[k] === undefined) delete selector[k];
    const window = typeof a.window === 'string' ? a.window : '10s';
    const windowMs = durationField(window, 'window');
    if (windowMs < 1000) throw new RuleError('window: must be at least 1s');
    const periods = a.evaluationPeriods ?? 1;
    if (!Number.isInteger(periods) || (periods as number) < 1) throw new RuleError('evaluationPeriods: expected a positive integer');
    if (typeof a.threshold !== 'number' || !Number.isFinite(a.threshold)) throw new RuleError('threshold: expected a number');
    const acts = (a.actions ?? {}) as Record<string, unknown>;
    if (typeof acts !== 'object' || Array.isArray(acts)) throw new RuleError('actions: expected a map of state to list of actions');
    for (const k of Object.keys(acts)) if (!['alarm', 'ok', 'insufficientData'].includes(k)) throw new RuleError(`actions: unknown state "${k}" (alarm, ok, insufficientData)`);
    const tcs = a.timeConstraints ?? [];
    if (!Array.isArray(tcs)) throw new RuleError('timeConstraints: expected a list');
    const timeConstraints = tcs.map((tc, i) => {
      const t = tc as Record<string, unknown>;
      const what = `timeConstraints[${i}]`;
      if (typeof t !== 'object' || t === null) throw new RuleError(`${what}: expected a map`);
      const start = str(t.start, `${what}.start`);
      if (!start) throw new RuleError(`${what}.start: required (a cron expression)`);
      try {
        parseCron(start);
      } catch (err) {
        throw new RuleError(`${what}.start: ${(err as Error).message}`);
      }
      const durationS = t.duration;
      if (typeof durationS !== 'number' || !(durationS > 0) || durationS > 7 * 86_400) throw new RuleError(`${what}.duration: seconds, between 1 and 604800`);
      const timezone = str(t.timezone, `${what}.timezone`) ?? 'UTC';
      try {
        validateTimezone(timezone);
      } catch (err) {
        throw new RuleError(`${what}.timezone: ${(err as Error).message}`);
      }
      return { name: str(t.name, `${what}.name`) ?? `constraint${i + 1}`, start, durationS, timezone };
    });
    if (a.description !== undefined && typeof a.description !== 'string') throw new RuleError('description: expected a string');
    if (a.enabled !== undefined && typeof a.enabled !== 'boolean') throw new RuleError('enabled: expected true or false');
    if (a.repeatActions !== undefined && typeof a.repeatActions !== 'boolean') throw new RuleError('repeatActions: expected true or false');
    const alarm: ThresholdAlarm = {
      name,
      description: a.description as string | undefined,
      enabled: a.enabled !== false,
      metric,
      selector,
      aggregation: oneOf(a.aggregation, Object.keys(AGGREGATIONS) as Array<keyof typeof AGGREGATIONS>, 'aggregation', 'mean'),
      window,
      evaluationPeriods: periods as number,
      comparison: oneOf(a.comparison, Object.keys(COMPARISONS) as Array<keyof typeof COMPARISONS>, 'comparison', 'gt'),
      threshold: a.threshold,
      severity: oneOf(a.severity, SEVERITIES, 'severity', 'low'),
      actions: {
        alarm: actionList(acts.alarm, 'actions.alarm', named),
        ok: actionList(acts.ok, 'actions.ok', named),
        insufficientData: actionList(acts.insufficientData, 'actions.insufficientData', named),
      },
      repeatActions: a.repeatActions === true,
      timeConstraints,
    };
    compileThreshold(alarm);
    return alarm;
  } catch (err) {
    throw new RuleError(`alarm "${name}": ${(err as Error).message}`);
  }
}

const quote = (s: string): string => JSON.stringify(s);
const globToRegex = (glob: string): string => glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
const sanitize = (k: string): string => k.replace(/[^a-zA-Z0-9_]/g, '_');

/** The PromQL label matchers of a selector ({name=~".+"} when it selects every container). */
export function selectorMatchers(s: Selector): string {
  const m: string[] = [];
  if (s.name !== undefined) m.push(`name=${quote(s.name)}`);
  if (s.namePattern !== undefined) m.push(`name=~${quote(globToRegex(s.namePattern))}`);
  for (const [k, v] of Object.entries(s.labels ?? {})) m.push(`container_label_${sanitize(k)}=${quote(v)}`);
  if (s.composeProject !== undefined) m.push(`compose_project=${quote(s.composeProject)}`);
  if (s.pod !== undefined) m.push(`pod=${quote(s.pod)}`);
  if (s.namespace !== undefined) m.push(`namespace=${quote(s.namespace)}`);
  if (s.runtime !== undefined) m.push(`runtime=${quote(s.runtime)}`);
  if (m.length === 0) m.push('name=~".+"');
  return `{${m.join(',')}}`;
}

/** The RuleSpec an alarm runs as. */
export function compileThreshold(a: ThresholdAlarm): RuleSpec {
  const windowMs = durationField(a.window, 'window');
  const series = `cstats_${a.metric}${selectorMatchers(a.selector)}[${a.window}]`;
  const agg = a.aggregation === 'rate' ? `delta(${series}) / ${windowMs / 1000}` : `${AGGREGATIONS[a.aggregation]}(${series})`;
  const exprText = `max by (id, name) (${agg}) ${COMPARISONS[a.comparison]} ${a.threshold}`;
  return {
    name: a.name,
    group: 'threshold',
    source: 'threshold',
    exprText,
    expr: parsePromQL(exprText),
    presence: parsePromQL(`count by (id, name) (count_over_time(${series}))`),
    forMs: windowMs * (a.evaluationPeriods - 1),
    keepFiringForMs: 0,
    labels: { severity: compileTemplate(a.severity) },
    annotations: a.description ? { description: compileTemplate(a.description) } : {},
  };
}
