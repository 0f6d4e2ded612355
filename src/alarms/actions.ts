/**
 * What an alarm does when its state changes: post to Alertmanager's v2 API, post aodh's
 * notification body to a webhook, run a command with the alarm in its environment, or write a
 * log line. Every delivery runs off the evaluation path with a bounded number of attempts and
 * exponential backoff; the queue per action is bounded too (the oldest waiting delivery is
 * dropped when it is full). Attempts, failures and drops are counted for /healthz and /metrics.
 */
import { spawn } from 'node:child_process';
import type { Logger } from '../log.js';

/** An action as the rules file, the REST API or an aodh-style URL names it. */
export type ActionSpec =
  | { type: 'log' }
  | { type: 'webhook'; url: string; headers?: Record<string, string> }
  | { type: 'alertmanager'; url: string }
  | { type: 'exec'; command: string[]; timeoutMs?: number };

/** aodh's alarm states. */
export type AodhState = 'ok' | 'alarm' | 'insufficient data';

/** One notification: an alarm instance that changed state (or repeats it). */
export interface Notification {
  /** Rule (alarm) name. */
  alarmName: string;
  /** Stable id of the alarm instance: rule name and the instance's labels. */
  alarmId: string;
  severity: string;
  previous: AodhState;
  current: AodhState;
  reason: string;
  /** aodh's reason_data: what was seen (type, disposition, count, most_recent). */
  reasonData: Record<string, unknown>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value: number;
  /** Prometheus' view: startsAt (activeAt), endsAt when resolved. */
  startsAt?: number;
  endsAt?: number;
  /** When the change was seen, ms. */
  atMs: number;
  /** A repeat of an unchanged state (aodh repeat_actions; Alertmanager re-sends). */
  repeat: boolean;
}

export interface ActionStats {
  sent: number;
  failed: number;
  retries: number;
  dropped: number;
  lastError?: string;
  lastErrorMs?: number;
}

export interface DeliveryOptions {
  /** Attempts per notification (first included). */
  attempts: number;
  /** Backoff before the second attempt, doubled each time, ms. */
  backoffMs: number;
  /** Per attempt, ms. */
  timeoutMs: number;
  /** Notifications waiting per action before the oldest is dropped. */
  queueLimit: number;
}

export const DEFAULT_DELIVERY: DeliveryOptions = { attempts: 5, backoffMs: 500, timeoutMs: 5000, queueLimit: 1000 };

/** An action URL in aodh's style: log://, http(s)://..., alertmanager+http(s)://host:port, exec:///path/to/program. */
export function actionFromUrl(url: string): ActionSpec {
  if (url === 'log://' || url === 'log:') return { type: 'log' };
  if (/^https?:\/\//.test(url)) return { type: 'webhook', url };
  const am = /^alertmanager\+(https?:\/\/.+)$/.exec(url);
  if (am) return { type: 'alertmanager', url: am[1] };
  const ex = /^exec:\/\/(\/.+)$/.exec(url);
  if (ex) return { type: 'exec', command: [decodeURIComponent(ex[1])] };
  throw new Error(`unsupported action URL ${JSON.stringify(url)} (log://, http(s)://..., alertmanager+http://host:port, exec:///path)`);
}

/** Validates an action given as a map (the rules file's `actions:`). */
export function actionFromObject(raw: unknown, what: string): ActionSpec {
  if (typeof raw !== 'object' || raw === null) throw new Error(`${what}: expected a map with a "type"`);
  const a = raw as Record<string, unknown>;
  switch (a.type) {
    case 'log':
      return { type: 'log' };
    case 'webhook':
    case 'alertmanager':
      if (typeof a.url !== 'string' || !/^https?:\/\/./.test(a.url)) throw new Error(`${what}: "url" must be an http(s) URL`);
      if (a.type === 'alertmanager') return { type: 'alertmanager', url: a.url };
      if (a.headers !== undefined && (typeof a.headers !== 'object' || a.headers === null || Object.values(a.headers).some((v) => typeof v !== 'string'))) {
        throw new Error(`${what}: "headers" must map names to strings`);
      }
      return { type: 'webhook', url: a.url, headers: a.headers as Record<string, string> | undefined };
    case 'exec': {
      const cmd = a.command;
      if (!Array.isArray(cmd) || cmd.length === 0 || cmd.some((c) => typeof c !== 'string') || !String(cmd[0]).startsWith('/')) {
        throw new Error(`${what}: "command" must be a list of strings starting with an absolute path`);
      }
      const timeoutMs = a.timeoutSeconds === undefined ? undefined : Number(a.timeoutSeconds) * 1000;
      if (timeoutMs !== undefined && !(timeoutMs > 0)) throw new Error(`${what}: "timeoutSeconds" must be a positive number`);
      return { type: 'exec', command: cmd as string[], timeoutMs };
    }
    default:
      throw new Error(`${what}: unknown action type ${JSON.stringify(a.type)} (log, webhook, alertmanager, exec)`);
  }
}

/** An action's identity for counters and queues. */
export function actionKey(a: ActionSpec): string {
  switch (a.type) {
    case 'log':
      return 'log://';
    case 'webhook':
      return a.url;
    case 'alertmanager':
      return `alertmanager+${a.url}`;
    case 'exec':
      return `exec://${a.command.join(' ')}`;
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** aodh's REST notifier body (aodh/notifier/rest.py). */
export function aodhBody(n: Notification): Record<string, unknown> {
  return { alarm_name: n.alarmName, alarm_id: n.alarmId, severity: n.severity, previous: n.previous, current: n.current, reason: n.reason, reason_data: n.reasonData };
}

/** One alert of Alertmanager's v2 POST /api/v2/alerts body (postableAlert). */
export function alertmanagerAlert(n: Notification, generatorURL: string): Record<string, unknown> {
  return {
    labels: n.labels,
    annotations: n.annotations,
    startsAt: iso(n.startsAt ?? n.atMs),
    ...(n.endsAt !== undefined ? { endsAt: iso(n.endsAt) } : {}),
    generatorURL,
  };
}

/** The environment an exec action runs with. */
export function execEnvironment(n: Notification): Record<string, string> {
  const env: Record<string, string> = {
    CSTATS_ALARM_NAME: n.alarmName,
    CSTATS_ALARM_ID: n.alarmId,
    CSTATS_ALARM_SEVERITY: n.severity,
    CSTATS_ALARM_PREVIOUS: n.previous,
    CSTATS_ALARM_CURRENT: n.current,
    CSTATS_ALARM_REASON: n.reason,
    CSTATS_ALARM_VALUE: String(n.value),
    CSTATS_ALARM_TIME: iso(n.atMs),
    CSTATS_ALARM_REPEAT: n.repeat ? '1' : '0',
    CSTATS_ALARM_JSON: JSON.stringify({ ...aodhBody(n), labels: n.labels, annotations: n.annotations, value: n.value }),
  };
  for (const [k, v] of Object.entries(n.labels)) env[`CSTATS_LABEL_${k.toUpperCase()}`] = v;
  for (const [k, v] of Object.entries(n.annotations)) env[`CSTATS_ANNOTATION_${k.toUpperCase()}`] = v;
  return env;
}

async function post(url: string, body: unknown, headers: Record<string, string>, timeoutMs: number): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text().catch(() => '');
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${text.slice(0, 200)}`);
}

function runCommand(command: string[], env: Record<string, string>, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0], command.slice(1), { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'ignore', 'pipe'], timeout: timeoutMs });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 500) stderr += d.toString();
    });
    child.on('error', (err) => reject(new Error(`${command[0]}: ${err.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${command[0]} exited with ${signal ?? `code ${code}`}${stderr ? `: ${stderr.trim()}` : ''}`));
    });
  });
}

interface Queued {
  notes: Notification[];
  attempt: number;
}

/** Delivers notifications to actions, one queue and one sender per action. */
export class Dispatcher {
  readonly stats = new Map<string, ActionStats>();
  private readonly queues = new Map<string, { action: ActionSpec; items: Queued[]; busy: boolean }>();
  private closed = false;

  constructor(
    private readonly log: Logger,
    private readonly opts: DeliveryOptions = DEFAULT_DELIVERY,
    /** Where Alertmanager's generatorURL points (the agent's alarms API). */
    private readonly generatorURL = 'http://127.0.0.1:7070/api/v1/alarms',
  ) {}

  /** Queues notifications for one action (Alertmanager takes them as one batch). */
  send(action: ActionSpec, notes: Notification[]): void {
    if (notes.length === 0 || this.closed) return;
    const key = actionKey(action);
    let q = this.queues.get(key);
    if (!q) {
      q = { action, items: [], busy: false };
      this.queues.set(key, q);
    }
    const batches = action.type === 'alertmanager' ? [notes] : notes.map((n) => [n]);
    for (const b of batches) q.items.push({ notes: b, attempt: 0 });
    while (q.items.length > this.opts.queueLimit) {
      q.items.shift();
      this.statsOf(key).dropped++;
    }
    if (!q.busy) void this.drain(key);
  }

  statsOf(key: string): ActionStats {
    let s = this.stats.get(key);
    if (!s) {
      s = { sent: 0, failed: 0, retries: 0, dropped: 0 };
      this.stats.set(key, s);
    }
    return s;
  }

  /** Notifications waiting or being sent, over all actions. */
  pending(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.items.length;
    return n;
  }

  close(): void {
    this.closed = true;
  }

  private async drain(key: string): Promise<void> {
    const q = this.queues.get(key)!;
    q.busy = true;
    const stats = this.statsOf(key);
    while (q.items.length > 0 && !this.closed) {
      const item = q.items[0];
      try {
        await this.deliver(q.action, item.notes);
        stats.sent += item.notes.length;
        q.items.shift();
      } catch (err) {
        item.attempt++;
        stats.lastError = (err as Error).message;
        stats.lastErrorMs = Date.now();
        if (item.attempt >= this.opts.attempts) {
          stats.failed += item.notes.length;
          q.items.shift();
          this.log.warn('alarms', `action ${key} failed ${item.attempt} times, giving up on ${item.notes.map((n) => `${n.alarmName} ${n.current}`).join(', ')}: ${(err as Error).message}`);
        } else {
          stats.retries++;
          await new Promise((r) => setTimeout(r, this.opts.backoffMs * 2 ** (item.attempt - 1)).unref());
        }
      }
    }
    q.busy = false;
  }

  private async deliver(action: ActionSpec, notes: Notification[]): Promise<void> {
    switch (action.type) {
      case 'log':
        for (const n of notes) {
          const labels = Object.entries(n.labels)
            .filter(([k]) => k !== 'alertname')
            .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
            .join(' ');
          this.log.warn('alarm', `${n.alarmName} ${n.previous} -> ${n.current}${n.repeat ? ' (repeat)' : ''}: ${n.reason} value=${n.value} severity=${n.severity} ${labels}`);
        }
        return;
      case 'webhook':
        return post(action.url, aodhBody(notes[0]), action.headers ?? {}, this.opts.timeoutMs);
      case 'alertmanager':
        return post(`${action.url.replace(/\/$/, '')}/api/v2/alerts`, notes.map((n) => alertmanagerAlert(n, this.generatorURL)), {}, this.opts.timeoutMs);
      case 'exec':
        return runCommand(action.command, execEnvironment(notes[0]), action.timeoutMs ?? this.opts.timeoutMs);
    }
  }
}
