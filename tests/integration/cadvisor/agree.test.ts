/**
 * The cAdvisor-compatible and kubelet Summary endpoints against the agent's own REST API, for
 * real containers (a --cpus 0.5 -m 64m busy loop, and a pod made as kubelet's dockershim makes
 * one: a sandbox and a member in its network namespace, with kubelet's labels): taken at the
 * same sample, the raw counters are equal and the rates agree. Needs root, dockerd and
 * busybox:local.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { IMAGE, docker, sleep, startAgent, waitFor, type AgentProcess } from '../support.js';
import { sameSample } from './same-sample.js';

const LABEL = 'cstats.cadvisor-test=1';
const MiB = 1024 * 1024;
const UID = '7d3c1f00-0b8e-4c53-9a57-2f1f2f0c0a11';
const POD_LABELS = ['io.kubernetes.pod.name=shop-1', 'io.kubernetes.pod.namespace=shop', `io.kubernetes.pod.uid=${UID}`];

function cleanup(): void {
  const ids = docker('ps', '-aq', '--filter', `label=${LABEL}`);
  if (ids) docker('rm', '-f', ...ids.split('\n'));
}

function runContainer(name: string, args: string[], cmd: string[]): string {
  return docker('run', '-d', '--name', name, '--label', LABEL, ...args, IMAGE, ...cmd);
}

const labels = (extra: string[]) => [...POD_LABELS, ...extra].flatMap((l) => ['--label', l]);

interface Detail {
  derived: { cpuCores: number; workingSetBytes: number };
  sample: { timestamp: string; cpu: { usageNs: number }; memory: { usageBytes: number }; network?: Array<{ name: string; rxBytes: number; txBytes: number }> };
}

describe('cAdvisor and kubelet endpoints against the agent\'s own figures', () => {
  let agent: AgentProcess;
  let cpuId: string;
  let appId: string;
  let sandboxId: string;

  before(async () => {
    cleanup();
    cpuId = runContainer('cs-cadv-t-cpu', ['--cpus', '0.5', '--cpu-shares', '262144', '-m', '64m'], ['sh', '-c', 'while :; do :; done']);
    sandboxId = runContainer('cs-cadv-t-pod', labels(['io.kubernetes.docker.type=podsandbox', 'io.kubernetes.container.name=POD']), ['sleep', '100000']);
    appId = runContainer(
      'cs-cadv-t-app',
      ['--network', 'container:cs-cadv-t-pod', '-m', '128m', ...labels(['io.kubernetes.docker.type=container', 'io.kubernetes.container.name=app'])],
      ['sh', '-c', 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=10 2>/dev/null; sleep 100000'],
    );
    agent = await startAgent(['--quiet', '--no-cgroups']);
    await waitFor('two samples of every test container', async () => {
      const list = await agent.get<Array<{ id: string; derived?: { cpuPercent: number; memoryUsageBytes: number } }>>('/api/v1/containers');
      const mine = [cpuId, sandboxId, appId].map((id) => list.find((c) => c.id === id));
      return mine.every((c) => c?.derived) && mine[0]!.derived!.cpuPercent > 0 && mine[2]!.derived!.memoryUsageBytes >= 10 * MiB;
    }, 15_000, 100);
    await sleep(1500);
  });
  after(async () => {
    await agent?.stop();
    cleanup();
  });

  test('/api/v1.3/docker/<id>: the same raw counters, limits in the spec', async () => {
    const { detail, body } = await sameSample<Detail>(agent, cpuId)(() => agent.get<Record<string, any>>(`/api/v1.3/docker/${cpuId}`));
    const c = body[`/docker/${cpuId}`];
    assert.ok(c, `named by its cgroup: ${Object.keys(body)}`);
    assert.deepEqual([c.id, c.aliases, c.namespace], [cpuId, ['cs-cadv-t-cpu', cpuId], 'docker']);
    const last = c.stats.at(-1);
    assert.equal(Date.parse(last.timestamp), Date.parse(detail.sample.timestamp));
    assert.equal(last.cpu.usage.total, detail.sample.cpu.usageNs);
    assert.equal(last.memory.usage, detail.sample.memory.usageBytes);
    assert.equal(last.memory.working_set, detail.derived.workingSetBytes);
    const eth0 = detail.sample.network!.find((i) => i.name === 'eth0')!;
    assert.equal(last.network.name, 'eth0');
    assert.equal(last.network.rx_bytes, eth0.rxBytes);
    assert.deepEqual(c.spec.cpu, { limit: 262144, max_limit: 0, quota: 50000, period: 100000 });
    assert.equal(c.spec.memory.limit, 64 * MiB);
    console.log(`cadvisor v1.3: cpu total ${last.cpu.usage.total} ns = agent ${detail.sample.cpu.usageNs}; working set ${last.memory.working_set} = agent ${detail.derived.workingSetBytes}`);
  });

  test('/api/v2.0/stats?type=docker: cpu_inst agrees with the agent\'s CPU rate; /api/v2.1/stats the same series', async () => {
    const { detail, body } = await sameSample<Detail>(agent, cpuId)(() => agent.get<Record<string, any[]>>(`/api/v2.0/stats/${cpuId}?type=docker&count=2`));
    const series = body[`/docker/${cpuId}`];
    assert.equal(series.length, 2);
    assert.equal(series[0].cpu_inst, undefined);
    const cores = series[1].cpu_inst.usage.total / 1e9;
    console.log(`cadvisor v2.0 cpu_inst ${cores.toFixed(4)} cores, agent ${detail.derived.cpuCores.toFixed(4)} cores`);
    assert.ok(Math.abs(cores - detail.derived.cpuCores) <= 0.02 * detail.derived.cpuCores, `${cores} vs ${detail.derived.cpuCores}`);
    assert.ok(cores > 0.05 && cores < 0.55, `--cpus 0.5 shows ${cores}`);
    const v21 = await agent.get<Record<string, any>>(`/api/v2.1/stats/docker/${cpuId}?count=1`);
    assert.equal(v21[`/docker/${cpuId}`].spec.memory.limit, 64 * MiB);
    assert.equal(v21[`/docker/${cpuId}`].stats.length, 1);
  });

  test('/api/v2.0/summary: the latest usage is the agent\'s latest CPU and working set', async () => {
    const { detail, body } = await sameSample<Detail>(agent, cpuId)(() => agent.get<Record<string, any>>(`/api/v2.0/summary/${cpuId}?type=docker`));
    const s = body[`/docker/${cpuId}`];
    assert.equal(s.latest_usage.cpu, Math.trunc(detail.derived.cpuCores * 1000));
    assert.equal(s.latest_usage.memory, detail.derived.workingSetBytes);
    assert.equal(s.minute_usage.cpu.present, true);
  });

  test('/api/v2.1/machinestats: filesystem usage and I/O counters as the agent\'s machine view has them', async () => {
    const { machine, stats } = await waitFor('one host sample for both answers', async () => {
      const m1 = await agent.get<any>('/api/v1/machine');
      const s = await agent.get<any[]>('/api/v2.1/machinestats');
      const m2 = await agent.get<any>('/api/v1/machine');
      return m1.timestamp === m2.timestamp && Date.parse(s.at(-1).timestamp) === Date.parse(m2.timestamp) ? { machine: m2, stats: s } : undefined;
    });
    const last = stats.at(-1);
    assert.ok(last.filesystem.length > 0);
    for (const fs of last.filesystem) {
      const ours = machine.filesystems.find((f: { device: string }) => f.device === fs.device);
      assert.equal(fs.usage, ours.usedBytes, fs.device);
      assert.equal(fs.capacity, ours.totalBytes, fs.device);
      const disk = machine.disks.find((d: { name: string }) => `/dev/${d.name}` === fs.device);
      if (disk) {
        assert.equal(fs.inline.reads_completed, disk.reads, fs.device);
        assert.equal(fs.inline.write_duration, disk.writeTimeMs * 1e6, fs.device);
      }
      console.log(`machinestats ${fs.device}: usage ${fs.usage} B, reads ${fs.inline.reads_completed ?? '-'}, writes ${fs.inline.writes_completed ?? '-'}`);
    }
  });

  test('/stats/summary: the pod with its app container, counters equal to the agent\'s', async () => {
    const { detail, body } = await sameSample<Detail>(agent, appId)(() => agent.get<any>('/stats/summary'));
    const pod = body.pods.find((p: any) => p.podRef.uid === UID);
    assert.deepEqual(pod.podRef, { name: 'shop-1', namespace: 'shop', uid: UID });
    assert.deepEqual(pod.containers.map((c: any) => c.name), ['app']);
    const app = pod.containers[0];
    assert.equal(app.cpu.usageCoreNanoSeconds, detail.sample.cpu.usageNs);
    assert.equal(app.memory.workingSetBytes, detail.derived.workingSetBytes);
    assert.equal(app.memory.usageBytes, detail.sample.memory.usageBytes);
    assert.equal(app.memory.availableBytes, 128 * MiB - detail.derived.workingSetBytes);
    assert.ok(app.memory.workingSetBytes >= 10 * MiB);
    const sandbox = await agent.get<Detail>(`/api/v1/containers/${sandboxId}`);
    const eth0 = sandbox.sample.network!.find((i) => i.name === 'eth0')!;
    assert.equal(pod.network.name, 'eth0');
    assert.ok(Math.abs(pod.network.rxBytes - eth0.rxBytes) <= 1000, `pod network ${pod.network.rxBytes} vs sandbox ${eth0.rxBytes}`);
    assert.ok(body.node.cpu.usageNanoCores > 0);
    assert.ok(body.node.memory.workingSetBytes > 0);
    console.log(`kubelet summary: app usageCoreNanoSeconds ${app.cpu.usageCoreNanoSeconds} = agent ${detail.sample.cpu.usageNs}; workingSetBytes ${app.memory.workingSetBytes}; node ${body.node.cpu.usageNanoCores} nanocores`);
  });
});
