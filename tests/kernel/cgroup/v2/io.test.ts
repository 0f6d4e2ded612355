import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CgroupStats } from '../../../../src/kernel/types.js';
import { parseIoStat, statIo } from '../../../../src/kernel/cgroup/v2/io.js';
import { ParseError } from '../../../../src/kernel/errors.js';
import { diskContext, memoryContext, U64_MAX } from '../../context.js';

const FIXTURE = 'tests/fixtures/kernel/cgroup2-6.1';

describe('parseIoStat', () => {
  it('parses all six counters', () => {
    assert.deepEqual(parseIoStat('8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6\n', 'f'), [
      { major: 8, minor: 0, readBytes: 1n, writeBytes: 2n, reads: 3n, writes: 4n, discardBytes: 5n, discards: 6n },
    ]);
  });

  it('a device line without keys (the kernel omits all-zero counters) is zeros', () => {
    // As the kernel 6.1 root cgroup printed it, trailing space included.
    assert.deepEqual(parseIoStat('1:0 \n', 'f'), [{ major: 1, minor: 0, readBytes: 0n, writeBytes: 0n, reads: 0n, writes: 0n }]);
    assert.equal(parseIoStat('259:0\n', 'f')[0].major, 259);
  });

  it('missing keys are zero, unknown keys (iocost, iolatency) are skipped', () => {
    const [d] = parseIoStat('253:2 rbytes=4096 rios=1 cost.vrate=100.00 cost.usage=12 depth=max avg_lat=0 win=0\n', 'f');
    assert.deepEqual(d, { major: 253, minor: 2, readBytes: 4096n, writeBytes: 0n, reads: 1n, writes: 0n });
  });

  it('keeps u64 values exact; empty file is no devices', () => {
    assert.equal(parseIoStat(`8:0 wbytes=${U64_MAX}\n`, 'f')[0].writeBytes, 18446744073709551615n);
    assert.deepEqual(parseIoStat('', 'f'), []);
  });

  it('rejects malformed lines', () => {
    for (const bad of ['sda rbytes=1\n', '8:0 rbytes\n', '8:0 rbytes=x\n', '8:0 =1\n', '8:0 rbytes=-1\n']) {
      assert.throws(() => parseIoStat(bad, 'f'), ParseError, bad);
    }
  });
});

describe('v2 statIo', () => {
  it('reads a real cgroup that did 4 MiB of reads and 8 MiB of writes (kernel 6.1)', () => {
    const { ctx, errors } = diskContext();
    const stats: CgroupStats = {};
    statIo(ctx, `${FIXTURE}/kt`, stats);
    assert.deepEqual(errors, []);
    assert.deepEqual(stats.blkio, {
      source: 'io.stat',
      devices: [{ major: 1, minor: 0, readBytes: 4194304n, writeBytes: 8388608n, reads: 4n, writes: 8n, discardBytes: 0n, discards: 0n }],
    });
  });

  it('no io controller: no blkio', () => {
    const stats: CgroupStats = {};
    statIo(memoryContext({}).ctx, '/x', stats);
    assert.deepEqual(stats, {});
  });
});
