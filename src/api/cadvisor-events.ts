/**
 * cAdvisor's events API (/api/v1.3/events, /api/v2.x/events) over the lifecycle log: creation,
 * deletion and OOM events, a time window, max_events, and streaming.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { toJson } from './json.js';
import { goTime } from './go-format.js';
import type { LifecycleEvent, LifecycleLog } from '../store/lifecycle.js';

const EVENT_TYPES: Partial<Record<LifecycleEvent['action'], string>> = { create: 'containerCreation', destroy: 'containerDeletion', oom: 'oom' };
const EVENT_OPTIONS: Record<string, string> = { oom_events: 'oom', oom_kill_events: 'oomKill', creation_events: 'containerCreation', deletion_events: 'containerDeletion' };

/** cAdvisor's v1 Event; the name is the cgroup the container had. */
function eventJson(e: LifecycleEvent, type: string) {
  return { container_name: e.cgroupPath || `/${e.info.name}`, timestamp: goTime(e.timeMs), event_type: type, event_data: {} };
}

/**
 * cAdvisor's events query: the types asked for, a time window, max_events (10 by default). The
 * events found, to send; with stream, answers itself and sends each new event as it comes.
 */
export function cadvisorEvents(req: IncomingMessage, res: ServerResponse, url: URL, name: string, lifecycle: LifecycleLog): unknown[] | undefined {
  const q = url.searchParams;
  const bool = (k: string) => q.get(k) === 'true' || q.get(k) === '1';
  const wanted = new Set(Object.entries(EVENT_OPTIONS).filter(([opt]) => bool('all_events') || bool(opt)).map(([, type]) => type));
  const subcontainers = bool('subcontainers');
  const maxText = q.get('max_events');
  const max = maxText !== null && /^-?\d+$/.test(maxText) ? Number(maxText) : 10;
  const start = Date.parse(q.get('start_time') ?? '');
  const end = Date.parse(q.get('end_time') ?? '');
  const typeOf = (e: LifecycleEvent): string | undefined => {
    const type = EVENT_TYPES[e.action];
    if (!type || !wanted.has(type)) return undefined;
    const n = e.cgroupPath || `/${e.info.name}`;
    const inside = n === name || (subcontainers && (name === '/' || n.startsWith(`${name}/`)));
    return inside ? type : undefined;
  };
  if (!bool('stream')) {
    const found = lifecycle.between(Number.isNaN(start) ? -Infinity : start, Number.isNaN(end) ? Date.now() : end).flatMap((e) => {
      const type = typeOf(e);
      return type ? [eventJson(e, type)] : [];
    });
    return max > 0 ? found.slice(Math.max(0, found.length - max)) : found;
  }
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  const unsubscribe = lifecycle.subscribe((e) => {
    const type = typeOf(e);
    if (type && !res.destroyed) res.write(toJson(eventJson(e, type)) + '\n');
  });
  req.on('close', unsubscribe);
  res.on('close', unsubscribe);
  return undefined;
}
