/**
 * Per-container load averages on real containers, against known loads: a container running one
 * busy loop has exactly one runnable task (under --cpus 0.5 a throttled task is still in state
 * R, as the kernel counts it), an idle one none once started. The busy one's /proc/loadavg must
 * start at 0 when the container starts and rise as the kernel's fixed-point average of a constant
 * 1 does, one fold every 5 s; the idle one stays near 0.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { dockerArgs } from '../../../src/procview/index.js';
import { foldLoad, NO_LOAD, renderLoadavg, type Avenrun } from '../../../src/procview/files/loadavg.js';
import { docker, IMAGE, sleep } from '../support.js';
import { exec, freshProcfs, stopProcfs } from './support.js';

const MOUNTPOINT = '/var/lib/cstats-test/cs17a-procfs';
const RUN_DIR = '/run/cstats-test/cs17a';
const BUSY = 'cs17a-load-busy';
const IDLE = 'cs17a-load-idle';

function removeMine(): void {
  const ids = docker('ps', '-aq', '--filter', 'name=^cs17a-load-');
  if (ids) docker('rm', '-f', ...ids.split('\n'));
}

let startedMs = 0;

before(async () => {
  removeMine();
  await freshProcfs(MOUNTPOINT, RUN_DIR);
  // Let the tracker run a pass or two first: the containers are then younger than the tracker.
  await sleep(6000);
  startedMs = Date.now();
  for (const [name, script] of [[BUSY, 'while :; do :; done'], [IDLE, 'sleep 3600']]) {
    docker('run', '-d', '--name', name, '--label', 'cs17a.test=1', '--cpus', '0.5', ...dockerArgs(MOUNTPOINT), IMAGE, 'sh', '-c', script);
  }
});

after(async () => {
  removeMine();
  await stopProcfs(MOUNTPOINT, RUN_DIR);
});

/**
 * The three averages after k folds from 0 of a load of 1, as /proc/loadavg prints them; with
 * `startup`, the first fold counted a second task (runc's init or the shell's exec still
 * runnable while the container starts).
 */
function afterFolds(k: number, startup = false): string {
  let a: Avenrun = [...NO_LOAD];
  for (let i = 0; i < k; i++) a = foldLoad(a, startup && i === 0 ? 2 : 1);
  return renderLoadavg(a, { running: 0, uninterruptible: 0, total: 0 }, 0).slice(0, 14);
}

const possibleAfter = (ks: number[]): string[] => ks.filter((k) => k >= 0).flatMap((k) => [afterFolds(k), afterFolds(k, true)]);

const averages = (name: string): string => exec(name, 'cat /proc/loadavg').slice(0, 14);

test('a busy container starts at 0 and rises fold by fold as the kernel average of one task; an idle one stays 0', async () => {
  const early = averages(BUSY);
  const earlyAgeS = (Date.now() - startedMs) / 1000;
  const possibleEarly = possibleAfter(Array.from({ length: Math.floor(earlyAgeS / 5) + 2 }, (_, k) => k));
  assert.ok(possibleEarly.includes(early), `${earlyAgeS.toFixed(1)} s after start: ${early}; possible ${possibleEarly.join(' | ')}`);
  assert.ok(Number(early.split(' ')[0]) < 0.5, `a container seconds old must not show its current count: ${early}`);

  await sleep(Math.max(0, startedMs + 31_000 - Date.now()));
  const seen = averages(BUSY);
  const ageS = (Date.now() - startedMs) / 1000;
  // Folds happen every 5 s at a phase the test does not know: floor(age/5) or one more, and one
  // less when the first pass after the start came just before the container's task ran.
  const possible = possibleAfter([-1, 0, 1].map((d) => Math.floor(ageS / 5) + d));
  console.log(`busy container ${ageS.toFixed(1)} s old: ${seen}; the kernel's average of 1 after ${Math.floor(ageS / 5)}±1 folds: ${possible.join(' | ')}`);
  assert.ok(possible.includes(seen), `${seen} not in ${possible.join(' | ')}`);
  assert.ok(Number(seen.split(' ')[0]) > 0.3, `load1 of one busy task after 30 s: ${seen}`);
  // The idle container's start (runc's init, the exec of sleep, on a loaded host) can be runnable
  // at a pass: a fold or two of 1 at its start, decayed since, is all it may show.
  const idle = averages(IDLE).split(' ').map(Number);
  console.log(`idle container: ${idle.join(' ')}`);
  assert.ok(idle[0] <= 0.15 && idle[2] <= 0.02, `idle container: ${idle.join(' ')}`);
});
