/**
 * LXC 5 (Debian `lxc`): a container made with `lxc-create -t busybox` under an lxcpath of the
 * test's own, no network, limits in its config (64 MiB, half a CPU), a busy loop and 20 MiB held
 * in it. The agent finds it by name in LXC's cgroup layout (lxc.payload.<name>) with the
 * configured limits, and its CPU and memory agree with `lxc-info`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mean, sleep, startAgent, waitFor, type AgentProcess } from '../support.js';

const LXCPATH = '/var/lib/cs15-lxc';
const NAME = 'cs15-lxc';

function lxc(cmd: string, ...args: string[]): string {
  return execFileSync(`lxc-${cmd}`, ['-P', LXCPATH, '-n', NAME, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** `lxc-info -H`: raw figures (CPU use in ns from cpuacct.usage, memory use in bytes from memory.usage_in_bytes). */
function lxcInfo(): { cpuNs: number; memoryBytes: number } {
  const text = lxc('info', '-H');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1]);
  return { cpuNs: field('CPU use'), memoryBytes: field('Memory use') };
}

function destroy(): void {
  try {
    lxc('stop', '-k');
  } catch {
    // not running
  }
  try {
    lxc('destroy');
  } catch {
    // not there
  }
  rmSync(`${LXCPATH}/${NAME}`, { recursive: true, force: true });
}

interface Detail {
  name: string;
  kind: string;
  limits: { memoryLimitBytes: number | null; cpus: number | null };
  network: { kind: string };
  derived?: { cpuPercent: number };
  sample?: { cpu: { usageNs: number }; memory: { usageBytes: number } };
}

describe('LXC containers', () => {
  let agent: AgentProcess;
  let loop: ChildProcess | undefined;

  before(async () => {
    destroy();
    lxc('create', '-t', 'busybox');
    const file = `${LXCPATH}/${NAME}/config`;
    // No network (the host's default config asks for a bridge lxcbr0), no AppArmor profile to generate.
    const config = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => !/^lxc\.(net\.0\.|apparmor\.)/.test(l))
      .join('\n');
    writeFileSync(file, config);
    // The largest CPU weight: on a shared machine the loop still gets the half CPU its quota allows.
    appendFileSync(file, [
      'lxc.net.0.type = empty',
      'lxc.apparmor.profile = unconfined',
      'lxc.cgroup.memory.limit_in_bytes = 64M',
      'lxc.cgroup.cpu.cfs_quota_us = 50000',
      'lxc.cgroup.cpu.cfs_period_us = 100000',
      'lxc.cgroup.cpu.shares = 262144',
      '',
    ].join('\n'));
    lxc('start', '-d');
    lxc('attach', '--', 'dd', 'if=/dev/zero', 'of=/dev/shm/hold', 'bs=1M', 'count=20');
    // lxc-attach stays while the loop runs: a loop left behind by an attach that returned is killed with it.
    loop = spawn('lxc-attach', ['-P', LXCPATH, '-n', NAME, '--', 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' });
    agent = await startAgent(['--quiet', '--no-docker', '--podman-roots', '', '--cri-sockets', '']);
  });
  after(async () => {
    await agent?.stop();
    loop?.kill('SIGKILL');
    destroy();
  });

  test('found by name with its configured limits; CPU and memory agree with lxc-info', async () => {
    const d = await waitFor('the LXC container', async () => {
      const x = await agent.get<Detail>(`/api/v1/containers/${NAME}`);
      return x.derived ? x : undefined;
    }, 20_000, 200);
    assert.equal(d.name, NAME);
    assert.equal(d.kind, 'lxc');
    assert.equal(d.limits.memoryLimitBytes, 64 * 2 ** 20);
    assert.equal(d.limits.cpus, 0.5);
    assert.equal(d.network.kind, 'own');

    // Cumulative CPU and memory, read from both at nearly the same instant.
    const x0 = await agent.get<Detail & { sample: { timestamp: string } }>(`/api/v1/containers/${NAME}`);
    const i0 = { ...lxcInfo(), ms: Date.now() };
    // The agent's sample is up to a tick older than lxc-info's answer (plus the time lxc-info
    // takes to start): at half a CPU, lxc-info is ahead by up to half a CPU-second of that.
    const ageMs = i0.ms - Date.parse(x0.sample.timestamp);
    const aheadNs = i0.cpuNs - x0.sample!.cpu.usageNs;
    assert.ok(aheadNs >= 0 && aheadNs <= 0.55e6 * ageMs + 50e6, `lxc-info CPU ${i0.cpuNs} ns, cstats ${x0.sample!.cpu.usageNs} ns ${ageMs} ms earlier`);
    assert.ok(Math.abs(i0.memoryBytes - x0.sample!.memory.usageBytes) < 2 ** 20, `lxc-info memory ${i0.memoryBytes} B, cstats ${x0.sample!.memory.usageBytes} B`);
    assert.ok(x0.sample!.memory.usageBytes >= 20 * 2 ** 20);

    // The loop's CPU rate over 4 s, by each: the same, and within the configured half CPU.
    const cpuPercents: number[] = [];
    for (let i = 0; i < 4; i++) {
      await sleep(1000);
      cpuPercents.push((await agent.get<Detail>(`/api/v1/containers/${NAME}`)).derived!.cpuPercent);
    }
    const x1 = await agent.get<Detail & { sample: { timestamp: string } }>(`/api/v1/containers/${NAME}`);
    const i1 = { ...lxcInfo(), ms: Date.now() };
    const oursCores = (x1.sample!.cpu.usageNs - x0.sample!.cpu.usageNs) / 1e6 / (Date.parse(x1.sample.timestamp) - Date.parse(x0.sample.timestamp));
    const theirsCores = (i1.cpuNs - i0.cpuNs) / 1e6 / (i1.ms - i0.ms);
    assert.ok(theirsCores > 0.1, `the loop runs: ${theirsCores.toFixed(2)} CPUs by lxc-info`);
    assert.ok(Math.abs(oursCores - theirsCores) < 0.05, `cstats ${oursCores.toFixed(3)} CPUs, lxc-info ${theirsCores.toFixed(3)} CPUs`);
    const cpu = mean(cpuPercents);
    assert.ok(cpu <= 55 && Math.abs(cpu / 100 - theirsCores) < 0.1, `cstats CPU ${cpu.toFixed(1)} % under a 0.5-CPU quota, lxc-info ${(theirsCores * 100).toFixed(1)} %`);
  });
});
