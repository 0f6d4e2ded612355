/**
 * History on disk with real Docker containers: stopped and started again, the agent serves the
 * same history as before, with a null gap for its downtime; a second agent on the same data
 * directory is refused; containers removed (one OOM-killed, one exited with a code) stay listed
 * with ?all=1, with what `docker inspect` said of their end, across a restart.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { docker, run, sleep, waitFor, type AgentProcess } from '../support.js';
import { agentOn, dataDirFor, sampled, type History } from './support.js';

const NAMES = ['cs12-restart-busy', 'cs12-restart-oom', 'cs12-restart-exit'];

describe('history across an agent restart', () => {
  const dir = dataDirFor('restart');
  let agent: AgentProcess | undefined;
  after(async () => {
    await agent?.stop();
    for (const n of NAMES) spawnSync('docker', ['rm', '-f', n]);
    rmSync(dir, { recursive: true, force: true });
  });

  test('identical history after SIGTERM and start, a null gap for the downtime; a second agent is refused', async () => {
    const id = run(NAMES[0], ['--cpus', '0.3'], ['sh', '-c', 'while true; do :; done']);
    const t0 = Date.now();
    agent = await agentOn(dir, ['--quiet']);
    await waitFor('8 samples', async () => ((await agent!.get<History>(`/api/v1/containers/${id}/history?since=${t0}`)).timestamps.length >= 8 ? true : undefined), 20_000, 250);

    // A second agent on the same directory: refused, with the holder's pid, and the first runs on.
    const second = spawnSync(process.execPath, ['bin/cstats.js', 'agent', '--data-dir', dir, '--listen', '127.0.0.1:0'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(second.status, 1, second.stderr);
    assert.match(second.stderr, new RegExp(`data directory ${dir} is in use by another cstats agent \\(pid ${agent.proc.pid}, `));

    const q = `/api/v1/containers/${id}/history?since=${t0}&metrics=cpu_cores,memory_usage_bytes,pids`;
    const served = await agent.get<History>(q);
    await agent.stop(); // SIGTERM
    const downMs = Date.now();
    await sleep(3000);
    agent = await agentOn(dir, ['--quiet']);
    await waitFor('3 new samples', async () => ((await agent!.get<History>(q)).timestamps.filter((t) => t > downMs).length >= 3 ? true : undefined), 20_000, 250);
    const after = await agent.get<History>(q);
    assert.equal(after.tier, 'raw');
    const lastServed = served.timestamps.at(-1)!;
    for (const m of ['cpu_cores', 'memory_usage_bytes', 'pids']) {
      const was = sampled(served, m);
      assert.ok(was.length >= 6 && was.some(([, v]) => v !== null && v > 0), `${m}: ${JSON.stringify(was)}`);
      // Everything served before the restart is served again, to the bit (and what was sampled
      // between that read and SIGTERM follows it).
      assert.deepEqual(sampled(after, m).filter(([t]) => t <= lastServed), was, m);
    }
    // The downtime is one null point between the last sample before it and the first after.
    const gapAt = after.timestamps.findIndex((t, i) => i > 0 && t - after.timestamps[i - 1] > 2500);
    assert.ok(gapAt > 1, 'a gap after the restart');
    assert.equal(after.series.cpu_cores[gapAt - 1], null, 'a null marks the gap');
    assert.ok(after.timestamps[gapAt] - after.timestamps[gapAt - 2] >= 3000);
    // And with a step: the buckets of the downtime are null, the others hold the samples' mean.
    const stepped = await agent.get<History>(`/api/v1/containers/${id}/history?since=${t0}&step=1s&metrics=cpu_cores`);
    const downBucket = stepped.timestamps.findIndex((t) => t >= downMs + 1000);
    assert.equal(stepped.series.cpu_cores[downBucket], null);
  });

  test('removed containers stay listed with ?all=1: ended when, exit code, OOM-killed, as docker inspect said, across a restart', async () => {
    const oomId = run(NAMES[1], ['-m', '16m', '--memory-swap', '16m'], ['sh', '-c', 'sleep 3; dd if=/dev/zero of=/dev/null bs=64M count=1']);
    const exitId = run(NAMES[2], [], ['sh', '-c', 'sleep 3; exit 3']);
    docker('wait', oomId);
    docker('wait', exitId);
    const inspected = JSON.parse(docker('inspect', oomId, exitId)) as { Id: string; State: { ExitCode: number; OOMKilled: boolean; FinishedAt: string } }[];
    assert.deepEqual(inspected.map((i) => [i.State.ExitCode, i.State.OOMKilled]), [[137, true], [3, false]]);
    await sleep(2000);
    docker('rm', oomId, exitId);
    type Summary = { id: string; state: string; endedAt?: string; exitCode?: number | null; oomKilled?: boolean | null; removedAt?: string };
    const check = async (): Promise<void> => {
      const all = await agent!.get<Summary[]>('/api/v1/containers?all=1');
      for (const i of inspected) {
        const s = all.find((c) => c.id === i.Id);
        assert.ok(s, `${i.Id} listed`);
        assert.equal(s.state, 'removed');
        assert.equal(s.exitCode, i.State.ExitCode);
        assert.equal(s.oomKilled, i.State.OOMKilled);
        assert.equal(Date.parse(s.endedAt!), Math.floor(Date.parse(i.State.FinishedAt)));
      }
      const live = await agent!.get<Summary[]>('/api/v1/containers');
      assert.ok(!live.some((c) => c.id === oomId || c.id === exitId));
    };
    await waitFor('removed containers listed', async () => ((await agent!.get<Summary[]>('/api/v1/containers?all=1')).filter((c) => (c.id === oomId || c.id === exitId) && c.state === 'removed').length === 2 ? true : undefined), 15_000, 250);
    await check();
    // Their history stays readable, from disk after a restart.
    const h1 = await agent!.get<History>(`/api/v1/containers/${exitId}/history?since=1h&metrics=pids`);
    assert.ok(sampled(h1, 'pids').length >= 2);
    await agent!.stop();
    agent = await agentOn(dir, ['--quiet']);
    await check();
    const h2 = await agent.get<History>(`/api/v1/containers/${exitId}/history?since=1h&metrics=pids`);
    assert.deepEqual(sampled(h2, 'pids'), sampled(h1, 'pids'));
  });
});
