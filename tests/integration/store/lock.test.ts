/**
 * Two agents on one data directory from different pid namespaces, as two containers on one
 * volume (made here with unshare(1), a new pid namespace and its own /proc): the second cannot
 * look the first's pid up, so the first renews its lock (the LOCK file's time) at every flush;
 * the second is refused while it does, and takes the directory over once the first was killed
 * and its lock went unrenewed for three of its intervals.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { DataDir } from '../../../src/store/datadir.js';
import { createLogger } from '../../../src/log.js';
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

/**
 * Processes that open one data directory at the same instant (each spins to an agreed time, then
 * calls DataDir.open, as an agent's start does), on a fresh directory and over the LOCK of a dead
 * agent: exactly one takes it, and it holds it; the others are refused. Run in a directory whose
 * name holds "cstats", as the agents' command lines do (how a holder is told from a reused pid).
 */
test('agents starting at the same instant: exactly one takes the directory, fresh or over a dead holder\'s lock', async () => {
  const root = mkdtempSync('/tmp/cstats-lock-race-');
  const script = join(root, 'open.mjs');
  writeFileSync(
    script,
    `import { DataDir } from ${JSON.stringify(resolve('dist/src/store/datadir.js'))};
import { createLogger } from ${JSON.stringify(resolve('dist/src/log.js'))};
const [dir, at] = process.argv.slice(2);
while (Date.now() < Number(at));
let d;
try {
  d = DataDir.open(dir, createLogger(() => {}, true));
} catch (err) {
  console.log('refused ' + err.message);
  process.exit(0);
}
// Held while the others look; then whether LOCK still names this process.
setTimeout(() => console.log(d.holdsLock() ? 'holds' : 'lost'), 1500);
`,
  );
  const race = async (dir: string): Promise<string[]> => {
    const at = Date.now() + 1500;
    const runs = Array.from({ length: 6 }, () => new Promise<string>((done) => execFile(process.execPath, [script, dir, String(at)], (err, out) => done(err ? `failed ${err.message}` : out.trim()))));
    return Promise.all(runs);
  };
  try {
    for (let round = 0; round < 8; round++) {
      const fresh = join(root, `fresh-${round}`);
      const stale = join(root, `stale-${round}`);
      mkdirSync(stale);
      // A pid no process has: the holder died without removing its lock.
      writeFileSync(join(stale, 'LOCK'), `4194303\nhost ${hostname()}\nrenew-ms 10000\n`);
      for (const dir of [fresh, stale]) {
        const outcomes = await race(dir);
        assert.equal(outcomes.filter((o) => o === 'holds').length, 1, `${dir}: ${outcomes.join(' | ')}`);
        assert.ok(outcomes.every((o) => o === 'holds' || o.startsWith('refused data directory')), `${dir}: ${outcomes.join(' | ')}`);
        assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('LOCK')), ['LOCK'], 'no file of a try left behind');
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('files of lock tries left by agents killed while starting are removed by the next holder; a try in progress is left alone', () => {
  const root = mkdtempSync('/tmp/cstats-lock-leftovers-');
  try {
    const old = [`LOCK.4194303.${randomUUID()}.new`, 'LOCK.takeover-123456789'];
    const young = [`LOCK.4194302.${randomUUID()}.new`, 'LOCK.takeover-987654321'];
    for (const name of [...old, ...young]) writeFileSync(join(root, name), '4194303\n');
    const minuteAgo = new Date(Date.now() - 60_000);
    for (const name of old) utimesSync(join(root, name), minuteAgo, minuteAgo);
    const lines: string[] = [];
    const d = DataDir.open(root, createLogger((line) => lines.push(line), false));
    try {
      assert.deepEqual(readdirSync(root).filter((f) => f.startsWith('LOCK')).sort(), ['LOCK', ...young].sort());
      assert.ok(lines.some((l) => l.includes('removed 2 file(s) of lock tries')), lines.join('\n'));
    } finally {
      d.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
