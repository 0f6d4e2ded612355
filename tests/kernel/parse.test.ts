import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError } from '../../src/kernel/errors.js';
import { parseKeyValueRecord, parseKeyValues, parseUint, splitFields } from '../../src/kernel/parse.js';
import { U64_MAX } from './context.js';

describe('parseKeyValues / parseKeyValueRecord', () => {
  const text = 'nr_periods 36\nnr_throttled 35\nthrottled_time 1629238032\n';
  it('parses "key value" lines', () => {
    assert.deepEqual(
      parseKeyValues(text, 'cpu.stat'),
      new Map([
        ['nr_periods', 36n],
        ['nr_throttled', 35n],
        ['throttled_time', 1629238032n],
      ]),
    );
    assert.deepEqual(parseKeyValueRecord(text, 'cpu.stat'), { nr_periods: 36n, nr_throttled: 35n, throttled_time: 1629238032n });
  });
  it('keeps u64 values above 2^53 exact, and a last line without newline', () => {
    assert.equal(parseKeyValueRecord(`a 1\nhierarchical_memory_limit ${U64_MAX}`, 'f').hierarchical_memory_limit, 18446744073709551615n);
  });
  it('accepts empty text and blank lines', () => {
    assert.deepEqual(parseKeyValueRecord('', 'f'), {});
    assert.deepEqual(parseKeyValueRecord('\na 1\n\n', 'f'), { a: 1n });
  });
  it('rejects lines without a value, extra fields, negative or non-numeric values, overflow', () => {
    for (const bad of ['nr_periods\n', 'a 1 2\n', 'a -1\n', 'a x\n', ' 1\n', 'a 18446744073709551616\n', 'a \n']) {
      assert.throws(() => parseKeyValues(bad, 'memory.stat'), (e: unknown) => e instanceof ParseError && e.file === 'memory.stat', bad);
    }
  });
});

describe('splitFields', () => {
  it('splits on runs of spaces and tabs', () => {
    assert.deepEqual(splitFields('cpu  9911 0\t7904 '), ['cpu', '9911', '0', '7904']);
    assert.deepEqual(splitFields('   '), []);
    assert.deepEqual(splitFields(''), []);
  });
});

describe('parseUint', () => {
  it('parses small unsigned integers and rejects the rest', () => {
    assert.equal(parseUint('13410', 'f'), 13410);
    for (const bad of ['', '-1', '0x10', '1e3', '1234567890123456']) assert.throws(() => parseUint(bad, 'f'), ParseError, bad);
  });
});
