import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CgroupStats } from '../../../../src/kernel/types.js';
import type { StatContext } from '../../../../src/kernel/cgroup/read-file.js';
import { CgroupReads } from '../../../../src/collector/cgroup-reads.js';
import type { MemoryStats } from '../../../../src/kernel/types.js';
import { parseMemoryStatV1, parseOomKills, parseV1Limit, statMemory } from '../../../../src/kernel/cgroup/v1/memory.js';
import { ParseError } from '../../../../src/kernel/errors.js';
import { parseKeyValueRecord } from '../../../../src/kernel/parse.js';
import { diskContext, memoryContext, U64_MAX } from '../../context.js';
import { requires } from '../../../requires.js';

// Real files of a cgroup with -m 64m --memory-swap 128m that had one OOM kill, kernel 6.18.
const DIR = 'tests/fixtures/kernel/cgroup1-6.18/memory/kt';

describe('v1 memory parsers', () => {
  it('limits: the page-counter maximum (4 KiB and 64 KiB pages) is unlimited', () => {
    assert.equal(parseV1Limit('9223372036854771712\n', 'f'), null);
    assert.equal(parseV1Limit('9223372036854710272\n', 'f'), null);
    assert.equal(parseV1Limit(`${U64_MAX}\n`, 'f'), null);
    assert.equal(parseV1Limit('67108864\n', 'f'), 67108864n);
    assert.equal(parseV1Limit('9007199254740993\n', 'f'), 9007199254740993n);
    for (const bad of ['', '-1\n', 'max\n']) assert.throws(() => parseV1Limit(bad, 'f'), ParseError);
  });

  it('memory.stat: every key, named fields from total_*', () => {
    const m = parseMemoryStatV1(readFileSync(`${DIR}/memory.stat`, 'latin1'), 'memory.stat');
    assert.equal(Object.keys(m.stat!).length, 42);
    assert.equal(m.stat!.hierarchical_memsw_limit, 134217728n);
    assert.equal(m.stat!.pgfault, 10074n);
    assert.equal(m.cacheBytes, 8192n);
    assert.equal(m.rssBytes, 0n);
    assert.equal(m.swapBytes, 0n);
    assert.equal(m.inactiveFileBytes, 8192n);
    assert.equal(m.activeFileBytes, 0n);
    assert.equal(m.mappedFileBytes, 0n);
  });

  it('memory.stat: the root cgroup of this kind of host (unlimited hierarchical limit above 2^53)', () => {
    const m = parseMemoryStatV1('cache 14565376\nrss 3981312\nhierarchical_memory_limit 9223372036854771712\ntotal_cache 1204273152\ntotal_rss 6873088\n', 'f');
    assert.equal(m.stat!.hierarchical_memory_limit, 9223372036854771712n);
    assert.equal(m.rssBytes, 6873088n);
    assert.equal(m.cacheBytes, 1204273152n);
    assert.equal(m.swapBytes, undefined); // no total_swap without swap accounting
    assert.deepEqual(parseMemoryStatV1('', 'f'), { stat: {} });
    assert.throws(() => parseMemoryStatV1('cache\n', 'f'), ParseError);
  });

  it('memory.stat: `stat` is the full record, a plain property; malformed lines and values past u64 fail', () => {
    const text = readFileSync(`${DIR}/memory.stat`, 'latin1');
    const m = parseMemoryStatV1(text, 'memory.stat');
    assert.ok(Object.keys(m).includes('stat'), 'stat is an own enumerable property (JSON, spread, deepEqual)');
    assert.deepEqual(m.stat, parseKeyValueRecord(text, 'memory.stat'));
    assert.equal({ ...m }.stat!.pgfault, 10074n);
    for (const bad of ['cache 1\nrss x\n', 'cache 1\nrss\n', 'cache 1\nrss 18446744073709551616\n', 'cache 1\n rss 2\n']) {
      assert.throws(() => parseMemoryStatV1(bad, 'f'), ParseError, JSON.stringify(bad));
    }
    // 20 digits within u64: valid.
    assert.equal(parseMemoryStatV1(`total_rss ${U64_MAX}\nrss 1\n`, 'f').rssBytes, 18446744073709551615n);
  });

  it('memory.oom_control: oom_kill since 4.13, absent before', () => {
    assert.equal(parseOomKills('oom_kill_disable 0\nunder_oom 0\noom_kill 1\n', 'f'), 1n);
    assert.equal(parseOomKills('oom_kill_disable 0\nunder_oom 0\n', 'f'), undefined);
    assert.throws(() => parseOomKills('oom_kill_disable\n', 'f'), ParseError);
  });
});

describe('v1 statMemory', () => {
  it('reads a real limited cgroup', () => {
    const { ctx, errors } = diskContext();
    const stats: CgroupStats = {};
    statMemory(ctx, { memory: DIR }, stats);
    assert.deepEqual(errors, []);
    const { stat, ...named } = stats.memory!;
    assert.equal(Object.keys(stat!).length, 42);
    assert.deepEqual(named, {
      usageBytes: 253952n,
      limitBytes: 67108864n,
      maxUsageBytes: 67108864n,
      failcnt: 151n,
      rssBytes: 0n,
      cacheBytes: 8192n,
      swapBytes: 0n,
      inactiveFileBytes: 8192n,
      activeFileBytes: 0n,
      mappedFileBytes: 0n,
      swapLimitBytes: 67108864n, // memsw 128 MiB − mem 64 MiB
      oomKills: 1n,
    });
  });

  it('unlimited memory: null limit and null swap limit; no memsw file without swap accounting', () => {
    const unlimited = memoryContext({
      '/m/memory.usage_in_bytes': '1210974208\n',
      '/m/memory.limit_in_bytes': '9223372036854771712\n',
      '/m/memory.memsw.limit_in_bytes': '9223372036854771712\n',
    });
    const stats: CgroupStats = {};
    statMemory(unlimited.ctx, { memory: '/m' }, stats);
    assert.deepEqual(stats.memory, { usageBytes: 1210974208n, limitBytes: null, swapLimitBytes: null });

    const noSwapAccounting = memoryContext({ '/m/memory.limit_in_bytes': '67108864\n' });
    const stats2: CgroupStats = {};
    statMemory(noSwapAccounting.ctx, { memory: '/m' }, stats2);
    assert.deepEqual(stats2.memory, { limitBytes: 67108864n });
    assert.deepEqual([...unlimited.errors, ...noSwapAccounting.errors], []);
  });

  it('memory limited, swap unlimited: null swap limit', () => {
    const { ctx } = memoryContext({
      '/m/memory.limit_in_bytes': '67108864\n',
      '/m/memory.memsw.limit_in_bytes': '9223372036854771712\n',
    });
    const stats: CgroupStats = {};
    statMemory(ctx, { memory: '/m' }, stats);
    assert.equal(stats.memory?.swapLimitBytes, null);
  });

  it('no memory directory or no files: no memory stats; malformed file: reported', () => {
    const { ctx, errors } = memoryContext({ '/bad/memory.failcnt': '1 2\n' });
    const stats: CgroupStats = {};
    statMemory(ctx, {}, stats);
    statMemory(ctx, { memory: '/gone' }, stats);
    assert.deepEqual(stats, {});
    statMemory(ctx, { memory: '/bad' }, stats);
    assert.deepEqual(stats, {});
    assert.equal(errors.length, 1);
  });

  it("reads this machine's root memory cgroup consistently", { skip: requires(existsSync('/sys/fs/cgroup/memory/memory.stat'), 'cgroup v1 memory hierarchy') }, () => {
    const { ctx, errors } = diskContext();
    const stats: CgroupStats = {};
    statMemory(ctx, { memory: '/sys/fs/cgroup/memory' }, stats);
    assert.deepEqual(errors, []);
    const m = stats.memory!;
    assert.equal(m.limitBytes, null);
    assert.ok(m.usageBytes! > 0n && m.maxUsageBytes! > 0n);
    // The root's usage is computed from the same page counts as total_rss + total_cache.
    const sum = m.rssBytes! + m.cacheBytes!;
    const diff = sum > m.usageBytes! ? sum - m.usageBytes! : m.usageBytes! - sum;
    assert.ok(diff * 10n < m.usageBytes!, `rss+cache ${sum} vs usage ${m.usageBytes}`);
    assert.equal(m.inactiveFileBytes, m.stat!.total_inactive_file);
  });
});

describe('v1 statMemory through the collector\'s reads', () => {
  it('unchanged memory.stat is parsed once, yet every sample gets its own MemoryStats', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cstats-memstat-'));
    try {
      writeFileSync(`${dir}/memory.stat`, 'cache 4096\nrss 8192\ntotal_cache 4096\ntotal_rss 8192\ntotal_inactive_file 4096\n');
      writeFileSync(`${dir}/memory.usage_in_bytes`, '12288\n');
      writeFileSync(`${dir}/memory.limit_in_bytes`, '67108864\n');
      const onError = (err: unknown): void => assert.fail(String(err));
      const files = new CgroupReads(1, { noNewOomKills: false }, onError);
      const ctx: StatContext = { reader: files, onError };
      const read = (): MemoryStats => {
        const stats: CgroupStats = {};
        statMemory(ctx, { memory: dir }, stats);
        return stats.memory!;
      };
      const first = read();
      writeFileSync(`${dir}/memory.usage_in_bytes`, '16384\n');
      const second = read();
      assert.notEqual(second, first);
      assert.equal(first.usageBytes, 12288n, 'the second read did not change the first sample');
      assert.equal(second.usageBytes, 16384n);
      assert.equal(second.rssBytes, 8192n);
      assert.equal(second.inactiveFileBytes, 4096n);
      assert.equal(second.stat, first.stat, 'the full record is the shared parse');
      assert.equal(second.stat?.total_rss, 8192n);
      writeFileSync(`${dir}/memory.stat`, 'cache 0\nrss 8192\ntotal_cache 0\ntotal_rss 8192\ntotal_inactive_file 0\n');
      const third = read();
      assert.equal(third.cacheBytes, 0n);
      assert.equal(second.cacheBytes, 4096n);
      assert.equal(third.stat?.total_cache, 0n);
      files.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
