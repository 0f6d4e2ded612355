/**
 * V1Cgroup on files from a real 6.18 kernel (tests/fixtures/procview/cgroup1-6.18): cgroup "box"
 * with memory.limit_in_bytes 64M, cfs_quota 50000/100000 and cpuset.cpus 1. Its child "inner"
 * wrote 64 × 64 KiB and read 16 × 64 KiB with O_DIRECT, wrote 4 MiB through the page cache (still
 * dirty) and ran a shell loop; box itself read the 4 MiB file back through the page cache.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, test } from 'node:test';
import type { StatContext } from '../../../src/kernel/cgroup/read-file.js';
import { oneShotReader } from '../../../src/kernel/kept-file.js';
import { V1Cgroup } from '../../../src/procview/cgroup/v1.js';

const FIXTURE = 'tests/fixtures/procview/cgroup1-6.18';
const root = mkdtempSync(`${tmpdir()}/procview-v1-`);
after(() => rmSync(root, { recursive: true, force: true }));
cpSync(FIXTURE, root, { recursive: true });

const errors: unknown[] = [];
const ctx: StatContext = { reader: oneShotReader, onError: (err) => errors.push(err) };
const dirs = (base: string) => ({
  blkio: `${base}/blkio/box`,
  cpu: `${base}/cpu/box`,
  cpuacct: `${base}/cpuacct/box`,
  cpuset: `${base}/cpuset/box`,
  memory: `${base}/memory/box`,
});
const box = new V1Cgroup(dirs(root));
const MiB = 1n << 20n;

test('diskstats figures are the subtree: the child cgroup direct I/O counts, as in the _recursive files', () => {
  // box alone (blkio.throttle.io_service_bytes): 5 reads, 4 MiB, no writes.
  assert.deepEqual(box.io(ctx), [
    { major: 254, minor: 0, readBytes: 5n * MiB, writeBytes: 4n * MiB, reads: 21n, writes: 64n, discardBytes: 0n, discards: 0n },
  ]);
  assert.deepEqual(errors, []);
});

test('CFQ-era recursive files win when they list a device, and are passed over when empty', () => {
  const cfq = `${root}/cfq`;
  cpSync(FIXTURE, cfq, { recursive: true });
  const blkio = `${cfq}/blkio/box`;
  writeFileSync(`${blkio}/blkio.io_service_bytes_recursive`, 'Total 0\n');
  writeFileSync(`${blkio}/blkio.io_serviced_recursive`, 'Total 0\n');
  const cg = new V1Cgroup(dirs(cfq));
  assert.equal(cg.io(ctx)?.[0].reads, 21n);
  writeFileSync(`${blkio}/blkio.io_service_bytes_recursive`, '8:0 Read 4096\n8:0 Write 0\n8:0 Sync 4096\n8:0 Async 0\n8:0 Total 4096\nTotal 4096\n');
  writeFileSync(`${blkio}/blkio.io_serviced_recursive`, '8:0 Read 1\n8:0 Write 0\n8:0 Sync 1\n8:0 Async 0\n8:0 Total 1\nTotal 1\n');
  assert.deepEqual(cg.io(ctx), [{ major: 8, minor: 0, readBytes: 4096n, writeBytes: 0n, reads: 1n, writes: 0n }]);
});

test('no blkio controller: no answer (the host file is served); blkio without any I/O: no devices', () => {
  assert.equal(new V1Cgroup({ memory: `${root}/memory/box` }).io(ctx), undefined);
  mkdirSync(`${root}/blkio/empty`);
  assert.deepEqual(new V1Cgroup({ blkio: `${root}/blkio/empty` }).io(ctx), []);
  writeFileSync(`${root}/blkio/empty/blkio.throttle.io_service_bytes_recursive`, 'Total 0\n');
  assert.deepEqual(new V1Cgroup({ blkio: `${root}/blkio/empty` }).io(ctx), []);
});

test('CPU: cpuacct.usage_all per CPU, the cpuset and the CFS quota', () => {
  const usage = box.cpuUsage(ctx);
  assert.equal(usage?.userNs, 316_000_000n);
  assert.equal(usage?.systemNs, 44_000_000n);
  assert.deepEqual(usage?.perCpu?.get(1), { userNs: 316_000_000n, systemNs: 44_000_000n });
  assert.deepEqual(box.cpuLimits(ctx), { cpuset: [1], quotaUs: 50000n, periodUs: 100000n });
});

test('memory: hierarchical limit and total_* figures (the child page cache included)', () => {
  const m = box.memory(ctx);
  assert.equal(m?.limitBytes, 64n * MiB);
  assert.equal(m?.usageBytes, 8527872n);
  assert.equal(m?.swapLimitBytes, null); // memsw unlimited
  assert.equal(m?.stat.file, 8n * MiB);
  assert.equal(m?.stat.fileDirty, 4n * MiB);
  assert.equal(m?.stat.inactiveFile, 8n * MiB);
});
