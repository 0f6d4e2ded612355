/**
 * The collector's reads of a cgroup (collector/cgroup-reads.ts): what may be answered from
 * memory, and why; the same parse for the same content; the same figures, the same objects,
 * for a controller whose files all read as before. On real files (temporary trees and this
 * machine's cgroups); which reads went to the kernel is seen by wrapping KernelFile#read.
 */
import { after, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { CgroupReads, FROZEN_MAX_AGE_READS, SETTINGS_EVERY_READS, WATCHED_SETTINGS_EVERY_READS, type TickFacts } from '../../src/collector/cgroup-reads.js';
import { KernelFile } from '../../src/kernel/kept-file.js';
import { V1_READERS } from '../../src/kernel/cgroup/v1/index.js';
import { V2_READERS } from '../../src/kernel/cgroup/v2/index.js';
import type { V1Dirs } from '../../src/kernel/cgroup/v1/dirs.js';
import { requires } from '../requires.js';

const NO_FACTS: TickFacts = { noNewOomKills: false };

function reads(version: 1 | 2, tick: TickFacts = NO_FACTS): CgroupReads {
  return new CgroupReads(version, tick, (err) => assert.fail(String(err)));
}

const tmp = mkdtempSync(join(tmpdir(), 'cstats-cgroup-reads-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let trees = 0;

/** Writes `files` (paths relative to a new directory) and returns that directory. */
function tree(files: Record<string, string>): string {
  const root = join(tmp, `t${trees++}`);
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), content);
  }
  return root;
}

/** The paths read from the kernel while `fn` runs. */
function kernelReads(fn: () => void): string[] {
  const original = KernelFile.prototype.read;
  const paths: string[] = [];
  KernelFile.prototype.read = function (this: KernelFile) {
    paths.push(this.path);
    return original.call(this);
  };
  try {
    fn();
  } finally {
    KernelFile.prototype.read = original;
  }
  return paths;
}

test('a frozen counter is remembered up to FROZEN_MAX_AGE_READS reads; a read without the proof refreshes it, so answers never go back in time', () => {
  const dir = tree({ 'memory.oom_control': 'oom_kill 1\n' });
  const facts: TickFacts = { noNewOomKills: false };
  const files = reads(1, facts);
  const write = (v: string): void => writeFileSync(join(dir, 'memory.oom_control'), `oom_kill ${v}\n`);
  const read = (): string | undefined => files.readAt(dir, 'memory.oom_control');
  assert.equal(read(), 'oom_kill 1\n');
  write('2');
  facts.noNewOomKills = true;
  for (let i = 1; i < FROZEN_MAX_AGE_READS; i++) assert.equal(read(), 'oom_kill 1\n', 'proven unchanged: remembered');
  assert.equal(read(), 'oom_kill 2\n', 'FROZEN_MAX_AGE_READS reads old: read again');
  write('3');
  facts.noNewOomKills = false;
  assert.equal(read(), 'oom_kill 3\n', 'without the proof the read goes to the file');
  write('4');
  facts.noNewOomKills = true;
  assert.equal(read(), 'oom_kill 3\n', 'and what it read is what is remembered');
  files.close();
});

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

test('a setting is read through a descriptor that is not kept, again after a write to it, and every WATCHED_SETTINGS_EVERY_READS reads without one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cstats-kept-'));
  const other = mkdtempSync(join(tmpdir(), 'cstats-kept-'));
  const path = join(dir, 'memory.limit_in_bytes');
  try {
    const files = reads(1);
    writeFileSync(path, '67108864\n');
    assert.equal(files.readAt(dir, basename(path)), '67108864\n');
    // The first watch may have opened the process's inotify descriptor; the file keeps none.
    const before = openFds();
    files.rereadSettings();
    assert.equal(files.readAt(dir, basename(path)), '67108864\n');
    assert.equal(openFds(), before);
    for (let i = 1; i < WATCHED_SETTINGS_EVERY_READS; i++) assert.equal(files.readAt(dir, basename(path)), '67108864\n');
    writeFileSync(join(dir, 'memory.usage_in_bytes'), '1\n');
    await settle();
    assert.equal(files.readAt(dir, basename(path)), '67108864\n', 'a write to another file of the directory changes nothing');
    writeFileSync(path, '134217728\n');
    await settle();
    assert.equal(files.readAt(dir, basename(path)), '134217728\n', 'the write was seen: read at once');
    assert.equal(files.readAt(dir, basename(path)), '134217728\n');
    writeFileSync(path, '268435456\n');
    files.rereadSettings();
    assert.equal(files.readAt(dir, basename(path)), '268435456\n', 'asked to: read at once, before any event');
    // A change the directory's watch does not report (here a write through a hard link in
    // another directory; a kernel-side change would be another): the periodic read sees it.
    const alias = join(other, 'alias');
    linkSync(path, alias);
    await settle(); // the events of the writes above, and of the link, are handled
    files.rereadSettings();
    assert.equal(files.readAt(dir, basename(path)), '268435456\n');
    writeFileSync(alias, '536870912\n');
    await settle();
    for (let i = 1; i < WATCHED_SETTINGS_EVERY_READS; i++) assert.equal(files.readAt(dir, basename(path)), '268435456\n');
    assert.equal(files.readAt(dir, basename(path)), '536870912\n', 'read again after WATCHED_SETTINGS_EVERY_READS reads');
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
    const files = new CgroupReads(2, NO_FACTS, (err) => assert.fail(String(err)), undefined, () => {
      throw Object.assign(new Error('ENOSPC: System limit for number of file watchers reached'), { code: 'ENOSPC' });
    });
    writeFileSync(path, 'max 100000\n');
    assert.equal(files.readAt(dir, basename(path)), 'max 100000\n');
    writeFileSync(path, '50000 100000\n');
    for (let i = 1; i < SETTINGS_EVERY_READS; i++) assert.equal(files.readAt(dir, basename(path)), 'max 100000\n');
    assert.equal(files.readAt(dir, basename(path)), '50000 100000\n');
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
    const files = reads(1);
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
    const files = reads(1);
    const seen: string[] = [];
    const parse = (text: string, file: string) => {
      seen.push(text);
      if (text === 'bad') throw new Error(`malformed ${file}`);
      return { value: BigInt(text) };
    };
    writeFileSync(path, '18446744073709551615');
    const first = files.parseAt(dir, 'counter', parse);
    assert.deepEqual(first, { value: 18446744073709551615n });
    assert.equal(files.parseAt(dir, 'counter', parse), first, 're-read, same content: the same object');
    assert.deepEqual(seen, ['18446744073709551615']);
    const other = (text: string) => ({ value: BigInt(text) });
    assert.notEqual(files.parseAt(dir, 'counter', other), first, 'another parser parses for itself');
    writeFileSync(path, '7');
    assert.deepEqual(files.parseAt(dir, 'counter', parse), { value: 7n });
    writeFileSync(path, 'bad');
    assert.throws(() => files.parseAt(dir, 'counter', parse), { message: `malformed ${path}` });
    assert.throws(() => files.parseAt(dir, 'counter', parse), 'the same bad content fails again: nothing was kept');
    writeFileSync(path, '7');
    assert.deepEqual(files.parseAt(dir, 'counter', parse), { value: 7n });
    assert.deepEqual(seen, ['18446744073709551615', '7', 'bad', 'bad', '7']);
    files.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const openFds = (): number => readdirSync('/proc/self/fd').length;

describe('counters proven frozen are answered from memory', () => {
  it('v1: a group whose CPU time did not move: user/system, block I/O and pids; it ran: everything read', () => {
    const root = tree({
      'a/cpuacct.usage_percpu': '1000 2000 \n',
      'a/cpuacct.stat': 'user 1\nsystem 2\n',
      'b/blkio.throttle.io_service_bytes': '8:0 Read 4096\n8:0 Write 0\nTotal 4096\n',
      'b/blkio.throttle.io_serviced': '8:0 Read 1\n8:0 Write 0\nTotal 1\n',
      'p/pids.current': '3\n',
    });
    const dirs: V1Dirs = { cpuacct: `${root}/a`, blkio: `${root}/b`, pids: `${root}/p` };
    const files = reads(1);
    const first = kernelReads(() => files.read(V1_READERS, dirs));
    assert.ok(first.includes(`${root}/a/cpuacct.stat`) && first.includes(`${root}/p/pids.current`), 'first read: nothing known');
    const idle = kernelReads(() => files.read(V1_READERS, dirs));
    assert.deepEqual(idle, [`${root}/a/cpuacct.usage_percpu`], 'only the CPU time is read');
    writeFileSync(`${root}/a/cpuacct.usage_percpu`, '1000 2001 \n');
    writeFileSync(`${root}/p/pids.current`, '4\n');
    let moved;
    const ran = kernelReads(() => (moved = files.read(V1_READERS, dirs)));
    assert.deepEqual(ran.filter((p) => !p.includes('_recursive')).sort(), [
      `${root}/a/cpuacct.stat`,
      `${root}/a/cpuacct.usage_percpu`,
      `${root}/b/blkio.throttle.io_service_bytes`,
      `${root}/b/blkio.throttle.io_serviced`,
      `${root}/p/pids.current`,
    ]);
    assert.equal(moved!.cpu?.usageNs, 3001n);
    assert.equal(moved!.pids?.current, 4n);
    files.close();
  });

  it('v1: throttling counters without a quota of its own, never with one; an unreadable quota proves nothing', () => {
    const cpuStat = 'nr_periods 0\nnr_throttled 0\nthrottled_time 0\n';
    for (const [quota, remembered] of [['-1\n', true], ['50000\n', false], ['x\n', false]] as const) {
      const root = tree({ 'c/cpu.cfs_quota_us': quota, 'c/cpu.stat': cpuStat });
      const files = new CgroupReads(1, NO_FACTS, () => {});
      files.read(V1_READERS, { cpu: `${root}/c` });
      const second = kernelReads(() => files.read(V1_READERS, { cpu: `${root}/c` }));
      assert.equal(!second.includes(`${root}/c/cpu.stat`), remembered, `quota ${quota.trim()}`);
      files.close();
    }
  });

  it('v1: failcnt without a limit of its own; oom_control while the host counted no OOM kill', () => {
    const quietFiles = { 'm/memory.limit_in_bytes': '9223372036854771712\n', 'm/memory.failcnt': '0\n', 'm/memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n' };
    const quiet = tree(quietFiles);
    const files = reads(1, { noNewOomKills: true });
    files.read(V1_READERS, { memory: `${quiet}/m` });
    assert.deepEqual(kernelReads(() => files.read(V1_READERS, { memory: `${quiet}/m` })).filter((p) => /failcnt|oom_control/.test(p)), []);
    const killed = tree({ ...quietFiles, 'm/memory.limit_in_bytes': '67108864\n' });
    const facts = { noNewOomKills: true };
    const other = reads(1, facts);
    other.read(V1_READERS, { memory: `${killed}/m` });
    facts.noNewOomKills = false;
    let stats;
    const read = kernelReads(() => (stats = other.read(V1_READERS, { memory: `${killed}/m` })));
    assert.deepEqual(read.filter((p) => /failcnt|oom_control/.test(p)).sort(), [`${killed}/m/memory.failcnt`, `${killed}/m/memory.oom_control`]);
    assert.equal(stats!.memory?.oomKills, 2n);
    files.close();
    other.close();
  });

  it('v1: the high-water mark while the group did not run and its usage stands still', () => {
    const root = tree({ 'a/cpuacct.usage': '5\n', 'm/memory.usage_in_bytes': '4096\n', 'm/memory.max_usage_in_bytes': '8192\n' });
    const dirs: V1Dirs = { cpuacct: `${root}/a`, memory: `${root}/m` };
    const mark = `${root}/m/memory.max_usage_in_bytes`;
    const errors: unknown[] = [];
    const files = new CgroupReads(1, NO_FACTS, (err) => errors.push(err));
    const markRead = (): boolean => kernelReads(() => files.read(V1_READERS, dirs)).includes(mark);
    assert.ok(markRead(), 'first read');
    assert.ok(!markRead(), 'idle, usage unchanged');
    writeFileSync(`${root}/m/memory.usage_in_bytes`, '12288\n');
    assert.ok(markRead(), 'usage moved (a remote charge): the mark is read');
    writeFileSync(`${root}/a/cpuacct.usage`, '6\n');
    assert.ok(markRead(), 'it ran: the mark is read');
    // (A kept descriptor outlives an unlink: malformed content stands in for a file that gives nothing.)
    writeFileSync(`${root}/m/memory.usage_in_bytes`, 'garbage\n');
    markRead();
    assert.ok(markRead(), 'no usage to compare: the mark is read');
    assert.equal(errors.length, 2, 'the malformed usage was reported at each read');
    files.close();
  });

  it('v2: memory.peak while the group did not run and memory.current stands still', () => {
    const root = tree({ 'cpu.stat': 'usage_usec 10\n', 'memory.current': '4096\n', 'memory.peak': '8192\n' });
    const files = reads(2);
    const peakRead = (): boolean => kernelReads(() => files.read(V2_READERS, root)).includes(`${root}/memory.peak`);
    assert.ok(peakRead());
    writeFileSync(`${root}/memory.peak`, '9000\n');
    assert.ok(!peakRead());
    assert.equal(files.read(V2_READERS, root).memory?.maxUsageBytes, 8192n, 'remembered');
    writeFileSync(`${root}/memory.current`, '0\n');
    assert.ok(peakRead());
    files.close();
  });

  it('pressure: a quiet parent lets zero-average resources be remembered; averages still decaying are read', () => {
    const ZERO = 'some avg10=0.00 avg60=0.00 avg300=0.00 total=1234\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=1000\n';
    const DECAYING = 'some avg10=1.50 avg60=0.40 avg300=0.08 total=99999\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=1000\n';
    const root = tree({ 'cpu.pressure': ZERO, 'memory.pressure': DECAYING, 'io.pressure': ZERO });
    const files = reads(2);
    const quiet = { cpu: true, memory: true, io: false };
    const pressureReads = (): string[] => kernelReads(() => files.read(V2_READERS, root, quiet)).filter((p) => p.endsWith('.pressure'));
    assert.equal(pressureReads().length, 3, 'averages unknown before the first read');
    assert.deepEqual(pressureReads(), [`${root}/memory.pressure`, `${root}/io.pressure`], 'memory is decaying, io under a busy parent');
    assert.equal(files.read(V2_READERS, root, quiet).pressure?.cpu?.some?.totalUs, 1234n);
    files.close();
  });
});

test('a file the kernel lacks is said at its first read, with what it needs; one the cgroup lacks for other reasons is not', () => {
  const said: string[] = [];
  const root = tree({ 'g/cpu.stat': 'usage_usec 1\n', 'g/memory.current': '4096\n', 'g/cgroup.procs': '', 'nomem/cpu.stat': 'usage_usec 1\n' });
  const files = new CgroupReads(2, NO_FACTS, (err) => assert.fail(String(err)), (file, requirement) => said.push(`${file}: ${requirement}`));
  files.read(V2_READERS, `${root}/g`);
  files.read(V2_READERS, `${root}/g`);
  files.read(V2_READERS, `${root}/nomem`);
  files.read(V2_READERS, `${root}/gone`);
  assert.deepEqual(said.map((l) => l.slice(root.length)), [
    '/g/memory.peak: kernel 5.19 or later (the cgroup v2 memory high-water mark)',
    '/g/memory.swap.current: swap accounting (CONFIG_MEMCG_SWAP, not booted with swapaccount=0)',
    '/g/memory.swap.max: swap accounting (CONFIG_MEMCG_SWAP, not booted with swapaccount=0)',
    '/g/cpu.pressure: pressure stall information: kernel 4.20 or later with CONFIG_PSI, not booted with psi=0',
    '/g/memory.pressure: pressure stall information: kernel 4.20 or later with CONFIG_PSI, not booted with psi=0',
    '/g/io.pressure: pressure stall information: kernel 4.20 or later with CONFIG_PSI, not booted with psi=0',
  ]);
  files.close();
});
