import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ParseError } from '../../src/kernel/errors.js';
import { formatCpuList, parseCpuList, visibleCpus } from '../../src/procview/cpus.js';

test('cpu lists parse and format both ways', () => {
  assert.deepEqual(parseCpuList('0-2,5,7-8\n', 'f'), [0, 1, 2, 5, 7, 8]);
  assert.deepEqual(parseCpuList('\n', 'f'), []);
  assert.equal(formatCpuList([0, 1, 2, 5, 7, 8]), '0-2,5,7-8');
  assert.throws(() => parseCpuList('0-', 'cpuset.cpus'), ParseError);
  assert.throws(() => parseCpuList('3-1', 'cpuset.cpus'), ParseError);
});

test('visible CPUs: the online cpuset, then ceil(quota/period) of them', () => {
  const online = [0, 1, 2, 3];
  assert.deepEqual(visibleCpus(online, {}, true), [0, 1, 2, 3]);
  assert.deepEqual(visibleCpus(online, { cpuset: [1, 3, 9] }, true), [1, 3]);
  assert.deepEqual(visibleCpus(online, { cpuset: [1, 2, 3], quotaUs: 50000n, periodUs: 100000n }, true), [1]);
  assert.deepEqual(visibleCpus(online, { quotaUs: 150000n, periodUs: 100000n }, true), [0, 1]);
  assert.deepEqual(visibleCpus(online, { quotaUs: 150000n, periodUs: 100000n }, false), [0, 1, 2, 3]);
  assert.deepEqual(visibleCpus(online, { quotaUs: null, periodUs: 100000n }, true), [0, 1, 2, 3]);
  assert.deepEqual(visibleCpus(online, { quotaUs: 10n ** 12n, periodUs: 100000n }, true), [0, 1, 2, 3]);
  // A cpuset of only offline CPUs cannot be: show the online ones rather than none.
  assert.deepEqual(visibleCpus(online, { cpuset: [7] }, true), [0, 1, 2, 3]);
});
