/**
 * Churn: 120 Docker containers, each living about five seconds, created and removed (`--rm`) by
 * eight `docker run`s at a time (as fast as dockerd goes: several a second on a quiet host)
 * while a real agent samples at 250 ms. Every one of them
 * is listed by `?all=1` and has at least one sample in its history; once the removed ones have
 * aged out of the store (--history), the agent's open descriptors are back at their baseline and
 * its resident memory close to it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dockerAsync, IMAGE, removeTestContainers, sleep, startAgent, waitFor, type AgentProcess } from '../support.js';

const CONTAINERS = 120;
const PARALLEL = 8;
/** The first wave, after which the baseline is taken. */
const WARM_UP = 40;
/** Removed containers stay listed (?all=1) for the history window, then the store drops them. */
const HISTORY_S = 20;
const NAME = 'cs17b-churn';

const openDescriptors = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;
const rssBytes = (pid: number): number => Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))![1]) * 1024;

interface Listed {
  id: string;
  name: string;
  state: string;
}

describe('container churn', () => {
  let agent: AgentProcess;
  before(async () => {
    removeTestContainers();
    agent = await startAgent(['--quiet', '--interval', '250ms', '--history', `${HISTORY_S}s`]);
  });
  after(async () => {
    await agent?.stop();
    removeTestContainers();
  });

  /** One wave: `count` containers named `${prefix}-i` created and removed, while ?all=1 is watched. */
  async function wave(prefix: string, count: number) {
    // Watches ?all=1 during the churn; confirms each new churn container has a sample.
    const listed = new Set<string>();
    const sampled = new Set<string>();
    let churning = true;
    const watcher = (async () => {
      while (churning || [...listed].some((id) => !sampled.has(id))) {
        const all = await agent.get<Listed[]>('/api/v1/containers?all=1');
        for (const c of all.filter((c) => c.name.startsWith(prefix))) {
          listed.add(c.id);
          if (sampled.has(c.id)) continue;
          const h = await agent.get<{ timestamps: number[] }>(`/api/v1/containers/${c.id}/history?metrics=pids`).catch(() => undefined);
          if (h && h.timestamps.length >= 1) sampled.add(c.id);
        }
        if (!churning) break;
        await sleep(500);
      }
    })();

    const created: string[] = [];
    let next = 0;
    const t0 = Date.now();
    const worker = async (): Promise<void> => {
      while (next < count) {
        const i = next++;
        created.push(await dockerAsync('run', '-d', '--rm', '--network', 'none', '--name', `${prefix}-${i}`, '--label', 'cstats.test=1', IMAGE, 'sleep', '5'));
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    await waitFor('the churn containers gone', async () => ((await dockerAsync('ps', '-aq', '--filter', `name=${prefix}`)) === '' ? true : undefined), 30_000, 250);
    const churnS = (Date.now() - t0) / 1000;
    await sleep(1000); // the last removals reach the agent
    churning = false;
    await watcher;
    return { created, listed, sampled, churnS };
  }

  /** After the history window the store forgets them. */
  async function forgotten(prefix: string): Promise<void> {
    await waitFor('the removed containers forgotten', async () => ((await agent.get<Listed[]>('/api/v1/containers?all=1')).some((c) => c.name.startsWith(prefix)) ? undefined : true), (HISTORY_S + 10) * 1000, 500);
    await sleep(2000);
  }

  test(`${CONTAINERS} containers created and removed a few a second: each listed and sampled; descriptors and memory back to baseline`, async () => {
    const pid = agent.proc.pid!;
    // The baseline is taken after a first, smaller wave has come and gone: a fresh process has
    // not yet grown its heap to its working size, and V8 keeps what it grew to. What a leak
    // would show is growth from one wave to the next.
    await wave(`${NAME}-warm`, WARM_UP);
    await forgotten(`${NAME}-warm`);
    const baseline = { fds: openDescriptors(pid), rss: rssBytes(pid) };

    const prefix = `${NAME}-main`;
    const { created, listed, sampled, churnS } = await wave(prefix, CONTAINERS);
    // How fast dockerd creates and removes them is the host's business (a quiet 2-core host does
    // several a second, a loaded one less): reported, not asserted.
    const rate = CONTAINERS / churnS;
    const unlisted = created.filter((id) => !listed.has(id));
    const warnings = agent.log().split('\n').filter((l) => / warn /.test(l)).slice(0, 5).join('\n');
    assert.deepEqual(unlisted, [], `${unlisted.length} of ${CONTAINERS} never listed with ?all=1; agent warnings:\n${warnings}`);
    const unsampled = created.filter((id) => !sampled.has(id));
    assert.deepEqual(unsampled, [], `${unsampled.length} of ${CONTAINERS} without a sample`);
    const now = await agent.get<Listed[]>('/api/v1/containers?all=1');
    assert.ok(now.filter((c) => c.name.startsWith(prefix)).every((c) => c.state === 'removed'), 'all of them removed');

    // After the history window the store forgets them; the descriptors their cgroup files held are closed.
    await forgotten(prefix);
    const end = { fds: openDescriptors(pid), rss: rssBytes(pid) };
    process.stderr.write(`churn: ${CONTAINERS} containers in ${churnS.toFixed(1)} s (${rate.toFixed(1)}/s); fds ${baseline.fds} -> ${end.fds}; RSS ${(baseline.rss / 2 ** 20).toFixed(1)} -> ${(end.rss / 2 ** 20).toFixed(1)} MiB\n`);
    assert.ok(end.fds <= baseline.fds + 2, `descriptors: ${baseline.fds} before, ${end.fds} after`);
    // V8 hands memory back lazily: within 15 % (or 10 MiB) of the baseline.
    assert.ok(end.rss <= Math.max(baseline.rss * 1.15, baseline.rss + 10 * 2 ** 20), `RSS: ${(baseline.rss / 2 ** 20).toFixed(1)} MiB before, ${(end.rss / 2 ** 20).toFixed(1)} MiB after`);
    assert.equal(agent.proc.exitCode, null);
    assert.doesNotMatch(agent.log(), /unexpected (error|rejection)|tick failed/);
  });
});
