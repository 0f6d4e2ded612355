/**
 * Mounting without libfuse: open /dev/fuse, hand the descriptor to mount(8) as its fd 3 with
 * `-o fd=3`, and the kernel connection is ours. `-i` keeps mount(8) from looking for a
 * mount.fuse.cstats helper.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';

export const FS_TYPE = 'fuse.cstats';

export function openFuseDevice(): number {
  return openSync('/dev/fuse', 'r+');
}

export function mountFuse(fd: number, mountpoint: string, name = 'cstats'): void {
  mkdirSync(mountpoint, { recursive: true });
  const options = `fd=3,rootmode=40000,user_id=0,group_id=0,allow_other,default_permissions,ro`;
  const r = spawnSync('mount', ['-i', '-t', FS_TYPE, '-o', options, name, mountpoint], {
    stdio: ['ignore', 'pipe', 'pipe', fd],
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`mount ${mountpoint} failed: ${(r.stderr || r.error?.message || '').trim()}`);
}

/** Lazy unmount: the mount goes away now, open files keep working until closed. */
export function unmountFuse(mountpoint: string): boolean {
  return spawnSync('umount', ['-l', mountpoint], { stdio: 'ignore' }).status === 0;
}

/** Unescapes the octal escapes mountinfo uses for spaces, tabs, newlines and backslashes. */
function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** The filesystem type mounted exactly at `mountpoint` (the topmost one), or undefined. */
export function mountedType(mountpoint: string, mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): string | undefined {
  let found: string | undefined;
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    if (left.length < 5 || unescapeMountPath(left[4]) !== mountpoint) continue;
    found = line.slice(sep + 3).split(' ')[0];
  }
  return found;
}
