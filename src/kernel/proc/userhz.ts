/**
 * USER_HZ: the unit of every "ticks" figure the kernel exports to user space (/proc/stat,
 * /proc/<pid>/stat, cgroup v1 cpuacct.stat). It is part of the ABI and fixed at 100 on every
 * Linux architecture still supported, whatever CONFIG_HZ the kernel was built with (the kernel
 * converts with jiffies_64_to_clock_t). `getconf CLK_TCK` prints it. Docker and containerd
 * hard-code the same constant.
 */
export const USER_HZ = 100n;

const NS_PER_TICK = 1_000_000_000n / USER_HZ;

/** USER_HZ ticks → nanoseconds. */
export function ticksToNs(ticks: bigint): bigint {
  return ticks * NS_PER_TICK;
}
