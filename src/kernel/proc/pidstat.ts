/** /proc/<pid>/stat (proc(5)): one line of space-separated fields. */
import { ParseError } from '../errors.js';
import { parseU64, parseUint } from '../parse.js';

export interface PidStat {
  pid: number;
  /** Executable name, at most 15 bytes, as the process set it (may hold spaces and ')'). */
  comm: string;
  /** One letter: R running, S sleeping, D disk sleep, Z zombie, T stopped, t, X, I idle, ... */
  state: string;
  ppid: number;
  /** CPU time in user mode, USER_HZ ticks. */
  utimeTicks: bigint;
  /** CPU time in kernel mode, USER_HZ ticks. */
  stimeTicks: bigint;
  numThreads: bigint;
  /** Start time after boot, USER_HZ ticks: with the pid, it identifies a process across pid reuse. */
  startTimeTicks: bigint;
  vsizeBytes: bigint;
  /** Resident set size, pages. */
  rssPages: bigint;
}

/**
 * comm sits between the first '(' and the LAST ')' because a process may name itself
 * "a) R (b"; every field after it is free of spaces. Field n of proc(5) (1-based) is
 * rest[n - 3] where rest is what follows ") ".
 */
export function parsePidStat(text: string, file = '/proc/self/stat'): PidStat {
  const open = text.indexOf(' (');
  const close = text.lastIndexOf(')');
  if (open <= 0 || close < open) throw new ParseError(file, 'no "(comm)" field');
  const rest = text.slice(close + 2).trimEnd().split(' ');
  if (rest.length < 22) throw new ParseError(file, `expected at least 24 fields, got ${rest.length + 2}`);
  if (rest[0].length !== 1) throw new ParseError(file, `bad state ${JSON.stringify(rest[0])}`);
  return {
    pid: parseUint(text.slice(0, open), file),
    comm: text.slice(open + 2, close),
    state: rest[0],
    ppid: parseUint(rest[1], file),
    utimeTicks: parseU64(rest[11], file),
    stimeTicks: parseU64(rest[12], file),
    numThreads: parseU64(rest[17], file),
    startTimeTicks: parseU64(rest[19], file),
    vsizeBytes: parseU64(rest[20], file),
    rssPages: parseU64(rest[21], file),
  };
}
