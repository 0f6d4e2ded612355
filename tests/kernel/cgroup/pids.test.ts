import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CgroupStats } from '../../../src/kernel/types.js';
import { statPids as statPidsV1 } from '../../../src/kernel/cgroup/v1/pids.js';
import { statPids as statPidsV2 } from '../../../src/kernel/cgroup/v2/pids.js';
import { ParseError } from '../../../src/kernel/errors.js';
import { diskContext, memoryContext, U64_MAX } from '../context.js';

describe('pids (v1 and v2)', () => {
  it('reads real v1 (kernel 6.18) and v2 (kernel 6.1) directories', () => {
    const { ctx, errors } = diskContext();
    const v1: CgroupStats = {};
    statPidsV1(ctx, { pids: 'tests/fixtures/kernel/cgroup1-6.18/pids/kt' }, v1);
    assert.deepEqual(v1.pids, { current: 0n, limit: 100n });
    const v2: CgroupStats = {};
    statPidsV2(ctx, 'tests/fixtures/kernel/cgroup2-6.1/kt', v2);
    assert.deepEqual(v2.pids, { current: 0n, limit: 100n });
    assert.deepEqual(errors, []);
  });

  it('"max" is no limit; u64 values stay exact', () => {
    const { ctx } = memoryContext({ '/p/pids.current': `${U64_MAX}\n`, '/p/pids.max': 'max\n' });
    const stats: CgroupStats = {};
    statPidsV2(ctx, '/p', stats);
    assert.deepEqual(stats.pids, { current: 18446744073709551615n, limit: null });
  });

  it('the root cgroup has no pids files; malformed and empty files are reported', () => {
    const { ctx, errors } = memoryContext({ '/bad/pids.current': '\n', '/bad/pids.max': 'unlimited\n' });
    const stats: CgroupStats = {};
    statPidsV1(ctx, { pids: '/root' }, stats);
    statPidsV1(ctx, {}, stats);
    statPidsV2(ctx, '/bad', stats);
    assert.deepEqual(stats, {});
    assert.equal(errors.length, 2);
    assert.ok(errors.every((e) => e instanceof ParseError));
  });
});
