import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, fstatSync, mkdtempSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, isJournalStream, oneLine } from '../src/log.js';

test('one line per event: a stack trace and control characters stay on one line, no colour codes', () => {
  const lines: string[] = [];
  const log = createLogger((l) => lines.push(l), false, false);
  log.warn('agent', 'unexpected error: Error: boom\n    at f (a.js:1:2)\r\n    at g (b.js:3:4)');
  log.info('docker', 'container \x1b[31mred\x1b[0m\tname');
  assert.equal(lines.length, 2);
  assert.match(lines[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z warn \[agent\] unexpected error: Error: boom \| at f \(a\.js:1:2\) \| at g \(b\.js:3:4\)$/);
  assert.ok(lines.every((l) => !/[\x00-\x08\x0a-\x1f\x7f]/.test(l)), 'no control characters but tab');
  assert.ok(lines[1].endsWith('container \\x1b[31mred\\x1b[0m\tname'));
  assert.equal(oneLine('a\n\nb'), 'a | b');
});

test('for journald: the syslog priority first and no timestamp of our own', () => {
  const lines: string[] = [];
  const log = createLogger((l) => lines.push(l), false, true);
  log.warn('collector', 'slow tick');
  log.info('agent', 'serving');
  assert.deepEqual(lines, ['<4>warn [collector] slow tick', '<6>info [agent] serving']);
  const quiet: string[] = [];
  const q = createLogger((l) => quiet.push(l), true, true);
  q.info('agent', 'hidden');
  q.warn('agent', 'shown');
  assert.deepEqual(quiet, ['<4>warn [agent] shown']);
});

test('JOURNAL_STREAM is honoured only when it names the descriptor itself', () => {
  const fd = openSync(join(mkdtempSync(join(tmpdir(), 'cs18-log-')), 'stream'), 'w');
  try {
    const st = fstatSync(fd);
    assert.equal(isJournalStream(fd, { JOURNAL_STREAM: `${st.dev}:${st.ino}` }), true);
    // A variable inherited from a parent whose stderr went to journald, while ours is redirected.
    assert.equal(isJournalStream(fd, { JOURNAL_STREAM: `${st.dev}:${st.ino + 1}` }), false);
    assert.equal(isJournalStream(fd, {}), false);
  } finally {
    closeSync(fd);
  }
});
