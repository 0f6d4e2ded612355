/**
 * The figures the agent reads besides its samples, for real containers: a writable layer with
 * 8 MiB written by dd (its du as cAdvisor's base usage, on /metrics, the cAdvisor v1 and v2 APIs
 * and kubelet's rootfs, equal to `du -s -B1` of the overlay2 UpperDir), the processes of
 * `sh -c 'sleep 1000 & sleep 1000 & wait'` (3, as cgroup.procs and `docker top` list them), and
 * the machine's identity. Needs root, dockerd and busybox:local.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { IMAGE, docker, startAgent, waitFor, type AgentProcess } from '../support.js';

const LABEL = 'cstats.usage-test=1';
const MiB = 1024 * 1024;
const UID = '5b0e6a52-9a3c-4f0e-b7a1-0c9d2e4f6a80';
const SH = 'sleep 1000 & sleep 1000 & wait';

function cleanup(): void {
  const ids = docker('ps', '-aq', '--filter', `label=${LABEL}`);
  if (ids) docker('rm', '-f', ...ids.split('\n'));
}

/** `du -s -x -B1 -c DIRS`: bytes. */
function du(...dirs: string[]): number {
  const total = execFileSync('du', ['-s', '-x', '-B1', '-c', ...dirs], { encoding: 'utf8' }).trim().split('\n').at(-1)!;
  return Number(total.split('\t')[0]);
}

/** The value of a container's series in a /metrics body (its labels sorted: a pod's container="..." comes before id). */
function series(body: string, name: string, id: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(`id="/docker/${id}"`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('layer usage, processes and machine identity of real containers', () => {
  let agent: AgentProcess;
  let appId: string;
  let baseId: string;
  const dirs = (id: string) => ({
    upper: docker('inspect', '-f', '{{.GraphDriver.Data.UpperDir}}', id),
    container: `${docker('info', '-f', '{{.DockerRootDir}}')}/containers/${id}`,
  });

  before(async () => {
    cleanup();
    const pod = ['io.kubernetes.pod.name=files-1', 'io.kubernetes.pod.namespace=files', `io.kubernetes.pod.uid=${UID}`, 'io.kubernetes.container.name=app'];
    appId = docker('run', '-d', '--name', 'cs-usage-t-app', '--label', LABEL, ...pod.flatMap((l) => ['--label', l]), IMAGE, 'sh', '-c', `dd if=/dev/zero of=/written.bin bs=1M count=8 conv=fsync 2>/dev/null; ${SH}`);
    baseId = docker('run', '-d', '--name', 'cs-usage-t-base', '--label', LABEL, IMAGE, 'sh', '-c', SH);
    // The layer is walked when the agent first sees the container: let dd finish before.
    await waitFor('dd to finish (the two sleeps started after it)', () => docker('top', appId).split('\n').filter((l) => l.endsWith(' sleep 1000')).length === 2 || undefined, 10_000, 100);
    agent = await startAgent(['--quiet', '--no-cgroups']);
  });
  after(async () => {
    await agent?.stop();
    cleanup();
  });

  test('/metrics container_fs_usage_bytes: du of the layer and the container dir; the 8 MiB written is the difference', async () => {
    const body = await waitFor('both layers walked', async () => {
      const text = await (await fetch(`${agent.url}/metrics`)).text();
      return [appId, baseId].every((id) => series(text, 'container_fs_usage_bytes', id) !== undefined) ? text : undefined;
    }, 20_000, 200);
    const usage = (id: string) => series(body, 'container_fs_usage_bytes', id)!;
    const app = dirs(appId);
    const base = dirs(baseId);
    console.log(`container_fs_usage_bytes: app ${usage(appId)} B (du ${du(app.upper, app.container)}), base ${usage(baseId)} B (du ${du(base.upper, base.container)})`);
    assert.equal(usage(appId), du(app.upper, app.container));
    assert.equal(usage(baseId), du(base.upper, base.container));
    const layerDiff = du(app.upper) - du(base.upper);
    assert.ok(layerDiff >= 8 * MiB && layerDiff <= 8 * MiB + 4096, `the layers differ by ${layerDiff} B`);
  });

  test('cAdvisor v1 filesystem and v2 FilesystemStats: base usage is du -s -B1 of the UpperDir', async () => {
    const app = dirs(appId);
    const v1 = (await agent.get<Record<string, any>>(`/api/v1.3/docker/${appId}`))[`/docker/${appId}`];
    assert.equal(v1.spec.has_filesystem, true);
    const fs = v1.stats.at(-1).filesystem;
    assert.equal(fs.length, 1);
    assert.equal(fs[0].base_usage, du(app.upper));
    assert.equal(fs[0].usage, du(app.upper, app.container));
    assert.ok(fs[0].base_usage >= 8 * MiB && fs[0].base_usage <= 8 * MiB + 3 * 4096, `${fs[0].base_usage}`);
    // Every inode of the layer once, as find sees them (the root and /written.bin among them).
    const inodes = Number(execFileSync('sh', ['-c', `find '${app.upper}' -xdev -printf '%i\\n' | sort -u | wc -l`], { encoding: 'utf8' }).trim());
    assert.ok(inodes >= 2);
    assert.equal(fs[0].inodes, inodes);
    const metrics = await (await fetch(`${agent.url}/metrics`)).text();
    assert.equal(series(metrics, 'container_fs_inodes_total', appId), inodes, 'the layer\'s inodes, not its filesystem\'s');
    assert.equal(series(metrics, 'container_fs_inodes_free', appId), 0, 'as cAdvisor: never set for a container');
    const v2 = (await agent.get<Record<string, any>>(`/api/v2.1/stats/docker/${appId}?count=1`))[`/docker/${appId}`];
    assert.deepEqual(v2.stats[0].filesystem, { totalUsageBytes: fs[0].usage, baseUsageBytes: fs[0].base_usage, inodeUsage: fs[0].inodes });
    console.log(`cAdvisor filesystem: base_usage ${fs[0].base_usage} B = du ${du(app.upper)} B, usage ${fs[0].usage} B, ${fs[0].inodes} inodes`);
  });

  test('processes: 3 on /metrics, cAdvisor v1 and v2, and kubelet, as cgroup.procs and docker top count them', async () => {
    const pid = docker('inspect', '-f', '{{.State.Pid}}', appId);
    const pidsPath = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => /^\d+:pids:/.test(l))!.split(':')[2];
    const kernel = readFileSync(`/sys/fs/cgroup/pids${pidsPath}/cgroup.procs`, 'utf8').trim().split('\n').length;
    const top = docker('top', appId).split('\n').length - 1;
    assert.deepEqual([kernel, top], [3, 3]);
    const metrics = await waitFor('a render with process counts', async () => {
      const text = await (await fetch(`${agent.url}/metrics`)).text();
      return series(text, 'container_processes', appId) !== undefined ? text : undefined;
    });
    assert.equal(series(metrics, 'container_processes', appId), 3);
    assert.equal(series(metrics, 'container_processes', baseId), 3);
    const v1 = (await agent.get<Record<string, any>>(`/api/v1.3/docker/${appId}`))[`/docker/${appId}`];
    assert.equal(v1.stats.at(-1).processes.process_count, 3);
    // Every point of the series has its tick's count, not only the newest.
    const v2 = await waitFor('three counted points', async () => {
      const stats = (await agent.get<Record<string, any>>(`/api/v2.1/stats/docker/${appId}?count=3`))[`/docker/${appId}`].stats as any[];
      return stats.length === 3 && stats.every((p) => p.processes.process_count !== undefined) ? stats : undefined;
    });
    assert.deepEqual(v2.map((p) => p.processes.process_count), [3, 3, 3]);
    const summary = await agent.get<any>('/stats/summary');
    const pod = summary.pods.find((p: any) => p.podRef.uid === UID);
    assert.deepEqual(pod.process_stats, { process_count: 3 });
    console.log(`processes: cgroup.procs ${kernel}, docker top ${top}, /metrics ${series(metrics, 'container_processes', appId)}, kubelet ${pod.process_stats.process_count}`);
  });

  test('kubelet: rootfs usedBytes is the layer\'s du, logs the rest, pod ephemeral storage the sum', async () => {
    const app = dirs(appId);
    const summary = await agent.get<any>('/stats/summary');
    const pod = summary.pods.find((p: any) => p.podRef.uid === UID);
    const c = pod.containers[0];
    assert.equal(c.name, 'app');
    assert.equal(c.rootfs.usedBytes, du(app.upper));
    assert.equal(c.logs.usedBytes, du(app.upper, app.container) - du(app.upper));
    assert.equal(pod['ephemeral-storage'].usedBytes, du(app.upper, app.container));
    console.log(`kubelet: rootfs.usedBytes ${c.rootfs.usedBytes} B, logs.usedBytes ${c.logs.usedBytes} B`);
  });

  test('machine identity: /etc/machine-id and the boot id in cAdvisor\'s MachineInfo and on machine_* series', async () => {
    const machineId = readFileSync('/etc/machine-id', 'utf8').trim();
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    for (const path of ['/api/v1.3/machine', '/api/v2.0/machine']) {
      const m = await agent.get<any>(path);
      assert.deepEqual([m.machine_id, m.boot_id], [machineId, bootId], path);
      assert.equal(typeof m.system_uuid, 'string');
    }
    const text = await (await fetch(`${agent.url}/metrics`)).text();
    assert.ok(text.includes(`machine_cpu_cores{boot_id="${bootId}",machine_id="${machineId}"`), text.split('\n').find((l) => l.startsWith('machine_cpu_cores')));
  });
});
