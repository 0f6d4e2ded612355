/**
 * The data model every stage after discovery shares: who a container is (ContainerInfo), what
 * was read from the kernel at one instant (Sample, raw cumulative counters), and what people
 * read (Derived, computed from two samples in src/derive only).
 */
import type { CgroupStats } from './kernel/types.js';
import type { V1Dirs } from './kernel/cgroup/v1/dirs.js';
import type { DiskStat, FsStats, LoadAvg, NetInterfaceStats, ProcStat } from './kernel/types.js';

/** Where a container's cgroup lives: per-controller dirs on v1, one dir on v2. */
export type CgroupLocation =
  | { version: 1; /** path relative to each hierarchy's root, e.g. /docker/<id> */ path: string; dirs: V1Dirs }
  | { version: 2; path: string; dir: string };

/** How a container reaches the network, which decides where its counters come from. */
export type NetworkSource =
  /** Its own namespace: read /proc/<pid>/net/dev. */
  | { kind: 'own'; pid: number }
  /** Another container's namespace (`--network container:X`, a Kubernetes pod's sandbox). */
  | { kind: 'shared'; withId: string }
  /** The host's namespace: the container has no interfaces of its own. */
  | { kind: 'host' }
  /** No way to tell (no pid known, e.g. a cgroup without processes). */
  | { kind: 'unknown' };

export interface MountSpec {
  /** Host path of the mount source. */
  source: string;
  /** Path inside the container. */
  destination: string;
  readWrite: boolean;
  type: string;
  /** Docker's volume name, volume driver, mode and propagation, as `docker inspect` gives them. */
  name?: string;
  driver?: string;
  mode?: string;
  propagation?: string;
}

/** A port as `docker ps` lists it: exposed only, or published on a host address. */
export interface PortSpec {
  privatePort: number;
  type: string;
  publicPort?: number;
  ip?: string;
}

/** One network a Docker container is attached to (NetworkSettings.Networks). */
export interface EndpointSpec {
  networkId: string;
  endpointId: string;
  gateway: string;
  ipAddress: string;
  ipPrefixLen: number;
  macAddress: string;
  /** Names the container answers to on the network (user-defined networks add the short id). */
  aliases?: string[] | null;
  /** Addresses asked for (`--ip`, `--ip6`), null when none was. */
  ipamConfig: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] } | null;
  /** Legacy `--link`s, "container:alias". */
  links: string[] | null;
  driverOpts: Record<string, string> | null;
  /** Where the daemon reports them (API 1.48 GwPriority, 1.44 DNSNames). */
  gwPriority?: number;
  ipv6Gateway: string;
  globalIpv6Address: string;
  globalIpv6PrefixLen: number;
  dnsNames?: string[] | null;
}

/** What only Docker knows about a container, kept for the Docker-compatible API (`docker ps`, inspect). */
export interface DockerDetails {
  /** Image id ("sha256:..."). */
  imageId: string;
  /** The process started: `docker ps` builds COMMAND from path and arguments. */
  path: string;
  args: string[];
  exitCode: number;
  /** When it last stopped, ms since the epoch. */
  finishedMs?: number;
  oomKilled: boolean;
  restartCount: number;
  /** Healthcheck status (starting, healthy, unhealthy) when the image defines one. */
  health?: string;
  /** HostConfig.NetworkMode as given ("default", "bridge", "host", "none", "container:<id>"). */
  networkMode: string;
  ports: PortSpec[];
  /** By network name. */
  networks: Record<string, EndpointSpec>;
  /** Created, State.StartedAt and State.FinishedAt as Docker wrote them, to the nanosecond. */
  times?: { created: string; started: string; finished: string };
  /** State.Error: why the last start failed. */
  error?: string;
  /** Config.Hostname, Config.Cmd and Config.Entrypoint as created. */
  hostname?: string;
  cmd?: string[] | null;
  entrypoint?: string[] | null;
  /** HostConfig's resource settings as given (0: not set): what was asked for, where the cgroup holds what applies. */
  resources?: DockerResources;
  /** The storage driver and its data (overlay2: LowerDir, MergedDir, UpperDir, WorkDir). */
  graphDriver?: { name: string; data: Record<string, string> };
  /** NetworkSettings.SandboxID and SandboxKey: the network namespace Docker made. */
  sandbox?: { id: string; key: string };
  /** ResolvConfPath, HostnamePath, HostsPath and LogPath. */
  files?: { resolvConf: string; hostname: string; hosts: string; log: string };
}

/**
 * What LXD (or Incus) says of an instance beyond name, labels and image. `limits` holds the
 * `limits.*` keys of its expanded config (its own and its profiles') as written, e.g.
 * "limits.memory": "64MiB", "limits.cpu": "1": what was asked for, where the cgroup holds what
 * applies (limits.cpu is a cpuset, limits.cpu.allowance a CFS quota or a weight).
 */
export interface LxdDetails {
  project: string;
  limits: Record<string, string>;
}

/** HostConfig's CPU and memory settings, in Docker's units. */
export interface DockerResources {
  cpuShares: number;
  memoryBytes: number;
  /** Memory plus swap; -1 for unlimited swap. */
  memorySwapBytes: number;
  /** --cpus × 1e9. */
  nanoCpus: number;
  cpuPeriodUs: number;
  cpuQuotaUs: number;
}

export interface ContainerInfo {
  /** Full id: Docker's 64-hex id, or for plain cgroups a stable id derived from the path. */
  id: string;
  /** Docker name without the leading '/', or a name derived from the cgroup path. */
  name: string;
  /** Which discoverer found it: a runtime that named it, or the cgroup tree alone. */
  runtime: 'docker' | 'podman' | 'containerd' | 'lxc' | 'lxd' | 'incus' | 'nspawn' | 'cgroupfs';
  /** What kind of unit it is (for plain cgroups: what the path looks like). */
  kind?: 'docker' | 'systemd' | 'lxc' | 'podman' | 'kubepods' | 'containerd' | 'nspawn' | 'cgroup';
  image: string;
  labels: Record<string, string>;
  state: 'running' | 'paused' | 'restarting' | 'exited' | 'created' | 'dead' | 'removing';
  cgroup: CgroupLocation;
  /** A process inside the container (Docker's State.Pid or the first of cgroup.procs). */
  pid?: number;
  network: NetworkSource;
  /** Milliseconds since the epoch. */
  createdMs: number;
  startedMs?: number;
  /** Writable layer directory on the host (overlay2 UpperDir), when known. */
  rootfsPath?: string;
  /** Docker's directory of the container (<data-root>/containers/<id>: its json log, hostname, hosts, resolv.conf). */
  containerDir?: string;
  mounts: MountSpec[];
  /**
   * Pod identity: Kubernetes' (kubelet's Docker labels, containerd's CRI, or the kubepods cgroup
   * path) or podman's pods (no namespace). The sandbox (pause or infra container) owns the
   * pod's network namespace.
   */
  pod?: { name?: string; namespace?: string; uid?: string; container?: string; sandbox: boolean };
  /** Docker containers only: what `docker ps` and `docker inspect` show beyond the above. */
  docker?: DockerDetails;
  /** LXD and Incus instances only: their project, and their `limits.*` settings as given. */
  lxd?: LxdDetails;
}

/** Disk use of a container's own files, as cAdvisor's du of them. */
export interface LayerUsage {
  /** Bytes allocated in the writable layer (cAdvisor's base usage). */
  baseBytes: bigint;
  /** The writable layer plus the container's directory with its log (cAdvisor's total usage). */
  totalBytes: bigint;
  /** Inodes in the writable layer. */
  inodes: bigint;
  /** When the walk that measured it ended, ms since the epoch. */
  measuredMs: number;
}

/** One container read at one instant. */
export interface Sample {
  /** Wall clock, ms since the epoch. */
  timestampMs: number;
  /** Monotonic clock, ns: the only clock rates are computed from. */
  monoNs: bigint;
  cgroup: CgroupStats;
  /** Interfaces of the container's own namespace; [] for host-network containers; undefined when not measurable. */
  network?: readonly NetInterfaceStats[];
  filesystems?: FsStats[];
  /** What the writable layer holds, measured by a walk on its own slower cadence (the latest walk's result). */
  layerUsage?: LayerUsage;
  /** Host CPU time from /proc/stat in ns (Docker's system_cpu_usage), taken in the same tick. */
  systemCpuNs: bigint;
  /** CPUs online (Docker's online_cpus: "cpuN" lines in /proc/stat). */
  onlineCpus: number;
}

/** The host at one instant. */
export interface HostSample {
  timestampMs: number;
  monoNs: bigint;
  stat: ProcStat;
  /** /proc/meminfo in bytes (counts for keys without a unit). */
  meminfo: Map<string, bigint>;
  loadavg?: LoadAvg;
  disks: DiskStat[];
  network: NetInterfaceStats[];
  filesystems: FsStats[];
}

/** What people read, computed from (previous, current) by src/derive. Floats by nature. */
export interface Derived {
  /** docker stats' CPU %: Δcontainer / Δsystem × online CPUs × 100. */
  cpuPercent: number;
  /** CPU in cores (Δusage / Δwall). */
  cpuCores: number;
  /** CPU as a share of the group's own CFS quota (cpuCores / (quota / period) × 100); absent without a quota. */
  cpuLimitPercent?: number;
  /** Share of this tick's CFS periods in which the group was throttled; absent without a quota. */
  throttledPercent?: number;
  /** docker stats' memory usage: usage − inactive file. */
  memoryUsageBytes: number;
  /** Limit as docker stats shows it: the cgroup limit, capped at host memory. */
  memoryLimitBytes: number;
  memoryPercent: number;
  /** cAdvisor's working set: usage − inactive file, floored at 0. */
  workingSetBytes: number;
  /** Page cache (v1 total_cache, v2 file); absent when memory.stat was not read. */
  memoryCacheBytes?: number;
  netRxBytes: number;
  netTxBytes: number;
  blockReadBytes: number;
  blockWriteBytes: number;
  pids: number;
  /** Per-second rates of every counter (derive/rates.ts). */
  rates: Rates;
}

/** Per-second rates of a container's counters; undefined where a counter has none. */
export interface CounterRates {
  cpuUsageNs?: number;
  cpuUserNs?: number;
  cpuSystemNs?: number;
  cpuThrottledNs?: number;
  cpuPeriods?: number;
  cpuThrottledPeriods?: number;
  memoryFailcnt?: number;
  memoryOomKills?: number;
  blkioReadBytes?: number;
  blkioWriteBytes?: number;
  blkioReads?: number;
  blkioWrites?: number;
  /** Over every interface but lo, as docker stats counts. */
  netRxBytes?: number;
  netTxBytes?: number;
  pressureCpuSomeUs?: number;
  pressureMemorySomeUs?: number;
  pressureMemoryFullUs?: number;
  pressureIoSomeUs?: number;
  pressureIoFullUs?: number;
}

/** One interface's rates, by NetInterfaceStats field. */
export type InterfaceRates = Partial<Record<'rxBytes' | 'rxPackets' | 'rxErrors' | 'rxDropped' | 'txBytes' | 'txPackets' | 'txErrors' | 'txDropped', number>>;

export interface Rates extends CounterRates {
  /** By interface name, the interfaces of the sample that the previous one had too. */
  interfaces: ReadonlyMap<string, InterfaceRates>;
  /** The wire form: one object by public name ("cpu.usageNs", "net.eth0.rxBytes"). */
  toJSON(): Record<string, number>;
}

/** Derived figures as the REST API and the stream write them: rates keyed by public name ("net.rxBytes", "net.eth0.rxBytes"). */
export type DerivedJson = Omit<Derived, 'rates'> & { rates: Record<string, number> };
