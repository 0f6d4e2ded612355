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

/** Every leaf of a JSON value by its dotted path (arrays and empty objects are leaves). */
function leaves(v: unknown, path = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) {
    for (const [k, x] of Object.entries(v)) leaves(x, path ? `${path}.${k}` : k, out);
  } else out.set(path, v);
  return out;
}

test('inspect answer: every field cstats writes is dockerd\'s own, key order kept, Env never', () => {
  for (const [i, info] of infos.entries()) {
    const docker = fixture.inspect[i] as any;
    const body = JSON.parse(toJson(inspectJson(entry(info))));
    assert.deepEqual(byDestination(body.Mounts), byDestination(docker.Mounts), `${info.name} Mounts`);
    const theirs = leaves({ ...docker, Mounts: [] });
    for (const [path, value] of leaves({ ...body, Mounts: [] })) assert.deepEqual(value, theirs.get(path), `${info.name} ${path}`);
    // In dockerd's order, with the fields cstats does not keep left out.
    const order = (o: object, of: object) => Object.keys(of).filter((k) => k in o);
    for (const key of ['', 'State', 'HostConfig', 'Config', 'NetworkSettings']) {
      const ours = key ? body[key] : body;
      assert.deepEqual(Object.keys(ours), order(ours, key ? docker[key] : docker), `${info.name} ${key || 'top level'} key order`);
    }
    assert.equal(body.Config.Env, undefined);
  }
  const [up, exited] = infos;
  const written = leaves(JSON.parse(toJson(inspectJson(entry(up)))));
  for (const path of ['Created', 'State.StartedAt', 'LogPath', 'Driver', 'HostConfig.NanoCpus', 'HostConfig.CpuQuota', 'GraphDriver.Data.LowerDir', 'Config.Cmd', 'Config.Hostname', 'NetworkSettings.SandboxKey', 'NetworkSettings.IPAddress']) {
    assert.ok(written.has(path), `writes ${path}`);
  }
  const stopped = JSON.parse(toJson(inspectJson(entry(exited)))).State;
  assert.deepEqual([stopped.ExitCode, stopped.Running, stopped.Pid], [3, false, 0]);
});

test('inspect answer of a plain cgroup: its cgroup files\' limits, no Docker-only fields', () => {
  const plain: ContainerInfo = { ...infos[0], id: 'f'.repeat(64), name: 'system-scope', runtime: 'cgroupfs', docker: undefined, rootfsPath: undefined };
  const sample = { timestampMs: 0, monoNs: 0n, systemCpuNs: 0n, onlineCpus: 2, cgroup: { cpu: { shares: 512n, quotaUs: 50000n, periodUs: 100000n }, memory: { limitBytes: 67108864n } } };
  const body = JSON.parse(toJson(inspectJson({ ...entry(plain), latest: sample })));
  assert.deepEqual(body.HostConfig, { NetworkMode: '', CpuShares: 512, Memory: 67108864, CpuPeriod: 100000, CpuQuota: 50000 });
  assert.deepEqual(body.GraphDriver, { Data: null, Name: '' });
  assert.deepEqual(Object.keys(body.NetworkSettings), ['Ports', 'Networks']);
  for (const key of ['ResolvConfPath', 'LogPath', 'Driver']) assert.equal(body[key], undefined, key);
  assert.deepEqual(Object.keys(body.Config), ['Image', 'Labels']);
});
