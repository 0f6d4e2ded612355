import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderSwaps, SWAPS_HEADER } from '../../../src/procview/files/swaps.js';
import { renderUptime } from '../../../src/procview/files/uptime.js';

test('uptime: since the container init started; idle over its CPUs minus its CPU time', () => {
  assert.equal(renderUptime({ hostUptimeSec: 987.11, initStartTicks: 88711n, usageNs: 1_500_000_000n, cpus: 2 }), '100.00 198.50\n');
  // Started "after" now (clock granularity): 0, not negative.
  assert.equal(renderUptime({ hostUptimeSec: 10, initStartTicks: 1001n, usageNs: 0n, cpus: 1 }), '0.00 0.00\n');
});

test('swaps: a virtual line when the container may swap, the header alone otherwise', () => {
  assert.equal(renderSwaps(0n, 0n), SWAPS_HEADER);
  assert.equal(renderSwaps(65536n, 64512n), `${SWAPS_HEADER}none                                    virtual\t\t65536\t\t1024\t\t0\n`);
});
