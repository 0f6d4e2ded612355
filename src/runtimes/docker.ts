/**
 * Docker discovery: list + inspect at start and after every reconnect, then the event stream
 * for changes. While dockerd is down the last known containers keep being sampled (their
 * cgroups outlive the daemon with live-restore, and otherwise vanish on their own).
 */
import type { ContainerInfo, DockerDetails, NetworkSource, PortSpec } from '../model.js';
import { DockerClient, DockerApiError, type DockerEvent, type DockerInspect } from './docker-client.js';
import { HealthState, type Discoverer, type LocateCgroup } from './types.js';
import type { Logger } from '../log.js';

const STATES = new Set<ContainerInfo['state']>(['running', 'paused', 'restarting', 'exited', 'created', 'dead', 'removing']);

/** Actions after which a container's inspect answer changed. */
const REINSPECT = new Set(['create', 'start', 'restart', 'die', 'stop', 'kill', 'pause', 'unpause', 'rename', 'update', 'oom', 'health_status']);

function parseTime(text: string | undefined): number | undefined {
  if (!text || text.startsWith('0001-')) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

function networkOf(inspect: DockerInspect): NetworkSource {
  const mode = inspect.HostConfig.NetworkMode ?? '';
  if (mode === 'host') return { kind: 'host' };
  if (mode.startsWith('container:')) return { kind: 'shared', withId: mode.slice('container:'.length) };
  return inspect.State.Pid > 0 ? { kind: 'own', pid: inspect.State.Pid } : { kind: 'unknown' };
}

/** Kubernetes (dockershim / cri-dockerd) puts pod identity in labels. */
function podOf(labels: Record<string, string>): ContainerInfo['pod'] {
  const name = labels['io.kubernetes.pod.name'];
  if (!name) return undefined;
  return {
    name,
    namespace: labels['io.kubernetes.pod.namespace'],
    uid: labels['io.kubernetes.pod.uid'],
    container: labels['io.kubernetes.container.name'],
    sandbox: labels['io.kubernetes.docker.type'] === 'podsandbox' || labels['io.kubernetes.container.name'] === 'POD',
  };
}

/** NetworkSettings.Ports ({"80/tcp": [{HostIp, HostPort}] | null}) as the port list `docker ps` shows. */
function portsOf(ports: NonNullable<DockerInspect['NetworkSettings']>['Ports']): PortSpec[] {
  const out: PortSpec[] = [];
  for (const [key, bindings] of Object.entries(ports ?? {})) {
    const [port, type = 'tcp'] = key.split('/');
    const privatePort = Number(port);
    if (!bindings || bindings.length === 0) out.push({ privatePort, type });
    else for (const b of bindings) out.push({ privatePort, type, publicPort: Number(b.HostPort), ip: b.HostIp });
  }
  return out;
}

/** Inspect fields kept for the Docker-compatible inspect answer beyond those the client declares. */
type InspectDetails = DockerInspect & {
  ResolvConfPath?: string;
  HostnamePath?: string;
  HostsPath?: string;
  LogPath?: string;
  State: { Error?: string };
  Config: { Hostname?: string };
  HostConfig: { CpuShares?: number; MemorySwap?: number; CpuPeriod?: number; CpuQuota?: number };
  NetworkSettings?: { SandboxID?: string; SandboxKey?: string };
};

function dockerDetailsOf(inspect: InspectDetails): DockerDetails {
  const hc = inspect.HostConfig;
  const networks: DockerDetails['networks'] = {};
  for (const [name, n] of Object.entries(inspect.NetworkSettings?.Networks ?? {})) {
    networks[name] = {
      networkId: n.NetworkID,
      endpointId: n.EndpointID,
      gateway: n.Gateway,
      ipAddress: n.IPAddress,
      ipPrefixLen: n.IPPrefixLen,
      macAddress: n.MacAddress,
      aliases: n.Aliases,
      ipamConfig: n.IPAMConfig ?? null,
      links: n.Links ?? null,
      driverOpts: n.DriverOpts ?? null,
      gwPriority: n.GwPriority,
      ipv6Gateway: n.IPv6Gateway ?? '',
      globalIpv6Address: n.GlobalIPv6Address ?? '',
      globalIpv6PrefixLen: n.GlobalIPv6PrefixLen ?? 0,
      dnsNames: n.DNSNames,
    };
  }
  return {
    imageId: inspect.Image,
    path: inspect.Path,
    args: inspect.Args ?? [],
    exitCode: inspect.State.ExitCode,
    finishedMs: parseTime(inspect.State.FinishedAt),
    oomKilled: inspect.State.OOMKilled ?? false,
    restartCount: inspect.RestartCount ?? 0,
    health: inspect.State.Health?.Status,
    networkMode: inspect.HostConfig.NetworkMode ?? '',
    ports: portsOf(inspect.NetworkSettings?.Ports),
    networks,
    times: { created: inspect.Created, started: inspect.State.StartedAt, finished: inspect.State.FinishedAt },
    error: inspect.State.Error,
    hostname: inspect.Config.Hostname,
    cmd: inspect.Config.Cmd,
    entrypoint: inspect.Config.Entrypoint,
    resources: {
      cpuShares: hc.CpuShares ?? 0,
      memoryBytes: hc.Memory ?? 0,
      memorySwapBytes: hc.MemorySwap ?? 0,
      nanoCpus: hc.NanoCpus ?? 0,
      cpuPeriodUs: hc.CpuPeriod ?? 0,
      cpuQuotaUs: hc.CpuQuota ?? 0,
    },
    graphDriver: inspect.GraphDriver ? { name: inspect.GraphDriver.Name, data: inspect.GraphDriver.Data ?? {} } : undefined,
    sandbox: { id: inspect.NetworkSettings?.SandboxID ?? '', key: inspect.NetworkSettings?.SandboxKey ?? '' },
    files: { resolvConf: inspect.ResolvConfPath ?? '', hostname: inspect.HostnamePath ?? '', hosts: inspect.HostsPath ?? '', log: inspect.LogPath ?? '' },
  };
}

/**
 * Docker's directory of the container, <data-root>/containers/<id> (json log, hostname, hosts,
 * resolv.conf), as cAdvisor finds it; the data root is read off the overlay2 layer path
 * <data-root>/overlay2/<layer>/diff.
 */
function containerDirOf(inspect: DockerInspect): string | undefined {
  const m = /^(.*)\/overlay2\/[^/]+\/diff$/.exec(inspect.GraphDriver?.Data?.UpperDir ?? '');
  return m ? `${m[1]}/containers/${inspect.Id}` : undefined;
}

export function containerFromInspect(inspect: InspectDetails, locate: LocateCgroup): ContainerInfo {
  const pid = inspect.State.Pid > 0 ? inspect.State.Pid : undefined;
  const cgroup = pid !== undefined ? locate(pid) : undefined;
  const labels = inspect.Config.Labels ?? {};
  const state = (STATES.has(inspect.State.Status as ContainerInfo['state']) ? inspect.State.Status : 'dead') as ContainerInfo['state'];
  return {
    id: inspect.Id,
    name: inspect.Name.replace(/^\//, ''),
    runtime: 'docker',
    kind: 'docker',
    image: inspect.Config.Image,
    labels,
    state,
    // A stopped container has no cgroup; an empty v2 location keeps the type total and is never sampled.
    cgroup: cgroup ?? { version: 2, path: '', dir: '' },
    pid,
    network: networkOf(inspect),
    createdMs: parseTime(inspect.Created) ?? 0,
    startedMs: parseTime(inspect.State.StartedAt),
    rootfsPath: inspect.GraphDriver?.Data?.UpperDir,
    containerDir: containerDirOf(inspect),
    mounts: (inspect.Mounts ?? []).map((m) => ({
      source: m.Source,
      destination: m.Destination,
      readWrite: m.RW,
      type: m.Type,
      name: m.Name,
      driver: m.Driver,
      mode: m.Mode,
      propagation: m.Propagation,
    })),
    pod: podOf(labels),
    docker: dockerDetailsOf(inspect),
  };
}

export class DockerDiscoverer implements Discoverer {
  readonly name = 'docker';
  private readonly known = new Map<string, ContainerInfo>();
  /**
   * When a destroy event came, by id: an inspect sent before it and answered after it (a busy
   * daemon takes seconds) describes a container that is gone and must not bring it back.
   */
  private readonly destroyed = new Map<string, number>();
  private readonly healthState = new HealthState();
  onChange?: () => void;
  private stopped = false;
  private cancelStream = (): void => {};
  private retryTimer?: NodeJS.Timeout;
  private resyncTimer?: NodeJS.Timeout;

  constructor(
    private readonly client: DockerClient,
    private readonly locate: LocateCgroup,
    private readonly log: Logger,
    private readonly retryMs = 1000,
    private readonly resyncMs = 30_000,
  ) {}

  containers(): ContainerInfo[] {
    return [...this.known.values()];
  }

  health() {
    return this.healthState.get();
  }

  /** Connects (or keeps retrying in the background); resolves after the first attempt. */
  async start(): Promise<void> {
    await this.connect();
    this.resyncTimer = setInterval(() => {
      if (this.healthState.get().up) this.resync().catch((err) => this.log.warn('docker', `resync failed: ${(err as Error).message}`));
    }, this.resyncMs);
    this.resyncTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    this.cancelStream();
    clearTimeout(this.retryTimer);
    clearInterval(this.resyncTimer);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    try {
      // Open the event stream first so nothing between the list and the stream is missed.
      const stream = this.client.streamEvents(
        (e) => this.onEvent(e),
        () => {},
      );
      this.cancelStream = stream.cancel;
      stream.done.then(
        () => this.down('event stream closed (dockerd stopped?)'),
        (err: Error) => this.down(err.message),
      );
      await this.resync();
      if (this.healthState.set(true, `connected to ${this.client.socketPath}`)) this.log.info('docker', `connected to ${this.client.socketPath}`);
    } catch (err) {
      this.cancelStream();
      this.down((err as Error).message);
    }
  }

  private down(reason: string): void {
    if (this.stopped) return;
    if (this.healthState.set(false, reason)) this.log.warn('docker', `unavailable: ${reason}; retrying every ${this.retryMs} ms`);
    this.cancelStream();
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.connect(), this.retryMs);
  }

  /** Lists every container and inspects the ones that are new or changed state. */
  private async resync(): Promise<void> {
    const list = await this.client.listContainers(true);
    const seen = new Set(list.map((c) => c.Id));
    // Long enough for any inspect in flight to have come back (five attempts, retryMs apart).
    this.forgetDestroyed();
    for (const id of this.known.keys()) if (!seen.has(id)) this.known.delete(id);
    await Promise.all(
      list
        .filter((c) => {
          const k = this.known.get(c.Id);
          return !k || k.state !== c.State;
        })
        .map((c) => this.refresh(c.Id)),
    );
  }

  /**
   * Drops destroy times older than a minute, long enough for any inspect in flight to have come
   * back (five attempts, retryMs apart). The map is in the order of the events, oldest first.
   */
  private forgetDestroyed(): void {
    const now = Date.now();
    for (const [id, ms] of this.destroyed) {
      if (now - ms <= 60_000) break;
      this.destroyed.delete(id);
    }
  }

  /** Inspects one container; a failure other than "no such container" is retried after retryMs. */
  private async refresh(id: string, attempt = 1): Promise<void> {
    try {
      const info = containerFromInspect(await this.client.inspect(id), this.locate);
      if (this.destroyed.has(info.id)) return;
      this.known.set(info.id, info);
      this.onChange?.();
    } catch (err) {
      if (err instanceof DockerApiError && err.statusCode === 404) {
        this.known.delete(id);
        return;
      }
      // One key for every container: a daemon too busy to answer fails many inspects at once,
      // and the key is kept (log.ts), so a key per id would keep every id that ever failed.
      this.log.warnOnce('docker-inspect', 'docker', `inspect ${id.slice(0, 12)} failed (attempt ${attempt}): ${(err as Error).message}`);
      // A daemon too busy to answer in time: try again soon rather than at the next resync.
      if (attempt < 5 && !this.stopped) setTimeout(() => void this.refresh(id, attempt + 1), this.retryMs * attempt).unref();
    }
  }

  private onEvent(e: DockerEvent): void {
    if (e.Type !== 'container' || !e.Actor?.ID) return;
    const action = e.Action.split(':')[0];
    if (action === 'destroy') {
      this.forgetDestroyed();
      this.destroyed.set(e.Actor.ID, Date.now());
      if (this.known.delete(e.Actor.ID)) this.onChange?.();
    } else if (REINSPECT.has(action)) void this.refresh(e.Actor.ID);
  }
}
