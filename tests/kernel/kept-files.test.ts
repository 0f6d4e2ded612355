import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, linkSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeptFiles, SETTINGS_EVERY_READS, WATCHED_SETTINGS_EVERY_READS, fdBudget, oneShotReader } from '../../src/kernel/file.js';
import { requires } from '../requires.js';

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
  const saved = fdBudget.max;
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
  assert.ok(fdBudget.max >= 64);
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

test('content may be remembered for maxAgeReads reads; a fresh read refreshes it, so answers never go back in time', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cstats-kept-'));
  const path = join(dir, 'counter');
  const write = (v: string) => writeFileSync(path, v);
  try {
    const files = new KeptFiles();
    write('1');
    assert.equal(files.read(path), '1');
    write('2');
    assert.equal(files.readAt(dir, 'counter', 3), '2', 'nothing remembered yet: read');
    write('3');
    assert.equal(files.readAt(dir, 'counter', 3), '2');
    assert.equal(files.readAt(dir, 'counter', 3), '2');
    assert.equal(files.readAt(dir, 'counter', 3), '3', 'three reads old: read again');
    write('4');
    assert.equal(files.readAt(dir, 'counter'), '4', 'a read without maxAgeReads goes to the file');
    write('5');
    assert.equal(files.readAt(dir, 'counter', 3), '4', 'and what it read is what is remembered');
    files.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

test('a setting is read through a descriptor that is not kept, again after a write to it, and every WATCHED_SETTINGS_EVERY_READS reads without one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cstats-kept-'));
  const other = mkdtempSync(join(tmpdir(), 'cstats-kept-'));
  const path = join(dir, 'memory.limit_in_bytes');
  try {
    const files = new KeptFiles();
    writeFileSync(path, '67108864\n');
    assert.equal(files.read(path), '67108864\n');
    // The first watch may have opened the process's inotify descriptor; the file keeps none.
    const before = openFds();
    files.rereadSettings();
    assert.equal(files.read(path), '67108864\n');
    assert.equal(openFds(), before);
    for (let i = 1; i < WATCHED_SETTINGS_EVERY_READS; i++) assert.equal(files.read(path), '67108864\n');
    writeFileSync(join(dir, 'memory.usage_in_bytes'), '1\n');
    await settle();
    assert.equal(files.read(path), '67108864\n', 'a write to another file of the directory changes nothing');
    writeFileSync(path, '134217728\n');
    await settle();
    assert.equal(files.read(path), '134217728\n', 'the write was seen: read at once');
    assert.equal(files.read(path), '134217728\n');
    writeFileSync(path, '268435456\n');
    files.rereadSettings();
    assert.equal(files.read(path), '268435456\n', 'asked to: read at once, before any event');
    // A change the directory's watch does not report (here a write through a hard link in
    // another directory; a kernel-side change would be another): the periodic read sees it.
    const alias = join(other, 'alias');
    linkSync(path, alias);
    await settle(); // the events of the writes above, and of the link, are handled
    files.rereadSettings();
    assert.equal(files.read(path), '268435456\n');
    writeFileSync(alias, '536870912\n');
    await settle();
    for (let i = 1; i < WATCHED_SETTINGS_EVERY_READS; i++) assert.equal(files.read(path), '268435456\n');
    assert.equal(files.read(path), '536870912\n', 'read again after WATCHED_SETTINGS_EVERY_READS reads');
    files.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(other, { recursive: true, force: true });
  }
});

test('where the directory cannot be watched, settings are read every SETTINGS_EVERY_READS reads', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cstats-kept-'));
  const path = join(dir, 'cpu.max');
  try {
    // inotify watches used up (ENOSPC) cannot be caused here without starving every other
    // process of this machine: the watch function fails as it would then.
    const files = new KeptFiles(() => {
      throw Object.assign(new Error('ENOSPC: System limit for number of file watchers reached'), { code: 'ENOSPC' });
    });
    writeFileSync(path, 'max 100000\n');
    assert.equal(files.read(path), 'max 100000\n');
    writeFileSync(path, '50000 100000\n');
    for (let i = 1; i < SETTINGS_EVERY_READS; i++) assert.equal(files.read(path), 'max 100000\n');
    assert.equal(files.read(path), '50000 100000\n');
    files.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const V1_MEMORY = '/sys/fs/cgroup/memory';
test('a real cgroup v1 memory limit written by someone else is read at the next read', { skip: requires(existsSync(`${V1_MEMORY}/memory.stat`), 'cgroup v1 memory hierarchy') }, async () => {
  const dir = `${V1_MEMORY}/cstats-test-watch-${process.pid}`;
  mkdirSync(dir);
  try {
    const files = new KeptFiles();
    const limit = () => files.readAt(dir, 'memory.limit_in_bytes');
    const unlimited = limit();
    assert.equal(limit(), unlimited);
    execFileSync('sh', ['-c', `echo 33554432 > ${dir}/memory.limit_in_bytes`]);
    await settle();
    assert.equal(limit(), '33554432\n');
    files.close();
  } finally {
    rmdirSync(dir);
  }
});

test('parseAt parses the same content once and shares the result; new content, or another parser, parses again; a failed parse is not kept', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cstats-kept-'));
  const path = join(dir, 'counter');
  try {
    const files = new KeptFiles();
    const seen: string[] = [];
    const parse = (text: string, file: string) => {
      seen.push(text);
      if (text === 'bad') throw new Error(`malformed ${file}`);
      return { value: BigInt(text) };
    };
    writeFileSync(path, '18446744073709551615');
    const first = files.parseAt(dir, 'counter', 0, parse);
    assert.deepEqual(first, { value: 18446744073709551615n });
    assert.equal(files.parseAt(dir, 'counter', 0, parse), first, 're-read, same content: the same object');
    assert.deepEqual(seen, ['18446744073709551615']);
    const other = (text: string) => ({ value: BigInt(text) });
    assert.notEqual(files.parseAt(dir, 'counter', 0, other), first, 'another parser parses for itself');
    writeFileSync(path, '7');
    assert.deepEqual(files.parseAt(dir, 'counter', 0, parse), { value: 7n });
    writeFileSync(path, 'bad');
    assert.throws(() => files.parseAt(dir, 'counter', 0, parse), { message: `malformed ${path}` });
    assert.throws(() => files.parseAt(dir, 'counter', 0, parse), 'the same bad content fails again: nothing was kept');
    writeFileSync(path, '7');
    assert.deepEqual(files.parseAt(dir, 'counter', 0, parse), { value: 7n });
    assert.deepEqual(seen, ['18446744073709551615', '7', 'bad', 'bad', '7']);
    files.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
