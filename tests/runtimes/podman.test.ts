/**
 * Podman's state database as podman 4.3.1 (Debian 12) wrote it (tests/fixtures/runtimes/
 * podman-4.3/bolt_state.db): a pod "cs15-fixpod" (label tier=db) with its infra container and
 * one member, a container "cs15-fix-solo" (label app=web, named volume cs15-vol at /data, bind
 * of /tmp at /hosttmp read-only) and one only created.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BoltError, readBolt } from '../../src/runtimes/bolt.js';
import { podmanContainers } from '../../src/runtimes/podman.js';
import type { CgroupLocation } from '../../src/model.js';

const FILE = 'tests/fixtures/runtimes/podman-4.3/bolt_state.db';
const locate = (pid: number): CgroupLocation => ({ version: 2, path: `/pid${pid}`, dir: `/sys/fs/cgroup/pid${pid}` });

test('bolt: the buckets podman keeps, nested and inline', () => {
  const db = readBolt(readFileSync(FILE), FILE);
  assert.deepEqual([...db.buckets.keys()].sort(), [
    'all-ctrs', 'allPods', 'allVolumes', 'ctr', 'exec', 'exit-code', 'exit-code-time-stamp', 'id-registry', 'name-registry', 'ns-registry', 'pod', 'runtime-config', 'vol', 'volume-ctrs',
  ]);
  const names = [...db.buckets.get('name-registry')!.values.keys()].sort();
  assert.deepEqual(names, ['6662e7035592-infra', 'cs15-fix-created', 'cs15-fix-member', 'cs15-fix-solo', 'cs15-fixpod']);
  assert.equal(db.buckets.get('runtime-config')!.values.get('graph-root')!.toString(), '/var/lib/cs15-podman/storage');
});

test('bolt: a file that is not a database, or cut short, is a clear error', () => {
  assert.throws(() => readBolt(Buffer.alloc(8192), 'empty.db'), (e: Error) => e instanceof BoltError && /empty\.db: no valid meta page/.test(e.message));
  const whole = readFileSync(FILE);
  assert.throws(() => readBolt(whole.subarray(0, 3 * 4096), 'cut.db'), (e: Error) => e instanceof BoltError && /cut\.db: page \d+ lies outside the file/.test(e.message));
  // One flipped byte in the first meta page fails its checksum: the second meta page is used.
  const flipped = Buffer.from(whole);
  flipped[16 + 20] ^= 0xff;
  assert.deepEqual([...readBolt(flipped).buckets.keys()].length, 14);
});

test('podman: names, labels, image, pod and network from the state database', () => {
  const list = podmanContainers(readBolt(readFileSync(FILE), FILE), locate, FILE);
  const byName = new Map(list.map((c) => [c.name, c]));
  assert.equal(list.length, 4);

  const solo = byName.get('cs15-fix-solo')!;
  assert.equal(solo.runtime, 'podman');
  assert.equal(solo.id, '77a921f96572' + solo.id.slice(12));
  assert.equal(solo.state, 'running');
  assert.equal(solo.image, 'localhost/cs15-busybox:local');
  assert.equal(solo.labels.app, 'web');
  assert.ok(solo.pid! > 0);
  assert.deepEqual(solo.cgroup, locate(solo.pid!));
  assert.deepEqual(solo.network, { kind: 'own', pid: solo.pid });
  assert.equal(solo.pod, undefined);
  assert.match(solo.rootfsPath!, /^\/var\/lib\/cs15-podman\/storage\/overlay\/[0-9a-f]{64}\/diff$/);
  assert.equal(solo.containerDir, `/var/lib/cs15-podman/storage/overlay-containers/${solo.id}/userdata`);
  assert.deepEqual(
    solo.mounts.map((m) => [m.type, m.source, m.destination, m.readWrite]),
    [
      ['bind', '/tmp', '/hosttmp', false],
      ['volume', '/var/lib/cs15-podman/storage/volumes/cs15-vol/_data', '/data', true],
    ],
  );

  const infra = byName.get('6662e7035592-infra')!;
  const member = byName.get('cs15-fix-member')!;
  const podId = member.pod!.uid!;
  assert.ok(podId.startsWith('6662e7035592'));
  assert.deepEqual(infra.pod, { name: 'cs15-fixpod', uid: podId, container: '6662e7035592-infra', sandbox: true });
  assert.deepEqual(member.pod, { name: 'cs15-fixpod', uid: podId, container: 'cs15-fix-member', sandbox: false });
  assert.deepEqual(member.network, { kind: 'shared', withId: infra.id });
  assert.deepEqual(infra.network, { kind: 'own', pid: infra.pid });

  const created = byName.get('cs15-fix-created')!;
  assert.equal(created.state, 'created');
  assert.equal(created.pid, undefined);
  assert.deepEqual(created.network, { kind: 'unknown' });
});

test('podman: a container whose process is gone (no cgroup) is not sampled', () => {
  const list = podmanContainers(readBolt(readFileSync(FILE), FILE), () => undefined, FILE);
  assert.ok(list.every((c) => c.state !== 'running'));
});
