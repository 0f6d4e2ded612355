/**
 * N plain cgroups with one sleeping process each, the way systemd lays out transient units:
 * <hierarchy>/cstats-bench.slice/bench-<i>.scope. On a v1 or hybrid host the cgroup is made in
 * every hierarchy the agent reads (cpu, cpuacct, memory, pids, blkio, and the cgroup2 tree of a
 * hybrid host, where runc and systemd also place their cgroups and where PSI lives); on a v2
 * host once, under the cgroup2 root, with the controllers enabled for the slice.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import type { CgroupLayout } from '../../src/kernel/cgroup/hierarchy.js';
import { sleep } from './children.js';

export const SLICE = 'cstats-bench.slice';
const V1_HIERARCHIES = ['cpu', 'cpuacct', 'memory', 'pids', 'blkio'] as const;
const V2_CONTROLLERS = ['cpu', 'memory', 'io', 'pids'];

export const scopeName = (i: number): string => `bench-${i}.scope`;

/** The hierarchy mountpoints a bench cgroup is made in (a co-mount counted once). */
export function benchHierarchies(layout: CgroupLayout): string[] {
  if (layout.mode === 'v2') return [layout.v2Root!];
  const mounts = new Set<string>();
  for (const c of V1_HIERARCHIES) {
    const m = layout.v1.get(c);
    if (m) mounts.add(m);
  }
  if (layout.v2Root) mounts.add(layout.v2Root);
  return [...mounts];
}

function readProcs(dir: string): number[] {
  try {
    return readFileSync(`${dir}/cgroup.procs`, 'latin1').split('\n').filter((l) => l !== '').map(Number);
  } catch {
    return [];
  }
}

export class BenchCgroups {
  private readonly slices: string[];
  private count = 0;

  constructor(private readonly layout: CgroupLayout) {
    this.slices = benchHierarchies(layout).map((h) => `${h}/${SLICE}`);
  }

  get size(): number {
    return this.count;
  }

  /** Where the cgroups are made, for the report. */
  describe(): string {
    return this.slices.map((s) => `${s}/bench-<i>.scope`).join(', ');
  }

  /**
   * Adds cgroups until there are n, each with a `sleep` that joins it in every hierarchy
   * before it execs, as under systemd-run: its memory is charged to the cgroup, so the
   * figures are not all zero (netdata draws no chart for an all-zero cgroup).
   */
  async grow(n: number): Promise<void> {
    for (const slice of this.slices) mkdirSync(slice, { recursive: true });
    if (this.layout.mode === 'v2') this.enableV2Controllers();
    const added: string[] = [];
    for (let i = this.count; i < n; i++) {
      const dirs = this.slices.map((s) => `${s}/${scopeName(i)}`);
      for (const d of dirs) mkdirSync(d, { recursive: true });
      await spawnSleeper(dirs);
      added.push(dirs[dirs.length - 1]);
    }
    for (let waited = 0; added.some((d) => readProcs(d).length === 0); waited += 100) {
      if (waited > 30_000) throw new Error(`sleepers did not join their cgroups, e.g. ${added.find((d) => readProcs(d).length === 0)}`);
      await sleep(100);
    }
    this.count = Math.max(this.count, n);
  }

  private enableV2Controllers(): void {
    const root = this.layout.v2Root!;
    const slice = this.slices[0];
    const available = new Set(readFileSync(`${root}/cgroup.controllers`, 'latin1').trim().split(/\s+/));
    const wanted = V2_CONTROLLERS.filter((c) => available.has(c)).map((c) => `+${c}`);
    if (wanted.length === 0) return;
    writeFileSync(`${root}/cgroup.subtree_control`, wanted.join(' '));
    writeFileSync(`${slice}/cgroup.subtree_control`, wanted.join(' '));
  }

  /** Kills every process in the bench cgroups and removes them; safe to call at any point. */
  static async destroy(layout: CgroupLayout): Promise<void> {
    const slices = benchHierarchies(layout).map((h) => `${h}/${SLICE}`).filter((s) => existsSync(s));
    const scopes = slices.flatMap((s) =>
      readdirSync(s, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => `${s}/${e.name}`),
    );
    for (let attempt = 0; attempt < 50; attempt++) {
      const pids = new Set(scopes.flatMap(readProcs));
      if (pids.size === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await sleep(100);
    }
    for (const dir of [...scopes, ...slices]) {
      try {
        rmdirSync(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot remove ${dir}: ${(err as Error).message}`);
      }
    }
  }
}

const JOIN_THEN_SLEEP = 'for d; do echo $$ > "$d/cgroup.procs"; done; exec sleep 1000000';

/** Starts a shell that moves itself into `dirs` and becomes `sleep`, detached from the benchmark. */
function spawnSleeper(dirs: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', JOIN_THEN_SLEEP, 'sh', ...dirs], { stdio: 'ignore', detached: true });
    child.once('error', reject);
    child.once('spawn', () => {
      child.unref();
      resolve();
    });
  });
}
