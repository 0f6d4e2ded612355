/**
 * What a discoverer that rescans on inotify needs: watches on directories, by key; the events of
 * a burst (a container start creates several cgroups, a database commit writes several files)
 * coalesced into one call with the keys that changed; and a periodic rescan, the safety net for
 * what inotify cannot report (an exhausted watch limit, a directory created before its watch).
 */
import { watch, type FSWatcher } from 'node:fs';

export class DirWatchers {
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly pending = new Set<string>();
  private debounce?: NodeJS.Timeout;
  private rescanTimer?: NodeJS.Timeout;

  /** `onBurst` gets the keys with events, `debounceMs` after the first event of a burst. */
  constructor(
    private readonly debounceMs: number,
    private readonly onBurst: (keys: string[]) => void,
  ) {}

  /** Calls `rescan` every `ms` until closeAll (a timer that does not keep the process alive). */
  every(ms: number, rescan: () => void): void {
    clearInterval(this.rescanTimer);
    this.rescanTimer = setInterval(rescan, ms);
    this.rescanTimer.unref();
  }

  /**
   * Watches `dir` under `key` unless already watched. A directory that is not there (yet), or
   * an exhausted inotify watch limit, is no error: the periodic rescan covers it.
   */
  add(key: string, dir: string): void {
    if (this.watchers.has(key)) return;
    try {
      const w = watch(dir, { persistent: false }, () => this.event(key));
      w.on('error', () => {
        w.close();
        this.watchers.delete(key);
      });
      this.watchers.set(key, w);
    } catch {
      // see above
    }
  }

  /** Stops the watches whose key `keep` turns down. */
  prune(keep: (key: string) => boolean): void {
    for (const [key, w] of this.watchers) {
      if (!keep(key)) {
        w.close();
        this.watchers.delete(key);
      }
    }
  }

  /** Stops every watch, the rescan and a burst not yet reported. */
  closeAll(): void {
    clearInterval(this.rescanTimer);
    clearTimeout(this.debounce);
    this.debounce = undefined;
    this.pending.clear();
    this.prune(() => false);
  }

  private event(key: string): void {
    this.pending.add(key);
    if (this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      const keys = [...this.pending];
      this.pending.clear();
      this.onBurst(keys);
    }, this.debounceMs);
  }
}
