/** inotify watches on directories, by key, for discoverers that rescan what changed. */
import { watch, type FSWatcher } from 'node:fs';

export class DirWatchers {
  private readonly watchers = new Map<string, FSWatcher>();

  constructor(private readonly onEvent: (key: string) => void) {}

  /**
   * Watches `dir` under `key` unless already watched. A directory that is not there (yet), or
   * an exhausted inotify watch limit, is no error: the caller's periodic rescan covers it.
   */
  add(key: string, dir: string): void {
    if (this.watchers.has(key)) return;
    try {
      const w = watch(dir, { persistent: false }, () => this.onEvent(key));
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

  closeAll(): void {
    this.prune(() => false);
  }
}
