/**
 * The host's cgroup layout, detected from the mount table (never configured), and the two ways
 * of finding a container's cgroup: from a process inside it, or from its path in the tree.
 */
import { existsSync } from 'node:fs';
import { oneShotReader } from '../kernel/kept-file.js';
import { parseMountInfo } from '../kernel/proc/mountinfo.js';
import { detectLayout, parseProcCgroup, v1DirsOf, v2DirOf, type CgroupLayout } from '../kernel/cgroup/hierarchy.js';
import { V1_CONTROLLERS, type V1Dirs } from '../kernel/cgroup/v1/dirs.js';
import type { CgroupLocation } from '../model.js';

export function readHostLayout(mountinfoPath = '/proc/self/mountinfo'): CgroupLayout {
  const text = oneShotReader.read(mountinfoPath);
  if (text === undefined) throw new Error(`${mountinfoPath} is not readable: is /proc mounted?`);
  return detectLayout(parseMountInfo(text, mountinfoPath), mountinfoPath);
}

/** The v1 hierarchy whose paths name containers: memory is mounted wherever Docker runs. */
const PRIMARY_V1 = ['memory', 'pids', 'cpu', 'cpuacct', 'blkio'] as const;

/** The directory discovery walks: the cgroup2 root on v2 hosts, else the primary v1 hierarchy. */
export function walkRootOf(layout: CgroupLayout): string {
  if (layout.mode === 'v2') return layout.v2Root!;
  for (const c of PRIMARY_V1) {
    const m = layout.v1.get(c);
    if (m) return m;
  }
  throw new Error('no cgroup v1 hierarchy with cpu, memory, pids or blkio is mounted');
}

/** A cgroup location from a path relative to the hierarchy roots. */
export function locationFromPath(layout: CgroupLayout, rel: string): CgroupLocation {
  if (layout.mode === 'v2') return { version: 2, path: rel, dir: layout.v2Root + rel };
  const dirs: V1Dirs = {};
  for (const c of V1_CONTROLLERS) {
    const m = layout.v1.get(c);
    if (m) dirs[c] = m + rel;
  }
  // A hybrid host's cgroup2 tree mirrors only cgroups systemd created there (PSI lives there).
  if (layout.v2Root && existsSync(layout.v2Root + rel)) dirs.unified = layout.v2Root + rel;
  return { version: 1, path: rel, dirs };
}

/** A cgroup location from /proc/<pid>/cgroup; undefined when the process is gone. */
export function locationFromPid(layout: CgroupLayout, pid: number): CgroupLocation | undefined {
  const file = `/proc/${pid}/cgroup`;
  const text = oneShotReader.read(file);
  if (text === undefined) return undefined;
  const cg = parseProcCgroup(text, file);
  if (layout.mode === 'v2') {
    const dir = v2DirOf(layout, cg);
    return dir === undefined ? undefined : { version: 2, path: cg.v2 ?? '/', dir };
  }
  const path = PRIMARY_V1.map((c) => cg.v1.get(c)).find((p) => p !== undefined) ?? '/';
  return { version: 1, path, dirs: v1DirsOf(layout, cg) };
}
