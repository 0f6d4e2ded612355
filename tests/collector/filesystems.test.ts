/** The mount table: which mount a container's layer or volume lives on; the mounts of its own namespace. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MountTable, namespaceFilesystems } from '../../src/collector/filesystems.js';

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

test('namespaceFilesystems: a process in the agent\'s own mount namespace has none of its own (a systemd scope, a plain cgroup)', () => {
  assert.deepEqual(namespaceFilesystems(process.pid, new Set(), true), []);
  // A process that is gone: nothing, no error.
  assert.deepEqual(namespaceFilesystems(2 ** 22 + 1, new Set(), true), []);
});
