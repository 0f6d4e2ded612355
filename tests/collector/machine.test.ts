/**
 * The host-fact readers on fixture trees shaped as the kernel writes them: two sockets of two
 * cores with two threads each, NUMA nodes, caches, cpufreq; a host without topology or clock
 * (the fields are left out); disks and NICs filtered as cAdvisor filters them; os-release;
 * the cgroup features dockerd reports.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname } from 'node:path';
import { after, test } from 'node:test';
import { readCgroupFeatures, readMachineInventory, readOperatingSystem, readSysctlFlag } from '../../src/collector/machine.js';
import { parseOsRelease } from '../../src/kernel/sys/os-release.js';
import { parseCacheSize, parseScheduler } from '../../src/kernel/sys/sysfs.js';
import { parseCpuinfoClockKhz } from '../../src/kernel/sys/cpuinfo.js';

const root = mkdtempSync(`${tmpdir()}/machine-`);
after(() => rmSync(root, { recursive: true, force: true }));

function files(base: string, tree: Record<string, string>): void {
  for (const [path, text] of Object.entries(tree)) {
    mkdirSync(dirname(`${base}/${path}`), { recursive: true });
    writeFileSync(`${base}/${path}`, text);
  }
}

test('sysfs formats', () => {
  assert.equal(parseCacheSize('32K\n'), 32768);
  assert.equal(parseCacheSize('16M'), 16 << 20);
  assert.equal(parseCacheSize('big'), undefined);
  assert.equal(parseScheduler('none [mq-deadline] kyber\n'), 'mq-deadline');
  assert.equal(parseScheduler('[none] mq-deadline'), 'none');
  assert.equal(parseScheduler('none\n'), 'none');
  assert.equal(parseCpuinfoClockKhz('processor\t: 0\ncpu MHz\t\t: 2095.993\n'), 2095993);
  assert.equal(parseCpuinfoClockKhz('processor\t: 0\nBogoMIPS\t: 50.00\n'), undefined);
});

test('two sockets, two cores each, two threads a core, two NUMA nodes: cAdvisor\'s topology', () => {
  const sys = `${root}/sys-big`;
  const proc = `${root}/proc-big`;
  const tree: Record<string, string> = { 'devices/system/cpu/online': '0-7\n', 'devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq': '3500000\n' };
  for (let cpu = 0; cpu < 8; cpu++) {
    const socket = cpu < 4 ? 0 : 1;
    const core = [0, 1, 0, 1][cpu % 4];
    const t = `devices/system/cpu/cpu${cpu}`;
    tree[`${t}/topology/core_id`] = `${core}\n`;
    tree[`${t}/topology/physical_package_id`] = `${socket}\n`;
    tree[`${t}/cache/index0/level`] = '1\n';
    tree[`${t}/cache/index0/type`] = 'Data\n';
    tree[`${t}/cache/index0/size`] = '32K\n';
    tree[`${t}/cache/index0/id`] = `${core}\n`;
    tree[`${t}/cache/index3/level`] = '3\n';
    tree[`${t}/cache/index3/type`] = 'Unified\n';
    tree[`${t}/cache/index3/size`] = '16384K\n';
    tree[`${t}/cache/index3/id`] = `${socket}\n`;
    tree[`devices/system/node/node${socket}/cpu${cpu}`] = '';
  }
  tree['devices/system/node/node0/meminfo'] = 'Node 0 MemTotal:       8000000 kB\nNode 0 MemFree:  1 kB\n';
  tree['devices/system/node/node1/meminfo'] = 'Node 1 MemTotal:       9000000 kB\n';
  tree['devices/system/node/node0/distance'] = '10 21\n';
  tree['devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages'] = '4\n';
  Object.assign(tree, {
    'block/sda/dev': '8:0\n', 'block/sda/size': '1000\n', 'block/sda/queue/scheduler': 'none [bfq]\n',
    'block/loop0/dev': '7:0\n', 'block/loop0/size': '0\n',
    'block/sr0/dev': '11:0\n', 'block/sr0/size': '2\n',
    'class/net/eth0/address': 'aa:bb:cc:dd:ee:ff\n', 'class/net/eth0/mtu': '9000\n', 'class/net/eth0/speed': '10000\n',
    'class/net/wg0/address': '\n', 'class/net/wg0/mtu': '1420\n',
    'class/net/lo/address': '00:00:00:00:00:00\n', 'class/net/lo/mtu': '65536\n',
    'class/net/veth1/address': 'aa:aa:aa:aa:aa:aa\n', 'class/net/veth1/mtu': '1500\n',
    'class/net/docker0/address': 'aa:aa:aa:aa:aa:ab\n', 'class/net/docker0/mtu': '1500\n',
  });
  files(sys, tree);
  files(proc, { cpuinfo: 'processor\t: 0\nvendor_id\t: GenuineIntel\ncpu MHz\t\t: 1200.000\n\n' });
  const hw = readMachineInventory(sys, proc);
  assert.equal(hw.vendorId, 'GenuineIntel');
  assert.equal(hw.numCores, 8);
  assert.equal(hw.numPhysicalCores, 4);
  assert.equal(hw.numSockets, 2);
  assert.equal(hw.cpuFrequencyKhz, 3500000, 'cpufreq\'s maximum before cpuinfo\'s current MHz, as cAdvisor');
  assert.deepEqual(hw.topology.map((n) => [n.node_id, n.memory, n.cores.map((c) => [c.socket_id, c.core_id, c.thread_ids])]), [
    [0, 8000000n * 1024n, [[0, 0, [0, 2]], [0, 1, [1, 3]]]],
    [1, 9000000n * 1024n, [[1, 0, [4, 6]], [1, 1, [5, 7]]]],
  ]);
  assert.deepEqual(hw.topology[0].cores[0].caches, [{ id: 0, size: 32768, type: 'Data', level: 1 }]);
  assert.deepEqual(hw.topology[0].caches, [{ id: 0, size: 16 << 20, type: 'Unified', level: 3 }]);
  assert.deepEqual(hw.topology[0].hugepages, [{ page_size: 2048, num_pages: 4n }]);
  assert.deepEqual(hw.topology[0].distances, [10, 21]);
  assert.deepEqual(hw.disks, [{ name: 'sda', major: 8, minor: 0, size: 512000n, scheduler: 'bfq' }]);
  assert.deepEqual(hw.networkDevices, [
    { name: 'eth0', mac_address: 'aa:bb:cc:dd:ee:ff', speed: 10000, mtu: 9000 },
    { name: 'wg0', mac_address: '', speed: -1, mtu: 1420 },
  ]);
  assert.deepEqual(hw.memoryByType, {});
});

test('a host that tells no topology and no clock: those fields are left out, not zero', () => {
  const sys = `${root}/sys-small`;
  files(sys, { 'devices/system/cpu/online': '0\n' });
  files(`${root}/proc-small`, { cpuinfo: 'processor\t: 0\nBogoMIPS\t: 50.00\n\n' });
  const hw = readMachineInventory(sys, `${root}/proc-small`);
  assert.equal(hw.numCores, 1);
  assert.equal(hw.numPhysicalCores, undefined);
  assert.equal(hw.numSockets, undefined);
  assert.equal(hw.cpuFrequencyKhz, undefined);
  assert.equal(hw.vendorId, undefined);
  assert.deepEqual(hw.topology, []);
  // cpuinfo's "physical id" and "core id" stand in for a missing sysfs topology.
  files(`${root}/proc-x86`, { cpuinfo: 'processor\t: 0\nphysical id\t: 0\ncore id\t\t: 0\ncpu MHz\t\t: 2095.993\n\n' });
  const x86 = readMachineInventory(sys, `${root}/proc-x86`);
  assert.deepEqual([x86.numSockets, x86.numPhysicalCores, x86.cpuFrequencyKhz], [1, 1, 2095993]);
});

test('os-release, sysctl flags, cgroup features', () => {
  const os = parseOsRelease('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n# c\n');
  assert.equal(os.get('PRETTY_NAME'), 'Debian GNU/Linux 12 (bookworm)');
  assert.equal(os.get('ID'), 'debian');
  files(root, { 'etc/os-release': 'PRETTY_NAME="Alpine Linux v3.19"\nVERSION_ID=3.19.1\n', 'sys/ip_forward': '1\n', 'sys/off': '0\n' });
  assert.deepEqual(readOperatingSystem([`${root}/etc/none`, `${root}/etc/os-release`]), { name: 'Alpine Linux v3.19', version: '3.19.1' });
  assert.deepEqual(readOperatingSystem([`${root}/etc/none`]), {});
  assert.equal(readSysctlFlag(`${root}/sys/ip_forward`), true);
  assert.equal(readSysctlFlag(`${root}/sys/off`), false);
  assert.equal(readSysctlFlag(`${root}/sys/absent`), undefined);

  const cg = `${root}/cgroup`;
  files(cg, { 'memory/memory.limit_in_bytes': '', 'memory/memory.oom_control': '', 'cpu/cpu.cfs_period_us': '', 'cpu/cpu.cfs_quota_us': '', 'cpu/cpu.shares': '' });
  const v1 = readCgroupFeatures({ mode: 'v1', v1: new Map([['memory', `${cg}/memory`], ['cpu', `${cg}/cpu`]]) });
  assert.deepEqual(v1, { MemoryLimit: true, SwapLimit: false, CpuCfsPeriod: true, CpuCfsQuota: true, CPUShares: true, CPUSet: false, PidsLimit: false, OomKillDisable: true });
  files(cg, { 'v2/cgroup.controllers': 'cpuset cpu io memory pids\n', 'v2/system.slice/memory.swap.max': 'max\n' });
  const v2 = readCgroupFeatures({ mode: 'v2', v1: new Map(), v2Root: `${cg}/v2` });
  assert.deepEqual(v2, { MemoryLimit: true, SwapLimit: true, CpuCfsPeriod: true, CpuCfsQuota: true, CPUShares: true, CPUSet: true, PidsLimit: true, OomKillDisable: false });
});
