import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderDiskstats } from '../../../src/procview/files/diskstats.js';

const HOST = readFileSync('tests/fixtures/procview/host/diskstats', 'latin1');

test('the container I/O per host device, in the host column layout; untouched devices left out', () => {
  const out = renderDiskstats(HOST, [
    { major: 254, minor: 0, readBytes: 1048576n, writeBytes: 2n ** 60n, reads: 10n, writes: 2n ** 53n + 1n, discardBytes: 4096n, discards: 1n },
    { major: 7, minor: 0, readBytes: 0n, writeBytes: 0n, reads: 0n, writes: 0n },
    { major: 9, minor: 9, readBytes: 512n, writeBytes: 0n, reads: 1n, writes: 0n },
  ]);
  assert.equal(out, ` 254       0 vda 10 0 2048 0 9007199254740993 0 ${2n ** 51n} 0 0 0 0 1 0 8 0 0 0\n`);
  assert.equal(renderDiskstats(HOST, []), '');
});

test('an older kernel with 14 columns gets 14 columns', () => {
  const out = renderDiskstats('   8       0 sda 1 2 3 4 5 6 7 8 9 10 11\n', [{ major: 8, minor: 0, readBytes: 0n, writeBytes: 1024n, reads: 0n, writes: 1n }]);
  assert.equal(out, '   8       0 sda 0 0 0 0 1 0 2 0 0 0 0\n');
});
