/**
 * dockerd stopped and started again while the agent runs: the agent keeps serving, /healthz
 * shows Docker down, and containers started after the daemon is back are discovered.
 * Restarts this machine's real dockerd (as scripts/testbed.sh started it), so it runs alone.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { docker, removeTestContainers, run, startAgent, waitFor, type AgentProcess } from '../support.js';

function dockerdPid(): number | undefined {
  try {
    return Number(execFileSync('pidof', ['dockerd'], { encoding: 'utf8' }).trim().split(' ')[0]);
  } catch {
    return undefined;
  }
}

function daemonAnswers(): boolean {
  try {
    docker('version', '--format', '{{.Server.Version}}');
    return true;
  } catch {
    return false;
  }
}

/** Starts dockerd the way scripts/testbed.sh does, in its own session, logging to the same file. */
function startDockerd(): void {
  const log = openSync('/var/log/dockerd.log', 'a');
  spawn('dockerd', [], { detached: true, stdio: ['ignore', log, log] }).unref();
  closeSync(log);
}

describe('agent while dockerd restarts', () => {
  let agent: AgentProcess;
  before(async () => {
    removeTestContainers();
    agent = await startAgent(['--quiet']);
  });
  after(async () => {
    if (!daemonAnswers() && dockerdPid() === undefined) {
      startDockerd();
      await waitFor('dockerd back', () => daemonAnswers() || undefined, 60_000, 250);
    }
    await agent?.stop();
    removeTestContainers();
  });

  test('keeps serving with Docker down and rediscovers when it is back', async () => {
    run('cstats-t-before', [], ['sleep', '100000']);
    await waitFor('first container seen', async () => (await agent.get<Array<{ name: string }>>('/api/v1/containers')).some((c) => c.name === 'cstats-t-before') || undefined);
    const health0 = await agent.get<any>('/healthz');
    assert.equal(health0.sources.docker.up, true);

    const pid = dockerdPid();
    assert.ok(pid, 'dockerd is running');
    process.kill(pid, 'SIGTERM');
    await waitFor('dockerd to exit', () => (dockerdPid() === undefined ? true : undefined), 60_000, 100);
    const down = await waitFor('/healthz to show Docker down', async () => {
      const h = await agent.get<any>('/healthz');
      return h.sources.docker.up === false ? h : undefined;
    });
    assert.equal(down.status, 'degraded');
    assert.equal(down.sources.cgroupfs.up, true);
    // Still serving, still sampling.
    const tick0 = down.collector.lastTick;
    await waitFor('another tick while Docker is down', async () => ((await agent.get<any>('/healthz')).collector.lastTick !== tick0 ? true : undefined), 5000);
    assert.equal(agent.proc.exitCode, null, 'agent still running');

    startDockerd();
    await waitFor('dockerd to answer', () => daemonAnswers() || undefined, 60_000, 250);
    const back = Date.now();
    await waitFor('/healthz to show Docker up', async () => ((await agent.get<any>('/healthz')).sources.docker.up ? true : undefined), 10_000);
    console.log(`docker restart: agent reconnected ${Date.now() - back} ms after the daemon answered`);
    const id = run('cstats-t-after', [], ['sleep', '100000']);
    await waitFor('container started after the restart', async () => (await agent.get<Array<{ id: string; derived?: unknown }>>('/api/v1/containers')).some((c) => c.id === id && c.derived) || undefined, 5000);
    assert.equal(agent.proc.exitCode, null);
    assert.doesNotMatch(agent.log(), /unexpected error/);
  });
});
