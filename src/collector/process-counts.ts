/**
 * The process count of every container at every tick, for cAdvisor's series (each point's
 * process_count, as cAdvisor counts them at each housekeeping). A count is read from
 * cgroup.procs only when it may have changed: a process is created or ends only by running in
 * the group (fork and exit are its own tasks' work, charged to its CPU time), and one moved in
 * or out changes the task count; so a group whose CPU time and task count (pids.current) both
 * stand still keeps its count unread, and one with at most one task has that many processes.
 * Counts are kept as changes over the raw-history window, so an idle container costs nothing.
 */
import { countProcesses } from '../kernel/cgroup/procs.js';
import type { ContainerInfo, Sample } from '../model.js';
import type { ContainerEntry } from '../store/store.js';

/** A container's process count for its sample; undefined when its cgroup is gone or unreadable. */
export function processCount(info: ContainerInfo, latest: Sample | undefined): bigint | undefined {
  const tasks = latest?.cgroup.pids?.current;
  if (tasks !== undefined && tasks <= 1n) return tasks;
  try {
    const n = countProcesses(info.cgroup.version === 1 ? info.cgroup.dirs : info.cgroup.dir);
    return n === undefined ? undefined : BigInt(n);
  } catch {
    return undefined; // a malformed or unreadable cgroup.procs: no count
  }
}

/**
 * Containers counted between yields to the event loop. A count is a read and a stat per cgroup,
 * some 30 µs: 1000 containers take about 30 ms of CPU, in slices of a few milliseconds (through
 * fs.promises the same took 300 ms, the thread pool's round trips).
 */
const SLICE = 100;

/**
 * The process count of each container of `entries` by id, read when a surface asks (cAdvisor REST,
 * /metrics, the kubelet summary, REST's detail); a container whose cgroup is gone or
 * unreadable has none (the surfaces then leave the figure out). Where the latest sample counted
 * at most one task in the cgroup tree (pids.current is hierarchical), that is the count, unread.
 */
export async function readProcessCounts(entries: readonly ContainerEntry[]): Promise<Map<string, bigint>> {
  const counts = new Map<string, bigint>();
  let read = 0;
  for (const { info, latest } of entries) {
    if (++read % SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
    const n = processCount(info, latest);
    if (n !== undefined) counts.set(info.id, n);
  }
  return counts;
}

interface Change {
  monoNs: bigint;
  count: bigint | undefined;
}

interface Tracked {
  seenMonoNs: bigint;
  usageNs?: bigint;
  tasks?: bigint;
  /** Oldest first; the first one may predate the window (it holds for the window's start). */
  changes: Change[];
}

export class ProcessCountLog {
  private readonly byId = new Map<string, Tracked>();
  private readonly keepNs: bigint;

  /** `keepMs`: how far back counts are asked for (the raw history's window). */
  constructor(keepMs: number) {
    this.keepNs = BigInt(Math.ceil(keepMs)) * 1_000_000n;
  }

  /** After each tick: every sampled container's latest sample. Containers not given are forgotten. */
  observe(containers: Iterable<{ info: ContainerInfo; latest?: Sample }>): void {
    const live = new Set<string>();
    for (const { info, latest } of containers) {
      if (!latest) continue;
      live.add(info.id);
      const t = this.byId.get(info.id);
      if (t?.seenMonoNs === latest.monoNs) continue;
      const usageNs = latest.cgroup.cpu?.usageNs;
      const tasks = latest.cgroup.pids?.current;
      const last = t?.changes.at(-1);
      const still = t !== undefined && last !== undefined && usageNs !== undefined && tasks !== undefined && t.usageNs === usageNs && t.tasks === tasks;
      const count = still ? last.count : processCount(info, latest);
      if (!t) {
        this.byId.set(info.id, { seenMonoNs: latest.monoNs, usageNs, tasks, changes: [{ monoNs: latest.monoNs, count }] });
        continue;
      }
      Object.assign(t, { seenMonoNs: latest.monoNs, usageNs, tasks });
      if (count !== last?.count) t.changes.push({ monoNs: latest.monoNs, count });
      const from = latest.monoNs - this.keepNs;
      while (t.changes.length > 1 && t.changes[1].monoNs <= from) t.changes.shift();
    }
    for (const id of this.byId.keys()) if (!live.has(id)) this.byId.delete(id);
  }

  /** The count at the sample taken at `monoNs`; undefined before the log knew the container. */
  countAt(id: string, monoNs: bigint): bigint | undefined {
    const changes = this.byId.get(id)?.changes;
    if (!changes) return undefined;
    for (let i = changes.length - 1; i >= 0; i--) if (changes[i].monoNs <= monoNs) return changes[i].count;
    return undefined;
  }
}
