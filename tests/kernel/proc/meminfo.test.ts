import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { ParseError } from '../../../src/kernel/errors.js';
import { parseMeminfo } from '../../../src/kernel/proc/meminfo.js';

// Kernel 6.18 (this machine), abridged.
const MEMINFO = `MemTotal:       24683620 kB
MemFree:        23525824 kB
MemAvailable:   24317752 kB
Active(anon):       1516 kB
Inactive(file):   663496 kB
VmallocTotal:   34359738367 kB
HugePages_Total:       0
HugePages_Free:        0
Hugepagesize:       2048 kB
DirectMap2M:    25135104 kB
`;

describe('parseMeminfo', () => {
  it('converts kB to bytes and keeps unit-less counts', () => {
    const m = parseMeminfo(MEMINFO);
    assert.equal(m.get('MemTotal'), 24683620n * 1024n);
    assert.equal(m.get('Active(anon)'), 1516n * 1024n);
    assert.equal(m.get('VmallocTotal'), 34359738367n * 1024n);
    assert.equal(m.get('HugePages_Total'), 0n);
    assert.equal(m.get('Hugepagesize'), 2097152n);
    assert.equal(m.size, 10);
  });

  it('keeps values above 2^53 exact', () => {
    assert.equal(parseMeminfo('Huge:   18014398509481983 kB\n').get('Huge'), 18014398509481983n * 1024n);
  });

  it('rejects empty and malformed content', () => {
    for (const bad of ['', 'MemTotal 12 kB\n', 'MemTotal:\n', 'MemTotal: 12 MB\n', 'MemTotal: x kB\n', ': 12 kB\n']) {
      assert.throws(() => parseMeminfo(bad), ParseError, JSON.stringify(bad));
    }
  });

  it("parses this machine's /proc/meminfo: MemTotal is os.totalmem()", () => {
    const m = parseMeminfo(readFileSync('/proc/meminfo', 'latin1'));
    assert.equal(m.get('MemTotal'), BigInt(os.totalmem()));
    assert.ok((m.get('MemFree') ?? 0n) <= (m.get('MemTotal') ?? 0n));
    assert.ok(m.has('HugePages_Total'));
  });
});
