/** Everything one cgroup v1 cgroup tells, controller by controller. */
import { beginRead, endRead, type CgroupStats, type StatContext } from '../common.js';
import { statPressure } from '../v2/pressure.js';
import { statBlkio } from './blkio.js';
import { statCpu } from './cpu.js';
import type { V1Dirs } from './dirs.js';
import { statMemory } from './memory.js';
import { statPids } from './pids.js';

/**
 * Reads one cgroup from its v1 directories. Pressure exists only in cgroup2, so on a hybrid
 * host it comes from the cgroup's own directory in the cgroup2 tree when it has one.
 */
export function statCgroupV1(ctx: StatContext, dirs: V1Dirs): CgroupStats {
  const stats = beginRead(ctx);
  statCpu(ctx, dirs, stats);
  statMemory(ctx, dirs, stats);
  statBlkio(ctx, dirs, stats);
  statPids(ctx, dirs, stats);
  if (dirs.unified !== undefined) statPressure(ctx, dirs.unified, stats);
  return endRead(ctx, stats);
}
