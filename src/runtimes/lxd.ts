/**
 * LXD and Incus containers by their own names, from the daemon's REST API on its unix socket:
 * `GET /1.0/instances?recursion=1&all-projects=true` (each instance's name, project, type,
 * status, created_at, last_used_at and expanded config), asked again on each lifecycle event
 * (`/1.0/events?type=lifecycle&all-projects=true`, a WebSocket) and every `resyncMs`. The
 * instances' state (`recursion=2`, `/state`) is never asked for: LXD computes it by reading the
 * same cgroups, and the figures come from the kernel here.
 *
 * LXD runs a container with liblxc under the LXC name `<name>` in the default project and
 * `<project>_<name>` in any other (lxd/project/project.go, Instance()), so its cgroup is
 * `/lxc.payload.<that>` (LXC >= 4), the same directory the cgroup walk finds; this discoverer
 * gives it the same id (from the path), and, coming first, its name. Virtual machines run in
 * QEMU, not in a cgroup of that shape: they are left out.
 */
import { existsSync } from 'node:fs';
import type { CgroupLocation, ContainerInfo } from '../model.js';
import { idFromPath } from './classify.js';
import { firstPid, netnsInode, networkOfPid, primaryDir } from './cgroupfs.js';
import { DaemonDiscoverer, type DaemonOptions, type EventStream } from './daemon.js';
import { LxdClient } from './lxd-client.js';
import type { Logger } from '../log.js';

/** The fields read of one entry of GET /1.0/instances?recursion=1 (shared/api/instance.go). */
export interface LxdInstance {
  name: string;
  /** Absent from servers without projects (API extension "projects"): the default project. */
  project?: string;
  /** "container" or "virtual-machine". */
  type?: string;
  status: string;
  created_at: string;
  /** When the instance was last started. */
  last_used_at?: string;
  /** Its own config merged with its profiles'. */
  expanded_config?: Record<string, string>;
}

/** By LXD's status (shared/api/status_code.go); any other is read as LXD's stopped states are. */
const STATES: Record<string, ContainerInfo['state']> = {
  Running: 'running',
  Freezing: 'running',
  Thawed: 'running',
  // Still running until it has stopped.
  Stopping: 'running',
  Frozen: 'paused',
  Starting: 'created',
  Error: 'dead',
};

/** An RFC 3339 time; LXD gives an instance never started last_used_at "1970-01-01T00:00:00Z". */
function timeMs(text: string | undefined): number | undefined {
  const ms = text ? Date.parse(text) : NaN;
  return ms > 0 ? ms : undefined;
}

function keysWithPrefix(config: Record<string, string>, prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) if (k.startsWith(prefix)) out[k] = v;
  return out;
}

/** The cgroup path (relative to the hierarchy roots) liblxc gives an LXD container. */
export function lxdCgroupPath(project: string, name: string): string {
  return `/lxc.payload.${project === 'default' ? name : `${project}_${name}`}`;
}

export interface LxdContext {
  /** 'lxd' or 'incus', as the daemon calls itself (GET /1.0: environment.server). */
  runtime: 'lxd' | 'incus';
  locate: (relPath: string) => CgroupLocation;
  hostNetns: number | undefined;
}

/**
 * The containers of a /1.0/instances?recursion=1 answer. A container listed as running whose
 * cgroup is not there (stopped since the listing) is given as exited until the next listing.
 */
export function lxdContainers(instances: readonly LxdInstance[], ctx: LxdContext): ContainerInfo[] {
  const out: ContainerInfo[] = [];
  for (const inst of instances) {
    if (inst.type !== undefined && inst.type !== 'container') continue;
    const project = inst.project ?? 'default';
    const config = inst.expanded_config ?? {};
    const path = lxdCgroupPath(project, inst.name);
    const cgroup = ctx.locate(path);
    const dir = primaryDir(cgroup);
    const listed = STATES[inst.status] ?? 'exited';
    const listedLive = listed === 'running' || listed === 'paused';
    const live = listedLive && dir !== undefined && existsSync(dir);
    const pid = live ? firstPid(cgroup) : undefined;
    out.push({
      id: idFromPath(path),
      // Names are unique within a project: the default project's go by name alone, as `lxc list` shows them.
      name: project === 'default' ? inst.name : `${project}/${inst.name}`,
      runtime: ctx.runtime,
      kind: 'lxc',
      image: config['image.description'] ?? config['image.os'] ?? '',
      labels: keysWithPrefix(config, 'user.'),
      state: listedLive && !live ? 'exited' : listed,
      cgroup,
      pid,
      network: networkOfPid(pid, ctx.hostNetns),
      createdMs: timeMs(inst.created_at) ?? 0,
      startedMs: timeMs(inst.last_used_at),
      mounts: [],
      lxd: { project, limits: keysWithPrefix(config, 'limits.') },
    });
  }
  return out;
}

export interface LxdOptions extends DaemonOptions {
  locate: (relPath: string) => CgroupLocation;
}

export class LxdDiscoverer extends DaemonDiscoverer {
  readonly name: string;
  private readonly client: LxdClient;
  private readonly hostNetns = netnsInode('self');
  /** As the daemon calls itself, asked once: the daemon behind a socket path does not change kind. */
  private runtime?: 'lxd' | 'incus';

  constructor(
    private readonly lxd: LxdOptions,
    log: Logger,
  ) {
    // Thirty seconds as for Docker: the lifecycle events say every start, stop and deletion.
    super({ resyncMs: 30_000, ...lxd }, log, 'lxd');
    this.client = new LxdClient(lxd.socketPath);
    this.name = `lxd:${lxd.socketPath}`;
  }

  protected subscribe(onEvent: () => void): EventStream {
    return this.client.websocket('/1.0/events?type=lifecycle&all-projects=true', onEvent);
  }

  protected async listContainers(): Promise<ContainerInfo[]> {
    if (this.runtime === undefined) {
      const server = await this.client.get<{ environment?: { server?: string } }>('/1.0');
      this.runtime = server.environment?.server === 'incus' ? 'incus' : 'lxd';
    }
    const instances = await this.client.get<LxdInstance[]>('/1.0/instances?recursion=1&all-projects=true');
    return lxdContainers(instances, { runtime: this.runtime, locate: this.lxd.locate, hostNetns: this.hostNetns });
  }

  protected connectedDetail(): string {
    return `connected to ${this.lxd.socketPath} (${this.runtime})`;
  }
}
