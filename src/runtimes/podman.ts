/**
 * Podman discovery from podman's own state database, <graph root>/libpod/bolt_state.db (BoltDB,
 * podman up to 4.x), so it works whether or not `podman system service` runs: podman has no
 * daemon to ask. Buckets used (libpod/boltdb_state.go): "ctr" holds one bucket per container id
 * with "config" (ContainerConfig JSON: name, labels, image, pod, netNsCtr) and "state"
 * (ContainerState JSON: state, pid, times, mountPoint); "pod" holds one bucket per pod id with
 * "config" (name, labels) and "state" (InfraContainerID). Only names, labels and identity are
 * read here; every figure still comes from the kernel through the container's cgroup, found
 * from its pid, which covers both cgroup managers (cgroupfs: <parent>/libpod-<id>; systemd:
 * machine.slice/libpod-<id>.scope).
 */
import { readFileSync } from 'node:fs';
import type { ContainerInfo, MountSpec, NetworkSource } from '../model.js';
import { readBolt, type BoltBucket } from './bolt.js';
import type { LocateCgroup } from './types.js';
import { WatchedFilesDiscoverer } from './watched-files.js';
import type { Logger } from '../log.js';

/** libpod/define ContainerStatus, in its order. */
const STATES: readonly ContainerInfo['state'][] = [
  'dead', // unknown
  'created', // configured
  'created',
  'running',
  'exited', // stopped
  'paused',
  'exited',
  'removing',
  'running', // stopping: still running until it has stopped
];

interface PodmanConfig {
  id: string;
  name: string;
  pod?: string;
  labels?: Record<string, string> | null;
  rootfsImageName?: string;
  RawImageName?: string;
  createdTime?: string;
  networkMode?: string;
  netNsCtr?: string;
  staticDir?: string;
  namedVolumes?: { volumeName: string; dest: string; options?: string[] }[] | null;
  spec?: { mounts?: { destination: string; type?: string; source?: string; options?: string[] }[] };
}

interface PodmanState {
  state?: number;
  pid?: number;
  startedTime?: string;
  mountPoint?: string;
}

function json<T>(bucket: BoltBucket, key: string, what: string): T | undefined {
  const raw = bucket.values.get(key);
  if (!raw) return undefined;
  try {
    return JSON.parse(raw.toString('utf8')) as T;
  } catch (err) {
    throw new Error(`${what}: ${key} is not JSON: ${(err as Error).message}`);
  }
}

function timeMs(text: string | undefined): number | undefined {
  if (!text || text.startsWith('0001-')) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

function networkOf(config: PodmanConfig, pid: number | undefined): NetworkSource {
  if (config.netNsCtr) return { kind: 'shared', withId: config.netNsCtr };
  if (config.networkMode === 'host') return { kind: 'host' };
  return pid !== undefined ? { kind: 'own', pid } : { kind: 'unknown' };
}

/** Bind mounts from the OCI spec and named volumes, as `podman inspect` lists them under Mounts. */
function mountsOf(config: PodmanConfig, volumePath: string | undefined): MountSpec[] {
  const out: MountSpec[] = [];
  const named = new Set((config.namedVolumes ?? []).map((v) => v.dest));
  for (const m of config.spec?.mounts ?? []) {
    if (m.type !== 'bind' || !m.source || named.has(m.destination)) continue;
    out.push({ source: m.source, destination: m.destination, readWrite: !m.options?.includes('ro'), type: 'bind' });
  }
  for (const v of config.namedVolumes ?? []) {
    if (!volumePath) continue;
    out.push({ source: `${volumePath}/${v.volumeName}/_data`, destination: v.dest, readWrite: !v.options?.includes('ro'), type: 'volume', name: v.volumeName, driver: 'local' });
  }
  return out;
}

/** Every container in a podman state database. `file` names it in errors. */
export function podmanContainers(db: BoltBucket, locate: LocateCgroup, file: string): ContainerInfo[] {
  const ctrs = db.buckets.get('ctr');
  if (!ctrs) throw new Error(`${file}: no "ctr" bucket: not a podman state database`);
  const volumePath = db.buckets.get('runtime-config')?.values.get('volume-path')?.toString('utf8');
  const pods = new Map<string, { name: string; labels: Record<string, string>; infra?: string }>();
  for (const [id, b] of db.buckets.get('pod')?.buckets ?? []) {
    const config = json<{ name: string; labels?: Record<string, string> | null }>(b, 'config', `${file}: pod ${id}`);
    const state = json<{ InfraContainerID?: string }>(b, 'state', `${file}: pod ${id}`);
    if (config) pods.set(id, { name: config.name, labels: config.labels ?? {}, infra: state?.InfraContainerID });
  }
  const out: ContainerInfo[] = [];
  for (const [id, b] of ctrs.buckets) {
    const config = json<PodmanConfig>(b, 'config', `${file}: container ${id}`);
    if (!config) continue; // being created: its config is written in the same transaction, so a later read has it
    const state = json<PodmanState>(b, 'state', `${file}: container ${id}`) ?? {};
    const status = STATES[state.state ?? 0] ?? 'dead';
    const live = status === 'running' || status === 'paused';
    const pid = live && state.pid && state.pid > 0 ? state.pid : undefined;
    const cgroup = pid !== undefined ? locate(pid) : undefined;
    const pod = config.pod ? pods.get(config.pod) : undefined;
    out.push({
      id,
      name: config.name,
      runtime: 'podman',
      kind: 'podman',
      image: config.rootfsImageName ?? config.RawImageName ?? '',
      labels: config.labels ?? {},
      // A process that exited before the state was updated has no cgroup: not sampled until the next read.
      state: live && !cgroup ? 'exited' : status,
      cgroup: cgroup ?? { version: 2, path: '', dir: '' },
      pid,
      network: networkOf(config, pid),
      createdMs: timeMs(config.createdTime) ?? 0,
      startedMs: timeMs(state.startedTime),
      // The overlay driver mounts <layer>/merged over <layer>/diff, the writable layer.
      rootfsPath: state.mountPoint?.endsWith('/merged') ? state.mountPoint.slice(0, -'merged'.length) + 'diff' : undefined,
      // userdata: the container's log (ctr.log), hosts, resolv.conf, as Docker's containers/<id>.
      containerDir: config.staticDir,
      mounts: mountsOf(config, volumePath),
      pod: config.pod ? { name: pod?.name, uid: config.pod, container: config.name, sandbox: pod?.infra === id } : undefined,
    });
  }
  return out;
}

export interface PodmanOptions {
  /** Podman graph roots (storage.conf graphroot), e.g. /var/lib/containers/storage. */
  roots: readonly string[];
  locate: LocateCgroup;
  rescanMs?: number;
}

export class PodmanDiscoverer extends WatchedFilesDiscoverer {
  readonly name = 'podman';

  constructor(
    private readonly opts: PodmanOptions,
    log: Logger,
  ) {
    // Every transaction rewrites pages of the database file: a write in libpod/ is a change.
    super({ dirs: opts.roots.map((r) => `${r}/libpod`), rescanMs: opts.rescanMs }, log);
  }

  protected load(): { containers: ContainerInfo[]; detail: string } {
    const containers: ContainerInfo[] = [];
    const read: string[] = [];
    const problems: string[] = [];
    for (const root of this.opts.roots) {
      const file = `${root}/libpod/bolt_state.db`;
      let buf: Buffer;
      try {
        buf = readFileSync(file);
      } catch (err) {
        // No podman state there (podman never ran, or uses another root): nothing to find.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') problems.push(`cannot read ${file}: ${(err as Error).message}`);
        continue;
      }
      try {
        containers.push(...podmanContainers(readBolt(buf, file), this.opts.locate, file));
        read.push(file);
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    if (problems.length > 0) throw new Error(problems.join('; '));
    return { containers, detail: read.length > 0 ? `reading ${read.join(', ')}` : `no podman state under ${this.opts.roots.join(', ')}` };
  }
}
