/**
 * Filesystem usage by statfs: a container's writable layer and volume, and a disk mounted on
 * the host after the agent started (cAdvisor builds its list once and misses it).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, removeTestContainers, run, startAgent, waitFor, type AgentProcess } from '../support.js';

describe('filesystems', () => {
  let agent: AgentProcess;
  const work = mkdtempSync(join(tmpdir(), 'cstats-fs-'));
  const image = join(work, 'disk.img');
  const mnt = join(work, 'mnt');
  let loop = '';

  before(async () => {
    removeTestContainers();
    docker('volume', 'rm', '-f', 'cstats-t-vol');
    agent = await startAgent(['--quiet', '--fs-interval', '1s']);
  });
  after(async () => {
    await agent?.stop();
    removeTestContainers();
    docker('volume', 'rm', '-f', 'cstats-t-vol');
    try {
      execFileSync('umount', [mnt]);
    } catch {
      // not mounted
    }
    if (loop) execFileSync('losetup', ['-d', loop]);
    rmSync(work, { recursive: true, force: true });
  });

  test('a container: writable layer and named volume, sizes as statfs gives them', async () => {
    run('cstats-t-fs', ['-v', 'cstats-t-vol:/data'], ['sleep', '100000']);
    const d = await waitFor('filesystems of the container', async () => {
      const x = await agent.get<any>('/api/v1/containers/cstats-t-fs');
      return x.sample?.filesystems?.length >= 2 ? x : undefined;
    });
    const rootfs = d.sample.filesystems.find((f: any) => f.role === 'rootfs');
    const vol = d.sample.filesystems.find((f: any) => f.role === 'volume');
    assert.equal(rootfs.destination, '/');
    assert.match(rootfs.mountpoint, /\/diff$/);
    assert.equal(vol.destination, '/data');
    assert.match(vol.mountpoint, /cstats-t-vol/);
    const s = statfsSync(vol.mountpoint);
    assert.equal(vol.totalBytes, s.blocks * s.bsize);
    assert.ok(vol.device.length > 0 && vol.fsType.length > 0);
  });

  test('a disk mounted on the host after start appears without a restart', async () => {
    execFileSync('truncate', ['-s', '64M', image]);
    execFileSync('mkfs.ext4', ['-q', '-F', image]);
    loop = execFileSync('losetup', ['--find', '--show', image], { encoding: 'utf8' }).trim();
    mkdirSync(mnt);
    const before = (await agent.get<any>('/api/v1/machine')).filesystems.map((f: any) => f.mountpoint);
    assert.ok(!before.includes(mnt));
    execFileSync('mount', [loop, mnt]);
    const fs = await waitFor(
      'the new mount in /api/v1/machine',
      async () => (await agent.get<any>('/api/v1/machine')).filesystems.find((f: any) => f.mountpoint === mnt),
      5000,
      100,
    );
    const s = statfsSync(mnt);
    assert.equal(fs.device, loop);
    assert.equal(fs.fsType, 'ext4');
    assert.equal(fs.totalBytes, s.blocks * s.bsize);
    assert.equal(fs.availableBytes, s.bavail * s.bsize);
    execFileSync('umount', [mnt]);
    await waitFor('the unmounted disk gone', async () => ((await agent.get<any>('/api/v1/machine')).filesystems.some((f: any) => f.mountpoint === mnt) ? undefined : true), 5000, 100);
  });
});
