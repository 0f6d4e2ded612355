/** Everything one cgroup v2 directory tells, controller by controller. */
import { beginRead, endRead, type CgroupStats, type StatContext } from '../common.js';
import { statCpu } from './cpu.js';
import { statIo } from './io.js';
import { statMemory } from './memory.js';
import { statPids } from './pids.js';
import { statPressure } from './pressure.js';

/** Reads one cgroup v2 directory. Controllers not enabled for it (no files) are left out. */
export function statCgroupV2(ctx: StatContext, dir: string): CgroupStats {
  const stats = beginRead(ctx);
  statCpu(ctx, dir, stats);
  statMemory(ctx, dir, stats);
  statIo(ctx, dir, stats);
  statPids(ctx, dir, stats);
  statPressure(ctx, dir, stats);
  return endRead(ctx, stats);
}
