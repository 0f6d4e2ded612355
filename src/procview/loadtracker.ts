/**
 * Load averages of every cgroup, kept as the kernel keeps the global one (kernel/sched/loadavg.c):
 * every 5 seconds one pass over the cgroup tree counts each cgroup's runnable and uninterruptible
 * threads (its whole subtree, as a container's /proc/loadavg counts them) and folds the count
 * into its three averages. A cgroup starts from 0 when the pass first finds it, within 5 s of
 * its creation, so a young container shows the decay of its own short life, never a seeded
 * value; cgroups that were there when the tracker started begin at 0 then, as the kernel's
 * averages do at boot. A cgroup that is gone is dropped. The root's own threads are never read
 * (nobody asks for the root: the host gets the host's file).
 *
 * The cost is one small read of /proc/<tid>/stat per thread of the host outside the root
 * cgroup, every 5 s, in a worker thread (loads-thread.ts), off the FUSE request path.
 */
import { countTasks, subdirectories } from './content.js';
import { foldLoad, LOAD_FREQ_MS, NO_LOAD, type Avenrun } from './files/loadavg.js';

export class LoadTracker {
  private loads = new Map<string, Avenrun>();
  private timer: NodeJS.Timeout | undefined;

  /**
   * `root` is the mountpoint of the hierarchy whose directories are the keys (the one procview's
   * cgroups name their tasks by), `file` its thread list: "tasks" (v1) or "cgroup.threads" (v2).
   */
  constructor(
    private readonly procRoot: string,
    private readonly root: string,
    private readonly file: string,
    private readonly onUpdate: (loads: Map<string, Avenrun>) => void,
  ) {}

  /** One LOAD_FREQ step for every cgroup below the root. */
  tick(): void {
    const next = new Map<string, Avenrun>();
    const fold = (dir: string, counts: { running: number; uninterruptible: number }): void => {
      next.set(dir, foldLoad(this.loads.get(dir) ?? NO_LOAD, counts.running + counts.uninterruptible));
    };
    for (const child of subdirectories(this.root)) countTasks(this.procRoot, `${this.root}/${child}`, this.file, 0, fold);
    this.loads = next;
    this.onUpdate(next);
  }

  get(dir: string): Avenrun | undefined {
    return this.loads.get(dir);
  }

  /** The timer keeps the thread it runs in alive (the serving process exits with process.exit). */
  start(): void {
    this.timer ??= setInterval(() => this.tick(), LOAD_FREQ_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
