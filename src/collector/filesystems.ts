/**
 * Filesystem usage by statfs. The mount table is re-read on every filesystem pass and parsed
 * again only when its text changed, so a disk mounted or a volume attached after start-up is
 * measured from the next pass on (cAdvisor builds its list once and misses them). A container
 * in a mount namespace of its own is measured by what is mounted there now (its process's
 * mountinfo), not only by what its runtime declared when it was created: a mount made later
 * inside it, or propagated into it through a shared or slave volume, is measured from the next
 * pass, and one unmounted is gone from it.
 */
import { lstatSync, statfsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { oneShotReader } from '../kernel/kept-file.js';
import { parseMountInfo } from '../kernel/proc/mountinfo.js';
import type { FsStats, MountInfo } from '../kernel/types.js';
import type { ContainerInfo } from '../model.js';

const SLASH = 0x2f;

/** Whether `path` is `dir` or lies below it. */
function isWithin(path: string, dir: string): boolean {
  return dir === '/' || path === dir || (path.startsWith(dir) && path.charCodeAt(dir.length) === SLASH);
}

/**
 * The host's mount table is init's (/proc/1/mountinfo): the agent's own when it runs on the
 * host, and still the host's when it runs in a container with --pid host. Host paths (Docker's
 * layers and volumes, the host's mountpoints) are then reached through the agent's own mount
 * table: a host path lies at some path inside one filesystem (device, root), and any of the
 * agent's own mounts of that device whose root holds it reaches it (a bind of the host's / or
 * /var/lib/docker; for statfs, which answers for the whole filesystem, any mount of the device
 * will do). A host path that no mount of ours reaches is not measured, never measured at the
 * same path in the agent's own container.
 */
export class MountTable {
  private text = '';
  private mounts: MountInfo[] = [];
  private ownText = '';
  /** The agent's own mounts, or undefined when it shares the host's mount namespace. */
  private own: MountInfo[] | undefined;

  constructor(
    private readonly path = '/proc/1/mountinfo',
    private readonly ownPath = '/proc/self/mountinfo',
  ) {}

  /**
   * Re-reads the table; returns true when it changed. Opened afresh every time: a descriptor
   * kept open and re-read at offset 0 goes on showing the mounts of its first read (seen on 6.18).
   */
  refresh(): boolean {
    const text = oneShotReader.read(this.path) ?? '';
    const ownText = this.path === this.ownPath ? text : (oneShotReader.read(this.ownPath) ?? '');
    if (text === this.text && ownText === this.ownText) return false;
    this.text = text;
    this.ownText = ownText;
    this.mounts = parseMountInfo(text, this.path);
    // Mount ids are global: the same list is the same namespace.
    this.own = ownText === text ? undefined : parseMountInfo(ownText, this.ownPath);
    return true;
  }

  /** Where this process reaches the host's `path`; undefined where none of its mounts does. */
  reach(path: string): string | undefined {
    if (!this.own) return path;
    const host = this.mountOf(path);
    if (!host) return undefined;
    // The path inside the filesystem: the mount's root, then what follows its mountpoint.
    const inFs = join(host.root, path.slice(host.mountpoint.length));
    for (const m of this.own) {
      if (m.major !== host.major || m.minor !== host.minor || !isWithin(inFs, m.root)) continue;
      return join(m.mountpoint, inFs.slice(m.root.length));
    }
    return undefined;
  }

  /** A path of this process on the filesystem of host mount `m` (for statfs), if any. */
  onFilesystem(m: MountInfo): string | undefined {
    if (!this.own) return m.mountpoint;
    return this.own.find((o) => o.major === m.major && o.minor === m.minor)?.mountpoint;
  }

  get all(): readonly MountInfo[] {
    return this.mounts;
  }

  /**
   * The mount a path lives on: the longest mountpoint that is a prefix of it. Asked for every
   * container's layer and volumes on every filesystem pass, over a table that holds a few mounts
   * per container: no string is made per mount.
   */
  mountOf(path: string): MountInfo | undefined {
    let best: MountInfo | undefined;
    for (const m of this.mounts) {
      const mp = m.mountpoint;
      const inside = mp === '/' || (path.startsWith(mp) && (path.length === mp.length || path.charCodeAt(mp.length) === SLASH));
      if (inside && (!best || mp.length >= best.mountpoint.length)) best = m;
    }
    return best;
  }

  /** Block-device filesystems of the host, one per device. */
  hostFilesystems(): MountInfo[] {
    const seen = new Set<string>();
    return this.mounts.filter((m) => {
      if (!m.source.startsWith('/dev/')) return false;
      const key = `${m.major}:${m.minor}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }
}

/** statfs one host path at `at`, where this process reaches it; undefined when it vanished, cannot be read or reached. */
export function statFs(path: string, mount: MountInfo | undefined, role: FsStats['role'], destination?: string, at: string | undefined = path): FsStats | undefined {
  if (at === undefined) return undefined;
  let s;
  try {
    s = statfsSync(at, { bigint: true });
  } catch {
    return undefined;
  }
  const total = s.blocks * s.bsize;
  const free = s.bfree * s.bsize;
  return {
    mountpoint: path,
    device: mount?.source ?? '',
    fsType: mount?.fsType ?? '',
    role,
    destination,
    totalBytes: total,
    freeBytes: free,
    availableBytes: s.bavail * s.bsize,
    usedBytes: total - free,
    inodes: s.files,
    inodesFree: s.ffree,
  };
}

/** Kernel and runtime plumbing, never a container's data. */
const PSEUDO_FS = new Set([
  'proc', 'sysfs', 'cgroup', 'cgroup2', 'devpts', 'devtmpfs', 'mqueue', 'securityfs', 'debugfs', 'tracefs', 'bpf', 'fusectl',
  'configfs', 'pstore', 'hugetlbfs', 'nsfs', 'autofs', 'binfmt_misc', 'rpc_pipefs', 'efivarfs', 'selinuxfs',
]);

/** Mounts below these are the container's view of the kernel (/dev/shm, masked /proc files), not its data. */
function underSystemDir(mountpoint: string): boolean {
  return /^\/(proc|sys|dev)(\/|$)/.test(mountpoint);
}

function inode(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
}

const ownMountNs = inode('/proc/self/ns/mnt');

/**
 * Whether the path is a directory, without following a last symlink. A mount that cannot be
 * reached (ENOTCONN from a FUSE mount whose daemon has died, as a stopped LXCFS leaves behind;
 * EACCES; ELOOP) is not one: it is skipped, and the container's other figures are still read.
 */
function isDirectory(path: string): boolean {
  try {
    return lstatSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch {
    return false;
  }
}

interface NamespaceMount {
  mount: MountInfo;
  /** Where it is mounted in the container. */
  dest: string;
  /** Where the agent reaches it: through /proc/<pid>/root. */
  path: string;
}

/**
 * What is mounted in one container's own mount namespace now, beyond what its runtime declared:
 * directories only (a runtime binds files such as /etc/hosts and resolv.conf), statfs'ed through
 * /proc/<pid>/root, which reaches into the namespace. Its root too when no writable layer is
 * known (LXC, containerd). Nothing for a process in the agent's own namespace: its mounts are the host's.
 *
 * The namespace is compared with the agent's own first (one stat: a plain cgroup's process
 * shares the host's, whose mount table is long). Its mountinfo is read at every pass, and worked
 * out again (parsed, the directories checked) only when its text changed: every mount has an id
 * of its own, unique among the live mounts of all namespaces, so the same text is the same
 * mounts. Over 50 idle Docker containers a pass then costs about half the CPU it did when each
 * table was worked out again (bench/README.md).
 */
export class NamespaceMounts {
  private pid = -1;
  private text: string | undefined;
  private mounts: NamespaceMount[] = [];

  filesystems(pid: number, declared: ReadonlySet<string>, withRoot: boolean, mountinfoPath = `/proc/${pid}/mountinfo`): FsStats[] {
    const ns = inode(`/proc/${pid}/ns/mnt`);
    if (ns === undefined || ns === ownMountNs) return [];
    const text = oneShotReader.read(mountinfoPath);
    if (text === undefined) return []; // the process is gone
    if (pid !== this.pid || text !== this.text) {
      this.mounts = visibleMounts(pid, text, mountinfoPath);
      this.pid = pid;
      this.text = text;
    }
    const out: FsStats[] = [];
    for (const m of this.mounts) {
      if (declared.has(m.dest) || (m.dest === '/' && !withRoot)) continue;
      const fs = statFs(m.path, m.mount, m.dest === '/' ? 'rootfs' : 'volume', m.dest);
      if (fs) out.push(fs);
    }
    return out;
  }
}

/** The mounts of `pid`'s namespace (its mountinfo `text`) that may hold a container's data, in mount order. */
function visibleMounts(pid: number, text: string, mountinfoPath: string): NamespaceMount[] {
  const out: NamespaceMount[] = [];
  const seen = new Set<string>();
  // A later mount over the same point hides the earlier: the last line for a mount point is what is there.
  for (const m of parseMountInfo(text, mountinfoPath).reverse()) {
    const dest = m.mountpoint;
    if (seen.has(dest)) continue;
    seen.add(dest);
    if (PSEUDO_FS.has(m.fsType) || underSystemDir(dest)) continue;
    const path = `/proc/${pid}/root${dest === '/' ? '' : dest}`;
    if (dest !== '/' && !isDirectory(path)) continue;
    out.push({ mount: m, dest, path });
  }
  return out.reverse();
}

/** The writable layer, every volume or bind mount the runtime declared, and what else is mounted in the container now. */
export function containerFilesystems(info: ContainerInfo, table: MountTable, own: NamespaceMounts): FsStats[] {
  const out: FsStats[] = [];
  const declared = new Set<string>();
  if (info.rootfsPath) {
    declared.add('/');
    const fs = statFs(info.rootfsPath, table.mountOf(info.rootfsPath), 'rootfs', '/', table.reach(info.rootfsPath));
    if (fs) out.push(fs);
  }
  for (const m of info.mounts) {
    if (m.type !== 'volume' && m.type !== 'bind') continue;
    declared.add(m.destination);
    const fs = statFs(m.source, table.mountOf(m.source), 'volume', m.destination, table.reach(m.source));
    if (fs) out.push(fs);
  }
  if (info.pid !== undefined) out.push(...own.filesystems(info.pid, declared, !info.rootfsPath));
  return out;
}

export function hostFilesystems(table: MountTable): FsStats[] {
  const out: FsStats[] = [];
  for (const m of table.hostFilesystems()) {
    const fs = statFs(m.mountpoint, m, 'host', undefined, table.onFilesystem(m));
    if (fs) out.push(fs);
  }
  return out;
}
