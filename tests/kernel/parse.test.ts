import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError } from '../../src/kernel/errors.js';
import { keyValueOf, parseKeyValueRecord, parseKeyValues, parseUint, splitFields } from '../../src/kernel/parse.js';
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

describe('keyValueOf', () => {
  const vmstat = 'nr_free_pages 5860163\noom_kill_x 9\npgfault 1234\noom_kill 3\nswap_ra 0';
  it('finds one key on any line, exact and at a line start only', () => {
    assert.equal(keyValueOf(vmstat, '/proc/vmstat', 'oom_kill'), 3n);
    assert.equal(keyValueOf(vmstat, '/proc/vmstat', 'nr_free_pages'), 5860163n);
    assert.equal(keyValueOf(vmstat, '/proc/vmstat', 'swap_ra'), 0n);
    assert.equal(keyValueOf(vmstat, '/proc/vmstat', 'kill'), undefined);
    assert.equal(keyValueOf(`oom_kill ${U64_MAX}\n`, 'f', 'oom_kill'), 18446744073709551615n);
    assert.equal(keyValueOf('', 'f', 'oom_kill'), undefined);
  });
  it('rejects a malformed value of that key', () => {
    for (const bad of ['oom_kill \n', 'oom_kill x\n', 'a 1\noom_kill -1', 'oom_kill 1 2\n', 'oom_kill 18446744073709551616']) {
      assert.throws(() => keyValueOf(bad, '/proc/vmstat', 'oom_kill'), (e: unknown) => e instanceof ParseError && e.file === '/proc/vmstat', bad);
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
