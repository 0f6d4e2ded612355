/**
 * The rules file given with --rules (YAML or JSON; JSON is YAML). A plain Prometheus rule file
 * (only `groups:`) loads as it is; cstats' own keys add named actions, defaults, aodh-style
 * threshold alarms and the lifecycle alarms' settings:
 *
 *   actions:   { NAME: { type: alertmanager|webhook|exec|log, ... } }
 *   defaults:  { actions: [NAME or URL], resendDelay: 1m, repeatInterval: 1m }
 *   groups:    Prometheus alerting rule groups (their alerts go to the default actions)
 *   alarms:    threshold alarms (src/alarms/threshold.ts), each with its own actions per state
 *   lifecycle: { oom: true, exit: true, restartLoop: { restarts: 3, window: 5m } | false,
 *                oomHold: 5m, actions: [...] }
 *
 * Every rule is checked on its own; the file's errors are collected (each naming its rule) and
 * the rules that compiled are used.
 */
import { readFileSync } from 'node:fs';
import { parse, YAMLParseError } from 'yaml';
import { actionFromObject, actionFromUrl, type ActionSpec } from './actions.js';
import { compileGroups, durationField, RuleError } from './prometheus-rules.js';
import { validateThreshold, type ThresholdAlarm } from './threshold.js';
import { DEFAULT_LIFECYCLE, type LifecycleOptions } from './lifecycle.js';
import { isKnownMetric } from './ingest.js';
import type { RuleSpec } from './rule.js';

export interface Defaults {
  /** Actions (names or URLs) of Prometheus rules and lifecycle alarms. */
  actions: string[];
  resendDelayMs: number;
  repeatIntervalMs: number;
}

export const DEFAULT_DEFAULTS: Defaults = { actions: ['log://'], resendDelayMs: 60_000, repeatIntervalMs: 60_000 };

export interface RuleSet {
  actions: Map<string, ActionSpec>;
  defaults: Defaults;
  prometheus: RuleSpec[];
  alarms: ThresholdAlarm[];
  lifecycle: LifecycleOptions & { actions?: string[] };
  errors: string[];
}

const TOP_KEYS = new Set(['groups', 'alarms', 'actions', 'defaults', 'lifecycle']);

export function emptyRuleSet(): RuleSet {
  return { actions: new Map(), defaults: { ...DEFAULT_DEFAULTS }, prometheus: [], alarms: [], lifecycle: { ...DEFAULT_LIFECYCLE }, errors: [] };
}

/** Resolves an action reference: a name from `actions:` or an aodh-style URL. */
export function resolveAction(ref: string, named: ReadonlyMap<string, ActionSpec>): ActionSpec {
  return named.get(ref) ?? actionFromUrl(ref);
}

function actionRefs(raw: unknown, what: string, named: ReadonlyMap<string, ActionSpec>): string[] {
  if (!Array.isArray(raw) || raw.some((a) => typeof a !== 'string')) throw new RuleError(`${what}: expected a list of action names or URLs`);
  for (const r of raw as string[]) {
    try {
      resolveAction(r, named);
    } catch (err) {
      throw new RuleError(`${what}: "${r}" is neither a defined action nor a supported URL: ${(err as Error).message}`);
    }
  }
  return raw as string[];
}

function isMap(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Compiles a parsed rules document. */
export function compileRuleSet(doc: unknown): RuleSet {
  const set = emptyRuleSet();
  if (doc === null || doc === undefined) return set;
  if (!isMap(doc)) {
    set.errors.push('expected a map with groups:, alarms:, actions:, defaults: or lifecycle:');
    return set;
  }
  for (const k of Object.keys(doc)) if (!TOP_KEYS.has(k)) set.errors.push(`unknown top-level key "${k}" (groups, alarms, actions, defaults, lifecycle)`);
  if (doc.actions !== undefined) {
    if (!isMap(doc.actions)) set.errors.push('actions: expected a map of names to actions');
    else
      for (const [name, a] of Object.entries(doc.actions)) {
        try {
          set.actions.set(name, actionFromObject(a, `action "${name}"`));
        } catch (err) {
          set.errors.push((err as Error).message);
        }
      }
  }
  if (doc.defaults !== undefined) {
    try {
      if (!isMap(doc.defaults)) throw new RuleError('expected a map');
      const d = doc.defaults;
      for (const k of Object.keys(d)) if (!['actions', 'resendDelay', 'repeatInterval'].includes(k)) throw new RuleError(`unknown key "${k}"`);
      if (d.actions !== undefined) set.defaults.actions = actionRefs(d.actions, 'actions', set.actions);
      if (d.resendDelay !== undefined) set.defaults.resendDelayMs = durationField(d.resendDelay, 'resendDelay');
      if (d.repeatInterval !== undefined) set.defaults.repeatIntervalMs = durationField(d.repeatInterval, 'repeatInterval');
    } catch (err) {
      set.errors.push(`defaults: ${(err as Error).message}`);
    }
  }
  if (doc.groups !== undefined) {
    const c = compileGroups(doc.groups, isKnownMetric);
    set.prometheus = c.rules;
    set.errors.push(...c.errors);
  }
  if (doc.alarms !== undefined) {
    if (!Array.isArray(doc.alarms)) set.errors.push('alarms: expected a list of threshold alarms');
    else
      for (const a of doc.alarms) {
        try {
          set.alarms.push(validateThreshold(a, set.actions));
        } catch (err) {
          set.errors.push((err as Error).message);
        }
      }
  }
  if (doc.lifecycle !== undefined) {
    try {
      if (!isMap(doc.lifecycle)) throw new RuleError('expected a map');
      const l = doc.lifecycle;
      for (const k of Object.keys(l)) if (!['oom', 'exit', 'restartLoop', 'oomHold', 'actions'].includes(k)) throw new RuleError(`unknown key "${k}"`);
      for (const k of ['oom', 'exit'] as const) {
        if (l[k] !== undefined && typeof l[k] !== 'boolean') throw new RuleError(`${k}: expected true or false`);
        if (l[k] !== undefined) set.lifecycle[k] = l[k] as boolean;
      }
      if (l.restartLoop === false) set.lifecycle.restarts = 0;
      else if (l.restartLoop !== undefined) {
        if (!isMap(l.restartLoop)) throw new RuleError('restartLoop: expected { restarts: N, window: DURATION } or false');
        const n = l.restartLoop.restarts ?? DEFAULT_LIFECYCLE.restarts;
        if (!Number.isInteger(n) || (n as number) < 1) throw new RuleError('restartLoop.restarts: expected a positive integer');
        set.lifecycle.restarts = n as number;
        if (l.restartLoop.window !== undefined) set.lifecycle.restartWindowMs = durationField(l.restartLoop.window, 'restartLoop.window');
      }
      if (l.oomHold !== undefined) set.lifecycle.oomHoldMs = durationField(l.oomHold, 'oomHold');
      if (l.actions !== undefined) set.lifecycle.actions = actionRefs(l.actions, 'actions', set.actions);
    } catch (err) {
      set.errors.push(`lifecycle: ${(err as Error).message}`);
    }
  }
  const names = new Set<string>();
  for (const n of [...set.prometheus.map((r) => r.name), ...set.alarms.map((a) => a.name)]) {
    if (names.has(n) && set.alarms.some((a) => a.name === n)) set.errors.push(`alarm "${n}": the name is also used by another rule; alarm names must be unique`);
    names.add(n);
  }
  set.alarms = set.alarms.filter((a, i) => set.alarms.findIndex((b) => b.name === a.name) === i && !set.prometheus.some((r) => r.name === a.name));
  return set;
}

/** Reads and compiles a rules file; a file that cannot be read or parsed yields only an error. */
export function loadRulesFile(path: string): RuleSet {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { ...emptyRuleSet(), errors: [`cannot read ${path}: ${(err as Error).message}`] };
  }
  let doc: unknown;
  try {
    doc = parse(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    const msg = err instanceof YAMLParseError ? err.message : String(err);
    return { ...emptyRuleSet(), errors: [`${path}: not valid YAML or JSON: ${msg}`] };
  }
  const set = compileRuleSet(doc);
  set.errors = set.errors.map((e) => `${path}: ${e}`);
  return set;
}
