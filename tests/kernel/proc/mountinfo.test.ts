import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ParseError } from '../../../src/kernel/errors.js';
import { parseMountInfo, unescapeOctal } from '../../../src/kernel/proc/mountinfo.js';

// Kernel 6.18 (this machine), abridged.
const MOUNTINFO_6_18 = `26 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
`;
// Ubuntu 20.04 (systemd): optional propagation fields before " - ".
const MOUNTINFO_SYSTEMD = `25 0 252:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
35 24 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 master:3 - cgroup cgroup rw,cpu,cpuacct
40 24 0:35 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
`;

describe('parseMountInfo', () => {
  it('parses kernel 6.18 mountinfo', () => {
    const m = parseMountInfo(MOUNTINFO_6_18);
    assert.equal(m.length, 3);
    assert.deepEqual(m[2], {
      mountId: 31, parentId: 30, major: 0, minor: 28, root: '/', mountpoint: '/sys/fs/cgroup/cpu',
      options: 'rw,relatime', fsType: 'cgroup', source: 'cgroup', superOptions: 'rw,cpu',
    });
    assert.equal(m[0].major, 254);
  });

  it('skips optional fields before the separator', () => {
    const [, cpu, unified] = parseMountInfo(MOUNTINFO_SYSTEMD);
    assert.equal(cpu.mountpoint, '/sys/fs/cgroup/cpu,cpuacct');
    assert.equal(cpu.fsType, 'cgroup');
    assert.equal(cpu.superOptions, 'rw,cpu,cpuacct');
    assert.equal(unified.fsType, 'cgroup2');
    assert.equal(unified.superOptions, 'rw,nsdelegate');
  });

  it('decodes octal escapes in paths and source', () => {
    const [m] = parseMountInfo('100 26 0:50 /a\\134b /mnt/my\\040disk\\011x rw - fuse.sshfs user@host:/dir\\040x rw\n');
    assert.equal(m.root, '/a\\b');
    assert.equal(m.mountpoint, '/mnt/my disk\tx');
    assert.equal(m.source, 'user@host:/dir x');
    assert.equal(m.fsType, 'fuse.sshfs');
    assert.equal(unescapeOctal('plain'), 'plain');
  });

  it('accepts empty content and rejects truncated or malformed lines', () => {
    assert.deepEqual(parseMountInfo(''), []);
    for (const bad of ['26 1 254:0 / / rw,relatime - ext4\n', '26 1 254:0 / / rw,relatime ext4 /dev/vda rw\n', 'x 1 254:0 / / rw - ext4 /dev/vda rw\n', '26 1 2540 / / rw - ext4 /dev/vda rw\n']) {
      assert.throws(() => parseMountInfo(bad), ParseError, bad);
    }
  });

  it("parses this process's /proc/self/mountinfo", () => {
    const mounts = parseMountInfo(readFileSync('/proc/self/mountinfo', 'latin1'));
    assert.ok(mounts.some((m) => m.mountpoint === '/'));
    assert.ok(mounts.some((m) => m.mountpoint === '/proc' && m.fsType === 'proc'));
  });
});
