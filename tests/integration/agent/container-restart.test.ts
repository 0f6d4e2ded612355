/**
 * A real container restarted again and again while the agent runs: each restart gives it a new
 * process, whose network namespace's /proc/<pid>/net/dev the agent reads through a kept
 * descriptor. The old process's descriptor is closed: the agent's open descriptors do not grow
 * with the restarts, and none of them names a process the container no longer has.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readlinkSync } from 'node:fs';
import { docker, removeTestContainers, run, startAgent, waitFor, type AgentProcess } from '../support.js';

const RESTARTS = 8;
const NAME = 'hardening-restarted';

/** The paths the agent's descriptors name (sockets and pipes as the kernel names them). */
function openPaths(pid: number): string[] {
  return readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return ''; // closed while listed
    }
  });
}

interface Listed {
  id: string;
  name: string;
  network: { kind: string; pid?: number };
  sampledAt?: string;
}

describe('a container restarted while the agent runs', () => {
  let agent: AgentProcess;
  before(async () => {
    removeTestContainers();
    // Ticks 2 s apart: most restarts (well under a second with -t 0) fall between two ticks,
    // so the container is still tracked when its process changes.
    agent = await startAgent(['--quiet', '--interval', '2s']);
  });
  after(async () => {
    await agent?.stop();
    removeTestContainers();
  });

  /** Waits until the agent has sampled the container's process `pid` after `sinceMs`. */
  async function sampledWith(id: string, pid: number, sinceMs: number): Promise<void> {
    await waitFor(`a sample of process ${pid}`, async () => {
      const c = (await agent.get<Listed[]>('/api/v1/containers')).find((x) => x.id === id);
      return c?.network.pid === pid && c.sampledAt !== undefined && Date.parse(c.sampledAt) > sinceMs ? true : undefined;
    }, 15_000, 100);
  }

  test(`${RESTARTS} restarts: descriptors of the old processes are closed, the count does not grow`, async () => {
    const id = run(NAME, [], ['sleep', '100000']);
    const pidOf = (): number => Number(docker('inspect', '--format', '{{.State.Pid}}', id));
    const agentPid = agent.proc.pid!;
    await sampledWith(id, pidOf(), Date.now());
    const baseline = openPaths(agentPid).length;
    const pids = [pidOf()];
    for (let i = 0; i < RESTARTS; i++) {
      docker('restart', '-t', '0', id);
      const restartedMs = Date.now();
      pids.push(pidOf());
      await sampledWith(id, pids[pids.length - 1], restartedMs);
    }
    const paths = openPaths(agentPid);
    const current = pids[pids.length - 1];
    const stale = paths.filter((p) => pids.slice(0, -1).some((old) => p.startsWith(`/proc/${old}/`)));
    process.stderr.write(`restarts: ${RESTARTS}; agent descriptors ${baseline} -> ${paths.length}\n`);
    assert.deepEqual(stale, [], 'descriptors on the files of processes the container no longer has');
    assert.ok(paths.includes(`/proc/${current}/net/dev`), `the current process's net/dev is read through a kept descriptor: ${paths.join(' ')}`);
    // Sockets to the test's requests and to dockerd come and go: a little slack, far below one per restart.
    assert.ok(paths.length <= baseline + 2, `descriptors: ${baseline} before the restarts, ${paths.length} after`);
    assert.equal(agent.proc.exitCode, null);
    assert.doesNotMatch(agent.log(), /unexpected (error|rejection)|tick failed/);
  });
});
