import assert from 'node:assert/strict';
import { test } from 'node:test';
import { foldLoad, NO_LOAD, renderLoadavg, type Avenrun } from '../../../src/procview/files/loadavg.js';

const FIXED_1 = 2048;
const PERIODS_S = [60, 300, 900];
const tasks = { running: 1, uninterruptible: 0, total: 3 };

/** n 5-second steps of a constant `active` from `start`: load(n) = active + (start - active)·e^(-5n/T). */
function exact(start: number, active: number, n: number): number[] {
  return PERIODS_S.map((t) => active + (start - active) * Math.exp((-5 * n) / t));
}

/**
 * The kernel's fixed-point steps round each fold (up while rising), so they stay within a
 * rounding step per fold of the exponential they approximate, and the constants (1884, 2014,
 * 2037) are e^(-5/T) to 11 bits: checked here against the closed form, not against itself.
 */
function assertNear(a: Avenrun, want: number[], n: number): void {
  a.forEach((v, i) => {
    const tolerance = Math.max(0.01, (n + 1) / FIXED_1 + 0.002 * want[i]);
    assert.ok(Math.abs(v / FIXED_1 - want[i]) <= tolerance, `average ${i}: ${v / FIXED_1} vs ${want[i]} after ${n} steps`);
  });
}

test('from 0, a constant load rises as 1 - e^(-t/T): one busy task for a minute takes load1 to 0.63', () => {
  let a: Avenrun = [...NO_LOAD];
  for (let n = 1; n <= 12; n++) {
    a = foldLoad(a, 1);
    assertNear(a, exact(0, 1, n), n);
  }
  assert.equal(renderLoadavg(a, tasks, 4242), '0.63 0.18 0.06 1/3 4242\n');
  for (let i = 0; i < 12 * 60; i++) a = foldLoad(a, 1);
  assert.equal(renderLoadavg(a, tasks, 1), '1.00 1.00 1.00 1/3 1\n');
});

test('three tasks for 30 s, then idle: rise and exponential decay', () => {
  let a: Avenrun = [...NO_LOAD];
  for (let n = 1; n <= 6; n++) a = foldLoad(a, 3);
  const peak = exact(0, 3, 6);
  assertNear(a, peak, 6);
  assert.equal(renderLoadavg(a, tasks, 1).slice(0, 14), '1.18 0.29 0.10');
  const at = [...a].map((v) => v / FIXED_1);
  for (let n = 1; n <= 24; n++) {
    a = foldLoad(a, 0);
    PERIODS_S.forEach((t, i) => assert.ok(Math.abs(a[i] / FIXED_1 - at[i] * Math.exp((-5 * n) / t)) <= 0.01 + n / FIXED_1, `decay ${i} after ${n}`));
  }
  // The kernel's rounding takes an idle average all the way to 0.
  for (let i = 0; i < 12 * 60; i++) a = foldLoad(a, 0);
  assert.equal(renderLoadavg(a, tasks, 1).slice(0, 14), '0.00 0.00 0.00');
});

test('a young cgroup: no fold yet reads 0.00, as /proc/loadavg right after boot', () => {
  assert.equal(renderLoadavg(NO_LOAD, tasks, 7), '0.00 0.00 0.00 1/3 7\n');
  assert.equal(renderLoadavg(foldLoad(NO_LOAD, 2), tasks, 7).slice(0, 14), '0.16 0.03 0.01');
});
