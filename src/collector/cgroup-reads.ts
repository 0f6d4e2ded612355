/**
 * How the collector reads one container's cgroup every tick, and when it need not ask the
 * kernel. The controller readers (kernel/cgroup/v1, v2) read and parse plainly; every read they
 * make goes through a CgroupReads, which decides:
 *
 * - Kept files: one descriptor per file, kept open between ticks (settings excepted, below).
 * - Parsed once per content: a file that reads the same as before (a kept file hands back the
 *   same string) gets the same parse result, the same object, again. Nobody changes a result.
 * - Settings (limits, shares, weights) change only when someone writes them, and every
 *   write(2), to cgroup files too, raises an inotify IN_MODIFY on the directory: a setting is
 *   read again at its next read after such an event, and otherwise every
 *   WATCHED_SETTINGS_EVERY_READS reads; where the directory cannot be watched (inotify watches
 *   used up), every SETTINGS_EVERY_READS reads. Settings are read through a descriptor that is
 *   not kept, which halves the descriptors per container.
 * - Frozen counters: a counter that the facts of this read prove has not moved is answered from
 *   memory, and read from the kernel again at least every FROZEN_MAX_AGE_READS reads (FROZEN
 *   below says which and why).
 * - Unchanged parts: a controller whose reader was given, at the previous read, exactly the
 *   parse results it gets now would build equal figures: it is not run, and the figures it built
 *   then (the same objects) stand. An idle container's read then makes no garbage, and the
 *   collector, derive and the history see at once that nothing moved.
 *
 * Any read that is not answered from memory goes to the kernel and refreshes what is
 * remembered, so an answer never goes back in time.
 */
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { KernelFile, type StatReader } from '../kernel/kept-file.js';
import { zeroAverages } from '../kernel/cgroup/v2/pressure.js';
import { OPTIONAL_FILES } from '../kernel/cgroup/optional-files.js';
import type { ControllerReader, StatContext } from '../kernel/cgroup/read-file.js';
import type { CgroupStats, Pressure, PressureStats } from '../kernel/types.js';
import type { QuietResources } from './stall-gate.js';

/** Settings: read again after inotify reports a write to them. */
const SETTINGS = new Set([
  'cpu.cfs_quota_us',
  'cpu.cfs_period_us',
  'cpu.shares',
  'memory.limit_in_bytes',
  'memory.memsw.limit_in_bytes',
  'cpu.max',
  'cpu.weight',
  'memory.max',
  'memory.swap.max',
  'pids.max',
]);
/** Reads between reads of a setting whose directory cannot be watched: every 10 s at the default interval. */
export const SETTINGS_EVERY_READS = 10;
/** The safety net under the inotify events of a watched directory: once a minute at 1 s. */
export const WATCHED_SETTINGS_EVERY_READS = 60;
/** How old (in reads) a counter proven frozen may be: it is still read this often, as settings are. */
export const FROZEN_MAX_AGE_READS = SETTINGS_EVERY_READS;

/**
 * The age of content that must be read again, whatever age is accepted. A small integer, not
 * Infinity: V8 keeps an integer field unboxed, where every change of a double field (age++ on
 * each remembered answer) allocates a new number.
 */
const MUST_REREAD = 0x3fff_ffff;

/** Host-wide facts of one tick that prove some container counters have not moved. */
export interface TickFacts {
  /** /proc/vmstat oom_kill is what it was at the previous tick: no OOM kill anywhere since. */
  noNewOomKills: boolean;
}

type Parser = (text: string, file: string) => unknown;

interface Entry {
  file: KernelFile;
  /** The other files of its directory (for the proofs that look at a sibling). */
  siblings: Map<string, Entry>;
  setting: boolean;
  /** A setting whose directory is watched for writes. */
  watched: boolean;
  /** When this counter may be answered from memory (FROZEN), or undefined: never. */
  frozen?: Proof;
  /** One of the files that count the group's CPU time. */
  cpuTime: boolean;
  /** Content of the last read from the kernel, and whether it differed from the one before. */
  text?: string;
  changed: boolean;
  /** Reads answered since `text` came from the kernel. */
  age: number;
  /** The cgroup read (CgroupReads.readNo) that last asked for it. */
  readNo: number;
  /** What `parser` made of `parsedText` at the last parse. */
  parser?: Parser;
  parsedText?: string;
  parsed?: unknown;
  /** The parser its controller reader used, and the result that reader was given, at the reader's last run. */
  readerParse?: Parser;
  given?: unknown;
}

/** Whether, in the read under way, `e`'s counter provably stands where it was. */
type Proof = (r: CgroupReads, e: Entry) => boolean;

/** Whether `e`'s content as last read parsed (then `e.parsed` is what it says). */
const parsedNow = (e: Entry): boolean => e.parser !== undefined && e.text !== undefined && e.parsedText === e.text;

/** The group ran no task since its previous read (its CPU time did not move). */
const groupIdle: Proof = (r) => r.idle;

/** The sibling file `name` was read in this read and parsed to null (no limit of the group's own). */
const siblingUnlimited =
  (name: string): Proof =>
  (r, e) => {
    const s = e.siblings.get(name);
    return s !== undefined && s.readNo === r.readNo && parsedNow(s) && s.parsed === null;
  };

/**
 * The memory high-water mark, given the usage file `usage`. The mark rises only when a charge
 * takes usage above it, and a group's memory is charged by its own tasks as they run. A group
 * that did not run and whose usage is what it was at the previous read has the same mark; the
 * remote charges the kernel makes for a group (a swapped-out page brought back by another
 * process) are caught by the usage having moved, or within FROZEN_MAX_AGE_READS reads.
 */
const watermark =
  (usage: string): Proof =>
  (r, e) => {
    const s = e.siblings.get(usage);
    return r.idle && s !== undefined && s.readNo === r.readNo && !s.changed && parsedNow(s);
  };

/**
 * A pressure file, when no task under the group's parent stalled since the previous tick and its
 * averages were all zero at the last read (nothing to decay): it would read the same.
 */
const stallFree =
  (resource: keyof PressureStats): Proof =>
  (r, e) =>
    r.stallFree?.[resource] === true && parsedNow(e) && zeroAverages(e.parsed as Pressure);

/** Counters of both versions that can be proven frozen. */
const FROZEN_BOTH: Record<string, Proof> = {
  // The group's task count moves only by its own forks and exits, which run in it.
  'pids.current': groupIdle,
  'cpu.pressure': stallFree('cpu'),
  'memory.pressure': stallFree('memory'),
  'io.pressure': stallFree('io'),
};

const FROZEN_V1: Record<string, Proof> = {
  ...FROZEN_BOTH,
  // User and system ticks are charged to the task running at a tick, whose runtime moves too.
  'cpuacct.stat': groupIdle,
  // v1 charges block I/O when its tasks submit it (writeback goes to the root group).
  'blkio.io_service_bytes_recursive': groupIdle,
  'blkio.io_serviced_recursive': groupIdle,
  'blkio.throttle.io_service_bytes': groupIdle,
  'blkio.throttle.io_serviced': groupIdle,
  // The group's period timer, which counts nr_periods and nr_throttled, runs only while it has a
  // quota of its own (a parent's quota throttles the parent's counters).
  'cpu.stat': siblingUnlimited('cpu.cfs_quota_us'),
  // failcnt counts charges that failed at this group's own limit: none without one.
  'memory.failcnt': siblingUnlimited('memory.limit_in_bytes'),
  // Every OOM kill, global or in a memory cgroup, also counts in /proc/vmstat oom_kill.
  'memory.oom_control': (r) => r.tick.noNewOomKills,
  'memory.max_usage_in_bytes': watermark('memory.usage_in_bytes'),
};

const FROZEN_V2: Record<string, Proof> = {
  ...FROZEN_BOTH,
  'memory.peak': watermark('memory.current'),
};

/** The files that count the group's CPU time: "idle" is their content standing still. */
const CPU_TIME_V1 = new Set(['cpuacct.usage_percpu', 'cpuacct.usage']);
const CPU_TIME_V2 = new Set(['cpu.stat']);

/** One container's cgroup files, read the collector's way; `close()` releases them. */
export class CgroupReads implements StatReader {
  /** By directory, then by file name. */
  private readonly dirs = new Map<string, Map<string, Entry>>();
  /** Directories holding settings, watched for writes; null where watching failed. */
  private readonly watchers = new Map<string, FSWatcher | null>();
  private readonly frozen: Record<string, Proof>;
  private readonly cpuTime: Set<string>;
  /**
   * The files each controller reader read at its last run, all readers one after the other:
   * reader i's are calls[partFrom[i]] up to calls[partTo[i]], at read partRead[i], and it built
   * partBuilt[i]. Flat arrays: a container keeps a few hundred bytes for them.
   */
  private readonly calls: Entry[] = [];
  private partFrom: number[] = [];
  private partTo: number[] = [];
  private partRead: number[] = [];
  private partBuilt: unknown[] = [];
  /** Where the running reader's next file goes in `calls`; -1 when no reader runs. */
  private recordAt = -1;
  private previous?: CgroupStats;
  private readonly ctx: StatContext;

  /** Counts reads of the cgroup; `reading` while one is under way. */
  readNo = 0;
  private reading = false;
  /** The group's CPU time did not move since its previous read (known once its CPU file was read). */
  idle = false;
  /** Per pressure resource: no task under the group's parent stalled since the previous tick (stall-gate.ts). */
  stallFree?: Readonly<QuietResources>;

  /**
   * `onAbsent` hears of a file the kernel lacks (OPTIONAL_FILES) at its first read; `watchDir`
   * is fs.watch, tests hand in one that fails as an exhausted inotify does.
   */
  constructor(
    version: 1 | 2,
    readonly tick: TickFacts,
    onError: (err: unknown) => void,
    private readonly onAbsent: (file: string, requirement: string) => void = () => {},
    private readonly watchDir: typeof watch = watch,
  ) {
    this.frozen = version === 1 ? FROZEN_V1 : FROZEN_V2;
    this.cpuTime = version === 1 ? CPU_TIME_V1 : CPU_TIME_V2;
    this.ctx = { reader: this, onError };
  }

  /**
   * Reads the cgroup at `where` with `readers` (V1_READERS or V2_READERS). The result is the
   * previous read's object when no part of it changed.
   */
  read<Where>(readers: readonly ControllerReader<Where>[], where: Where, stallFree?: Readonly<QuietResources>): CgroupStats {
    this.readNo++;
    this.idle = false;
    this.stallFree = stallFree;
    this.reading = true;
    try {
      return this.readParts(readers, where);
    } finally {
      this.reading = false;
    }
  }

  private readParts<Where>(readers: readonly ControllerReader<Where>[], where: Where): CgroupStats {
    if (this.partFrom.length !== readers.length) {
      this.partFrom = new Array<number>(readers.length).fill(-1);
      this.partTo = new Array<number>(readers.length).fill(-1);
      this.partRead = new Array<number>(readers.length).fill(-1);
      this.partBuilt = new Array<unknown>(readers.length).fill(undefined);
    }
    let unchanged = this.previous !== undefined;
    const stats: CgroupStats = {};
    let at = 0;
    for (let i = 0; i < readers.length; i++) {
      const part = readers[i].part;
      if (this.partRead[i] === this.readNo - 1 && this.partFrom[i] === at && this.sameAsBefore(at, this.partTo[i])) {
        if (this.partBuilt[i] !== undefined) (stats as Record<string, unknown>)[part] = this.partBuilt[i];
      } else {
        unchanged = false;
        this.partFrom[i] = this.recordAt = at;
        try {
          readers[i].read(this.ctx, where, stats);
          this.partTo[i] = this.recordAt;
        } finally {
          this.recordAt = -1;
        }
        this.partBuilt[i] = stats[part];
      }
      at = this.partTo[i];
      this.partRead[i] = this.readNo;
    }
    if (unchanged) return this.previous!;
    return (this.previous = stats);
  }

  /** Gives the files calls[from] to calls[to] their reads of now; true when each gives what its reader got last time. */
  private sameAsBefore(from: number, to: number): boolean {
    for (let i = from; i < to; i++) {
      const e = this.calls[i];
      let value: unknown;
      try {
        value = this.parseEntry(e, e.readerParse!);
      } catch (err) {
        // Reported here when it failed last time too; else by the reader, which runs now.
        if (e.given !== undefined) return false;
        this.ctx.onError(err);
      }
      if (value !== e.given) return false;
    }
    return true;
  }

  readAt(dir: string, name: string): string | undefined {
    return this.fetch(this.entry(dir, name));
  }

  parseAt<T>(dir: string, name: string, parse: (text: string, file: string) => T): T | undefined {
    const e = this.entry(dir, name);
    if (this.recordAt < 0) return this.parseEntry(e, parse) as T | undefined;
    this.calls[this.recordAt++] = e;
    e.readerParse = parse;
    e.given = undefined; // until the parse below succeeds
    const value = this.parseEntry(e, parse) as T | undefined;
    e.given = value;
    return value;
  }

  private parseEntry(e: Entry, parse: Parser): unknown {
    const text = this.fetch(e);
    if (text === undefined) return undefined;
    if (e.parser === parse && e.parsedText === text) return e.parsed;
    e.parser = undefined; // until the parse below succeeds
    const parsed = parse(text, e.file.path);
    e.parser = parse;
    e.parsedText = text;
    e.parsed = parsed;
    return parsed;
  }

  private entry(dir: string, name: string): Entry {
    let files = this.dirs.get(dir);
    if (!files) {
      files = new Map();
      this.dirs.set(dir, files);
    }
    let e = files.get(name);
    if (!e) {
      const setting = SETTINGS.has(name);
      e = {
        file: new KernelFile(`${dir}/${name}`),
        siblings: files,
        setting,
        watched: setting && this.watchSettings(dir, files),
        frozen: this.frozen[name],
        cpuTime: this.cpuTime.has(name),
        changed: false,
        age: MUST_REREAD,
        readNo: -1,
      };
      files.set(name, e);
    }
    return e;
  }

  /** The file's content for the read under way: from memory where allowed, else from the kernel. */
  private fetch(e: Entry): string | undefined {
    if (this.reading && e.readNo === this.readNo) return e.text; // asked for twice in one read
    const first = e.readNo < 0;
    e.readNo = this.readNo;
    const maxAge = e.setting ? (e.watched ? WATCHED_SETTINGS_EVERY_READS : SETTINGS_EVERY_READS) : e.frozen?.(this, e) ? FROZEN_MAX_AGE_READS : 0;
    if (e.age < maxAge) {
      e.age++;
      e.changed = false;
      return e.text;
    }
    const text = e.file.read();
    if (e.setting) e.file.close();
    e.changed = text !== e.text;
    e.text = text;
    e.age = 1;
    if (e.cpuTime) this.idle = !e.changed && text !== undefined;
    if (first && text === undefined) this.noteAbsent(e);
    return text;
  }

  /** A file missing at its first read: a missing feature when its evidence is there. */
  private noteAbsent(e: Entry): void {
    const path = e.file.path;
    const slash = path.lastIndexOf('/');
    const optional = OPTIONAL_FILES[path.slice(slash + 1)];
    if (optional && existsSync(`${path.slice(0, slash)}/${optional.evidence}`)) this.onAbsent(path, optional.requirement);
  }

  /** Watches `dir` (once) so a write to one of its settings makes the next read go to the kernel; false when it cannot be watched. */
  private watchSettings(dir: string, files: Map<string, Entry>): boolean {
    const known = this.watchers.get(dir);
    if (known !== undefined) return known !== null;
    let w: FSWatcher;
    try {
      w = this.watchDir(dir, { persistent: false }, (_event, name) => {
        const e = name === null ? undefined : files.get(name);
        if (e?.setting) e.age = MUST_REREAD;
      });
    } catch {
      this.watchers.set(dir, null);
      return false;
    }
    // The watch ends with the directory (the cgroup was removed) or an inotify error: back to the short period.
    w.on('error', () => {
      w.close();
      this.watchers.set(dir, null);
      for (const e of files.values()) if (e.watched) (e.watched = false), (e.age = MUST_REREAD);
    });
    this.watchers.set(dir, w);
    return true;
  }

  /** The settings are read again at their next read (someone just changed them, say). */
  rereadSettings(): void {
    for (const files of this.dirs.values()) for (const e of files.values()) if (e.setting) e.age = MUST_REREAD;
  }

  /**
   * Closes and forgets the files kept in `dir`: a directory that will not be read again (the
   * network namespace's `/proc/<pid>/net` of a process that was replaced by a restart), whose
   * descriptors would otherwise stay open for as long as the container runs.
   */
  forget(dir: string): void {
    const files = this.dirs.get(dir);
    if (!files) return;
    for (const e of files.values()) e.file.close();
    this.dirs.delete(dir);
    this.watchers.get(dir)?.close();
    this.watchers.delete(dir);
  }

  close(): void {
    for (const files of this.dirs.values()) for (const e of files.values()) e.file.close();
    this.dirs.clear();
    for (const w of this.watchers.values()) w?.close();
    this.watchers.clear();
    this.calls.length = 0;
    this.partFrom = [];
    this.previous = undefined;
  }
}
