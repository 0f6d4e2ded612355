/**
 * Renders each virtual file for one caller, from the kernel files as they are at that instant:
 * the host's own file for the host, the container's view for a process in a container.
 */
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import type { StatContext } from '../kernel/cgroup/read-file.js';
import { KeptFiles, oneShotReader } from '../kernel/kept-file.js';
import { parsePidStat } from '../kernel/proc/pidstat.js';
import type { ContainerCgroup } from './cgroup/view.js';
import { CallerResolver, type ProcviewEnv } from './caller.js';
import { parseCpuList, visibleCpus } from './cpus.js';
import { renderCpuinfo, renderCpuOnline } from './files/cpuinfo.js';
import { renderDiskstats } from './files/diskstats.js';
import { NO_LOAD, renderLoadavg, type Avenrun, type TaskCounts } from './files/loadavg.js';
import { containerSwapKb, renderMeminfo } from './files/meminfo.js';
import { renderStat } from './files/stat.js';
import { renderSwaps } from './files/swaps.js';
import { renderUptime } from './files/uptime.js';

export const FILE_KINDS = ['meminfo', 'cpuinfo', 'stat', 'uptime', 'loadavg', 'diskstats', 'swaps', 'cpuOnline'] as const;
export type FileKind = (typeof FILE_KINDS)[number];

/**
 * Load averages kept outside the request path (see loadtracker.ts), keyed by task directory;
 * undefined for a cgroup the tracker has not folded yet (younger than its last 5 s step).
 */
export interface LoadSource {
  get(key: string): Avenrun | undefined;
}

export interface ContentOptions {
  env: ProcviewEnv;
  /** Limit the CPUs shown to ceil(quota / period) (on by default; --no-cfs-cpus). */
  cfsCpus: boolean;
  loads: LoadSource;
  onError?: (err: unknown) => void;
}

const statBuf = Buffer.alloc(4096);

/**
 * A task's state letter (field 3 of /proc/<tid>/stat, after the parenthesised name), or
 * undefined when it is gone. This runs for every task of a container at each read of /proc/stat
 * or /proc/loadavg, so it is one open, one read (the file is far under a page) and one close,
 * with no full parse: 200 tasks took 6 to 9 ms on the loaded 2-core test host.
 */
function taskState(procRoot: string, tid: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(`${procRoot}/${tid}/stat`, 'r');
  } catch {
    return undefined;
  }
  try {
    const n = readSync(fd, statBuf, 0, statBuf.length, 0);
    const close = statBuf.lastIndexOf(0x29, n - 1); // ')'
    return close < 0 || close + 2 >= n ? undefined : String.fromCharCode(statBuf[close + 2]);
  } catch {
    return undefined; // exited between open and read (ESRCH)
  } finally {
    closeSync(fd);
  }
}

/**
 * Counts a cgroup's threads and those that add to the load (R and D), across its subtree.
 * `file` lists thread ids: "tasks" in v1, "cgroup.threads" in v2. The reader of the file, if
 * given, counts as running, as it does when it reads the kernel's own file: here it waits in D
 * for the FUSE reply. `visit`, if given, is called with every directory of the subtree and its
 * subtree's counts, children before parents.
 */
export function countTasks(
  procRoot: string,
  dir: string,
  file: string,
  callerTid = 0,
  visit?: (dir: string, counts: TaskCounts) => void,
): TaskCounts | undefined {
  const list = oneShotReader.read(`${dir}/${file}`);
  if (list === undefined) return undefined;
  const counts: TaskCounts = { running: 0, uninterruptible: 0, total: 0 };
  for (const tid of list.split('\n')) {
    if (tid === '') continue;
    const state = Number(tid) === callerTid ? 'R' : taskState(procRoot, tid);
    if (state === undefined) continue;
    counts.total++;
    if (state === 'R') counts.running++;
    else if (state === 'D') counts.uninterruptible++;
  }
  for (const child of subdirectories(dir)) {
    const sub = countTasks(procRoot, `${dir}/${child}`, file, callerTid, visit);
    if (!sub) continue;
    counts.running += sub.running;
    counts.uninterruptible += sub.uninterruptible;
    counts.total += sub.total;
  }
  visit?.(dir, counts);
  return counts;
}

/** The names of a directory's subdirectories (child cgroups); none when it is gone. */
export function subdirectories(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return []; // removed while counting
  }
}

/** Kept-open readers per container cgroup, the least recently used closed beyond `max`. */
class ReaderPool {
  private readonly readers = new Map<string, KeptFiles>();

  constructor(private readonly max: number) {}

  get(key: string): KeptFiles {
    let r = this.readers.get(key);
    if (r) {
      this.readers.delete(key);
    } else {
      r = new KeptFiles();
      if (this.readers.size >= this.max) {
        const [oldest, reader] = this.readers.entries().next().value as [string, KeptFiles];
        reader.close();
        this.readers.delete(oldest);
      }
    }
    this.readers.set(key, r);
    return r;
  }
}

export class ContentSource {
  private readonly host = new KeptFiles();
  private readonly pool = new ReaderPool(256);
  readonly resolver: CallerResolver;

  constructor(private readonly opts: ContentOptions) {
    this.resolver = new CallerResolver(opts.env);
  }

  private hostFile(kind: FileKind): string {
    const path = kind === 'cpuOnline' ? this.opts.env.cpuOnlineFile : `${this.opts.env.procRoot}/${kind}`;
    return this.host.read(path) ?? '';
  }

  render(kind: FileKind, pid: number): string {
    const onError = this.opts.onError ?? (() => undefined);
    try {
      const cgroup = this.resolver.resolve(pid);
      if (cgroup) {
        const ctx: StatContext = { reader: this.pool.get(cgroup.key), onError };
        const text = this.renderFor(kind, pid, cgroup, ctx);
        if (text !== undefined) return text;
      }
    } catch (err) {
      onError(err);
    }
    return this.hostFile(kind);
  }

  /** undefined when the cgroup cannot answer (gone, controller missing): the host's file is served. */
  private renderFor(kind: FileKind, pid: number, cg: ContainerCgroup, ctx: StatContext): string | undefined {
    switch (kind) {
      case 'meminfo': {
        const view = cg.memory(ctx);
        return view && renderMeminfo(this.hostFile('meminfo'), view);
      }
      case 'swaps': {
        const view = cg.memory(ctx);
        const hostSwap = /^SwapTotal:\s+(\d+)/m.exec(this.hostFile('meminfo'));
        return view && renderSwaps(...containerSwapKb(view, BigInt(hostSwap?.[1] ?? 0)));
      }
      case 'cpuinfo':
        return renderCpuinfo(this.hostFile('cpuinfo'), this.cpus(cg, ctx).visible);
      case 'cpuOnline':
        return renderCpuOnline(this.cpus(cg, ctx).visible);
      case 'stat': {
        const usage = cg.cpuUsage(ctx);
        const { cpuset, visible } = this.cpus(cg, ctx);
        return usage && renderStat(this.hostFile('stat'), cpuset, visible, usage, countTasks(this.opts.env.procRoot, cg.tasks.dir, cg.tasks.file, pid));
      }
      case 'uptime': {
        const init = this.resolver.initOf(pid, cg);
        const initStat = init === undefined ? undefined : oneShotReader.read(`${this.opts.env.procRoot}/${init}/stat`);
        const usage = cg.cpuUsage(ctx);
        if (initStat === undefined || usage === undefined) return undefined;
        return renderUptime({
          hostUptimeSec: Number(this.hostFile('uptime').split(' ')[0]),
          initStartTicks: parsePidStat(initStat).startTimeTicks,
          usageNs: usage.userNs + usage.systemNs,
          cpus: this.cpus(cg, ctx).visible.length,
        });
      }
      case 'loadavg': {
        const { dir, file } = cg.tasks;
        const tasks = countTasks(this.opts.env.procRoot, dir, file, pid);
        if (!tasks) return undefined;
        // As the kernel's at boot, a cgroup's averages start from 0 when it is created.
        const avenrun = this.opts.loads.get(dir) ?? NO_LOAD;
        const lastPid = Number(this.hostFile('loadavg').trim().split(' ').at(-1));
        return renderLoadavg(avenrun, tasks, lastPid);
      }
      case 'diskstats':
        return renderDiskstats(this.hostFile('diskstats'), cg.io(ctx) ?? []);
    }
  }

  private cpus(cg: ContainerCgroup, ctx: StatContext): { cpuset: number[]; visible: number[] } {
    const online = parseCpuList(this.hostFile('cpuOnline'), this.opts.env.cpuOnlineFile);
    const limits = cg.cpuLimits(ctx);
    return {
      cpuset: visibleCpus(online, { cpuset: limits.cpuset }, false),
      visible: visibleCpus(online, limits, this.opts.cfsCpus),
    };
  }
}
