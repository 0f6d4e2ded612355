/**
 * Values as Go's encoding/json writes them, for the shapes of programs written in Go (the Docker
 * Engine, cAdvisor, kubelet) that clients parse or show as given.
 */

/** Go's zero time.Time, which Docker writes for "never" (a container that never stopped). */
export const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/** time.Time as Go marshals it (RFC 3339 with nanoseconds, trailing zeros trimmed), UTC. */
export function goTime(ms: number | undefined): string {
  if (ms === undefined) return GO_ZERO_TIME;
  return new Date(ms).toISOString().replace(/\.?0+Z$/, 'Z');
}

/** A map as Go marshals it: keys in byte order. */
export function goMap<T>(map: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
