/**
 * ProcessCountLog: a count for every tick, read from cgroup.procs only when the group's CPU time
 * or task count moved; kept as changes over the window; forgotten with the container.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, test } from 'node:test';
import { ProcessCountLog } from '../../src/collector/process-counts.js';
import type { ContainerInfo, Sample } from '../../src/model.js';

const dir = mkdtempSync(`${tmpdir()}/cstats-proccount-`);
after(() => rmSync(dir, { recursive: true, force: true }));

const info = { id: 'c1', cgroup: { version: 2, path: '/c1', dir } } as unknown as ContainerInfo;
const S = 1_000_000_000n;
const sample = (sec: number, usageNs: bigint, tasks: bigint): Sample =>
  ({ timestampMs: sec * 1000, monoNs: BigInt(sec) * S, cgroup: { cpu: { usageNs }, pids: { current: tasks } } }) as unknown as Sample;
const procs = (n: number): void => writeFileSync(`${dir}/cgroup.procs`, Array.from({ length: n }, (_, k) => `${10 + k}\n`).join(''));

test('each tick has its count; a group whose CPU time and tasks stand still is not read again', () => {
  const log = new ProcessCountLog(10_000);
  procs(3);
  log.observe([{ info, latest: sample(1, 100n, 5n) }]);
  assert.equal(log.countAt('c1', 1n * S), 3n);
  // The file says 7 now, but nothing of the group ran and its task count stands: it was not read.
  procs(7);
  log.observe([{ info, latest: sample(2, 100n, 5n) }]);
  assert.equal(log.countAt('c1', 2n * S), 3n);
  // CPU time moved: read again.
  log.observe([{ info, latest: sample(3, 200n, 5n) }]);
  assert.equal(log.countAt('c1', 3n * S), 7n);
  // One task: one process, unread.
  log.observe([{ info, latest: sample(4, 300n, 1n) }]);
  assert.equal(log.countAt('c1', 4n * S), 1n);
  assert.deepEqual([1, 2, 3, 4].map((t) => log.countAt('c1', BigInt(t) * S)), [3n, 3n, 7n, 1n]);
  assert.equal(log.countAt('c1', 0n), undefined, 'before the log knew it: none');
});

test('changes older than the window are dropped, the one in force at its start kept; gone containers forgotten', () => {
  const log = new ProcessCountLog(5_000);
  procs(2);
  for (let t = 1; t <= 20; t++) {
    if (t === 10) procs(4);
    log.observe([{ info, latest: sample(t, BigInt(t) * 100n, 9n) }]);
  }
  assert.equal(log.countAt('c1', 16n * S), 4n);
  assert.equal(log.countAt('c1', 9n * S), undefined, 'the change at 1 s is gone: 9 s is outside the window');
  log.observe([]);
  assert.equal(log.countAt('c1', 20n * S), undefined);
});
