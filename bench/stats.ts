/** Order statistics the benchmarks print. */

/** The element at rank ⌊q·n⌋ of `xs` sorted (the largest for q = 1); NaN for none. */
export function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

/** The element at rank ⌊n/2⌋ of `xs` sorted: the upper of the two middle ones for an even count. */
export const median = (xs: readonly number[]): number => quantile(xs, 0.5);
