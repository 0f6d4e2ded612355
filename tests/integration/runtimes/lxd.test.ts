/**
 * LXD 5.0 (Debian `lxd`): a daemon of the test's own (LXD_DIR /var/lib/cs15-lxd-test, started
 * without systemd, a `dir` storage pool, no network), an image imported from busybox:local's
 * file tree (`docker export`, plus an /sbin/init that waits), and containers launched from it:
 * one in the default project with limits.memory, limits.cpu (a cpuset), a CFS quota
 * (limits.cpu.allowance) and a user.* key, running a busy loop and holding 20 MiB; one in a
 * project of its own. The agent names them from LXD's socket (--lxd-sockets) and follows LXD's
 * lifecycle events; its CPU and memory figures agree with the container's own cgroup files.
 * Everything made here (instances, image, project, the daemon and its directory) is removed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { docker, mean, sleep, startAgent, waitFor, type AgentProcess } from '../support.js';
import { requires } from '../../requires.js';

const LXD_DIR = '/var/lib/cs15-lxd-test';
const SOCKET = `${LXD_DIR}/unix.socket`;
const IMAGE = 'cs15-busybox';
const NAME = 'cs15-lxd-web';
const PROJECT = 'cs15-lxdp';
const IN_PROJECT = 'cs15-lxd-db';
const env = { ...process.env, LXD_DIR };
const haveLxd = existsSync('/usr/bin/lxd') && existsSync('/usr/bin/lxc');

/** LXD's client (Debian ships it as `lxc`, from lxd-client; not LXC's lxc-* tools). */
function lxc(...args: string[]): string {
  return execFileSync('lxc', args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 }).trim();
}

function quietly(fn: () => unknown): void {
  try {
    fn();
  } catch {
    // not there
  }
}

/** The daemon: started in the background as Debian's unit does, without systemd. */
async function startDaemon(): Promise<ChildProcess> {
  mkdirSync(LXD_DIR, { recursive: true });
  const daemon = spawn('lxd', ['--group', 'lxd', '--logfile', `${LXD_DIR}/cs15-lxd.log`], { env, stdio: 'ignore' });
  execFileSync('lxd', ['waitready', '--timeout', '60'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  // A dir pool and a default profile with only a root disk: no bridge, no network.
  const preseed = 'storage_pools:\n- name: default\n  driver: dir\nprofiles:\n- name: default\n  devices:\n    root:\n      path: /\n      pool: default\n      type: disk\n';
  execFileSync('lxd', ['init', '--preseed'], { env, input: preseed, stdio: ['pipe', 'ignore', 'pipe'] });
  return daemon;
}

/** An LXD image from busybox:local: its exported file tree with an /sbin/init, and a metadata.yaml. */
function importImage(): void {
  const dir = mkdtempSync(`${tmpdir()}/cs15-lxd-image-`);
  try {
    docker('rm', '-f', 'cs15-lxd-export');
    docker('create', '--name', 'cs15-lxd-export', 'busybox:local', 'true');
    try {
      execFileSync('sh', ['-c', `docker export cs15-lxd-export > ${dir}/rootfs.tar`]);
    } finally {
      docker('rm', '-f', 'cs15-lxd-export');
    }
    // LXD starts /sbin/init; this one waits, and exits on SIGPWR (`lxc stop`) or SIGTERM.
    mkdirSync(`${dir}/extra/sbin`, { recursive: true });
    writeFileSync(`${dir}/extra/sbin/init`, '#!/bin/sh\ntrap "exit 0" PWR TERM\nwhile :; do sleep 3600 & wait $!; done\n');
    chmodSync(`${dir}/extra/sbin/init`, 0o755);
    execFileSync('tar', ['-rf', `${dir}/rootfs.tar`, '-C', `${dir}/extra`, 'sbin', 'sbin/init']);
    writeFileSync(`${dir}/metadata.yaml`, `architecture: x86_64\ncreation_date: ${Math.floor(Date.now() / 1000)}\nproperties:\n  description: busybox local\n  os: busybox\n`);
    execFileSync('tar', ['-cf', `${dir}/meta.tar`, '-C', dir, 'metadata.yaml']);
    lxc('image', 'import', `${dir}/meta.tar`, `${dir}/rootfs.tar`, '--alias', IMAGE);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Removes what this test made: its instances, image and project, then the daemon and its directory. */
async function cleanup(daemon: ChildProcess | undefined): Promise<void> {
  if (existsSync(SOCKET)) {
    quietly(() => lxc('delete', '--force', NAME));
    quietly(() => lxc('delete', '--force', '--project', PROJECT, IN_PROJECT));
    quietly(() => lxc('image', 'delete', IMAGE));
    quietly(() => lxc('project', 'delete', PROJECT));
    quietly(() => execFileSync('lxd', ['shutdown', '--timeout', '30'], { env, stdio: 'ignore' }));
  }
  if (daemon && daemon.exitCode === null) {
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.once('exit', r));
  }
  // LXD mounts two small tmpfs in its directory and leaves them at exit.
  for (const m of ['shmounts', 'devlxd']) quietly(() => execFileSync('umount', ['-l', `${LXD_DIR}/${m}`], { stdio: 'ignore' }));
  rmSync(LXD_DIR, { recursive: true, force: true });
}

const CPU_DIR = `/sys/fs/cgroup/cpu/lxc.payload.${NAME}`;
const CPUACCT_DIR = `/sys/fs/cgroup/cpuacct/lxc.payload.${NAME}`;
const MEMORY_DIR = `/sys/fs/cgroup/memory/lxc.payload.${NAME}`;
const readNumber = (file: string): number => Number(readFileSync(file, 'utf8').trim());

interface Detail {
  id: string;
  name: string;
  runtime: string;
  kind: string;
  image: string;
  state: string;
  labels: Record<string, string>;
  createdAt: string;
  lxd?: { project: string; limits: Record<string, string> };
  limits: { memoryLimitBytes: number | null; cpus: number | null };
  network: { kind: string };
  cgroup: { path: string };
  derived?: { cpuPercent: number };
  sample?: { timestamp: string; cpu: { usageNs: number }; memory: { usageBytes: number } };
}

describe('LXD containers named from LXD\'s socket', { skip: requires(haveLxd, 'Debian lxd (scripts/testbed.sh)'), timeout: 300_000 }, () => {
  let daemon: ChildProcess | undefined;
  let agent: AgentProcess;
  let loop: ChildProcess | undefined;
  const detail = (name: string) => agent.get<Detail>(`/api/v1/containers/${encodeURIComponent(name)}`);

  before(async () => {
    await cleanup(undefined);
    daemon = await startDaemon();
    importImage();
    lxc('launch', IMAGE, NAME, '-c', 'limits.memory=64MiB', '-c', 'limits.cpu=1', '-c', 'limits.cpu.allowance=50ms/100ms', '-c', 'user.team=cs15');
    // The largest CPU weight: on a shared machine the loop still gets the half CPU its quota allows.
    writeFileSync(`${CPU_DIR}/cpu.shares`, '262144');
    // 20 MiB held in a tmpfs of the container's own (LXD's /dev is a 100 KiB tmpfs).
    lxc('exec', NAME, '--', 'sh', '-c', 'mkdir -p /hold && mount -t tmpfs none /hold && dd if=/dev/zero of=/hold/20m bs=1M count=20 2>/dev/null');
    // `lxc exec` stays while the loop runs; the loop ends with the container.
    loop = spawn('lxc', ['exec', NAME, '--', 'sh', '-c', 'while :; do :; done'], { env, stdio: 'ignore' });
    lxc('project', 'create', PROJECT, '-c', 'features.images=false', '-c', 'features.profiles=false');
    lxc('launch', IMAGE, IN_PROJECT, '--project', PROJECT, '-c', 'user.role=db');
    agent = await startAgent(['--quiet', '--no-docker', '--podman-roots', '', '--cri-sockets', '', '--lxd-sockets', SOCKET]);
  });
  after(async () => {
    await agent?.stop();
    loop?.kill('SIGKILL');
    await cleanup(daemon);
  });

  test('by LXD name, runtime lxd, with its user.* labels, image and limits as LXD gives them and as the kernel applies them', async () => {
    const d = await waitFor('the LXD container', async () => {
      const x = await detail(NAME).catch(() => undefined);
      return x?.derived ? x : undefined;
    }, 20_000, 200);
    assert.equal(d.name, NAME);
    assert.equal(d.runtime, 'lxd');
    assert.equal(d.kind, 'lxc');
    assert.equal(d.state, 'running');
    assert.equal(d.image, 'busybox local');
    assert.deepEqual(d.labels, { 'user.team': 'cs15' });
    assert.deepEqual(d.lxd, { project: 'default', limits: { 'limits.cpu': '1', 'limits.cpu.allowance': '50ms/100ms', 'limits.memory': '64MiB' } });
    assert.equal(d.cgroup.path, `/lxc.payload.${NAME}`);
    assert.equal(d.limits.memoryLimitBytes, 64 * 2 ** 20);
    assert.equal(d.limits.cpus, 0.5);
    assert.equal(d.network.kind, 'own');
    const created = JSON.parse(lxc('query', `/1.0/instances/${NAME}`)) as { created_at: string };
    assert.equal(d.createdAt, new Date(Date.parse(created.created_at)).toISOString());

    // In another project: project/name, and LXC's <project>_<name> cgroup.
    const p = await waitFor('the container in a project', () => detail(`${PROJECT}/${IN_PROJECT}`).catch(() => undefined), 10_000, 200);
    assert.equal(p.runtime, 'lxd');
    assert.deepEqual(p.lxd, { project: PROJECT, limits: {} });
    assert.deepEqual(p.labels, { 'user.role': 'db' });
    assert.equal(p.cgroup.path, `/lxc.payload.${PROJECT}_${IN_PROJECT}`);
  });

  test('CPU and memory agree with the container\'s cgroup files: the loop near its 0.5-CPU quota, memory.usage_in_bytes', async () => {
    const x0 = await detail(NAME);
    const f0 = { cpuNs: readNumber(`${CPUACCT_DIR}/cpuacct.usage`), memoryBytes: readNumber(`${MEMORY_DIR}/memory.usage_in_bytes`), ms: Date.now() };
    // The agent's sample is up to a tick older than the file read now: at half a CPU the file is
    // ahead by up to half a CPU-second of that.
    const ageMs = f0.ms - Date.parse(x0.sample!.timestamp);
    const aheadNs = f0.cpuNs - x0.sample!.cpu.usageNs;
    assert.ok(aheadNs >= 0 && aheadNs <= 0.55e6 * ageMs + 50e6, `cpuacct.usage ${f0.cpuNs} ns, cstats ${x0.sample!.cpu.usageNs} ns ${ageMs} ms earlier`);
    assert.ok(Math.abs(f0.memoryBytes - x0.sample!.memory.usageBytes) < 2 ** 20, `memory.usage_in_bytes ${f0.memoryBytes} B, cstats ${x0.sample!.memory.usageBytes} B`);
    assert.ok(x0.sample!.memory.usageBytes >= 20 * 2 ** 20, `the 20 MiB held: ${x0.sample!.memory.usageBytes} B`);

    const cpuPercents: number[] = [];
    for (let i = 0; i < 4; i++) {
      await sleep(1000);
      cpuPercents.push((await detail(NAME)).derived!.cpuPercent);
    }
    const x1 = await detail(NAME);
    const f1 = { cpuNs: readNumber(`${CPUACCT_DIR}/cpuacct.usage`), ms: Date.now() };
    const oursCores = (x1.sample!.cpu.usageNs - x0.sample!.cpu.usageNs) / 1e6 / (Date.parse(x1.sample!.timestamp) - Date.parse(x0.sample!.timestamp));
    const fileCores = (f1.cpuNs - f0.cpuNs) / 1e6 / (f1.ms - f0.ms);
    const cpu = mean(cpuPercents);
    console.log(`# cstats ${oursCores.toFixed(3)} CPUs (mean CPU ${cpu.toFixed(1)} %), cpuacct.usage ${fileCores.toFixed(3)} CPUs; memory ${x0.sample!.memory.usageBytes} B vs memory.usage_in_bytes ${f0.memoryBytes} B`);
    assert.ok(Math.abs(oursCores - fileCores) < 0.05, `cstats ${oursCores.toFixed(3)} CPUs, cpuacct.usage ${fileCores.toFixed(3)} CPUs`);
    assert.ok(cpu >= 40 && cpu <= 55, `cstats CPU ${cpu.toFixed(1)} % under a 0.5-CPU quota`);
  });

  test('stopped: exited within 2 s (LXD\'s lifecycle event), out of the running list; deleted: removed', async () => {
    const running = async () => (await agent.get<Detail[]>('/api/v1/containers')).map((c) => c.name);
    assert.ok((await running()).includes(NAME));
    loop?.kill('SIGKILL');
    lxc('stop', '--force', NAME);
    const t0 = Date.now();
    await waitFor('exited', async () => (await detail(NAME)).state === 'exited' || undefined, 5000, 50);
    const stoppedMs = Date.now() - t0;
    assert.ok(stoppedMs < 2000, `seen exited after ${stoppedMs} ms`);
    assert.ok(!(await running()).includes(NAME));
    lxc('delete', NAME);
    const t1 = Date.now();
    await waitFor('removed', async () => (await detail(NAME)).state === 'removed' || undefined, 5000, 50);
    const deletedMs = Date.now() - t1;
    console.log(`# stop seen after ${stoppedMs} ms, deletion after ${deletedMs} ms`);
    assert.ok(deletedMs < 2000, `seen removed after ${deletedMs} ms`);
  });

  test('the daemon stopped: its source is down on /healthz, the agent goes on', async () => {
    execFileSync('lxd', ['shutdown', '--timeout', '30'], { env, stdio: 'ignore' });
    const health = await waitFor('lxd source down', async () => {
      const h = await agent.get<{ status: string; sources: Record<string, { up: boolean; detail: string }> }>('/healthz');
      return h.sources[`lxd:${SOCKET}`]?.up === false ? h : undefined;
    }, 10_000, 100);
    console.log(`# /healthz source lxd:${SOCKET}: ${health.sources[`lxd:${SOCKET}`].detail}`);
    assert.ok(Array.isArray(await agent.get<unknown[]>('/api/v1/containers')), 'the agent still answers');
  });
});
