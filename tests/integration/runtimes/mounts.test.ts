/**
 * A container's filesystems are what is mounted in its own mount namespace now: a tmpfs
 * mounted inside a running Docker container after the agent started (nsenter into its mount
 * namespace, as a process in it with CAP_SYS_ADMIN would), and one propagated into it from the
 * host through a slave bind volume, each appear with the usage written into them and go when
 * unmounted.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { docker, startAgent, waitFor, type AgentProcess } from '../support.js';

const NAME = 'cs15-mounts';
const HOST_DIR = '/tmp/cs15-prop';

interface Fs {
  mountpoint: string;
  destination?: string;
  role: string;
  fsType: string;
  device: string;
  usedBytes: number;
  totalBytes: number;
}

function sh(cmd: string): void {
  execFileSync('sh', ['-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'] });
}

describe('mounts from the container\'s own mountinfo', () => {
  let agent: AgentProcess;
  let pid = 0;

  before(async () => {
    docker('rm', '-f', NAME);
    mkdirSync(HOST_DIR, { recursive: true });
    // A shared mount of its own, so what the host mounts below it propagates to slave copies.
    sh(`mountpoint -q ${HOST_DIR} || mount --bind ${HOST_DIR} ${HOST_DIR}; mount --make-shared ${HOST_DIR}`);
    docker('run', '-d', '--name', NAME, '-v', `${HOST_DIR}:/prop:rslave`, 'busybox:local', 'sleep', '100000');
    pid = Number(docker('inspect', '-f', '{{.State.Pid}}', NAME));
    agent = await startAgent(['--quiet', '--no-cgroups', '--podman-roots', '', '--cri-sockets', '', '--fs-interval', '1s']);
  });
  after(async () => {
    await agent?.stop();
    docker('rm', '-f', NAME);
    sh(`umount ${HOST_DIR}/sub 2>/dev/null; umount ${HOST_DIR} 2>/dev/null; true`);
    rmSync(HOST_DIR, { recursive: true, force: true });
  });

  const filesystems = async (): Promise<Fs[]> => (await agent.get<{ sample?: { filesystems?: Fs[] } }>(`/api/v1/containers/${NAME}`)).sample?.filesystems ?? [];
  const at = (dest: string) => async () => (await filesystems()).find((f) => f.destination === dest);
  const goneAt = (dest: string) => async () => ((await filesystems()).some((f) => f.destination === dest) ? undefined : true);

  test('a tmpfs mounted inside the running container appears with what was written, and goes when unmounted', async () => {
    await waitFor('the container sampled', async () => ((await filesystems()).length > 0 ? true : undefined));
    assert.equal((await filesystems()).some((f) => f.destination === '/cs15-scratch'), false);
    sh(`nsenter -t ${pid} -m sh -c 'mkdir -p /cs15-scratch && mount -t tmpfs -o size=16m cs15-scratch /cs15-scratch'`);
    docker('exec', NAME, 'dd', 'if=/dev/zero', 'of=/cs15-scratch/f', 'bs=1M', 'count=5');
    const fs = await waitFor('the tmpfs in the container\'s filesystems', async () => {
      const f = await at('/cs15-scratch')();
      return f && f.usedBytes >= 5 * 2 ** 20 ? f : undefined;
    }, 10_000, 200);
    assert.equal(fs.fsType, 'tmpfs');
    assert.equal(fs.device, 'cs15-scratch');
    assert.equal(fs.role, 'volume');
    assert.equal(fs.totalBytes, 16 * 2 ** 20);
    // tmpfs counts whole pages: 5 MiB of data is 5 MiB used, to the page.
    assert.equal(fs.usedBytes, 5 * 2 ** 20);
    // Runtime plumbing stays out: files bound in (hosts, resolv.conf) and /proc, /sys, /dev.
    for (const f of await filesystems()) assert.doesNotMatch(f.destination ?? '', /^\/(proc|sys|dev)(\/|$)|^\/etc\/(hosts|hostname|resolv\.conf)$/);
    sh(`nsenter -t ${pid} -m umount /cs15-scratch`);
    await waitFor('the tmpfs gone', goneAt('/cs15-scratch'), 10_000, 200);
  });

  test('a mount propagated into the container through a slave volume appears, and goes', async () => {
    mkdirSync(`${HOST_DIR}/sub`, { recursive: true });
    sh(`mount -t tmpfs -o size=8m cs15-propagated ${HOST_DIR}/sub && dd if=/dev/zero of=${HOST_DIR}/sub/f bs=1M count=3 2>/dev/null`);
    const fs = await waitFor('the propagated tmpfs', async () => {
      const f = await at('/prop/sub')();
      return f && f.usedBytes >= 3 * 2 ** 20 ? f : undefined;
    }, 10_000, 200);
    assert.equal(fs.device, 'cs15-propagated');
    assert.equal(fs.totalBytes, 8 * 2 ** 20);
    assert.equal(fs.usedBytes, 3 * 2 ** 20);
    sh(`umount ${HOST_DIR}/sub`);
    await waitFor('the propagated tmpfs gone', goneAt('/prop/sub'), 10_000, 200);
  });
});
