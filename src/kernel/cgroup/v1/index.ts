/** Everything one cgroup v1 cgroup tells, controller by controller. */
import type { CgroupStats } from '../../types.js';
import { readCgroup, type ControllerReader, type StatContext } from '../read-file.js';
import { statPressure } from '../v2/pressure.js';
import { statBlkio } from './blkio.js';
import { statCpu } from './cpu.js';
import type { V1Dirs } from './dirs.js';
import { statMemory } from './memory.js';
import { statPids } from './pids.js';

/**
 * The v1 controller readers, in the order a cgroup is read. Pressure exists only in cgroup2, so
 * on a hybrid host it comes from the cgroup's own directory in the cgroup2 tree when it has one.
 */
export const V1_READERS: readonly ControllerReader<V1Dirs>[] = [
  { part: 'cpu', read: statCpu },
  { part: 'memory', read: statMemory },
  { part: 'blkio', read: statBlkio },
  { part: 'pids', read: statPids },
  { part: 'pressure', read: (ctx, dirs, stats) => dirs.unified !== undefined && statPressure(ctx, dirs.unified, stats) },
];

/** Reads one cgroup from its v1 directories. */
export function statCgroupV1(ctx: StatContext, dirs: V1Dirs): CgroupStats {
  return readCgroup(V1_READERS, ctx, dirs);
}
