/**
 * Reading kernel files the cheap way: open once, keep the descriptor, and re-read from offset 0
 * every tick (cgroup and proc files regenerate their content on each read at offset 0). This
 * halves the syscalls compared with open/read/close and is what keeps the per-sample cost low.
 * No policy here: which reads may be answered from memory is the collector's to decide
 * (collector/cgroup-reads.ts).
 */
import { closeSync, openSync, readFileSync, readSync, constants } from 'node:fs';

/** The errors that mean "this file, or the thing it describes, is not there (any more)". */
const GONE = new Set(['ENOENT', 'ENODEV', 'ESRCH', 'ENOTDIR', 'EINVAL', 'ENXIO']);

export function isGone(err: unknown): boolean {
  return typeof err === 'object' && err !== null && GONE.has((err as NodeJS.ErrnoException).code ?? '');
}

let shared = Buffer.allocUnsafeSlow(64 * 1024);
/** The shared buffer as 32-bit words (it starts its own ArrayBuffer), for comparing reads. */
let sharedWords = new Uint32Array(shared.buffer);

/**
 * Whether the first `n` bytes of the shared buffer are those of `bytes` (`words` its words view),
 * a word at a time. Buffer#compare with offsets makes an arguments object per call (44 bytes),
 * and it ran for nearly every file read.
 */
function sameAsShared(bytes: Buffer, words: Uint32Array, n: number): boolean {
  const whole = n >>> 2;
  for (let i = 0; i < whole; i++) if (words[i] !== sharedWords[i]) return false;
  for (let i = whole << 2; i < n; i++) if (bytes[i] !== shared[i]) return false;
  return true;
}

/**
 * Below this many bytes a short read is the end of the file. A seq_file (cgroup and /proc
 * files) hands out its content in chunks of at most a page, ending a chunk only when the next
 * record does not fit in what is left of the page; records of cgroup and proc files are lines
 * far shorter than half a page, so a chunk shorter than half a page is the last one. Saves a
 * second read(2) per file per tick. Regular files return everything that was asked for.
 */
const SHORT_READ_IS_EOF_BELOW = 2048;

/**
 * Reads a whole file from offset 0 through an already-open descriptor. `fullRead` reads until
 * read(2) returns 0, for files whose records may be long (mountinfo).
 */
export function preadAll(fd: number, fullRead = false): string {
  return shared.toString('latin1', 0, preadShared(fd, fullRead));
}

/** The same into the shared buffer, for callers that look at the bytes first; returns their count. */
function preadShared(fd: number, fullRead: boolean): number {
  let total = 0;
  for (;;) {
    const room = shared.length - total;
    const n = readSync(fd, shared, total, room, total);
    total += n;
    if (n === 0 || (!fullRead && n < room && total < SHORT_READ_IS_EOF_BELOW)) break;
    if (total === shared.length) {
      const bigger = Buffer.allocUnsafeSlow(shared.length * 2);
      shared.copy(bigger, 0, 0, total);
      shared = bigger;
      sharedWords = new Uint32Array(shared.buffer);
    }
  }
  return total;
}

/** Reads between retries of a file that did not exist (a failed open costs ~27 µs). */
const MISSING_RETRY_READS = 30;

/**
 * How many descriptors may be kept open at once: three quarters of the soft RLIMIT_NOFILE, so
 * sockets, the Docker connection and one-off reads always find one. Past it, files are read
 * with open/read/close: slower, never missing. 1000 containers keep about 20 000 files open.
 */
function keptBudget(): number {
  const limits = readFileSync('/proc/self/limits', 'latin1');
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
  const soft = !m || m[1] === 'unlimited' ? 1 << 20 : Number(m[1]);
  return Math.max(64, Math.floor(soft * 0.75));
}

/** Descriptors kept open now, and how many may be (worked out at the first open, not at import). */
export const fdBudget = {
  kept: 0,
  /** -1 until the first open asks. */
  max: -1,
  limit(): number {
    if (this.max < 0) this.max = keptBudget();
    return this.max;
  },
};

/** One kernel file kept open between reads. `read()` returns undefined when it does not exist. */
export class KernelFile {
  private fd = -1;
  /** Reads left before opening a missing file is tried again. */
  private skipReads = 0;
  /**
   * What the last read through the kept descriptor returned, bytes and text: the same bytes
   * again (most counters of an idle container) give back the same string, with no new one made.
   */
  private lastBytes?: Buffer;
  private lastWords?: Uint32Array;
  private lastLength = -1;
  private lastText = '';

  constructor(
    readonly path: string,
    private readonly fullRead = false,
  ) {}

  read(): string | undefined {
    if (this.fd < 0) {
      if (this.skipReads > 0) {
        this.skipReads--;
        return undefined;
      }
      let fd: number;
      try {
        fd = openSync(this.path, constants.O_RDONLY);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // Files a kernel lacks (memory.peak before 5.19, memsw without swap accounting) stay
        // missing, and a file we may not read stays so: try again only now and then. Only the
        // first is "no such file"; EACCES is an error for the caller to report.
        if (isGone(err) || code === 'EACCES') this.skipReads = MISSING_RETRY_READS;
        if (isGone(err)) return undefined;
        // Out of descriptors all the same (another part of the process took them): keep fewer.
        if (code === 'EMFILE' || code === 'ENFILE') fdBudget.max = Math.max(64, fdBudget.kept - 64);
        throw err;
      }
      if (fdBudget.kept >= fdBudget.limit()) return this.readOnce(fd);
      this.fd = fd;
      fdBudget.kept++;
    }
    try {
      return this.decode(preadShared(this.fd, this.fullRead));
    } catch (err) {
      // The cgroup was removed under us: the descriptor now answers ENODEV. Reopen next time.
      this.close();
      if (isGone(err)) return undefined;
      throw err;
    }
  }

  /** The `n` bytes at the start of the shared buffer as text: the last read's string when they are the same. */
  private decode(n: number): string {
    let last = this.lastBytes;
    if (n === this.lastLength && last !== undefined && sameAsShared(last, this.lastWords!, n)) return this.lastText;
    if (last === undefined || last.length < n) {
      // Its own ArrayBuffer, so that it starts on a word boundary; a whole number of words.
      last = this.lastBytes = Buffer.allocUnsafeSlow((Math.max(n, 32) + 3) & ~3);
      this.lastWords = new Uint32Array(last.buffer);
    }
    shared.copy(last, 0, 0, n);
    this.lastLength = n;
    return (this.lastText = shared.toString('latin1', 0, n));
  }

  /** Reads through a descriptor that is not kept. */
  private readOnce(fd: number): string | undefined {
    try {
      return preadAll(fd, this.fullRead);
    } catch (err) {
      if (isGone(err)) return undefined;
      throw err;
    } finally {
      closeSync(fd);
    }
  }

  close(): void {
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        // already closed by the kernel side; nothing to release
      }
      this.fd = -1;
      fdBudget.kept--;
      this.lastBytes = undefined;
      this.lastWords = undefined;
      this.lastLength = -1;
      this.lastText = '';
    }
  }
}

/** A reader resolves a path to its current content, or undefined when there is no such file. */
export interface FileReader {
  read(path: string): string | undefined;
}

/**
 * The same, asked by directory and file name: the controller readers' way. Every cgroup's
 * directory string is made once, at discovery, so a reader that keeps files finds one with two
 * lookups of strings whose hashes are cached, where a joined path would be a new string to hash
 * on every read of every file.
 */
export interface StatReader {
  readAt(dir: string, name: string): string | undefined;
  /**
   * The content through `parse` (which may throw), for readers that parse the same content once
   * and hand out the same result again (the collector's, collector/cgroup-reads.ts). Nobody may
   * change a result.
   */
  parseAt?<T>(dir: string, name: string, parse: (text: string, file: string) => T): T | undefined;
}

/** Keeps one KernelFile per path, open between reads; `close()` releases all of them. */
export class KeptFiles implements FileReader, StatReader {
  /** By directory, then by file name. */
  private readonly dirs = new Map<string, Map<string, KernelFile>>();

  read(path: string): string | undefined {
    const slash = path.lastIndexOf('/');
    return this.readAt(path.slice(0, slash), path.slice(slash + 1));
  }

  readAt(dir: string, name: string): string | undefined {
    return this.file(dir, name).read();
  }

  /** The kept file `name` in `dir`, opened at its first read. */
  file(dir: string, name: string): KernelFile {
    let files = this.dirs.get(dir);
    if (!files) {
      files = new Map();
      this.dirs.set(dir, files);
    }
    let f = files.get(name);
    if (!f) {
      f = new KernelFile(`${dir}/${name}`);
      files.set(name, f);
    }
    return f;
  }

  close(): void {
    for (const files of this.dirs.values()) for (const f of files.values()) f.close();
    this.dirs.clear();
  }
}

/**
 * Opens and reads every time, to the end: for one-off reads (discovery, mount tables, procview)
 * where nothing is kept and records may be long.
 */
export const oneShotReader: FileReader & StatReader = {
  read(path: string): string | undefined {
    const f = new KernelFile(path, true);
    try {
      return f.read();
    } finally {
      f.close();
    }
  },
  readAt(dir: string, name: string): string | undefined {
    return oneShotReader.read(`${dir}/${name}`);
  },
};
