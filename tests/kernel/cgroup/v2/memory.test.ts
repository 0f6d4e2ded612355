import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { CgroupStats } from '../../../../src/kernel/types.js';
import { parseMemoryEvents, parseMemoryStatV2, statMemory } from '../../../../src/kernel/cgroup/v2/memory.js';
import { ParseError } from '../../../../src/kernel/errors.js';
import { diskContext, memoryContext, U64_MAX } from '../../context.js';

// Real files from the kernel 6.1 test VM: "kt" has memory.max 64M and a 20 MiB tmpfs file,
// "oom" has memory.max 16M and had one OOM kill.
const FIXTURE = 'tests/fixtures/kernel/cgroup2-6.1';

describe('v2 memory parsers', () => {
  it('memory.stat: every key, named fields', () => {
    const m = parseMemoryStatV2(readFileSync(`${FIXTURE}/kt/memory.stat`, 'latin1'), 'memory.stat');
    assert.equal(Object.keys(m.stat!).length, 47);
    assert.equal(m.stat!.shmem, 20971520n);
    assert.equal(m.stat!.slab, 51120n);
    assert.equal(m.rssBytes, 0n);
    assert.equal(m.cacheBytes, 20971520n);
    assert.equal(m.inactiveFileBytes, 0n);
    assert.equal(m.activeFileBytes, 0n);
    assert.equal(m.mappedFileBytes, 0n);
    assert.equal(m.swapBytes, undefined);
    assert.equal(parseMemoryStatV2(`anon ${U64_MAX}\n`, 'f').rssBytes, 18446744073709551615n);
    assert.deepEqual(parseMemoryStatV2('', 'f'), { stat: {} });
    assert.throws(() => parseMemoryStatV2('anon 1\nfile\n', 'f'), ParseError);
  });

  it('memory.events: max → failcnt, oom, oom_kill', () => {
    assert.deepEqual(parseMemoryEvents(readFileSync(`${FIXTURE}/oom/memory.events`, 'latin1'), 'f'), {
      failcnt: 35n, oomEvents: 1n, oomKills: 1n,
    });
    assert.deepEqual(parseMemoryEvents('low 0\nhigh 0\n', 'f'), {});
    assert.throws(() => parseMemoryEvents('max x\n', 'f'), ParseError);
  });
});

describe('v2 statMemory', () => {
  it('reads a real limited cgroup', () => {
    const { ctx, errors } = diskContext();
    const stats: CgroupStats = {};
    statMemory(ctx, `${FIXTURE}/kt`, stats);
    assert.deepEqual(errors, []);
    const { stat, ...named } = stats.memory!;
    assert.equal(stat!.file, 20971520n);
    assert.deepEqual(named, {
      usageBytes: 21024768n,
      limitBytes: 67108864n,
      maxUsageBytes: 22282240n,
      rssBytes: 0n,
      cacheBytes: 20971520n,
      inactiveFileBytes: 0n,
      activeFileBytes: 0n,
      mappedFileBytes: 0n,
      swapBytes: 0n,
      swapLimitBytes: null,
      failcnt: 0n,
      oomEvents: 0n,
      oomKills: 0n,
    });
  });

  it('"max" limits are null; a kernel before 5.19 has no memory.peak; no swap accounting, no swap files', () => {
    const { ctx, errors } = memoryContext({ '/c/memory.current': '4096\n', '/c/memory.max': 'max\n' });
    const stats: CgroupStats = {};
    statMemory(ctx, '/c', stats);
    assert.deepEqual(stats.memory, { usageBytes: 4096n, limitBytes: null });
    assert.deepEqual(errors, []);
  });

  it('no memory controller: no memory stats; malformed file reported', () => {
    const { ctx, errors } = memoryContext({ '/bad/memory.max': '64M\n' });
    const stats: CgroupStats = {};
    statMemory(ctx, '/nomem', stats);
    statMemory(ctx, '/bad', stats);
    assert.deepEqual(stats, {});
    assert.equal(errors.length, 1);
  });
});
