import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderCpuinfo, renderCpuOnline } from '../../../src/procview/files/cpuinfo.js';

const HOST = readFileSync('tests/fixtures/procview/host/cpuinfo', 'latin1');

test('only the visible CPUs, renumbered from 0', () => {
  const one = renderCpuinfo(HOST, [1]);
  assert.deepEqual([...one.matchAll(/^processor\s*: (\d+)$/gm)].map((m) => m[1]), ['0']);
  // It is host CPU 1's block: its apicid stays.
  assert.match(one, /^apicid\s*: 1$/m);
  assert.ok(one.endsWith('\n\n'));
  const both = renderCpuinfo(HOST, [0, 1]);
  assert.deepEqual([...both.matchAll(/^processor\s*: (\d+)$/gm)].map((m) => m[1]), ['0', '1']);
  assert.equal(both, HOST);
  assert.equal(renderCpuinfo(HOST, []), '');
});

test('cpu/online is 0..n-1', () => {
  assert.equal(renderCpuOnline([1]), '0\n');
  assert.equal(renderCpuOnline([0, 1, 5, 9]), '0-3\n');
});
