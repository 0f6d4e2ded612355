/** cgroup v2 cpu controller: cpu.stat, cpu.max, cpu.weight. */
import { ParseError } from '../../errors.js';
import { parseI64, parseKeyValues, parseSingleU64, parseU64 } from '../../parse.js';
import type { CgroupStats, CpuStats } from '../../types.js';
import { readParsed, type StatContext } from '../read-file.js';

const US = 1000n;

/** cpu.max: "$QUOTA $PERIOD", QUOTA may be "max". Returns [quotaUs | null, periodUs]. */
export function parseCpuMax(text: string, file: string): [bigint | null, bigint] {
  const fields = text.trim().split(/\s+/);
  if (fields.length !== 2) throw new ParseError(file, `expected "quota period", got ${JSON.stringify(text.trim())}`);
  const quota = fields[0] === 'max' ? null : parseI64(fields[0], file);
  return [quota, parseU64(fields[1], file)];
}

/**
 * cpu.stat. usage_usec/user_usec/system_usec exist whenever the cgroup exists (even without the
 * cpu controller enabled); nr_periods, nr_throttled, throttled_usec only with the cpu
 * controller enabled in the parent's subtree_control.
 */
export function parseCpuStatV2(text: string, file: string): CpuStats {
  const kv = parseKeyValues(text, file);
  const usage = kv.get('usage_usec');
  if (usage === undefined) throw new ParseError(file, 'missing key "usage_usec"');
  const cpu: CpuStats = { usageNs: usage * US };
  const user = kv.get('user_usec');
  if (user !== undefined) cpu.userNs = user * US;
  const system = kv.get('system_usec');
  if (system !== undefined) cpu.systemNs = system * US;
  const periods = kv.get('nr_periods');
  if (periods !== undefined) cpu.periods = periods;
  const throttled = kv.get('nr_throttled');
  if (throttled !== undefined) cpu.throttledPeriods = throttled;
  const throttledUs = kv.get('throttled_usec');
  if (throttledUs !== undefined) cpu.throttledNs = throttledUs * US;
  return cpu;
}

export function statCpu(ctx: StatContext, dir: string, stats: CgroupStats): void {
  const stat = readParsed(ctx, dir, 'cpu.stat', parseCpuStatV2);
  if (!stat) return;
  const max = readParsed(ctx, dir, 'cpu.max', parseCpuMax);
  const weight = readParsed(ctx, dir, 'cpu.weight', parseSingleU64);
  // The parse may be shared with earlier reads of the same content, which earlier samples hold:
  // the settings go into a copy, so `docker update` on an idle container never rewrites its past.
  const cpu: CpuStats = { ...stat };
  if (max) [cpu.quotaUs, cpu.periodUs] = max;
  if (weight !== undefined) cpu.weight = weight;
  stats.cpu = cpu;
}
