/**
 * Which cgroup layout the host has (v1, hybrid, unified v2), where each hierarchy is mounted,
 * and where a process's cgroup directories are.
 */
import { ParseError } from '../errors.js';
import type { MountInfo } from '../types.js';
import { V1_CONTROLLERS, type V1Dirs } from './v1/dirs.js';

export type CgroupMode = 'v1' | 'hybrid' | 'v2';

export interface CgroupLayout {
  /** v1: only v1 controller mounts; hybrid: v1 controllers plus a cgroup2 mount; v2: cgroup2 only. */
  mode: CgroupMode;
  /**
   * v1 controller → mountpoint of its hierarchy. A co-mount ("cpu,cpuacct") maps both names;
   * named hierarchies appear as "name=systemd", as in /proc/<pid>/cgroup.
   */
  v1: Map<string, string>;
  /** Mountpoint of the cgroup2 hierarchy (/sys/fs/cgroup in v2, /sys/fs/cgroup/unified in hybrid). */
  v2Root?: string;
}

/** Super options of a v1 cgroup mount that are not controller names. */
const NON_CONTROLLER_OPTIONS = new Set(['rw', 'ro', 'noprefix', 'clone_children', 'xattr', 'cpuset_v2_mode', 'favordynmods', 'nofavordynmods']);

function isControllerOption(opt: string): boolean {
  if (opt.startsWith('name=')) return true;
  if (opt.includes('=')) return false; // release_agent=...
  return !NON_CONTROLLER_OPTIONS.has(opt);
}

/**
 * Finds the cgroup mounts in a mount table. Only mounts of a hierarchy's root (mountinfo root
 * "/") count: a bind mount of a sub-cgroup, as a container sees its own, cannot address the
 * other cgroups. The first mount of each hierarchy wins.
 */
export function detectLayout(mounts: MountInfo[], file = '/proc/self/mountinfo'): CgroupLayout {
  const v1 = new Map<string, string>();
  let v2Root: string | undefined;
  let v1Controllers = false;
  for (const m of mounts) {
    if (m.root !== '/') continue;
    if (m.fsType === 'cgroup2') {
      v2Root ??= m.mountpoint;
    } else if (m.fsType === 'cgroup') {
      for (const opt of m.superOptions.split(',')) {
        if (!isControllerOption(opt) || v1.has(opt)) continue;
        v1.set(opt, m.mountpoint);
        if (!opt.startsWith('name=')) v1Controllers = true;
      }
    }
  }
  if (v1Controllers) return { mode: v2Root === undefined ? 'v1' : 'hybrid', v1, v2Root };
  if (v2Root === undefined) throw new ParseError(file, 'no cgroup or cgroup2 mount');
  return { mode: 'v2', v1, v2Root };
}

export interface ProcCgroup {
  /** v1 controller (or "name=X") → path relative to that hierarchy's root. */
  v1: Map<string, string>;
  /** Path in the cgroup2 hierarchy (the "0::" line). */
  v2?: string;
}

/**
 * /proc/<pid>/cgroup: "hierarchy-ID:controller-list:path" per line; the cgroup2 line is
 * "0::/path". The path may itself contain ':', so only the first two colons separate.
 */
export function parseProcCgroup(text: string, file = '/proc/self/cgroup'): ProcCgroup {
  const out: ProcCgroup = { v1: new Map() };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const c1 = line.indexOf(':');
    const c2 = c1 < 0 ? -1 : line.indexOf(':', c1 + 1);
    if (c1 <= 0 || c2 < 0 || line.charCodeAt(c2 + 1) !== 47 /* '/' */) {
      throw new ParseError(file, `expected "id:controllers:/path", got ${JSON.stringify(line)}`);
    }
    const path = line.slice(c2 + 1);
    if (c2 === c1 + 1) {
      out.v2 = path;
    } else {
      for (const controller of line.slice(c1 + 1, c2).split(',')) out.v1.set(controller, path);
    }
  }
  return out;
}

function join(mountpoint: string, path: string): string {
  return path === '/' ? mountpoint : mountpoint + path;
}

/** A process's directory in each v1 hierarchy; `unified` only when it has its own cgroup2 directory. */
export function v1DirsOf(layout: CgroupLayout, cgroup: ProcCgroup): V1Dirs {
  const dirs: V1Dirs = {};
  for (const controller of V1_CONTROLLERS) {
    const mountpoint = layout.v1.get(controller);
    const path = cgroup.v1.get(controller);
    if (mountpoint !== undefined && path !== undefined) dirs[controller] = join(mountpoint, path);
  }
  if (layout.v2Root !== undefined && cgroup.v2 !== undefined && cgroup.v2 !== '/') {
    dirs.unified = join(layout.v2Root, cgroup.v2);
  }
  return dirs;
}

/** A process's directory in the cgroup2 hierarchy, or undefined without one. */
export function v2DirOf(layout: CgroupLayout, cgroup: ProcCgroup): string | undefined {
  if (layout.v2Root === undefined || cgroup.v2 === undefined) return undefined;
  return join(layout.v2Root, cgroup.v2);
}
