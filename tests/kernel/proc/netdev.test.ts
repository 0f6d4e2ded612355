import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ParseError } from '../../../src/kernel/errors.js';
import { parseNetDev } from '../../../src/kernel/proc/netdev.js';
import { LineMemo } from '../../../src/kernel/parse.js';
import type { NetInterfaceStats } from '../../../src/kernel/types.js';
import { U64_MAX } from '../context.js';

const HEADER = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
`;
// Kernel 6.18 (this machine).
const NETDEV = `${HEADER}    lo:    3193      29    0    0    0     0          0         0     3193      29    0    0    0     0       0          0
  eth0: 189577303    5111    0    0    0     0          0         0   210987    2881    0    0    0     0       0          0
`;

describe('parseNetDev', () => {
  it('with a memo: an unchanged line gives the previous read\'s object, a changed one is parsed, a bad one still throws', () => {
    const memo = new LineMemo<NetInterfaceStats>();
    const veth = (i: number, rx: number) => `veth${i}: ${rx} 1 0 0 0 0 0 0 ${rx * 2} 1 0 0 0 0 0 0`;
    const text = (rx: number[]) => `${HEADER}${rx.map((v, i) => veth(i, v)).join('\n')}\n`;
    const first = parseNetDev(text([10, 20, 30]), '/proc/net/dev', memo);
    const second = parseNetDev(text([10, 21, 30]), '/proc/net/dev', memo);
    assert.deepEqual(second, parseNetDev(text([10, 21, 30])));
    assert.equal(second[0], first[0]);
    assert.notEqual(second[1], first[1]);
    assert.equal(second[1].rxBytes, 21n);
    assert.equal(second[2], first[2]);
    assert.throws(() => parseNetDev(`${text([10, 21, 30])}veth9: 1 2\n`, '/proc/net/dev', memo), ParseError);
    // The memo keeps the lines of the last two reads only: a line from three reads ago is parsed again.
    parseNetDev(text([11, 22, 31]), '/proc/net/dev', memo);
    parseNetDev(text([12, 23, 32]), '/proc/net/dev', memo);
    const again = parseNetDev(text([10, 21, 30]), '/proc/net/dev', memo);
    assert.notEqual(again[0], second[0]);
    assert.deepEqual(again[0], second[0]);
  });

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
