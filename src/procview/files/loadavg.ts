/**
 * /proc/loadavg for a container. The kernel keeps no per-cgroup load average, so it is computed
 * here exactly as the kernel computes the global one (kernel/sched/loadavg.c): every 5 seconds,
 * fold the number of runnable plus uninterruptible tasks into three fixed-point exponential
 * averages (1, 5 and 15 minutes).
 */

const FSHIFT = 11;
const FIXED_1 = 1 << FSHIFT;
/** 1/exp(5s/1min), 1/exp(5s/5min), 1/exp(5s/15min) in fixed point. */
const EXP = [1884, 2014, 2037] as const;
export const LOAD_FREQ_MS = 5000;

export type Avenrun = [number, number, number];

/** calc_load(): one 5-second step of one average; `active` is a task count. */
function calcLoad(load: number, exp: number, active: number): number {
  const a = active * FIXED_1;
  let next = load * exp + a * (FIXED_1 - exp);
  if (a >= load) next += FIXED_1 - 1;
  return Math.floor(next / FIXED_1);
}

export function foldLoad(avenrun: Readonly<Avenrun>, active: number): Avenrun {
  return [calcLoad(avenrun[0], EXP[0], active), calcLoad(avenrun[1], EXP[1], active), calcLoad(avenrun[2], EXP[2], active)];
}

/** Where every average starts: the kernel's at boot, a cgroup's at its creation. */
export const NO_LOAD: Readonly<Avenrun> = [0, 0, 0];

/** The kernel's "%lu.%02lu" with its rounding offset (get_avenrun(..., FIXED_1/200, ...)). */
function formatLoad(x: number): string {
  const v = x + FIXED_1 / 200;
  const int = Math.floor(v / FIXED_1);
  const frac = Math.floor(((v % FIXED_1) * 100) / FIXED_1);
  return `${int}.${String(frac).padStart(2, '0')}`;
}

export interface TaskCounts {
  /** Tasks in state R. */
  running: number;
  /** Tasks in state D (they count towards the load, as in the kernel). */
  uninterruptible: number;
  total: number;
}

export function renderLoadavg(avenrun: Readonly<Avenrun>, tasks: TaskCounts, lastPid: number): string {
  return `${avenrun.map(formatLoad).join(' ')} ${tasks.running}/${tasks.total} ${lastPid}\n`;
}
