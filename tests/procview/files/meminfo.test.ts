import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { containerSwapKb, meminfoLine, renderMeminfo, type MemoryView } from '../../../src/procview/files/meminfo.js';
import { memoryViewV1 } from '../../../src/procview/cgroup/v1.js';

const HOST = readFileSync('tests/fixtures/procview/host/meminfo', 'latin1');
const MiB = 1024n * 1024n;

const value = (text: string, key: string): bigint => BigInt((new RegExp(`^${key.replace(/[()]/g, '\\$&')}:\\s+(\\d+)`, 'm').exec(text) ?? [])[1] ?? -1);

function view(over: Partial<MemoryView> = {}): MemoryView {
  return {
    limitBytes: 64n * MiB,
    usageBytes: 20n * MiB,
    swapLimitBytes: 64n * MiB,
    swapUsageBytes: 1n * MiB,
    stat: {
      file: 8n * MiB,
      anon: 10n * MiB,
      activeAnon: 6n * MiB,
      inactiveAnon: 5n * MiB,
      activeFile: 3n * MiB,
      inactiveFile: 4n * MiB,
      unevictable: 0n,
      fileDirty: 12288n,
      fileWriteback: 0n,
      fileMapped: 2n * MiB,
      shmem: 1n * MiB,
      anonThp: 0n,
      shmemThp: 0n,
      slab: 3n * MiB,
      slabReclaimable: 2n * MiB,
      slabUnreclaimable: 1n * MiB,
    },
    ...over,
  };
}

test('a 64 MiB container: MemTotal 65536 kB, free and available from usage and cache', () => {
  const out = renderMeminfo(HOST, view());
  assert.equal(value(out, 'MemTotal'), 65536n);
  assert.equal(value(out, 'MemFree'), 65536n - 20480n);
  assert.equal(value(out, 'MemAvailable'), 65536n - 20480n + 8192n);
  assert.equal(value(out, 'Cached'), 8192n);
  assert.equal(value(out, 'Buffers'), 0n);
  assert.equal(value(out, 'Active'), 9216n);
  assert.equal(value(out, 'Inactive(anon)'), 5120n);
  assert.equal(value(out, 'Dirty'), 12n);
  assert.equal(value(out, 'Shmem'), 1024n);
  assert.equal(value(out, 'Slab'), 3072n);
  // Host has no swap: the container's limit cannot show more than the host has.
  assert.equal(value(out, 'SwapTotal'), 0n);
  // Lines the cgroup cannot answer are the host's, unchanged, in the host's order.
  assert.match(out, /^VmallocTotal:\s+34359738367 kB$/m);
  assert.deepEqual(out.split('\n').map((l) => l.split(':')[0]), HOST.split('\n').map((l) => l.split(':')[0]));
  assert.match(out, /^MemTotal:          65536 kB$/m);
});

test('no limit, or a limit above the host: the host total', () => {
  assert.equal(value(renderMeminfo(HOST, view({ limitBytes: null })), 'MemTotal'), 24683620n);
  assert.equal(value(renderMeminfo(HOST, view({ limitBytes: 2n ** 62n })), 'MemTotal'), 24683620n);
});

test('usage above the limit (kernel lag) gives MemFree 0, never a wrapped number', () => {
  assert.equal(value(renderMeminfo(HOST, view({ usageBytes: 65n * MiB })), 'MemFree'), 0n);
});

test('swap: the lower of the host swap and the cgroup swap limit, minus what is used', () => {
  assert.deepEqual(containerSwapKb(view(), 1048576n), [65536n, 64512n]);
  assert.deepEqual(containerSwapKb(view({ swapLimitBytes: null }), 1048576n), [1048576n, 1047552n]);
  assert.deepEqual(containerSwapKb(view({ swapLimitBytes: undefined }), 1048576n), [0n, 0n]);
  assert.deepEqual(containerSwapKb(view({ swapLimitBytes: 64n * MiB }), 1024n), [1024n, 0n]);
});

test('meminfoLine pads like the kernel, wider values push right', () => {
  assert.equal(meminfoLine('MemTotal', 65536n), 'MemTotal:          65536 kB');
  assert.equal(meminfoLine('Inactive(file)', 123456789n), 'Inactive(file): 123456789 kB');
});

test('v1 memory.stat: hierarchical limits, memsw minus memory, AnonPages without shmem', () => {
  const stat = {
    hierarchical_memory_limit: 67108864n,
    hierarchical_memsw_limit: 134217728n,
    total_cache: 4096n,
    total_shmem: 8192n,
    total_active_anon: 40960n,
    total_inactive_anon: 8192n,
    total_swap: 0n,
  };
  const v = memoryViewV1(stat, 1n << 60n, stat.total_swap);
  assert.equal(v.limitBytes, 67108864n);
  assert.equal(v.swapLimitBytes, 67108864n);
  assert.equal(v.usageBytes, 1n << 60n);
  assert.equal(v.stat.anon, 40960n);
  // PAGE_COUNTER_MAX means no limit; no total_swap means no swap accounting.
  const unlimited = memoryViewV1({ hierarchical_memory_limit: 9223372036854771712n }, 0n, undefined);
  assert.equal(unlimited.limitBytes, null);
  assert.equal(unlimited.swapLimitBytes, undefined);
});
