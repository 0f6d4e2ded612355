/**
 * A busy dockerd answers an inspect seconds late: an answer sent before a container's destroy
 * event and received after it must not bring the container back (seen in the churn test: ghosts
 * listed as exited until the next resync). The daemon is a stand-in object here, since a real one
 * cannot be made to answer late on cue; tests/integration/agent/churn.test.ts covers the real one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DockerDiscoverer } from '../../src/runtimes/docker.js';
import type { DockerClient } from '../../src/runtimes/docker-client.js';
import { createLogger } from '../../src/log.js';

const ID = 'd'.repeat(64);

function inspectAnswer(status: string) {
  return {
    Id: ID,
    Name: '/cs17b-ghost',
    Created: '2026-01-01T00:00:00Z',
    Image: 'sha256:0',
    Path: 'sleep',
    Args: ['5'],
    State: { Status: status, Pid: 0, ExitCode: 0, StartedAt: '2026-01-01T00:00:01Z', FinishedAt: '2026-01-01T00:00:06Z' },
    Config: { Image: 'busybox:local', Labels: {} },
    HostConfig: { NetworkMode: 'none' },
    Mounts: [],
  };
}

test('an inspect answered after the destroy event does not bring the container back', async () => {
  let emit: (e: unknown) => void = () => {};
  let answerLate: () => void = () => {};
  const client = {
    socketPath: '/nonexistent',
    listContainers: async () => [],
    streamEvents: (onEvent: (e: unknown) => void) => {
      emit = onEvent;
      return { done: new Promise<void>(() => {}), cancel: () => {} };
    },
    inspect: () => new Promise((resolve) => (answerLate = () => resolve(inspectAnswer('exited')))),
  } as unknown as DockerClient;
  const d = new DockerDiscoverer(client, () => undefined, createLogger(() => {}, true), 1000, 3_600_000);
  await d.start();
  emit({ Type: 'container', Action: 'die', Actor: { ID, Attributes: {} } }); // inspect sent, not answered yet
  emit({ Type: 'container', Action: 'destroy', Actor: { ID, Attributes: {} } });
  answerLate();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(d.containers(), []);
  d.stop();
});
