/** The strict query-parameter readers: what Date.parse and Number let through is refused. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseInteger, parseRfc3339 } from '../../src/api/params.js';
import { queryFlag } from '../../src/api/docker/reply.js';

test('RFC 3339: offsets, fractions to the nanosecond, lower-case t and z', () => {
  assert.equal(parseRfc3339('2024-03-01T12:00:00Z'), Date.UTC(2024, 2, 1, 12));
  assert.equal(parseRfc3339('2024-03-01t12:00:00.123456789z'), Date.UTC(2024, 2, 1, 12, 0, 0, 123));
  assert.equal(parseRfc3339('2024-03-01T14:00:00+02:00'), Date.UTC(2024, 2, 1, 12));
  assert.equal(parseRfc3339('2024-02-29T23:59:59-00:00'), Date.UTC(2024, 1, 29, 23, 59, 59));
});

test('RFC 3339: what Date.parse takes and is not one', () => {
  for (const s of ['hello 1', '-1', '2024', 'x 2024-01-01', '12/31/2024', '2024-01-01', '2024-01-01T00:00:00', ' 2024-01-01T00:00:00Z', '2024-02-30T00:00:00Z', '2023-02-29T00:00:00Z', '2024-01-01T24:00:00Z', '2024-01-01T23:60:00Z', '2024-13-01T00:00:00Z', '2024-01-01T00:00:00.Z', '2024-01-01T00:00:00.1234567890Z']) {
    assert.equal(parseRfc3339(s), undefined, s);
  }
});

test('integers as strconv.Atoi reads them', () => {
  assert.equal(parseInteger('0'), 0);
  assert.equal(parseInteger('-1'), -1);
  assert.equal(parseInteger('+7'), 7);
  assert.equal(parseInteger('007'), 7);
  for (const s of ['', ' ', ' 5', '5 ', '1.5', '1e3', '0x10', 'Infinity', 'NaN', '--1', '99999999999999999999']) assert.equal(parseInteger(s), undefined, JSON.stringify(s));
});

test("Docker's boolean parameters: absent is the default, empty and 0/no/false/none (any case) are false", () => {
  const f = (q: string, byDefault: boolean) => queryFlag(new URLSearchParams(q), 'stream', byDefault);
  assert.equal(f('', true), true);
  assert.equal(f('', false), false);
  for (const v of ['', '0', 'no', 'false', 'FALSE', 'None', ' no ']) assert.equal(f(`stream=${encodeURIComponent(v)}`, true), false, v);
  for (const v of ['1', 'true', 'yes', 'maybe']) assert.equal(f(`stream=${v}`, false), true, v);
});
