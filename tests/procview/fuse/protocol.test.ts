import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeRequest,
  encodeAttrOut,
  encodeDirents,
  encodeEntryOut,
  encodeInitOut,
  encodeReply,
  encodeStatfsOut,
  MalformedHeader,
  MalformedRequest,
  negotiate,
  type Attr,
} from '../../../src/procview/fuse/protocol.js';
import { request } from './wire.js';

const attr: Attr = { ino: 3n, size: 0n, mode: 0o100444, nlink: 1, timeSec: 1_700_000_000n };

test('decodeRequest reads the header, the caller pid at offset 32 included', () => {
  const b = request(15, Buffer.alloc(40), { unique: (1n << 63n) | 5n, nodeid: 2n ** 60n, pid: 4_000_000 });
  const r = decodeRequest(b, b.length);
  assert.equal(r.header.opcode, 15);
  assert.equal(r.header.unique, (1n << 63n) | 5n);
  assert.equal(r.header.nodeid, 2n ** 60n);
  assert.equal(r.header.pid, 4_000_000);
  assert.equal(r.body.length, 40);
});

test('decodeRequest rejects short and mis-framed messages', () => {
  assert.throws(() => decodeRequest(Buffer.alloc(39), 39), MalformedRequest);
  const b = request(1, Buffer.from('x\0'));
  assert.throws(() => decodeRequest(b, b.length - 1), MalformedHeader);
  b.writeUInt16LE(100, 36); // total_extlen (in 8-byte units) past the end
  assert.throws(() => decodeRequest(b, b.length), MalformedHeader);
});

test('reply sizes follow the negotiated minor version', () => {
  assert.equal(encodeEntryOut(3n, attr, 60n, 45).length, 128);
  assert.equal(encodeEntryOut(3n, attr, 60n, 8).length, 120);
  assert.equal(encodeAttrOut(attr, 60n, 45).length, 104);
  assert.equal(encodeAttrOut(attr, 60n, 8).length, 96);
  assert.equal(encodeStatfsOut(14, 45).length, 80);
  assert.equal(encodeStatfsOut(14, 3).length, 48);
  assert.equal(encodeInitOut(negotiate({ major: 7, minor: 45, maxReadahead: 131072, flags: 0xffffffff })).length, 64);
  assert.equal(encodeInitOut(negotiate({ major: 7, minor: 22, maxReadahead: 0, flags: 0 })).length, 24);
  assert.equal(encodeInitOut(negotiate({ major: 7, minor: 4, maxReadahead: 0, flags: 0 })).length, 8);
});

test('negotiation takes the lower minor and only the flags we use', () => {
  const n = negotiate({ major: 7, minor: 45, maxReadahead: 131072, flags: 0xffffffff });
  assert.deepEqual(n, { major: 7, minor: 40, maxReadahead: 131072, flags: (1 << 18) | (1 << 22) });
  const out = encodeInitOut(n);
  assert.equal(out.readUInt32LE(4), 40);
  assert.equal(out.readUInt32LE(20), 4096); // max_write
  assert.equal(negotiate({ major: 7, minor: 31, maxReadahead: 0, flags: 0 }).minor, 31);
});

test('attr layout: mode at 60, nlink at 64, blksize at 80 of fuse_attr', () => {
  const out = encodeAttrOut(attr, 60n, 45);
  assert.equal(out.readBigUInt64LE(0), 60n);
  assert.equal(out.readBigUInt64LE(16), 3n);
  assert.equal(out.readUInt32LE(16 + 60), 0o100444);
  assert.equal(out.readUInt32LE(16 + 64), 1);
  assert.equal(out.readUInt32LE(16 + 80), 4096);
});

test('error replies are the bare header with a negative errno', () => {
  const out = encodeReply(9n, 2);
  assert.equal(out.length, 16);
  assert.equal(out.readUInt32LE(0), 16);
  assert.equal(out.readInt32LE(4), -2);
  assert.equal(out.readBigUInt64LE(8), 9n);
  const ok = encodeReply(9n, 0, Buffer.from('abc'));
  assert.equal(ok.readUInt32LE(0), 19);
  assert.equal(ok.subarray(16).toString(), 'abc');
});

test('dirents are 8-byte aligned, carry the next offset, and stop at the size asked', () => {
  const entries = [
    { name: '.', nodeid: 2n, type: 4 },
    { name: '..', nodeid: 1n, type: 4 },
    { name: 'meminfo', nodeid: 3n, type: 8, attr },
  ];
  const all = encodeDirents(entries, 0n, 4096, false, 60n, 45);
  assert.equal(all.length, 32 + 32 + 32);
  assert.equal(all.readBigUInt64LE(64 + 8), 3n); // off of the third entry
  assert.equal(all.toString('utf8', 64 + 24, 64 + 31), 'meminfo');
  assert.equal(encodeDirents(entries, 2n, 4096, false, 60n, 45).length, 32);
  assert.equal(encodeDirents(entries, 0n, 40, false, 60n, 45).length, 32);
  assert.equal(encodeDirents(entries, 2n ** 63n, 4096, false, 60n, 45).length, 0);
  const plus = encodeDirents(entries, 0n, 4096, true, 60n, 45);
  assert.equal(plus.length, 3 * (128 + 32));
  assert.equal(plus.readBigUInt64LE(0), 0n); // "." takes no lookup reference
  assert.equal(plus.readBigUInt64LE(2 * 160), 3n);
});
