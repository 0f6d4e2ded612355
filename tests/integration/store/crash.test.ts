/**
 * Crash loop: the agent, sampling a real Docker container every 100 ms and fsyncing every
 * second, is killed with SIGKILL at a random moment (during writes, reads, start-up) 50 times.
 * Every start succeeds, and every sample it served that was older than the fsync interval (plus
 * one sampling interval) at the kill is served again afterwards, unchanged. About two minutes.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { run, sleep, type AgentProcess } from '../support.js';
import { agentOn, dataDirFor, sampled, type History } from './support.js';

const KILLS = 50;
const FSYNC_MS = 1000;
const INTERVAL_MS = 100;
const NAME = 'cs12-crash';

/** xorshift32: the kill moments can be replayed from the seed printed on failure. */
function rng(seed: number): () => number {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe('SIGKILL at random moments', () => {
  const dir = dataDirFor('crash');
  let agent: AgentProcess | undefined;
  after(() => {
    agent?.proc.kill('SIGKILL');
    spawnSync('docker', ['rm', '-f', NAME]);
    rmSync(dir, { recursive: true, force: true });
  });

  test(`${KILLS} kills: every start succeeds; nothing older than the fsync interval is lost`, async () => {
    const seed = Date.now() % 1_000_000;
    const rand = rng(seed);
    const id = run(NAME, ['--cpus', '0.2'], ['sh', '-c', 'while true; do :; done']);
    const t0 = Date.now();
    const q = `/api/v1/containers/${id}/history?since=${t0}&metrics=cpu_cores,pids`;
    const args = ['--quiet', '--interval', `${INTERVAL_MS}ms`, '--fsync-interval', `${FSYNC_MS}ms`, '--no-cgroups'];
    const kept = new Map<number, number | null>();
    let checked = 0;
    for (let k = 0; k < KILLS; k++) {
      agent = await agentOn(dir, args).catch((err: Error) => assert.fail(`start ${k} (seed ${seed}): ${err.message}`));
      const h = await agent.get<History>(q);
      // Everything that had to survive the previous kill is served, as it was.
      for (const [ts, v] of sampled(h, 'cpu_cores')) if (kept.has(ts)) assert.equal(v, kept.get(ts), `kill ${k}: sample ${ts} changed (seed ${seed})`);
      const served = new Set(h.timestamps);
      const missing = [...kept.keys()].filter((ts) => !served.has(ts));
      assert.deepEqual(missing, [], `kill ${k}: lost ${missing.length} samples (seed ${seed})`);
      checked = kept.size;
      const health = await agent.get<{ persistence: { ok: boolean } }>('/healthz');
      assert.ok(health.persistence.ok, `start ${k}: ${JSON.stringify(health.persistence)}`);
      // Run a while (0.2 to 1.8 s: several flushes, or none), read what is served, kill.
      await sleep(200 + rand() * 1600);
      const before = await agent.get<History>(q).catch(() => undefined);
      await sleep(rand() * 300);
      const killMs = Date.now();
      agent.proc.kill('SIGKILL');
      await new Promise((r) => agent!.proc.once('exit', r));
      for (const [ts, v] of before ? sampled(before, 'cpu_cores') : []) if (ts < killMs - FSYNC_MS - INTERVAL_MS - 100) kept.set(ts, v);
    }
    agent = await agentOn(dir, args);
    const last = await agent.get<History>(q);
    const served = new Set(last.timestamps);
    assert.deepEqual([...kept.keys()].filter((ts) => !served.has(ts)), []);
    // Enough samples were old enough at their kill to be checked (a run is 0.2 to 2.1 s after start).
    assert.ok(checked >= 20, `only ${checked} samples checked`);
    await agent.stop();
  });
});
