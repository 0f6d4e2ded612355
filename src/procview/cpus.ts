/**
 * Which CPUs a container sees: the online CPUs of its cpuset, under their host numbers, and
 * (unless turned off) no more of them than its CFS quota can keep busy, ceil(quota / period):
 * the first ones of the cpuset. Every CPU shown is one the container may pin itself to.
 */
import { ParseError } from '../kernel/errors.js';

/** A kernel CPU list ("0-3,8,10-11", as in cpuset.cpus and /sys/devices/system/cpu/online). */
export function parseCpuList(text: string, file: string): number[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const out: number[] = [];
  for (const part of trimmed.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new ParseError(file, `not a CPU list: ${JSON.stringify(trimmed)}`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from || to - from > 65536) throw new ParseError(file, `bad CPU range ${JSON.stringify(part)}`);
    for (let c = from; c <= to; c++) out.push(c);
  }
  return out;
}

/** The inverse of parseCpuList for a sorted list: [0,1,2,5] → "0-2,5". */
export function formatCpuList(cpus: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < cpus.length; ) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j] + 1) j++;
    parts.push(i === j ? `${cpus[i]}` : `${cpus[i]}-${cpus[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

export interface CpuLimits {
  /** The cgroup's effective cpuset; undefined when it has none (no cpuset controller). */
  cpuset?: number[];
  /** CFS quota per period, µs; null or undefined = no quota. */
  quotaUs?: bigint | null;
  periodUs?: bigint;
}

/**
 * The host CPUs shown to the container, in order; their index is the CPU number it sees.
 * Only online CPUs count: a cpuset may name CPUs that are offline.
 */
export function visibleCpus(online: readonly number[], limits: CpuLimits, cfsCpus: boolean): number[] {
  const allowed = limits.cpuset ? new Set(limits.cpuset) : undefined;
  let cpus = allowed ? online.filter((c) => allowed.has(c)) : [...online];
  if (cpus.length === 0) cpus = [...online];
  const { quotaUs, periodUs } = limits;
  if (cfsCpus && quotaUs != null && periodUs !== undefined && periodUs > 0n) {
    const n = Number((quotaUs + periodUs - 1n) / periodUs);
    if (n >= 1 && n < cpus.length) cpus = cpus.slice(0, n);
  }
  return cpus;
}
