import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { ParseError } from '../../../src/kernel/errors.js';
import { parseLoadAvg } from '../../../src/kernel/proc/loadavg.js';

describe('parseLoadAvg', () => {
  it('parses kernel 6.18 /proc/loadavg', () => {
    assert.deepEqual(parseLoadAvg('0.90 0.55 0.22 1/82 13410\n'), {
      load1: 0.9, load5: 0.55, load15: 0.22, runnable: 1, total: 82, lastPid: 13410,
    });
  });

  it('rejects empty, truncated and malformed content', () => {
    for (const bad of ['', '0.90 0.55 0.22 1/82', '0.90 0.55 0.22 182 13410', 'a 0.55 0.22 1/82 13410', '0.90 0.55 0.22 1/-2 13410']) {
      assert.throws(() => parseLoadAvg(bad), ParseError, JSON.stringify(bad));
    }
  });

  it("parses this machine's /proc/loadavg like os.loadavg()", () => {
    const l = parseLoadAvg(readFileSync('/proc/loadavg', 'latin1'));
    const [one] = os.loadavg();
    assert.ok(Math.abs(l.load1 - one) < 0.5);
    assert.ok(l.runnable >= 1 && l.runnable <= l.total);
  });
});
