/**
 * Runs inside the test VM (smoke.test.ts): puts a busy-looping child in a fresh cgroup limited by
 * cpu.max "50000 100000" (half a CPU) and prints, as one JSON line, the cgroup's cpu.stat
 * deltas over `seconds` of wall time, read with the project's own parser.
 * Usage: node dist/tests/integration/vm/cpu-quota-probe.js <cgroup dir> <seconds>
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseCpuStatV2 } from '../../../src/kernel/cgroup/v2/cpu.js';
import type { CpuStats } from '../../../src/kernel/types.js';

interface Reading {
  cpu: CpuStats;
  atNs: bigint;
}

const [dir, seconds] = process.argv.slice(2);
mkdirSync(dir);
writeFileSync(`${dir}/cpu.max`, '50000 100000');
const child = spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
writeFileSync(`${dir}/cgroup.procs`, String(child.pid));

const read = (): Reading => ({
  cpu: parseCpuStatV2(readFileSync(`${dir}/cpu.stat`, 'utf8'), `${dir}/cpu.stat`),
  atNs: process.hrtime.bigint(),
});
const before = read();
await sleep(Number(seconds) * 1000);
const after = read();
child.kill('SIGKILL');

const delta = (pick: (r: Reading) => bigint | undefined): string => String((pick(after) ?? 0n) - (pick(before) ?? 0n));
console.log(
  JSON.stringify({
    wallNs: delta((s) => s.atNs),
    usageNs: delta((s) => s.cpu.usageNs),
    periods: delta((s) => s.cpu.periods),
    throttledPeriods: delta((s) => s.cpu.throttledPeriods),
    throttledNs: delta((s) => s.cpu.throttledNs),
  }),
);
