/**
 * The kubelet's Summary API (GET /stats/summary, k8s.io/kubelet/pkg/apis/stats/v1alpha1), so
 * that tools written for metrics-server read a node cstats watches, at its sampling interval.
 * The node comes from the host samples; pods are the containers discovery tied to a pod
 * (kubelet's Docker labels or the kubepods cgroup path), grouped by pod UID, the sandbox's
 * network being the pod's. Pod CPU and memory are the sum of its containers (the pod cgroup
 * itself is not sampled). A container's rootfs and logs are the filesystems its writable layer
 * and its log are on, with the bytes (and layer inodes) its own files use from the background
 * walk of them, as kubelet takes cAdvisor's base and total usage; process counts are read from
 * cgroup.procs for each request.
 */
import { busyNs, hostBusyNanoCores, hostMemory, hostMemoryBytes } from '../derive/host.js';
import { hostname } from 'node:os';
import type { FsStats, NetInterfaceStats } from '../kernel/types.js';
import type { ContainerInfo, HostSample, LayerUsage, Sample } from '../model.js';
import type { ContainerEntry, Store } from '../store/store.js';
import { workingSet } from '../derive/docker.js';
import { sumBig } from '../derive/counters.js';
import { sendJson, type Router } from './http.js';
import { reportedInterfaces } from './cadvisor-v1.js';
import { readProcessCounts } from '../collector/process-counts.js';

/** kubelet's network.DefaultInterfaceName: the interface reported inline. */
const DEFAULT_INTERFACE = 'eth0';

/** metav1.Time: RFC 3339 to the second, UTC. */
export function metaTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function interfaceStats(i: NetInterfaceStats) {
  return { name: i.name, rxBytes: i.rxBytes, rxErrors: i.rxErrors, txBytes: i.txBytes, txErrors: i.txErrors };
}

/** NetworkStats: the default interface inline, every reported one in the list. */
function networkStats(ifaces: readonly NetInterfaceStats[] | undefined, timeMs: number) {
  if (ifaces === undefined) return undefined;
  const kept = reportedInterfaces(ifaces);
  const inline = kept.find((i) => i.name === DEFAULT_INTERFACE);
  return { time: metaTime(timeMs), ...(inline ? interfaceStats(inline) : { name: '' }), interfaces: kept.length > 0 ? kept.map(interfaceStats) : undefined };
}

/** What of a filesystem a consumer uses: the bytes and inodes its own files take. */
interface Used {
  bytes?: bigint;
  inodes?: bigint;
}

/** FsStats of a filesystem, with what the consumer uses of it when known. */
function fsStats(fs: FsStats | undefined, timeMs: number, used: Used) {
  if (!fs) return undefined;
  return {
    time: metaTime(timeMs),
    availableBytes: fs.availableBytes,
    capacityBytes: fs.totalBytes,
    usedBytes: used.bytes,
    inodesFree: fs.inodesFree,
    inodes: fs.inodes,
    inodesUsed: used.inodes,
  };
}

/** The node's own filesystems: everything on them is the node's. */
const wholeFs = (fs: FsStats | undefined): Used => ({ bytes: fs?.usedBytes, inodes: fs && fs.inodes - fs.inodesFree });

/** The host filesystem a path lives on: the longest mountpoint that is a prefix of it. */
function fsOf(path: string, filesystems: readonly FsStats[]): FsStats | undefined {
  let best: FsStats | undefined;
  for (const fs of filesystems) {
    const mp = fs.mountpoint;
    if ((path === mp || mp === '/' || path.startsWith(`${mp}/`)) && (!best || mp.length > best.mountpoint.length)) best = fs;
  }
  return best;
}

interface Figures {
  timeMs: number;
  usageNanoCores?: bigint;
  usageNs?: bigint;
  usageBytes?: bigint;
  workingSetBytes?: bigint;
  rssBytes?: bigint;
  pageFaults?: bigint;
  majorPageFaults?: bigint;
  limitBytes?: bigint | null;
  swapBytes?: bigint;
  swapLimitBytes?: bigint | null;
}

/** The figures kubelet takes from cAdvisor for one container sample. */
function containerFigures(e: ContainerEntry, s: Sample): Figures {
  const mem = s.cgroup.memory;
  const rate = e.derived?.rates.cpuUsageNs;
  return {
    timeMs: s.timestampMs,
    usageNanoCores: rate === undefined ? undefined : BigInt(Math.round(rate)),
    usageNs: s.cgroup.cpu?.usageNs,
    usageBytes: mem?.usageBytes,
    workingSetBytes: mem ? workingSet(mem) : undefined,
    rssBytes: mem?.rssBytes,
    pageFaults: mem?.stat?.pgfault,
    majorPageFaults: mem?.stat?.pgmajfault,
    limitBytes: mem?.limitBytes,
    swapBytes: mem?.swapBytes,
    swapLimitBytes: mem?.swapLimitBytes,
  };
}

function cpuStats(f: Figures) {
  if (f.usageNs === undefined) return undefined;
  return { time: metaTime(f.timeMs), usageNanoCores: f.usageNanoCores, usageCoreNanoSeconds: f.usageNs };
}

function memoryStats(f: Figures) {
  if (f.usageBytes === undefined) return undefined;
  const available = f.limitBytes != null && f.workingSetBytes !== undefined && f.limitBytes > f.workingSetBytes ? f.limitBytes - f.workingSetBytes : undefined;
  return {
    time: metaTime(f.timeMs),
    availableBytes: available,
    usageBytes: f.usageBytes,
    workingSetBytes: f.workingSetBytes,
    rssBytes: f.rssBytes,
    pageFaults: f.pageFaults,
    majorPageFaults: f.majorPageFaults,
  };
}

function swapStats(f: Figures) {
  if (f.swapBytes === undefined) return undefined;
  const available = f.swapLimitBytes != null && f.swapLimitBytes > f.swapBytes ? f.swapLimitBytes - f.swapBytes : undefined;
  return { time: metaTime(f.timeMs), swapAvailableBytes: available, swapUsageBytes: f.swapBytes };
}

/** The sum of the values present; undefined when none is. */
function sumKnown(values: ReadonlyArray<bigint | undefined>): bigint | undefined {
  const known = values.filter((v) => v !== undefined);
  return known.length === 0 ? undefined : sumBig(known, (v) => v);
}

/** A pod's figures: its containers' summed (limits unknown at the pod level). */
function podFigures(members: readonly Figures[]): Figures {
  const sum = (pick: (f: Figures) => bigint | undefined): bigint | undefined => sumKnown(members.map(pick));
  return {
    timeMs: Math.max(...members.map((f) => f.timeMs)),
    usageNanoCores: sum((f) => f.usageNanoCores),
    usageNs: sum((f) => f.usageNs),
    usageBytes: sum((f) => f.usageBytes),
    workingSetBytes: sum((f) => f.workingSetBytes),
    rssBytes: sum((f) => f.rssBytes),
    pageFaults: sum((f) => f.pageFaults),
    majorPageFaults: sum((f) => f.majorPageFaults),
    limitBytes: null,
    swapBytes: sum((f) => f.swapBytes),
    swapLimitBytes: null,
  };
}

function rootfsOf(s: Sample): FsStats | undefined {
  return s.filesystems?.find((f) => f.role === 'rootfs');
}

/** kubelet's rootfs usage: cAdvisor's base usage (the writable layer) and its inodes. */
const layerUsed = (u: LayerUsage | undefined): Used => ({ bytes: u?.baseBytes, inodes: u?.inodes });

/**
 * kubelet's logs: the filesystem Docker's container directory is on, with the total usage less
 * the layer's as the bytes used, and (as kubelet writes it) that filesystem's used inodes.
 */
function logsStats(info: ContainerInfo, s: Sample, host: HostSample) {
  const u = s.layerUsage;
  const fs = info.containerDir ? fsOf(info.containerDir, host.filesystems) : undefined;
  if (!u || !fs) return undefined;
  return fsStats(fs, s.timestampMs, { bytes: u.totalBytes - u.baseBytes, inodes: fs.inodes - fs.inodesFree });
}

function podKey(info: ContainerInfo): string {
  const p = info.pod!;
  return p.uid ?? `${p.namespace ?? ''}/${p.name ?? ''}`;
}

function podSummary(members: readonly ContainerEntry[], host: HostSample, processes: ReadonlyMap<string, bigint>) {
  const rows = members.filter((e) => e.latest !== undefined).map((e) => ({ e, s: e.latest!, f: containerFigures(e, e.latest!) }));
  const sandbox = members.find((e) => e.info.pod!.sandbox);
  const first = (sandbox ?? members[0]).info;
  const pod = first.pod!;
  const total = rows.length > 0 ? podFigures(rows.map((r) => r.f)) : undefined;
  const withNetwork = [sandbox?.latest, ...rows.map((r) => r.s)].find((s) => s?.network !== undefined);
  const rootfs = rows.map((r) => rootfsOf(r.s)).find((f) => f !== undefined);
  const containers = rows.filter((r) => !r.e.info.pod!.sandbox);
  // kubelet's pod ephemeral storage: its containers' rootfs and logs bytes, their rootfs inodes.
  const ephemeral = { bytes: sumKnown(containers.map((r) => r.s.layerUsage?.totalBytes)), inodes: sumKnown(containers.map((r) => r.s.layerUsage?.inodes)) };
  const processCount = sumKnown(rows.map((r) => processes.get(r.e.info.id)));
  return {
    podRef: { name: pod.name ?? `pod${pod.uid ?? ''}`, namespace: pod.namespace ?? '', uid: pod.uid ?? '' },
    startTime: metaTime(first.startedMs ?? first.createdMs),
    containers: containers.map(({ e, s, f }) => ({
      name: e.info.pod!.container ?? e.info.name,
      startTime: metaTime(e.info.startedMs ?? e.info.createdMs),
      cpu: cpuStats(f),
      memory: memoryStats(f),
      rootfs: fsStats(rootfsOf(s), s.timestampMs, layerUsed(s.layerUsage)),
      logs: logsStats(e.info, s, host),
      swap: swapStats(f),
    })),
    cpu: total && cpuStats(total),
    memory: total && memoryStats(total),
    network: withNetwork && networkStats(withNetwork.network, withNetwork.timestampMs),
    'ephemeral-storage': total && fsStats(rootfs, total.timeMs, ephemeral),
    process_stats: processCount === undefined ? undefined : { process_count: processCount },
    swap: total && swapStats(total),
  };
}

function nodeSummary(latest: HostSample, previous: HostSample | undefined, imageFsPath: string | undefined) {
  const t = latest.timestampMs;
  const busy = busyNs(latest.stat.total);
  const m = hostMemory(latest.meminfo);
  const total = hostMemoryBytes(latest);
  const swapTotal = latest.meminfo.get('SwapTotal') ?? 0n;
  const root = latest.filesystems.find((f) => f.mountpoint === '/') ?? fsOf('/', latest.filesystems);
  const imageFs = imageFsPath ? fsOf(imageFsPath, latest.filesystems) : undefined;
  return {
    nodeName: hostname(),
    startTime: metaTime(Number(latest.stat.bootTimeSec ?? 0n) * 1000),
    cpu: {
      time: metaTime(t),
      usageNanoCores: hostBusyNanoCores(previous, latest),
      usageCoreNanoSeconds: busy.user + busy.system,
    },
    memory: {
      time: metaTime(t),
      availableBytes: total > m.workingSet ? total - m.workingSet : 0n,
      usageBytes: m.usage,
      workingSetBytes: m.workingSet,
      rssBytes: m.rss,
    },
    network: networkStats(latest.network, t),
    fs: fsStats(root, t, wholeFs(root)),
    runtime: imageFs ? { imageFs: fsStats(imageFs, t, wholeFs(imageFs)) } : undefined,
    rlimit: latest.loadavg ? { time: metaTime(t), curproc: latest.loadavg.total } : undefined,
    swap: swapTotal > 0n ? { time: metaTime(t), swapAvailableBytes: latest.meminfo.get('SwapFree'), swapUsageBytes: m.swap } : undefined,
  };
}

/** Every pod discovery knows: its running containers by pod. */
function podMembers(store: Store): ContainerEntry[][] {
  const pods = new Map<string, ContainerEntry[]>();
  for (const e of store.list(false)) {
    if (!e.info.pod || (e.info.state !== 'running' && e.info.state !== 'paused')) continue;
    const key = podKey(e.info);
    pods.set(key, [...(pods.get(key) ?? []), e]);
  }
  return [...pods.values()];
}

/** The whole Summary: the node and every pod discovery knows, with the process counts read for it. */
export function summary(store: Store, processes: ReadonlyMap<string, bigint> = new Map()) {
  const host = store.host;
  if (!host) return undefined;
  // Container images live on the filesystem of Docker's (or the runtime's) writable layers.
  const imageFsPath = store.list(false).find((e) => e.info.rootfsPath)?.info.rootfsPath;
  return { node: nodeSummary(host.latest, host.previous, imageFsPath), pods: podMembers(store).map((m) => podSummary(m, host.latest, processes)) };
}

export function registerKubelet(router: Router, deps: { store: Store }): void {
  router.get(/^\/stats\/summary\/?$/, async ({ res }) => {
    const processes = await readProcessCounts(podMembers(deps.store).flat());
    const body = summary(deps.store, processes);
    if (!body) return sendJson(res, 503, { error: 'the node is not sampled yet' });
    sendJson(res, 200, body);
  });
}
