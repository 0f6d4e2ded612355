import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ParseError } from '../../../src/kernel/errors.js';
import { parseMaxOpenFiles } from '../../../src/kernel/proc/limits.js';

// Kernel 6.18 (this machine): `cat /proc/self/limits`, the rows around the one read.
const LIMITS = `Limit                     Soft Limit           Hard Limit           Units     
Max processes             96367                96367                processes 
Max open files            20000                20000                files     
Max locked memory         8388608              8388608              bytes     
`;

describe('parseMaxOpenFiles', () => {
  it('reads the soft limit of kernel 6.18 /proc/<pid>/limits', () => {
    assert.equal(parseMaxOpenFiles(LIMITS), 20000n);
    assert.equal(parseMaxOpenFiles(LIMITS.replace('20000                20000', '1024                 4096 ')), 1024n);
  });

  it('"unlimited" is no number; a missing row or a bad figure is an error', () => {
    assert.equal(parseMaxOpenFiles(LIMITS.replace('20000                20000', 'unlimited            unlimited')), undefined);
    assert.throws(() => parseMaxOpenFiles(LIMITS.replace('Max open files', 'Max open filez')), ParseError);
    assert.throws(() => parseMaxOpenFiles(LIMITS.replace('20000                20000', 'x20000               20000')), ParseError);
  });

  it('agrees with the shell\'s ulimit -Sn for a process started with its own limit', () => {
    const text = execFileSync('sh', ['-c', 'ulimit -Sn 777; cat /proc/self/limits'], { encoding: 'latin1' });
    assert.equal(parseMaxOpenFiles(text), 777n);
    assert.equal(typeof parseMaxOpenFiles(readFileSync('/proc/self/limits', 'latin1')), 'bigint');
  });
});
