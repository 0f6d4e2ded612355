import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { ParseError } from '../../../src/kernel/errors.js';
import { detectLayout, parseProcCgroup, v1DirsOf, v2DirOf } from '../../../src/kernel/cgroup/hierarchy.js';
import { parseMountInfo } from '../../../src/kernel/proc/mountinfo.js';

// Kernel 6.18 (this machine): separate cpu and cpuacct hierarchies, cgroup2 without controllers.
const HYBRID_SEPARATE = `26 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
35 30 0:32 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
36 30 0:33 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
37 30 0:34 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const PROC_CGROUP_6_18 = `9:name=systemd:/
8:pids:/kt
7:blkio:/kt
6:freezer:/
5:devices:/
4:memory:/kt
3:cpuset:/
2:cpuacct:/kt
1:cpu:/kt
0::/
`;

// Ubuntu 20.04 (kernel 5.4, systemd hybrid): co-mounted cpu,cpuacct and net_cls,net_prio.
const HYBRID_COMOUNTED = `25 0 252:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
24 25 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
29 24 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
30 29 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
31 29 0:28 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
34 29 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu,cpuacct
35 29 0:32 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,net_cls,net_prio
36 29 0:33 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,memory
37 29 0:34 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,cpuset,clone_children
38 29 0:35 / /sys/fs/cgroup/blkio rw,nosuid,nodev,noexec,relatime shared:18 - cgroup cgroup rw,blkio
39 29 0:36 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:19 - cgroup cgroup rw,pids
`;
const PROC_CGROUP_DOCKER_SYSTEMD = `12:pids:/system.slice/docker-4f1c.scope
9:memory:/system.slice/docker-4f1c.scope
7:blkio:/system.slice/docker-4f1c.scope
5:cpuset:/system.slice/docker-4f1c.scope
3:cpu,cpuacct:/system.slice/docker-4f1c.scope
2:net_cls,net_prio:/system.slice/docker-4f1c.scope
1:name=systemd:/system.slice/docker-4f1c.scope
0::/system.slice/docker-4f1c.scope
`;

// Kernel 6.1 test VM (unified v2 only); see tests/fixtures/kernel/cgroup2-6.1.
const V2_ONLY = readFileSync('tests/fixtures/kernel/cgroup2-6.1/mountinfo', 'latin1');

// CentOS 7 (kernel 3.10): v1 only, no cgroup2.
const V1_ONLY = `19 41 0:18 / /sys rw,nosuid,nodev,noexec,relatime shared:6 - sysfs sysfs rw
24 19 0:20 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:7 - tmpfs tmpfs ro,mode=755
25 24 0:21 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:8 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
28 24 0:24 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,cpuacct,cpu
29 24 0:25 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,memory
`;

describe('detectLayout', () => {
  it('finds separate cpu and cpuacct mounts on this kind of host (hybrid)', () => {
    const layout = detectLayout(parseMountInfo(HYBRID_SEPARATE));
    assert.equal(layout.mode, 'hybrid');
    assert.equal(layout.v1.get('cpu'), '/sys/fs/cgroup/cpu');
    assert.equal(layout.v1.get('cpuacct'), '/sys/fs/cgroup/cpuacct');
    assert.equal(layout.v1.get('name=systemd'), '/sys/fs/cgroup/systemd');
    assert.equal(layout.v2Root, '/sys/fs/cgroup/unified');
  });

  it('maps both controllers of a co-mount and ignores mount flags', () => {
    const layout = detectLayout(parseMountInfo(HYBRID_COMOUNTED));
    assert.equal(layout.mode, 'hybrid');
    assert.equal(layout.v1.get('cpu'), '/sys/fs/cgroup/cpu,cpuacct');
    assert.equal(layout.v1.get('cpuacct'), '/sys/fs/cgroup/cpu,cpuacct');
    assert.equal(layout.v1.get('net_prio'), '/sys/fs/cgroup/net_cls,net_prio');
    assert.equal(layout.v1.get('cpuset'), '/sys/fs/cgroup/cpuset');
    assert.equal(layout.v1.has('clone_children'), false);
    assert.equal(layout.v1.has('xattr'), false);
    assert.equal(layout.v1.has('rw'), false);
  });

  it('recognises unified v2 and pure v1', () => {
    const v2 = detectLayout(parseMountInfo(V2_ONLY));
    assert.deepEqual(v2, { mode: 'v2', v1: new Map(), v2Root: '/sys/fs/cgroup' });
    const v1 = detectLayout(parseMountInfo(V1_ONLY));
    assert.equal(v1.mode, 'v1');
    assert.equal(v1.v2Root, undefined);
    assert.equal(v1.v1.get('cpu'), '/sys/fs/cgroup/cpu,cpuacct');
    assert.equal(v1.v1.has('release_agent=/usr/lib/systemd/systemd-cgroups-agent'), false);
  });

  it('ignores bind mounts of a sub-cgroup and later duplicates', () => {
    const layout = detectLayout(
      parseMountInfo(`${HYBRID_SEPARATE}50 26 0:31 /docker/abc /var/lib/x/memory rw - cgroup cgroup rw,memory
51 26 0:31 / /mnt/memory rw - cgroup cgroup rw,memory
`),
    );
    assert.equal(layout.v1.get('memory'), '/sys/fs/cgroup/memory');
  });

  it('a host with only named hierarchies and cgroup2 is v2; one with no cgroup mount is an error', () => {
    const named = detectLayout(parseMountInfo(`${V2_ONLY}30 25 0:40 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n`));
    assert.equal(named.mode, 'v2');
    assert.throws(() => detectLayout(parseMountInfo('26 1 254:0 / / rw - ext4 /dev/vda rw\n')), ParseError);
  });
});

describe('parseProcCgroup', () => {
  it('parses per-controller paths and the v2 path', () => {
    const cg = parseProcCgroup(PROC_CGROUP_DOCKER_SYSTEMD);
    assert.equal(cg.v1.get('cpu'), '/system.slice/docker-4f1c.scope');
    assert.equal(cg.v1.get('cpuacct'), '/system.slice/docker-4f1c.scope');
    assert.equal(cg.v1.get('name=systemd'), '/system.slice/docker-4f1c.scope');
    assert.equal(cg.v2, '/system.slice/docker-4f1c.scope');
    assert.deepEqual(parseProcCgroup('0::/kt\n'), { v1: new Map(), v2: '/kt' });
  });

  it('keeps colons inside the path', () => {
    assert.equal(parseProcCgroup('0::/kubepods/pod1/cri-containerd:abc\n').v2, '/kubepods/pod1/cri-containerd:abc');
  });

  it('accepts empty content and rejects malformed lines', () => {
    assert.deepEqual(parseProcCgroup(''), { v1: new Map() });
    for (const bad of ['0:/\n', 'memory:/x\n', ':memory:/x\n', '4:memory:x\n']) {
      assert.throws(() => parseProcCgroup(bad), ParseError, bad);
    }
  });
});

describe('v1DirsOf / v2DirOf', () => {
  it('joins mountpoints and paths for separate cpu and cpuacct mounts', () => {
    const layout = detectLayout(parseMountInfo(HYBRID_SEPARATE));
    const cg = parseProcCgroup(PROC_CGROUP_6_18);
    assert.deepEqual(v1DirsOf(layout, cg), {
      cpu: '/sys/fs/cgroup/cpu/kt',
      cpuacct: '/sys/fs/cgroup/cpuacct/kt',
      cpuset: '/sys/fs/cgroup/cpuset',
      memory: '/sys/fs/cgroup/memory/kt',
      blkio: '/sys/fs/cgroup/blkio/kt',
      pids: '/sys/fs/cgroup/pids/kt',
    });
    // "0::/": no cgroup2 directory of its own, so no unified dir for pressure.
    assert.equal(v2DirOf(layout, cg), '/sys/fs/cgroup/unified');
  });

  it('gives a systemd-hybrid container its cgroup2 directory for pressure', () => {
    const dirs = v1DirsOf(detectLayout(parseMountInfo(HYBRID_COMOUNTED)), parseProcCgroup(PROC_CGROUP_DOCKER_SYSTEMD));
    assert.equal(dirs.cpu, '/sys/fs/cgroup/cpu,cpuacct/system.slice/docker-4f1c.scope');
    assert.equal(dirs.cpuacct, dirs.cpu);
    assert.equal(dirs.unified, '/sys/fs/cgroup/unified/system.slice/docker-4f1c.scope');
  });

  it('gives the v2 directory on a unified host', () => {
    const layout = detectLayout(parseMountInfo(V2_ONLY));
    assert.equal(v2DirOf(layout, parseProcCgroup('0::/kt\n')), '/sys/fs/cgroup/kt');
    assert.equal(v2DirOf(layout, parseProcCgroup('0::/\n')), '/sys/fs/cgroup');
    assert.equal(v2DirOf(layout, { v1: new Map() }), undefined);
    assert.deepEqual(v1DirsOf(layout, parseProcCgroup('0::/kt\n')), { unified: '/sys/fs/cgroup/kt' });
  });

  it("resolves this process's cgroup directories on this machine, and they exist", () => {
    const layout = detectLayout(parseMountInfo(readFileSync('/proc/self/mountinfo', 'latin1')));
    const cg = parseProcCgroup(readFileSync('/proc/self/cgroup', 'latin1'));
    if (layout.mode === 'v2') {
      const dir = v2DirOf(layout, cg);
      assert.ok(dir !== undefined && existsSync(`${dir}/cgroup.procs`));
      return;
    }
    const dirs = v1DirsOf(layout, cg);
    assert.ok(dirs.memory !== undefined && existsSync(`${dirs.memory}/memory.usage_in_bytes`), JSON.stringify(dirs));
    assert.ok(dirs.cpuacct !== undefined && existsSync(`${dirs.cpuacct}/cpuacct.usage`));
    for (const dir of Object.values(dirs)) assert.ok(existsSync(dir), dir);
  });
});
