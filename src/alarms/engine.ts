/**
 * The alarm engine: one set of rules (Prometheus rules from the rules file, threshold alarms from
 * the file and the REST API, the built-in lifecycle alarms), evaluated after every collector tick
 * over the samples that tick stored, so a state changes at most one tick after the sample that
 * crosses a threshold. State changes become aodh-style notifications to each alarm's actions
 * (ok, alarm, insufficient data; repeated when asked) and, for Alertmanager, Prometheus' sending
 * (firing alerts re-sent every resendDelay with an endsAt ahead, resolved ones with their endsAt).
 * Alert states, activeAt and what was last notified are kept in <dataDir>/alarms/state.json,
 * so an agent restart neither re-notifies nor forgets a pending `for`.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import type { Store } from '../store/store.js';
import type { LifecycleEvent } from '../store/lifecycle.js';
import { lookbackOf, selectedNames } from './promql/parser.js';
import { DEFAULT_LOOKBACK_MS } from './promql/eval.js';
import { SeriesDB, type Labels } from './promql/series.js';
import { AlertingRule, endAlert, RESOLVED_RETENTION_MS, type Alert, type EngineRule, type Transition } from './rule.js';
import { Ingest } from './ingest.js';
import { familyText, type FamilySeries } from '../api/prometheus-text.js';
import { Dispatcher, type ActionSpec, type AodhState, type Notification } from './actions.js';
import { ConstraintWindow } from './cron.js';
import { compileThreshold, validateThreshold, type ThresholdAlarm } from './threshold.js';
import { LifecycleAlarms, REMOVED_REASON } from './lifecycle.js';
import { emptyRuleSet, resolveAction, type RuleSet } from './rulefile.js';
import { RuleError } from './prometheus-rules.js';
import { alarmsDir, readJson, writeJsonAtomic } from './state-file.js';

export interface HistoryEntry {
  type: 'state transition';
  time: string;
  alarmId: string;
  instance: Record<string, string>;
  previous: AodhState;
  current: AodhState;
  reason: string;
  value: number;
}

/** Where a rule came from; only `api` alarms can be changed through the REST API. */
export type Origin = 'file' | 'api' | 'builtin';

interface Loaded {
  rule: EngineRule;
  origin: Origin;
  threshold?: ThresholdAlarm;
  window?: ConstraintWindow;
  /** Actions per aodh state, Alertmanager excepted. */
  byState: Record<AodhState, ActionSpec[]>;
  alertmanagers: ActionSpec[];
  repeat: boolean;
  severity: string;
  history: HistoryEntry[];
}

export interface EngineOptions {
  store: Store;
  log: Logger;
  intervalMs: number;
  labelAllowlist: readonly string[];
  /** The data directory; alarm state is not kept when undefined (--no-persist). */
  dataDir?: string;
  /** Throws (ELOCKLOST) when the data directory is no longer this agent's (DataDir.assertHeld): nothing is written there then. */
  lockCheck?: () => void;
  rules?: RuleSet;
  dispatcher?: Dispatcher;
  lookbackMs?: number;
}

const HISTORY_LIMIT = 500;
const PERSISTED_HISTORY = 100;

const aodhState = (a: Alert): AodhState => (a.state === 'firing' ? 'alarm' : a.state === 'insufficient' ? 'insufficient data' : 'ok');

/** A stable UUID-shaped id of an alarm instance (aodh's alarm_id is a UUID). */
function alarmId(rule: string, key: string): string {
  const h = createHash('sha1').update(`${rule}\u0000${key}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

interface PersistedState {
  version: 1;
  savedAt: string;
  rules: Record<string, { exprText: string; alerts: Alert[]; history: HistoryEntry[] }>;
}

const isState = (x: unknown): x is PersistedState => typeof x === 'object' && x !== null && (x as PersistedState).version === 1 && typeof (x as PersistedState).rules === 'object';
const isAlarmList = (x: unknown): x is unknown[] => Array.isArray(x);

export class AlarmEngine {
  readonly db = new SeriesDB();
  readonly dispatcher: Dispatcher;
  private readonly ingest: Ingest;
  private readonly loaded = new Map<string, Loaded>();
  private readonly lifecycle: LifecycleAlarms;
  private readonly ruleSet: RuleSet;
  private readonly lookbackMs: number;
  /** Removed containers' id labels, and until when their alerts must not be raised again. */
  private readonly removed = new Map<string, number>();
  /**
   * Containers seen to stop, by id label: why. A container's series end when it stops, so the
   * alerts it raised resolve; `docker rm -f` stops it before it is removed, and a tick may see the
   * stop alone. The reason then says it stopped rather than that a condition changed.
   */
  private readonly stopped = new Map<string, string>();
  private readonly pendingEvents: LifecycleEvent[] = [];
  private retentionMs = 0;
  private started = false;
  private dirty = false;
  private restored?: PersistedState;
  readonly stats = { evaluations: 0, lastEvalMs: 0, lastDurationMs: 0, evaluationFailures: 0, persistFailures: 0, notifications: 0 };

  constructor(private readonly opts: EngineOptions) {
    this.ruleSet = opts.rules ?? emptyRuleSet();
    this.lookbackMs = opts.lookbackMs ?? DEFAULT_LOOKBACK_MS;
    this.dispatcher = opts.dispatcher ?? new Dispatcher(opts.log);
    this.ingest = new Ingest(this.db, opts.labelAllowlist);
    this.lifecycle = new LifecycleAlarms(this.ruleSet.lifecycle);
    if (opts.dataDir) this.restored = readJson(join(alarmsDir(opts.dataDir), 'state.json'), opts.log, isState);
    for (const spec of this.ruleSet.prometheus) this.add(new AlertingRule(spec), 'file', this.defaultActions(this.ruleSet.defaults.actions));
    for (const a of this.ruleSet.alarms) this.addThreshold(a, 'file');
    for (const r of this.lifecycle.rules()) this.add(r, 'builtin', this.defaultActions(this.ruleSet.lifecycle.actions ?? this.ruleSet.defaults.actions));
    if (opts.dataDir) {
      const saved = readJson(join(alarmsDir(opts.dataDir), 'alarms.json'), opts.log, isAlarmList) ?? [];
      for (const raw of saved) {
        try {
          const a = validateThreshold(raw, this.ruleSet.actions);
          if (this.loaded.has(a.name)) opts.log.warn('alarms', `alarm "${a.name}" made through the API has the name of a rules-file rule: the file's rule is used`);
          else this.addThreshold(a, 'api');
        } catch (err) {
          opts.log.warn('alarms', `stored alarm refused: ${(err as Error).message}`);
        }
      }
    }
    this.restored = undefined;
    this.refreshInputs();
  }

  /** Errors of the rules file, each naming its rule. */
  get loadErrors(): readonly string[] {
    return this.ruleSet.errors;
  }

  /** Takes one lifecycle event (OOM kill, exit, start, removal); it is acted on at the next evaluation. */
  observe(e: LifecycleEvent): void {
    this.pendingEvents.push(e);
  }

  private defaultActions(refs: readonly string[]): Pick<Loaded, 'byState' | 'alertmanagers'> {
    return this.actionsOf({ alarm: refs, ok: refs, insufficientData: [] });
  }

  private actionsOf(refs: { alarm: readonly string[]; ok: readonly string[]; insufficientData: readonly string[] }): Pick<Loaded, 'byState' | 'alertmanagers'> {
    const am = new Map<string, ActionSpec>();
    const pick = (list: readonly string[]): ActionSpec[] =>
      list.flatMap((ref) => {
        const a = resolveAction(ref, this.ruleSet.actions);
        if (a.type === 'alertmanager') {
          am.set(a.url, a);
          return [];
        }
        return [a];
      });
    const byState = { alarm: pick(refs.alarm), ok: pick(refs.ok), 'insufficient data': pick(refs.insufficientData) };
    return { byState, alertmanagers: [...am.values()] };
  }

  private add(rule: EngineRule, origin: Origin, actions: Pick<Loaded, 'byState' | 'alertmanagers'>, extra: Partial<Loaded> = {}): void {
    const saved = this.restored?.rules[rule.spec.name];
    const history = saved && saved.exprText === rule.spec.exprText ? saved.history : [];
    if (saved && saved.exprText === rule.spec.exprText) for (const a of saved.alerts) rule.active.set(a.key, { ...a, restored: true });
    this.loaded.set(rule.spec.name, { rule, origin, repeat: false, severity: '', history, ...actions, ...extra });
  }

  private addThreshold(a: ThresholdAlarm, origin: Origin): void {
    this.add(new AlertingRule(compileThreshold(a)), origin, this.actionsOf(a.actions), {
      threshold: a,
      window: new ConstraintWindow(a.timeConstraints),
      repeat: a.repeatActions,
      severity: a.severity,
    });
  }

  /** After the rule set changed: the metrics to feed and how far back to keep them. */
  private refreshInputs(): void {
    const names = new Set<string | undefined>();
    let retention = 0;
    for (const l of this.loaded.values()) {
      if (!(l.rule instanceof AlertingRule)) continue;
      for (const e of [l.rule.spec.expr, l.rule.spec.presence]) {
        if (!e) continue;
        selectedNames(e, names);
        retention = Math.max(retention, lookbackOf(e, this.lookbackMs));
      }
    }
    this.ingest.want(names);
    this.retentionMs = retention;
  }

  /** One evaluation at `nowMs`, after a tick has stored its samples. */
  evaluate(nowMs: number): void {
    const started = process.hrtime.bigint();
    if (!this.started) {
      // Restored alerts wait for their rule's ranges to fill with samples again.
      this.started = true;
      for (const l of this.loaded.values()) {
        if (l.rule instanceof AlertingRule) l.rule.holdRestoredUntil = nowMs + lookbackOf(l.rule.spec.expr, 0) + 2 * this.opts.intervalMs;
      }
    }
    this.ingest.tick(this.opts.store, nowMs);
    const transitions = new Map<Loaded, Transition[]>();
    const note = (l: Loaded, t: Transition | undefined): void => {
      if (!t) return;
      let list = transitions.get(l);
      if (!list) transitions.set(l, (list = []));
      list.push(t);
    };
    // Lifecycle events first: a removal ends that container's alerts in every rule, with the reason.
    for (const e of this.pendingEvents.splice(0)) {
      this.lifecycle.observe(e);
      const id = e.cgroupPath;
      if (e.action === 'die') {
        const code = e.info.exitCode;
        this.stopped.set(id, code === undefined ? 'container stopped' : `container stopped (exit code ${code})`);
      } else if (e.action === 'start') this.stopped.delete(id);
      if (e.action !== 'destroy') continue;
      this.stopped.delete(id);
      this.removed.set(id, nowMs + Math.max(this.retentionMs, this.opts.intervalMs) + this.opts.intervalMs);
      for (const l of this.loaded.values()) for (const a of l.rule.active.values()) if (a.labels.id === id) note(l, endAlert(a, nowMs, REMOVED_REASON));
    }
    this.lifecycle.advance(nowMs);
    for (const [id, until] of this.removed) if (until < nowMs) this.removed.delete(id);
    const skip = this.removed.size > 0 ? (labels: Labels) => labels.id !== undefined && this.removed.has(labels.id) : undefined;
    const stopped = this.stopped.size > 0 ? (labels: Labels) => (labels.id === undefined ? undefined : this.stopped.get(labels.id)) : undefined;
    for (const l of this.loaded.values()) {
      if (l.threshold && !l.threshold.enabled) continue;
      if (l.window && !l.window.inside(nowMs)) continue;
      for (const t of l.rule.eval({ db: this.db, t: nowMs, lookbackMs: this.lookbackMs }, skip, stopped)) note(l, t);
      if (l.rule.lastError !== undefined) this.stats.evaluationFailures++;
    }
    this.notify(nowMs, transitions);
    this.db.trim(nowMs - this.retentionMs - this.opts.intervalMs);
    if (this.dirty) this.persist();
    this.stats.evaluations++;
    this.stats.lastEvalMs = nowMs;
    this.stats.lastDurationMs = Number(process.hrtime.bigint() - started) / 1e6;
  }

  private notification(l: Loaded, a: Alert, previous: AodhState, current: AodhState, atMs: number, repeat: boolean): Notification {
    const spec = l.rule.spec;
    const reasonData: Record<string, unknown> = l.threshold
      ? { type: 'threshold', disposition: current === 'alarm' ? 'outside' : current === 'ok' ? 'inside' : 'unknown', count: 1, most_recent: a.value }
      : { type: spec.source, expr: spec.exprText, for: spec.forMs / 1000 };
    return {
      alarmName: spec.name,
      alarmId: alarmId(spec.name, a.key),
      severity: l.severity || a.labels.severity || '',
      previous,
      current,
      reason: a.reason ?? '',
      reasonData,
      labels: a.labels,
      annotations: a.annotations,
      value: a.value,
      startsAt: a.activeAt,
      endsAt: a.state === 'firing' ? undefined : a.resolvedAt,
      atMs,
      repeat,
    };
  }

  private notify(nowMs: number, transitions: Map<Loaded, Transition[]>): void {
    const toAlertmanager = new Map<string, { action: ActionSpec; notes: Notification[] }>();
    const resendDelay = this.ruleSet.defaults.resendDelayMs;
    for (const l of this.loaded.values()) {
      const changed = transitions.get(l) ?? [];
      if (changed.length > 0) this.dirty = true;
      const alerts = new Set<Alert>([...l.rule.active.values(), ...changed.map((t) => t.alert)]);
      for (const a of alerts) {
        const current = aodhState(a);
        const previous = a.notified ?? (l.threshold ? 'insufficient data' : 'ok');
        const changedState = current !== previous;
        const repeat = !changedState && l.repeat && a.notifiedMs !== undefined && nowMs - a.notifiedMs >= this.ruleSet.defaults.repeatIntervalMs;
        if (changedState || repeat) {
          const n = this.notification(l, a, previous, current, nowMs, repeat);
          for (const action of l.byState[current]) this.dispatcher.send(action, [n]);
          this.stats.notifications++;
          a.notified = current;
          a.notifiedMs = nowMs;
          this.dirty = true;
          if (changedState) {
            l.history.push({ type: 'state transition', time: new Date(nowMs).toISOString(), alarmId: n.alarmId, instance: a.labels, previous, current, reason: n.reason, value: a.value });
            if (l.history.length > HISTORY_LIMIT) l.history.splice(0, l.history.length - HISTORY_LIMIT);
          }
        }
        // Prometheus' notifier: firing alerts and resolved ones (for 15 minutes), each again after resendDelay.
        if (l.alertmanagers.length === 0 || a.state === 'pending' || a.state === 'insufficient') continue;
        if (a.state === 'inactive' && (a.resolvedAt === undefined || nowMs - a.resolvedAt > RESOLVED_RETENTION_MS)) continue;
        const due = a.lastSentAt === undefined || (a.resolvedAt !== undefined && a.resolvedAt > a.lastSentAt) || a.lastSentAt + resendDelay <= nowMs;
        if (!due) continue;
        a.lastSentAt = nowMs;
        this.dirty = true;
        const n = this.notification(l, a, aodhState(a), aodhState(a), nowMs, false);
        // A firing alert is valid for four resend periods: Alertmanager resolves it if the agent goes silent.
        if (a.state === 'firing') n.endsAt = nowMs + 4 * Math.max(resendDelay, this.opts.intervalMs);
        for (const action of l.alertmanagers) {
          const key = (action as { url: string }).url;
          const batch = toAlertmanager.get(key) ?? { action, notes: [] };
          batch.notes.push(n);
          toAlertmanager.set(key, batch);
        }
      }
    }
    for (const { action, notes } of toAlertmanager.values()) this.dispatcher.send(action, notes);
  }

  private persist(): void {
    if (!this.opts.dataDir) {
      this.dirty = false;
      return;
    }
    const state: PersistedState = { version: 1, savedAt: new Date().toISOString(), rules: {} };
    for (const [name, l] of this.loaded) {
      state.rules[name] = { exprText: l.rule.spec.exprText, alerts: [...l.rule.active.values()], history: l.history.slice(-PERSISTED_HISTORY) };
    }
    try {
      this.opts.lockCheck?.();
      writeJsonAtomic(join(alarmsDir(this.opts.dataDir), 'state.json'), state);
      this.dirty = false;
    } catch (err) {
      this.stats.persistFailures++;
      this.opts.log.warnOnce('alarms:persist', 'alarms', `cannot save alarm state: ${(err as Error).message}`);
    }
  }

  private persistApiAlarms(): void {
    if (!this.opts.dataDir) return;
    const alarms = [...this.loaded.values()].filter((l) => l.origin === 'api').map((l) => l.threshold);
    writeJsonAtomic(join(alarmsDir(this.opts.dataDir), 'alarms.json'), alarms);
  }

  /** Saves state now (on shutdown). */
  flush(): void {
    this.dirty = true;
    this.persist();
    this.dispatcher.close();
  }

  // ---- The REST API's view and changes ----

  private view(l: Loaded) {
    const alerts = [...l.rule.active.values()];
    const worst = alerts.some((a) => a.state === 'firing') ? 'alarm' : alerts.some((a) => a.state === 'pending') ? 'pending' : alerts.length > 0 && alerts.every((a) => a.state === 'insufficient') ? 'insufficient data' : alerts.length === 0 && l.threshold ? 'insufficient data' : 'ok';
    return {
      name: l.rule.spec.name,
      source: l.rule.spec.source,
      origin: l.origin,
      group: l.rule.spec.group,
      expr: l.rule.spec.exprText,
      forSeconds: l.rule.spec.forMs / 1000,
      keepFiringForSeconds: l.rule.spec.keepFiringForMs / 1000,
      state: worst,
      lastEvaluation: l.rule.lastEvalMs !== undefined ? new Date(l.rule.lastEvalMs).toISOString() : null,
      lastError: l.rule.lastError ?? null,
      definition: l.threshold ?? null,
      instances: alerts.map((a) => this.alertView(l, a)),
    };
  }

  private alertView(l: Loaded, a: Alert) {
    const iso = (ms: number | undefined): string | null => (ms !== undefined ? new Date(ms).toISOString() : null);
    return {
      alarmId: alarmId(l.rule.spec.name, a.key),
      state: a.state,
      aodhState: aodhState(a),
      labels: a.labels,
      annotations: a.annotations,
      value: a.value,
      activeAt: iso(a.activeAt),
      firedAt: iso(a.firedAt),
      resolvedAt: iso(a.resolvedAt),
      since: iso(a.sinceMs),
      reason: a.reason ?? null,
    };
  }

  list() {
    return [...this.loaded.values()].map((l) => this.view(l));
  }

  get(name: string) {
    const l = this.loaded.get(name);
    return l && this.view(l);
  }

  history(name: string): HistoryEntry[] | undefined {
    return this.loaded.get(name)?.history;
  }

  /** Pending and firing alerts of every rule (what a dashboard shows). */
  alerts() {
    return [...this.loaded.values()].flatMap((l) => l.rule.alerts().map((a) => ({ alarm: l.rule.spec.name, source: l.rule.spec.source, ...this.alertView(l, a) })));
  }

  /** Creates (or with `replace`, replaces) an API alarm; throws RuleError with the reason. */
  put(raw: unknown, replace: string | undefined) {
    const a = validateThreshold(raw, this.ruleSet.actions);
    if (replace !== undefined && a.name !== replace) throw new RuleError(`alarm "${replace}": the body names "${a.name}"; renaming is not supported`);
    const existing = this.loaded.get(a.name);
    if (existing && existing.origin !== 'api') throw new ConflictError(`alarm "${a.name}": a ${existing.origin === 'file' ? 'rules-file' : 'built-in'} rule has this name and cannot be changed through the API`);
    if (existing && replace === undefined) throw new ConflictError(`alarm "${a.name}" exists; PUT /api/v1/alarms/${a.name} replaces it`);
    if (!existing && replace !== undefined) throw new NotFoundError(`no such alarm: ${replace}`);
    // Refused before anything changes when its file could not be written (ELOCKLOST).
    this.opts.lockCheck?.();
    this.loaded.delete(a.name);
    this.addThreshold(a, 'api');
    if (existing) this.loaded.get(a.name)!.history = existing.history;
    this.refreshInputs();
    this.persistApiAlarms();
    return this.view(this.loaded.get(a.name)!);
  }

  remove(name: string): void {
    const l = this.loaded.get(name);
    if (!l) throw new NotFoundError(`no such alarm: ${name}`);
    if (l.origin !== 'api') throw new ConflictError(`alarm "${name}" is a ${l.origin === 'file' ? 'rules-file' : 'built-in'} rule and cannot be deleted through the API`);
    this.opts.lockCheck?.();
    this.loaded.delete(name);
    this.refreshInputs();
    this.persistApiAlarms();
    this.dirty = true;
  }

  // ---- /healthz and /metrics ----

  health() {
    const actions = Object.fromEntries(this.dispatcher.stats);
    const failed = [...this.dispatcher.stats.values()].some((s) => s.lastErrorMs !== undefined && Date.now() - s.lastErrorMs < 5 * 60_000);
    return {
      rules: this.loaded.size,
      loadErrors: this.ruleSet.errors.length,
      firing: this.alerts().filter((a) => a.state === 'firing').length,
      lastEvaluation: this.stats.lastEvalMs ? new Date(this.stats.lastEvalMs).toISOString() : null,
      lastEvaluationMs: this.stats.lastDurationMs,
      series: [...this.db.all()].length,
      queuedNotifications: this.dispatcher.pending(),
      actionsFailing: failed,
      actions,
    };
  }

  /** The engine's own series, appended to /metrics. */
  metricsText(): string {
    const bySource = new Map<string, number>();
    for (const l of this.loaded.values()) bySource.set(l.rule.spec.source, (bySource.get(l.rule.spec.source) ?? 0) + 1);
    const states = new Map<string, number>([['pending', 0], ['firing', 0]]);
    for (const a of this.alerts()) states.set(a.state, (states.get(a.state) ?? 0) + 1);
    const stats = [...this.dispatcher.stats];
    const perAction = (pick: (s: (typeof stats)[number][1]) => number): FamilySeries[] => stats.map(([k, s]) => [[['action', k]], pick(s)]);
    return (
      familyText('cstats_alarm_rules', 'gauge', 'Rules loaded, by source.', [...bySource].map(([s, n]) => [[['source', s]], n])) +
      familyText('cstats_alarm_alerts', 'gauge', 'Alerts pending and firing.', [...states].map(([s, n]) => [[['state', s]], n])) +
      familyText('cstats_alarm_evaluations_total', 'counter', 'Rule set evaluations.', [[[], this.stats.evaluations]]) +
      familyText('cstats_alarm_evaluation_failures_total', 'counter', 'Rule evaluations that failed.', [[[], this.stats.evaluationFailures]]) +
      familyText('cstats_alarm_last_evaluation_seconds', 'gauge', 'Duration of the last evaluation of all rules.', [[[], this.stats.lastDurationMs / 1000]]) +
      familyText('cstats_alarm_rule_load_errors', 'gauge', 'Rules refused at load.', [[[], this.ruleSet.errors.length]]) +
      familyText('cstats_alarm_notifications_sent_total', 'counter', 'Notifications an action delivered.', perAction((s) => s.sent)) +
      familyText('cstats_alarm_notifications_failed_total', 'counter', 'Notifications given up after every attempt failed.', perAction((s) => s.failed)) +
      familyText('cstats_alarm_notification_retries_total', 'counter', 'Delivery attempts that failed and were retried.', perAction((s) => s.retries)) +
      familyText('cstats_alarm_notifications_dropped_total', 'counter', 'Notifications dropped from a full queue.', perAction((s) => s.dropped))
    );
  }
}

export class ConflictError extends Error {
  override name = 'ConflictError';
}
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}
