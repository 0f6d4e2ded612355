/**
 * Podman 4.3 (Debian) without `podman system service`: the agent names podman's containers and
 * pods from podman's state database alone, and its figures agree with `podman stats`. Podman
 * runs with storage, run root and cgroup parent of its own (cs15-*), apart from anything else
 * on the host; the image is `podman import` of busybox:local's file tree.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { docker, mean, parseSize, sleep, startAgent, waitFor, type AgentProcess } from '../support.js';

const ROOT = '/var/lib/cs15-podman/storage';
const GLOBAL = ['--root', ROOT, '--runroot', '/run/cs15-podman/storage', '--tmpdir', '/run/cs15-podman/libpod', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file'];
const IMAGE = 'localhost/cs15-busybox:local';
const PARENT = '/cs15-podman';

function podman(...args: string[]): string {
  return execFileSync('podman', [...GLOBAL, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function importImage(): void {
  try {
    podman('image', 'exists', IMAGE);
    return;
  } catch {
    // not imported yet
  }
  docker('rm', '-f', 'cs15-export');
  docker('create', '--name', 'cs15-export', 'busybox:local', 'true');
  try {
    execFileSync('sh', ['-c', `docker export cs15-export | podman ${GLOBAL.join(' ')} import - ${IMAGE}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  } finally {
    docker('rm', '-f', 'cs15-export');
  }
}

function cleanup(): void {
  try {
    podman('pod', 'rm', '-f', '-t', '0', '-a');
    podman('rm', '-f', '-t', '0', '-a');
  } catch {
    // nothing there
  }
}

/**
 * The parent cgroup of the test's containers, made before podman makes it, with the largest CPU
 * weight: on a machine shared with other work the 0.5-CPU loop still gets its half CPU (its
 * quota is what limits it), so the known load is what is measured.
 */
const CPU_PARENT = `/sys/fs/cgroup/cpu${PARENT}`;
function makeParent(): void {
  mkdirSync(CPU_PARENT, { recursive: true });
  writeFileSync(`${CPU_PARENT}/cpu.shares`, '262144');
}

interface Summary {
  id: string;
  name: string;
  runtime: string;
  image: string;
  labels: Record<string, string>;
  pod?: { name?: string; uid?: string; container?: string; sandbox: boolean };
  network?: { kind: string; withId?: string };
  derived?: { cpuPercent: number; memoryUsageBytes: number; netRxBytes: number };
}

interface PodmanStats {
  name: string;
  cpu_percent: string;
  mem_usage: string;
}

describe('podman containers named from podman state', () => {
  let agent: AgentProcess;

  before(async () => {
    cleanup();
    makeParent();
    importImage();
    agent = await startAgent(['--quiet', '--no-docker', '--podman-roots', ROOT]);
  });
  after(async () => {
    await agent?.stop();
    cleanup();
    rmSync('/run/cs15-podman/libpod/events', { recursive: true, force: true });
    try {
      rmdirSync(CPU_PARENT);
    } catch {
      // podman's pod cgroups may linger a moment; the next run reuses the directory
    }
  });

  const byName = async (name: string): Promise<Summary | undefined> => {
    const list = await agent.get<Summary[]>('/api/v1/containers');
    return list.find((c) => c.name === name);
  };

  test('a container by its podman name, image and labels within 2 s of podman run', async () => {
    const id = podman('run', '-d', '--name', 'cs15-named', '--label', 'cs15.role=web', '--cgroup-parent', PARENT, IMAGE, 'sleep', '600');
    const t0 = Date.now();
    const c = await waitFor('cs15-named in the agent', () => byName('cs15-named'), 5000, 50);
    assert.ok(Date.now() - t0 < 2000, `seen after ${Date.now() - t0} ms`);
    assert.equal(c.id, id);
    assert.equal(c.runtime, 'podman');
    assert.equal(c.image, IMAGE);
    assert.equal(c.labels['cs15.role'], 'web');
    podman('rm', '-f', '-t', '0', 'cs15-named');
    await waitFor('cs15-named gone', async () => (await byName('cs15-named')) === undefined || undefined, 5000);
  });

  test('a pod of two containers: grouped by pod, both on the infra container\'s network', async () => {
    const podId = podman('pod', 'create', '--name', 'cs15-pod', '--cgroup-parent', PARENT);
    podman('run', '-d', '--pod', 'cs15-pod', '--name', 'cs15-pod-a', '--cap-add', 'NET_RAW', IMAGE, 'sleep', '600');
    podman('run', '-d', '--pod', 'cs15-pod', '--name', 'cs15-pod-b', IMAGE, 'sleep', '600');
    const infraId = JSON.parse(podman('pod', 'inspect', 'cs15-pod')).InfraContainerID as string;
    const [a, b] = await waitFor('both pod members', async () => {
      const list = await agent.get<Summary[]>('/api/v1/containers');
      const pair = ['cs15-pod-a', 'cs15-pod-b'].map((n) => list.find((c) => c.name === n));
      return pair.every((c) => c?.derived) ? (pair as Summary[]) : undefined;
    });
    for (const c of [a, b]) {
      assert.deepEqual(c.pod, { name: 'cs15-pod', uid: podId, container: c.name, sandbox: false });
      const detail = await agent.get<Summary>(`/api/v1/containers/${c.id}`);
      assert.deepEqual(detail.network, { kind: 'shared', withId: infraId });
    }
    const infra = await agent.get<Summary>(`/api/v1/containers/${infraId}`);
    assert.equal(infra.pod?.sandbox, true);
    assert.equal(infra.network?.kind, 'own');
    // One network: traffic sent from inside the pod shows on both members alike.
    podman('exec', 'cs15-pod-a', 'ping', '-c', '3', '-i', '0.2', '-s', '1000', '10.88.0.1');
    await sleep(2500);
    const [a2, b2] = await Promise.all([a, b].map((c) => agent.get<Summary>(`/api/v1/containers/${c.id}`)));
    assert.ok(a2.derived!.netRxBytes >= 3000, `pod received ${a2.derived!.netRxBytes} B`);
    assert.equal(a2.derived!.netRxBytes, b2.derived!.netRxBytes);
  });

  test('CPU % and memory agree with podman stats (--cpus 0.5 loop, -m 64m holding 40 MiB)', async () => {
    podman('run', '-d', '--name', 'cs15-cpu', '--cpus', '0.5', '--cgroup-parent', PARENT, IMAGE, 'sh', '-c', 'while :; do :; done');
    podman('run', '-d', '--name', 'cs15-mem', '-m', '64m', '--cgroup-parent', PARENT, IMAGE, 'sh', '-c', 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=40 && sleep 600');
    await sleep(4000);
    const ours: number[] = [];
    const theirs: number[] = [];
    const memDiffs: number[] = [];
    for (let i = 0; i < 4; i++) {
      const stats = JSON.parse(podman('stats', '--no-stream', '--format', 'json', 'cs15-cpu', 'cs15-mem')) as PodmanStats[];
      const [cpu, mem] = await Promise.all([byName('cs15-cpu'), byName('cs15-mem')]);
      ours.push(cpu!.derived!.cpuPercent);
      theirs.push(Number.parseFloat(stats.find((s) => s.name === 'cs15-cpu')!.cpu_percent));
      memDiffs.push(Math.abs(mem!.derived!.memoryUsageBytes - parseSize(stats.find((s) => s.name === 'cs15-mem')!.mem_usage.split(' / ')[0])));
      await sleep(1000);
    }
    const cpu = mean(ours);
    assert.ok(cpu >= 45 && cpu <= 55, `cstats CPU ${cpu.toFixed(1)} % for a 0.5-CPU loop`);
    assert.ok(Math.abs(cpu - mean(theirs)) <= 3, `cstats ${cpu.toFixed(1)} % vs podman stats ${mean(theirs).toFixed(1)} %`);
    const mem = await byName('cs15-mem');
    assert.ok(mem!.derived!.memoryUsageBytes >= 40 * 2 ** 20, `memory ${mem!.derived!.memoryUsageBytes} B holding 40 MiB`);
    assert.ok(Math.max(...memDiffs) <= 2 * 2 ** 20, `memory differs from podman stats by up to ${Math.max(...memDiffs)} B`);
  });
});
