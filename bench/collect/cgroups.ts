/**
 * N plain cgroups with one sleeping process each, the way systemd lays out transient units:
 * <hierarchy>/<prefix>.slice/bench-<i>.scope (BENCH_PREFIX, default cstats-bench). On a v1 or hybrid host the cgroup is made in
 * every hierarchy the agent reads (cpu, cpuacct, memory, pids, blkio, and the cgroup2 tree of a
 * hybrid host, where runc and systemd also place their cgroups and where PSI lives); on a v2
 * host once, under the cgroup2 root, with the controllers enabled for the slice.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import type { CgroupLayout } from '../../src/kernel/cgroup/hierarchy.js';
import { PREFIX, run, sleep } from './children.js';

export const SLICE = `${PREFIX}.slice`;
const V1_HIERARCHIES = ['cpu', 'cpuacct', 'memory', 'pids', 'blkio'] as const;
const V2_CONTROLLERS = ['cpu', 'memory', 'io', 'pids'];
const JOIN_TIMEOUT_MS = 60_000;

/**
 * For i in [$1, $2): a subshell writes its own pid into <scope prefix $3>-<i>.scope of every slice
 * given after $4, then execs bash running command $4 with I=i. Joining before the exec, as under
 * systemd-run, charges the process's memory to the cgroup, so its figures are not all zero
 * (netdata draws no chart for an all-zero cgroup). One bash forks them all: a spawn per cgroup
 * from Node is several times slower.
 */
const SPAWN = `
first=$1 end=$2 scope=$3 cmd=$4
shift 4
for ((i = first; i < end; i++)); do
	(for s in "$@"; do echo $BASHPID >"$s/$scope-$i.scope/cgroup.procs"; done; I=$i exec bash -c "$cmd") </dev/null >/dev/null 2>&1 &
done`;

/** What an idle bench cgroup runs. */
export const IDLE_COMMAND = 'exec sleep 1000000';

/** Files the busy command writes, by prefix: removed at cleanup. */
export const busyFiles = (prefix: string): string[] => [`/dev/shm/${prefix}-busy-`, `/var/tmp/${prefix}-busy-`];

/**
 * What a busy bench cgroup runs, every second: a little CPU, a tmpfs file of a new size (memory
 * that changes: shmem is charged to the writer's group), 32 KiB written with O_DIRECT (block IO
 * that reaches the disk), and a 1000-byte ping on the loopback of a network namespace of its own
 * (unshare -n), so that its interface counters move. About 250 of them at N = 1000 write 8 MB/s.
 */
export function busyCommand(prefix: string): string {
  const [shm, disk] = busyFiles(prefix);
  return `exec unshare -n bash -c '
ip link set lo up
while :; do
	for ((k = 0; k < 500; k++)); do :; done
	dd if=/dev/zero of=${shm}$I bs=64k count=$((RANDOM % 32 + 1)) 2>/dev/null
	dd if=/dev/zero of=${disk}$I bs=32k count=1 oflag=direct 2>/dev/null
	busybox ping -c 1 -s 1000 -W 1 127.0.0.1 >/dev/null 2>&1
	sleep 1
done'`;
}

/** The hierarchy mountpoints a bench cgroup is made in (a co-mount counted once). */
function benchHierarchies(layout: CgroupLayout): string[] {
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

/** Kills every process in `dirs` and removes them (children before parents). */
async function removeCgroups(dirs: string[]): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const pids = new Set(dirs.flatMap(readProcs));
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
  for (const dir of dirs) {
    try {
      rmdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot remove ${dir}: ${(err as Error).message}`);
    }
  }
}

export class BenchCgroups {
  private readonly slices: string[];
  /** Indexes of the cgroups there now, oldest first; new ones take `next` on. */
  private live: number[] = [];
  private next = 0;

  constructor(
    private readonly layout: CgroupLayout,
    /** The slice they are made in: another benchmark's own name keeps the two apart. */
    slice = SLICE,
    /** Scopes are <scope>-<i>.scope: the agent names the container <scope>-<i>. */
    private readonly scope = 'bench',
    private readonly command = IDLE_COMMAND,
  ) {
    this.slices = benchHierarchies(layout).map((h) => `${h}/${slice}`);
  }

  get count(): number {
    return this.live.length;
  }

  /** Where the cgroups are made, for the report. */
  describe(): string {
    return this.slices.map((s) => `${s}/${this.scope}-<i>.scope`).join(', ');
  }

  private dirsOf(i: number): string[] {
    return this.slices.map((s) => `${s}/${this.scope}-${i}.scope`);
  }

  /** Adds cgroups until there are n, each with its own `sleep`. */
  async grow(n: number): Promise<void> {
    if (n <= this.count) return;
    const first = this.next;
    const end = first + n - this.count;
    for (const slice of this.slices) mkdirSync(slice, { recursive: true });
    if (this.layout.mode === 'v2') this.enableV2Controllers();
    for (let i = first; i < end; i++) for (const d of this.dirsOf(i)) mkdirSync(d, { recursive: true });
    await run('bash', ['-c', SPAWN, 'bash', String(first), String(end), this.scope, this.command, ...this.slices]);
    const joined = (i: number): boolean => this.dirsOf(i).every((d) => readProcs(d).length > 0);
    for (let i = first, waited = 0; i < end; ) {
      if (joined(i)) i++;
      else if ((waited += 100) > JOIN_TIMEOUT_MS) throw new Error(`the process of ${this.scope}-${i}.scope did not join all its cgroups`);
      else await sleep(100);
    }
    for (let i = first; i < end; i++) this.live.push(i);
    this.next = end;
  }

  /** Removes the newest cgroups (and their sleeps) until there are n. */
  async shrink(n: number): Promise<void> {
    await this.remove(this.live.slice(n));
  }

  /** Churn: removes the k oldest cgroups and makes k new ones (new names, so new containers). */
  async replaceOldest(k: number): Promise<void> {
    const n = this.count;
    await this.remove(this.live.slice(0, k));
    await this.grow(n);
  }

  private async remove(indexes: number[]): Promise<void> {
    await removeCgroups(indexes.flatMap((i) => this.dirsOf(i)));
    const gone = new Set(indexes);
    this.live = this.live.filter((i) => !gone.has(i));
  }

  private enableV2Controllers(): void {
    const root = this.layout.v2Root!;
    const available = new Set(readFileSync(`${root}/cgroup.controllers`, 'latin1').trim().split(/\s+/));
    const wanted = V2_CONTROLLERS.filter((c) => available.has(c)).map((c) => `+${c}`);
    if (wanted.length === 0) return;
    writeFileSync(`${root}/cgroup.subtree_control`, wanted.join(' '));
    writeFileSync(`${this.slices[0]}/cgroup.subtree_control`, wanted.join(' '));
  }

  /** Kills every process in the bench cgroups and removes them all; safe to call at any point. */
  static async destroy(layout: CgroupLayout, slice = SLICE): Promise<void> {
    const slices = benchHierarchies(layout).map((h) => `${h}/${slice}`).filter((s) => existsSync(s));
    const scopes = slices.flatMap((s) =>
      readdirSync(s, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => `${s}/${e.name}`),
    );
    await removeCgroups([...scopes, ...slices]);
  }
}
