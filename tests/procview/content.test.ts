/**
 * ContentSource end to end on a fixture tree: a fake /proc (host files from a real 6.18 kernel,
 * one container process and its pid-namespace init) and a cgroup v2 hierarchy whose container
 * directory holds files from a real 6.1 kernel (tests/fixtures/kernel/cgroup2-6.1/kt).
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, test } from 'node:test';
import { ContentSource, countTasks, type LoadSource } from '../../src/procview/content.js';
import type { Avenrun } from '../../src/procview/files/loadavg.js';

const root = mkdtempSync(`${tmpdir()}/procview-`);
after(() => rmSync(root, { recursive: true, force: true }));

const proc = `${root}/proc`;
const cgroup = `${root}/cgroup`;
const ctr = `${cgroup}/pod/kt`;

function pidStat(pid: number, state: string, startTicks: number): string {
  return `${pid} (sh) ${state} 1 ${pid} ${pid} 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 ${startTicks} 1000000 200 18446744073709551615\n`;
}

function fakeProcess(pid: number, ppid: number, nspid: string, state: string, startTicks: number): void {
  mkdirSync(`${proc}/${pid}/ns`, { recursive: true });
  symlinkSync('mnt:[4026532000]', `${proc}/${pid}/ns/mnt`);
  symlinkSync('pid:[4026532001]', `${proc}/${pid}/ns/pid`);
  writeFileSync(`${proc}/${pid}/cgroup`, '0::/pod/kt\n');
  writeFileSync(`${proc}/${pid}/status`, `Name:\tsh\nPPid:\t${ppid}\nNSpid:\t${nspid}\n`);
  writeFileSync(`${proc}/${pid}/stat`, pidStat(pid, state, startTicks));
}

mkdirSync(`${proc}/self/ns`, { recursive: true });
symlinkSync('mnt:[4026531841]', `${proc}/self/ns/mnt`);
cpSync('tests/fixtures/procview/host', proc, { recursive: true });
fakeProcess(400, 300, '400\t1', 'S', 88711); // the container's init, started 100 s before the host uptime
fakeProcess(500, 400, '500\t7', 'R', 90000);
cpSync('tests/fixtures/kernel/cgroup2-6.1/kt', ctr, { recursive: true });
writeFileSync(`${cgroup}/pod/memory.max`, '33554432\n'); // the parent's limit is the lower one
writeFileSync(`${ctr}/io.stat`, '254:0 rbytes=4194304 wbytes=8388608 rios=4 wios=8 dbytes=0 dios=0\n');
writeFileSync(`${ctr}/cgroup.threads`, '400\n500\n');
writeFileSync(`${ctr}/cgroup.procs`, '400\n500\n');

const averages = new Map<string, Avenrun>();
const loads: LoadSource = { get: (dir) => averages.get(dir) };
const source = new ContentSource({
  env: { procRoot: proc, cpuOnlineFile: `${proc}/cpu-online`, layout: { mode: 'v2', v1: new Map(), v2Root: cgroup } },
  cfsCpus: true,
  loads,
});

const host = (name: string): string => readFileSync(`tests/fixtures/procview/host/${name}`, 'latin1');
const kb = (text: string, key: string): string => (new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text) ?? [])[1];

test('the host (our mount namespace) and unknown pids get the host files', () => {
  mkdirSync(`${proc}/600/ns`, { recursive: true });
  symlinkSync('mnt:[4026531841]', `${proc}/600/ns/mnt`);
  assert.equal(source.render('meminfo', 600), host('meminfo'));
  assert.equal(source.render('stat', 999), host('stat'));
  assert.equal(source.render('cpuinfo', 0), host('cpuinfo'));
});

test('v2 meminfo: the lowest memory.max up the tree, usage from memory.current, slab from memory.stat', () => {
  const m = source.render('meminfo', 500);
  assert.equal(kb(m, 'MemTotal'), '32768');
  assert.equal(kb(m, 'MemFree'), `${32768 - 20532}`);
  assert.equal(kb(m, 'MemAvailable'), `${32768 - 20532 + 20480}`);
  assert.equal(kb(m, 'Shmem'), '20480');
  assert.equal(kb(m, 'Inactive\\(anon\\)'), '20480');
  assert.equal(kb(m, 'Slab'), '49');
  assert.equal(kb(m, 'SReclaimable'), '48');
  assert.equal(kb(m, 'SwapTotal'), '0');
});

test('v2 cpus: cpu.max 50000/100000 shows one CPU of the two', () => {
  assert.equal(source.render('cpuOnline', 500), '0\n');
  assert.equal([...source.render('cpuinfo', 500).matchAll(/^processor/gm)].length, 1);
});

test('v2 stat from cpu.stat: user/system spread over the visible CPU, idle the rest; the cgroup R and D tasks', () => {
  const lines = source.render('stat', 500).split('\n');
  assert.equal(lines[0], 'cpu  64 0 11 98534 0 0 0 0 0 0');
  assert.equal(lines[1], 'cpu0 64 0 11 98534 0 0 0 0 0 0');
  assert.ok(lines[2].startsWith('intr '));
  // pid 500 is in R, its init 400 in S (the host says procs_running 4).
  assert.deepEqual(lines.filter((l) => l.startsWith('procs_')), ['procs_running 1', 'procs_blocked 0']);
});

test('uptime from the pid namespace init found up the parent chain', () => {
  assert.equal(source.render('uptime', 500), '100.00 99.23\n');
});

test('v2 diskstats from io.stat, v2 swaps with no swap', () => {
  assert.equal(source.render('diskstats', 500), ' 254       0 vda 4 0 8192 0 8 0 16384 0 0 0 0 0 0 0 0 0 0\n');
  assert.equal(source.render('swaps', 500), 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n');
});

test('loadavg: 0 until the tracker has folded the cgroup, then its averages; R and D threads of cgroup.threads', () => {
  // A container younger than the tracker's last pass: its averages start from 0, not from the count.
  assert.equal(source.render('loadavg', 500), '0.00 0.00 0.00 1/2 2376\n');
  averages.set(ctr, [1290, 369, 125]);
  assert.equal(source.render('loadavg', 500), '0.63 0.18 0.06 1/2 2376\n');
});

test('a cgroup that vanished: the host files', () => {
  writeFileSync(`${proc}/500/cgroup`, '0::/gone\n');
  assert.equal(source.render('meminfo', 500), host('meminfo'));
  writeFileSync(`${proc}/500/cgroup`, '0::/pod/kt\n');
});

test('countTasks: R and D threads across the subtree; the caller, waiting in D for the reply, counts as running', () => {
  const dir = `${root}/v1cpu/box`;
  mkdirSync(`${dir}/child`, { recursive: true });
  writeFileSync(`${dir}/tasks`, '700\n701\n');
  writeFileSync(`${dir}/child/tasks`, '702\n703\n'); // 703 is gone
  for (const [pid, state] of [[700, 'D'], [701, 'D'], [702, 'S']] as const) {
    mkdirSync(`${proc}/${pid}`, { recursive: true });
    writeFileSync(`${proc}/${pid}/stat`, pidStat(pid, state, 1));
  }
  assert.deepEqual(countTasks(proc, dir, 'tasks'), { running: 0, uninterruptible: 2, total: 3 });
  assert.deepEqual(countTasks(proc, dir, 'tasks', 701), { running: 1, uninterruptible: 1, total: 3 });
  assert.equal(countTasks(proc, `${root}/v1cpu/gone`, 'tasks'), undefined);
});
