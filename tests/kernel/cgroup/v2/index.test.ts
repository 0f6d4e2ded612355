import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CgroupReads } from '../../../../src/collector/cgroup-reads.js';
import { statCgroupV2, V2_READERS } from '../../../../src/kernel/cgroup/v2/index.js';
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

  it('a limit changed while cpu.stat stands still shows in the new figures and leaves the earlier ones as they were', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cstats-v2cpu-'));
    const errors: unknown[] = [];
    const files = new CgroupReads(2, { noNewOomKills: false }, (e) => errors.push(e));
    try {
      writeFileSync(join(dir, 'cpu.stat'), 'usage_usec 5000\nuser_usec 4000\nsystem_usec 1000\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n');
      writeFileSync(join(dir, 'cpu.max'), 'max 100000\n');
      writeFileSync(join(dir, 'cpu.weight'), '100\n');
      const before = files.read(V2_READERS, dir);
      writeFileSync(join(dir, 'cpu.max'), '50000 100000\n'); // docker update --cpus 0.5 on an idle container
      writeFileSync(join(dir, 'cpu.weight'), '200\n');
      files.rereadSettings();
      const after = files.read(V2_READERS, dir);
      assert.deepEqual(errors, []);
      assert.deepEqual([after.cpu?.quotaUs, after.cpu?.periodUs, after.cpu?.weight], [50000n, 100000n, 200n]);
      assert.deepEqual([before.cpu?.quotaUs, before.cpu?.periodUs, before.cpu?.weight], [null, 100000n, 100n], 'the earlier sample is not rewritten');
      assert.equal(after.cpu?.usageNs, 5000000n);
    } finally {
      files.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a directory that vanished gives empty stats and no errors', () => {
    const { ctx, errors } = memoryContext({});
    assert.deepEqual(statCgroupV2(ctx, '/sys/fs/cgroup/gone'), {});
    assert.deepEqual(errors, []);
  });
});
