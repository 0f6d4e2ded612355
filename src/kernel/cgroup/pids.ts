/** pids controller: pids.current and pids.max read the same in v1 and v2 (kernel 4.3). */
import { parseSingleU64, parseU64OrMax } from '../parse.js';
import type { PidsStats } from '../types.js';
import { built, idleMaxAge, partsMark, readParsed, reused, type CgroupStats, type StatContext } from './common.js';

/** Fills stats.pids from one pids directory; the root cgroup has neither file. */
export function statPidsDir(ctx: StatContext, dir: string, stats: CgroupStats): void {
  const from = partsMark(ctx);
  const current = readParsed(ctx, dir, 'pids.current', parseSingleU64, idleMaxAge(ctx));
  const limit = readParsed(ctx, dir, 'pids.max', parseU64OrMax);
  if (reused(ctx, 'pids', from, stats)) return;
  if (current === undefined && limit === undefined) return built(ctx, 'pids', from, stats, undefined);
  const pids: PidsStats = {};
  if (current !== undefined) pids.current = current;
  if (limit !== undefined) pids.limit = limit;
  built(ctx, 'pids', from, stats, pids);
}
