import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteReader, ByteWriter } from '../../src/store/bytes.js';

test('varints: numbers up to 2^53 and bigints up to u64 max and beyond read back exactly; floats bit for bit', () => {
  const w = new ByteWriter(1);
  const numbers = [0, 1, 127, 128, 16383, 16384, 2 ** 49 - 1, 2 ** 49, Number.MAX_SAFE_INTEGER];
  const bigs = [0n, 127n, 2n ** 53n + 1n, 18446744073709551615n, 2n ** 80n + 3n];
  const floats = [0.1, -0, NaN, Infinity, 1e-310, 12.34];
  for (const n of numbers) w.varint(n);
  for (const b of bigs) w.bigVarint(b);
  for (const f of floats) w.float(f);
  const r = new ByteReader(w.finish());
  // Up to seven bytes (49 bits) a varint reads as a number, beyond as a bigint.
  for (const n of numbers) assert.equal(BigInt(r.varint()), BigInt(n));
  for (const b of bigs) assert.equal(BigInt(r.varint()), b);
  for (const f of floats) assert.ok(Object.is(r.float(), f));
  assert.equal(typeof new ByteReader(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)).varint(), 'number');
});

test('a truncated stream is a RangeError, not a wrong value', () => {
  const w = new ByteWriter();
  w.varint(2 ** 40);
  w.float(1.5);
  const bytes = w.finish();
  assert.throws(() => new ByteReader(bytes.subarray(0, 3)).varint(), RangeError);
  const r = new ByteReader(bytes.subarray(0, bytes.length - 1));
  r.varint();
  assert.throws(() => r.float(), RangeError);
  assert.throws(() => new ByteReader(new Uint8Array(0)).byte(), RangeError);
  assert.throws(() => new ByteReader(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01)).smallVarint(), RangeError);
});
