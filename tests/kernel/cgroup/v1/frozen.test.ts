/**
 * What the sampler relies on when it does not re-read a counter every tick, checked on this
 * machine's real cgroup v1 kernel: a group's throttling counters stand still without a CPU
 * quota of its own (a parent's quota throttles the parent); failcnt counts only the charges
 * that failed at the group's own limit; every OOM kill in a memory cgroup also counts in
 * /proc/vmstat oom_kill.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseKeyValues } from '../../../../src/kernel/parse.js';
import { sleep, waitFor } from '../../../integration/support.js';
import { requires } from '../../../requires.js';

const CPU = '/sys/fs/cgroup/cpu';
const MEMORY = '/sys/fs/cgroup/memory';
const TOP = `cstats-frozen-${process.pid}`;
const v1 = existsSync(`${CPU}/cpu.cfs_quota_us`) && existsSync(`${MEMORY}/memory.failcnt`) && process.getuid?.() === 0;

const kv = (path: string) => parseKeyValues(readFileSync(path, 'latin1'), path);
const hostOomKills = () => kv('/proc/vmstat').get('oom_kill')!;

/** Runs `command` in the given v1 cgroup directory (it joins before exec) and returns its pid. */
function startIn(dir: string, command: string): number {
  const child = spawn('sh', ['-c', `echo $$ > ${dir}/cgroup.procs && exec ${command}`], { stdio: 'ignore' });
  return child.pid!;
}

function removeTree(root: string): void {
  const r = spawnSync('sh', ['-c', `for p in $(cat $(find ${root} -name cgroup.procs) 2>/dev/null); do kill -9 $p; done`]);
  assert.equal(r.status, 0);
  for (let i = 0; i < 50 && existsSync(root); i++) {
    spawnSync('sh', ['-c', `find ${root} -depth -type d -exec rmdir {} + 2>/dev/null`]);
    if (existsSync(root)) spawnSync('sleep', ['0.1']);
  }
}

describe('cgroup v1 counters that stand still', { skip: requires(v1, 'root and cgroup v1 cpu and memory hierarchies') }, () => {
  after(() => {
    removeTree(`${CPU}/${TOP}`);
    removeTree(`${MEMORY}/${TOP}`);
  });

  it("nr_periods and nr_throttled move only with the group's own quota", async () => {
    const parent = `${CPU}/${TOP}/quota`;
    const child = `${parent}/child`;
    mkdirSync(child, { recursive: true });
    const pid = startIn(child, 'sh -c "while :; do :; done"');
    await sleep(300);
    assert.deepEqual([kv(`${child}/cpu.stat`).get('nr_periods'), kv(`${parent}/cpu.stat`).get('nr_periods')], [0n, 0n], 'no quota anywhere');
    writeFileSync(`${parent}/cpu.cfs_quota_us`, '20000');
    await sleep(500);
    const p = kv(`${parent}/cpu.stat`);
    assert.ok(p.get('nr_periods')! >= 3n && p.get('nr_throttled')! >= 1n, `parent with a quota: ${[...p]}`);
    assert.deepEqual([kv(`${child}/cpu.stat`).get('nr_periods'), kv(`${child}/cpu.stat`).get('nr_throttled')], [0n, 0n], "the parent's quota leaves the child's counters alone");
    writeFileSync(`${child}/cpu.cfs_quota_us`, '10000');
    await sleep(500);
    const c = kv(`${child}/cpu.stat`);
    assert.ok(c.get('nr_periods')! >= 3n && c.get('nr_throttled')! >= 1n, `child with its own quota: ${[...c]}`);
    process.kill(pid, 'SIGKILL');
  });

  it("failcnt counts at the limit that failed; the OOM kill counts in the victim's group and in /proc/vmstat", async () => {
    const parent = `${MEMORY}/${TOP}/limited`;
    const child = `${parent}/child`;
    mkdirSync(child, { recursive: true });
    writeFileSync(`${parent}/memory.limit_in_bytes`, String(32 << 20));
    // No swapping out of the way of the OOM killer, whatever swap the host has.
    writeFileSync(`${parent}/memory.swappiness`, '0');
    writeFileSync(`${child}/memory.swappiness`, '0');
    const vmstatBefore = hostOomKills();
    startIn(child, 'dd if=/dev/zero of=/dev/null bs=64M count=1');
    await waitFor('the OOM kill', () => (kv(`${child}/memory.oom_control`).get('oom_kill') === 1n ? true : undefined));
    assert.ok(Number(readFileSync(`${parent}/memory.failcnt`, 'latin1')) > 0, 'the parent limit failed charges');
    assert.equal(readFileSync(`${child}/memory.failcnt`, 'latin1'), '0\n', 'the unlimited child counted none');
    assert.ok(hostOomKills() >= vmstatBefore + 1n, `/proc/vmstat oom_kill ${vmstatBefore} -> ${hostOomKills()}`);
  });
});
