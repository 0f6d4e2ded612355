import { test } from 'node:test';
import assert from 'node:assert/strict';
import { layout, Screen, sparkline, splitKeys } from '../../src/cli/top.js';

test('top layout: docker stats order; narrower terminals drop BLOCK I/O and CONTAINER ID first, then NET I/O', () => {
  const keys = (w: number) => layout(w).columns.map((c) => c.key);
  assert.deepEqual(keys(160), ['id', 'name', 'cpu', 'cpuLimitPercent', 'throttledPercent', 'mem', 'memPerc', 'psiMemory', 'net', 'block', 'pids']);
  assert.deepEqual(keys(120), ['name', 'cpu', 'cpuLimitPercent', 'throttledPercent', 'mem', 'memPerc', 'psiMemory', 'net', 'pids']);
  assert.deepEqual(keys(80), ['name', 'cpu', 'cpuLimitPercent', 'throttledPercent', 'mem', 'memPerc', 'pids']);
  for (const w of [80, 100, 120, 200]) {
    const { columns, nameWidth } = layout(w);
    const total = columns.reduce((n, c) => n + (c.key === 'name' ? nameWidth : c.width), 0) + 2 * (columns.length - 1);
    assert.ok(total <= w, `${w}: ${total}`);
  }
});

test('sparkline: scaled from 0 to the maximum, gaps blank, padded to the width', () => {
  assert.equal(sparkline([0, 1, 2, 4, 8], 5), '▁▁▂▄█');
  assert.equal(sparkline([null, 5, 5], 4), '  ██');
  assert.equal(sparkline([0, 0], 2), '▁▁');
});

test('keys: escape sequences whole, other characters one by one', () => {
  assert.deepEqual(splitKeys('\x1b[Aq/\x1b[6~\x1bOC\r'), ['\x1b[A', 'q', '/', '\x1b[6~', '\x1b[C', '\r']);
});

test('screen: writes only the lines that changed, everything again after invalidate()', () => {
  const writes: string[] = [];
  const s = new Screen((t) => writes.push(t));
  s.draw(['a', 'b', 'c'], 3);
  s.draw(['a', 'B', 'c'], 3);
  s.draw(['a', 'B', 'c'], 3);
  assert.deepEqual(writes.slice(1), ['\x1b[2;1HB\x1b[K']);
  s.invalidate();
  s.draw(['a', 'B', 'c'], 3);
  assert.equal(writes.length, 3);
});
