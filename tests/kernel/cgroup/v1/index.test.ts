import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { detectLayout, parseProcCgroup, v1DirsOf } from '../../../../src/kernel/cgroup/hierarchy.js';
import { statCgroupV1 } from '../../../../src/kernel/cgroup/v1/index.js';
import { oneShotReader } from '../../../../src/kernel/kept-file.js';
import { parseMountInfo } from '../../../../src/kernel/proc/mountinfo.js';
import { diskContext } from '../../context.js';
import { requires } from '../../../requires.js';

const FIXTURE = 'tests/fixtures/kernel/cgroup1-6.18';

describe('statCgroupV1', () => {
  it('reads every controller of a real cgroup (kernel 6.18, separate cpu and cpuacct)', () => {
    const { ctx, errors } = diskContext();
    const stats = statCgroupV1(ctx, {
      cpu: `${FIXTURE}/cpu/kt`,
      cpuacct: `${FIXTURE}/cpuacct/kt`,
      memory: `${FIXTURE}/memory/kt`,
      blkio: `${FIXTURE}/blkio/kt`,
      pids: `${FIXTURE}/pids/kt`,
    });
    assert.deepEqual(errors, []);
    assert.equal(stats.cpu?.usageNs, 1779436977n);
    assert.equal(stats.cpu?.quotaUs, 50000n);
    assert.equal(stats.memory?.oomKills, 1n);
    assert.equal(stats.blkio?.devices[0].readBytes, 8552448n);
    assert.deepEqual(stats.pids, { current: 0n, limit: 100n });
    assert.equal(stats.pressure, undefined);
  });

  it('takes pressure from the cgroup2 directory of a hybrid host', () => {
    const { ctx, errors } = diskContext();
    const stats = statCgroupV1(ctx, { unified: 'tests/fixtures/kernel/cgroup2-6.1/kt' });
    assert.deepEqual(errors, []);
    assert.deepEqual(Object.keys(stats), ['pressure']);
  });

  it("reads this process's own cgroup on this machine", { skip: requires(existsSync('/sys/fs/cgroup/memory'), 'cgroup v1 memory hierarchy') }, () => {
    const layout = detectLayout(parseMountInfo(oneShotReader.read('/proc/self/mountinfo')!));
    const dirs = v1DirsOf(layout, parseProcCgroup(oneShotReader.read('/proc/self/cgroup')!));
    const { ctx, errors } = diskContext();
    const t0 = process.hrtime.bigint();
    const stats = statCgroupV1(ctx, dirs);
    const us = Number(process.hrtime.bigint() - t0) / 1000;
    assert.deepEqual(errors, []);
    assert.ok(stats.cpu?.usageNs !== undefined && stats.memory?.usageBytes !== undefined, JSON.stringify(Object.keys(stats)));
    assert.ok(us < 50_000, `one cgroup took ${us} µs`);
  });
});
