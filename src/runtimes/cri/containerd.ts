/**
 * containerd without Docker (what Kubernetes nodes run): pod sandboxes and containers from the
 * CRI API on containerd's socket (runtime.v1.RuntimeService: ListPodSandbox, ListContainers,
 * and once per new container its status with `verbose` for the pid), relisted whenever
 * containerd's event service reports anything (containerd.services.events.v1.Events/Subscribe)
 * and every `resyncMs` in any case. Names and identity only: every figure still comes from the
 * kernel through the cgroup found from the pid, which covers both of containerd's cgroup
 * layouts (cgroupfs: <cgroup_parent>/<id>; systemd: <slice>/cri-containerd-<id>.scope).
 *
 * Field numbers are those of k8s.io/cri-api pkg/apis/runtime/v1/api.proto.
 */
import type { ContainerInfo, NetworkSource } from '../../model.js';
import type { LocateCgroup } from '../types.js';
import { DaemonDiscoverer, type DaemonOptions, type EventStream } from '../daemon.js';
import { netnsInode, networkOfPid } from '../cgroupfs.js';
import type { Logger } from '../../log.js';
import { GrpcClient, GrpcError, GRPC_NOT_FOUND, GRPC_UNIMPLEMENTED } from './grpc.js';
import { decode, encode, int, msg, msgs, str, strMap, type Message } from './protobuf.js';

const RUNTIME = '/runtime.v1.RuntimeService/';
const SUBSCRIBE = '/containerd.services.events.v1.Events/Subscribe';

/** One sandbox or container as listed, before its pid is known. */
interface Listed {
  id: string;
  sandbox: boolean;
  sandboxId: string;
  /** Container name (metadata.name); the pod's name for a sandbox. */
  name: string;
  state: ContainerInfo['state'];
  image: string;
  labels: Record<string, string>;
  createdMs: number;
}

interface PodMeta {
  name: string;
  uid: string;
  namespace: string;
}

const nsToMs = (ns: bigint): number => Number(ns / 1_000_000n);

/** PodSandboxState: READY 0, NOTREADY 1. */
const SANDBOX_STATES: readonly ContainerInfo['state'][] = ['running', 'exited'];
/** ContainerState: CREATED 0, RUNNING 1, EXITED 2, UNKNOWN 3. */
const CONTAINER_STATES: readonly ContainerInfo['state'][] = ['created', 'running', 'exited', 'dead'];

/** ListPodSandboxResponse: items (1) of PodSandbox {id 1, metadata 2 {name 1, uid 2, namespace 3}, state 3, created_at 4, labels 5}. */
export function parseSandboxes(body: Buffer): { listed: Listed; pod: PodMeta }[] {
  return msgs(decode(body), 1).map((s) => {
    const meta = msg(s, 2);
    const pod = { name: str(meta, 1), uid: str(meta, 2), namespace: str(meta, 3) };
    const id = str(s, 1);
    const listed: Listed = {
      id,
      sandbox: true,
      sandboxId: id,
      name: pod.name,
      state: SANDBOX_STATES[Number(int(s, 3))] ?? 'dead',
      image: '',
      labels: strMap(s, 5),
      createdMs: nsToMs(int(s, 4)),
    };
    return { listed, pod };
  });
}

/**
 * ListContainersResponse: containers (1) of Container {id 1, pod_sandbox_id 2, metadata 3
 * {name 1}, image 4 {image 1}, state 6, created_at 7, labels 8}.
 */
export function parseContainers(body: Buffer): Listed[] {
  return msgs(decode(body), 1).map((c) => ({
    id: str(c, 1),
    sandbox: false,
    sandboxId: str(c, 2),
    name: str(msg(c, 3), 1),
    state: CONTAINER_STATES[Number(int(c, 6))] ?? 'dead',
    image: str(msg(c, 4), 1),
    labels: strMap(c, 8),
    createdMs: nsToMs(int(c, 7)),
  }));
}

/**
 * The pid and start time in a verbose status answer: {status 1, info 2 map}; info["info"] is
 * containerd's JSON with "pid"; a container's status has started_at (5, ns).
 */
export function parseStatus(body: Buffer): { pid?: number; startedMs?: number } {
  const m: Message = decode(body);
  const info = strMap(m, 2).info;
  let pid: number | undefined;
  if (info) {
    const parsed = JSON.parse(info) as { pid?: number };
    if (typeof parsed.pid === 'number' && parsed.pid > 0) pid = parsed.pid;
  }
  const started = int(msg(m, 1), 5);
  return { pid, startedMs: started > 0n ? nsToMs(started) : undefined };
}

export interface ContainerdOptions extends DaemonOptions {
  locate: LocateCgroup;
}

export class ContainerdDiscoverer extends DaemonDiscoverer {
  readonly name: string;
  private readonly client: GrpcClient;
  /** By id: what the verbose status said (a running container keeps its pid; a restart is a new id). */
  private readonly statuses = new Map<string, { pid?: number; startedMs?: number }>();
  private readonly hostNetns = netnsInode('self');

  constructor(
    private readonly cri: ContainerdOptions,
    log: Logger,
  ) {
    super(cri, log, 'containerd');
    this.client = new GrpcClient(cri.socketPath);
    this.name = `containerd:${cri.socketPath}`;
  }

  protected subscribe(onEvent: () => void): EventStream {
    return this.client.serverStream(SUBSCRIBE, Buffer.alloc(0), onEvent);
  }

  protected connectedDetail(): string {
    return `connected to ${this.cri.socketPath} (CRI)`;
  }

  protected override close(): void {
    this.client.close();
  }

  /** A containerd serving Docker alone (its CRI plugin disabled): Docker's discovery names those. */
  protected override nothingHere(err: Error): string | undefined {
    return err instanceof GrpcError && err.code === GRPC_UNIMPLEMENTED ? `${this.cri.socketPath} has no CRI plugin` : undefined;
  }

  protected async listContainers(): Promise<ContainerInfo[]> {
    const [sandboxBody, containerBody] = await Promise.all([
      this.client.unary(RUNTIME + 'ListPodSandbox', Buffer.alloc(0)),
      this.client.unary(RUNTIME + 'ListContainers', Buffer.alloc(0)),
    ]);
    const sandboxes = parseSandboxes(sandboxBody);
    const containers = parseContainers(containerBody);
    const pods = new Map(sandboxes.map((s) => [s.listed.id, s.pod]));
    const all = [...sandboxes.map((s) => s.listed), ...containers];
    const live = new Set(all.filter((l) => l.state === 'running').map((l) => l.id));
    for (const id of this.statuses.keys()) if (!live.has(id)) this.statuses.delete(id);
    await Promise.all(all.filter((l) => live.has(l.id) && !this.statuses.has(l.id)).map((l) => this.status(l)));
    return all.map((l) => this.info(l, pods.get(l.sandboxId)));
  }

  /** PodSandboxStatusRequest / ContainerStatusRequest: {id 1, verbose 2}. */
  private async status(l: Listed): Promise<void> {
    const method = RUNTIME + (l.sandbox ? 'PodSandboxStatus' : 'ContainerStatus');
    try {
      this.statuses.set(l.id, parseStatus(await this.client.unary(method, encode([[1, l.id], [2, true]]))));
    } catch (err) {
      if (err instanceof GrpcError && err.code === GRPC_NOT_FOUND) return; // removed since the listing
      throw err;
    }
  }

  private info(l: Listed, pod: PodMeta | undefined): ContainerInfo {
    const st = this.statuses.get(l.id);
    const pid = l.state === 'running' ? st?.pid : undefined;
    const cgroup = pid !== undefined ? this.cri.locate(pid) : undefined;
    let network: NetworkSource;
    if (!l.sandbox) network = { kind: 'shared', withId: l.sandboxId };
    else network = networkOfPid(pid, this.hostNetns);
    const podName = pod ? `${pod.namespace}/${pod.name}` : undefined;
    return {
      id: l.id,
      // As kubectl says it: namespace/pod, and the container's name after it.
      name: l.sandbox ? (podName ?? l.id) : podName ? `${podName}/${l.name}` : l.name,
      runtime: 'containerd',
      kind: 'containerd',
      image: l.image,
      labels: l.labels,
      // Listed as running but already gone (no cgroup): not sampled until the next listing.
      state: l.state === 'running' && !cgroup ? 'exited' : l.state,
      cgroup: cgroup ?? { version: 2, path: '', dir: '' },
      pid,
      network,
      createdMs: l.createdMs,
      startedMs: st?.startedMs ?? (l.sandbox && l.state === 'running' ? l.createdMs : undefined),
      mounts: [],
      pod: { name: pod?.name, namespace: pod?.namespace, uid: pod?.uid, container: l.sandbox ? 'POD' : l.name, sandbox: l.sandbox },
    };
  }
}
