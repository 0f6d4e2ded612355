/**
 * Real LXCFS (Debian's lxcfs package) mounted at /var/lib/lxcfs, for comparisons.
 *
 * Installing the package may already have started one from its init script, and a machine can
 * carry a stale mount whose daemon has died (every access then fails with ENOTCONN, which dockerd
 * reports as "mkdir /var/lib/lxcfs: file exists"). So a mount only counts when its meminfo can be
 * read; a dead one is lazily unmounted and a fresh daemon started.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { mountedType, unmountFuse } from '../../../src/procview/fuse/mount.js';
import { waitFor } from '../support.js';

export const LXCFS_DIR = '/var/lib/lxcfs';

function serving(): boolean {
  if (mountedType(LXCFS_DIR) !== 'fuse.lxcfs') return false;
  try {
    return readFileSync(`${LXCFS_DIR}/proc/meminfo`, 'utf8').startsWith('MemTotal:');
  } catch {
    return false;
  }
}

export async function ensureLxcfs(): Promise<void> {
  if (serving()) return;
  while (mountedType(LXCFS_DIR) !== undefined) {
    if (!unmountFuse(LXCFS_DIR)) throw new Error(`cannot unmount the dead LXCFS mount at ${LXCFS_DIR}`);
  }
  mkdirSync(LXCFS_DIR, { recursive: true });
  spawn('lxcfs', [LXCFS_DIR], { detached: true, stdio: 'ignore' }).unref();
  await waitFor('lxcfs to mount and serve meminfo', () => (serving() ? true : undefined));
}

export interface PrivateLxcfs {
  dir: string;
  stop(): Promise<void>;
}

/**
 * An LXCFS of the test's own at `dir` (its own pidfile beside), with `flags` such as
 * --enable-cfs (CPU views from the quota) and -l (load averages): the shared one at
 * /var/lib/lxcfs runs with the package's defaults, which ignore the quota.
 */
export async function startPrivateLxcfs(dir: string, flags: string[]): Promise<PrivateLxcfs> {
  while (mountedType(dir) !== undefined) {
    if (!unmountFuse(dir)) throw new Error(`cannot unmount ${dir}`);
  }
  mkdirSync(dir, { recursive: true });
  const proc = spawn('lxcfs', ['-f', '-p', `${dir}.pid`, ...flags, dir], { stdio: 'ignore' });
  let exited = false;
  proc.on('exit', () => (exited = true));
  await waitFor(`lxcfs ${flags.join(' ')} to serve ${dir}`, () => {
    if (exited) throw new Error(`lxcfs ${flags.join(' ')} ${dir} exited`);
    try {
      return readFileSync(`${dir}/proc/meminfo`, 'utf8').startsWith('MemTotal:') || undefined;
    } catch {
      return undefined;
    }
  });
  return {
    dir,
    stop: async () => {
      if (!exited) {
        proc.kill('SIGTERM');
        await waitFor(`lxcfs at ${dir} to exit`, () => exited || undefined);
      }
      if (mountedType(dir) !== undefined) unmountFuse(dir);
    },
  };
}
