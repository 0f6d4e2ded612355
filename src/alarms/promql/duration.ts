/** Prometheus' durations: one or more of <int><unit>, units y w d h m s ms (model.ParseDuration). */
const UNIT_MS: Record<string, number> = { y: 365 * 86_400_000, w: 7 * 86_400_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

export function parseGoDuration(text: string): number {
  const re = /(\d+)(ms|s|m|h|d|w|y)/gy;
  let total = 0;
  let at = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * UNIT_MS[m[2]];
    at = re.lastIndex;
  }
  if (at !== text.length || text === '') throw new Error(`not a valid duration string: ${JSON.stringify(text)}`);
  return total;
}
