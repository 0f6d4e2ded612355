/** The one interface every runtime's discovery implements. */
import type { CgroupLocation, ContainerInfo } from '../model.js';

export interface SourceHealth {
  up: boolean;
  /** Human-readable state, e.g. "connected to /var/run/docker.sock" or the last error. */
  detail: string;
  /** When the state last changed, ms since the epoch. */
  sinceMs: number;
}

export interface Discoverer {
  readonly name: string;
  start(): Promise<void>;
  stop(): void;
  /** Every container this source knows, running or not. */
  containers(): ContainerInfo[];
  health(): SourceHealth;
  /** Called after the source learned of new or changed containers. */
  onChange?: () => void;
}

/** Finds the cgroup of a process (from /proc/<pid>/cgroup). */
export type LocateCgroup = (pid: number) => CgroupLocation | undefined;

/** Tracks up/down transitions so health() can say since when. */
export class HealthState {
  private state: SourceHealth = { up: false, detail: 'not started', sinceMs: Date.now() };

  set(up: boolean, detail: string): boolean {
    const changed = up !== this.state.up;
    this.state = { up, detail, sinceMs: changed ? Date.now() : this.state.sinceMs };
    return changed;
  }

  get(): SourceHealth {
    return { ...this.state };
  }
}
