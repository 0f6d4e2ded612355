/**
 * Strict readers of query parameters shared by the API surfaces. `Date.parse` and `Number` are
 * too lenient for input from clients: `Date.parse('hello 1')` is 2001-01-01, `Date.parse('-1')`
 * too, `Number('0x10')` is 16 and `Number(' ')` is 0. What the real servers (dockerd, cAdvisor,
 * Go's strconv and time.Parse) refuse is refused here too.
 */

/** RFC 3339 (Go's time.RFC3339Nano): date, time, optional fraction, Z or a numeric offset. */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** Milliseconds since the epoch of an RFC 3339 time, or undefined when `text` is not one. */
export function parseRfc3339(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  // Date.parse rolls some impossible dates over (Feb 30 -> Mar 1): check the fields stay put.
  const probe = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (probe.getUTCFullYear() !== year || probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/** A decimal integer as Go's strconv.Atoi reads it (optional sign, digits, nothing else), or undefined. */
export function parseInteger(text: string): number | undefined {
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}
