/**
 * Container lifecycle events derived from what the agent sees: after every tick the store's
 * containers are compared with the previous tick's, and each change becomes Docker's event
 * (create, start, die, destroy, pause, unpause, oom). Both the Docker-compatible /events and
 * cAdvisor's /api/v2.0/events read this log. Containers present at the first look are taken as
 * they are, without events, as a daemon's event stream starts empty.
 */
import type { ContainerInfo } from '../model.js';
import type { ContainerEntry, Store } from './store.js';

export type LifecycleAction = 'create' | 'start' | 'die' | 'destroy' | 'pause' | 'unpause' | 'oom';

/**
 * What an event keeps of its container, as it was when the change was seen: what Docker's
 * /events, cAdvisor's events and the lifecycle alarms show. Not the whole ContainerInfo: the log
 * holds up to `capacity` events of containers long gone, and their mounts, networks and inspect
 * details made each removed container cost about 13 KiB of heap (measured in a heap snapshot
 * after a churn of 60 containers).
 */
export interface EventContainer {
  id: string;
  name: string;
  image: string;
  /** The container's own labels object (shared with the store while the container lives). */
  labels: Record<string, string>;
  /** Docker's State.ExitCode and State.OOMKilled; undefined for other runtimes. */
  exitCode?: number;
  oomKilled?: boolean;
}

export function eventContainer(info: ContainerInfo): EventContainer {
  return { id: info.id, name: info.name, image: info.image, labels: info.labels, exitCode: info.docker?.exitCode, oomKilled: info.docker?.oomKilled };
}

export interface LifecycleEvent {
  action: LifecycleAction;
  info: EventContainer;
  /** Its cgroup path when it last had one (a stopped Docker container has none any more). */
  cgroupPath: string;
  timeMs: number;
  /** Strictly increasing, for clients that resume. */
  seq: number;
}

interface Seen {
  state: ContainerInfo['state'] | 'removed';
  startedMs?: number;
  oomKills: bigint;
  /**
   * Docker's State.OOMKilled. dockerd sets it on containerd's OOM event, which may come after the
   * exit: the container is then seen to die first, and only a later inspect says the OOM killer
   * took it (its cgroup, gone with it, never showed the count move to a tick).
   */
  oomKilled: boolean;
  cgroupPath?: string;
}

const LIVE = new Set(['running', 'paused', 'restarting']);

function oomCount(e: ContainerEntry): bigint {
  const mem = e.latest?.cgroup.memory;
  return mem?.oomKills ?? mem?.oomEvents ?? 0n;
}

/** What is seen of a container now: `before` itself when nothing changed, as for most containers at most ticks. */
function seenOf(e: ContainerEntry, before: Seen | undefined): Seen {
  const state = e.removedMs !== undefined ? 'removed' : e.info.state;
  const startedMs = e.info.startedMs;
  const oomKills = oomCount(e);
  const oomKilled = e.info.docker?.oomKilled === true;
  const cgroupPath = e.info.cgroup.path || before?.cgroupPath;
  if (before?.state === state && before.startedMs === startedMs && before.oomKills === oomKills && before.oomKilled === oomKilled && before.cgroupPath === cgroupPath) return before;
  return { state, startedMs, oomKills, oomKilled, cgroupPath };
}

/** The actions that lead from one observed state to the next. */
export function transitions(before: Seen | undefined, after: Seen): LifecycleAction[] {
  const out: LifecycleAction[] = [];
  const wasLive = before !== undefined && LIVE.has(before.state);
  const isLive = LIVE.has(after.state);
  if (before === undefined) {
    if (after.state === 'removed') return out;
    out.push('create');
    if (after.startedMs !== undefined) out.push('start');
    if (after.state === 'paused') out.push('pause');
    if (!isLive && after.startedMs !== undefined) out.push('die');
    return out;
  }
  if (before.state === 'removed') {
    // A removed container that came back (same id): it was re-discovered.
    if (after.state !== 'removed') return transitions(undefined, after);
    return out;
  }
  if (after.oomKills > before.oomKills || (after.oomKilled && !before.oomKilled)) out.push('oom');
  const restarted = wasLive && isLive && after.startedMs !== before.startedMs;
  if (restarted) out.push('die', 'start');
  else if (!wasLive && isLive) out.push('start');
  else if (wasLive && !isLive) out.push('die');
  if (before.state !== 'paused' && after.state === 'paused') out.push('pause');
  if (before.state === 'paused' && after.state === 'running') out.push('unpause');
  if (after.state === 'removed') out.push('destroy');
  return out;
}

export class LifecycleLog {
  private readonly seen = new Map<string, Seen>();
  private readonly events: LifecycleEvent[] = [];
  private readonly listeners = new Set<(e: LifecycleEvent) => void>();
  private baseline = false;
  private seq = 0;

  /** Takes the store as it is now as the starting point. */
  constructor(
    private readonly store: Store,
    /** Events kept for `since` queries. */
    private readonly capacity = 4096,
  ) {
    this.observe();
  }

  /** Compares the store with the last look and records what changed; the collector calls it every tick. */
  observe(nowMs = Date.now()): void {
    const entries = this.store.list(true);
    for (const e of entries) {
      const before = this.seen.get(e.info.id);
      const after = seenOf(e, before);
      if (after === before) continue;
      this.seen.set(e.info.id, after);
      if (!this.baseline) continue;
      const actions = transitions(before, after);
      if (actions.length === 0) continue;
      const info = eventContainer(e.info);
      for (const action of actions) this.emit({ action, info, cgroupPath: after.cgroupPath ?? '', timeMs: nowMs, seq: ++this.seq });
    }
    // Pruned from the store after their retention: forget them (their destroy was recorded at
    // removal). Every entry is seen now, so there are such containers only if more are seen.
    if (this.seen.size > entries.length) {
      const present = new Set(entries.map((e) => e.info.id));
      for (const id of this.seen.keys()) if (!present.has(id)) this.seen.delete(id);
    }
    this.baseline = true;
  }

  private emit(e: LifecycleEvent): void {
    this.events.push(e);
    if (this.events.length > this.capacity) this.events.splice(0, this.events.length - this.capacity);
    for (const l of this.listeners) l(e);
  }

  /** Recorded events with sinceMs <= time <= untilMs, oldest first. */
  between(sinceMs: number, untilMs: number): LifecycleEvent[] {
    return this.events.filter((e) => e.timeMs >= sinceMs && e.timeMs <= untilMs);
  }

  subscribe(listener: (e: LifecycleEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
