import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toJson, toJsonChunks } from '../../src/api/json.js';
import { SLAB_BYTES, SlabPool } from '../../src/api/slabs.js';

test('bigints are written with every digit, including u64 max', () => {
  assert.equal(toJson({ a: 18446744073709551615n, b: 9007199254740993n }), '{"a":18446744073709551615,"b":9007199254740993}');
});

test('maps become objects; undefined members are left out; non-finite numbers become null', () => {
  assert.equal(toJson({ m: new Map([['k', 1n]]), u: undefined, n: NaN, i: Infinity, s: 'x"y', arr: [1, undefined] }), '{"m":{"k":1},"n":null,"i":null,"s":"x\\"y","arr":[1,null]}');
});

test('same text as JSON.stringify for plain values, also indented', () => {
  const v = { a: [1, 2, { b: 'c' }], d: true, e: null, f: {}, g: [] };
  assert.equal(toJson(v), JSON.stringify(v));
  assert.equal(toJson(v, 2), JSON.stringify(v, null, 2));
});

test('a Float64Array is written as the array of its numbers would be: NaN and infinities as null, -0 as 0, every digit', () => {
  const values = [0.1 + 0.2, -0, NaN, Infinity, -Infinity, 2 ** 53 - 1, 1.7976931348623157e308, 5e-324, 1e21, 123456.789, -42];
  const plain = values.map((v) => (Number.isFinite(v) ? v : null));
  assert.equal(toJson({ c: Float64Array.from(values) }), toJson({ c: plain }));
  assert.equal(toJson({ c: Float64Array.from(values) }, 2), toJson({ c: plain }, 2));
  assert.equal(toJson(new Float64Array(0)), '[]');
});

test('a Float64Array with runs of NaN (nothing sampled) of every length, at either end or between numbers, is written as its plain array', () => {
  const nans = (n: number) => Array<number>(n).fill(NaN);
  const numbers = (n: number) => Array.from({ length: n }, (_, k) => k + 0.5);
  for (const run of [0, 1, 31, 32, 33, 100]) {
    for (const values of [nans(run), [...nans(run), ...numbers(2)], [...numbers(2), ...nans(run)], [...numbers(2), ...nans(run), ...numbers(3), ...nans(run)]]) {
      const plain = values.map((v) => (Number.isNaN(v) ? null : v));
      assert.equal(toJson(Float64Array.from(values)), JSON.stringify(plain), `${run}: ${plain}`);
    }
  }
});

test('a Float64Array of integers written digit by digit reads as JSON.stringify writes it: every length, sign and the 1e8 seam', () => {
  const values = [0, -0, 1, -1, 9, 10, 99, 100, 99_999_999, 100_000_000, 100_000_001, -100_000_000, 1_000_000_007, 123_456_789_012_345, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53, 2 ** 53 + 2, 1e16, 1e21, 8_323_743_744, 120_000_000_003, 4_000_000_050_000, 9_007_199_200_000_001];
  for (let d = 0; d < 16; d++) values.push(10 ** d - 1, 10 ** d, 10 ** d + 1, 10 ** d * 7 + 5);
  assert.equal(toJson(Float64Array.from(values)), JSON.stringify(values));
});

test('random numbers of every kind in a Float64Array: the same text as JSON.stringify', () => {
  // A fixed seed (xorshift) so a failure repeats.
  let seed = 0x2545f491;
  const next = () => ((seed ^= seed << 13), (seed ^= seed >>> 17), (seed ^= seed << 5), (seed >>> 0) / 2 ** 32);
  const kinds = [() => Math.floor(next() * 2 ** 53), () => Math.floor(next() * 1e9), () => -Math.floor(next() * 1e12), () => next() * 100, () => (next() - 0.5) * 1e-300, () => next() * 1e300, () => Math.floor(next() * 2 ** 60) / 60];
  const values = Array.from({ length: 20_000 }, (_, i) => kinds[i % kinds.length]());
  assert.equal(toJson(Float64Array.from(values)), JSON.stringify(values));
});

test('toJsonChunks are toJson as UTF-8, with text before and after number columns', () => {
  const body = { name: 'café ☕ "x"', a: Float64Array.from([1.5, NaN, 2 ** 40]), mid: 'ü', b: Float64Array.from([]), c: Float64Array.from(Array(40).fill(7)), big: Float64Array.from({ length: 5000 }, (_, i) => i / 3), after: 'é', big2: Float64Array.from({ length: 5000 }, (_, i) => -i), end: ['ß', 18446744073709551615n] };
  assert.equal(Buffer.concat(toJsonChunks(body)).toString('utf8'), toJson(body));
  // The columns of 5000 numbers do not fit in the buffer begun before them: the text spans buffers.
  assert.ok(toJsonChunks(body).length >= 2);
  assert.deepEqual(JSON.parse(Buffer.concat(toJsonChunks(body)).toString('utf8')).a, [1.5, null, 2 ** 40]);
  assert.deepEqual(toJsonChunks({ s: 'ü' }), [Buffer.from('{"s":"ü"}')]);
});

test('toJsonChunks into lent slabs: the same text, columns cut across slabs at any number, the slabs taken back and lent again', () => {
  // Numbers of every length around the slab's end: 1 MiB / 25 bytes at most a number.
  let seed = 0x9e3779b9;
  const next = () => ((seed ^= seed << 13), (seed ^= seed >>> 17), (seed ^= seed << 5), (seed >>> 0) / 2 ** 32);
  const kinds = [() => next() * 100, () => Math.floor(next() * 2 ** 53), () => -Math.floor(next() * 1e4), () => NaN, () => 7];
  const column = (n: number, k: number) => Float64Array.from({ length: n }, (_, i) => kinds[(i * k) % kinds.length]());
  const body = { name: 'ü', a: column(150_000, 1), b: column(3, 2), c: column(100_000, 3), text: 'x'.repeat(SLAB_BYTES + 10), d: column(70_000, 1) };
  const pool = new SlabPool();
  const lease = pool.lease();
  const chunks = toJsonChunks(body, 0, lease);
  assert.equal(Buffer.concat(chunks).toString('utf8'), toJson(body));
  const slabs = new Set(chunks.map((c) => c.buffer).filter((b) => b.byteLength === SLAB_BYTES));
  assert.ok(slabs.size >= 4, `${slabs.size} slabs`);
  // The text longer than a slab has a buffer of its own.
  assert.ok(chunks.some((c) => c.buffer.byteLength > SLAB_BYTES));
  lease.release();
  lease.release(); // once is what counts
  const again = pool.lease();
  const reused = toJsonChunks(body, 0, again);
  assert.equal(Buffer.concat(reused).toString('utf8'), toJson(body), 'written again into the same slabs');
  assert.ok(reused.every((c) => c.buffer.byteLength !== SLAB_BYTES || slabs.has(c.buffer as ArrayBuffer)), 'the slabs given back are lent again');
  again.release();
  assert.throws(() => again.bytes(), /used after its release/);
});

test('columns lent as Float64Arrays: several to a slab, none overlapping, one past a slab of its own; kept slabs let go when unused', async () => {
  const pool = new SlabPool(2, 50);
  const lease = pool.lease();
  const cols = [10, 50_000, 90_000, 131_072, 131_073, 3].map((n) => lease.float64(n));
  cols.forEach((c, i) => c.fill(i));
  cols.forEach((c, i) => assert.ok(c.every((v) => v === i), `column ${i} intact`));
  assert.equal(cols[0].buffer, cols[1].buffer, 'small columns share a slab');
  assert.notEqual(cols[2].buffer, cols[1].buffer, 'one that does not fit starts a new slab');
  assert.equal(cols[3].buffer.byteLength, SLAB_BYTES, 'a slab full');
  assert.equal(cols[4].buffer.byteLength, 131_073 * 8, 'past a slab: its own');
  lease.release();
  const slab = cols[0].buffer;
  const next = pool.lease();
  const kept = [next.float64(1).buffer, next.float64(131_072).buffer];
  assert.ok(kept.includes(slab as ArrayBuffer) || kept.includes(cols[3].buffer as ArrayBuffer), 'at most two kept, lent again');
  next.release();
  await new Promise((r) => setTimeout(r, 120));
  const late = pool.lease();
  assert.ok(![...kept, slab].includes(late.float64(1).buffer as ArrayBuffer), 'let go after the keeping time');
});

test('a column mostly of fractions (written through JSON.stringify, 1024 at a time): the same text at every length around a batch, with and without slabs', () => {
  let seed = 0x1b873593;
  const next = () => ((seed ^= seed << 13), (seed ^= seed >>> 17), (seed ^= seed << 5), (seed >>> 0) / 2 ** 32);
  // Two fractions in three, and between them the others a column can hold.
  const odd = [NaN, -0, Infinity, -Infinity, 7, -3, 2 ** 53 + 2, 5e-324];
  const column = (n: number) => Float64Array.from({ length: n }, (_, i) => (i % 3 === 2 ? odd[i % odd.length] : (next() - 0.3) * 10 ** Math.floor(next() * 12)));
  const pool = new SlabPool();
  for (const n of [1, 2, 1023, 1024, 1025, 2049, 60_000]) {
    const body = { before: 'é', c: column(n), after: [1] };
    const plain = JSON.stringify({ before: 'é', c: Array.from(body.c), after: [1] });
    assert.equal(toJson(body), plain, `${n} numbers`);
    const lease = pool.lease();
    assert.equal(Buffer.concat(toJsonChunks(body, 0, lease)).toString('utf8'), plain, `${n} numbers, in slabs`);
    lease.release();
  }
});

test('slabs let go: a full collection is asked for (when node exposes gc), so their memory returns now, not at V8\'s next one', async () => {
  const asked: unknown[] = [];
  const had = Object.getOwnPropertyDescriptor(globalThis, 'gc');
  Object.defineProperty(globalThis, 'gc', { value: (o: unknown) => asked.push(o), configurable: true, writable: true });
  try {
    const pool = new SlabPool(4, 30);
    const lease = pool.lease();
    lease.float64(10);
    lease.release();
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(asked, [], 'not while they are kept');
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(asked, [{ type: 'major', execution: 'async' }]);
  } finally {
    if (had) Object.defineProperty(globalThis, 'gc', had);
    else delete (globalThis as { gc?: unknown }).gc;
  }
});
