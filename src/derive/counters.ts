/**
 * Exact arithmetic on u64 kernel counters, converting to float only for the final figure.
 */

/** cur − prev as a number, or undefined when the counter went backwards (restart, wrap). */
export function counterDelta(prev: bigint | undefined, cur: bigint | undefined): number | undefined {
  if (prev === undefined || cur === undefined || cur < prev) return undefined;
  // Equal counters (an idle container's) need no BigInt made for their difference.
  return cur === prev ? 0 : Number(cur - prev);
}

/** Per-second rate of a cumulative counter over `seconds`; undefined on reset or missing data. */
export function ratePerSecond(prev: bigint | undefined, cur: bigint | undefined, seconds: number): number | undefined {
  const d = counterDelta(prev, cur);
  return d === undefined || !(seconds > 0) ? undefined : d / seconds;
}

/**
 * A cumulative nanosecond CPU counter's rate in nanocores (CPU ns per second) over `intervalNs`,
 * truncated as Go's uint64 conversion does (cAdvisor's InstCpuStats); undefined when the counter
 * went backwards.
 */
export function nanoCores(prev: bigint, cur: bigint, intervalNs: number): bigint | undefined {
  return cur < prev ? undefined : BigInt(Math.trunc((Number(cur - prev) / intervalNs) * 1e9));
}

export function sumBig<T>(items: readonly T[], pick: (t: T) => bigint): bigint {
  let total = 0n;
  for (const item of items) total += pick(item);
  return total;
}
