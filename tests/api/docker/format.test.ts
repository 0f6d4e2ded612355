/** go-units HumanDuration, Go's RFC 3339 times, and moby's STATUS / COMMAND texts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandText, humanDuration, statusText } from '../../../src/api/docker/format.js';
import { goTime } from '../../../src/api/go-format.js';
import type { ContainerInfo } from '../../../src/model.js';

test('humanDuration follows go-units at every threshold', () => {
  const s = 1000;
  const h = 3600 * s;
  const cases: Array<[number, string]> = [
    [0, 'Less than a second'],
    [999, 'Less than a second'],
    [1 * s, '1 second'],
    [59.9 * s, '59 seconds'],
    [60 * s, 'About a minute'],
    [119 * s, 'About a minute'],
    [120 * s, '2 minutes'],
    [59 * 60 * s + 59 * s, '59 minutes'],
    [60 * 60 * s, 'About an hour'],
    [1.49 * h, 'About an hour'],
    [1.5 * h, '2 hours'],
    [47.4 * h, '47 hours'],
    [48 * h, '2 days'],
    [13 * 24 * h, '13 days'],
    [14 * 24 * h, '2 weeks'],
    [59 * 24 * h, '8 weeks'],
    [60 * 24 * h, '2 months'],
    [729 * 24 * h, '24 months'],
    [730 * 24 * h, '2 years'],
  ];
  for (const [ms, text] of cases) assert.equal(humanDuration(ms), text, `${ms} ms`);
});

test('goTime writes Go RFC3339Nano: trailing zeros trimmed, zero time for never', () => {
  assert.equal(goTime(Date.UTC(2026, 10, 23, 23, 36, 40, 420)), '2026-11-23T23:36:40.42Z');
  assert.equal(goTime(Date.UTC(2026, 10, 23, 23, 36, 40, 0)), '2026-11-23T23:36:40Z');
  assert.equal(goTime(Date.UTC(2026, 10, 23, 23, 36, 40, 7)), '2026-11-23T23:36:40.007Z');
  assert.equal(goTime(undefined), '0001-01-01T00:00:00Z');
});

const base: ContainerInfo = {
  id: 'a'.repeat(64),
  name: 'x',
  runtime: 'docker',
  image: 'busybox',
  labels: {},
  state: 'running',
  cgroup: { version: 2, path: '', dir: '' },
  network: { kind: 'unknown' },
  createdMs: 0,
  startedMs: 1_000_000,
  mounts: [],
  docker: { imageId: '', path: 'sh', args: [], exitCode: 137, finishedMs: 2_000_000, oomKilled: false, restartCount: 0, networkMode: 'default', ports: [], networks: {} },
};

test('statusText is moby State.String() for every state', () => {
  const at = (state: ContainerInfo['state'], extra: Partial<ContainerInfo> = {}, d: object = {}) =>
    statusText({ ...base, state, ...extra, docker: { ...base.docker!, ...d } }, 2_000_000 + 5 * 60_000);
  assert.equal(at('running'), 'Up 21 minutes');
  assert.equal(at('running', {}, { health: 'healthy' }), 'Up 21 minutes (healthy)');
  assert.equal(at('running', {}, { health: 'starting' }), 'Up 21 minutes (health: starting)');
  assert.equal(at('paused'), 'Up 21 minutes (Paused)');
  assert.equal(at('restarting'), 'Restarting (137) 5 minutes ago');
  assert.equal(at('exited'), 'Exited (137) 5 minutes ago');
  assert.equal(at('exited', { startedMs: undefined }), 'Created');
  assert.equal(at('created', { startedMs: undefined }), 'Created');
  assert.equal(at('dead'), 'Dead');
  assert.equal(at('removing'), 'Removal In Progress');
});

test('commandText quotes arguments holding a space, as moby does', () => {
  assert.equal(commandText('sh', ['-c', 'sleep 3600']), "sh -c 'sleep 3600'");
  assert.equal(commandText('/pause', []), '/pause');
  assert.equal(commandText('sleep', ['100000']), 'sleep 100000');
});
