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

test('alarms: a pane under the title (firing first, then pending), ▲ before a container with a firing alert, its alerts in its view, `a` lists them all', async () => {
  const { Top, styled } = await import('../../src/cli/top.js');
  const top = new Top('http://127.0.0.1:7070', styled(false));
  const at = '2026-01-01T10:00:00.000Z';
  const summary = (id: string, name: string) => ({ id, name, runtime: 'docker', image: 'busybox', state: 'running', labels: {}, createdAt: at, sampledAt: at });
  top.containers = new Map([summary('a'.repeat(64), 'hot'), summary('b'.repeat(64), 'calm')].map((c) => [c.id, c]));
  top.tick = '2026-01-01T10:02:05.000Z';
  const alert = (alarm: string, state: 'firing' | 'pending', severity: string, container: string, name: string, value: number) => ({
    alarm, source: 'threshold', alarmId: `${alarm}-${name}`, state, labels: { severity, name }, annotations: { summary: `${name} is ${alarm}` }, value,
    activeAt: '2026-01-01T10:00:00.000Z', firedAt: state === 'firing' ? '2026-01-01T10:01:00.000Z' : null, reason: null, container: { id: container.repeat(64), name },
  });
  top.alerts = [alert('Slow', 'pending', 'low', 'b', 'calm', 3), alert('CpuHigh', 'firing', 'critical', 'a', 'hot', 87.654321)];
  const lines = top.frame(100, 24);
  assert.equal(lines[1].trimEnd(), 'ALARMS 1 firing, 1 pending (a lists them)');
  assert.equal(lines[2].trimEnd(), '▲  critical  CpuHigh  on hot  value 87.65  for 1m 05s  hot is CpuHigh');
  assert.equal(lines[3].trimEnd(), '…  pending low  Slow  on calm  value 3  for 2m 05s  calm is Slow');
  assert.match(lines[4], /^NAME/);
  const body = lines.slice(5, 7).map((l) => l.trim().split(/\s{2,}/)[0]);
  assert.deepEqual(body.sort(), ['calm', '▲ hot']);
  assert.equal(lines.length, 24);
  await top.key('a');
  assert.match(top.frame(100, 24)[0], /alarms: 1 firing, 1 pending/);
  await top.key('x');
  top.detail = { id: 'a'.repeat(64), timestamps: [], series: Array.from({ length: 8 }, () => []) };
  top.mode = 'detail';
  const detail = top.frame(100, 24);
  assert.ok(detail.some((l) => l.trimEnd() === '▲  critical  CpuHigh  value 87.65  for 1m 05s  hot is CpuHigh'), detail.join('\n'));
  assert.ok(!detail.some((l) => l.includes('Slow')));
  top.mode = 'list';
  // Nothing firing or pending: no pane, no mark.
  top.alerts = [];
  const quiet = top.frame(100, 24);
  assert.match(quiet[1], /^NAME/);
  assert.ok(!quiet.some((l) => l.includes('▲ ')));
});
