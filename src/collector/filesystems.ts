/**
 * Filesystem usage by statfs. The mount table is re-read on every filesystem pass and parsed
 * again only when its text changed, so a disk mounted or a volume attached after start-up is
 * measured from the next pass on (cAdvisor builds its list once and misses them).
 */
import { statfsSync } from 'node:fs';
import { oneShotReader } from '../kernel/kept-file.js';
import { parseMountInfo } from '../kernel/proc/mountinfo.js';
import type { FsStats, MountInfo } from '../kernel/types.js';
import type { ContainerInfo } from '../model.js';

const SLASH = 0x2f;

export class MountTable {
  private text = '';
  private mounts: MountInfo[] = [];

  constructor(private readonly path = '/proc/self/mountinfo') {}

  /**
   * Re-reads the table; returns true when it changed. Opened afresh every time: a descriptor
   * kept open and re-read at offset 0 goes on showing the mounts of its first read (seen on 6.18).
   */
  refresh(): boolean {
    const text = oneShotReader.read(this.path) ?? '';
    if (text === this.text) return false;
    this.text = text;
    this.mounts = parseMountInfo(text, this.path);
    return true;
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

/** statfs one path; undefined when it vanished or cannot be read. */
export function statFs(path: string, mount: MountInfo | undefined, role: FsStats['role'], destination?: string): FsStats | undefined {
  let s;
  try {
    s = statfsSync(path, { bigint: true });
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

/** The writable layer and every volume or bind mount of a container. */
export function containerFilesystems(info: ContainerInfo, table: MountTable): FsStats[] {
  const out: FsStats[] = [];
  if (info.rootfsPath) {
    const fs = statFs(info.rootfsPath, table.mountOf(info.rootfsPath), 'rootfs', '/');
    if (fs) out.push(fs);
  }
  for (const m of info.mounts) {
    if (m.type !== 'volume' && m.type !== 'bind') continue;
    const fs = statFs(m.source, table.mountOf(m.source), 'volume', m.destination);
    if (fs) out.push(fs);
  }
  return out;
}

export function hostFilesystems(table: MountTable): FsStats[] {
  const out: FsStats[] = [];
  for (const m of table.hostFilesystems()) {
    const fs = statFs(m.mountpoint, m, 'host');
    if (fs) out.push(fs);
  }
  return out;
}
