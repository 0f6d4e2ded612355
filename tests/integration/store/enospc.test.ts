/**
 * A full disk: the data directory on a small loop-mounted ext4 (made here with truncate,
 * mkfs.ext4 and mount -o loop) is filled up while the agent runs. It keeps sampling and serving,
 * /healthz says persistence fails with ENOSPC; once space is freed it writes again, and what it
 * sampled while the disk was full is on disk (served after a restart).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, unlinkSync } from 'node:fs';
import { run, sleep, waitFor, type AgentProcess } from '../support.js';
import { agentOn, sampled, type History } from './support.js';

const IMAGE = `/tmp/cs12-enospc-${process.pid}.img`;
const MOUNT = `/tmp/cs12-enospc-${process.pid}`;
const NAME = 'cs12-enospc';

interface Health {
  status: string;
  persistence: { ok: boolean; error?: string; failingSince?: string };
  collector: { lastTick: string };
}

describe('disk full (ENOSPC)', () => {
  let agent: AgentProcess | undefined;
  after(async () => {
    await agent?.stop();
    spawnSync('docker', ['rm', '-f', NAME]);
    spawnSync('umount', [MOUNT]);
    rmSync(MOUNT, { recursive: true, force: true });
    rmSync(IMAGE, { force: true });
  });

  test('keeps sampling and serving, says why on /healthz, writes again when space returns', async () => {
    execFileSync('truncate', ['-s', '16M', IMAGE]);
    execFileSync('mkfs.ext4', ['-q', '-F', '-m', '0', IMAGE]);
    mkdirSync(MOUNT, { recursive: true });
    execFileSync('mount', ['-o', 'loop', IMAGE, MOUNT]);
    const id = run(NAME, [], ['sleep', '3600']);
    const dir = `${MOUNT}/data`;
    const args = ['--quiet', '--interval', '200ms', '--fsync-interval', '500ms', '--no-cgroups'];
    agent = await agentOn(dir, args);
    const q = `/api/v1/containers/${id}/history?since=1h&metrics=pids`;
    await waitFor('samples', async () => (sampled(await agent!.get<History>(q), 'pids').length >= 3 ? true : undefined), 15_000, 200);

    // Fill the filesystem to the last block: dd stops at ENOSPC (the second one fills what the
    // first left, less than a megabyte).
    spawnSync('dd', ['if=/dev/zero', `of=${MOUNT}/filler`, 'bs=1M'], { stdio: 'ignore' });
    spawnSync('dd', ['if=/dev/zero', `of=${MOUNT}/filler2`, 'bs=1k'], { stdio: 'ignore' });
    const fullMs = Date.now();
    const failing = await waitFor('persistence failing', async () => {
      const h = await agent!.get<Health>('/healthz');
      return h.persistence.ok ? undefined : h;
    }, 20_000, 200);
    assert.match(failing.persistence.error!, /ENOSPC/);
    assert.equal(failing.status, 'degraded');
    // Still sampling and serving from memory.
    await sleep(2000);
    const h = await agent.get<Health>('/healthz');
    assert.ok(Date.now() - Date.parse(h.collector.lastTick) < 1000, `last tick ${h.collector.lastTick}`);
    const whileFull = sampled(await agent.get<History>(q), 'pids').filter(([t]) => t > fullMs + 500);
    assert.ok(whileFull.length >= 5, `${whileFull.length} samples while the disk was full`);
    assert.ok(agent.proc.exitCode === null);

    unlinkSync(`${MOUNT}/filler`);
    unlinkSync(`${MOUNT}/filler2`);
    await waitFor('persistence ok again', async () => ((await agent!.get<Health>('/healthz')).persistence.ok ? true : undefined), 20_000, 200);
    await agent.stop();
    agent = await agentOn(dir, args);
    const after = sampled(await agent.get<History>(q), 'pids');
    const have = new Set(after.map(([t]) => t));
    assert.deepEqual(whileFull.filter(([t]) => !have.has(t)), [], 'what was sampled while the disk was full is kept');
  });
});
