import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderCpuinfo, renderCpuOnline } from '../../../src/procview/files/cpuinfo.js';

const HOST = readFileSync('tests/fixtures/procview/host/cpuinfo', 'latin1');

test('only the visible CPUs, under their host numbers (what sched_setaffinity accepts)', () => {
  const one = renderCpuinfo(HOST, [1]);
  assert.deepEqual([...one.matchAll(/^processor\s*: (\d+)$/gm)].map((m) => m[1]), ['1']);
  // It is host CPU 1's block: its apicid stays.
  assert.match(one, /^apicid\s*: 1$/m);
  assert.ok(one.endsWith('\n\n'));
  const both = renderCpuinfo(HOST, [0, 1]);
  assert.deepEqual([...both.matchAll(/^processor\s*: (\d+)$/gm)].map((m) => m[1]), ['0', '1']);
  assert.equal(both, HOST);
  assert.equal(renderCpuinfo(HOST, []), '');
});

test('cpu/online lists the host numbers of the visible CPUs, as the kernel writes a list', () => {
  assert.equal(renderCpuOnline([1]), '1\n');
  assert.equal(renderCpuOnline([0, 1, 5, 9]), '0-1,5,9\n');
  assert.equal(renderCpuOnline([2, 3, 4]), '2-4\n');
});
