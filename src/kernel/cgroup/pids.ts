/** pids controller: pids.current and pids.max read the same in v1 and v2 (kernel 4.3). */
import { parseSingleU64, parseU64OrMax } from '../parse.js';
import type { CgroupStats, PidsStats } from '../types.js';
import { readParsed, type StatContext } from './read-file.js';

/** Fills stats.pids from one pids directory; the root cgroup has neither file. */
export function statPidsDir(ctx: StatContext, dir: string, stats: CgroupStats): void {
  const current = readParsed(ctx, dir, 'pids.current', parseSingleU64);
  const limit = readParsed(ctx, dir, 'pids.max', parseU64OrMax);
  if (current === undefined && limit === undefined) return;
  const pids: PidsStats = {};
  if (current !== undefined) pids.current = current;
  if (limit !== undefined) pids.limit = limit;
  stats.pids = pids;
}
