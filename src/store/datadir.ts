/**
 * The agent's data directory (default /var/lib/cstats): one agent at a time (a LOCK file naming
 * its pid), a FORMAT file naming the layout's version, and the places other modules keep their
 * files: `readState`/`writeState` for a small JSON state file (alarm states, export cursors),
 * `subdir` for a module's own files (an export queue). See src/store/README.md.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Logger } from '../log.js';

/** The layout this cstats writes and reads. */
export const FORMAT_VERSION = 1;
const FORMAT_TAG = 'cstats-data';
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export class DataDirError extends Error {
  override name = 'DataDirError';
}

/**
 * A lock held from another pid namespace (another container on the same volume) is live while
 * its holder renews it: this many of its renewal intervals.
 */
const LEASE_RENEWALS = 3;

/** This process's pid namespace (what /proc/self/ns/pid links to), or undefined where it cannot be read. */
function pidNamespace(): string | undefined {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return undefined;
  }
}

/**
 * What a LOCK says of its holder: its pid on the first line (all a LOCK of before December 2026
 * holds), then `pidns`, `host` and `renew-ms` lines: the pid namespace its pid belongs to, its
 * host name, and how often it renews the lock (touches the file).
 */
interface LockHolder {
  pid: number;
  pidns?: string;
  host?: string;
  renewMs?: number;
}

function lockText(renewMs: number): string {
  const ns = pidNamespace();
  return `${process.pid}\n${ns !== undefined ? `pidns ${ns}\n` : ''}host ${hostname()}\nrenew-ms ${renewMs}\n`;
}

function parseLock(text: string): LockHolder {
  const [first, ...rest] = text.split('\n');
  const fields = new Map(rest.filter((l) => l.includes(' ')).map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)] as const));
  const renewMs = Number(fields.get('renew-ms'));
  return { pid: Number(first.trim()), pidns: fields.get('pidns'), host: fields.get('host'), renewMs: renewMs > 0 ? renewMs : undefined };
}

/** Whether `pid` is a live process other than this one that runs cstats. */
function isOtherCstats(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('cstats');
  } catch {
    return false;
  }
}

/** Writes a file whole or not at all: a temporary file, fsync, rename over, fsync of the directory. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeFileSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDir(join(path, '..'));
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export class DataDir {
  private locked = true;

  private constructor(
    readonly path: string,
    private readonly log: Logger,
    /** What this agent wrote into LOCK. */
    private readonly lock: string,
  ) {}

  /**
   * Opens (creating) the directory, takes its lock and checks its format. Throws DataDirError
   * with what to do when another agent holds it or it holds another format. `renewMs`: how
   * often the holder calls renewLock (the persistence's flush interval); an agent in another pid
   * namespace, whose pid cannot be looked up from here, waits for the lock to go unrenewed for
   * LEASE_RENEWALS of the holder's intervals before it takes it over.
   */
  static open(path: string, log: Logger, renewMs = 10_000): DataDir {
    try {
      mkdirSync(path, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new DataDirError(`data directory ${path}: cannot create it: ${(err as Error).message}`);
    }
    const lock = join(path, 'LOCK');
    let fd: number;
    try {
      fd = openSync(lock, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new DataDirError(`data directory ${path}: cannot write ${lock}: ${(err as Error).message}`);
      const holder = parseLock(readFileSync(lock, 'utf8'));
      const pid = Number.isNaN(holder.pid) ? '?' : holder.pid;
      const ours = pidNamespace();
      if (holder.pidns !== undefined && ours !== undefined && holder.pidns !== ours) {
        // Its pid means nothing here: it is alive while it renews the lock.
        const ageS = (Date.now() - statSync(lock).mtimeMs) / 1000;
        const leaseS = (LEASE_RENEWALS * (holder.renewMs ?? renewMs)) / 1000;
        if (ageS < leaseS) {
          throw new DataDirError(
            `data directory ${path} is in use by a cstats agent in another pid namespace (pid ${pid} there, host ${holder.host ?? '?'}: another container?), ` +
              `which renewed ${lock} ${ageS.toFixed(1)} s ago; stop it, or give this one another --data-dir (or --no-persist); its lock is taken over once not renewed for ${leaseS} s`,
          );
        }
        log.warn('store', `data directory ${path}: taking over the lock of pid ${pid} in another pid namespace (host ${holder.host ?? '?'}), not renewed for ${ageS.toFixed(0)} s (it did not stop cleanly)`);
      } else if (isOtherCstats(holder.pid)) {
        throw new DataDirError(`data directory ${path} is in use by another cstats agent (pid ${pid}, ${lock}); stop it, or give this one another --data-dir (or --no-persist)`);
      } else log.warn('store', `data directory ${path}: taking over the lock of pid ${pid}, which is not running (it did not stop cleanly)`);
      fd = openSync(lock, 'w', 0o600);
    }
    const text = lockText(renewMs);
    writeSync(fd, text);
    closeSync(fd);
    const dir = new DataDir(path, log, text);
    try {
      dir.checkFormat();
    } catch (err) {
      dir.close();
      throw err;
    }
    return dir;
  }

  private checkFormat(): void {
    const file = join(this.path, 'FORMAT');
    if (!existsSync(file)) {
      writeFileAtomic(file, `${FORMAT_TAG} ${FORMAT_VERSION}\n`);
      return;
    }
    const text = readFileSync(file, 'utf8').trim();
    const m = new RegExp(`^${FORMAT_TAG} (\\d+)$`).exec(text);
    if (!m) throw new DataDirError(`data directory ${this.path}: ${file} reads ${JSON.stringify(text.slice(0, 40))}, not "${FORMAT_TAG} N": not a cstats data directory; give another --data-dir`);
    const version = Number(m[1]);
    if (version !== FORMAT_VERSION) {
      throw new DataDirError(
        `data directory ${this.path} holds format version ${version}, and this cstats reads version ${FORMAT_VERSION}` +
          (version > FORMAT_VERSION ? ' (it was written by a newer cstats)' : '') +
          '; run the cstats that wrote it, or move the directory aside and start afresh',
      );
    }
  }

  /** A directory for one module's files (created), e.g. `subdir('export-remote-write')`. */
  subdir(name: string): string {
    if (!NAME.test(name)) throw new Error(`data directory: bad subdirectory name ${JSON.stringify(name)}`);
    const dir = join(this.path, name);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return dir;
  }

  /**
   * Reads the state file `name` (state/NAME.json) a module wrote with writeState: undefined when
   * there is none, or when it is damaged (it is then renamed NAME.json.corrupt and logged).
   */
  readState<T = unknown>(name: string): T | undefined {
    const file = this.stateFile(name);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
    const nl = text.indexOf('\n');
    const m = /^crc32 (\d+)$/.exec(text.slice(0, nl));
    const body = text.slice(nl + 1);
    if (nl < 0 || !m || crc32(body) !== Number(m[1])) {
      this.log.warn('store', `state file ${file} is damaged (checksum): set aside as ${file}.corrupt, starting without it`);
      renameSync(file, `${file}.corrupt`);
      return undefined;
    }
    return JSON.parse(body) as T;
  }

  /** Replaces the state file `name` whole (never half-written): JSON of `value` under a checksum line. */
  writeState(name: string, value: unknown): void {
    const body = JSON.stringify(value);
    writeFileAtomic(this.stateFile(name), `crc32 ${crc32(body)}\n${body}`);
  }

  /** Names of the state files present. */
  stateNames(): string[] {
    const dir = join(this.path, 'state');
    return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)) : [];
  }

  private stateFile(name: string): string {
    if (!NAME.test(name)) throw new Error(`data directory: bad state file name ${JSON.stringify(name)}`);
    return join(this.subdir('state'), `${name}.json`);
  }

  /**
   * Whether the lock is still this agent's: its LOCK file names this process. It no longer is
   * when the directory was removed under the agent (and perhaps made again by another agent, whose
   * LOCK it then is) or the file was replaced: writing on would mix two agents' files.
   */
  holdsLock(): boolean {
    try {
      return readFileSync(join(this.path, 'LOCK'), 'utf8') === this.lock;
    } catch {
      return false;
    }
  }

  /** Whether the lock is still this agent's (holdsLock), renewing it if so: its time says the holder lives. */
  renewLock(): boolean {
    if (!this.holdsLock()) return false;
    const now = new Date();
    utimesSync(join(this.path, 'LOCK'), now, now);
    return true;
  }

  /** Releases the lock, if it is still this agent's (another agent's LOCK is left alone). */
  close(): void {
    if (!this.locked) return;
    this.locked = false;
    if (this.holdsLock()) unlinkSync(join(this.path, 'LOCK'));
  }
}
