import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs, UsageError } from '../../src/cli/args.js';

const OPTS = new Map([
  ['listen', 'string'],
  ['all', 'bool'],
  ['docker', 'bool'],
] as const);

test('values, = form, booleans, --no- form, short alias, positionals, --', () => {
  const r = parseArgs(['--listen', 'a:1', '-a', '--no-docker', 'web', '--', '--not-a-flag'], OPTS, { a: 'all' });
  assert.deepEqual(r, { flags: { listen: 'a:1', all: true, docker: false }, positionals: ['web', '--not-a-flag'] });
  assert.deepEqual(parseArgs(['--listen=b:2'], OPTS).flags, { listen: 'b:2' });
});

test('unknown options and missing values are usage errors', () => {
  assert.throws(() => parseArgs(['--lisen', 'x'], OPTS), UsageError);
  assert.throws(() => parseArgs(['--listen'], OPTS), /needs a value/);
  assert.throws(() => parseArgs(['--no-listen'], OPTS), UsageError);
});
