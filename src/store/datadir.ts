/**
 * The agent's data directory (default /var/lib/cstats): one agent at a time (a LOCK file naming
 * its pid), a FORMAT file naming the layout's version, and the places other modules keep their
 * files: `readState`/`writeState` for a small JSON state file (alarm states, export cursors),
 * `subdir` for a module's own files (an export queue). See src/store/README.md.
 */
import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
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

/** Looks at a LOCK that is there (and tries to take it) at most this many times before giving up. */
const LOCK_TRIES = 20;

/**
 * Makes the file `lock` holding `text`, unless it exists: the text goes into a file of this
 * process's own (its pid and a random name: agents in two pid namespaces may have one pid), which
 * link(2) then names `lock`, failing when it exists. Another agent never reads a LOCK half-written
 * (an empty one would name no live pid, and be taken over).
 */
function createLock(path: string, lock: string, text: string): boolean {
  const mine = `${lock}.${process.pid}.${randomUUID()}.new`;
  try {
    writeFileSync(mine, text, { mode: 0o600 });
    linkSync(mine, lock);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new DataDirError(`data directory ${path}: cannot write ${lock}: ${(err as Error).message}`);
  } finally {
    rmSync(mine, { force: true });
  }
}

/**
 * A takeover marker or a lock's own file (`LOCK.<pid>.<uuid>.new`) older than this was left by an
 * agent killed in the middle of making it: both live for microseconds.
 */
const LEFTOVER_MS = 10_000;
/** The names createLock and removeStale give their files. */
const LEFTOVER = /^LOCK\.(?:\d+\.[0-9a-f-]{36}\.new|takeover-\d+)$/;

/**
 * Removes what agents killed while taking the lock left behind (LEFTOVER, older than
 * LEFTOVER_MS), once this agent holds it. A younger one may be another agent's try in progress.
 */
function sweepLeftovers(path: string): number {
  let swept = 0;
  for (const name of readdirSync(path)) if (LEFTOVER.test(name) && removeIfLeftover(join(path, name))) swept++;
  return swept;
}

/** Removes `file` if it is older than LEFTOVER_MS; whether it did. */
function removeIfLeftover(file: string): boolean {
  const at = statSync(file, { throwIfNoEntry: false });
  if (!at || Date.now() - at.mtimeMs <= LEFTOVER_MS) return false;
  rmSync(file, { force: true });
  return true;
}

/**
 * Takes away a LOCK judged stale, which read `seen`. Only the agent that makes the takeover
 * marker named for that content (LOCK.takeover-<crc of it>, made with link(2), which fails when
 * it exists) may take it away, and only while LOCK still reads `seen`: a live lock is never
 * taken away, so two agents can never both hold the directory (an agent that made LOCK while it
 * was gone holds it, and the taker then finds it held). Whether the stale lock was taken away
 * by this call.
 */
function removeStale(path: string, lock: string, seen: string): boolean {
  const marker = `${lock}.takeover-${crc32(seen)}`;
  removeIfLeftover(marker);
  if (!createLock(path, marker, `${process.pid}\n`)) return false;
  try {
    let now: string;
    try {
      now = readFileSync(lock, 'utf8');
    } catch {
      return false; // gone: taken over meanwhile, or released
    }
    if (now !== seen) return false;
    unlinkSync(lock);
    return true;
  } finally {
    rmSync(marker, { force: true });
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
    const text = lockText(renewMs);
    // Two agents may start at the same instant over one directory: the lock appears whole or not
    // at all (createLock), and a dead holder's is taken away by one of them only (removeStale);
    // whoever loses looks again at what LOCK holds then. A LOCK that changes at every look (other
    // agents starting and stopping all the while) ends the tries.
    for (let tries = 0; !createLock(path, lock, text); tries++) {
      if (tries === LOCK_TRIES) throw new DataDirError(`data directory ${path}: ${lock} changed at each of ${LOCK_TRIES} looks (other agents starting and stopping?); try again`);
      let seen: string;
      try {
        seen = readFileSync(lock, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
        throw new DataDirError(`data directory ${path}: cannot read ${lock}: ${(err as Error).message}`);
      }
      const holder = parseLock(seen);
      const pid = Number.isNaN(holder.pid) ? '?' : holder.pid;
      const ours = pidNamespace();
      let takeover: string;
      if (holder.pidns !== undefined && ours !== undefined && holder.pidns !== ours) {
        // Its pid means nothing here: it is alive while it renews the lock.
        const renewed = statSync(lock, { throwIfNoEntry: false });
        if (!renewed) continue; // released meanwhile
        const ageS = (Date.now() - renewed.mtimeMs) / 1000;
        const leaseS = (LEASE_RENEWALS * (holder.renewMs ?? renewMs)) / 1000;
        if (ageS < leaseS) {
          throw new DataDirError(
            `data directory ${path} is in use by a cstats agent in another pid namespace (pid ${pid} there, host ${holder.host ?? '?'}: another container?), ` +
              `which renewed ${lock} ${ageS.toFixed(1)} s ago; stop it, or give this one another --data-dir (or --no-persist); its lock is taken over once not renewed for ${leaseS} s`,
          );
        }
        takeover = `taking over the lock of pid ${pid} in another pid namespace (host ${holder.host ?? '?'}), not renewed for ${ageS.toFixed(0)} s (it did not stop cleanly)`;
      } else if (isOtherCstats(holder.pid)) {
        throw new DataDirError(`data directory ${path} is in use by another cstats agent (pid ${pid}, ${lock}); stop it, or give this one another --data-dir (or --no-persist)`);
      } else takeover = `taking over the lock of pid ${pid}, which is not running (it did not stop cleanly)`;
      if (removeStale(path, lock, seen)) log.warn('store', `data directory ${path}: ${takeover}`);
    }
    const dir = new DataDir(path, log, text);
    try {
      const swept = sweepLeftovers(path);
      if (swept > 0) log.info('store', `data directory ${path}: removed ${swept} file(s) of lock tries by agents killed while starting`);
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

  /**
   * Throws, with code ELOCKLOST, when the lock is no longer this agent's (holdsLock): the
   * directory was removed, or another agent has it. Its files are then another agent's or no
   * one's; writing on, even making a directory again, would mix two agents' files.
   */
  assertHeld(): void {
    if (!this.holdsLock()) throw this.lockLost();
  }

  /** The error assertHeld throws (persistence's flush throws it after renewLock). */
  lockLost(): Error {
    return Object.assign(
      new Error(`${join(this.path, 'LOCK')} no longer names this agent (pid ${process.pid}): the data directory was removed or another agent took it; nothing more is written there (restart the agent to take it again)`),
      { code: 'ELOCKLOST' },
    );
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
