/**
 * GET /containers/json (what `docker ps` lists) and GET /containers/{id}/json, in the Engine
 * API's shapes, from what discovery kept of Docker's inspect answers. `docker ps` lists Docker's
 * own containers only, as the daemon does; the inspect answer also serves plain cgroups.
 */
import type { ContainerInfo, MountSpec, PortSpec, Sample } from '../../model.js';
import type { ContainerEntry } from '../../store/store.js';
import { goTime } from '../go-format.js';
import { commandText, statusText } from './format.js';
import { DockerError, queryFlag } from './reply.js';
import { parseInteger } from '../params.js';

/** Running in Docker's sense (State.Running): paused and restarting containers are too. */
function isRunning(info: ContainerInfo): boolean {
  return info.state === 'running' || info.state === 'paused' || info.state === 'restarting';
}

function portJson(p: PortSpec) {
  return { IP: p.ip || undefined, PrivatePort: p.privatePort, PublicPort: p.publicPort || undefined, Type: p.type };
}

function mountJson(m: MountSpec) {
  return {
    Type: m.type,
    Name: m.name || undefined,
    Source: m.source,
    Destination: m.destination,
    Driver: m.driver || undefined,
    Mode: m.mode ?? '',
    RW: m.readWrite,
    Propagation: m.propagation ?? '',
  };
}

/**
 * NetworkSettings.Networks as dockerd writes them: its list writes no aliases and no links (null)
 * and none of the newer GwPriority and DNSNames; its inspect answer does (where the daemon has them).
 */
function networksJson(info: ContainerInfo, forInspect: boolean) {
  return Object.fromEntries(
    Object.entries(info.docker?.networks ?? {}).map(([name, n]) => [
      name,
      {
        IPAMConfig: n.ipamConfig,
        Links: forInspect ? n.links : null,
        Aliases: (forInspect && n.aliases) || null,
        MacAddress: n.macAddress,
        DriverOpts: n.driverOpts,
        GwPriority: forInspect ? n.gwPriority : undefined,
        NetworkID: n.networkId,
        EndpointID: n.endpointId,
        Gateway: n.gateway,
        IPAddress: n.ipAddress,
        IPPrefixLen: n.ipPrefixLen,
        IPv6Gateway: n.ipv6Gateway,
        GlobalIPv6Address: n.globalIpv6Address,
        GlobalIPv6PrefixLen: n.globalIpv6PrefixLen,
        DNSNames: forInspect ? n.dnsNames : undefined,
      },
    ]),
  );
}

/** One element of GET /containers/json (moby's types.Container). */
export function listEntry(info: ContainerInfo, nowMs: number) {
  const d = info.docker;
  return {
    Id: info.id,
    Names: [`/${info.name}`],
    Image: info.image,
    ImageID: d?.imageId ?? '',
    Command: d ? commandText(d.path, d.args) : '',
    Created: Math.floor(info.createdMs / 1000),
    Ports: (d?.ports ?? []).map(portJson),
    Labels: info.labels,
    State: info.state,
    Status: statusText(info, nowMs),
    HostConfig: { NetworkMode: d?.networkMode ?? '' },
    NetworkSettings: { Networks: networksJson(info, false) },
    Mounts: info.mounts.map(mountJson),
  };
}

/**
 * HostConfig's CPU and memory settings: as given to Docker for its containers; for plain
 * cgroups, what their cgroup files hold.
 */
function hostConfigJson(info: ContainerInfo, s: Sample | undefined) {
  const r = info.docker?.resources;
  if (r) {
    return { CpuShares: r.cpuShares, Memory: r.memoryBytes, NanoCpus: r.nanoCpus, CpuPeriod: r.cpuPeriodUs, CpuQuota: r.cpuQuotaUs, MemorySwap: r.memorySwapBytes };
  }
  const cpu = s?.cgroup.cpu;
  return { CpuShares: cpu?.shares ?? 0n, Memory: s?.cgroup.memory?.limitBytes ?? 0n, CpuPeriod: cpu?.quotaUs ? (cpu.periodUs ?? 0n) : 0n, CpuQuota: cpu?.quotaUs ?? 0n };
}

/** NetworkSettings: Docker repeats the default bridge's endpoint at the top level ("" and 0 off it). */
function networkSettingsJson(info: ContainerInfo) {
  const d = info.docker;
  const ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null> = {};
  for (const p of d?.ports ?? []) {
    const key = `${p.privatePort}/${p.type}`;
    if (p.publicPort === undefined) ports[key] ??= null;
    else (ports[key] ??= []).push({ HostIp: p.ip ?? '', HostPort: String(p.publicPort) });
  }
  const bridge = d?.networks.bridge;
  return {
    SandboxID: d?.sandbox?.id,
    Ports: ports,
    SandboxKey: d?.sandbox?.key,
    EndpointID: d && (bridge?.endpointId ?? ''),
    Gateway: d && (bridge?.gateway ?? ''),
    IPAddress: d && (bridge?.ipAddress ?? ''),
    IPPrefixLen: d && (bridge?.ipPrefixLen ?? 0),
    MacAddress: d && (bridge?.macAddress ?? ''),
    Networks: networksJson(info, true),
  };
}

/**
 * GET /containers/{id}/json: the part of moby's ContainerJSON that cstats knows, in its key
 * order: what discovery kept of Docker's own answer (times to the nanosecond, the settings as
 * given), the live state, and for plain cgroups what their files tell. Config.Env is never kept.
 */
export function inspectJson(e: ContainerEntry) {
  const info = e.info;
  const d = info.docker;
  const graph = d?.graphDriver;
  return {
    Id: info.id,
    Created: d?.times?.created ?? goTime(info.createdMs),
    Path: d?.path ?? '',
    Args: d?.args ?? [],
    State: {
      Status: info.state,
      Running: isRunning(info),
      Paused: info.state === 'paused',
      Restarting: info.state === 'restarting',
      OOMKilled: d?.oomKilled ?? false,
      Dead: info.state === 'dead',
      Pid: isRunning(info) ? (info.pid ?? 0) : 0,
      ExitCode: d?.exitCode ?? 0,
      Error: d?.error ?? '',
      StartedAt: d?.times?.started ?? goTime(info.startedMs),
      FinishedAt: d?.times?.finished ?? goTime(d?.finishedMs),
      Health: d?.health ? { Status: d.health } : undefined,
    },
    Image: d?.imageId ?? '',
    ResolvConfPath: d?.files?.resolvConf,
    HostnamePath: d?.files?.hostname,
    HostsPath: d?.files?.hosts,
    LogPath: d?.files?.log,
    Name: `/${info.name}`,
    RestartCount: d?.restartCount ?? 0,
    Driver: graph?.name,
    Platform: 'linux',
    HostConfig: { NetworkMode: d?.networkMode ?? '', ...hostConfigJson(info, e.latest) },
    GraphDriver: graph ? { Data: graph.data, Name: graph.name } : { Data: info.rootfsPath ? { UpperDir: info.rootfsPath } : null, Name: info.rootfsPath ? 'overlay2' : '' },
    Mounts: info.mounts.map(mountJson),
    Config: { Hostname: d?.hostname, Cmd: d?.cmd, Image: info.image, Entrypoint: d?.entrypoint, Labels: info.labels },
    NetworkSettings: networkSettingsJson(info),
  };
}

/** The values of one filter key: Docker accepts {"key": ["v"]} and {"key": {"v": true}}. */
type Filters = Map<string, string[]>;

const LIST_FILTERS = new Set(['id', 'name', 'label', 'status', 'exited', 'health', 'ancestor', 'network']);
const STATUSES = new Set(['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead']);

export function parseFilters(text: string | null, accepted: ReadonlySet<string>): Filters {
  const out: Filters = new Map();
  if (text === null || text === '') return out;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new DockerError(400, `invalid filter: ${text}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new DockerError(400, `invalid filter: ${text}`);
  for (const [key, value] of Object.entries(raw)) {
    if (!accepted.has(key)) throw new DockerError(400, `invalid filter '${key}'`);
    const values = Array.isArray(value) ? value.map(String) : Object.keys(value as object);
    out.set(key, values);
  }
  return out;
}

/** Docker's label filter: "key" (present) or "key=value". */
export function labelsMatch(labels: Record<string, string>, wanted: readonly string[]): boolean {
  return wanted.every((w) => {
    const eq = w.indexOf('=');
    return eq < 0 ? w in labels : labels[w.slice(0, eq)] === w.slice(eq + 1);
  });
}

function regexOf(pattern: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch {
    throw new DockerError(400, `invalid filter 'name=${pattern}'`);
  }
}

/** Whether a container passes every filter (values of one key are alternatives, as in Docker). */
export function filterMatch(info: ContainerInfo, filters: Filters): boolean {
  for (const [key, values] of filters) {
    if (values.length === 0) continue;
    const any = (test: (v: string) => boolean): boolean => values.some(test);
    let ok: boolean;
    switch (key) {
      case 'id':
        ok = any((v) => info.id.startsWith(v));
        break;
      case 'name':
        ok = any((v) => regexOf(v).test(`/${info.name}`));
        break;
      case 'label':
        ok = labelsMatch(info.labels, values);
        break;
      case 'status':
        for (const v of values) if (!STATUSES.has(v)) throw new DockerError(400, `invalid filter 'status=${v}'`);
        ok = any((v) => v === info.state);
        break;
      case 'exited':
        ok = info.state === 'exited' && any((v) => Number(v) === info.docker?.exitCode);
        break;
      case 'health':
        ok = any((v) => v === (info.docker?.health ?? 'none'));
        break;
      case 'ancestor':
        ok = any((v) => v === info.image || v === info.docker?.imageId);
        break;
      case 'network':
        ok = any((v) => Object.entries(info.docker?.networks ?? {}).some(([name, n]) => name === v || n.networkId.startsWith(v)));
        break;
      default:
        ok = false;
    }
    if (!ok) return false;
  }
  return true;
}

export interface ListQuery {
  all: boolean;
  limit?: number;
  filters: Filters;
}

export function parseListQuery(params: URLSearchParams): ListQuery {
  const limitText = params.get('limit');
  const limit = limitText === null || limitText === '' ? undefined : parseInteger(limitText);
  if (limit === undefined && limitText) throw new DockerError(400, `invalid limit: ${limitText}`);
  return { all: queryFlag(params, 'all', false), limit: limit !== undefined && limit > 0 ? limit : undefined, filters: parseFilters(params.get('filters'), LIST_FILTERS) };
}

/** Docker's own containers that pass the query, newest first, as the daemon orders them. */
export function listContainers(entries: readonly ContainerEntry[], q: ListQuery, nowMs: number) {
  const picked = entries
    .map((e) => e.info)
    .filter((i) => i.runtime === 'docker')
    .filter((i) => q.all || q.limit !== undefined || isRunning(i))
    .filter((i) => filterMatch(i, q.filters))
    .sort((a, b) => b.createdMs - a.createdMs);
  return (q.limit !== undefined ? picked.slice(0, q.limit) : picked).map((i) => listEntry(i, nowMs));
}
