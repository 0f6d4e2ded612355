import assert from 'node:assert/strict';
import { test } from 'node:test';
import { foldLoad, renderLoadavg, seedLoad, type Avenrun } from '../../../src/procview/files/loadavg.js';

test('the kernel fixed-point averages: one busy task for a minute takes load1 to 0.63', () => {
  let a: Avenrun = [0, 0, 0];
  for (let i = 0; i < 12; i++) a = foldLoad(a, 1);
  assert.equal(renderLoadavg(a, { running: 1, uninterruptible: 0, total: 3 }, 4242), '0.63 0.18 0.06 1/3 4242\n');
  for (let i = 0; i < 12 * 60; i++) a = foldLoad(a, 1);
  assert.equal(renderLoadavg(a, { running: 1, uninterruptible: 0, total: 3 }, 1), '1.00 1.00 1.00 1/3 1\n');
});

test('idle decays to zero; a seed starts at the current count', () => {
  let a = seedLoad(2);
  assert.equal(renderLoadavg(a, { running: 2, uninterruptible: 0, total: 2 }, 1).slice(0, 14), '2.00 2.00 2.00');
  for (let i = 0; i < 12 * 5; i++) a = foldLoad(a, 0);
  assert.equal(renderLoadavg(a, { running: 0, uninterruptible: 0, total: 2 }, 1).slice(0, 14), '0.01 0.72 1.44');
  // The kernel's rounding takes an idle average all the way to 0.
  for (let i = 0; i < 12 * 60; i++) a = foldLoad(a, 0);
  assert.equal(renderLoadavg(a, { running: 0, uninterruptible: 0, total: 2 }, 1).slice(0, 14), '0.00 0.00 0.00');
});
