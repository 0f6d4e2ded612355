/**
 * Restart transparency with the real agent: containers read their files in a loop while
 * `cstats agent --procfs` is killed with SIGKILL and started again, the serving process is
 * killed with SIGKILL (twice), and `cstats procfs reload` replaces it (an upgrade). Every read
 * keeps succeeding with the container's own answer; none fails with "Transport endpoint is not
 * connected", none hangs.
 *
 * The agent keeps its procfs state in the default run directory (/run/cstats: it has no flag
 * for another), so this file uses a mountpoint of its own and refuses to touch a holder there
 * that serves any other mountpoint.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { alive, DEFAULT_RUN_DIR, readState } from '../../../src/procview/index.js';
import { freePort, waitFor } from '../support.js';
import { cstatsProcfs, exec, removeProcviewContainers, runWithProcfs, stopProcfs } from './support.js';

const MOUNTPOINT = '/var/lib/cstats-test/procfs-agent';
const LABEL = 'cstats.procview.test=restart';
const READERS = ['cstats-procview-r0', 'cstats-procview-r1', 'cstats-procview-r2'];
// Alternates read(2) (head) and sendfile(2) (busybox cat); counts good reads, logs bad ones.
const LOOP =
  'i=0; while :; do for f in "head -n1" "cat"; do l=$($f /proc/meminfo 2>&1 | head -n1); ' +
  'if [ "$l" = "MemTotal:          65536 kB" ]; then i=$((i+1)); echo $i > /tmp/n; else echo "$l" >> /tmp/bad; fi; done; done';

const agents: ChildProcess[] = [];

/**
 * `cstats agent --procfs` as a user runs it, up once it serves HTTP (it mounts before that).
 * Docker discovery runs first, and a dockerd swamped by other tests can take a minute to answer.
 */
async function agent(): Promise<ChildProcess> {
  const port = await freePort();
  const args = ['bin/cstats.js', 'agent', '--no-persist', '--procfs', '--procfs-mountpoint', MOUNTPOINT, '--listen', `127.0.0.1:${port}`, '--quiet'];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  agents.push(proc);
  let stderr = '';
  proc.stderr!.on('data', (c) => (stderr += c));
  const up = await waitFor('the agent to serve', async () => {
    if (proc.exitCode !== null) return 'exited';
    return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok ? 'up' : undefined;
  }, 180_000, 250);
  if (up === 'exited') throw new Error(`the agent exited (${proc.exitCode}):\n${stderr}`);
  return proc;
}

function killed(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once('exit', () => resolve());
    proc.kill('SIGKILL');
  });
}

const procfsLog = () => readFileSync(`${DEFAULT_RUN_DIR}/procfs.log`, 'utf8').split('\n').slice(-10).join('\n');

const state = () => {
  const s = readState(DEFAULT_RUN_DIR);
  assert.ok(s, `no procfs state in ${DEFAULT_RUN_DIR}`);
  return s;
};

function counts(): number[] {
  return READERS.map((r) => Number(exec(r, 'cat /tmp/n 2>/dev/null || echo 0')));
}

function bad(): string {
  return READERS.map((r) => exec(r, 'cat /tmp/bad 2>/dev/null; true')).join('');
}

/** Every reader makes progress within the window, and none has failed. */
async function assertReadsContinue(what: string): Promise<void> {
  const before = counts();
  await waitFor(`reads to continue ${what}`, () => counts().every((n, i) => n > before[i] + 5) || undefined, 60_000, 250);
  assert.equal(bad(), '', `failed reads ${what}`);
}

before(async () => {
  removeProcviewContainers(LABEL);
  await stopProcfs(MOUNTPOINT, DEFAULT_RUN_DIR);
});

after(async () => {
  await Promise.all(agents.map(killed));
  removeProcviewContainers(LABEL);
  await stopProcfs(MOUNTPOINT, DEFAULT_RUN_DIR);
});

test('SIGKILL of the agent and of the serving process, agent restart, cstats procfs reload: reads never fail', async () => {
  const first = await agent();
  const { holderPid, mountpoint } = state();
  assert.equal(mountpoint, MOUNTPOINT);
  assert.equal(JSON.parse(cstatsProcfs('status')).holderPid, holderPid);
  for (const r of READERS) runWithProcfs(r, ['-m', '64m'], ['sh', '-c', LOOP], { mountpoint: MOUNTPOINT, label: LABEL });
  await assertReadsContinue('at start');

  await killed(first);
  assert.ok(alive(holderPid), `the holder outlives the agent; its log:\n${procfsLog()}`);
  await assertReadsContinue('after SIGKILL of the agent');

  for (let i = 0; i < 2; i++) {
    const { serverPid } = state();
    process.kill(serverPid, 'SIGKILL');
    await waitFor('a new serving process', () => state().serverPid !== serverPid || undefined, 30_000, 100);
    await assertReadsContinue(`after SIGKILL of serving process ${serverPid}`);
  }

  const startsBefore = state().serverStarts;
  await agent();
  assert.equal(state().holderPid, holderPid, 'the restarted agent reuses the running holder');
  assert.equal(state().serverStarts, startsBefore, 'and leaves its serving process alone');
  await assertReadsContinue('after the agent restarted');

  const { serverPid } = state();
  cstatsProcfs('reload', '--mountpoint', MOUNTPOINT);
  assert.notEqual(state().serverPid, serverPid);
  await waitFor('the replaced serving process to be retired', () => !alive(serverPid) || undefined, 30_000, 100);
  await assertReadsContinue('after cstats procfs reload');
  assert.equal(state().serverStarts, startsBefore + 1);
});
