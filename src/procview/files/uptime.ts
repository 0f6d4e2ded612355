/**
 * /proc/uptime for a container: seconds since its init process started, and idle time the way
 * the host counts it (summed over CPUs): the container's CPUs times its age, less the CPU time
 * it used. LXCFS (proc_uptime_read) subtracts the usage from the age alone, one CPU's worth.
 */
import { USER_HZ } from '../../kernel/proc/userhz.js';

export interface UptimeInput {
  /** Host uptime, seconds (first field of the host's /proc/uptime). */
  hostUptimeSec: number;
  /** Start of the container's init, USER_HZ ticks after boot (/proc/<pid>/stat field 22). */
  initStartTicks: bigint;
  /** CPU time used by the container's cgroup, ns. */
  usageNs: bigint;
  cpus: number;
}

export function renderUptime(u: UptimeInput): string {
  const up = Math.max(0, u.hostUptimeSec - Number(u.initStartTicks) / Number(USER_HZ));
  const idle = Math.max(0, up * u.cpus - Number(u.usageNs) / 1e9);
  return `${up.toFixed(2)} ${idle.toFixed(2)}\n`;
}
