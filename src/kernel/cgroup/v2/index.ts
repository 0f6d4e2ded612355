/** Everything one cgroup v2 directory tells, controller by controller. */
import type { CgroupStats } from '../../types.js';
import { readCgroup, type ControllerReader, type StatContext } from '../read-file.js';
import { statCpu } from './cpu.js';
import { statIo } from './io.js';
import { statMemory } from './memory.js';
import { statPids } from './pids.js';
import { statPressure } from './pressure.js';

/** The v2 controller readers, in the order a cgroup is read. */
export const V2_READERS: readonly ControllerReader<string>[] = [
  { part: 'cpu', read: statCpu },
  { part: 'memory', read: statMemory },
  { part: 'blkio', read: statIo },
  { part: 'pids', read: statPids },
  { part: 'pressure', read: statPressure },
];

/** Reads one cgroup v2 directory. Controllers not enabled for it (no files) are left out. */
export function statCgroupV2(ctx: StatContext, dir: string): CgroupStats {
  return readCgroup(V2_READERS, ctx, dir);
}
