/**
 * The agent image, built with the real Docker here (scripts/image/agent.sh: the repository's
 * Dockerfile on a base made from this machine's node), run with the README's `docker run` line,
 * against an agent run on the host at the same time: the same containers, the same CPU and
 * memory figures within the docker-stats bars (3 CPU points, 2 MiB), and the container-aware
 * /proc files it serves working in another container. Prints the image's size and the agent's
 * RSS in it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { docker, freePort, IMAGE, mean, run, sleep, startAgent, waitFor, type AgentProcess } from '../support.js';

const TAG = 'cs18-cstats:test';
const BASE = 'cs18-base:local';
const AGENT = 'cs18-agent';
/** Where this test's agent mounts the files: /var/lib/cstats of the README line, renamed. */
const STATE = '/var/lib/cs18-state';
const MiB = 1024 * 1024;

interface Summary {
  id: string;
  name: string;
  derived?: { cpuPercent: number; memoryUsageBytes: number; memoryLimitBytes: number };
}

/** The README's `docker run` line for the agent image, as words (it has no quoting). */
function readmeDockerRun(): string[] {
  const line = readFileSync('README.md', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('docker run -d --name cstats '));
  assert.ok(line, 'README has the docker run line');
  return line.split(/\s+/);
}

/** The line with this test's names: image, container, state directory, and a free port. */
function adapt(words: string[], port: number): string[] {
  const out = words.slice(2).map((w) =>
    w
      .replace(/^cstats:local$/, TAG)
      .replace(/^cstats$/, AGENT)
      .replaceAll('/var/lib/cstats', STATE),
  );
  // --restart would bring it back after the test removed it mid-way; the label marks it as a test's.
  const restart = out.indexOf('--restart');
  if (restart >= 0) out.splice(restart, 2);
  out.splice(0, 0, '--label', 'cstats.test=1');
  return [...out, '--listen', `127.0.0.1:${port}`, '--procfs-mountpoint', `${STATE}/procfs`];
}

/** A container's output, stdout and stderr (the agent logs to stderr). */
function logsOf(name: string): string {
  return execFileSync('sh', ['-c', 'docker logs "$1" 2>&1', 'sh', name], { encoding: 'utf8' });
}

function isSharedMount(path: string): boolean {
  try {
    return execFileSync('findmnt', ['-no', 'TARGET,PROPAGATION', path], { encoding: 'utf8' }).trim() === `${path} shared`;
  } catch {
    return false;
  }
}

describe('the agent image, run with the README line, beside an agent on the host', () => {
  let host: AgentProcess;
  let url: string;
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(url + path);
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };

  before(async () => {
    const t0 = Date.now();
    execFileSync('bash', ['scripts/image/agent.sh', TAG, BASE], { stdio: ['ignore', 'ignore', 'inherit'] });
    const size = Number(docker('image', 'inspect', '-f', '{{.Size}}', TAG));
    console.log(`# image ${TAG}: built in ${((Date.now() - t0) / 1000).toFixed(1)} s, ${(size / 1e6).toFixed(1)} MB`);
    // The README's prerequisite where / is not a shared mount (as on this machine).
    mkdirSync(STATE, { recursive: true });
    if (!isSharedMount(STATE)) {
      execFileSync('mount', ['--bind', STATE, STATE]);
      execFileSync('mount', ['--make-shared', STATE]);
    }
    run('cs18-img-busy', ['--cpus', '0.5'], ['sh', '-c', 'while :; do :; done']);
    run('cs18-img-mem', ['-m', '64m'], ['sh', '-c', 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=40 2>/dev/null; sleep 100000']);
    docker('rm', '-f', AGENT);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    docker('run', ...adapt(readmeDockerRun(), port));
    host = await startAgent(['--quiet']);
    await waitFor('the containerised agent serves both test containers', async () => {
      const list = await get<Summary[]>('/api/v1/containers');
      return list.filter((c) => c.name.startsWith('cs18-img-') && c.derived).length === 2 || undefined;
    }, 60_000, 250).catch((err) => {
      throw new Error(`${(err as Error).message}\n${logsOf(AGENT)}`);
    });
  });

  after(async () => {
    await host?.stop();
    for (const n of [AGENT, 'cs18-img-busy', 'cs18-img-mem', 'cs18-img-probe']) docker('rm', '-f', n);
    // The holder died with the agent's container; clear its mount, then our shared bind.
    execFileSync('sh', ['-c', `umount -l ${STATE}/procfs 2>/dev/null; umount -l ${STATE} 2>/dev/null; true`]);
  });

  test('the image runs as nobody and holds the package alone: no shell, no npm, no dev dependencies', () => {
    assert.equal(docker('image', 'inspect', '-f', '{{.Config.User}}', TAG), '65534:65534');
    const probe = "const fs = require('fs'); console.log(['/bin/sh', '/usr/bin/npm', '/opt/cstats/node_modules/typescript', '/opt/cstats/dist/src/cli/main.js'].map((p) => fs.existsSync(p)).join(' '))";
    assert.equal(docker('run', '--rm', '--label', 'cstats.test=1', '--entrypoint', 'node', TAG, '-e', probe), 'false false false true');
  });

  test('lists the same Docker containers as the host agent', async () => {
    // Other engineers' containers come and go: the two lists must agree at some instant.
    await waitFor('the same container ids from both agents', async () => {
      const [ours, theirs] = await Promise.all([get<Summary[]>('/api/v1/containers'), host.get<Summary[]>('/api/v1/containers')]);
      const ids = (l: Summary[]) => l.map((c) => c.id).sort().join(' ');
      return (ids(ours) === ids(theirs) && ours.some((c) => c.name === AGENT)) || undefined;
    }, 20_000, 500);
  });

  test('CPU of a busy loop within 3 points, memory of a 40 MiB fill within 2 MiB, of the host agent', async () => {
    const ours: number[] = [];
    const theirs: number[] = [];
    const pick = (l: Summary[], name: string) => l.find((c) => c.name === name)?.derived;
    for (let i = 0; i < 6; i++) {
      const [a, b] = await Promise.all([get<Summary[]>('/api/v1/containers'), host.get<Summary[]>('/api/v1/containers')]);
      ours.push(pick(a, 'cs18-img-busy')!.cpuPercent);
      theirs.push(pick(b, 'cs18-img-busy')!.cpuPercent);
      if (i === 5) {
        const [ma, mb] = [pick(a, 'cs18-img-mem')!, pick(b, 'cs18-img-mem')!];
        assert.equal(ma.memoryLimitBytes, 64 * MiB);
        assert.equal(ma.memoryLimitBytes, mb.memoryLimitBytes);
        assert.ok(ma.memoryUsageBytes >= 40 * MiB, `usage ${ma.memoryUsageBytes}`);
        assert.ok(Math.abs(ma.memoryUsageBytes - mb.memoryUsageBytes) <= 2 * MiB, `in the image ${ma.memoryUsageBytes} vs on the host ${mb.memoryUsageBytes}`);
      }
      await sleep(1000);
    }
    // A loaded machine may give the loop less than its 50 %: the two agents must agree on what it got.
    assert.ok(mean(theirs) > 10, `on the host ${mean(theirs)} %`);
    assert.ok(Math.abs(mean(ours) - mean(theirs)) <= 3, `in the image ${mean(ours)} % vs on the host ${mean(theirs)} %`);
  });

  test("host figures are the host's: its interfaces, its filesystems, and a container's layer and volumes", async () => {
    type Fs = { mountpoint: string; device: string; totalBytes: number; role: string };
    type Machine = { networks: Array<{ name: string }>; filesystems: Fs[] };
    const [a, b] = await Promise.all([get<Machine>('/api/v1/machine'), host.get<Machine>('/api/v1/machine')]);
    const names = (m: Machine) => JSON.stringify(m.networks.map((n) => n.name).sort());
    assert.equal(names(a), names(b), 'network interfaces (the host\'s namespace, not the container\'s)');
    const fs = (l: Fs[]) => JSON.stringify(l.map((f) => [f.mountpoint, f.device, f.role, f.totalBytes]).sort());
    assert.ok(b.filesystems.some((f) => f.mountpoint === '/'), 'the host agent sees /');
    assert.equal(fs(a.filesystems), fs(b.filesystems));
    type Detail = { sample: { filesystems: Fs[] } };
    const [ca, cb] = await Promise.all([get<Detail>('/api/v1/containers/cs18-img-mem'), host.get<Detail>('/api/v1/containers/cs18-img-mem')]);
    assert.ok(cb.sample.filesystems.some((f) => f.role === 'rootfs'), 'the host agent measures the layer');
    assert.equal(fs(ca.sample.filesystems), fs(cb.sample.filesystems));
  });

  test('its container-aware /proc files work in another container', () => {
    const binds = execFileSync(process.execPath, ['bin/cstats.js', 'procfs', 'docker-args', '--mountpoint', `${STATE}/procfs`], { encoding: 'utf8' }).trim().split(/\s+/);
    const out = docker('run', '--rm', '--name', 'cs18-img-probe', '--label', 'cstats.test=1', ...binds, '-m', '96m', '--cpus', '1', IMAGE, 'sh', '-c', 'head -1 /proc/meminfo; cat /sys/devices/system/cpu/online');
    const [mem, online] = out.split('\n');
    assert.match(mem, /^MemTotal:\s+98304 kB$/);
    assert.match(online, /^\d+$/, 'one CPU for --cpus 1');
  });

  test("unprivileged, as the README says (no -u 0, no procfs options, the socket's group): the containers, named, with their figures", async () => {
    const drop = new Set(['-u 0', '--cap-add SYS_ADMIN', '--device /dev/fuse', '--security-opt apparmor=unconfined', '-v /var/lib/cstats:/var/lib/cstats:rshared', 'agent --procfs']);
    const words = readmeDockerRun();
    const kept: string[] = [];
    for (let i = 0; i < words.length; i++) {
      if (drop.has(`${words[i]} ${words[i + 1]}`)) i++;
      else kept.push(words[i]);
    }
    const gid = execFileSync('stat', ['-c', '%g', '/var/run/docker.sock'], { encoding: 'utf8' }).trim();
    const port = await freePort();
    const name = 'cs18-agent-nobody';
    const args = adapt(kept, port).map((w) => (w === AGENT ? name : w));
    // No --procfs: the mountpoint option goes too, and the command is the image's default, `agent`.
    args.splice(args.indexOf('--procfs-mountpoint'), 2);
    // Its history goes to a data directory that nobody may write, bound at the default place.
    const data = `${STATE}-nobody`;
    rmSync(data, { recursive: true, force: true });
    mkdirSync(data, { recursive: true });
    chownSync(data, 65534, 65534);
    const image = args.indexOf(TAG);
    docker('run', '--group-add', gid, '-v', `${data}:/var/lib/cstats`, ...args.slice(0, image + 1), 'agent', ...args.slice(image + 1));
    try {
      assert.equal(docker('inspect', '-f', '{{.Config.User}}', name), '65534:65534');
      const c = await waitFor('the fill container, named, from the unprivileged agent', async () => {
        const r = await fetch(`http://127.0.0.1:${port}/api/v1/containers`);
        const list = r.ok ? ((await r.json()) as Summary[]) : [];
        return list.find((x) => x.name === 'cs18-img-mem' && x.derived);
      }, 60_000, 250).catch((err) => {
        throw new Error(`${(err as Error).message}\n${logsOf(name)}`);
      });
      assert.equal(c.derived!.memoryLimitBytes, 64 * MiB);
      assert.ok(existsSync(`${data}/FORMAT`), 'the data directory taken (its FORMAT file written)');
    } finally {
      docker('rm', '-f', name);
      rmSync(data, { recursive: true, force: true });
    }
  });

  test('the agent in the image: its RSS beside the host agent\'s', () => {
    const rss = (pid: number | string) => (Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024).toFixed(1);
    const inImage = rss(docker('inspect', '-f', '{{.State.Pid}}', AGENT));
    console.log(`# agent RSS: in ${TAG} ${inImage} MiB, on the host ${rss(host.proc.pid!)} MiB (${docker('ps', '-q').split('\n').length} containers running)`);
  });
});
