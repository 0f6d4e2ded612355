/**
 * Plain-cgroup discovery: walks one cgroup hierarchy, claims the directories classify.ts calls
 * containers, and watches the grouping directories with inotify so a new or removed container
 * is seen at once. A full rescan every `rescanMs` repairs anything a watch missed (inotify
 * queue overflow, a hierarchy remounted).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import type { CgroupLocation, ContainerInfo, NetworkSource } from '../model.js';
import { oneShotReader } from '../kernel/kept-file.js';
import { classifyCgroup, type CgroupClass } from './classify.js';
import { HealthState, type Discoverer } from './types.js';
import { DirWatchers } from './dir-watchers.js';
import type { Logger } from '../log.js';

const MAX_DEPTH = 8;
/**
 * How long after a container's process is found its network namespace is checked again at every
 * listing. A process often enters its cgroup before it joins its namespace (`ip netns exec`,
 * a runtime that calls setns after the cgroup write): the first look can see the host's.
 */
const NETNS_SETTLE_MS = 10_000;

export interface CgroupfsOptions {
  /** The hierarchy directory walked, e.g. /sys/fs/cgroup (v2) or /sys/fs/cgroup/memory (v1). */
  walkRoot: string;
  /** Turns a path relative to the hierarchy root into the container's cgroup location. */
  locate: (relPath: string) => CgroupLocation;
  /** Skip what another discoverer (Docker) claims: called with the classification. */
  skip?: (c: CgroupClass) => boolean;
  rescanMs?: number;
}

/** The network namespace inode of a process, to tell host-network and shared namespaces apart. */
export function netnsInode(pid: number | 'self'): number | undefined {
  try {
    return statSync(`/proc/${pid}/ns/net`).ino;
  } catch {
    return undefined;
  }
}

/** The host's network, the process's own, or unknown when the process is gone. */
export function networkOfPid(pid: number | undefined, hostNetns: number | undefined): NetworkSource {
  const netns = pid === undefined ? undefined : netnsInode(pid);
  if (pid === undefined || netns === undefined) return { kind: 'unknown' };
  return netns === hostNetns ? { kind: 'host' } : { kind: 'own', pid };
}

/** The cgroup's directory in the hierarchy discovery walks (v1: pids, memory or cpu). */
export function primaryDir(loc: CgroupLocation): string | undefined {
  return loc.version === 2 ? loc.dir : (loc.dirs.pids ?? loc.dirs.memory ?? loc.dirs.cpu);
}

/** The first process in the cgroup itself (not below it), or undefined when it holds none or is gone. */
export function firstPid(loc: CgroupLocation): number | undefined {
  const dir = primaryDir(loc);
  const text = dir && oneShotReader.read(`${dir}/cgroup.procs`);
  const first = text?.split('\n', 1)[0];
  return first ? Number(first) : undefined;
}

function commOf(pid: number): string | undefined {
  return oneShotReader.read(`/proc/${pid}/comm`)?.trim();
}

export class CgroupfsDiscoverer implements Discoverer {
  readonly name = 'cgroupfs';
  private readonly found = new Map<string, ContainerInfo>();
  /** Coalesces bursts of inotify events: each grouping directory with events is read again. */
  private readonly watchers = new DirWatchers(50, (dirs) => {
    for (const d of dirs) this.rescanDir(d);
    this.attributeSharedNetworks();
    this.onChange?.();
  });
  private readonly healthState = new HealthState();
  onChange?: () => void;
  private readonly hostNetns = netnsInode('self');
  /** By cgroup path: the network namespace inode the container's process was last seen in. */
  private readonly netnsSeen = new Map<string, number | undefined>();
  /** By cgroup path: until when a container found lately has its namespace looked at on every listing. */
  private readonly settling = new Map<string, number>();

  constructor(
    private readonly opts: CgroupfsOptions,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.rescan();
    this.watchers.every(this.opts.rescanMs ?? 30_000, () => this.rescan());
  }

  stop(): void {
    this.watchers.closeAll();
  }

  /**
   * A cgroup is often created before its first process enters it: a container found empty gets
   * its pid (and so its network) as soon as one appears.
   */
  containers(): ContainerInfo[] {
    let changed = false;
    const now = Date.now();
    // forEach: for-of over entries makes a [key, value] pair per container, every tick.
    this.found.forEach((c, rel) => {
      if (c.pid === undefined) changed = this.resolvePid(rel, c) || changed;
    });
    for (const [rel, untilMs] of this.settling) {
      const c = this.found.get(rel);
      if (!c || now >= untilMs) this.settling.delete(rel);
      else if (this.movedNetns(rel, c)) changed = this.resolvePid(rel, c) || changed;
    }
    if (changed) this.attributeSharedNetworks();
    return [...this.found.values()];
  }

  /**
   * Sets pid and network from the cgroup's first process; true when one was found. The
   * namespace is looked at again for NETNS_SETTLE_MS, and at every full rescan.
   */
  private resolvePid(rel: string, c: ContainerInfo): boolean {
    const pid = firstPid(c.cgroup);
    c.pid = pid;
    if (pid === undefined) {
      c.network = { kind: 'unknown' };
      return false;
    }
    const netns = netnsInode(pid);
    c.network = netns === this.hostNetns ? { kind: 'host' } : { kind: 'own', pid };
    if (!this.netnsSeen.has(rel) || this.netnsSeen.get(rel) !== netns) this.settling.set(rel, Date.now() + NETNS_SETTLE_MS);
    this.netnsSeen.set(rel, netns);
    return true;
  }

  private movedNetns(rel: string, c: ContainerInfo): boolean {
    return c.pid !== undefined && netnsInode(c.pid) !== this.netnsSeen.get(rel);
  }

  health() {
    return this.healthState.get();
  }

  /** Walks the whole hierarchy again. */
  rescan(): void {
    const seen = new Set<string>();
    try {
      this.scan('', 0, seen);
      this.healthState.set(true, `watching ${this.opts.walkRoot}`);
    } catch (err) {
      const msg = `cannot read ${this.opts.walkRoot}: ${(err as Error).message}`;
      if (this.healthState.set(false, msg)) this.log.warn('cgroupfs', msg);
      return;
    }
    for (const path of this.found.keys()) if (!seen.has(path)) this.found.delete(path);
    for (const path of this.netnsSeen.keys()) if (!this.found.has(path)) this.netnsSeen.delete(path);
    // The process a container was known by may have exited while others remain, or moved to another namespace.
    for (const [rel, c] of this.found) if (c.pid !== undefined && (!existsSync(`/proc/${c.pid}`) || this.movedNetns(rel, c))) this.resolvePid(rel, c);
    this.watchers.prune((dir) => seen.has(dir));
    this.attributeSharedNetworks();
  }

  /** Scans one directory (relative path) and what is below it; records every path it saw. */
  private scan(rel: string, depth: number, seen: Set<string>): void {
    const abs = this.opts.walkRoot + rel;
    seen.add(rel);
    this.watchers.add(rel, abs);
    let entries;
    try {
      entries = readdirSync(abs, { withFileTypes: true });
    } catch (err) {
      if (rel === '') throw err;
      return; // removed while walking
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const childRel = `${rel}/${e.name}`;
      const cls = classifyCgroup(childRel);
      if (cls) {
        seen.add(childRel);
        if (!this.opts.skip?.(cls) && !this.found.has(childRel)) this.add(childRel, cls);
      } else if (depth < MAX_DEPTH) {
        this.scan(childRel, depth + 1, seen);
      }
    }
  }

  /** Re-reads one grouping directory: adds new children, drops vanished ones below it. */
  private rescanDir(rel: string): void {
    const seen = new Set<string>();
    const depth = rel.split('/').length - 1;
    this.scan(rel, depth, seen);
    const prefix = rel + '/';
    for (const path of this.found.keys()) if (path.startsWith(prefix) && !seen.has(path)) this.found.delete(path);
    this.watchers.prune((dir) => !dir.startsWith(prefix) || seen.has(dir));
  }

  private add(rel: string, cls: CgroupClass): void {
    const now = Date.now();
    const info: ContainerInfo = {
      id: cls.id,
      name: cls.name,
      runtime: 'cgroupfs',
      kind: cls.kind,
      image: '',
      labels: {},
      state: 'running',
      cgroup: this.opts.locate(rel),
      network: { kind: 'unknown' },
      createdMs: now,
      startedMs: now,
      mounts: [],
      pod: cls.pod ? { uid: cls.pod.uid, sandbox: false } : undefined,
    };
    this.resolvePid(rel, info);
    this.found.set(rel, info);
  }

  /**
   * Containers of one Kubernetes pod share the sandbox's (pause container's) network
   * namespace: attribute their network to the sandbox, as kubelet does.
   */
  private attributeSharedNetworks(): void {
    const byPod = new Map<string, ContainerInfo[]>();
    for (const c of this.found.values()) {
      if (!c.pod?.uid) continue;
      const list = byPod.get(c.pod.uid) ?? [];
      list.push(c);
      byPod.set(c.pod.uid, list);
    }
    for (const members of byPod.values()) {
      const sandbox = members.find((c) => c.pid !== undefined && commOf(c.pid) === 'pause');
      if (!sandbox?.pod || sandbox.pid === undefined) continue;
      sandbox.pod.sandbox = true;
      const ns = netnsInode(sandbox.pid);
      for (const c of members) {
        if (c !== sandbox && c.pid !== undefined && netnsInode(c.pid) === ns) c.network = { kind: 'shared', withId: sandbox.id };
      }
    }
  }
}
