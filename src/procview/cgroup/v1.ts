/** A container's cgroup on a v1 (or hybrid) host: one directory per controller. */
import type { StatContext } from '../../kernel/cgroup/read-file.js';
import { readParsed } from '../../kernel/cgroup/read-file.js';
import { mergeBlkio, parseBlkioRwstat } from '../../kernel/cgroup/v1/blkio.js';
import { parseCfsQuota, parseCpuacctStat } from '../../kernel/cgroup/v1/cpu.js';
import type { V1Dirs } from '../../kernel/cgroup/v1/dirs.js';
import { parseV1Limit } from '../../kernel/cgroup/v1/memory.js';
import { ParseError } from '../../kernel/errors.js';
import { parseKeyValueRecord, parseSingleU64, parseU64, splitFields } from '../../kernel/parse.js';
import type { BlkioDeviceStats } from '../../kernel/types.js';
import { parseCpuList, type CpuLimits } from '../cpus.js';
import type { MemoryView } from '../files/meminfo.js';
import type { CpuTimeNs, CpuUsageView } from '../files/stat.js';
import type { ContainerCgroup } from './view.js';

/**
 * cpuacct.usage_all (kernel 4.7): "cpu user system" then "N user_ns system_ns" per possible CPU.
 * It is the only v1 file with a per-CPU user/system split.
 */
export function parseCpuacctUsageAll(text: string, file: string): CpuUsageView {
  const perCpu = new Map<number, CpuTimeNs>();
  let userNs = 0n;
  let systemNs = 0n;
  const lines = text.split('\n');
  if (lines[0] !== 'cpu user system') throw new ParseError(file, `unexpected header ${JSON.stringify(lines[0])}`);
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const f = splitFields(line);
    if (f.length !== 3) throw new ParseError(file, `expected "cpu user system", got ${JSON.stringify(line)}`);
    const t = { userNs: parseU64(f[1], file), systemNs: parseU64(f[2], file) };
    perCpu.set(Number(parseU64(f[0], file)), t);
    userNs += t.userNs;
    systemNs += t.systemNs;
  }
  return { userNs, systemNs, perCpu };
}

const stat0 = (s: Record<string, bigint>, key: string): bigint => s[key] ?? 0n;

/**
 * Block I/O of the cgroup and all its descendants (as v2 io.stat, memory.stat's total_* and
 * cpuacct count): the _recursive files, CFQ's before kernel 5.0 (when the device uses CFQ),
 * else the throttle ones, as LXCFS reads them. Docker's stats read the non-recursive throttle
 * files, which miss a child cgroup's I/O (systemd in the container, a pruned init.scope).
 */
const IO_SOURCES = [
  ['blkio.io_service_bytes_recursive', 'blkio.io_serviced_recursive'],
  ['blkio.throttle.io_service_bytes_recursive', 'blkio.throttle.io_serviced_recursive'],
] as const;
const NO_DEVICES = new Map<string, never>();

/** memory.stat's hierarchical total_* keys, under the v2 names MemoryView uses. */
export function memoryViewV1(stat: Record<string, bigint>, usageBytes: bigint, swapUsageBytes: bigint | undefined): MemoryView {
  const limit = (key: string): bigint | null => {
    const v = stat[key];
    return v === undefined ? null : parseV1Limit(`${v}`, 'memory.stat');
  };
  const memLimit = limit('hierarchical_memory_limit');
  let swapLimitBytes: bigint | null | undefined;
  if (swapUsageBytes !== undefined) {
    // memsw bounds memory plus swap: swap alone may use what the memory limit leaves of it.
    const memsw = limit('hierarchical_memsw_limit');
    swapLimitBytes = memsw === null ? null : memLimit === null || memsw < memLimit ? memsw : memsw - memLimit;
  }
  const shmem = stat0(stat, 'total_shmem');
  const activeAnon = stat0(stat, 'total_active_anon');
  const inactiveAnon = stat0(stat, 'total_inactive_anon');
  const anonLru = activeAnon + inactiveAnon;
  return {
    limitBytes: memLimit,
    usageBytes,
    swapLimitBytes,
    swapUsageBytes: swapUsageBytes ?? 0n,
    stat: {
      file: stat0(stat, 'total_cache'),
      // shmem sits on the anon LRU lists; LXCFS's AnonPages takes it out the same way.
      anon: anonLru > shmem ? anonLru - shmem : 0n,
      activeAnon,
      inactiveAnon,
      activeFile: stat0(stat, 'total_active_file'),
      inactiveFile: stat0(stat, 'total_inactive_file'),
      unevictable: stat0(stat, 'total_unevictable'),
      fileDirty: stat0(stat, 'total_dirty'),
      fileWriteback: stat0(stat, 'total_writeback'),
      fileMapped: stat0(stat, 'total_mapped_file'),
      shmem,
      anonThp: stat0(stat, 'total_rss_huge'),
      shmemThp: 0n,
      slab: 0n,
      slabReclaimable: 0n,
      slabUnreclaimable: 0n,
    },
  };
}

/** The controllers whose directory names a cgroup's tasks, in order of preference. */
export const TASK_CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'pids', 'cpuset', 'blkio'] as const;

export class V1Cgroup implements ContainerCgroup {
  readonly key: string;
  readonly tasks: { dir: string; file: string };
  readonly procsFile: string;

  constructor(private readonly dirs: V1Dirs) {
    const any = TASK_CONTROLLERS.map((c) => dirs[c]).find((d) => d !== undefined) ?? '/';
    this.key = dirs.memory ?? any;
    this.tasks = { dir: any, file: 'tasks' };
    this.procsFile = `${dirs.memory ?? any}/cgroup.procs`;
  }

  memory(ctx: StatContext): MemoryView | undefined {
    const dir = this.dirs.memory;
    if (dir === undefined) return undefined;
    const stat = readParsed(ctx, dir, 'memory.stat', parseKeyValueRecord);
    const usage = readParsed(ctx, dir, 'memory.usage_in_bytes', parseSingleU64);
    if (stat === undefined || usage === undefined) return undefined;
    // total_swap is printed only with swap accounting (memory.memsw.* present).
    return memoryViewV1(stat, usage, stat.total_swap);
  }

  cpuLimits(ctx: StatContext): CpuLimits {
    const out: CpuLimits = {};
    const cpuset = this.dirs.cpuset;
    if (cpuset !== undefined) out.cpuset = readParsed(ctx, cpuset, 'cpuset.effective_cpus', parseCpuList);
    const cpu = this.dirs.cpu;
    if (cpu !== undefined) {
      out.quotaUs = readParsed(ctx, cpu, 'cpu.cfs_quota_us', parseCfsQuota);
      out.periodUs = readParsed(ctx, cpu, 'cpu.cfs_period_us', parseSingleU64);
    }
    return out;
  }

  cpuUsage(ctx: StatContext): CpuUsageView | undefined {
    const dir = this.dirs.cpuacct;
    if (dir === undefined) return undefined;
    return (
      readParsed(ctx, dir, 'cpuacct.usage_all', parseCpuacctUsageAll) ??
      readParsed(ctx, dir, 'cpuacct.stat', parseCpuacctStat)
    );
  }

  io(ctx: StatContext): BlkioDeviceStats[] | undefined {
    const dir = this.dirs.blkio;
    if (dir === undefined) return undefined;
    for (const [bytesFile, iosFile] of IO_SOURCES) {
      const bytes = readParsed(ctx, dir, bytesFile, parseBlkioRwstat) ?? NO_DEVICES;
      const devices = mergeBlkio(bytes, readParsed(ctx, dir, iosFile, parseBlkioRwstat) ?? NO_DEVICES);
      if (devices.length > 0) return devices;
    }
    return [];
  }
}
