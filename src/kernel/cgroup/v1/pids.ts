/** cgroup v1 pids controller. */
import type { CgroupStats } from '../../types.js';
import type { StatContext } from '../read-file.js';
import { statPidsDir } from '../pids.js';
import type { V1Dirs } from './dirs.js';

export function statPids(ctx: StatContext, dirs: V1Dirs, stats: CgroupStats): void {
  if (dirs.pids !== undefined) statPidsDir(ctx, dirs.pids, stats);
}
