/**
 * How a controller reader reads one file: through a reader (kept files, one-off reads, or the
 * collector's, which may answer from memory), parsed, with an error costing only that file's
 * values. Controller readers never throw.
 */
import type { StatReader } from '../kept-file.js';
import type { CgroupStats } from '../types.js';

export interface StatContext {
  reader: StatReader;
  /** Called with a ParseError (or an unexpected I/O error) for one file; the reader goes on. */
  onError(err: unknown): void;
}

/**
 * One controller reader: fills its part of `stats` (the key it names) from the cgroup at `where`
 * (a directory in v2, the v1 hierarchies' directories in v1), leaving it out when the
 * controller gives nothing.
 */
export interface ControllerReader<Where> {
  readonly part: keyof CgroupStats;
  read(ctx: StatContext, where: Where, stats: CgroupStats): void;
}

/** Runs `readers` in order over one cgroup: everything it tells. */
export function readCgroup<Where>(readers: readonly ControllerReader<Where>[], ctx: StatContext, where: Where): CgroupStats {
  const stats: CgroupStats = {};
  for (const r of readers) r.read(ctx, where, stats);
  return stats;
}

/**
 * Reads the file `name` in `dir` and parses it. Returns undefined when the file does not exist
 * (a kernel without that feature, a cgroup that just vanished) or the kernel has the feature
 * switched off, or when parsing failed (reported to onError). The result may be shared with
 * earlier reads of the same content: never change it.
 */
export function readParsed<T>(ctx: StatContext, dir: string, name: string, parse: (text: string, file: string) => T): T | undefined {
  const reader = ctx.reader;
  try {
    if (reader.parseAt) return reader.parseAt(dir, name, parse);
    const text = reader.readAt(dir, name);
    return text === undefined ? undefined : parse(text, `${dir}/${name}`);
  } catch (err) {
    if (!isNotSupported(err)) ctx.onError(err);
    return undefined;
  }
}

/**
 * What reading a file the kernel shows but does not serve gives: a pressure file when the kernel
 * booted with psi=0 (5.17+ hides the files instead). No data, as for a missing file.
 */
function isNotSupported(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === 'EOPNOTSUPP';
}

/** True when a stats object got at least one field (a controller with no files gives none). */
export function hasFields(o: object): boolean {
  for (const key in o) if (Object.hasOwn(o, key)) return true;
  return false;
}
