/**
 * GET /version and GET /info in the Engine API's shapes, describing cstats' read-only daemon:
 * the host's kernel, CPUs and memory, and Docker's containers as the agent counts them.
 */
import { hostname, machine, release } from 'node:os';
import type { HostInfoFacts } from '../../collector/machine.js';
import type { ContainerEntry } from '../../store/store.js';
import { API_VERSION, MIN_API_VERSION } from './reply.js';

/** Go's GOARCH names for Node's process.arch. */
const GOARCH: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

export interface SystemFacts {
  serverVersion: string;
  cgroupVersion: 1 | 2;
  cpus: number;
  memTotalBytes: bigint;
}

export function versionJson(f: SystemFacts) {
  const details = {
    ApiVersion: API_VERSION,
    Arch: GOARCH[process.arch] ?? process.arch,
    BuildTime: '',
    Experimental: 'false',
    GitCommit: '',
    GoVersion: '',
    KernelVersion: release(),
    MinAPIVersion: MIN_API_VERSION,
    Os: 'linux',
  };
  return {
    Platform: { Name: 'cstats (read-only Docker Engine API)' },
    Components: [{ Name: 'Engine', Version: f.serverVersion, Details: details }],
    Version: f.serverVersion,
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: '',
    GoVersion: '',
    Os: 'linux',
    Arch: details.Arch,
    KernelVersion: details.KernelVersion,
    BuildTime: '',
  };
}

/** What /info reports besides the facts: dockerd's own answer when it could be asked. */
export interface InfoInputs {
  facts: SystemFacts;
  entries: readonly ContainerEntry[];
  eventListeners: number;
  nowMs: number;
  /** The agent's own open descriptors (it is the daemon answering). */
  openFds?: number;
  /** GET /info of the real dockerd when it answered; else why not, and the host's own facts. */
  source: { daemon: Record<string, unknown> } | { daemonError: string; host: HostInfoFacts };
}

/** dockerd's warnings for the same facts (daemon/info_unix.go, pkg/sysinfo). */
function hostWarnings(host: HostInfoFacts, cgroupVersion: 1 | 2): string[] {
  const c = host.cgroups;
  const checks: [boolean | undefined, string][] = [
    [c.MemoryLimit, 'No memory limit support'],
    [c.SwapLimit, 'No swap limit support'],
    [cgroupVersion === 2 || c.OomKillDisable, 'No oom kill disable support'],
    [c.CpuCfsQuota, 'No cpu cfs quota support'],
    [c.CpuCfsPeriod, 'No cpu cfs period support'],
    [c.CPUShares, 'No cpu shares support'],
    [c.CPUSet, 'No cpuset support'],
    [host.ipv4Forwarding, 'IPv4 forwarding is disabled'],
    [host.bridgeNfIptables, 'bridge-nf-call-iptables is disabled'],
    [host.bridgeNfIp6tables, 'bridge-nf-call-ip6tables is disabled'],
  ];
  return checks.filter(([ok]) => ok === false).map(([, text]) => `WARNING: ${text}`);
}

/**
 * GET /info. With dockerd's own answer, that answer, except what the agent itself is: its version,
 * its clock, its event listeners and descriptors, and the containers it lists (the same counts
 * as its /containers/json); dockerd's goroutine count is not the agent's and is left out.
 * Without it, only what the agent measured on the host, and a warning saying that dockerd could
 * not be asked: every other field is left out rather than filled with a value nobody read.
 */
export function infoJson(x: InfoInputs) {
  const docker = x.entries.filter((e) => e.info.runtime === 'docker');
  const count = (...states: string[]) => docker.filter((e) => states.includes(e.info.state)).length;
  const own = {
    Containers: docker.length,
    ContainersRunning: count('running', 'restarting'),
    ContainersPaused: count('paused'),
    ContainersStopped: count('created', 'exited', 'dead', 'removing'),
    NFd: x.openFds,
    SystemTime: new Date(x.nowMs).toISOString(),
    NEventsListener: x.eventListeners,
    ServerVersion: x.facts.serverVersion,
  };
  if ('daemon' in x.source) {
    const { NGoroutines: _goroutines, ...daemon } = x.source.daemon;
    return { ...daemon, ...own };
  }
  const { facts } = x;
  const { host, daemonError } = x.source;
  return {
    ...own,
    ...host.cgroups,
    IPv4Forwarding: host.ipv4Forwarding,
    BridgeNfIptables: host.bridgeNfIptables,
    BridgeNfIp6tables: host.bridgeNfIp6tables,
    CgroupVersion: String(facts.cgroupVersion),
    KernelVersion: release(),
    OperatingSystem: host.os.name,
    OSVersion: host.os.version,
    OSType: 'linux',
    Architecture: machine(),
    NCPU: facts.cpus || undefined,
    MemTotal: facts.memTotalBytes || undefined,
    Name: hostname(),
    Warnings: [
      `WARNING: cstats could not ask the Docker daemon (${daemonError}): only what cstats measured on the host is shown`,
      ...hostWarnings(host, facts.cgroupVersion),
    ],
  };
}
