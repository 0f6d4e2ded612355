import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import type { CgroupStats } from '../../../../src/kernel/types.js';
import { parsePressure, parsePressureLine, statPressure } from '../../../../src/kernel/cgroup/v2/pressure.js';
import { ParseError } from '../../../../src/kernel/errors.js';
import { diskContext, errno, memoryContext, U64_MAX } from '../../context.js';
import { requires } from '../../../requires.js';

// /sys/fs/cgroup/unified/cpu.pressure on this machine (kernel 6.18).
const CPU_6_18 = 'some avg10=2.18 avg60=6.65 avg300=4.19 total=18274570\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n';

describe('pressure parsers', () => {
  it('parses one line', () => {
    assert.deepEqual(parsePressureLine('some avg10=2.18 avg60=6.65 avg300=4.19 total=18274570', 'f'), [
      'some',
      { avg10: 2.18, avg60: 6.65, avg300: 4.19, totalUs: 18274570n },
    ]);
  });

  it('parses a file with "some" and "full", and a pre-5.13 cpu.pressure with only "some"', () => {
    const p = parsePressure(CPU_6_18, 'cpu.pressure');
    assert.equal(p.some?.avg60, 6.65);
    assert.deepEqual(p.full, { avg10: 0, avg60: 0, avg300: 0, totalUs: 0n });
    const old = parsePressure('some avg10=0.12 avg60=0.05 avg300=0.01 total=123456\n', 'cpu.pressure');
    assert.equal(old.full, undefined);
    assert.equal(old.some?.avg10, 0.12);
  });

  it('keeps total above 2^53 exact; 100.00 is a valid average', () => {
    const [, line] = parsePressureLine(`full avg10=100.00 avg60=99.99 avg300=0.00 total=${U64_MAX}`, 'f');
    assert.equal(line.totalUs, 18446744073709551615n);
    assert.equal(line.avg10, 100);
  });

  it('rejects empty, truncated and malformed content', () => {
    for (const bad of ['', '\n', 'some avg10=0.00 avg60=0.00 avg300=0.00\n', 'half avg10=0.00 avg60=0.00 avg300=0.00 total=0\n',
      'some avg60=0.00 avg10=0.00 avg300=0.00 total=0\n', 'some avg10=x avg60=0.00 avg300=0.00 total=0\n', 'some avg10=0.00 avg60=0.00 avg300=0.00 total=-1\n']) {
      assert.throws(() => parsePressure(bad, 'f'), ParseError, JSON.stringify(bad));
    }
  });
});

describe('statPressure', () => {
  it('reads a real cgroup2 directory (kernel 6.1)', () => {
    const { ctx, errors } = diskContext();
    const stats: CgroupStats = {};
    statPressure(ctx, 'tests/fixtures/kernel/cgroup2-6.1/kt', stats);
    assert.deepEqual(errors, []);
    assert.deepEqual(stats.pressure?.cpu, {
      some: { avg10: 0, avg60: 0, avg300: 0, totalUs: 695407n },
      full: { avg10: 0, avg60: 0, avg300: 0, totalUs: 693568n },
    });
    assert.equal(stats.pressure?.io?.full?.totalUs, 0n);
    assert.ok(stats.pressure?.memory);
  });

  it('no PSI (no files) or psi=0 (EOPNOTSUPP): no data and no error; other errors are reported', () => {
    const { ctx, errors } = memoryContext({
      '/a/cpu.pressure': errno('EOPNOTSUPP'),
      '/a/memory.pressure': errno('EOPNOTSUPP'),
      '/a/io.pressure': errno('EOPNOTSUPP'),
      '/b/io.pressure': errno('EIO'),
      '/b/cpu.pressure': CPU_6_18,
    });
    const stats: CgroupStats = {};
    statPressure(ctx, '/a', stats);
    statPressure(ctx, '/none', stats);
    assert.deepEqual(stats, {});
    assert.deepEqual(errors, []);
    statPressure(ctx, '/b', stats);
    assert.deepEqual(Object.keys(stats.pressure!), ['cpu']);
    assert.equal(errors.length, 1);
  });

  it("parses this machine's /proc/pressure files and cgroup2 root", { skip: requires(existsSync('/proc/pressure/cpu'), 'PSI (/proc/pressure, kernel >= 4.20 with psi=1)') }, () => {
    for (const r of ['cpu', 'memory', 'io']) {
      const p = parsePressure(readFileSync(`/proc/pressure/${r}`, 'latin1'), `/proc/pressure/${r}`);
      assert.ok(p.some && p.some.avg10 >= 0 && p.some.avg10 <= 100, r);
      if (p.full) assert.ok(p.full.totalUs <= p.some.totalUs, `${r}: full stall cannot exceed some stall`);
    }
    const { ctx, errors } = diskContext();
    const stats: CgroupStats = {};
    statPressure(ctx, '/sys/fs/cgroup/unified', stats);
    assert.deepEqual(errors, []);
  });
});
