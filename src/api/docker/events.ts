/**
 * GET /events bodies: lifecycle events as Engine API event messages, the filters `docker
 * events` and `docker stats` send, and the since/until times Docker accepts.
 */
import type { LifecycleEvent } from '../../store/lifecycle.js';
import { DockerError } from './reply.js';
import { labelsMatch, parseFilters } from './containers.js';
import { goMap } from '../go-format.js';
import { parseRfc3339 } from '../params.js';

const EVENT_FILTERS = new Set(['type', 'event', 'container', 'label', 'image']);

/** One event message (moby's events.Message), including the pre-1.22 status/id/from fields. */
export function eventJson(e: LifecycleEvent) {
  const info = e.info;
  const attributes: Record<string, string> = { ...info.labels, image: info.image, name: info.name };
  if (e.action === 'die') attributes.exitCode = String(info.exitCode ?? 0);
  const timeNano = BigInt(e.timeMs) * 1_000_000n;
  return {
    status: e.action,
    id: info.id,
    from: info.image,
    Type: 'container',
    Action: e.action,
    Actor: { ID: info.id, Attributes: goMap(attributes) },
    scope: 'local',
    time: Math.floor(e.timeMs / 1000),
    timeNano,
  };
}

export type EventFilter = (e: LifecycleEvent) => boolean;

export function eventFilter(text: string | null): EventFilter {
  const filters = parseFilters(text, EVENT_FILTERS);
  return (e) => {
    for (const [key, values] of filters) {
      if (values.length === 0) continue;
      const info = e.info;
      const ok =
        key === 'type'
          ? values.includes('container')
          : key === 'event'
            ? values.includes(e.action)
            : key === 'container'
              ? values.some((v) => info.id.startsWith(v) || v === info.name || v === `/${info.name}`)
              : key === 'label'
                ? labelsMatch(info.labels, values)
                : values.includes(info.image);
      if (!ok) return false;
    }
    return true;
  };
}

/**
 * A since/until value: Unix seconds with an optional fraction ("1700000000.5"; the CLI sends
 * "%d.%09d"), or an RFC 3339 time. Returns ms since the epoch.
 */
export function parseEventTime(text: string | null, name: string): number | undefined {
  if (text === null || text === '') return undefined;
  const ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : parseRfc3339(text);
  if (ms === undefined || !Number.isFinite(ms)) throw new DockerError(400, `invalid value for ${name}: ${text}`);
  return ms;
}
