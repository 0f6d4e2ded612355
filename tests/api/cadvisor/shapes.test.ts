/**
 * cAdvisor JSON shapes: the key sets and orders of info/v1 and info/v2 (as Go marshals the
 * structs), the v1→v2 conversions, u64 values beyond 2^53 written exactly, and the API's routes.
 */
import { ProcessCountLog } from '../../../src/collector/process-counts.js';
import type { MachineInventory } from '../../../src/collector/machine.js';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import {
  TCP_ADVANCED_ZERO,
  containerPoint,
  containerSpecJson,
  containerStatsJson,
  machineInfoJson,
  machinePoint,
  type StatPoint,
} from '../../../src/api/cadvisor-v1.js';
import { deviceNames } from '../../../src/kernel/proc/diskstats.js';
import { cpuInst, derivedStats, machineStats, percentile, v2DeprecatedStats, v2Spec, v2Stats } from '../../../src/api/cadvisor-v2.js';
import { readMachineIdentity } from '../../../src/collector/machine.js';
import { readProcessCounts } from '../../../src/collector/process-counts.js';
import { registerCadvisor } from '../../../src/api/cadvisor.js';
import { LifecycleLog } from '../../../src/store/lifecycle.js';
import { Router, startServer } from '../../../src/api/http.js';
import { toJson } from '../../../src/api/json.js';
import { derive } from '../../../src/derive/index.js';
import { Store } from '../../../src/store/store.js';
import type { ContainerInfo } from '../../../src/model.js';
import { parseExact } from '../docker/exact-json.js';
import { ID, host, info, sample } from './fixture.js';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);
const names = deviceNames(host(T0, 0n).disks);
const json = (v: unknown) => parseExact(toJson(v));
const point = (t: number, usage: bigint): StatPoint => containerPoint(sample(t, usage), 2, names);

test('v1 ContainerStats: the struct field order, Go omitempty, the network tables cAdvisor writes when not collected', () => {
  const s = json(containerStatsJson(sample(T0, 1_000_000_000n), 2, names));
  assert.deepEqual(Object.keys(s), ['timestamp', 'cpu', 'diskio', 'memory', 'network', 'task_stats', 'processes', 'resctrl', 'cpuset']);
  assert.equal(s.timestamp, '2026-01-02T03:04:05Z');
  assert.deepEqual(s.cpu, {
    usage: { total: 1000000000, user: 500000000, system: 250000000 },
    cfs: { periods: 10, throttled_periods: 2, throttled_time: 3000 },
    schedstat: { run_time: 0, runqueue_time: 0, run_periods: 0 },
    load_average: 0,
  });
  assert.deepEqual(Object.keys(s.memory), ['usage', 'max_usage', 'cache', 'rss', 'swap', 'mapped_file', 'working_set', 'failcnt', 'container_data', 'hierarchical_data']);
  assert.equal(s.memory.working_set, (50 - 5) * 2 ** 20);
  assert.deepEqual(s.memory.container_data, { pgfault: 1234, pgmajfault: 5, numa_stats: {} });
  // The first interface inline, lo left out, then the (zero) tables; an rx counter past 2^53 exact.
  assert.deepEqual(Object.keys(s.network), ['name', 'rx_bytes', 'rx_packets', 'rx_errors', 'rx_dropped', 'tx_bytes', 'tx_packets', 'tx_errors', 'tx_dropped', 'interfaces', 'tcp', 'tcp6', 'udp', 'udp6', 'tcp_advanced']);
  assert.equal(s.network.name, 'eth0');
  assert.equal(s.network.rx_bytes, '1152921504606846976');
  assert.deepEqual(s.network.interfaces.map((i: { name: string }) => i.name), ['eth0']);
  assert.equal(Object.keys(s.network.tcp_advanced).length, 99);
  assert.equal(Object.keys(s.network.tcp_advanced).at(-1), 'PAWSEstab');
  assert.equal(Object.keys(TCP_ADVANCED_ZERO)[0], 'RtoAlgorithm');
  // No count read for this point: none written (not a 0 nobody counted); 3 tasks. fd and socket counts are never read.
  assert.deepEqual(s.processes, { threads_current: 3 });
  assert.deepEqual(s.cpuset, { memory_migrate: 0 });
  const counted = json(containerStatsJson(sample(T0, 1n), 2, names, 2n));
  assert.deepEqual(counted.processes, { process_count: 2, threads_current: 3 });
});

/** The fixture sample with a measured writable layer: 8 MiB + 8 KiB in it, 1.5 GiB more with the log. */
const LAYER = { baseBytes: 8_396_800n, totalBytes: (3n << 29n) + 8_396_800n, inodes: 2n ** 53n + 1n, measuredMs: T0 - 500 };

test('v1 FsStats of a container: its layer\'s device and capacity, cAdvisor\'s du figures, nothing else', () => {
  const s = json(containerStatsJson({ ...sample(T0, 1n), layerUsage: LAYER }, 2, names));
  assert.deepEqual(Object.keys(s), ['timestamp', 'cpu', 'diskio', 'memory', 'network', 'filesystem', 'task_stats', 'processes', 'resctrl', 'cpuset']);
  assert.deepEqual(s.filesystem, [
    {
      device: '/dev/vda1',
      type: 'vfs',
      capacity: 100 * 2 ** 30,
      usage: 1_619_009_536,
      base_usage: 8_396_800,
      available: 0,
      has_inodes: false,
      inodes: '9007199254740993',
      inodes_free: 0,
      reads_completed: 0, reads_merged: 0, sectors_read: 0, read_time: 0, writes_completed: 0, writes_merged: 0, sectors_written: 0, write_time: 0,
      io_in_progress: 0, io_time: 0, weighted_io_time: 0,
    },
  ]);
  // Measured but no statfs of the layer yet: no device to name, so no entry.
  assert.equal(json(containerStatsJson({ ...sample(T0, 1n), filesystems: [], layerUsage: LAYER }, 2, names)).filesystem, undefined);
});

test('v2 FilesystemStats from the one v1 FsStats; has_filesystem wherever the writable layer is known', () => {
  const withLayer = info({ rootfsPath: '/var/lib/docker/overlay2/x/diff' });
  const spec = containerSpecJson(withLayer, sample(T0, 1n));
  assert.equal(spec.has_filesystem, true);
  const points = [point(T0, 1n), containerPoint({ ...sample(T0 + 1000, 2n), layerUsage: LAYER }, 2, names)];
  const stats = json(v2Stats(spec, points));
  assert.deepEqual(Object.keys(stats[1]), ['timestamp', 'cpu', 'cpu_inst', 'diskio', 'memory', 'network', 'processes', 'filesystem', 'resctrl']);
  assert.deepEqual(stats[1].filesystem, { totalUsageBytes: 1_619_009_536, baseUsageBytes: 8_396_800, inodeUsage: '9007199254740993' });
  assert.equal(stats[0].filesystem, undefined, 'not measured yet');
  const old = json(v2DeprecatedStats(spec, points));
  assert.equal(old[1].has_filesystem, true);
  assert.equal(old[1].filesystem[0].base_usage, 8_396_800);
});

test('v1 DiskIoStats: per device op maps, with the kernel Total on v1 and Read/Write only from io.stat', () => {
  const v2 = json(containerStatsJson(sample(T0, 1n), 2, names)).diskio;
  assert.deepEqual(v2.io_service_bytes, [{ device: '/dev/vda', major: 254, minor: 0, stats: { Read: 4096, Write: 8192 } }]);
  assert.deepEqual(v2.io_serviced, [{ device: '/dev/vda', major: 254, minor: 0, stats: { Read: 1, Write: 2 } }]);
  const v1 = json(containerStatsJson(sample(T0, 1n), 1, names)).diskio;
  assert.deepEqual(v1.io_service_bytes[0].stats, { Discard: 0, Read: 4096, Total: 12288, Write: 8192 });
  assert.deepEqual(Object.keys(v1.io_service_bytes[0].stats), ['Discard', 'Read', 'Total', 'Write'], 'sorted, as Go writes a map');
});

test('v1 ContainerSpec: unlimited memory is the kernel reading of "max" (u64 max on v2), v2 weight as shares', () => {
  const text = toJson(containerSpecJson(info(), sample(T0, 1n)));
  assert.match(text, /"memory":\{"limit":18446744073709551615,"swap_limit":18446744073709551615\}/);
  const spec = parseExact(text);
  assert.deepEqual(Object.keys(spec), ['creation_time', 'labels', 'has_cpu', 'cpu', 'has_memory', 'memory', 'has_hugetlb', 'has_network', 'has_processes', 'processes', 'has_filesystem', 'has_diskio', 'has_custom_metrics', 'image']);
  assert.deepEqual(spec.cpu, { limit: 2597, max_limit: 0, period: 100000 }, 'cpu.weight 100 → 2 + 99·262142/9999 shares; no quota');
  assert.equal(spec.has_filesystem, false);
  const v1 = parseExact(toJson(containerSpecJson(info({ cgroup: { version: 1, path: '/docker/x', dirs: {} } }), sample(T0, 1n))));
  assert.equal(v1.memory.limit, '9223372036854771712');
});

test('v2 stats: cpu_inst in nanocores from the point before, none for the first; the deprecated form keeps every struct', () => {
  const points = [point(T0, 1_000_000_000n), point(T0 + 2000, 2_000_000_000n)];
  const spec = containerSpecJson(info(), sample(T0, 1n));
  const stats = json(v2Stats(spec, points));
  assert.deepEqual(Object.keys(stats[1]), ['timestamp', 'cpu', 'cpu_inst', 'diskio', 'memory', 'network', 'processes', 'resctrl']);
  assert.equal(spec.has_filesystem, false, 'no writable layer known');
  assert.equal(stats[0].cpu_inst, undefined);
  assert.deepEqual(stats[1].cpu_inst, { usage: { total: 500000000, user: 250000000, system: 125000000 } });
  assert.deepEqual(Object.keys(stats[1].network), ['interfaces', 'tcp', 'tcp6', 'udp', 'udp6', 'tcp_advanced']);
  const old = json(v2DeprecatedStats(spec, points));
  assert.deepEqual(Object.keys(old[1]), [
    'timestamp', 'has_cpu', 'cpu', 'cpu_inst', 'has_diskio', 'diskio', 'has_memory', 'memory', 'has_hugetlb', 'has_network', 'network',
    'has_processes', 'processes', 'has_filesystem', 'has_load', 'load_stats', 'has_custom_metrics', 'resctrl',
  ]);
  assert.equal(old[1].has_processes, false, 'cAdvisor never sets it in DeprecatedStatsFromV1');
  assert.deepEqual(old[1].processes, { process_count: 0, fd_count: 0, socket_count: 0 });
  assert.equal(cpuInst(points[1], points[0]), undefined, 'backwards in time');
});

test('v2 ContainerSpec: only limit and max_limit of the CPU spec, an unset memory limit shown as the machine\'s', () => {
  const spec = containerSpecJson(info(), { ...sample(T0, 1n), cgroup: { cpu: { weight: 100n } } });
  const v2 = json(v2Spec({ ...spec, has_memory: true }, ['web', ID], 'docker', 8n << 30n));
  assert.deepEqual(Object.keys(v2), [
    'creation_time', 'aliases', 'namespace', 'labels', 'has_cpu', 'cpu', 'has_memory', 'memory', 'has_hugetlb', 'has_custom_metrics',
    'has_processes', 'processes', 'has_network', 'has_filesystem', 'has_diskio', 'image',
  ]);
  assert.deepEqual(v2.cpu, { limit: 2597, max_limit: 0 });
  assert.deepEqual(v2.memory, { limit: 8 * 2 ** 30 });
  assert.deepEqual(v2.processes, {});
});

test('machine: MachineInfo field order; machinestats with MachineFsStats and its "inline" disk stats in ns', () => {
  const h0 = host(T0, 1000n);
  const h1 = host(T0 + 1000, 1100n);
  const hw: MachineInventory = {
    vendorId: 'GenuineIntel',
    numCores: 2,
    numPhysicalCores: 2,
    numSockets: 1,
    memoryByType: {},
    topology: [{ node_id: 0, memory: 8n << 30n, hugepages: [], cores: [{ core_id: 0, thread_ids: [0], caches: [], socket_id: 0 }], caches: [] }],
    disks: [{ name: 'vda', major: 254, minor: 0, size: 1n << 38n, scheduler: 'mq-deadline' }],
    networkDevices: [{ name: 'eth0', mac_address: '02:fc:00:00:00:01', speed: -1, mtu: 1400 }],
  };
  const mi = json(machineInfoJson(h1, { machineId: '3d1219c7c4c5404aaa1f6d2a48adfda4', systemUuid: '', bootId: '142d2da4-8efb-4f99-bc32-a1bce85c5067' }, hw));
  // cAdvisor's order; cpu_frequency_khz (unknown here) and nvm (never read) are left out.
  assert.deepEqual(Object.keys(mi), [
    'timestamp', 'vendor_id', 'num_cores', 'num_physical_cores', 'num_sockets', 'memory_capacity', 'swap_capacity',
    'memory_by_type', 'hugepages', 'machine_id', 'system_uuid', 'boot_id', 'filesystems', 'disk_map', 'network_devices',
    'topology', 'cloud_provider', 'instance_type', 'instance_id',
  ]);
  assert.equal(mi.num_cores, 2);
  assert.deepEqual(mi.disk_map['254:0'], { name: 'vda', major: 254, minor: 0, size: 2 ** 38, scheduler: 'mq-deadline' });
  assert.deepEqual(mi.network_devices, [{ name: 'eth0', mac_address: '02:fc:00:00:00:01', speed: -1, mtu: 1400 }]);
  assert.deepEqual(mi.topology[0].cores, [{ core_id: 0, thread_ids: [0], caches: [], socket_id: 0 }]);
  assert.deepEqual([mi.machine_id, mi.system_uuid, mi.boot_id], ['3d1219c7c4c5404aaa1f6d2a48adfda4', '', '142d2da4-8efb-4f99-bc32-a1bce85c5067']);
  assert.deepEqual(mi.hugepages, [{ page_size: 2048, num_pages: 0 }]);
  const points = [h0, h1].map(machinePoint);
  const ms = json(machineStats(points, [h0, h1]));
  assert.deepEqual(Object.keys(ms[1]), ['timestamp', 'cpu', 'cpu_inst', 'memory', 'network', 'filesystem']);
  assert.equal(ms[1].cpu_inst.usage.total, 1_000_000_000, '100 ticks of busy CPU in one second: one core');
  assert.deepEqual(ms[1].filesystem[0], {
    device: '/dev/vda1',
    type: 'vfs',
    capacity: 100 * 2 ** 30,
    usage: 40 * 2 ** 30,
    available: 55 * 2 ** 30,
    inodes_free: 900,
    inline: { reads_completed: 5, reads_merged: 0, sectors_read: 40, read_duration: 3e6, writes_completed: 6, writes_merged: 0, sectors_written: 48, write_duration: 4e6, io_in_progress: 0, io_duration: 5e6, weighted_io_duration: 6e6 },
  });
});

test('machine identity: the first readable file of each list, trimmed; empty when none is', () => {
  const dir = mkdtempSync(`${tmpdir()}/cstats-identity-`);
  try {
    writeFileSync(`${dir}/dbus-machine-id`, '3d1219c7c4c5404aaa1f6d2a48adfda4\n');
    writeFileSync(`${dir}/boot_id`, '142d2da4-8efb-4f99-bc32-a1bce85c5067\n');
    const id = readMachineIdentity({ machineId: [`${dir}/etc-machine-id`, `${dir}/dbus-machine-id`], systemUuid: [`${dir}/product_uuid`], bootId: [`${dir}/boot_id`] });
    assert.deepEqual(id, { machineId: '3d1219c7c4c5404aaa1f6d2a48adfda4', systemUuid: '', bootId: '142d2da4-8efb-4f99-bc32-a1bce85c5067' });
    // This host's own: /proc always has a boot id, 36 characters.
    assert.match(readMachineIdentity().bootId, /^[0-9a-f-]{36}$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('summary: cAdvisor percentiles and completeness from the history', () => {
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.5), 5);
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9), 9);
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95), 10);
  assert.equal(percentile([7], 0.95), 7);
  const ts = Array.from({ length: 30 }, (_, i) => T0 + i * 1000);
  const d = derivedStats({ timestampsMs: ts, cpuCores: ts.map((_, i) => (i % 2 ? 0.5 : 0.25)), workingSetBytes: ts.map(() => 1000) }, T0 + 29_500, 1000);
  assert.deepEqual(Object.keys(d), ['timestamp', 'latest_usage', 'minute_usage', 'hour_usage', 'day_usage']);
  assert.deepEqual(d.latest_usage, { cpu: 500, memory: 1000 });
  assert.equal(d.minute_usage.percent_complete, 50);
  assert.deepEqual(d.minute_usage.cpu, { present: true, mean: 375, max: 500, fifty: 375, ninety: 500, ninetyfive: 500 });
  assert.equal(d.hour_usage.percent_complete, 0);
});

// The routes, in process; the Docker container's cgroup a directory with two processes and a child with one.
const processes = new ProcessCountLog(120_000);
const cgroupDir = mkdtempSync(`${tmpdir()}/cstats-cadvisor-cg-`);
mkdirSync(`${cgroupDir}/child`);
writeFileSync(`${cgroupDir}/cgroup.procs`, '16664\n16692\n');
writeFileSync(`${cgroupDir}/child/cgroup.procs`, '16693\n');
const store = new Store(10, 60_000);
let server: Server;
let base: string;
const get = async (path: string, init?: RequestInit) => {
  const r = await fetch(base + path, init);
  return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
};

before(async () => {
  store.upsert(info({ cgroup: { version: 2, path: `/system.slice/docker-${ID}.scope`, dir: cgroupDir } }));
  store.upsert(info({ id: 'd'.repeat(64), name: 'plain', runtime: 'cgroupfs', cgroup: { version: 2, path: '/system.slice/plain.scope', dir: '' } }));
  let prev: ReturnType<typeof sample> | undefined;
  for (const [i, usage] of [1_000_000_000n, 1_500_000_000n].entries()) {
    store.recordHost(host(T0 + i * 1000, 1000n + BigInt(i) * 100n));
    for (const id of [ID, 'd'.repeat(64)]) {
      const s = sample(T0 + i * 1000, usage);
      store.record(id, s, derive(prev, s, 8n << 30n));
    }
    processes.observe(store.list(false));
    prev = sample(T0 + i * 1000, usage);
  }
  const router = new Router();
  registerCadvisor(router, { store, lifecycle: new LifecycleLog(store), intervalMs: 1000, processes });
  server = await startServer(router, '127.0.0.1:0');
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(() => {
  server.close();
  rmSync(cgroupDir, { recursive: true, force: true });
});

test('routes: the cgroup tree, docker lookups, v2 options, POSTed v1 options, errors as cAdvisor writes them', async () => {
  const root = JSON.parse((await get('/api/v1.3/containers')).text);
  assert.equal(root.name, '/');
  assert.deepEqual(root.subcontainers, [{ name: '/system.slice' }]);
  const sub = JSON.parse((await get('/api/v1.3/subcontainers/system.slice')).text);
  assert.deepEqual(sub.map((c: { name: string }) => c.name), ['/system.slice', `/system.slice/docker-${ID}.scope`, '/system.slice/plain.scope']);
  assert.equal(sub[0].stats, undefined, 'a directory between containers has no figures');
  const docker = JSON.parse((await get('/api/v1.3/docker/web')).text);
  assert.deepEqual(Object.keys(docker), [`/system.slice/docker-${ID}.scope`]);
  const c = docker[`/system.slice/docker-${ID}.scope`];
  assert.deepEqual([c.id, c.aliases, c.namespace, c.stats.length], [ID, ['web', ID], 'docker', 2]);
  // cgroup.procs counted at each tick: every point has its count.
  assert.deepEqual(c.stats.map((p: any) => p.processes.process_count), [3, 3]);
  const posted = JSON.parse((await get(`/api/v1.3/containers/system.slice/docker-${ID}.scope`, { method: 'POST', body: '{"num_stats":1}' })).text);
  assert.equal(posted.stats.length, 1);
  const allDocker = JSON.parse((await get('/api/v2.0/stats?type=docker&recursive=true&count=1')).text);
  assert.deepEqual(Object.keys(allDocker), [`/system.slice/docker-${ID}.scope`]);
  assert.equal(allDocker[`/system.slice/docker-${ID}.scope`].length, 1);
  const v21 = JSON.parse((await get('/api/v2.1/stats/system.slice?recursive=true')).text);
  assert.deepEqual(Object.keys(v21).sort(), [`/system.slice/docker-${ID}.scope`, '/system.slice', '/system.slice/plain.scope'].sort());
  assert.equal(v21[`/system.slice/docker-${ID}.scope`].stats[1].cpu_inst.usage.total, 500_000_000);
  assert.equal(v21[`/system.slice/docker-${ID}.scope`].stats[1].processes.process_count, 3);
  assert.equal(v21['/system.slice/plain.scope'].stats[1].processes.process_count, undefined, 'no cgroup directory: no count');
  const unknown = await get('/api/v1.3/containers/nope');
  assert.deepEqual([unknown.status, unknown.type, unknown.text], [500, 'text/plain; charset=utf-8', 'unknown container "/nope"\n']);
  const badType = await get('/api/v2.0/stats/x?type=rkt');
  assert.equal(badType.text, 'unknown \'type\' "rkt"\n');
  const badRecursive = await get('/api/v2.0/stats/web?type=docker&recursive=true');
  assert.equal(badRecursive.status, 500);
  const write = await get('/api/v1.3/containers/', { method: 'DELETE' });
  assert.equal(write.status, 500);
  const machine = JSON.parse((await get('/api/v2.0/machine')).text);
  assert.equal(machine.memory_capacity, 8 * 2 ** 30);
  const ms = JSON.parse((await get('/api/v2.1/machinestats')).text);
  assert.equal(ms.length, 2);
});

test('process counts: by container id, none for a cgroup that is gone; at most one task is that count, unread', async () => {
  const counted = new Store(10, 60_000);
  const entry = (over: Partial<ContainerInfo>, tasks: bigint) => {
    const e = counted.upsert(info(over));
    counted.record(e.info.id, { ...sample(T0, 1n), cgroup: { pids: { current: tasks } } }, derive(undefined, sample(T0, 1n), 8n << 30n));
    return e;
  };
  const counts = await readProcessCounts([
    entry({ cgroup: { version: 2, path: '/a', dir: cgroupDir } }, 3n),
    entry({ id: 'f'.repeat(64), cgroup: { version: 1, path: '/b', dirs: { pids: `${cgroupDir}/child`, cpu: '/nonexistent' } } }, 4n),
    entry({ id: '0'.repeat(64), cgroup: { version: 1, path: '/c', dirs: { pids: `${cgroupDir}/gone` } } }, 2n),
    // Not read: one task is one process, none is none.
    entry({ id: '1'.repeat(64), cgroup: { version: 1, path: '/d', dirs: { pids: `${cgroupDir}/gone` } } }, 1n),
    entry({ id: '2'.repeat(64), cgroup: { version: 1, path: '/e', dirs: {} } }, 0n),
  ]);
  assert.deepEqual(counts, new Map([[ID, 3n], ['f'.repeat(64), 1n], ['1'.repeat(64), 1n], ['2'.repeat(64), 0n]]));
});

test('events: lifecycle changes as cAdvisor events, by type, for a container and its subcontainers', async () => {
  const log = new LifecycleLog(store);
  store.upsert(info({ id: 'e'.repeat(64), name: 'new', cgroup: { version: 2, path: '/system.slice/new.scope', dir: '' } }));
  log.observe();
  const router = new Router();
  registerCadvisor(router, { store, lifecycle: log, intervalMs: 1000 });
  const s = await startServer(router, '127.0.0.1:0');
  const url = `http://127.0.0.1:${(s.address() as { port: number }).port}`;
  try {
    const none = await (await fetch(`${url}/api/v2.0/events/system.slice?subcontainers=true`)).json();
    assert.deepEqual(none, [], 'no event type asked for: none, as in cAdvisor');
    const created = (await (await fetch(`${url}/api/v2.0/events/system.slice?subcontainers=true&creation_events=true`)).json()) as any[];
    assert.equal(created.length, 1);
    assert.deepEqual(Object.keys(created[0]), ['container_name', 'timestamp', 'event_type', 'event_data']);
    assert.deepEqual([created[0].container_name, created[0].event_type, created[0].event_data], ['/system.slice/new.scope', 'containerCreation', {}]);
    const elsewhere = await (await fetch(`${url}/api/v1.3/events/docker?subcontainers=true&all_events=true`)).json();
    assert.deepEqual(elsewhere, []);
  } finally {
    s.close();
  }
});
