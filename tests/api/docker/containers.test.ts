/**
 * GET /containers/json entries rebuilt from dockerd's own inspect answers must equal dockerd's
 * list entries (tests/fixtures/docker-compat/containers.json, captured from Docker 20.10 at
 * one moment); filters behave as Docker's do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { filterMatch, inspectJson, listContainers, listEntry, parseFilters, parseListQuery } from '../../../src/api/docker/containers.js';
import { DockerError } from '../../../src/api/docker/reply.js';
import { toJson } from '../../../src/api/json.js';
import { containerFromInspect } from '../../../src/runtimes/docker.js';
import type { DockerInspect } from '../../../src/runtimes/docker-client.js';
import type { ContainerInfo } from '../../../src/model.js';
import type { ContainerEntry } from '../../../src/store/store.js';
import { SeriesRing } from '../../../src/store/ring.js';

const fixture = JSON.parse(readFileSync('tests/fixtures/docker-compat/containers.json', 'utf8')) as {
  capturedAtMs: number;
  list: any[];
  inspect: DockerInspect[];
};
const locate = () => ({ version: 1 as const, path: '/docker/x', dirs: {} });
const infos = fixture.inspect.map((i) => containerFromInspect(i, locate));
const entry = (info: ContainerInfo): ContainerEntry => ({ info, history: new SeriesRing(1, []) });

/** Docker lists mounts in map order (random); compare them as a set. */
const byDestination = (mounts: any[]) => [...mounts].sort((a, b) => (a.Destination < b.Destination ? -1 : 1));

for (const info of infos) {
  test(`list entry for ${info.name} equals dockerd's, key for key`, () => {
    const want = fixture.list.find((c) => c.Id === info.id);
    const ours = JSON.parse(toJson(listEntry(info, fixture.capturedAtMs)));
    assert.deepEqual(Object.keys(ours), Object.keys(want));
    assert.deepEqual(byDestination(ours.Mounts), byDestination(want.Mounts));
    assert.deepEqual({ ...ours, Mounts: [] }, { ...want, Mounts: [] });
  });
}

test('the list holds Docker containers only, running ones unless all=1, newest first', () => {
  const plain: ContainerInfo = { ...infos[0], id: 'f'.repeat(64), name: 'system-scope', runtime: 'cgroupfs', docker: undefined, createdMs: Date.now() };
  const entries = [...infos, plain].map(entry);
  const now = fixture.capturedAtMs;
  const running = listContainers(entries, parseListQuery(new URLSearchParams('')), now);
  assert.deepEqual(running.map((c) => c.Names[0]), ['/cs-compat-up']);
  const all = listContainers(entries, parseListQuery(new URLSearchParams('all=1')), now);
  assert.deepEqual(all.map((c) => c.Names[0]), ['/cs-compat-exited', '/cs-compat-up']);
  const limited = listContainers(entries, parseListQuery(new URLSearchParams('limit=1')), now);
  assert.deepEqual(limited.map((c) => c.Names[0]), ['/cs-compat-exited'], 'limit includes stopped containers, as docker ps -n does');
});

test('filters: both encodings, label, name regex, status, exited, id prefix, ancestor', () => {
  const [up, exited] = infos;
  const f = (json: string) => parseFilters(json, new Set(['label', 'name', 'status', 'exited', 'id', 'ancestor']));
  assert.equal(filterMatch(up, f('{"label":{"tier=web":true}}')), true);
  assert.equal(filterMatch(up, f('{"label":["tier"]}')), true);
  assert.equal(filterMatch(exited, f('{"label":["tier=web"]}')), false);
  assert.equal(filterMatch(up, f('{"name":["^/cs-compat-u"]}')), true);
  assert.equal(filterMatch(exited, f('{"name":["compat-up$"]}')), false);
  assert.equal(filterMatch(exited, f('{"status":["exited","dead"]}')), true);
  assert.equal(filterMatch(exited, f('{"exited":["3"]}')), true);
  assert.equal(filterMatch(exited, f('{"exited":["0"]}')), false);
  assert.equal(filterMatch(up, f(`{"id":["${up.id.slice(0, 5)}"]}`)), true);
  assert.equal(filterMatch(up, f('{"ancestor":["busybox:local"]}')), true);
  assert.throws(() => f('{"volume":["x"]}'), (e: unknown) => e instanceof DockerError && e.status === 400 && e.message === "invalid filter 'volume'");
  assert.throws(() => filterMatch(up, f('{"status":["sleeping"]}')), /invalid filter 'status=sleeping'/);
  assert.throws(() => f('not json'), DockerError);
});

test('inspect answer: moby ContainerJSON fields cstats knows, ports and state from discovery', () => {
  const [up, exited] = infos;
  const body = JSON.parse(toJson(inspectJson(entry(up))));
  const docker = fixture.inspect[0] as any;
  for (const key of ['Id', 'Path', 'Args', 'Image', 'Name', 'RestartCount', 'Platform']) assert.deepEqual(body[key], docker[key], key);
  assert.deepEqual(body.NetworkSettings.Ports, docker.NetworkSettings.Ports);
  assert.equal(body.NetworkSettings.Networks.bridge.IPAddress, docker.NetworkSettings.Networks.bridge.IPAddress);
  assert.deepEqual(byDestination(body.Mounts), byDestination(docker.Mounts));
  const state = docker.State;
  assert.deepEqual({ ...body.State, StartedAt: state.StartedAt.slice(0, 23) }, { ...state, StartedAt: body.State.StartedAt.slice(0, 23) });
  const stopped = JSON.parse(toJson(inspectJson(entry(exited)))).State;
  assert.equal(stopped.ExitCode, 3);
  assert.equal(stopped.Running, false);
  assert.equal(stopped.Pid, 0);
});
