/** A container's cgroup on a unified (v2) host: one directory for every controller. */
import { readParsed, type StatContext } from '../../kernel/cgroup/read-file.js';
import type { CgroupStats } from '../../kernel/types.js';
import { parseCpuMax, parseCpuStatV2 } from '../../kernel/cgroup/v2/cpu.js';
import { statIo } from '../../kernel/cgroup/v2/io.js';
import { parseKeyValueRecord, parseSingleU64, parseU64OrMax } from '../../kernel/parse.js';
import type { BlkioDeviceStats } from '../../kernel/types.js';
import { parseCpuList, type CpuLimits } from '../cpus.js';
import type { MemoryView } from '../files/meminfo.js';
import type { CpuUsageView } from '../files/stat.js';
import type { ContainerCgroup } from './view.js';

const stat0 = (s: Record<string, bigint>, key: string): bigint => s[key] ?? 0n;

/** v2 memory.stat is hierarchical already; its keys are MemoryView's names. */
export function memoryViewV2(
  stat: Record<string, bigint>,
  usageBytes: bigint,
  limitBytes: bigint | null,
  swap: { limitBytes: bigint | null; usageBytes: bigint } | undefined,
): MemoryView {
  return {
    limitBytes,
    usageBytes,
    swapLimitBytes: swap?.limitBytes,
    swapUsageBytes: swap?.usageBytes ?? 0n,
    stat: {
      file: stat0(stat, 'file'),
      anon: stat0(stat, 'anon'),
      activeAnon: stat0(stat, 'active_anon'),
      inactiveAnon: stat0(stat, 'inactive_anon'),
      activeFile: stat0(stat, 'active_file'),
      inactiveFile: stat0(stat, 'inactive_file'),
      unevictable: stat0(stat, 'unevictable'),
      fileDirty: stat0(stat, 'file_dirty'),
      fileWriteback: stat0(stat, 'file_writeback'),
      fileMapped: stat0(stat, 'file_mapped'),
      shmem: stat0(stat, 'shmem'),
      anonThp: stat0(stat, 'anon_thp'),
      shmemThp: stat0(stat, 'shmem_thp'),
      slab: stat0(stat, 'slab'),
      slabReclaimable: stat0(stat, 'slab_reclaimable'),
      slabUnreclaimable: stat0(stat, 'slab_unreclaimable'),
    },
  };
}

export class V2Cgroup implements ContainerCgroup {
  readonly key: string;
  readonly tasks: { dir: string; file: string };
  readonly procsFile: string;

  /** `root` is the cgroup2 mountpoint: limits are looked up from `dir` up to (not including) it. */
  constructor(
    private readonly root: string,
    private readonly dir: string,
  ) {
    this.key = dir;
    this.tasks = { dir, file: 'cgroup.threads' };
    this.procsFile = `${dir}/cgroup.procs`;
  }

  /**
   * The lowest limit in `file` on the cgroup and its ancestors. undefined when the file is
   * absent on the cgroup itself (controller not enabled there, or no swap accounting).
   */
  private lowestLimit(ctx: StatContext, file: string): bigint | null | undefined {
    let lowest: bigint | null = null;
    for (let dir = this.dir; dir.length > this.root.length && dir.startsWith(this.root); dir = dir.slice(0, dir.lastIndexOf('/'))) {
      const limit = readParsed(ctx, dir, file, parseU64OrMax);
      if (limit === undefined) {
        if (dir === this.dir) return undefined;
        continue;
      }
      if (limit !== null && (lowest === null || limit < lowest)) lowest = limit;
    }
    return lowest;
  }

  memory(ctx: StatContext): MemoryView | undefined {
    const stat = readParsed(ctx, this.dir, 'memory.stat', parseKeyValueRecord);
    const usage = readParsed(ctx, this.dir, 'memory.current', parseSingleU64);
    if (stat === undefined || usage === undefined) return undefined;
    const swapLimit = this.lowestLimit(ctx, 'memory.swap.max');
    const swapUsage = readParsed(ctx, this.dir, 'memory.swap.current', parseSingleU64);
    const swap = swapLimit === undefined || swapUsage === undefined ? undefined : { limitBytes: swapLimit, usageBytes: swapUsage };
    return memoryViewV2(stat, usage, this.lowestLimit(ctx, 'memory.max') ?? null, swap);
  }

  cpuLimits(ctx: StatContext): CpuLimits {
    const out: CpuLimits = {};
    // cpuset.cpus.effective exists only where the cpuset controller is enabled.
    const cpuset = readParsed(ctx, this.dir, 'cpuset.cpus.effective', parseCpuList);
    if (cpuset !== undefined) out.cpuset = cpuset;
    const max = readParsed(ctx, this.dir, 'cpu.max', parseCpuMax);
    if (max) [out.quotaUs, out.periodUs] = max;
    return out;
  }

  cpuUsage(ctx: StatContext): CpuUsageView | undefined {
    const cpu = readParsed(ctx, this.dir, 'cpu.stat', parseCpuStatV2);
    if (cpu?.userNs === undefined || cpu.systemNs === undefined) return undefined;
    return { userNs: cpu.userNs, systemNs: cpu.systemNs };
  }

  io(ctx: StatContext): BlkioDeviceStats[] | undefined {
    const stats: CgroupStats = {};
    statIo(ctx, this.dir, stats);
    return stats.blkio?.devices;
  }
}
