/**
 * LoadTracker on a fixture tree (a fake /proc and cgroup v2 directories): every cgroup below
 * the root is folded from 0 at each pass, cgroups that appear start at 0, those that go are dropped.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, test } from 'node:test';
import type { Avenrun } from '../../src/procview/files/loadavg.js';
import { LoadTracker } from '../../src/procview/loadtracker.js';

const root = mkdtempSync(`${tmpdir()}/loadtracker-`);
after(() => rmSync(root, { recursive: true, force: true }));
const proc = `${root}/proc`;
const cg = `${root}/cgroup`;

function task(tid: number, state: string): void {
  mkdirSync(`${proc}/${tid}`, { recursive: true });
  writeFileSync(`${proc}/${tid}/stat`, `${tid} (a b) ${state} 1 ${tid} ${tid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n`);
}

function cgroup(path: string, tids: number[]): void {
  mkdirSync(`${cg}/${path}`, { recursive: true });
  writeFileSync(`${cg}/${path}/cgroup.threads`, tids.map((t) => `${t}\n`).join(''));
}

task(10, 'R');
task(11, 'D');
task(12, 'S');
task(13, 'R');
cgroup('pod', []);
writeFileSync(`${cg}/cgroup.threads`, '13\n'); // the root's own threads are never counted
cgroup('pod/a', [10, 12]);
cgroup('pod/a/init.scope', [11]);

test('each pass folds every cgroup subtree R+D count; new cgroups start at 0; gone ones are dropped', () => {
  const posted: Map<string, Avenrun>[] = [];
  const t = new LoadTracker(proc, cg, 'cgroup.threads', (m) => posted.push(m));
  assert.equal(t.get(`${cg}/pod/a`), undefined);
  t.tick();
  // a: 10 (R) and its child's 11 (D) = 2 active; one fold from 0 is active·(2048 - e^(-5/T)·2048):
  // 2·164, 2·34, 2·11 in 1/2048ths (the kernel's EXP_1, EXP_5, EXP_15 are 1884, 2014, 2037).
  assert.deepEqual(t.get(`${cg}/pod/a`), [328, 68, 22]);
  assert.deepEqual(t.get(`${cg}/pod`), [328, 68, 22]);
  assert.deepEqual(t.get(`${cg}/pod/a/init.scope`), [164, 34, 11]);
  assert.equal(t.get(cg), undefined);
  for (let i = 1; i < 12; i++) t.tick();
  assert.equal(posted.length, 12);
  const a = t.get(`${cg}/pod/a`);
  assert.ok(a && Math.abs(a[0] / 2048 - 2 * (1 - Math.exp(-1))) < 0.02, `load1 of 2 tasks after a minute: ${a}`);

  cgroup('pod/b', [13]);
  t.tick();
  assert.deepEqual(t.get(`${cg}/pod/b`), [164, 34, 11], 'a new cgroup starts from 0, not from its count');
  rmSync(`${cg}/pod/b`, { recursive: true });
  t.tick();
  assert.equal(t.get(`${cg}/pod/b`), undefined);
  assert.equal(posted.at(-1)?.has(`${cg}/pod/b`), false);
});
