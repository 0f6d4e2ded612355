import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeptFiles, fdBudget, oneShotReader } from '../../src/kernel/kept-file.js';

const openFds = () => readdirSync('/proc/self/fd').length;

test('kept files hold one descriptor each and re-read fresh content at offset 0', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cstats-kept-'));
  try {
    const files = new KeptFiles();
    const before = openFds();
    assert.match(files.read('/proc/self/stat')!, /^\d+ \(/);
    writeFileSync(join(dir, 'a'), 'one');
    assert.equal(files.read(join(dir, 'a')), 'one');
    writeFileSync(join(dir, 'a'), 'two!');
    assert.equal(files.read(join(dir, 'a')), 'two!');
    assert.equal(files.read(join(dir, 'a')), 'two!', 'the same bytes again');
    writeFileSync(join(dir, 'a'), 'two?');
    assert.equal(files.read(join(dir, 'a')), 'two?', 'as many bytes, one of them different');
    writeFileSync(join(dir, 'a'), 'tw');
    assert.equal(files.read(join(dir, 'a')), 'tw', 'fewer bytes, the same first ones');
    assert.equal(openFds(), before + 2);
    assert.equal(files.read(join(dir, 'missing')), undefined);
    assert.equal(openFds(), before + 2, 'a missing file keeps no descriptor');
    files.close();
    assert.equal(openFds(), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('past the descriptor budget files are read with open/read/close: same content, nothing kept', () => {
  const saved = fdBudget.limit();
  fdBudget.max = fdBudget.kept;
  try {
    const files = new KeptFiles();
    const before = openFds();
    const text = files.read('/proc/meminfo');
    assert.match(text!, /^MemTotal:/);
    assert.equal(openFds(), before);
    files.close();
    assert.equal(openFds(), before);
  } finally {
    fdBudget.max = saved;
  }
});

test('the budget is three quarters of the soft open-files limit', () => {
  assert.ok(fdBudget.limit() >= 64);
  assert.ok(fdBudget.kept >= 0 && fdBudget.kept <= fdBudget.max);
});

test('content larger than the shared buffer is read whole', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cstats-kept-'));
  try {
    const big = 'x'.repeat(200_000) + 'END';
    writeFileSync(join(dir, 'big'), big);
    const files = new KeptFiles();
    assert.equal(files.read(join(dir, 'big')), big);
    files.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('seq_files longer than a page come back whole (they are handed out a page at a time)', () => {
  // /proc/kallsyms: a seq_file of megabytes that does not change while read (no module loads).
  const expected = readFileSync('/proc/kallsyms', 'latin1');
  assert.ok(expected.length > 64 * 1024);
  assert.equal(oneShotReader.read('/proc/kallsyms'), expected);
  const files = new KeptFiles();
  assert.equal(files.read('/proc/kallsyms'), expected);
  assert.equal(files.read('/proc/kallsyms'), expected, 'and again through the kept descriptor');
  files.close();
  // The mount table, which the collector reads this way, whatever its size on this host.
  assert.equal(oneShotReader.read('/proc/self/mountinfo'), readFileSync('/proc/self/mountinfo', 'latin1'));
});
