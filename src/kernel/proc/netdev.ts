/** /proc/<pid>/net/dev: per-interface counters of the network namespace the pid is in. */
import { ParseError } from '../errors.js';
import { parseLines, parseU64, splitFields, type LineMemo } from '../parse.js';
import type { NetInterfaceStats } from '../types.js';

/**
 * Two header lines, then "%6s:%8llu %7llu ..." per interface: 8 receive then 8 transmit
 * columns. A wide counter touches the colon ("eth0:189577303123"), so the name is everything
 * before the last ':' (counters never contain one) and the columns everything after. With a
 * memo, a line as it was at the previous read gives back that read's object.
 */
export function parseNetDev(text: string, file = '/proc/net/dev', memo?: LineMemo<NetInterfaceStats>): NetInterfaceStats[] {
  const lines = text.split('\n');
  if (lines.length < 2 || !lines[1].includes('|')) throw new ParseError(file, 'missing the two header lines');
  return parseLines(lines, 2, (line) => parseInterface(line, file), memo);
}

function parseInterface(line: string, file: string): NetInterfaceStats {
  const colon = line.lastIndexOf(':');
  const name = colon < 0 ? '' : line.slice(0, colon).trim();
  if (name === '') throw new ParseError(file, `expected "name: counters", got ${JSON.stringify(line)}`);
  const f = splitFields(line.slice(colon + 1));
  if (f.length !== 16) throw new ParseError(file, `expected 16 counters for ${name}, got ${f.length}`);
  return {
    name,
    rxBytes: parseU64(f[0], file),
    rxPackets: parseU64(f[1], file),
    rxErrors: parseU64(f[2], file),
    rxDropped: parseU64(f[3], file),
    txBytes: parseU64(f[8], file),
    txPackets: parseU64(f[9], file),
    txErrors: parseU64(f[10], file),
    txDropped: parseU64(f[11], file),
  };
}
