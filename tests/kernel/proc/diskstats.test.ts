import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ParseError } from '../../../src/kernel/errors.js';
import { parseDiskstats } from '../../../src/kernel/proc/diskstats.js';
import { LineMemo } from '../../../src/kernel/parse.js';
import type { DiskStat } from '../../../src/kernel/types.js';
import { U64_MAX } from '../context.js';

// Kernel 6.18 (this machine): 20 fields.
const DISKSTATS_6_18 = `   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
 254       0 vda 30166 5913 1659970 7531 32529 8912 3727968 13700 0 10512 24418 6678 71 447264 1056 6044 2130
`;
// Kernel 4.19: 18 fields (discard, no flush).
const DISKSTATS_4_19 = '   8       0 sda 5226 1178 396570 4364 2031 3065 74608 3368 0 5876 7728 12 0 4096 8\n';
// Kernel 4.15: 14 fields.
const DISKSTATS_4_15 = '   8       1 sda1 176 0 8346 96 0 0 0 0 0 68 96\n   8       0 sda 8961 2117 661406 37216 15442 19866 1112104 165964 0 64100 203164\n';

describe('parseDiskstats', () => {
  it('with a memo: unchanged devices keep their object, changed ones are parsed', () => {
    const memo = new LineMemo<DiskStat>();
    const line = (minor: number, reads: number) => `   7       ${minor} loop${minor} ${reads} 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0`;
    const a = parseDiskstats(`${line(0, 5)}\n${line(1, 6)}\n`, '/proc/diskstats', memo);
    const b = parseDiskstats(`${line(0, 5)}\n${line(1, 7)}\n`, '/proc/diskstats', memo);
    assert.equal(b[0], a[0]);
    assert.equal(b[1].reads, 7n);
    assert.deepEqual(b, parseDiskstats(`${line(0, 5)}\n${line(1, 7)}\n`));
  });

  it('parses 20 fields with discard and flush counters', () => {
    const [loop0, vda] = parseDiskstats(DISKSTATS_6_18);
    assert.equal(loop0.name, 'loop0');
    assert.deepEqual(vda, {
      major: 254, minor: 0, name: 'vda',
      reads: 30166n, readsMerged: 5913n, sectorsRead: 1659970n, readTimeMs: 7531n,
      writes: 32529n, writesMerged: 8912n, sectorsWritten: 3727968n, writeTimeMs: 13700n,
      ioInProgress: 0n, ioTimeMs: 10512n, weightedIoTimeMs: 24418n,
      discards: 6678n, discardsMerged: 71n, sectorsDiscarded: 447264n, discardTimeMs: 1056n,
      flushes: 6044n, flushTimeMs: 2130n,
    });
  });

  it('parses 18 fields (no flush) and 14 fields (no discard)', () => {
    const [sda] = parseDiskstats(DISKSTATS_4_19);
    assert.equal(sda.sectorsDiscarded, 4096n);
    assert.equal(sda.flushes, undefined);
    const old = parseDiskstats(DISKSTATS_4_15);
    assert.equal(old.length, 2);
    assert.equal(old[1].weightedIoTimeMs, 203164n);
    assert.equal(old[1].discards, undefined);
  });

  it('keeps counters above 2^53 exact', () => {
    const [d] = parseDiskstats(`8 0 sda ${U64_MAX} 0 0 0 0 0 0 0 0 0 0\n`);
    assert.equal(d.reads, 18446744073709551615n);
  });

  it('accepts empty content and rejects truncated or malformed lines', () => {
    assert.deepEqual(parseDiskstats(''), []);
    for (const bad of ['8 0 sda 1 2 3\n', '8 0 sda 1 2 3 4 5 6 7 8 9 10 x\n', 'x 0 sda 1 2 3 4 5 6 7 8 9 10 11\n']) {
      assert.throws(() => parseDiskstats(bad), ParseError, bad);
    }
  });

  it("parses this machine's /proc/diskstats", () => {
    const disks = parseDiskstats(readFileSync('/proc/diskstats', 'latin1'));
    assert.ok(disks.length > 0);
    for (const d of disks) assert.ok(d.name.length > 0 && d.sectorsRead >= 0n);
  });
});
