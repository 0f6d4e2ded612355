/**
 * cgroup.procs: the processes (thread-group ids, one per line) of a cgroup, the same file in v1
 * and v2. pids.current counts tasks, i.e. threads; this is the count of processes. Read on
 * demand, not per tick: a tree costs a read and a stat per cgroup in it.
 */
import { readdirSync, statSync } from 'node:fs';
import { ParseError } from '../errors.js';
import { isGone, oneShotReader, type FileReader } from '../kept-file.js';
import type { V1Dirs } from './v1/dirs.js';

/**
 * The ids in one cgroup.procs. v1 does not promise a sorted list free of repeats (cgroup-v1
 * documentation: "userspace should sort/uniquify the list"), so callers count distinct ids.
 */
export function parseProcs(text: string, file: string): number[] {
  const pids: number[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (!/^\d{1,10}$/.test(line)) throw new ParseError(file, `not a process id: ${JSON.stringify(line.slice(0, 40))}`);
    pids.push(Number(line));
  }
  return pids;
}

/** The directory whose cgroup.procs holds a cgroup's processes: v1's pids hierarchy, else cpu (as cAdvisor); v2's one dir. */
export function procsDir(where: V1Dirs | string): string | undefined {
  return typeof where === 'string' ? where || undefined : (where.pids ?? where.cpu);
}

/** The child cgroups of a cgroup directory; none when it is gone. */
function children(dir: string): string[] {
  try {
    // kernfs keeps a directory's link count at 2 + its subdirectories (as disk filesystems do),
    // so a stat spares the listing of the many cgroups that have no children.
    if (statSync(dir).nlink <= 2) return [];
    return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? [`${dir}/${e.name}`] : []));
  } catch (err) {
    if (isGone(err)) return [];
    throw err;
  }
}

/**
 * Distinct processes in a cgroup and every cgroup below it. Undefined when the cgroup is gone
 * (or has no such directory); a malformed file throws its ParseError. A child that vanishes
 * during the walk counts as empty, and so does a v2 threaded child, whose cgroup.procs refuses
 * reads (EOPNOTSUPP): its processes are listed by the threaded domain above it.
 */
export function countProcesses(where: V1Dirs | string, reader: FileReader = oneShotReader): number | undefined {
  const top = procsDir(where);
  if (top === undefined) return undefined;
  const pids = new Set<number>();
  const pending = [top];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    const file = `${dir}/cgroup.procs`;
    let text: string | undefined;
    try {
      text = reader.read(file);
    } catch (err) {
      if (dir === top || (err as NodeJS.ErrnoException).code !== 'EOPNOTSUPP') throw err;
    }
    if (text === undefined) {
      if (dir === top) return undefined;
      continue;
    }
    for (const pid of parseProcs(text, file)) pids.add(pid);
    pending.push(...children(dir));
  }
  return pids.size;
}
