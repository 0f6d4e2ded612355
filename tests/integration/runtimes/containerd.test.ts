/**
 * containerd 1.6 (Debian) without Docker, as a Kubernetes node runs it: the test makes a pod
 * sandbox and a container through the CRI API on a containerd of its own (containerd.ts), as
 * kubelet would; the agent, told only that socket, names them by pod, namespace and container
 * and gives the container its sandbox's network.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { sleep, startAgent, waitFor, type AgentProcess } from '../support.js';
import { CriTestClient, SOCKET, startContainerd, stopContainerd } from './containerd.js';

interface Entry {
  id: string;
  name: string;
  runtime: string;
  image: string;
  labels: Record<string, string>;
  pod?: { name?: string; namespace?: string; uid?: string; container?: string; sandbox: boolean };
  network?: { kind: string; withId?: string; pid?: number };
  cgroup?: { path: string };
  derived?: { cpuPercent: number; netRxBytes: number; netTxBytes: number };
}

describe('containerd over CRI, no Docker', () => {
  let agent: AgentProcess;
  let cri: CriTestClient;
  let sandboxId: string | undefined;
  const uid = randomUUID();
  const sandboxConfig = {
    metadata: { name: 'cs15-web', uid, namespace: 'cs15-ns', attempt: 0 },
    hostname: 'cs15-web',
    labels: { app: 'cs15-web' },
    linux: { cgroup_parent: `/cs15-kubepods/pod${uid}` },
  };

  before(async () => {
    await startContainerd();
    cri = new CriTestClient();
    agent = await startAgent(['--quiet', '--no-docker', '--no-cgroups', '--podman-roots', '', '--cri-sockets', SOCKET]);
  });
  after(async () => {
    await agent?.stop();
    if (sandboxId) await cri.removePodSandbox(sandboxId).catch(() => {});
    cri?.close();
    await stopContainerd();
  });

  test('a pod sandbox and a container, named by pod, namespace and container, on the sandbox\'s network', async () => {
    sandboxId = await cri.runPodSandbox(sandboxConfig);
    const containerId = await cri.createContainer(
      sandboxId,
      {
        metadata: { name: 'app', attempt: 0 },
        image: { image: 'docker.io/library/busybox:local' },
        command: ['sh', '-c', 'while :; do :; done'],
        labels: { 'cs15.role': 'loop' },
        linux: { resources: { cpu_period: 100_000, cpu_quota: 50_000 } },
      },
      sandboxConfig,
    );
    await cri.startContainer(containerId);

    const [sandbox, app] = await waitFor('sandbox and container in the agent', async () => {
      const list = await agent.get<Entry[]>('/api/v1/containers');
      const pair = [sandboxId, containerId].map((id) => list.find((c) => c.id === id));
      return pair.every((c) => c?.derived) ? (pair as Entry[]) : undefined;
    }, 15_000, 100);
    assert.equal(sandbox.name, 'cs15-ns/cs15-web');
    assert.equal(app.name, 'cs15-ns/cs15-web/app');
    assert.equal(app.runtime, 'containerd');
    assert.equal(app.image, 'docker.io/library/busybox:local');
    assert.equal(app.labels['cs15.role'], 'loop');
    assert.deepEqual(sandbox.pod, { name: 'cs15-web', namespace: 'cs15-ns', uid, container: 'POD', sandbox: true });
    assert.deepEqual(app.pod, { name: 'cs15-web', namespace: 'cs15-ns', uid, container: 'app', sandbox: false });
    assert.equal(sandbox.labels.app, 'cs15-web');

    const [sandboxDetail, appDetail] = await Promise.all([sandbox, app].map((c) => agent.get<Entry>(`/api/v1/containers/${c.id}`)));
    assert.equal(appDetail.cgroup?.path, `/cs15-kubepods/pod${uid}/${containerId}`);
    assert.equal(sandboxDetail.network?.kind, 'own');
    assert.deepEqual(appDetail.network, { kind: 'shared', withId: sandboxId });

    // The container's traffic is its sandbox's: the same counters, and more than nothing (the bridge's ARP/ND at least).
    await sleep(2000);
    const [s2, a2] = await Promise.all([sandbox, app].map((c) => agent.get<Entry>(`/api/v1/containers/${c.id}`)));
    assert.equal(a2.derived!.netTxBytes, s2.derived!.netTxBytes);
    assert.equal(a2.derived!.netRxBytes, s2.derived!.netRxBytes);
    // A 50 % quota loop, from the kernel: the figure is the container's own, not the pod's.
    assert.ok(a2.derived!.cpuPercent > 30 && a2.derived!.cpuPercent <= 55, `container CPU ${a2.derived!.cpuPercent} %`);
    assert.ok(s2.derived!.cpuPercent < 5, `sandbox CPU ${s2.derived!.cpuPercent} %`);

    await cri.removePodSandbox(sandboxId);
    await waitFor('the pod gone from the live list', async () => {
      const list = await agent.get<Entry[]>('/api/v1/containers');
      return list.every((c) => c.id !== sandboxId && c.id !== containerId) || undefined;
    }, 10_000, 100);
    sandboxId = undefined;
  });

  test('/healthz names the containerd source as connected', async () => {
    const health = await agent.get<{ sources: Record<string, { up: boolean; detail: string }> }>('/healthz');
    assert.deepEqual(health.sources[`containerd:${SOCKET}`]?.up, true);
    assert.match(health.sources[`containerd:${SOCKET}`].detail, /connected/);
  });
});
