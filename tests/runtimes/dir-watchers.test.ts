/**
 * DirWatchers over real inotify watches on temporary directories: a burst of events in several
 * watched directories makes one call naming each once; a directory that is not there is no
 * error; prune and closeAll stop the watches; the periodic rescan runs until closeAll.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DirWatchers } from '../../src/runtimes/dir-watchers.js';

test('a burst of events in two directories: one call, each key once, after the debounce', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'dirwatchers-'));
  const bursts: string[][] = [];
  const w = new DirWatchers(80, (keys) => bursts.push([...keys].sort()));
  t.after(() => {
    w.closeAll();
    rmSync(root, { recursive: true, force: true });
  });
  for (const d of ['a', 'b', 'c']) mkdirSync(join(root, d));
  for (const d of ['a', 'b', 'c']) w.add(d, join(root, d));
  w.add('missing', join(root, 'not-there'));
  for (let i = 0; i < 5; i++) writeFileSync(join(root, 'a', `f${i}`), 'x');
  writeFileSync(join(root, 'b', 'g'), 'x');
  await sleep(30);
  assert.deepEqual(bursts, [], 'nothing before the debounce');
  await sleep(250);
  assert.deepEqual(bursts, [['a', 'b']]);
  // Pruned: b's events are no longer heard; c's are.
  w.prune((k) => k !== 'b');
  writeFileSync(join(root, 'b', 'h'), 'x');
  writeFileSync(join(root, 'c', 'h'), 'x');
  await sleep(300);
  assert.deepEqual(bursts, [['a', 'b'], ['c']]);
  // Closed: nothing more, also for a burst under way.
  writeFileSync(join(root, 'a', 'late'), 'x');
  await sleep(10);
  w.closeAll();
  await sleep(300);
  assert.equal(bursts.length, 2);
});

test('every: the rescan runs on its period until closeAll; a second call replaces the first', async () => {
  const w = new DirWatchers(50, () => assert.fail('no watch'));
  let first = 0;
  let second = 0;
  w.every(20, () => first++);
  await sleep(110);
  w.every(20, () => second++);
  const firstAtSwitch = first;
  await sleep(110);
  w.closeAll();
  const secondAtClose = second;
  await sleep(100);
  assert.ok(firstAtSwitch >= 3, `first ran ${firstAtSwitch} times`);
  assert.equal(first, firstAtSwitch, 'the first rescan stopped when replaced');
  assert.ok(secondAtClose >= 3, `second ran ${secondAtClose} times`);
  assert.equal(second, secondAtClose, 'no rescan after closeAll');
});
