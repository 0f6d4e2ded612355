/**
 * Load averages for every container that has asked for /proc/loadavg, from one timer: every
 * 5 seconds one pass counts each tracked cgroup's runnable and uninterruptible tasks and folds
 * the count into its averages. No thread per cgroup; a cgroup nobody asked about for an hour,
 * or that is gone, is dropped.
 */
import { countTasks } from './content.js';
import { foldLoad, LOAD_FREQ_MS, type Avenrun } from './files/loadavg.js';

const FORGET_AFTER_MS = 3600_000;

interface Tracked {
  file: string;
  avenrun: Avenrun;
  lastAskedMs: number;
}

export class LoadTracker {
  private readonly tracked = new Map<string, Tracked>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly procRoot: string,
    private readonly onUpdate: (loads: Map<string, Avenrun>) => void,
  ) {}

  track(dir: string, file: string, start: Avenrun, nowMs = Date.now()): void {
    const t = this.tracked.get(dir);
    if (t) t.lastAskedMs = nowMs;
    else this.tracked.set(dir, { file, avenrun: start, lastAskedMs: nowMs });
  }

  /** One LOAD_FREQ step for every tracked cgroup. */
  tick(nowMs = Date.now()): void {
    for (const [dir, t] of this.tracked) {
      const counts = nowMs - t.lastAskedMs > FORGET_AFTER_MS ? undefined : countTasks(this.procRoot, dir, t.file);
      if (!counts) {
        this.tracked.delete(dir);
        continue;
      }
      t.avenrun = foldLoad(t.avenrun, counts.running + counts.uninterruptible);
    }
    this.onUpdate(this.snapshot());
  }

  snapshot(): Map<string, Avenrun> {
    return new Map([...this.tracked].map(([dir, t]) => [dir, t.avenrun]));
  }

  start(): void {
    this.timer ??= setInterval(() => this.tick(), LOAD_FREQ_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
