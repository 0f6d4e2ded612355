import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyCgroup, idFromPath } from '../../src/runtimes/classify.js';

const ID = '3f4b0c0e8a7d4e8b9c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b';
const UID = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';

test('Docker, both cgroup drivers', () => {
  assert.deepEqual(classifyCgroup(`/docker/${ID}`), { kind: 'docker', id: ID, name: ID.slice(0, 12) });
  assert.deepEqual(classifyCgroup(`/system.slice/docker-${ID}.scope`), { kind: 'docker', id: ID, name: ID.slice(0, 12) });
  assert.equal(classifyCgroup('/docker'), undefined);
});

test('Kubernetes pods, cgroupfs and systemd drivers, all QoS classes', () => {
  const expected = { kind: 'kubepods', id: ID, name: `pod${UID}/${ID.slice(0, 12)}`, pod: { uid: UID, container: ID } };
  assert.deepEqual(classifyCgroup(`/kubepods/burstable/pod${UID}/${ID}`), expected);
  assert.deepEqual(classifyCgroup(`/kubepods/pod${UID}/${ID}`), expected);
  const u = UID.replace(/-/g, '_');
  assert.deepEqual(classifyCgroup(`/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${u}.slice/cri-containerd-${ID}.scope`), expected);
  assert.deepEqual(classifyCgroup(`/kubepods.slice/kubepods-pod${u}.slice/crio-${ID}.scope`), expected);
  // Grouping levels are not containers.
  assert.equal(classifyCgroup(`/kubepods/burstable/pod${UID}`), undefined);
  assert.equal(classifyCgroup('/kubepods.slice/kubepods-burstable.slice'), undefined);
});

test('podman, LXC, systemd scopes; monitors and init.scope are not containers', () => {
  assert.deepEqual(classifyCgroup(`/machine.slice/libpod-${ID}.scope`), { kind: 'podman', id: ID, name: ID.slice(0, 12) });
  assert.equal(classifyCgroup(`/machine.slice/libpod-conmon-${ID}.scope`), undefined);
  assert.equal(classifyCgroup('/lxc/web')?.name, 'web');
  assert.equal(classifyCgroup('/lxc.payload.db')?.name, 'db');
  assert.equal(classifyCgroup('/lxc.monitor.db'), undefined);
  assert.deepEqual(classifyCgroup('/system.slice/run-r1.scope'), { kind: 'systemd', id: idFromPath('/system.slice/run-r1.scope'), name: 'run-r1' });
  assert.equal(classifyCgroup('/init.scope'), undefined);
  assert.equal(classifyCgroup('/system.slice'), undefined);
  assert.equal(classifyCgroup('/'), undefined);
});

test('ids derived from paths are stable 64-hex strings', () => {
  assert.match(idFromPath('/a.scope'), /^[0-9a-f]{64}$/);
  assert.equal(idFromPath('/a.scope'), idFromPath('/a.scope'));
  assert.notEqual(idFromPath('/a.scope'), idFromPath('/b.scope'));
});
