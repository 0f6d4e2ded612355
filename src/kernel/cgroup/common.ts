/**
 * What every controller reader shares: a reader to get file contents, and an error sink so a
 * malformed file costs only the values it holds. Controller readers never throw.
 */
import { SETTINGS_EVERY_READS, type FileReader } from '../file.js';
import type { BlkioStats, CpuStats, MemoryStats, PidsStats, PressureStats } from '../types.js';

export interface StatContext {
  reader: FileReader;
  /** Called with a ParseError (or an unexpected I/O error) for one file; the reader goes on. */
  onError(err: unknown): void;
  /** What the host tells about the whole tick; absent: nothing is known, read everything. */
  tick?: TickFacts;
}

/** Host-wide facts of one tick that prove some container counters have not moved. */
export interface TickFacts {
  /** /proc/vmstat oom_kill is what it was at the previous tick: no OOM kill anywhere since. */
  noNewOomKills: boolean;
}

/**
 * How old (in reads) content may be for a counter the caller has shown to be frozen: it is
 * still re-read this often, as settings are.
 */
export const FROZEN_MAX_AGE_READS = SETTINGS_EVERY_READS;

/** Everything read from one cgroup in one tick. */
export interface CgroupStats {
  cpu?: CpuStats;
  memory?: MemoryStats;
  blkio?: BlkioStats;
  pids?: PidsStats;
  pressure?: PressureStats;
}

/**
 * Reads `path` and parses it (content up to `maxAgeReads` reads old will do: FileReader).
 * Returns undefined when the file does not exist (a kernel without
 * that feature, a cgroup that just vanished) or when parsing failed (reported to onError).
 */
export function readParsed<T>(ctx: StatContext, path: string, parse: (text: string, file: string) => T, maxAgeReads = 0): T | undefined {
  let text: string | undefined;
  try {
    text = ctx.reader.read(path, maxAgeReads);
  } catch (err) {
    ctx.onError(err);
    return undefined;
  }
  if (text === undefined) return undefined;
  try {
    return parse(text, path);
  } catch (err) {
    ctx.onError(err);
    return undefined;
  }
}
