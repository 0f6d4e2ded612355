import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { ParseError } from '../../../src/kernel/errors.js';
import { parsePidStat } from '../../../src/kernel/proc/pidstat.js';

// Kernel 6.18 (this machine): `cat /proc/self/stat`.
const CAT = '13409 (cat) R 13393 13393 12876 0 -1 4194304 98 0 0 0 0 0 0 0 20 0 1 0 22496 3133440 366 18446744073709551615 93894892654592 93894892674473 140733669188624 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 93894892690480 93894892692096 93895411216384 140733669190158 140733669190178 140733669190178 140733669191659 0\n';

describe('parsePidStat', () => {
  it('parses kernel 6.18 /proc/<pid>/stat', () => {
    assert.deepEqual(parsePidStat(CAT), {
      pid: 13409, comm: 'cat', state: 'R', ppid: 13393, utimeTicks: 0n, stimeTicks: 0n,
      numThreads: 1n, startTimeTicks: 22496n, vsizeBytes: 3133440n, rssPages: 366n,
    });
  });

  it('takes comm up to the last ")" even with spaces and parentheses inside', () => {
    const s = parsePidStat(CAT.replace('(cat)', '(a) R (b c)'));
    assert.equal(s.comm, 'a) R (b c');
    assert.equal(s.state, 'R');
    assert.equal(s.startTimeTicks, 22496n);
  });

  it('keeps counters above 2^53 exact', () => {
    const s = parsePidStat(CAT.replace(' 22496 ', ' 18446744073709551615 '));
    assert.equal(s.startTimeTicks, 18446744073709551615n);
  });

  it('rejects empty, truncated and malformed content', () => {
    for (const bad of ['', '13409 cat R 1', '13409 (cat) R 13393 13393', CAT.replace(' R ', ' RR '), CAT.replace('13409', 'x')]) {
      assert.throws(() => parsePidStat(bad), ParseError, JSON.stringify(bad));
    }
  });

  it("parses this process's /proc/self/stat", () => {
    const s = parsePidStat(readFileSync('/proc/self/stat', 'latin1'));
    assert.equal(s.pid, process.pid);
    assert.equal(s.ppid, process.ppid);
    assert.equal(s.state, 'R');
    assert.ok(s.numThreads >= 1n);
    // Started after boot and before now: starttime (ticks) <= uptime.
    assert.ok(Number(s.startTimeTicks) / 100 <= os.uptime() + 1);
  });
});
