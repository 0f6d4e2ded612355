import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ParseError } from '../../../src/kernel/errors.js';
import { parseNetDev } from '../../../src/kernel/proc/netdev.js';
import { U64_MAX } from '../context.js';

const HEADER = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
`;
// Kernel 6.18 (this machine).
const NETDEV = `${HEADER}    lo:    3193      29    0    0    0     0          0         0     3193      29    0    0    0     0       0          0
  eth0: 189577303    5111    0    0    0     0          0         0   210987    2881    0    0    0     0       0          0
`;

describe('parseNetDev', () => {
  it('parses kernel 6.18 /proc/net/dev', () => {
    const [lo, eth0] = parseNetDev(NETDEV);
    assert.equal(lo.name, 'lo');
    assert.deepEqual(eth0, {
      name: 'eth0',
      rxBytes: 189577303n, rxPackets: 5111n, rxErrors: 0n, rxDropped: 0n,
      txBytes: 210987n, txPackets: 2881n, txErrors: 0n, txDropped: 0n,
    });
  });

  it('splits a counter wider than its column from the name, and a name ending in ":"', () => {
    const [a, b] = parseNetDev(
      `${HEADER}  eth0:189577303123 5 1 2 0 0 0 0 7 8 3 4 0 0 0 0\nveth1:: 1 2 3 4 0 0 0 0 5 6 7 8 0 0 0 0\n`,
    );
    assert.equal(a.name, 'eth0');
    assert.equal(a.rxBytes, 189577303123n);
    assert.equal(a.txDropped, 4n);
    assert.equal(b.name, 'veth1:');
    assert.equal(b.rxBytes, 1n);
    assert.equal(b.txDropped, 8n);
  });

  it('keeps counters above 2^53 exact', () => {
    const [i] = parseNetDev(`${HEADER}  eth0: ${U64_MAX} 0 0 0 0 0 0 0 ${U64_MAX} 0 0 0 0 0 0 0\n`);
    assert.equal(i.rxBytes, 18446744073709551615n);
    assert.equal(i.txBytes, 18446744073709551615n);
  });

  it('accepts no interfaces and rejects a missing header, truncated or malformed lines', () => {
    assert.deepEqual(parseNetDev(HEADER), []);
    for (const bad of ['', 'eth0: 1 2 3\n', `${HEADER}  eth0: 1 2 3\n`, `${HEADER}  eth0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n`, `${HEADER}: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n`]) {
      assert.throws(() => parseNetDev(bad), ParseError, JSON.stringify(bad));
    }
  });

  it("parses this process's /proc/self/net/dev", () => {
    const ifaces = parseNetDev(readFileSync('/proc/self/net/dev', 'latin1'));
    const lo = ifaces.find((i) => i.name === 'lo');
    assert.ok(lo);
    assert.equal(lo.rxBytes, lo.txBytes); // loopback receives exactly what it sends
  });
});
