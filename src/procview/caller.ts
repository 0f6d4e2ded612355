/**
 * Who is reading: the FUSE header gives a thread id; this maps it to the container whose files
 * it should see. A caller in our own mount namespace is the host (it reads the mount directly,
 * not through a bind mount inside a container) and gets the host's files; so does a pid that
 * has already gone.
 */
import { readlinkSync } from 'node:fs';
import { parseProcCgroup, v1DirsOf, v2DirOf, type CgroupLayout, type ProcCgroup } from '../kernel/cgroup/hierarchy.js';
import { oneShotReader, type FileReader } from '../kernel/kept-file.js';
import { TASK_CONTROLLERS, V1Cgroup } from './cgroup/v1.js';
import { V2Cgroup } from './cgroup/v2.js';
import type { ContainerCgroup } from './cgroup/view.js';

export interface ProcviewEnv {
  /** Where the host's /proc is (a fixture tree in tests). */
  procRoot: string;
  /** The host's /sys/devices/system/cpu/online. */
  cpuOnlineFile: string;
  layout: CgroupLayout;
}

/** The hierarchy whose directories are the cgroups' `tasks.dir` (see V1Cgroup, V2Cgroup), and its thread list. */
export function taskHierarchy(layout: CgroupLayout): { root: string; file: string } {
  if (layout.mode === 'v2') return { root: layout.v2Root ?? '/sys/fs/cgroup', file: 'cgroup.threads' };
  const root = TASK_CONTROLLERS.map((c) => layout.v1.get(c)).find((d) => d !== undefined);
  if (root === undefined) throw new Error('no v1 cgroup hierarchy with cpu, cpuacct, memory, pids, cpuset or blkio is mounted');
  return { root, file: 'tasks' };
}

function readlinkOrUndefined(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** systemd-in-a-container moves its own processes into init.scope; LXCFS strips it the same way. */
function pruneInitScope(path: string): string {
  return path.endsWith('/init.scope') ? path.slice(0, -'/init.scope'.length) || '/' : path;
}

function prune(cg: ProcCgroup): ProcCgroup {
  const v1 = new Map<string, string>();
  for (const [controller, path] of cg.v1) v1.set(controller, pruneInitScope(path));
  return cg.v2 === undefined ? { v1 } : { v1, v2: pruneInitScope(cg.v2) };
}

/** "PPid:" and "NSpid:" from /proc/<pid>/status; NSpid lists the pid in each nested namespace, outermost first. */
export function parseStatusIds(text: string): { ppid: number; nspid: number[] } | undefined {
  const ppid = /^PPid:\s+(\d+)$/m.exec(text);
  const nspid = /^NSpid:((?:\s+\d+)+)$/m.exec(text);
  if (!ppid || !nspid) return undefined;
  return { ppid: Number(ppid[1]), nspid: nspid[1].trim().split(/\s+/).map(Number) };
}

export class CallerResolver {
  private readonly selfMntNs: string | undefined;
  private readonly initByPidNs = new Map<string, number>();

  constructor(
    private readonly env: ProcviewEnv,
    private readonly reader: FileReader = oneShotReader,
  ) {
    this.selfMntNs = readlinkOrUndefined(`${env.procRoot}/self/ns/mnt`);
  }

  /** The caller's container cgroup, or undefined for the host (or a pid that is gone). */
  resolve(pid: number): ContainerCgroup | undefined {
    if (pid <= 0) return undefined;
    const ns = readlinkOrUndefined(`${this.env.procRoot}/${pid}/ns/mnt`);
    if (ns === undefined || ns === this.selfMntNs) return undefined;
    const text = this.reader.read(`${this.env.procRoot}/${pid}/cgroup`);
    if (text === undefined) return undefined;
    let cg: ProcCgroup;
    try {
      cg = prune(parseProcCgroup(text, `${this.env.procRoot}/${pid}/cgroup`));
    } catch {
      return undefined;
    }
    const layout = this.env.layout;
    if (layout.mode === 'v2') {
      const dir = v2DirOf(layout, cg);
      return dir === undefined || dir === layout.v2Root || layout.v2Root === undefined ? undefined : new V2Cgroup(layout.v2Root, dir);
    }
    if (cg.v1.get('memory') === '/' && cg.v1.get('cpu') === '/') return undefined;
    return new V1Cgroup(v1DirsOf(layout, cg));
  }

  private ids(pid: number): { ppid: number; nspid: number[] } | undefined {
    const text = this.reader.read(`${this.env.procRoot}/${pid}/status`);
    return text === undefined ? undefined : parseStatusIds(text);
  }

  private isInitOf(pid: number, pidNs: string): boolean {
    return this.ids(pid)?.nspid.at(-1) === 1 && readlinkOrUndefined(`${this.env.procRoot}/${pid}/ns/pid`) === pidNs;
  }

  /**
   * The host pid of the init (pid 1) of `pid`'s pid namespace: up the parent chain while it
   * stays in that namespace; for a process entered from outside (docker exec), whose parent is
   * outside, among the cgroup's processes instead. Cached per namespace.
   */
  initOf(pid: number, cgroup: ContainerCgroup): number | undefined {
    const pidNs = readlinkOrUndefined(`${this.env.procRoot}/${pid}/ns/pid`);
    if (pidNs === undefined) return undefined;
    const cached = this.initByPidNs.get(pidNs);
    if (cached !== undefined && this.isInitOf(cached, pidNs)) return cached;
    this.initByPidNs.delete(pidNs);
    const found = this.walkToInit(pid, pidNs) ?? this.scanForInit(cgroup, pidNs);
    if (found !== undefined) this.initByPidNs.set(pidNs, found);
    return found;
  }

  private walkToInit(pid: number, pidNs: string): number | undefined {
    for (let p = pid, depth = 0; p > 0 && depth < 64; depth++) {
      const ids = this.ids(p);
      if (ids === undefined) return undefined;
      if (ids.nspid.at(-1) === 1) return p;
      if (readlinkOrUndefined(`${this.env.procRoot}/${ids.ppid}/ns/pid`) !== pidNs) return undefined;
      p = ids.ppid;
    }
    return undefined;
  }

  private scanForInit(cgroup: ContainerCgroup, pidNs: string): number | undefined {
    const procs = this.reader.read(cgroup.procsFile);
    for (const token of procs?.split('\n') ?? []) {
      if (token !== '' && this.isInitOf(Number(token), pidNs)) return Number(token);
    }
    return undefined;
  }
}
