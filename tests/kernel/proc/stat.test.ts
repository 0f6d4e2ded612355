import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { ParseError } from '../../../src/kernel/errors.js';
import { parseProcStat } from '../../../src/kernel/proc/stat.js';
import { USER_HZ, ticksToNs } from '../../../src/kernel/proc/userhz.js';
import { U64_MAX } from '../context.js';

// Kernel 6.18 (this machine), intr line shortened.
const STAT_6_18 = `cpu  9911 0 7904 26241 570 0 324 0 0 0
cpu0 4226 0 3176 14909 44 0 123 0 0 0
cpu1 5684 0 4728 11331 525 0 201 0 0 0
intr 237837 0 0 0 0 0 0 0 0 0 0
ctxt 512132
btime 1795475515
processes 13414
procs_running 3
procs_blocked 0
softirq 180194 0 19326 4 4786 60438 0 4 43385 0 52251
`;

// Kernel 2.6.18 (RHEL 5): 8 cpu columns, no guest / guest_nice.
const STAT_2_6_18 = `cpu  2255 34 2290 22625563 6290 127 456 0
cpu0 1132 34 1441 11311718 3675 127 438 0
cpu1 1123 0 849 11313845 2614 0 18 0
intr 114930548 113199788 3 0 5 263 0 4 0 1 0 0 0 0 0 0 0 0
ctxt 1990473
btime 1062191376
processes 2915
procs_running 1
procs_blocked 0
`;

describe('parseProcStat', () => {
  it('parses kernel 6.18 /proc/stat', () => {
    const s = parseProcStat(STAT_6_18);
    assert.deepEqual(s.total, {
      user: 9911n, nice: 0n, system: 7904n, idle: 26241n, iowait: 570n,
      irq: 0n, softirq: 324n, steal: 0n, guest: 0n, guestNice: 0n,
    });
    assert.equal(s.perCpu.size, 2);
    assert.equal(s.perCpu.get(1)?.user, 5684n);
    assert.equal(s.perCpu.get(0)?.softirq, 123n);
    assert.equal(s.contextSwitches, 512132n);
    assert.equal(s.bootTimeSec, 1795475515n);
    assert.equal(s.processes, 13414n);
    assert.equal(s.procsRunning, 3n);
    assert.equal(s.procsBlocked, 0n);
  });

  it('fills the columns an old kernel lacks with 0', () => {
    const s = parseProcStat(STAT_2_6_18);
    assert.equal(s.total.steal, 0n);
    assert.equal(s.total.guest, 0n);
    assert.equal(s.total.guestNice, 0n);
    assert.equal(s.total.softirq, 456n);
    assert.equal(s.perCpu.get(1)?.idle, 11313845n);
    // Kernel 2.4: four columns only.
    assert.deepEqual(parseProcStat('cpu  100 1 50 1000\n').total.iowait, 0n);
  });

  it('keeps counters above 2^53 exact', () => {
    const s = parseProcStat(`cpu  ${U64_MAX} 0 0 9007199254740993 0 0 0 0 0 0\n`);
    assert.equal(s.total.user, 18446744073709551615n);
    assert.equal(s.total.idle, 9007199254740993n);
  });

  it('offline CPUs are simply absent', () => {
    const s = parseProcStat('cpu  1 0 1 1\ncpu0 1 0 1 1\ncpu3 0 0 0 0\n');
    assert.deepEqual([...s.perCpu.keys()], [0, 3]);
  });

  it('rejects empty, truncated and malformed content', () => {
    for (const bad of ['', 'ctxt 5\n', 'cpu  1 2\n', 'cpu  1 2 x 4\n', 'cpu  1 2 3 4\ncpuX 1 2 3 4\n']) {
      assert.throws(() => parseProcStat(bad, '/proc/stat'), ParseError, JSON.stringify(bad));
    }
  });

  it("parses this machine's /proc/stat consistently", () => {
    const s = parseProcStat(readFileSync('/proc/stat', 'latin1'));
    assert.equal(s.perCpu.size, os.cpus().length);
    // The total line is the sum of the per-CPU lines, read a few µs apart.
    for (const key of ['user', 'system', 'idle'] as const) {
      let sum = 0n;
      for (const cpu of s.perCpu.values()) sum += cpu[key];
      const diff = sum > s.total[key] ? sum - s.total[key] : s.total[key] - sum;
      assert.ok(diff <= 10n, `${key}: per-cpu sum ${sum} vs total ${s.total[key]}`);
    }
    const bootSec = Date.now() / 1000 - os.uptime();
    assert.ok(Math.abs(Number(s.bootTimeSec) - bootSec) < 5, `btime ${s.bootTimeSec} vs ${bootSec}`);
    assert.ok((s.procsRunning ?? 0n) >= 1n);
  });
});

describe('USER_HZ', () => {
  it('is 100 ticks per second, as getconf CLK_TCK says', () => {
    assert.equal(USER_HZ, 100n);
    assert.equal(ticksToNs(128n), 1_280_000_000n);
  });
});
