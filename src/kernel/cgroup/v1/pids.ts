/** cgroup v1 pids controller. */
import { type CgroupStats, type StatContext } from '../common.js';
import { statPidsDir } from '../pids.js';
import type { V1Dirs } from './dirs.js';

export function statPids(ctx: StatContext, dirs: V1Dirs, stats: CgroupStats): void {
  if (dirs.pids !== undefined) statPidsDir(ctx, dirs.pids, stats);
}
