/**
 * cgroup v1 cpu and cpuacct controllers. They are separate hierarchies that most distributions
 * co-mount ("cpu,cpuacct"), so the two directories may be the same or not.
 */
import { ParseError } from '../../errors.js';
import { parseI64, parseKeyValues, parseSingleU64, parseU64List } from '../../parse.js';
import { ticksToNs } from '../../proc/userhz.js';
import type { CgroupStats, CpuStats } from '../../types.js';
import { hasFields, readParsed, type StatContext } from '../read-file.js';
import type { V1Dirs } from './dirs.js';

/** cpuacct.stat: "user N\nsystem N" in USER_HZ ticks, converted to ns as Docker does. */
export function parseCpuacctStat(text: string, file: string): { userNs: bigint; systemNs: bigint } {
  const kv = parseKeyValues(text, file);
  const user = kv.get('user');
  const system = kv.get('system');
  if (user === undefined || system === undefined) throw new ParseError(file, 'expected "user" and "system" keys');
  return { userNs: ticksToNs(user), systemNs: ticksToNs(system) };
}

type Throttling = Pick<CpuStats, 'periods' | 'throttledPeriods' | 'throttledNs'>;

/** cpu.stat (v1): nr_periods, nr_throttled, throttled_time (ns); nr_bursts/burst_time (5.14) are not used. */
export function parseCpuStatV1(text: string, file: string): Throttling {
  const kv = parseKeyValues(text, file);
  const out: Throttling = {};
  const periods = kv.get('nr_periods');
  if (periods !== undefined) out.periods = periods;
  const throttled = kv.get('nr_throttled');
  if (throttled !== undefined) out.throttledPeriods = throttled;
  const throttledNs = kv.get('throttled_time');
  if (throttledNs !== undefined) out.throttledNs = throttledNs;
  return out;
}

/** cpu.cfs_quota_us: µs per period, -1 when no quota is set (→ null). */
export function parseCfsQuota(text: string, file: string): bigint | null {
  const quota = parseI64(text.trim(), file);
  return quota < 0n ? null : quota;
}

/** Sum of the per-CPU counters, by list: a reader that shares the parse of unchanged content sums it once. */
const totals = new WeakMap<bigint[], bigint>();
function totalOf(perCpuNs: bigint[]): bigint {
  let total = totals.get(perCpuNs);
  if (total === undefined) totals.set(perCpuNs, (total = perCpuNs.reduce((a, b) => a + b, 0n)));
  return total;
}

export function statCpu(ctx: StatContext, dirs: V1Dirs, stats: CgroupStats): void {
  const acct = dirs.cpuacct;
  let perCpuNs: bigint[] | undefined;
  let usageNs: bigint | undefined;
  let userSystem: ReturnType<typeof parseCpuacctStat> | undefined;
  if (acct !== undefined) {
    // One entry per *possible* CPU (cpu_possible_mask), which may exceed the online count.
    // cpuacct.usage is the sum of exactly these per-CPU counters (both walk the possible CPUs),
    // so the total is taken from here and one read per tick is saved; cpuacct.usage is read
    // only when the per-CPU file is missing or empty.
    perCpuNs = readParsed(ctx, acct, 'cpuacct.usage_percpu', parseU64List);
    usageNs = perCpuNs !== undefined && perCpuNs.length > 0 ? totalOf(perCpuNs) : readParsed(ctx, acct, 'cpuacct.usage', parseSingleU64);
    userSystem = readParsed(ctx, acct, 'cpuacct.stat', parseCpuacctStat);
  }
  const dir = dirs.cpu;
  let quotaUs: bigint | null | undefined;
  let periodUs: bigint | undefined;
  let shares: bigint | undefined;
  let throttling: Throttling | undefined;
  if (dir !== undefined) {
    quotaUs = readParsed(ctx, dir, 'cpu.cfs_quota_us', parseCfsQuota);
    periodUs = readParsed(ctx, dir, 'cpu.cfs_period_us', parseSingleU64);
    shares = readParsed(ctx, dir, 'cpu.shares', parseSingleU64);
    throttling = readParsed(ctx, dir, 'cpu.stat', parseCpuStatV1);
  }
  const cpu: CpuStats = {};
  if (perCpuNs !== undefined) cpu.perCpuNs = perCpuNs;
  if (usageNs !== undefined) cpu.usageNs = usageNs;
  if (userSystem !== undefined) Object.assign(cpu, userSystem);
  if (quotaUs !== undefined) cpu.quotaUs = quotaUs;
  if (periodUs !== undefined) cpu.periodUs = periodUs;
  if (shares !== undefined) cpu.shares = shares;
  if (throttling !== undefined) Object.assign(cpu, throttling);
  if (hasFields(cpu)) stats.cpu = cpu;
}
