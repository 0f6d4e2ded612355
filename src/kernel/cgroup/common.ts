/**
 * What every controller reader shares: a reader to get file contents, and an error sink so a
 * malformed file costs only the values it holds. Controller readers never throw.
 */
import { SETTINGS_EVERY_READS, type StatReader } from '../file.js';
import type { BlkioStats, CpuStats, MemoryStats, PidsStats, PressureStats } from '../types.js';

export interface StatContext {
  reader: StatReader;
  /** Called with a ParseError (or an unexpected I/O error) for one file; the reader goes on. */
  onError(err: unknown): void;
  /** What the host tells about the whole tick; absent: nothing is known, read everything. */
  tick?: TickFacts;
  /** Kept by the caller from one read of the cgroup to the next; absent: read everything. */
  activity?: Activity;
  /** Kept by the caller likewise; absent: every read builds its figures anew. */
  parts?: ReadParts;
}

/** The readers that build one part of CgroupStats each, and the whole. */
export type Built = keyof CgroupStats | 'stats';

/**
 * The parse results one read of a cgroup got, in the order its readers asked for them, against
 * those of the previous read. Parse results are handed out again, the same objects, while a
 * file's content is unchanged (KeptFiles.parseAt), so a reader all of whose parts are what
 * they were at the previous read would build figures equal to what it built then: it hands
 * that out again instead and builds nothing. An idle container's read then makes no garbage,
 * and the collector, derive and the history see at once that nothing moved.
 */
export class ReadParts {
  private readonly values: unknown[] = [];
  /** Parts taken in this read, and in the previous one. */
  private count = 0;
  private previousCount = 0;
  /** Position of the last part of this read that differs from the previous read's. */
  private lastChange = -1;
  private read = 0;
  /** What each reader built, at which read, from which parts (positions from, to). */
  private readonly built = new Map<Built, { read: number; from: number; to: number; value: unknown }>();

  /** Starts a read of the cgroup. */
  begin(): void {
    this.read++;
    this.previousCount = this.count;
    this.count = 0;
    this.lastChange = -1;
  }

  /** Notes the next part (a parse result, or undefined); returns it. */
  take<T>(value: T): T {
    const i = this.count++;
    if (i >= this.previousCount || this.values[i] !== value) {
      this.values[i] = value;
      this.lastChange = i;
    }
    return value;
  }

  /** Where this read stands: the parts a reader takes from here on are its own. */
  mark(): number {
    return this.count;
  }

  /**
   * Whether `reader` built at the previous read, from the parts at the same positions as the
   * ones it took since `from` in this read, and each of them is what it was then; if so, what
   * it built counts as built at this read too.
   */
  unchanged(reader: Built, from: number): boolean {
    if (this.lastChange >= from) return false;
    const b = this.built.get(reader);
    if (b === undefined || b.read !== this.read - 1 || b.from !== from || b.to !== this.count) return false;
    b.read = this.read;
    return true;
  }

  /** What `reader` built at its last read. */
  builtBy<T>(reader: Built): T {
    return this.built.get(reader)?.value as T;
  }

  /** Records what `reader` built at this read from the parts it took since `from` (undefined when nothing); returns it. */
  keep<T>(reader: Built, from: number, value: T): T {
    const b = this.built.get(reader);
    if (b === undefined) this.built.set(reader, { read: this.read, from, to: this.count, value });
    else (b.read = this.read), (b.from = from), (b.to = this.count), (b.value = value);
    return value;
  }
}

/** Where `ctx`'s read stands (ReadParts.mark); 0 without parts. */
export function partsMark(ctx: StatContext): number {
  return ctx.parts?.mark() ?? 0;
}

/**
 * When `reader` can hand out what it built at the previous read (ReadParts.unchanged), puts that
 * into `stats` and returns true; the reader then builds nothing.
 */
export function reused(ctx: StatContext, reader: keyof CgroupStats, from: number, stats: CgroupStats): boolean {
  if (!ctx.parts?.unchanged(reader, from)) return false;
  const same = ctx.parts.builtBy<CgroupStats[typeof reader]>(reader);
  if (same !== undefined) (stats as Record<string, unknown>)[reader] = same;
  return true;
}

/** What `reader` built at this read from the parts since `from`, undefined for nothing: put into `stats` and recorded. */
export function built<K extends keyof CgroupStats>(ctx: StatContext, reader: K, from: number, stats: CgroupStats, value: CgroupStats[K] | undefined): void {
  ctx.parts?.keep(reader, from, value);
  if (value !== undefined) stats[reader] = value;
}

/** Starts one read of a cgroup (every controller): returns the object its readers fill. */
export function beginRead(ctx: StatContext): CgroupStats {
  ctx.parts?.begin();
  return {};
}

/** Ends it: the previous read's object instead of `stats` when no part of this read differs. */
export function endRead(ctx: StatContext, stats: CgroupStats): CgroupStats {
  const parts = ctx.parts;
  if (!parts) return stats;
  return parts.unchanged('stats', 0) ? parts.builtBy<CgroupStats>('stats') : parts.keep('stats', 0, stats);
}

/**
 * Whether any CPU time was charged to the group since its previous read. A group that did not
 * run did not fork, exit or submit block I/O either (all happen in its tasks' context; on cgroup
 * v1 writeback is charged to the root), so those counters need not be re-read every tick.
 */
export interface Activity {
  /** CPU time at the previous read. */
  lastUsageNs?: bigint;
  /** Set by the CPU reader at each read. */
  idle: boolean;
  /**
   * Per pressure resource, set by the caller before each read: no task under the group's
   * parent stalled since the previous tick (the parent's "some" total did not move).
   */
  stallFree?: Readonly<Record<keyof PressureStats, boolean>>;
  /** Set by the pressure reader: the resources whose averages were all zero at the last read. */
  zeroAverages?: Set<keyof PressureStats>;
  /** Memory usage (v1 memory.usage_in_bytes, v2 memory.current) at the previous read. */
  lastMemoryUsage?: bigint;
}

/** The CPU reader records what it read; the readers after it ask `idleMaxAge`. */
export function noteCpuUsage(ctx: StatContext, usageNs: bigint | undefined): void {
  const a = ctx.activity;
  if (!a) return;
  a.idle = usageNs !== undefined && usageNs === a.lastUsageNs;
  a.lastUsageNs = usageNs;
}

/** maxAgeReads for counters that move only when the group runs. */
export function idleMaxAge(ctx: StatContext): number {
  return ctx.activity?.idle ? FROZEN_MAX_AGE_READS : 0;
}

/**
 * maxAgeReads for the memory high-water mark (v1 memory.max_usage_in_bytes, v2 memory.peak),
 * given the usage just read. The mark rises only when a charge takes usage above it, and a
 * group's memory is charged by its own tasks as they run. A group that did not run and whose
 * usage is what it was at the previous read has the same mark; the remote charges the kernel
 * makes for a group (a swapped-out page brought back by another process) are caught by the
 * usage having moved, or within FROZEN_MAX_AGE_READS reads. Records `usage` for the next read.
 */
export function watermarkMaxAge(ctx: StatContext, usage: bigint | undefined): number {
  const a = ctx.activity;
  if (!a) return 0;
  const unchanged = usage !== undefined && usage === a.lastMemoryUsage;
  a.lastMemoryUsage = usage;
  return a.idle && unchanged ? FROZEN_MAX_AGE_READS : 0;
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
 * Whether two reads of a cgroup hold the same figures: the same keys, present or undefined
 * alike, and equal values all the way down (CgroupStats holds only records, arrays, bigints,
 * numbers, strings and null). Parts a reader handed out again, unchanged, are the same object
 * and compare at once. node:util's isDeepStrictEqual answers the same, but it runs for every
 * container every tick and took 5.3 µs for an idle container's figures, against 1.3 µs here.
 */
export function sameStats(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameStats(a[i], b[i])) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let keys = 0;
  for (const key in x) {
    if (!Object.hasOwn(y, key) || !sameStats(x[key], y[key])) return false;
    keys++;
  }
  for (const _ in y) keys--;
  return keys === 0;
}

/**
 * Reads the file `name` in `dir` and parses it (content up to `maxAgeReads` reads old will do:
 * StatReader). Returns undefined when the file does not exist (a kernel without that feature,
 * a cgroup that just vanished) or when parsing failed (reported to onError). The result may be
 * the one an earlier tick got for the same content: callers never change it.
 */
export function readParsed<T>(ctx: StatContext, dir: string, name: string, parse: (text: string, file: string) => T, maxAgeReads = 0): T | undefined {
  const value = parsedOrUndefined(ctx, dir, name, parse, maxAgeReads);
  return ctx.parts ? ctx.parts.take(value) : value;
}

function parsedOrUndefined<T>(ctx: StatContext, dir: string, name: string, parse: (text: string, file: string) => T, maxAgeReads: number): T | undefined {
  const reader = ctx.reader;
  try {
    if (reader.parseAt) return reader.parseAt(dir, name, maxAgeReads, parse);
    const text = reader.readAt(dir, name, maxAgeReads);
    return text === undefined ? undefined : parse(text, `${dir}/${name}`);
  } catch (err) {
    ctx.onError(err);
    return undefined;
  }
}
