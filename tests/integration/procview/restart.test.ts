/**
 * Restart transparency: containers read their files in a loop while the agent is killed with
 * SIGKILL and restarted, the serving process is killed with SIGKILL (twice), and the serving
 * process is replaced by a reload (an upgrade). Every read keeps succeeding with the container's
 * own answer; none fails with "Transport endpoint is not connected", none hangs.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import { readState, startProcfs, type ProcfsHandle } from '../../../src/procview/index.js';
import { sleep, waitFor } from '../support.js';
import { exec, freshProcfs, MOUNTPOINT, removeProcviewContainers, RUN_DIR, runWithProcfs } from './support.js';

const READERS = ['cstats-procview-r0', 'cstats-procview-r1', 'cstats-procview-r2'];
// Alternates read(2) (head) and sendfile(2) (busybox cat); counts good reads, logs bad ones.
const LOOP =
  'i=0; while :; do for f in "head -n1" "cat"; do l=$($f /proc/meminfo 2>&1 | head -n1); ' +
  'if [ "$l" = "MemTotal:          65536 kB" ]; then i=$((i+1)); echo $i > /tmp/n; else echo "$l" >> /tmp/bad; fi; done; done';

/** A stand-in for `cstats agent --procfs`: starts (or reuses) procfs and keeps running. */
function startAgent(): Promise<{ proc: ChildProcess; reused: boolean; holderPid: number }> {
  const script = `import { startProcfs } from ${JSON.stringify(new URL('../../../src/procview/index.js', import.meta.url).href)};
const h = await startProcfs({ mountpoint: ${JSON.stringify(MOUNTPOINT)}, runDir: ${JSON.stringify(RUN_DIR)} });
console.log(JSON.stringify({ reused: h.reused, holderPid: h.holderPid }));
setInterval(() => {}, 1000);`;
  const proc = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    proc.stdout!.once('data', (line) => resolve({ proc, ...JSON.parse(String(line)) }));
    proc.once('exit', (code) => reject(new Error(`agent exited ${code}`)));
  });
}

function counts(): number[] {
  return READERS.map((r) => Number(exec(r, 'cat /tmp/n 2>/dev/null || echo 0')));
}

function bad(): string {
  return READERS.map((r) => exec(r, 'cat /tmp/bad 2>/dev/null; true')).join('');
}

/** Every reader makes progress within the window, and none has failed. */
async function assertReadsContinue(what: string): Promise<void> {
  const before = counts();
  await waitFor(`reads to continue ${what}`, () => counts().every((n, i) => n > before[i] + 5) || undefined, 20_000, 200);
  assert.equal(bad(), '', `failed reads ${what}`);
}

let procfs: ProcfsHandle;

before(async () => {
  removeProcviewContainers();
  procfs = await freshProcfs();
  await procfs.stop();
});

after(async () => {
  removeProcviewContainers();
  await (await startProcfs({ mountpoint: MOUNTPOINT, runDir: RUN_DIR })).stop();
});

test('SIGKILL of the agent and of the serving process, agent restart and reload: reads never fail', async () => {
  const agent = await startAgent();
  assert.equal(agent.reused, false);
  for (const r of READERS) runWithProcfs(r, ['-m', '64m'], ['sh', '-c', LOOP]);
  await assertReadsContinue('at start');

  agent.proc.kill('SIGKILL');
  await assertReadsContinue('after SIGKILL of the agent');

  for (let i = 0; i < 2; i++) {
    const state = readState(RUN_DIR)!;
    process.kill(state.serverPid, 'SIGKILL');
    await waitFor('a new serving process', () => (readState(RUN_DIR)!.serverPid !== state.serverPid ? true : undefined));
    await assertReadsContinue(`after SIGKILL of serving process ${state.serverPid}`);
  }

  const again = await startAgent();
  assert.equal(again.reused, true);
  assert.equal(again.holderPid, agent.holderPid);
  await assertReadsContinue('after the agent restarted');

  const handle = await startProcfs({ mountpoint: MOUNTPOINT, runDir: RUN_DIR });
  const serverBefore = readState(RUN_DIR)!.serverPid;
  await handle.reload();
  assert.notEqual(readState(RUN_DIR)!.serverPid, serverBefore);
  await sleep(500);
  await assertReadsContinue('after a reload');
  assert.ok(readState(RUN_DIR)!.serverStarts >= 4);
  again.proc.kill('SIGKILL');
});
