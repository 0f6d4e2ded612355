/** runtimes/layout.ts: where discovery walks and where a container's cgroup directories are, per layout. */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { locationFromPath, locationFromPid, readHostLayout, walkRootOf } from '../../src/runtimes/layout.js';
import type { CgroupLayout } from '../../src/kernel/cgroup/hierarchy.js';

const tmp = mkdtempSync(join(tmpdir(), 'cs16-layout-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const v2: CgroupLayout = { mode: 'v2', v1: new Map(), v2Root: '/sys/fs/cgroup' };

describe('cgroup layouts', () => {
  it('v2: the cgroup2 root is walked and a path is one directory under it', () => {
    assert.equal(walkRootOf(v2), '/sys/fs/cgroup');
    assert.deepEqual(locationFromPath(v2, '/system.slice/docker-abc.scope'), { version: 2, path: '/system.slice/docker-abc.scope', dir: '/sys/fs/cgroup/system.slice/docker-abc.scope' });
  });

  it('hybrid: memory is walked; a path is a directory per mounted controller, co-mounts shared, and the cgroup2 one only where it exists', () => {
    const unified = join(tmp, 'unified');
    mkdirSync(join(unified, 'system.slice/a.scope'), { recursive: true });
    const hybrid: CgroupLayout = {
      mode: 'hybrid',
      v1: new Map([
        ['cpu', '/c/cpu,cpuacct'],
        ['cpuacct', '/c/cpu,cpuacct'],
        ['memory', '/c/memory'],
        ['pids', '/c/pids'],
      ]),
      v2Root: unified,
    };
    assert.equal(walkRootOf(hybrid), '/c/memory');
    assert.deepEqual(locationFromPath(hybrid, '/system.slice/a.scope'), {
      version: 1,
      path: '/system.slice/a.scope',
      dirs: { cpu: '/c/cpu,cpuacct/system.slice/a.scope', cpuacct: '/c/cpu,cpuacct/system.slice/a.scope', memory: '/c/memory/system.slice/a.scope', pids: '/c/pids/system.slice/a.scope', unified: `${unified}/system.slice/a.scope` },
    });
    assert.equal(Object.hasOwn((locationFromPath(hybrid, '/docker/b') as { dirs: object }).dirs, 'unified'), false, 'no cgroup2 directory of its own');
  });

  it('v1 without any hierarchy discovery can walk: a clear error', () => {
    assert.throws(() => walkRootOf({ mode: 'v1', v1: new Map([['cpuset', '/c/cpuset']]) }), /no cgroup v1 hierarchy with cpu, memory, pids or blkio/);
  });

  it('this process: its own cgroup from /proc/self/cgroup, in the layout of this host; a gone pid gives nothing', () => {
    const layout = readHostLayout();
    const loc = locationFromPid(layout, process.pid)!;
    assert.equal(loc.version, layout.mode === 'v2' ? 2 : 1);
    assert.equal(locationFromPid(layout, 2 ** 22 + 1), undefined);
  });

  it('a mount table that cannot be read: an error naming it', () => {
    const missing = join(tmp, 'no-mountinfo');
    assert.throws(() => readHostLayout(missing), new RegExp(`${missing} is not readable`));
  });
});
