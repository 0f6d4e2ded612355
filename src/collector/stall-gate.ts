/**
 * Whether any container under a parent cgroup stalled since the previous tick, from the
 * parent's own pressure files: one read per parent and resource instead of one per container.
 *
 * PSI is hierarchical: whenever a task of a child is stalled on a CPU (runnable and waiting,
 * reclaiming memory, waiting for I/O), every ancestor, up to the system-wide figures in
 * /proc/pressure, counts the same instant as "some" stall. So when a parent's "some" total has
 * not moved between two ticks, no child's "some" or "full" total moved either, to within the
 * kernel's rounding (each read folds the per-CPU stall times into the total weighted by
 * non-idle jiffies, and totals are shown in µs); and a child whose averages were all zero at
 * its last read still reads the same. The parent is read before any of its children in a
 * tick; a child's remembered figures were read after the parent's read of their tick, and are
 * read again within FROZEN_MAX_AGE_READS ticks whatever the parent says (cgroup-reads.ts).
 */
import { KeptFiles } from '../kernel/kept-file.js';
import { parsePressure, PRESSURE_FILE, PRESSURE_RESOURCES, type PressureResource } from '../kernel/cgroup/v2/pressure.js';
import type { CgroupLocation, ContainerInfo } from '../model.js';

export type QuietResources = Record<PressureResource, boolean>;

interface ParentState {
  files: KeptFiles;
  /** Tick number of the last read. */
  tick: number;
  /** "some" totals (µs) at the last read, by resource; undefined where not readable. */
  totals: (bigint | undefined)[];
  quiet: QuietResources;
}

const NONE_QUIET: QuietResources = { cpu: false, memory: false, io: false };

type ParentDir = { parent: string; root: boolean } | undefined;

/** pressureDirs by cgroup location: worked out once per container, not per container per tick. */
const parentDirs = new WeakMap<CgroupLocation, ParentDir>();

/** The cgroup2 directory whose pressure files a container has, and its parent's, if any. */
function pressureDirs(info: ContainerInfo): ParentDir {
  const cg = info.cgroup;
  if (parentDirs.has(cg)) return parentDirs.get(cg);
  const dirs = parentDirOf(cg);
  parentDirs.set(cg, dirs);
  return dirs;
}

function parentDirOf(cg: CgroupLocation): ParentDir {
  const dir = cg.version === 2 ? cg.dir : cg.dirs.unified;
  if (dir === undefined || !dir.endsWith(cg.path) || cg.path === '/' || cg.path === '') return undefined;
  const root = dir.slice(0, dir.length - cg.path.length);
  const rel = cg.path.slice(0, cg.path.lastIndexOf('/'));
  // The cgroup2 root has no pressure files of its own: /proc/pressure holds the system's.
  return rel === '' ? { parent: '/proc/pressure', root: true } : { parent: root + rel, root: false };
}

export class StallGate {
  private readonly parents = new Map<string, ParentState>();
  private tick = 0;
  /** The parents in the last update and how many containers each has: a handful of parents. */
  private readonly children = new Map<string, { root: boolean; count: number }>();

  /**
   * Reads the parents of `containers` that have at least two of them (one child saves nothing)
   * and notes which resources stayed quiet since the previous tick. Call once per tick, before
   * any container of it is read.
   */
  update(containers: readonly ContainerInfo[]): void {
    this.tick++;
    this.children.clear();
    for (const info of containers) {
      const p = pressureDirs(info);
      if (!p) continue;
      const c = this.children.get(p.parent);
      if (c) c.count++;
      else this.children.set(p.parent, { root: p.root, count: 1 });
    }
    for (const [parent, c] of this.children) if (c.count >= 2) this.readParent(parent, c.root);
    for (const [parent, s] of this.parents) {
      if (s.tick !== this.tick) {
        s.files.close();
        this.parents.delete(parent);
      }
    }
  }

  /** Which resources are known quiet for this container in this tick. */
  quietFor(info: ContainerInfo): QuietResources {
    const p = pressureDirs(info);
    const s = p && this.parents.get(p.parent);
    return s !== undefined && s.tick === this.tick ? s.quiet : NONE_QUIET;
  }

  close(): void {
    for (const s of this.parents.values()) s.files.close();
    this.parents.clear();
  }

  /** Any failure to read or parse a parent's file only means its children are read as usual. */
  private readParent(parent: string, root: boolean): void {
    let s = this.parents.get(parent);
    if (!s) {
      s = { files: new KeptFiles(), tick: -1, totals: [], quiet: { ...NONE_QUIET } };
      this.parents.set(parent, s);
    }
    const consecutive = s.tick === this.tick - 1;
    PRESSURE_RESOURCES.forEach((resource, i) => {
      const name = root ? resource : PRESSURE_FILE[resource];
      let total: bigint | undefined;
      try {
        const text = s.files.readAt(parent, name);
        total = text === undefined ? undefined : parsePressure(text, `${parent}/${name}`).some?.totalUs;
      } catch {
        total = undefined;
      }
      s.quiet[resource] = consecutive && total !== undefined && total === s.totals[i];
      s.totals[i] = total;
    });
    s.tick = this.tick;
  }
}
