/**
 * One alerting rule and its alerts, with the state machine of Prometheus' rules/alerting.go:
 * a series in the expression's result makes an alert `pending` (activeAt = that evaluation);
 * it turns `firing` once it has been active for `for`; when it leaves the result a firing alert
 * stays firing for `keep_firing_for` (counted from the first evaluation without it), then goes
 * `inactive` (resolvedAt) and is kept for 15 minutes so its resolution can be re-sent; a pending
 * alert that leaves the result is dropped. Threshold rules (aodh's model) add a fourth state,
 * `insufficient`: the container has no data in the rule's window.
 */
import type { Expr } from './promql/parser.js';
import { evaluate, type EvalContext, type Sample } from './promql/eval.js';
import { labelsKey, type Labels } from './promql/series.js';
import type { Template } from './template.js';

export type AlertState = 'inactive' | 'pending' | 'firing' | 'insufficient';

/** Prometheus' resolvedRetention: a resolved alert is kept (and re-sent) this long. */
export const RESOLVED_RETENTION_MS = 15 * 60_000;

export interface Alert {
  key: string;
  /** The alert's labels: the result series' labels without the name, the rule's labels, alertname. */
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: AlertState;
  value: number;
  activeAt?: number;
  firedAt?: number;
  resolvedAt?: number;
  keepFiringSince?: number;
  /** When it was last handed to actions that re-send (Alertmanager). */
  lastSentAt?: number;
  /** When the instance entered its current state. */
  sinceMs?: number;
  /** The aodh state last notified ('insufficient data' before the first) and when. */
  notified?: 'ok' | 'alarm' | 'insufficient data';
  notifiedMs?: number;
  /** Why it last changed state. */
  reason?: string;
  /** Restored from disk and not yet seen in a result since the agent started. */
  restored?: boolean;
}

/** What the engine evaluates: an alerting rule, or the built-in lifecycle alarms. */
export interface EngineRule {
  readonly spec: Pick<RuleSpec, 'name' | 'group' | 'source' | 'exprText' | 'forMs' | 'keepFiringForMs'>;
  readonly active: Map<string, Alert>;
  lastError?: string;
  lastEvalMs?: number;
  /**
   * Evaluates at ctx.t; `skip` names alerts (by their labels) that must not be raised again;
   * `stopped` says why an alert whose condition vanished ended, when its container stopped.
   */
  eval(ctx: EvalContext, skip?: (labels: Labels) => boolean, stopped?: (labels: Labels) => string | undefined): Transition[];
  alerts(): Alert[];
}

/** Ends an alert from outside its rule (its container was removed): inactive, resolved now. */
export function endAlert(a: Alert, atMs: number, reason: string): Transition | undefined {
  if (a.state === 'inactive') return undefined;
  const t: Transition = { alert: a, from: a.state, to: 'inactive', atMs, reason };
  if (a.state === 'firing') a.resolvedAt = atMs;
  a.state = 'inactive';
  a.sinceMs = atMs;
  a.reason = reason;
  a.keepFiringSince = undefined;
  return t;
}

/** A state change, handed to the engine for history and actions. */
export interface Transition {
  alert: Alert;
  from: AlertState;
  to: AlertState;
  atMs: number;
  reason: string;
}

export interface RuleSpec {
  /** The alert name (Prometheus' `alert`, aodh's alarm name). */
  name: string;
  /** Where it came from: a group of a rule file, the REST API, or built in. */
  group: string;
  source: 'prometheus' | 'threshold' | 'lifecycle';
  exprText: string;
  expr: Expr;
  /** Threshold rules: containers with data in the window (their absence is `insufficient`). */
  presence?: Expr;
  forMs: number;
  keepFiringForMs: number;
  labels: Record<string, Template>;
  annotations: Record<string, Template>;
}

export class AlertingRule implements EngineRule {
  readonly active = new Map<string, Alert>();
  /**
   * Until then, alerts restored from disk that the result lacks are left as they are: after a
   * restart a range selector needs its range of fresh samples before `rate` & co. answer again,
   * and a pending `for` or a firing alert must not end for want of data.
   */
  holdRestoredUntil = 0;
  /** The last evaluation's error, if it failed (the rule keeps its alerts as they were). */
  lastError?: string;
  lastEvalMs?: number;

  constructor(readonly spec: RuleSpec) {}

  /** Evaluates at ctx.t; returns the state changes. */
  eval(ctx: EvalContext, skip?: (labels: Labels) => boolean, stopped?: (labels: Labels) => string | undefined): Transition[] {
    let result: Sample[];
    let present: Sample[] | undefined;
    try {
      result = evaluate(this.spec.expr, ctx) as Sample[];
      if (typeof result === 'number') result = [{ labels: {}, v: result }];
      present = this.spec.presence ? (evaluate(this.spec.presence, ctx) as Sample[]) : undefined;
      this.lastError = undefined;
    } catch (err) {
      this.lastError = (err as Error).message;
      return [];
    }
    this.lastEvalMs = ctx.t;
    const ts = ctx.t;
    const out: Transition[] = [];
    const move = (a: Alert, to: AlertState, reason: string): void => {
      if (a.state === to) return;
      out.push({ alert: a, from: a.state, to, atMs: ts, reason });
      a.state = to;
      a.sinceMs = ts;
      a.reason = reason;
    };
    const seen = new Set<string>();
    for (const s of result) {
      if (skip?.(s.labels)) continue;
      const { labels, annotations } = this.expand(s);
      const key = labelsKey(labels);
      seen.add(key);
      const existing = this.active.get(key);
      if (existing) existing.restored = undefined;
      if (existing && existing.state !== 'inactive' && existing.state !== 'insufficient') {
        existing.value = s.v;
        existing.annotations = annotations;
        continue;
      }
      if (existing && existing.state === 'insufficient') {
        // Back with data and over the threshold: counts from now.
        existing.value = s.v;
        existing.annotations = annotations;
        existing.activeAt = ts;
        existing.resolvedAt = undefined;
        existing.keepFiringSince = undefined;
        move(existing, 'pending', 'threshold crossed');
        continue;
      }
      const a: Alert = { key, labels, annotations, state: 'inactive', value: s.v, activeAt: ts, lastSentAt: existing?.lastSentAt, notified: existing?.notified, notifiedMs: existing?.notifiedMs };
      this.active.set(key, a);
      move(a, 'pending', 'threshold crossed');
    }
    const presentKeys = present && new Set(present.filter((s) => !skip?.(s.labels)).map((s) => labelsKey(this.expand(s).labels)));
    for (const [key, a] of this.active) {
      if (presentKeys && skip?.(a.labels)) {
        // A threshold instance of a removed container: ended by the engine, forgotten here.
        this.active.delete(key);
        continue;
      }
      if (!seen.has(key)) {
        if (a.restored && ts < this.holdRestoredUntil) continue;
        let keepFiring = false;
        if (a.state === 'firing' && this.spec.keepFiringForMs > 0) {
          a.keepFiringSince ??= ts;
          if (ts - a.keepFiringSince < this.spec.keepFiringForMs) keepFiring = true;
        }
        if (presentKeys) {
          // Threshold rules keep every instance they have seen: ok, or insufficient without data.
          if (!keepFiring) {
            const to = presentKeys.has(key) ? 'inactive' : 'insufficient';
            if (to === 'inactive' && a.state === 'pending') a.state = 'inactive';
            if (a.state !== to) {
              if (a.state === 'firing') a.resolvedAt = ts;
              move(a, to, to === 'inactive' ? 'back within the threshold' : 'no data in the window');
            }
          }
          if (!keepFiring) continue;
        } else {
          if (a.state === 'pending' || (a.resolvedAt !== undefined && ts - a.resolvedAt > RESOLVED_RETENTION_MS)) this.active.delete(key);
          if (a.state !== 'inactive' && !keepFiring) {
            a.resolvedAt = ts;
            move(a, 'inactive', stopped?.(a.labels) ?? 'condition no longer met');
          }
          if (!keepFiring) continue;
        }
      } else {
        a.keepFiringSince = undefined;
      }
      if (a.state === 'pending' && ts - a.activeAt! >= this.spec.forMs) {
        a.firedAt = ts;
        move(a, 'firing', this.spec.forMs > 0 ? `condition held for ${this.spec.forMs / 1000}s` : 'condition met');
      }
    }
    if (presentKeys) {
      // Instances with data that never crossed: ok from their first evaluation.
      for (const s of present!) {
        if (skip?.(s.labels)) continue;
        const { labels, annotations } = this.expand(s);
        const key = labelsKey(labels);
        if (this.active.has(key)) continue;
        this.active.set(key, { key, labels, annotations, state: 'inactive', value: s.v, sinceMs: ts });
      }
    }
    return out;
  }

  /** The alert's labels and annotations for one result sample (templates see the sample's own labels). */
  private expand(s: Sample): { labels: Record<string, string>; annotations: Record<string, string> } {
    const data = { labels: s.labels as Labels, value: s.v };
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(s.labels)) if (k !== '__name__') labels[k] = v;
    for (const [k, t] of Object.entries(this.spec.labels)) {
      const v = t(data);
      // An empty label value removes the label, as in Prometheus.
      if (v === '') delete labels[k];
      else labels[k] = v;
    }
    labels.alertname = this.spec.name;
    const annotations: Record<string, string> = {};
    for (const [k, t] of Object.entries(this.spec.annotations)) annotations[k] = t(data);
    return { labels, annotations };
  }

  /** Alerts that are pending or firing (what ALERTS shows). */
  alerts(): Alert[] {
    return [...this.active.values()].filter((a) => a.state === 'pending' || a.state === 'firing');
  }
}
