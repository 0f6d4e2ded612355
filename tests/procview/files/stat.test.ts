import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderStat } from '../../../src/procview/files/stat.js';

const HOST = readFileSync('tests/fixtures/procview/host/stat', 'latin1');
const S = 1_000_000_000n;

const cpuLines = (out: string): string[] => out.split('\n').filter((l) => l.startsWith('cpu'));

test('per-CPU figures map CPU i to host CPU visible[i]; idle is the rest of that CPU', () => {
  const perCpu = new Map([
    [0, { userNs: 100n * S, systemNs: 20n * S }],
    [1, { userNs: 300n * S, systemNs: 40n * S }],
  ]);
  const out = renderStat(HOST, [0, 1], [0, 1], { userNs: 400n * S, systemNs: 60n * S, perCpu });
  assert.deepEqual(cpuLines(out), [
    `cpu  40000 0 6000 ${98624 - 12000 + 98595 - 34000} 0 0 0 0 0 0`,
    `cpu0 10000 0 2000 ${98624 - 12000} 0 0 0 0 0 0`,
    `cpu1 30000 0 4000 ${98595 - 34000} 0 0 0 0 0 0`,
  ]);
  // Everything that is not a cpu line is the host's, in order.
  assert.deepEqual(out.split('\n').filter((l) => l !== '' && !l.startsWith('cpu')), HOST.split('\n').filter((l) => l !== '' && !l.startsWith('cpu')));
});

test('a cpuset of one: only that CPU, under its host number', () => {
  const perCpu = new Map([[1, { userNs: 5n * S, systemNs: 0n }]]);
  const out = renderStat(HOST, [1], [1], { userNs: 5n * S, systemNs: 0n, perCpu });
  assert.deepEqual(cpuLines(out), [`cpu  500 0 0 ${98595 - 500} 0 0 0 0 0 0`, `cpu1 500 0 0 ${98595 - 500} 0 0 0 0 0 0`]);
});

test('a quota of one CPU within a cpuset of CPUs 1-2: the first allowed CPU, cpu1', () => {
  const out = renderStat(HOST, [1], [1], { userNs: 5n * S, systemNs: 0n });
  assert.deepEqual(cpuLines(out).map((l) => l.split(' ')[0]), ['cpu', 'cpu1']);
});

test('quota narrower than the cpuset (or v2): the time spreads over the visible CPUs', () => {
  // 0.5 CPU for the whole of the host's uptime on one visible CPU: 50 % busy.
  const half = 493n * S;
  const out = renderStat(HOST, [0, 1], [0], { userNs: half, systemNs: 0n });
  const elapsed = (98624n + 98595n) / 2n;
  assert.deepEqual(cpuLines(out), [`cpu  49300 0 0 ${elapsed - 49300n} 0 0 0 0 0 0`, `cpu0 49300 0 0 ${elapsed - 49300n} 0 0 0 0 0 0`]);
  // More time used than elapsed (accounting lag): idle 0, never negative.
  assert.match(renderStat(HOST, [0, 1], [0], { userNs: 10n ** 15n, systemNs: 0n }), /^cpu0 100000000 0 0 0 /m);
});

test('procs_running and procs_blocked are the container tasks in R and D; without counts the host lines stay', () => {
  const usage = { userNs: 0n, systemNs: 0n };
  const out = renderStat(HOST, [0, 1], [0, 1], usage, { running: 1, uninterruptible: 2, total: 7 });
  const procs = (text: string) => text.split('\n').filter((l) => l.startsWith('procs_'));
  assert.deepEqual(procs(out), ['procs_running 1', 'procs_blocked 2']);
  assert.deepEqual(procs(renderStat(HOST, [0, 1], [0, 1], usage)), ['procs_running 4', 'procs_blocked 0']);
  // In the host's place: after processes, before softirq.
  assert.deepEqual(out.split('\n').map((l) => l.split(' ')[0]).slice(-5), ['processes', 'procs_running', 'procs_blocked', 'softirq', '']);
});
