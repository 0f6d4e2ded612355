/**
 * The shared part of the discoverers that read a runtime's own files rather than ask a daemon
 * (podman's database, LXC's configs, machined's machine files): a list rebuilt from the files at
 * start, within `debounceMs` of inotify reporting a change in one of the watched directories,
 * and every `rescanMs` in any case (a directory created after start, a missed event).
 */
import type { ContainerInfo } from '../model.js';
import { HealthState, type Discoverer } from './types.js';
import { DirWatchers } from './dir-watchers.js';
import type { Logger } from '../log.js';

export interface WatchedFilesOptions {
  /** Directories whose changes mean the list may have changed. */
  dirs: readonly string[];
  rescanMs?: number;
  debounceMs?: number;
}

export abstract class WatchedFilesDiscoverer implements Discoverer {
  abstract readonly name: string;
  onChange?: () => void;
  private list: ContainerInfo[] = [];
  private readonly healthState = new HealthState();
  /** Coalesces a burst of writes (a database transaction, a container start) into one reload. */
  private readonly watchers: DirWatchers;

  constructor(
    private readonly watched: WatchedFilesOptions,
    protected readonly log: Logger,
  ) {
    this.watchers = new DirWatchers(watched.debounceMs ?? 100, () => this.reload());
  }

  /**
   * Reads the runtime's files: every container it knows, and a line for /healthz. Throws when
   * the files cannot be read or make no sense (the last good list is kept).
   */
  protected abstract load(): { containers: ContainerInfo[]; detail: string };

  async start(): Promise<void> {
    this.reload();
    this.watchers.every(this.watched.rescanMs ?? 10_000, () => this.reload());
  }

  stop(): void {
    this.watchers.closeAll();
  }

  containers(): ContainerInfo[] {
    return this.list;
  }

  health() {
    return this.healthState.get();
  }

  /** Reads the files again; tells the collector when the list changed. */
  reload(): void {
    // A directory created since (podman's first run) is watched from the next reload.
    for (const dir of this.watched.dirs) this.watchers.add(dir, dir);
    let loaded;
    try {
      loaded = this.load();
    } catch (err) {
      const msg = (err as Error).message;
      if (this.healthState.set(false, msg)) this.log.warn(this.name, `${msg}; keeping the last list and trying again`);
      return;
    }
    if (this.healthState.set(true, loaded.detail)) this.log.info(this.name, loaded.detail);
    // The same list keeps its objects: the collector and the store see nothing changed.
    if (JSON.stringify(loaded.containers) === JSON.stringify(this.list)) return;
    this.list = loaded.containers;
    this.onChange?.();
  }
}
