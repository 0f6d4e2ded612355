/**
 * Docker containers that live a fraction of a second (`docker run --rm ... sleep 0.3`), far
 * less than the agent's one-second tick: each is still sampled at least once, listed with
 * ?all=1 under its Docker name, and has a history.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dockerAsync, IMAGE, removeTestContainers, sleep, startAgent, waitFor, type AgentProcess } from '../support.js';

const CONTAINERS = 10;
const NAME = 'hardening-brief';

interface Listed {
  id: string;
  name: string;
  state: string;
}

describe('containers that live less than a tick', () => {
  let agent: AgentProcess;
  before(async () => {
    removeTestContainers();
    agent = await startAgent(['--quiet']);
  });
  after(async () => {
    await agent?.stop();
    removeTestContainers();
  });

  test(`${CONTAINERS} containers of 0.3 s each: every one sampled, under its name, with a history`, async () => {
    const ids: string[] = [];
    for (let i = 0; i < CONTAINERS; i++) {
      // -d so the id is known; --rm removes it once it exits.
      ids.push(await dockerAsync('run', '-d', '--rm', '--network', 'none', '--name', `${NAME}-${i}`, '--label', 'cstats.test=1', IMAGE, 'sleep', '0.3'));
      await sleep(200);
    }
    await waitFor('the brief containers gone', async () => ((await dockerAsync('ps', '-aq', '--filter', `name=${NAME}`)) === '' ? true : undefined), 30_000, 250);
    await sleep(1000);
    const all = await agent.get<Listed[]>('/api/v1/containers?all=1');
    const byId = new Map(all.map((c) => [c.id, c]));
    const unsampled: string[] = [];
    for (const [i, id] of ids.entries()) {
      const c = byId.get(id);
      assert.ok(c, `${NAME}-${i} is listed with ?all=1`);
      assert.equal(c.name, `${NAME}-${i}`, 'under its Docker name');
      assert.equal(c.state, 'removed');
      const h = await agent.get<{ timestamps: number[] }>(`/api/v1/containers/${id}/history?metrics=pids`);
      if (h.timestamps.length === 0) unsampled.push(`${NAME}-${i}`);
    }
    assert.deepEqual(unsampled, [], `${unsampled.length} of ${CONTAINERS} without a sample`);
    assert.doesNotMatch(agent.log(), /unexpected (error|rejection)|tick failed/);
  });
});
