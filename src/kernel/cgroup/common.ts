/**
 * What every controller reader shares: a reader to get file contents, and an error sink so a
 * malformed file costs only the values it holds. Controller readers never throw.
 */
import type { FileReader } from '../file.js';
import type { BlkioStats, CpuStats, MemoryStats, PidsStats, PressureStats } from '../types.js';

export interface StatContext {
  reader: FileReader;
  /** Called with a ParseError (or an unexpected I/O error) for one file; the reader goes on. */
  onError(err: unknown): void;
}

/** Everything read from one cgroup in one tick. */
export interface CgroupStats {
  cpu?: CpuStats;
  memory?: MemoryStats;
  blkio?: BlkioStats;
  pids?: PidsStats;
  pressure?: PressureStats;
}

/**
 * Reads `path` and parses it. Returns undefined when the file does not exist (a kernel without
 * that feature, a cgroup that just vanished) or when parsing failed (reported to onError).
 */
export function readParsed<T>(ctx: StatContext, path: string, parse: (text: string, file: string) => T): T | undefined {
  let text: string | undefined;
  try {
    text = ctx.reader.read(path);
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
