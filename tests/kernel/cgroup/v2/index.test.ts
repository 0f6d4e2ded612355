import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { statCgroupV2 } from '../../../../src/kernel/cgroup/v2/index.js';
import { diskContext, memoryContext } from '../../context.js';

describe('statCgroupV2', () => {
  it('reads every controller of a real cgroup (kernel 6.1 VM, cpu.max 50000 100000)', () => {
    const { ctx, errors } = diskContext();
    const stats = statCgroupV2(ctx, 'tests/fixtures/kernel/cgroup2-6.1/kt');
    assert.deepEqual(errors, []);
    assert.deepEqual(stats.cpu, {
      usageNs: 769278000n,
      userNs: 649337000n,
      systemNs: 119941000n,
      periods: 16n,
      throttledPeriods: 14n,
      throttledNs: 685067000n,
      quotaUs: 50000n,
      periodUs: 100000n,
      weight: 100n,
    });
    assert.equal(stats.memory?.limitBytes, 67108864n);
    assert.equal(stats.blkio?.devices[0].writeBytes, 8388608n);
    assert.deepEqual(stats.pids, { current: 0n, limit: 100n });
    assert.equal(stats.pressure?.cpu?.some?.totalUs, 695407n);
  });

  it('a directory that vanished gives empty stats and no errors', () => {
    const { ctx, errors } = memoryContext({});
    assert.deepEqual(statCgroupV2(ctx, '/sys/fs/cgroup/gone'), {});
    assert.deepEqual(errors, []);
  });
});
