import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toJson } from '../../src/api/json.js';

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
