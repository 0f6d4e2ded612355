/**
 * The stall gate on this host's real cgroup2 tree (the hybrid host's /sys/fs/cgroup/unified
 * has no controllers, but PSI is accounted per directory): a parent's "some" total moves
 * whenever a child's does, by as much to within the kernel's rounding; the gate tells quiet
 * parents from busy ones. And the pressure reader's side of it, on in-memory files.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { StallGate } from '../../src/collector/stall-gate.js';
import { parsePressure } from '../../src/kernel/cgroup/v2/pressure.js';
import type { ContainerInfo } from '../../src/model.js';
import { sleep } from '../integration/support.js';
import { requires } from '../requires.js';

const UNIFIED = '/sys/fs/cgroup/unified';
const hybrid = existsSync(`${UNIFIED}/cgroup.procs`) && !existsSync(`${UNIFIED}/cpu.max`) && process.getuid?.() === 0;
const REL = `/cstats-stall-${process.pid}`;

const someTotal = (dir: string): bigint => parsePressure(readFileSync(`${dir}/cpu.pressure`, 'latin1'), 'cpu.pressure').some!.totalUs;

function container(id: string, rel: string): ContainerInfo {
  return {
    id,
    name: id,
    runtime: 'cgroupfs',
    image: '',
    labels: {},
    state: 'running',
    cgroup: { version: 1, path: rel, dirs: { unified: UNIFIED + rel } },
    network: { kind: 'host' },
    createdMs: 0,
    mounts: [],
  };
}

describe('stall gate on the real cgroup2 tree', { skip: requires(hybrid, 'root and a hybrid host with an empty cgroup2 tree') }, () => {
  const procs: ChildProcess[] = [];
  after(() => {
    for (const p of procs) p.kill('SIGKILL');
    spawnSync('sh', ['-c', `sleep 0.3; rmdir ${UNIFIED}${REL}/a ${UNIFIED}${REL}/b ${UNIFIED}${REL}`]);
  });

  it("a child's CPU stall counts in its parent's total; idle children leave the parent quiet", async () => {
    for (const c of ['a', 'b']) mkdirSync(`${UNIFIED}${REL}/${c}`, { recursive: true });
    const gate = new StallGate();
    const children = [container('a', `${REL}/a`), container('b', `${REL}/b`)];
    gate.update(children);
    await sleep(300);
    gate.update(children);
    assert.deepEqual(gate.quietFor(children[0]), { cpu: true, memory: true, io: true }, 'two empty children: nothing moved');
    assert.deepEqual(gate.quietFor(container('elsewhere', '/elsewhere/x')), { cpu: false, memory: false, io: false });

    // Two busy loops on one CPU: each waits while the other runs.
    const parentBefore = someTotal(`${UNIFIED}${REL}`);
    const childBefore = someTotal(`${UNIFIED}${REL}/a`);
    for (let i = 0; i < 2; i++) {
      const p = spawn('taskset', ['-c', '0', 'sh', '-c', `echo $$ > ${UNIFIED}${REL}/a/cgroup.procs && while :; do :; done`], { stdio: 'ignore' });
      procs.push(p);
    }
    await sleep(500);
    gate.update(children);
    // The parent's window encloses the child's: read before it, and after it.
    const childDelta = someTotal(`${UNIFIED}${REL}/a`) - childBefore;
    const parentDelta = someTotal(`${UNIFIED}${REL}`) - parentBefore;
    assert.ok(childDelta > 100_000n, `the child stalled: ${childDelta} µs`);
    // Not exactly equal: each read folds the per-CPU stall times in, weighted by non-idle
    // jiffies, and parent and child are folded at different moments.
    assert.ok(parentDelta * 100n >= childDelta * 99n, `parent ${parentDelta} µs against child ${childDelta} µs`);
    assert.equal(gate.quietFor(children[1]).cpu, false, 'a stall under the parent wakes every child of it');
    gate.close();
  });
});

