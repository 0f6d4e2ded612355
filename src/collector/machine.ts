/**
 * Facts about the host itself that change rarely or never while the agent runs, read when a
 * surface asks for them: the operating system, kernel switches dockerd reports (IP forwarding,
 * bridge netfilter), what the cgroup tree can limit, and the hardware cAdvisor's MachineInfo
 * describes (CPU topology, clock, NUMA nodes, disks, NICs). Each is read from the host or left
 * undefined when the file is not there: never a guess.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import type { CgroupLayout } from '../kernel/cgroup/hierarchy.js';
import { parseOsRelease } from '../kernel/sys/os-release.js';
import { parseCpuinfoClockKhz, parseCpuinfoTopology } from '../kernel/sys/cpuinfo.js';
import { parseCacheSize, parseNodeMemTotal, parseScheduler } from '../kernel/sys/sysfs.js';
import { parseCpuList } from '../procview/cpus.js';

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** A 0/1 sysctl; undefined when the file is absent (the module that provides it is not loaded). */
export function readSysctlFlag(path: string): boolean | undefined {
  const text = readText(path)?.trim();
  return text === undefined || !/^\d+$/.test(text) ? undefined : text !== '0';
}

export interface OperatingSystem {
  /** PRETTY_NAME ("Debian GNU/Linux 12 (bookworm)"). */
  name?: string;
  /** VERSION_ID ("12"). */
  version?: string;
}

/** os-release(5): /etc/os-release, else /usr/lib/os-release. */
export function readOperatingSystem(files = ['/etc/os-release', '/usr/lib/os-release']): OperatingSystem {
  for (const file of files) {
    const text = readText(file);
    if (text === undefined) continue;
    const kv = parseOsRelease(text);
    return { name: kv.get('PRETTY_NAME'), version: kv.get('VERSION_ID') };
  }
  return {};
}

/** What the cgroup tree lets a runtime limit: the fields of dockerd's sysinfo that /info reports. */
export interface CgroupFeatures {
  MemoryLimit: boolean;
  SwapLimit: boolean;
  CpuCfsPeriod: boolean;
  CpuCfsQuota: boolean;
  CPUShares: boolean;
  CPUSet: boolean;
  PidsLimit: boolean;
  /** v1 memory.oom_control; v2 has no such switch (dockerd reports false there). */
  OomKillDisable: boolean;
}

/** The first child cgroup of `root` that has `file` (v2: the root itself has no limit files). */
function someChildHas(root: string, file: string): boolean {
  try {
    return readdirSync(root, { withFileTypes: true }).some((d) => d.isDirectory() && existsSync(`${root}/${d.name}/${file}`));
  } catch {
    return false;
  }
}

/** As dockerd's pkg/sysinfo decides them: v1 by the files of each controller's root, v2 by the root's cgroup.controllers. */
export function readCgroupFeatures(layout: CgroupLayout): CgroupFeatures {
  if (layout.mode === 'v2') {
    const root = layout.v2Root ?? '/sys/fs/cgroup';
    const controllers = new Set((readText(`${root}/cgroup.controllers`) ?? '').trim().split(/\s+/));
    const has = (c: string): boolean => controllers.has(c);
    return {
      MemoryLimit: has('memory'),
      SwapLimit: has('memory') && someChildHas(root, 'memory.swap.max'),
      CpuCfsPeriod: has('cpu'),
      CpuCfsQuota: has('cpu'),
      CPUShares: has('cpu'),
      CPUSet: has('cpuset'),
      PidsLimit: has('pids'),
      OomKillDisable: false,
    };
  }
  const file = (controller: string, name: string): boolean => {
    const dir = layout.v1.get(controller);
    return dir !== undefined && existsSync(`${dir}/${name}`);
  };
  return {
    MemoryLimit: file('memory', 'memory.limit_in_bytes'),
    SwapLimit: file('memory', 'memory.memsw.limit_in_bytes'),
    CpuCfsPeriod: file('cpu', 'cpu.cfs_period_us'),
    CpuCfsQuota: file('cpu', 'cpu.cfs_quota_us'),
    CPUShares: file('cpu', 'cpu.shares'),
    CPUSet: file('cpuset', 'cpuset.cpus'),
    PidsLimit: layout.v1.has('pids'),
    OomKillDisable: file('memory', 'memory.oom_control'),
  };
}

/** The host facts the Docker-compatible /info reports when dockerd cannot be asked. */
export interface HostInfoFacts {
  os: OperatingSystem;
  ipv4Forwarding?: boolean;
  bridgeNfIptables?: boolean;
  bridgeNfIp6tables?: boolean;
  cgroups: CgroupFeatures;
}

export function readHostInfoFacts(layout: CgroupLayout, procSys = '/proc/sys'): HostInfoFacts {
  return {
    os: readOperatingSystem(),
    ipv4Forwarding: readSysctlFlag(`${procSys}/net/ipv4/ip_forward`),
    bridgeNfIptables: readSysctlFlag(`${procSys}/net/bridge/bridge-nf-call-iptables`),
    bridgeNfIp6tables: readSysctlFlag(`${procSys}/net/bridge/bridge-nf-call-ip6tables`),
    cgroups: readCgroupFeatures(layout),
  };
}

/** cAdvisor's info.Cache. */
export interface CacheInfo {
  id: number;
  size: number;
  type: string;
  level: number;
}

/** cAdvisor's info.Core: one physical core, its hardware threads, its own (L1, L2) caches. */
export interface CoreInfo {
  core_id: number;
  thread_ids: number[];
  caches: CacheInfo[];
  socket_id: number;
}

/** cAdvisor's info.Node: a NUMA node, its memory, its cores and shared (L3) caches. */
export interface NodeInfo {
  node_id: number;
  memory?: bigint;
  hugepages: { page_size: number; num_pages: bigint }[];
  cores: CoreInfo[];
  caches: CacheInfo[];
  distances?: number[];
}

export interface DiskInfo {
  name: string;
  major: number;
  minor: number;
  size: bigint;
  scheduler: string;
}

export interface NetInfo {
  name: string;
  mac_address: string;
  /** Mb/s; -1 when the device does not say (virtual devices), as the kernel and cAdvisor write it. */
  speed: number;
  mtu: number;
}

/** The hardware cAdvisor's MachineInfo describes; a field is undefined when the host does not tell. */
export interface MachineInventory {
  /** cpuinfo's vendor_id ("GenuineIntel"). */
  vendorId?: string;
  numCores: number;
  numPhysicalCores?: number;
  numSockets?: number;
  cpuFrequencyKhz?: number;
  /** Memory by DIMM type from EDAC (empty without EDAC, as cAdvisor's). */
  memoryByType: Record<string, { capacity: bigint; dimm_count: number }>;
  topology: NodeInfo[];
  disks: DiskInfo[];
  networkDevices: NetInfo[];
}

const int = (text: string | undefined): number | undefined => {
  const t = text?.trim();
  return t !== undefined && /^-?\d+$/.test(t) ? Number(t) : undefined;
};

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

interface CpuTopology {
  cpu: number;
  core?: number;
  socket?: number;
}

/** Caches of one CPU: level, type, size and id of each cpuN/cache/indexM. */
function cpuCaches(cpuDir: string): CacheInfo[] {
  const out: CacheInfo[] = [];
  for (const index of list(`${cpuDir}/cache`).filter((n) => n.startsWith('index')).sort()) {
    const d = `${cpuDir}/cache/${index}`;
    const level = int(readText(`${d}/level`));
    const size = parseCacheSize(readText(`${d}/size`) ?? '');
    const type = readText(`${d}/type`)?.trim();
    if (level === undefined || size === undefined || type === undefined) continue;
    out.push({ id: int(readText(`${d}/id`)) ?? 0, size, type, level });
  }
  return out;
}

/**
 * MachineInfo's hardware, as cAdvisor reads it (utils/sysfs, utils/sysinfo, machine/machine.go):
 * CPUs from /sys/devices/system/cpu (topology/core_id, physical_package_id), falling back to
 * cpuinfo's "core id" and "physical id"; NUMA nodes from /sys/devices/system/node; the clock
 * from cpufreq's cpuinfo_max_freq, else cpuinfo's MHz; disks from /sys/block (not loop, ram,
 * sr); NICs from /sys/class/net (not lo, veth*, docker*, nerdctl*).
 */
export function readMachineInventory(sys = '/sys', proc = '/proc'): MachineInventory {
  const cpuRoot = `${sys}/devices/system/cpu`;
  const online = parseCpuList(readText(`${cpuRoot}/online`) ?? '', `${cpuRoot}/online`);
  const cpuinfo = readText(`${proc}/cpuinfo`) ?? '';
  const fromCpuinfo = new Map(parseCpuinfoTopology(cpuinfo).map((t) => [t.processor, t]));
  const cpus: CpuTopology[] = online.map((cpu) => {
    const t = `${cpuRoot}/cpu${cpu}/topology`;
    return {
      cpu,
      core: int(readText(`${t}/core_id`)) ?? fromCpuinfo.get(cpu)?.coreId,
      socket: int(readText(`${t}/physical_package_id`)) ?? fromCpuinfo.get(cpu)?.physicalId,
    };
  });
  const known = cpus.every((c) => c.core !== undefined && c.socket !== undefined);
  const sockets = known ? new Set(cpus.map((c) => c.socket)).size : undefined;
  const cores = known ? new Set(cpus.map((c) => `${c.socket}:${c.core}`)).size : undefined;
  const maxFreq = int(readText(`${cpuRoot}/cpu${online[0] ?? 0}/cpufreq/cpuinfo_max_freq`));
  return {
    vendorId: /^vendor_id\s*:\s*(.+)$/m.exec(cpuinfo)?.[1].trim(),
    numCores: online.length,
    numPhysicalCores: cores,
    numSockets: sockets,
    cpuFrequencyKhz: maxFreq ?? parseCpuinfoClockKhz(cpuinfo),
    memoryByType: readMemoryByType(`${sys}/devices/system/edac/mc`),
    topology: known ? readNodes(sys, cpus) : [],
    disks: readDisks(sys),
    networkDevices: readNetworkDevices(sys),
  };
}

function readNodes(sys: string, cpus: CpuTopology[]): NodeInfo[] {
  const nodeRoot = `${sys}/devices/system/node`;
  const nodeIds = list(nodeRoot).flatMap((n) => (/^node\d+$/.test(n) ? [Number(n.slice(4))] : [])).sort((a, b) => a - b);
  // Without NUMA (CONFIG_NUMA off) all CPUs form one node, as cAdvisor's getCPUTopology builds it.
  const nodes = nodeIds.length > 0 ? nodeIds : [undefined];
  return nodes.map((id) => {
    const dir = id === undefined ? undefined : `${nodeRoot}/node${id}`;
    const mine = dir === undefined ? cpus : cpus.filter((c) => existsSync(`${dir}/cpu${c.cpu}`));
    const cores = new Map<string, CoreInfo>();
    const shared = new Map<string, CacheInfo>();
    for (const c of mine) {
      const key = `${c.socket}:${c.core}`;
      let core = cores.get(key);
      const caches = cpuCaches(`${sys}/devices/system/cpu/cpu${c.cpu}`);
      if (!core) {
        core = { core_id: c.core ?? 0, thread_ids: [], caches: caches.filter((k) => k.level <= 2), socket_id: c.socket ?? 0 };
        cores.set(key, core);
      }
      core.thread_ids.push(c.cpu);
      for (const k of caches) if (k.level > 2) shared.set(`${k.level}:${k.type}:${k.id}`, k);
    }
    const hugepages = dir === undefined ? [] : list(`${dir}/hugepages`).flatMap((h) => {
      const size = /^hugepages-(\d+)kB$/.exec(h);
      const n = readText(`${dir}/hugepages/${h}/nr_hugepages`)?.trim();
      return size && n && /^\d+$/.test(n) ? [{ page_size: Number(size[1]), num_pages: BigInt(n) }] : [];
    });
    const distances = dir === undefined ? undefined : readText(`${dir}/distance`)?.trim().split(/\s+/).map(Number);
    return {
      node_id: id ?? 0,
      memory: dir === undefined ? undefined : parseNodeMemTotal(readText(`${dir}/meminfo`) ?? ''),
      hugepages,
      cores: [...cores.values()].sort((a, b) => a.socket_id - b.socket_id || a.core_id - b.core_id),
      caches: [...shared.values()],
      distances,
    };
  });
}

/** EDAC's DIMMs (mcN/dimmM/dimm_mem_type, size in MiB), summed by type as cAdvisor's GetMachineMemoryByType. */
function readMemoryByType(edac: string): Record<string, { capacity: bigint; dimm_count: number }> {
  const out: Record<string, { capacity: bigint; dimm_count: number }> = {};
  for (const mc of list(edac).filter((n) => /^mc\d+$/.test(n))) {
    for (const dimm of list(`${edac}/${mc}`).filter((n) => /^(dimm|rank)\d+$/.test(n))) {
      const type = readText(`${edac}/${mc}/${dimm}/dimm_mem_type`)?.trim();
      const mib = int(readText(`${edac}/${mc}/${dimm}/size`));
      if (!type || mib === undefined) continue;
      const t = (out[type] ??= { capacity: 0n, dimm_count: 0 });
      t.capacity += BigInt(mib) * 1024n * 1024n;
      t.dimm_count++;
    }
  }
  return out;
}

const IGNORED_DISKS = /^(loop|ram|sr)/;

function readDisks(sys: string): DiskInfo[] {
  const out: DiskInfo[] = [];
  for (const name of list(`${sys}/block`).sort()) {
    if (IGNORED_DISKS.test(name)) continue;
    const dev = /^(\d+):(\d+)$/.exec(readText(`${sys}/block/${name}/dev`)?.trim() ?? '');
    const sectors = readText(`${sys}/block/${name}/size`)?.trim();
    if (!dev || !sectors || !/^\d+$/.test(sectors)) continue;
    out.push({
      name,
      major: Number(dev[1]),
      minor: Number(dev[2]),
      size: BigInt(sectors) * 512n, // always 512-byte sectors, whatever the device's block size
      scheduler: parseScheduler(readText(`${sys}/block/${name}/queue/scheduler`) ?? ''),
    });
  }
  return out;
}

const IGNORED_NICS = /^(lo|veth|docker|nerdctl)/;

function readNetworkDevices(sys: string): NetInfo[] {
  const out: NetInfo[] = [];
  for (const name of list(`${sys}/class/net`).sort()) {
    if (IGNORED_NICS.test(name)) continue;
    const d = `${sys}/class/net/${name}`;
    const mtu = int(readText(`${d}/mtu`));
    const address = readText(`${d}/address`)?.trim();
    if (mtu === undefined || address === undefined) continue;
    // Reading speed fails (EINVAL) on a link that is down; virtual devices say -1.
    out.push({ name, mac_address: address, speed: int(readText(`${d}/speed`)) ?? -1, mtu });
  }
  return out;
}

/** cAdvisor's MachineInfo identity: also the labels of its machine_* series. */
export interface MachineIdentity {
  machineId: string;
  systemUuid: string;
  bootId: string;
}

/** Where cAdvisor reads each of them; the first readable file of a list wins. */
export const IDENTITY_FILES = {
  machineId: ['/etc/machine-id', '/var/lib/dbus/machine-id'],
  // Absent without DMI (many VMs, ARM boards) and readable by root only: then empty, as in cAdvisor.
  systemUuid: ['/sys/class/dmi/id/product_uuid'],
  bootId: ['/proc/sys/kernel/random/boot_id'],
};

/** The first readable file's content, trimmed; empty when none is. */
function firstReadable(paths: readonly string[]): string {
  for (const path of paths) {
    const text = readText(path);
    if (text !== undefined) return text.trim();
  }
  return '';
}

export function readMachineIdentity(files: Record<keyof MachineIdentity, readonly string[]> = IDENTITY_FILES): MachineIdentity {
  return { machineId: firstReadable(files.machineId), systemUuid: firstReadable(files.systemUuid), bootId: firstReadable(files.bootId) };
}
