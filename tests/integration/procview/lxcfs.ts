/** Real LXCFS (Debian's lxcfs package) mounted at /var/lib/lxcfs, for comparisons. */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mountedType } from '../../../src/procview/fuse/mount.js';
import { waitFor } from '../support.js';

export const LXCFS_DIR = '/var/lib/lxcfs';

export async function ensureLxcfs(): Promise<void> {
  if (mountedType(LXCFS_DIR) === 'fuse.lxcfs') return;
  mkdirSync(LXCFS_DIR, { recursive: true });
  spawn('lxcfs', [LXCFS_DIR], { detached: true, stdio: 'ignore' }).unref();
  await waitFor('lxcfs to mount', () => (mountedType(LXCFS_DIR) === 'fuse.lxcfs' ? true : undefined));
}
