/**
 * The kubelet Summary shape (k8s.io/kubelet/pkg/apis/stats/v1alpha1): field names, metav1 times,
 * pods grouped by UID with the sandbox's network and without the sandbox as a container, sums
 * at the pod level, and cumulative counters past 2^53 written exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { metaTime, summary } from '../../../src/api/kubelet.js';
import { toJson } from '../../../src/api/json.js';
import { derive } from '../../../src/derive/index.js';
import { Store } from '../../../src/store/store.js';
import type { ContainerInfo } from '../../../src/model.js';
import { parseExact } from '../docker/exact-json.js';
import { host, info, sample } from '../cadvisor/fixture.js';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 600);
const UID = '0f1e2d3c-4b5a-6978-8a9b-acbdcedfe0f1';

function member(id: string, container: string, sandbox: boolean): ContainerInfo {
  return info({
    id,
    name: `k8s_${container}_web-1`,
    pod: { name: 'web-1', namespace: 'shop', uid: UID, container, sandbox },
    rootfsPath: `/var/lib/docker/overlay2/${id}/diff`,
    containerDir: `/var/lib/docker/containers/${id}`,
    network: sandbox ? { kind: 'own', pid: 1 } : { kind: 'shared', withId: 'a'.repeat(64) },
  });
}

/** The app's writable layer holds 8 MiB + 8 KiB in 3 inodes, its log and Docker's files 20 KiB more. */
const APP_LAYER = { baseBytes: 8_396_800n, totalBytes: 8_417_280n, inodes: 3n, measuredMs: T0 };

function storeWithPod(): Store {
  const store = new Store(10, 60_000);
  const entries = [member('a'.repeat(64), 'POD', true), member('b'.repeat(64), 'app', false), info({ id: 'f'.repeat(64), name: 'not-in-a-pod' })];
  for (const e of entries) store.upsert(e);
  for (const [i, usage] of [2n ** 60n, 2n ** 60n + 500_000_000n].entries()) {
    const t = T0 + i * 1000;
    store.recordHost(host(t, 1000n + BigInt(i) * 150n));
    for (const e of entries) {
      const s = { ...sample(t, e.pod?.sandbox ? BigInt(i) * 1_000_000n : usage), layerUsage: e.pod?.container === 'app' ? APP_LAYER : undefined };
      store.record(e.id, s, derive(store.get(e.id)!.latest, s, 8n << 30n));
    }
  }
  return store;
}

test('metav1.Time is RFC 3339 to the second, UTC', () => {
  assert.equal(metaTime(T0), '2026-01-02T03:04:05Z');
});

test('node: kubelet field names, figures from the host samples', () => {
  const body = parseExact(toJson(summary(storeWithPod())));
  assert.deepEqual(Object.keys(body), ['node', 'pods']);
  const node = body.node;
  assert.deepEqual(Object.keys(node), ['nodeName', 'startTime', 'cpu', 'memory', 'network', 'fs', 'runtime', 'rlimit']);
  assert.equal(node.startTime, '2026-01-01T00:00:00Z');
  // 150 ticks of busy CPU in one second: 1.5 cores.
  assert.deepEqual(node.cpu, { time: '2026-01-02T03:04:06Z', usageNanoCores: 1500000000, usageCoreNanoSeconds: 11500000000 });
  assert.deepEqual(node.memory, { time: '2026-01-02T03:04:06Z', availableBytes: 7 * 2 ** 30, usageBytes: 2 * 2 ** 30, workingSetBytes: 2 ** 30, rssBytes: 512 * 2 ** 20 });
  assert.deepEqual(node.network, {
    time: '2026-01-02T03:04:06Z',
    name: 'eth0',
    rxBytes: 1000,
    rxErrors: 1,
    txBytes: 2000,
    txErrors: 2,
    interfaces: [{ name: 'eth0', rxBytes: 1000, rxErrors: 1, txBytes: 2000, txErrors: 2 }],
  });
  assert.deepEqual(node.fs, { time: '2026-01-02T03:04:06Z', availableBytes: 55 * 2 ** 30, capacityBytes: 100 * 2 ** 30, usedBytes: 40 * 2 ** 30, inodesFree: 900, inodes: 1000, inodesUsed: 100 });
  assert.deepEqual(node.runtime.imageFs, node.fs, 'the writable layers are on the root filesystem here');
  assert.deepEqual(node.rlimit, { time: '2026-01-02T03:04:06Z', curproc: 321 });
});

test('pods: one per UID, the sandbox not a container, sums at the pod level, exact u64 counters', () => {
  // Processes counted from cgroup.procs for this answer: 1 in the sandbox (pause), 2 in the app.
  const text = toJson(summary(storeWithPod(), new Map([['a'.repeat(64), 1n], ['b'.repeat(64), 2n], ['f'.repeat(64), 40n]])));
  const pods = parseExact(text).pods;
  assert.equal(pods.length, 1);
  const pod = pods[0];
  assert.deepEqual(Object.keys(pod), ['podRef', 'startTime', 'containers', 'cpu', 'memory', 'network', 'ephemeral-storage', 'process_stats', 'swap']);
  assert.deepEqual(pod.podRef, { name: 'web-1', namespace: 'shop', uid: UID });
  assert.deepEqual(pod.containers.map((c: { name: string }) => c.name), ['app']);
  const app = pod.containers[0];
  assert.deepEqual(Object.keys(app), ['name', 'startTime', 'cpu', 'memory', 'rootfs', 'logs', 'swap']);
  assert.deepEqual(app.cpu, { time: '2026-01-02T03:04:06Z', usageNanoCores: 500000000, usageCoreNanoSeconds: '1152921505106846976' });
  assert.match(text, /"usageCoreNanoSeconds":1152921505106846976\}/);
  assert.deepEqual(app.memory, { time: '2026-01-02T03:04:06Z', usageBytes: 50 * 2 ** 20, workingSetBytes: 45 * 2 ** 20, rssBytes: 30 * 2 ** 20, pageFaults: 1234, majorPageFaults: 5 });
  // kubelet's rootfs: the layer's filesystem with cAdvisor's base usage and layer inodes; logs: the
  // filesystem of Docker's container dir with total less base usage, and that filesystem's used inodes.
  assert.deepEqual(app.rootfs, { time: '2026-01-02T03:04:06Z', availableBytes: 55 * 2 ** 30, capacityBytes: 100 * 2 ** 30, usedBytes: 8_396_800, inodesFree: 900, inodes: 1000, inodesUsed: 3 });
  assert.deepEqual(app.logs, { time: '2026-01-02T03:04:06Z', availableBytes: 55 * 2 ** 30, capacityBytes: 100 * 2 ** 30, usedBytes: 20_480, inodesFree: 900, inodes: 1000, inodesUsed: 100 });
  assert.deepEqual(pod['ephemeral-storage'], { time: '2026-01-02T03:04:06Z', availableBytes: 55 * 2 ** 30, capacityBytes: 100 * 2 ** 30, usedBytes: 8_417_280, inodesFree: 900, inodes: 1000, inodesUsed: 3 });
  // The pod: sandbox and app summed.
  assert.equal(pod.cpu.usageNanoCores, 501000000);
  assert.equal(pod.memory.usageBytes, 100 * 2 ** 20);
  assert.equal(pod.memory.availableBytes, undefined);
  assert.equal(pod.network.name, 'eth0');
  assert.equal(pod.network.rxBytes, '1152921504606846976');
  assert.deepEqual(pod.process_stats, { process_count: 3 });
});

test('pods: no process count read, no process_stats; a layer not walked yet, no usedBytes and no logs', () => {
  const store = new Store(10, 60_000);
  const app = member('b'.repeat(64), 'app', false);
  store.upsert(app);
  store.recordHost(host(T0, 1000n));
  store.record(app.id, sample(T0, 1n), derive(undefined, sample(T0, 1n), 8n << 30n));
  const pod = parseExact(toJson(summary(store))).pods[0];
  assert.equal(pod.process_stats, undefined);
  assert.deepEqual(Object.keys(pod.containers[0].rootfs), ['time', 'availableBytes', 'capacityBytes', 'inodesFree', 'inodes']);
  assert.equal(pod.containers[0].logs, undefined);
  assert.equal(pod['ephemeral-storage'].usedBytes, undefined);
});
