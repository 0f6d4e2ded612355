/**
 * /proc/stat for a container: one line per visible CPU built from the cgroup's CPU time, idle
 * being the rest of that CPU's elapsed time, so top and mpstat show the container's own
 * utilisation; procs_running and procs_blocked count the container's tasks in state R and D
 * (as vmstat's r and b columns read them). Other lines (intr, ctxt, btime, processes) are the
 * host's: the kernel keeps no per-cgroup figure for them.
 *
 * Each line carries the host CPU's own number (cpu1 alone for a cpuset of CPU 1), as cpuinfo and
 * the online list do (see cpuinfo.ts), so that a program pinning itself to them can. With per-CPU
 * figures (v1 cpuacct.usage_all) and no CPUs hidden by the quota, each line is that CPU's own
 * time. Otherwise (v2, whose cpu.stat has no per-CPU split, or a quota
 * narrower than the cpuset) the container's time is spread evenly over its visible CPUs: a
 * container at its 0.5-CPU quota then shows one CPU 50 % busy.
 */
import { parseU64, splitFields } from '../../kernel/parse.js';
import { USER_HZ } from '../../kernel/proc/userhz.js';
import type { TaskCounts } from './loadavg.js';

export interface CpuTimeNs {
  userNs: bigint;
  systemNs: bigint;
}

export interface CpuUsageView extends CpuTimeNs {
  /** Per host CPU (v1 cpuacct.usage_all); undefined where the kernel gives no split (v2). */
  perCpu?: Map<number, CpuTimeNs>;
}

const NS_PER_TICK = 1_000_000_000n / USER_HZ;
const ticks = (ns: bigint): bigint => ns / NS_PER_TICK;
const sub0 = (a: bigint, b: bigint): bigint => (a > b ? a - b : 0n);

/** Elapsed ticks of each host CPU: every column of its line except guest time, which user already counts. */
function hostCpuTotals(host: string): Map<number, bigint> {
  const out = new Map<number, bigint>();
  for (const line of host.split('\n')) {
    if (!line.startsWith('cpu') || line.startsWith('cpu ')) continue;
    const f = splitFields(line);
    const cpu = Number(f[0].slice(3));
    let total = 0n;
    for (let i = 1; i <= 8 && i < f.length; i++) total += parseU64(f[i], '/proc/stat');
    out.set(cpu, total);
  }
  return out;
}

function cpuLine(name: string, user: bigint, system: bigint, idle: bigint): string {
  return `${name} ${user} 0 ${system} ${idle} 0 0 0 0 0 0`;
}

/**
 * `cpuset` is every online CPU the container may run on; `visible` its first CPUs that it is
 * shown (fewer when the CFS quota limits it).
 */
export function renderStat(host: string, cpuset: readonly number[], visible: readonly number[], usage: CpuUsageView, tasks?: TaskCounts): string {
  const totals = hostCpuTotals(host);
  const lines: [bigint, bigint, bigint][] = [];
  const perCpu = usage.perCpu;
  if (perCpu && visible.length === cpuset.length) {
    for (const cpu of visible) {
      const t = perCpu.get(cpu) ?? { userNs: 0n, systemNs: 0n };
      const user = ticks(t.userNs);
      const system = ticks(t.systemNs);
      lines.push([user, system, sub0(totals.get(cpu) ?? 0n, user + system)]);
    }
  } else {
    const n = BigInt(visible.length);
    let elapsed = 0n;
    for (const cpu of cpuset) elapsed += totals.get(cpu) ?? 0n;
    elapsed /= BigInt(Math.max(cpuset.length, 1));
    const user = ticks(usage.userNs) / n;
    const system = ticks(usage.systemNs) / n;
    for (let i = 0; i < visible.length; i++) lines.push([user, system, sub0(elapsed, user + system)]);
  }
  const sum = lines.reduce((a, l) => [a[0] + l[0], a[1] + l[1], a[2] + l[2]], [0n, 0n, 0n]);
  const out = [cpuLine('cpu ', ...sum), ...lines.map((l, i) => cpuLine(`cpu${visible[i]}`, ...l))];
  for (const line of host.split('\n')) {
    if (line === '' || line.startsWith('cpu')) continue;
    if (tasks && line.startsWith('procs_running ')) out.push(`procs_running ${tasks.running}`);
    else if (tasks && line.startsWith('procs_blocked ')) out.push(`procs_blocked ${tasks.uninterruptible}`);
    else out.push(line);
  }
  return `${out.join('\n')}\n`;
}
