/**
 * Built-in lifecycle alarms, fed by the agent's lifecycle events (the same log /events serves):
 * ContainerOOMKilled (the kernel's OOM killer killed a task in the container; resolves after
 * `oomHold` without another kill), ContainerExitedNonZero (it stopped with a non-zero exit code;
 * resolves when it starts again), ContainerRestartLoop (N restarts within M minutes; resolves when
 * fewer remain in the window). Removal is handled by the engine for every rule: a removed
 * container's firing alerts resolve with the reason "container removed".
 */
import type { EventContainer, LifecycleEvent } from '../store/lifecycle.js';
import { labelsKey } from './promql/series.js';
import type { Alert, AlertState, EngineRule, RuleSpec, Transition } from './rule.js';

export interface LifecycleOptions {
  oom: boolean;
  exit: boolean;
  /** Restarts that make a loop within `restartWindowMs`; 0 turns the alarm off. */
  restarts: number;
  restartWindowMs: number;
  oomHoldMs: number;
}

export const DEFAULT_LIFECYCLE: LifecycleOptions = { oom: true, exit: true, restarts: 3, restartWindowMs: 5 * 60_000, oomHoldMs: 5 * 60_000 };

export const REMOVED_REASON = 'container removed';

function containerLabels(info: EventContainer, cgroupPath: string): Record<string, string> {
  const l: Record<string, string> = { id: cgroupPath, name: info.name, image: info.image };
  for (const k of Object.keys(l)) if (l[k] === '') delete l[k];
  return l;
}

/** One built-in alarm: its alerts are raised and resolved by events and time, not by a query. */
class LifecycleRule implements EngineRule {
  readonly active = new Map<string, Alert>();
  readonly spec: Pick<RuleSpec, 'name' | 'group' | 'source' | 'exprText' | 'forMs' | 'keepFiringForMs'>;
  lastError?: string;
  lastEvalMs?: number;
  private readonly out: Transition[] = [];

  constructor(
    name: string,
    description: string,
    private readonly severity: string,
  ) {
    this.spec = { name, group: 'lifecycle', source: 'lifecycle', exprText: description, forMs: 0, keepFiringForMs: 0 };
  }

  /** Raises (or refreshes) the container's alert. */
  fire(info: EventContainer, cgroupPath: string, atMs: number, value: number, reason: string, annotations: Record<string, string>): void {
    const labels = { ...containerLabels(info, cgroupPath), severity: this.severity, alertname: this.spec.name };
    const key = labelsKey(labels);
    const a = this.active.get(key);
    if (a && a.state === 'firing') {
      a.value = value;
      a.annotations = annotations;
      a.sinceMs = atMs;
      return;
    }
    const alert: Alert = { key, labels, annotations, state: 'inactive', value, activeAt: atMs, firedAt: atMs, lastSentAt: a?.lastSentAt, notified: a?.notified };
    this.active.set(key, alert);
    this.move(alert, 'firing', atMs, reason);
  }

  /** Resolves the alert of the container with this id label, if it fires. */
  resolve(id: string, atMs: number, reason: string): void {
    for (const a of this.active.values()) if (a.labels.id === id && a.state === 'firing') this.move(a, 'inactive', atMs, reason, true);
  }

  move(a: Alert, to: AlertState, atMs: number, reason: string, resolved = false): void {
    this.out.push({ alert: a, from: a.state, to, atMs, reason });
    a.state = to;
    a.reason = reason;
    if (resolved) a.resolvedAt = atMs;
  }

  /** Hands out the changes since the last evaluation. */
  eval(ctx: { t: number }): Transition[] {
    this.lastEvalMs = ctx.t;
    for (const [key, a] of this.active) {
      if (a.state === 'inactive' && a.resolvedAt !== undefined && ctx.t - a.resolvedAt > 15 * 60_000) this.active.delete(key);
    }
    return this.out.splice(0);
  }

  alerts(): Alert[] {
    return [...this.active.values()].filter((a) => a.state === 'firing');
  }
}

export class LifecycleAlarms {
  readonly oom = new LifecycleRule('ContainerOOMKilled', 'the OOM killer killed a process of the container', 'critical');
  readonly exit = new LifecycleRule('ContainerExitedNonZero', 'the container exited with a non-zero code', 'warning');
  readonly restartLoop = new LifecycleRule('ContainerRestartLoop', 'the container restarts over and over', 'critical');
  /** Per container id: restart times within the window (a start that follows a stop). */
  private readonly starts = new Map<string, { info: EventContainer; cgroupPath: string; times: number[]; stopped: boolean }>();

  constructor(private readonly opts: LifecycleOptions = DEFAULT_LIFECYCLE) {}

  rules(): EngineRule[] {
    const out: EngineRule[] = [];
    if (this.opts.oom) out.push(this.oom);
    if (this.opts.exit) out.push(this.exit);
    if (this.opts.restarts > 0) out.push(this.restartLoop);
    return out;
  }

  /** Takes one lifecycle event. */
  observe(e: LifecycleEvent): void {
    const id = e.cgroupPath;
    switch (e.action) {
      case 'oom':
        this.oom.fire(e.info, e.cgroupPath, e.timeMs, 1, 'OOM kill', { summary: `the OOM killer killed a process in ${e.info.name}` });
        break;
      case 'die': {
        const s = this.starts.get(e.info.id);
        if (s) s.stopped = true;
        else this.starts.set(e.info.id, { info: e.info, cgroupPath: e.cgroupPath, times: [], stopped: true });
        // A container whose main process the OOM killer took stops at once, often before a tick
        // sees its cgroup's OOM count move: Docker's State.OOMKilled says it.
        if (e.info.oomKilled) this.oom.fire(e.info, e.cgroupPath, e.timeMs, 1, 'OOM kill (its main process)', { summary: `the OOM killer killed the main process of ${e.info.name}` });
        const code = e.info.exitCode;
        if (code !== undefined && code !== 0) {
          this.exit.fire(e.info, e.cgroupPath, e.timeMs, code, `exited with code ${code}`, {
            summary: `${e.info.name} exited with code ${code}${e.info.oomKilled ? ' (OOM killed)' : ''}`,
          });
        }
        break;
      }
      case 'start': {
        this.exit.resolve(id, e.timeMs, 'started again');
        const s = this.starts.get(e.info.id);
        if (s?.stopped) {
          s.info = e.info;
          s.stopped = false;
          s.times.push(e.timeMs);
        }
        break;
      }
      case 'destroy':
        for (const r of [this.oom, this.exit, this.restartLoop]) r.resolve(id, e.timeMs, REMOVED_REASON);
        this.starts.delete(e.info.id);
        break;
      default:
    }
  }

  /** Time-driven changes: OOM alerts age out, restart counts leave the window. */
  advance(nowMs: number): void {
    for (const a of this.oom.active.values()) {
      if (a.state === 'firing' && nowMs - (a.sinceMs ?? a.firedAt!) >= this.opts.oomHoldMs) this.oom.move(a, 'inactive', nowMs, `no OOM kill for ${this.opts.oomHoldMs / 1000}s`, true);
    }
    if (this.opts.restarts <= 0) return;
    for (const [id, s] of this.starts) {
      s.times = s.times.filter((t) => nowMs - t <= this.opts.restartWindowMs);
      const restarts = s.times.length;
      const path = s.cgroupPath;
      const firing = this.restartLoop.alerts().some((a) => a.labels.id === path);
      if (restarts >= this.opts.restarts) {
        this.restartLoop.fire(s.info, s.cgroupPath, nowMs, restarts, `${restarts} restarts in ${this.opts.restartWindowMs / 1000}s`, {
          summary: `${s.info.name} restarted ${restarts} times in ${this.opts.restartWindowMs / 60_000} minutes`,
        });
      } else if (firing) this.restartLoop.resolve(path, nowMs, `fewer than ${this.opts.restarts} restarts in the window`);
      if (s.times.length === 0 && !s.stopped && !firing) this.starts.delete(id);
    }
  }
}
