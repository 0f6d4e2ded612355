/** Small sysfs formats: cache sizes ("32K"), the block scheduler list, node meminfo. */

/** /sys/devices/system/cpu/cpuN/cache/indexM/size: "32K", "1024K", "16M" → bytes. */
export function parseCacheSize(text: string): number | undefined {
  const m = /^(\d+)([KMG]?)$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2] as '' | 'K' | 'M' | 'G'];
}

/** /sys/block/X/queue/scheduler: "none [mq-deadline] kyber" → the bracketed one; "none" when none is (as cAdvisor). */
export function parseScheduler(text: string): string {
  return /\[([^\]]*)\]/.exec(text)?.[1] ?? 'none';
}

/** /sys/devices/system/node/nodeN/meminfo "Node 0 MemTotal:  24683748 kB" → bytes. */
export function parseNodeMemTotal(text: string): bigint | undefined {
  const m = /^Node \d+ MemTotal:\s+(\d+) kB$/m.exec(text);
  return m ? BigInt(m[1]) * 1024n : undefined;
}
