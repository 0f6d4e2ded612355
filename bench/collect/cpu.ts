/**
 * CPU time and memory of the measured processes, from /proc. CPU is the sum over threads of
 * /proc/<pid>/task/<tid>/schedstat's first field (ns spent on a CPU; exact, unlike the 10 ms
 * ticks of /proc/<pid>/stat). A thread that exits inside a window loses its share, which is
 * why windows are short and the measured programs keep their threads.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** On-CPU ns per task, keyed "pid/tid". */
export type CpuSnapshot = Map<string, bigint>;

/** A set of tasks whose CPU time is measured together. */
export interface CpuProbe {
  label: string;
  snapshot(): CpuSnapshot;
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return undefined; // the task exited
  }
}

function tidsOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map(Number);
  } catch {
    return [];
  }
}

function taskCpuNs(pid: number, tid: number): bigint | undefined {
  const text = readOrUndefined(`/proc/${pid}/task/${tid}/schedstat`);
  return text === undefined ? undefined : BigInt(text.split(' ', 1)[0]);
}

/** The comm (thread name, at most 15 characters) of a task. */
export function taskComm(pid: number, tid = pid): string | undefined {
  return readOrUndefined(`/proc/${pid}/task/${tid}/comm`)?.trimEnd();
}

function snapshotTasks(into: CpuSnapshot, pid: number, keep: (tid: number) => boolean = () => true): void {
  for (const tid of tidsOf(pid)) {
    if (!keep(tid)) continue;
    const ns = taskCpuNs(pid, tid);
    if (ns !== undefined) into.set(`${pid}/${tid}`, ns);
  }
}

/** All threads of the given processes (re-evaluated at each snapshot). */
export function processProbe(label: string, pids: () => number[]): CpuProbe {
  return {
    label,
    snapshot() {
      const snap: CpuSnapshot = new Map();
      for (const pid of pids()) snapshotTasks(snap, pid);
      return snap;
    },
  };
}

/** The threads of one process that `match` picks by thread id and comm. */
export function threadProbe(label: string, pid: number, match: (tid: number, comm: string) => boolean): CpuProbe {
  return {
    label,
    snapshot() {
      const snap: CpuSnapshot = new Map();
      snapshotTasks(snap, pid, (tid) => match(tid, taskComm(pid, tid) ?? ''));
      return snap;
    },
  };
}

/** Thread ids of a process whose comm is `comm`, ascending (oldest first unless pids wrapped). */
export function threadsNamed(pid: number, comm: string): number[] {
  return tidsOf(pid)
    .filter((tid) => taskComm(pid, tid) === comm)
    .sort((a, b) => a - b);
}

/** CPU ns spent between two snapshots; tasks born inside the window count from zero. */
export function cpuDeltaNs(before: CpuSnapshot, after: CpuSnapshot): bigint {
  let total = 0n;
  for (const [task, ns] of after) total += ns - (before.get(task) ?? 0n);
  return total;
}

/** Processes whose comm is exactly `comm`. */
export function pidsByComm(comm: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    if (readOrUndefined(`/proc/${name}/comm`)?.trimEnd() === comm) out.push(Number(name));
  }
  return out;
}

export interface Resident {
  /** VmRSS */
  rssBytes: number;
  /** RssAnon: heap, stacks, V8's spaces and array buffers; the rest is mapped files (node itself). */
  anonBytes: number;
}

/** Resident memory from /proc/<pid>/status, undefined once the process exited. */
export function residentOf(pid: number): Resident | undefined {
  const status = readOrUndefined(`/proc/${pid}/status`) ?? '';
  const kb = (key: string): number | undefined => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const rssBytes = kb('VmRSS');
  const anonBytes = kb('RssAnon');
  return rssBytes === undefined || anonBytes === undefined ? undefined : { rssBytes, anonBytes };
}
