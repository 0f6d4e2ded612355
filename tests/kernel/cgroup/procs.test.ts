import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { countProcesses, parseProcs, procsDir } from '../../../src/kernel/cgroup/procs.js';
import { ParseError } from '../../../src/kernel/errors.js';
import type { FileReader } from '../../../src/kernel/kept-file.js';

/**
 * cgroup.procs of a Docker container running `sh -c 'sleep 1000 & sleep 1000 & wait'` (kernel
 * 6.18, v1 pids hierarchy): the shell and its two sleeps. Its `tasks` file read the same.
 */
const CONTAINER_PROCS = '16664\n16692\n16693\n';

describe('cgroup.procs', () => {
  const root = mkdtempSync(`${tmpdir()}/cstats-procs-`);
  after(() => rmSync(root, { recursive: true, force: true }));

  /** A cgroup tree on disk: path relative to root → cgroup.procs content. */
  function tree(files: Record<string, string>): string {
    const top = mkdtempSync(`${root}/t-`);
    for (const [dir, procs] of Object.entries(files)) {
      mkdirSync(`${top}/${dir}`, { recursive: true });
      writeFileSync(`${top}/${dir}/cgroup.procs`, procs);
    }
    return top;
  }

  it('parses a real container\'s list, an empty cgroup and a last line without newline', () => {
    assert.deepEqual(parseProcs(CONTAINER_PROCS, 'f'), [16664, 16692, 16693]);
    assert.deepEqual(parseProcs('', 'f'), []);
    assert.deepEqual(parseProcs('4194304\n1', 'f'), [4194304, 1]);
  });

  it('rejects what is not a list of ids, naming the file', () => {
    for (const bad of ['12 13\n', '-1\n', 'abc\n', '1\n\n x\n', '99999999999\n']) {
      assert.throws(() => parseProcs(bad, '/cg/cgroup.procs'), (e: unknown) => e instanceof ParseError && e.file === '/cg/cgroup.procs', JSON.stringify(bad));
    }
  });

  it('picks v1 pids, else cpu, and v2\'s own dir', () => {
    assert.equal(procsDir({ pids: '/p', cpu: '/c', memory: '/m' }), '/p');
    assert.equal(procsDir({ cpu: '/c', memory: '/m' }), '/c');
    assert.equal(procsDir({ memory: '/m' }), undefined);
    assert.equal(procsDir('/sys/fs/cgroup/x'), '/sys/fs/cgroup/x');
    assert.equal(procsDir(''), undefined);
  });

  it('counts distinct processes over the cgroup and its descendants', () => {
    const top = tree({ '.': CONTAINER_PROCS, 'child': '17000\n17001\n', 'child/grandchild': '17002\n', 'empty': '' });
    assert.equal(countProcesses({ pids: top }), 6);
    assert.equal(countProcesses(`${top}/child`), 3);
    assert.equal(countProcesses(`${top}/empty`), 0);
  });

  it('skips a v2 threaded child, whose cgroup.procs refuses reads; a refusing top cgroup is an error', () => {
    const top = tree({ '.': '1\n2\n', 'threaded': '' });
    const refusing: FileReader = {
      read(path) {
        if (path.endsWith('/threaded/cgroup.procs') || path === '/refuses/cgroup.procs') throw Object.assign(new Error('read: EOPNOTSUPP'), { code: 'EOPNOTSUPP' });
        return readFileSync(path, 'utf8');
      },
    };
    assert.equal(countProcesses(top, refusing), 2);
    assert.throws(() => countProcesses('/refuses', refusing), /EOPNOTSUPP/);
  });

  it('counts a v1 id listed twice once', () => {
    assert.equal(countProcesses(tree({ '.': '5\n7\n5\n' })), 2);
  });

  it('is undefined for a cgroup that is gone, and reports a malformed file', () => {
    assert.equal(countProcesses(`${root}/no-such-cgroup`), undefined);
    assert.equal(countProcesses({ memory: root }), undefined);
    const bad = tree({ '.': '1\n', 'c': 'x\n' });
    assert.throws(() => countProcesses(bad), (e: unknown) => e instanceof ParseError && e.file === `${bad}/c/cgroup.procs`);
  });

  it('reads a live v1 cgroup: the one this test runs in lists this process', () => {
    const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => /^\d+:([^:]*,)?pids(,[^:]*)?:/.test(l));
    assert.ok(line, 'a pids hierarchy (cgroup v1 host)');
    const dir = `/sys/fs/cgroup/pids${line.split(':')[2]}`;
    const own = new Set(parseProcs(readFileSync(`${dir}/cgroup.procs`, 'utf8'), dir));
    assert.ok(own.has(process.pid));
    assert.ok((countProcesses({ pids: dir }) ?? 0) >= own.size);
  });
});
