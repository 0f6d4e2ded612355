/**
 * Which cgroup paths are containers, and what they are called. Pure: a path relative to the
 * hierarchy root in, a classification out. Paths that are only grouping levels (slices,
 * /docker, /kubepods/burstable, pod directories) are not containers and are descended into.
 */
import { createHash } from 'node:crypto';

export interface CgroupClass {
  kind: 'docker' | 'systemd' | 'lxc' | 'podman' | 'kubepods';
  id: string;
  name: string;
  pod?: { uid: string; container: string };
}

const HEX64 = /^[0-9a-f]{64}$/;

/** A stable 64-hex id for a cgroup with no id of its own, so id-prefix lookups work as for Docker. */
export function idFromPath(path: string): string {
  return createHash('sha256').update(path).digest('hex');
}

/** kubepods pod directory: "pod<uid>" (cgroupfs) or "kubepods-<qos>-pod<uid_with_underscores>.slice" (systemd). */
function podUid(segment: string): string | undefined {
  let m = /^pod([0-9a-f-]{36})$/.exec(segment);
  if (m) return m[1];
  m = /^kubepods(?:-[a-z]+)?-pod([0-9a-f_]{36})\.slice$/.exec(segment);
  return m ? m[1].replace(/_/g, '-') : undefined;
}

/** "<runtime>-<64hex>.scope" (systemd driver) or a bare 64-hex directory (cgroupfs driver). */
function scopeId(segment: string, prefixes: readonly string[]): string | undefined {
  if (HEX64.test(segment)) return segment;
  for (const p of prefixes) {
    if (segment.startsWith(p) && segment.endsWith('.scope')) {
      const id = segment.slice(p.length, -'.scope'.length);
      if (HEX64.test(id)) return id;
    }
  }
  return undefined;
}

const KUBE_RUNTIMES = ['cri-containerd-', 'crio-', 'docker-'];

export function classifyCgroup(path: string): CgroupClass | undefined {
  const segs = path.split('/').filter((s) => s !== '');
  if (segs.length === 0) return undefined;
  const leaf = segs[segs.length - 1];

  // Kubernetes: the container is the child of a pod directory somewhere under kubepods.
  if (segs[0] === 'kubepods' || segs[0] === 'kubepods.slice') {
    if (segs.length < 2) return undefined;
    const uid = podUid(segs[segs.length - 2]);
    const id = uid ? scopeId(leaf, KUBE_RUNTIMES) : undefined;
    if (!uid || !id) return undefined;
    return { kind: 'kubepods', id, name: `pod${uid}/${id.slice(0, 12)}`, pod: { uid, container: id } };
  }
  // Docker: /docker/<id> (cgroupfs) or .../docker-<id>.scope (systemd).
  if (segs.length === 2 && segs[0] === 'docker' && HEX64.test(leaf)) return { kind: 'docker', id: leaf, name: leaf.slice(0, 12) };
  const dockerId = leaf.startsWith('docker-') ? scopeId(leaf, ['docker-']) : undefined;
  if (dockerId) return { kind: 'docker', id: dockerId, name: dockerId.slice(0, 12) };
  // Podman: .../libpod-<id>.scope or /libpod_parent/libpod-<id>; its conmon monitors are not containers.
  if (leaf.startsWith('libpod-conmon-')) return undefined;
  if (leaf.startsWith('libpod-')) {
    const id = leaf.replace(/^libpod-/, '').replace(/\.scope$/, '');
    if (HEX64.test(id)) return { kind: 'podman', id, name: id.slice(0, 12) };
  }
  // LXC: /lxc/<name> (LXC < 4) or /lxc.payload.<name> (LXC >= 4; lxc.monitor.<name> is LXC's own process).
  if (segs.length === 2 && segs[0] === 'lxc') return { kind: 'lxc', id: idFromPath(path), name: leaf };
  if (segs.length === 1 && leaf.startsWith('lxc.payload.')) return { kind: 'lxc', id: idFromPath(path), name: leaf.slice('lxc.payload.'.length) };
  // Any other systemd scope (machine-*.scope, transient units from systemd-run, sessions).
  if (leaf.endsWith('.scope') && leaf !== 'init.scope') return { kind: 'systemd', id: idFromPath(path), name: leaf.slice(0, -'.scope'.length) };
  return undefined;
}
