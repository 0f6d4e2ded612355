/**
 * Two agents on one data directory from different pid namespaces, as two containers on one
 * volume (made here with unshare(1), a new pid namespace and its own /proc): the second cannot
 * look the first's pid up, so the first renews its lock (the LOCK file's time) at every flush;
 * the second is refused while it does, and takes the directory over once the first was killed
 * and its lock went unrenewed for three of its intervals.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, sleep, waitFor, type AgentProcess } from '../support.js';
import { agentOn, dataDirFor } from './support.js';

const dir = dataDirFor('lock');
let second: AgentProcess | undefined;
after(async () => {
  await second?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('an agent in another pid namespace holds the directory while it renews its lock, and loses it once killed', async () => {
  const port = await freePort();
  // unshare forks the agent as pid 1 of the new namespace; its process group is killed at once below.
  const first = spawn(
    'unshare',
    ['--pid', '--fork', '--mount-proc', process.execPath, 'bin/cstats.js', 'agent', '--data-dir', dir, '--fsync-interval', '1s', '--no-docker', '--quiet', '--listen', `127.0.0.1:${port}`],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  let firstLog = '';
  first.stderr!.on('data', (c) => (firstLog += c));
  try {
    await waitFor('the first agent serves', async () => {
      if (first.exitCode !== null) throw new Error(`unshare exited with ${first.exitCode}: ${firstLog}`);
      return (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)) || undefined;
    }, 30_000, 200);
    const lock = readFileSync(join(dir, 'LOCK'), 'utf8');
    const ns = /^1\npidns (pid:\[\d+\])\nhost .+\nrenew-ms 1000\n$/.exec(lock);
    assert.ok(ns, lock);
    assert.notEqual(ns[1], readlinkSync('/proc/self/ns/pid'), 'the first agent is in a pid namespace of its own');

    // Pid 1 here is init, not cstats: only the renewal tells that the holder lives.
    await sleep(3500);
    const refused = spawnSync(process.execPath, ['bin/cstats.js', 'agent', '--data-dir', dir, '--no-docker', '--listen', '127.0.0.1:0'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stderr, new RegExp(`data directory ${dir} is in use by a cstats agent in another pid namespace \\(pid 1 there, host .+\\), which renewed ${dir}/LOCK [01]\\.\\d s ago`));
    assert.ok((await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 'the first agent runs on');
  } finally {
    process.kill(-first.pid!, 'SIGKILL');
  }
  await sleep(3500);
  second = await agentOn(dir, ['--no-docker']);
  assert.match(second.log(), /taking over the lock of pid 1 in another pid namespace \(host .+\), not renewed for [3-9] s/);
  assert.equal((await second.get<{ persistence: { ok: boolean } }>('/healthz')).persistence.ok, true);
});
