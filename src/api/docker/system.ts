/**
 * GET /version and GET /info in the Engine API's shapes, describing cstats' read-only daemon:
 * the host's kernel, CPUs and memory, and Docker's containers as the agent counts them.
 */
import { hostname, machine, release } from 'node:os';
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

/** systemd names Docker's cgroups docker-<id>.scope; the cgroupfs driver uses /docker/<id>. */
function cgroupDriver(docker: readonly ContainerEntry[]): string {
  return docker.some((e) => e.info.cgroup.path.endsWith('.scope')) ? 'systemd' : 'cgroupfs';
}

const COMMIT = { ID: '', Expected: '' };

export function infoJson(f: SystemFacts, entries: readonly ContainerEntry[], eventListeners: number, nowMs: number) {
  const docker = entries.filter((e) => e.info.runtime === 'docker');
  const count = (...states: string[]) => docker.filter((e) => states.includes(e.info.state)).length;
  return {
    ID: '',
    Containers: docker.length,
    ContainersRunning: count('running', 'restarting'),
    ContainersPaused: count('paused'),
    ContainersStopped: count('created', 'exited', 'dead', 'removing'),
    Images: 0,
    Driver: '',
    DriverStatus: null,
    Plugins: { Volume: null, Network: null, Authorization: null, Log: null },
    MemoryLimit: true,
    SwapLimit: false,
    CpuCfsPeriod: true,
    CpuCfsQuota: true,
    CPUShares: true,
    CPUSet: true,
    PidsLimit: true,
    IPv4Forwarding: false,
    BridgeNfIptables: false,
    BridgeNfIp6tables: false,
    Debug: false,
    NFd: 0,
    OomKillDisable: false,
    NGoroutines: 0,
    SystemTime: new Date(nowMs).toISOString(),
    LoggingDriver: '',
    CgroupDriver: cgroupDriver(docker),
    CgroupVersion: String(f.cgroupVersion),
    NEventsListener: eventListeners,
    KernelVersion: release(),
    OperatingSystem: '',
    OSVersion: '',
    OSType: 'linux',
    Architecture: machine(),
    IndexServerAddress: '',
    RegistryConfig: null,
    NCPU: f.cpus,
    MemTotal: f.memTotalBytes,
    GenericResources: null,
    DockerRootDir: '',
    HttpProxy: '',
    HttpsProxy: '',
    NoProxy: '',
    Name: hostname(),
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: f.serverVersion,
    Runtimes: {},
    DefaultRuntime: '',
    Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
    LiveRestoreEnabled: false,
    Isolation: '',
    InitBinary: '',
    ContainerdCommit: COMMIT,
    RuncCommit: COMMIT,
    InitCommit: COMMIT,
    SecurityOptions: [],
    Warnings: ['cstats serves a read-only Docker Engine API: figures come from its own sampling, and nothing can be changed'],
  };
}
