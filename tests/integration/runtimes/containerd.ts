/**
 * A second containerd (Debian's 1.6, CRI plugin on) of the tests' own, apart from Docker's:
 * root, state, socket, CNI configuration and network namespaces under cs15- paths, a bridge
 * cs15br0 on 10.215.0.0/24, images imported with `ctr -n k8s.io images import`: busybox:local
 * and a pause image (catatonit in pause mode, tagged registry.k8s.io/pause:3.6, the sandbox
 * image containerd 1.6 asks for). And a CRI client of the tests' own: protobufjs encodes the
 * requests (independently of the agent's codec) from the fields of k8s.io/cri-api
 * pkg/apis/runtime/v1/api.proto that the tests use.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import protobuf from 'protobufjs';
import { GrpcClient } from '../../../src/runtimes/cri/grpc.js';
import { docker, sleep, waitFor } from '../support.js';

const STATE = '/run/cs15-containerd';
export const SOCKET = `${STATE}/containerd.sock`;
const CONFIG = `${STATE}/config.toml`;
const PIDFILE = `${STATE}/daemon.pid`;
const LOG = '/tmp/cs15-containerd.log';

const CONFIG_TOML = `version = 2
root = "/var/lib/cs15-containerd"
state = "${STATE}/state"
[grpc]
  address = "${SOCKET}"
[ttrpc]
  address = "${SOCKET}.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.6"
  netns_mounts_under_state_dir = true
  # kubelet asks oom_score_adj -998 for sandboxes; lowering it needs CAP_SYS_RESOURCE, which a
  # container host may not give root (runc init then dies: "can't get final child's PID").
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${STATE}/cni"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
`;

const CNI = {
  cniVersion: '0.4.0',
  name: 'cs15-cri',
  plugins: [
    { type: 'bridge', bridge: 'cs15br0', isGateway: true, ipMasq: false, ipam: { type: 'host-local', subnet: '10.215.0.0/24', dataDir: `${STATE}/ipam` } },
    { type: 'loopback' },
  ],
};

function ctr(...args: string[]): string {
  return execFileSync('ctr', ['--address', SOCKET, '-n', 'k8s.io', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function answering(): boolean {
  try {
    execFileSync('ctr', ['--address', SOCKET, 'version'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

/** Starts the tests' containerd (unless it already answers) and imports the images it needs. */
export async function startContainerd(): Promise<void> {
  mkdirSync(`${STATE}/cni`, { recursive: true });
  writeFileSync(CONFIG, CONFIG_TOML);
  writeFileSync(`${STATE}/cni/10-cs15.conflist`, JSON.stringify(CNI));
  if (!answering()) {
    // Its own session: it outlives nothing of the test's but is ended by stopContainerd.
    const daemon = spawn('containerd', ['--config', CONFIG], { stdio: ['ignore', 'ignore', openSync(LOG, 'w')], detached: true });
    daemon.unref();
    writeFileSync(PIDFILE, String(daemon.pid));
    await waitFor('the cs15 containerd to answer', () => answering() || undefined, 30_000, 200);
  }
  const images = ctr('images', 'ls', '-q');
  if (!images.includes('docker.io/library/busybox:local')) importFromDocker('busybox:local');
  if (!images.includes('registry.k8s.io/pause:3.6')) {
    const dir = mkdtempSync(`${tmpdir()}/cs15-pause-`);
    try {
      mkdirSync(`${dir}/root`);
      execFileSync('cp', ['/usr/bin/catatonit', `${dir}/root/pause`]);
      execFileSync('sh', ['-c', `tar -C ${dir}/root -cf - . | docker import --change 'ENTRYPOINT ["/pause","-P"]' - cs15-pause:local`], { stdio: 'ignore' });
      importFromDocker('cs15-pause:local');
      ctr('images', 'tag', '--force', 'docker.io/library/cs15-pause:local', 'registry.k8s.io/pause:3.6');
    } finally {
      docker('rmi', '-f', 'cs15-pause:local');
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

function importFromDocker(image: string): void {
  const file = `${tmpdir()}/cs15-image-${process.pid}.tar`;
  try {
    docker('save', '-o', file, image);
    ctr('images', 'import', file);
  } finally {
    rmSync(file, { force: true });
  }
}

/** Stops the tests' containerd: its shims end the containers first (sandboxes are removed by the tests). */
export async function stopContainerd(): Promise<void> {
  if (!existsSync(PIDFILE)) return;
  const pid = Number(readFileSync(PIDFILE, 'utf8'));
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // already gone
  }
  await waitFor('the cs15 containerd to exit', () => !existsSync(`/proc/${pid}`) || undefined, 15_000, 100).catch(() => process.kill(pid, 'SIGKILL'));
  rmSync(PIDFILE, { force: true });
  await sleep(100);
}

const PROTO = `
syntax = "proto3";
package runtime.v1;
message PodSandboxMetadata { string name = 1; string uid = 2; string namespace = 3; uint32 attempt = 4; }
message LinuxPodSandboxConfig { string cgroup_parent = 1; }
message PodSandboxConfig {
  PodSandboxMetadata metadata = 1; string hostname = 2; string log_directory = 3;
  map<string, string> labels = 6; map<string, string> annotations = 7; LinuxPodSandboxConfig linux = 8;
}
message RunPodSandboxRequest { PodSandboxConfig config = 1; string runtime_handler = 2; }
message RunPodSandboxResponse { string pod_sandbox_id = 1; }
message ContainerMetadata { string name = 1; uint32 attempt = 2; }
message ImageSpec { string image = 1; }
message LinuxContainerResources { int64 cpu_period = 1; int64 cpu_quota = 2; int64 cpu_shares = 3; int64 memory_limit_in_bytes = 4; }
message LinuxContainerConfig { LinuxContainerResources resources = 1; }
message ContainerConfig {
  ContainerMetadata metadata = 1; ImageSpec image = 2; repeated string command = 3; repeated string args = 4;
  map<string, string> labels = 9; map<string, string> annotations = 10; string log_path = 11; LinuxContainerConfig linux = 15;
}
message CreateContainerRequest { string pod_sandbox_id = 1; ContainerConfig config = 2; PodSandboxConfig sandbox_config = 3; }
message CreateContainerResponse { string container_id = 1; }
message StartContainerRequest { string container_id = 1; }
message PodSandboxIdRequest { string pod_sandbox_id = 1; }
`;

const root = protobuf.parse(PROTO, { keepCase: true }).root;
const type = (name: string): protobuf.Type => root.lookupType(`runtime.v1.${name}`);

/** The CRI calls a kubelet makes to start and end a pod, through the tests' own encoding. */
export class CriTestClient {
  private readonly grpc = new GrpcClient(SOCKET, 60_000);

  private async call(method: string, request: string, body: object, response?: string): Promise<Record<string, unknown>> {
    const t = type(request);
    const bytes = Buffer.from(t.encode(t.fromObject(body)).finish());
    const answer = await this.grpc.unary(`/runtime.v1.RuntimeService/${method}`, bytes);
    return response ? (type(response).toObject(type(response).decode(answer)) as Record<string, unknown>) : {};
  }

  async runPodSandbox(config: object): Promise<string> {
    return (await this.call('RunPodSandbox', 'RunPodSandboxRequest', { config }, 'RunPodSandboxResponse')).pod_sandbox_id as string;
  }

  async createContainer(podSandboxId: string, config: object, sandboxConfig: object): Promise<string> {
    const r = await this.call('CreateContainer', 'CreateContainerRequest', { pod_sandbox_id: podSandboxId, config, sandbox_config: sandboxConfig }, 'CreateContainerResponse');
    return r.container_id as string;
  }

  async startContainer(id: string): Promise<void> {
    await this.call('StartContainer', 'StartContainerRequest', { container_id: id });
  }

  async removePodSandbox(id: string): Promise<void> {
    await this.call('StopPodSandbox', 'PodSandboxIdRequest', { pod_sandbox_id: id });
    await this.call('RemovePodSandbox', 'PodSandboxIdRequest', { pod_sandbox_id: id });
  }

  close(): void {
    this.grpc.close();
  }
}
