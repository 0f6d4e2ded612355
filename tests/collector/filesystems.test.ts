/** The mount table: which mount a container's layer or volume lives on; the mounts of its own namespace. */
import { test } from 'node:test';
import { execFileSync, spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MountTable, NamespaceMounts } from '../../src/collector/filesystems.js';
import type { FsStats } from '../../src/kernel/types.js';

test('mountOf: the longest mountpoint that holds the path, never a sibling that only shares its first letters', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cstats-mounts-'));
  try {
    const file = join(dir, 'mountinfo');
    writeFileSync(
      file,
      [
        '22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw',
        '30 22 254:16 / /var/lib/docker rw,relatime shared:2 - ext4 /dev/vdb rw',
        '31 22 254:32 / /var/lib/docker2 rw,relatime shared:3 - xfs /dev/vdc rw',
        '32 30 0:50 / /var/lib/docker/overlay2/abc/merged rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w',
      ].join('\n') + '\n',
    );
    const table = new MountTable(file, file);
    assert.equal(table.refresh(), true);
    const source = (p: string): string | undefined => table.mountOf(p)?.source;
    assert.equal(source('/var/lib/docker/volumes/data/_data'), '/dev/vdb');
    assert.equal(source('/var/lib/docker'), '/dev/vdb', 'the mountpoint itself');
    assert.equal(source('/var/lib/docker2/x'), '/dev/vdc');
    assert.equal(source('/var/lib/dockerx/y'), '/dev/vda1', 'a sibling name is not inside /var/lib/docker');
    assert.equal(source('/var/lib/docker/overlay2/abc/merged/etc'), 'overlay');
    assert.equal(source('/srv'), '/dev/vda1');
    assert.equal(table.refresh(), false, 'the same text: not parsed again');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('reach: host paths through the agent\'s own mounts when it runs in a container of its own mount namespace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs18-mounts-'));
  try {
    const host = join(dir, 'host');
    const own = join(dir, 'own');
    // The host: / on vda1, Docker's data on vdb, a container's merged overlay.
    writeFileSync(host, [
      '22 1 254:1 / / rw - ext4 /dev/vda1 rw',
      '30 22 254:16 / /var/lib/docker rw - ext4 /dev/vdb rw',
      '32 30 0:50 / /var/lib/docker/overlay2/abc/merged rw - overlay overlay rw',
      '40 22 254:32 / /srv rw - xfs /dev/vdc rw',
    ].join('\n') + '\n');
    // The agent's container: its overlay root, the host's / at /rootfs (Docker's data came
    // along with it, as a bind of / does), and a file of vdc bound somewhere.
    writeFileSync(own, [
      '100 90 0:60 / / rw - overlay overlay rw',
      '101 100 254:1 / /rootfs ro - ext4 /dev/vda1 rw',
      '102 101 254:16 / /rootfs/var/lib/docker ro - ext4 /dev/vdb rw',
      '103 100 254:32 /exports/conf /etc/app.conf ro - xfs /dev/vdc rw',
    ].join('\n') + '\n');
    const table = new MountTable(host, own);
    table.refresh();
    assert.equal(table.reach('/var/lib/docker/overlay2/abc/diff'), '/rootfs/var/lib/docker/overlay2/abc/diff');
    assert.equal(table.reach('/etc/hostname'), '/rootfs/etc/hostname');
    assert.equal(table.reach('/srv/exports/conf'), '/etc/app.conf', 'a bind of exactly that path');
    assert.equal(table.reach('/srv/data'), undefined, 'no mount of ours holds it: not measured');
    assert.equal(table.reach('/var/lib/docker/overlay2/abc/merged/etc'), undefined, 'an overlay mounted after ours is not ours');
    // statfs answers for a whole filesystem: any mount of the device will do.
    const mp = (p: string) => table.onFilesystem(table.all.find((m) => m.mountpoint === p)!);
    assert.equal(mp('/srv'), '/etc/app.conf');
    assert.equal(mp('/'), '/rootfs');
    // On the host itself both tables are one: paths are their own.
    const same = new MountTable(host, host);
    same.refresh();
    assert.equal(same.reach('/srv/data'), '/srv/data');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('NamespaceMounts: a process in the agent\'s own mount namespace has none of its own (a systemd scope, a plain cgroup)', () => {
  assert.deepEqual(new NamespaceMounts().filesystems(process.pid, new Set(), true), []);
  // A process that is gone: nothing, no error.
  assert.deepEqual(new NamespaceMounts().filesystems(2 ** 22 + 1, new Set(), true), []);
});

test('NamespaceMounts: a mount of a namespace of its own is measured afresh at every pass, seen when mounted and gone when unmounted', async (t) => {
  // A real mount namespace (unshare(1), as root): its private tmpfs is not in the agent's.
  const dir = mkdtempSync(join(tmpdir(), 'cs-nsmounts-'));
  const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o size=4m cs-ns ${dir} && echo up && exec sleep 60`], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`unshare exited with ${code}`)));
  });
  const pid = child.pid!;
  const own = new NamespaceMounts();
  const scratch = (): FsStats | undefined => own.filesystems(pid, new Set(), false).find((f) => f.destination === dir);
  const first = scratch();
  assert.ok(first, 'the tmpfs mounted in its namespace');
  assert.equal(first.device, 'cs-ns');
  assert.equal(first.totalBytes, 4n * 1024n * 1024n);
  // The mount table reads the same, so it is not worked out again; its usage is still read now.
  writeFileSync(`/proc/${pid}/root${dir}/f`, Buffer.alloc(1024 * 1024, 1));
  const second = scratch();
  assert.equal(second!.usedBytes - first.usedBytes, 1024n * 1024n);
  assert.equal(own.filesystems(pid, new Set([dir]), false).find((f) => f.destination === dir), undefined, 'one the runtime declared is left to it');
  execFileSync('nsenter', ['-t', String(pid), '-m', 'umount', dir]);
  assert.equal(scratch(), undefined, 'unmounted: gone at the next pass');
});
