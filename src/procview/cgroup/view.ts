/**
 * What procview needs from a container's cgroup, read at the instant a file is read. One
 * implementation per cgroup version (v1.ts, v2.ts), the same shape in both.
 */
import type { StatContext } from '../../kernel/cgroup/read-file.js';
import type { BlkioDeviceStats } from '../../kernel/types.js';
import type { CpuLimits } from '../cpus.js';
import type { MemoryView } from '../files/meminfo.js';
import type { CpuUsageView } from '../files/stat.js';

export interface ContainerCgroup {
  /** A directory that names the cgroup uniquely (the key for load averages and caches). */
  readonly key: string;
  memory(ctx: StatContext): MemoryView | undefined;
  cpuLimits(ctx: StatContext): CpuLimits;
  cpuUsage(ctx: StatContext): CpuUsageView | undefined;
  io(ctx: StatContext): BlkioDeviceStats[] | undefined;
  /** The directory whose subtree holds the container's tasks, and the file listing its threads. */
  readonly tasks: { dir: string; file: string };
  /** A file listing the cgroup's processes (to find the container's init). */
  readonly procsFile: string;
}
