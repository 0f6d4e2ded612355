import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { CgroupStats } from '../../../../src/kernel/types.js';
import { mergeBlkio, parseBlkioRwstat, statBlkio } from '../../../../src/kernel/cgroup/v1/blkio.js';
import { ParseError } from '../../../../src/kernel/errors.js';
import { diskContext, memoryContext, U64_MAX } from '../../context.js';

// Real files of a cgroup that wrote 8 MiB and read 8 MiB with O_DIRECT on vda, kernel 6.18.
const DIR = 'tests/fixtures/kernel/cgroup1-6.18/blkio/kt';
const read = (name: string) => readFileSync(`${DIR}/${name}`, 'latin1');

// CFQ on kernel 4.15 (Ubuntu 18.04), two disks.
const CFQ_BYTES = `8:16 Read 4096
8:16 Write 0
8:16 Sync 4096
8:16 Async 0
8:16 Total 4096
8:0 Read 1282048
8:0 Write 2195456
8:0 Sync 2195456
8:0 Async 1282048
8:0 Total 3477504
Total 3481600
`;
const CFQ_IOS = `8:0 Read 124
8:0 Write 104
8:0 Sync 104
8:0 Async 124
8:0 Total 228
Total 228
`;

describe('parseBlkioRwstat / mergeBlkio', () => {
  it('parses a real throttle file, Discard included', () => {
    const m = parseBlkioRwstat(read('blkio.throttle.io_service_bytes'), 'f');
    assert.deepEqual([...m.entries()], [['254:0', { major: 254, minor: 0, read: 8552448n, write: 8388608n, discard: 0n }]]);
  });

  it('an empty file or one with only the Total line has no devices', () => {
    assert.equal(parseBlkioRwstat('', 'f').size, 0);
    assert.equal(parseBlkioRwstat('Total 0\n', 'f').size, 0);
  });

  it('keeps u64 values exact', () => {
    assert.equal(parseBlkioRwstat(`8:0 Read ${U64_MAX}\n8:0 Write 0\n`, 'f').get('8:0')?.read, 18446744073709551615n);
  });

  it('rejects malformed lines', () => {
    for (const bad of ['8:0 Read\n', '8:0 Read 1 2\n', '80 Read 1\n', '8:0 Frob 1\n', '8:0 Read -1\n', 'Total\n']) {
      assert.throws(() => parseBlkioRwstat(bad, 'f'), ParseError, bad);
    }
  });

  it('merges bytes and operations per device, including a device in only one file', () => {
    const devices = mergeBlkio(parseBlkioRwstat(CFQ_BYTES, 'b'), parseBlkioRwstat(CFQ_IOS, 'o'));
    assert.deepEqual(devices, [
      { major: 8, minor: 16, readBytes: 4096n, writeBytes: 0n, reads: 0n, writes: 0n },
      { major: 8, minor: 0, readBytes: 1282048n, writeBytes: 2195456n, reads: 124n, writes: 104n },
    ]);
    assert.deepEqual(mergeBlkio(new Map(), parseBlkioRwstat(CFQ_IOS, 'o')), [
      { major: 8, minor: 0, readBytes: 0n, writeBytes: 0n, reads: 124n, writes: 104n },
    ]);
  });
});

describe('v1 statBlkio: Docker\'s source order', () => {
  it('reads a real cgroup from the throttle files (no CFQ on kernel 6.18)', () => {
    const { ctx, errors, reads } = diskContext();
    const stats: CgroupStats = {};
    statBlkio(ctx, { blkio: DIR }, stats);
    assert.deepEqual(errors, []);
    assert.deepEqual(stats.blkio, {
      source: 'blkio.throttle.io_service_bytes',
      devices: [{ major: 254, minor: 0, readBytes: 8552448n, writeBytes: 8388608n, reads: 55n, writes: 8n, discardBytes: 0n, discards: 0n }],
    });
    assert.deepEqual(reads, [
      `${DIR}/blkio.io_service_bytes_recursive`,
      `${DIR}/blkio.io_serviced_recursive`,
      `${DIR}/blkio.throttle.io_service_bytes`,
      `${DIR}/blkio.throttle.io_serviced`,
    ]);
  });

  it('prefers the CFQ files when they list a device', () => {
    const { ctx } = memoryContext({
      '/b/blkio.io_service_bytes_recursive': CFQ_BYTES,
      '/b/blkio.io_serviced_recursive': CFQ_IOS,
      '/b/blkio.throttle.io_service_bytes': read('blkio.throttle.io_service_bytes'),
      '/b/blkio.throttle.io_serviced': read('blkio.throttle.io_serviced'),
    });
    const stats: CgroupStats = {};
    statBlkio(ctx, { blkio: '/b' }, stats);
    assert.equal(stats.blkio?.source, 'blkio.io_service_bytes_recursive');
    assert.equal(stats.blkio?.devices.length, 2);
  });

  it('falls back to the throttle files when the CFQ files are empty (device not on CFQ)', () => {
    const { ctx } = memoryContext({
      '/b/blkio.io_service_bytes_recursive': 'Total 0\n',
      '/b/blkio.io_serviced_recursive': 'Total 0\n',
      '/b/blkio.throttle.io_service_bytes': read('blkio.throttle.io_service_bytes'),
      '/b/blkio.throttle.io_serviced': read('blkio.throttle.io_serviced'),
    });
    const stats: CgroupStats = {};
    statBlkio(ctx, { blkio: '/b' }, stats);
    assert.equal(stats.blkio?.source, 'blkio.throttle.io_service_bytes');
    assert.equal(stats.blkio?.devices[0].reads, 55n);
  });

  it('empty throttle files: a source with no devices; no files: no blkio', () => {
    const { ctx } = memoryContext({ '/b/blkio.throttle.io_service_bytes': 'Total 0\n', '/b/blkio.throttle.io_serviced': 'Total 0\n' });
    const stats: CgroupStats = {};
    statBlkio(ctx, { blkio: '/b' }, stats);
    assert.deepEqual(stats.blkio, { source: 'blkio.throttle.io_service_bytes', devices: [] });
    const none: CgroupStats = {};
    statBlkio(memoryContext({}).ctx, { blkio: '/gone' }, none);
    statBlkio(memoryContext({}).ctx, {}, none);
    assert.deepEqual(none, {});
  });

  it("reads this machine's root blkio cgroup", () => {
    const { ctx, errors } = diskContext();
    const stats: CgroupStats = {};
    statBlkio(ctx, { blkio: '/sys/fs/cgroup/blkio' }, stats);
    assert.deepEqual(errors, []);
    if (stats.blkio) assert.ok(stats.blkio.source.startsWith('blkio.'));
  });
});
