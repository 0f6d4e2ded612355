/** Lifecycle events from successive looks at the store: Docker's actions for each change. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LifecycleLog, transitions } from '../../src/store/lifecycle.js';
import { Store } from '../../src/store/store.js';
import type { ContainerInfo } from '../../src/model.js';

const seen = (state: string, startedMs?: number, oomKills = 0n, oomKilled = false) => ({ state: state as ContainerInfo['state'], startedMs, oomKills, oomKilled });

test('transitions: Docker actions for every change of state', () => {
  assert.deepEqual(transitions(undefined, seen('running', 1)), ['create', 'start']);
  assert.deepEqual(transitions(undefined, seen('created')), ['create']);
  assert.deepEqual(transitions(undefined, seen('exited', 1)), ['create', 'start', 'die']);
  assert.deepEqual(transitions(undefined, seen('paused', 1)), ['create', 'start', 'pause']);
  assert.deepEqual(transitions(seen('created'), seen('running', 1)), ['start']);
  assert.deepEqual(transitions(seen('running', 1), seen('exited', 1)), ['die']);
  assert.deepEqual(transitions(seen('running', 1), seen('running', 2)), ['die', 'start'], 'a restart within one tick');
  assert.deepEqual(transitions(seen('running', 1), seen('paused', 1)), ['pause']);
  assert.deepEqual(transitions(seen('paused', 1), seen('running', 1)), ['unpause']);
  assert.deepEqual(transitions(seen('running', 1), seen('removed', 1)), ['die', 'destroy']);
  assert.deepEqual(transitions(seen('exited', 1), seen('removed', 1)), ['destroy']);
  assert.deepEqual(transitions(seen('removed', 1), seen('removed', 1)), []);
  assert.deepEqual(transitions(seen('running', 1, 0n), seen('running', 1, 1n)), ['oom']);
  assert.deepEqual(transitions(seen('running', 1), seen('running', 1)), []);
  // dockerd may handle containerd's OOM event after the exit: OOMKilled turns true on a container
  // already seen dead, whose cgroup is gone. That is the OOM kill, once.
  assert.deepEqual(transitions(seen('exited', 1), seen('exited', 1, 0n, true)), ['oom']);
  assert.deepEqual(transitions(seen('running', 1, 0n), seen('exited', 1, 1n, true)), ['oom', 'die'], 'the count and the flag are one kill');
  assert.deepEqual(transitions(seen('exited', 1, 0n, true), seen('exited', 1, 0n, true)), []);
});

function info(id: string, state: ContainerInfo['state']): ContainerInfo {
  return { id, name: id, runtime: 'docker', image: 'img', labels: {}, state, cgroup: { version: 2, path: '', dir: '' }, network: { kind: 'unknown' }, createdMs: 0, startedMs: 5, mounts: [] };
}

test('the log takes the store as it is, then records each change once, with a growing sequence', () => {
  const store = new Store(10, 60_000);
  store.upsert(info('old', 'running'));
  const log = new LifecycleLog(store);
  const heard: string[] = [];
  log.subscribe((e) => heard.push(`${e.info.id}:${e.action}`));
  log.observe(1000);
  assert.deepEqual(heard, [], 'containers present at the start raise no events');
  store.upsert(info('new', 'running'));
  log.observe(2000);
  store.upsert(info('new', 'exited'));
  store.markRemoved('old', 3000);
  log.observe(3000);
  log.observe(4000);
  assert.deepEqual(heard, ['new:create', 'new:start', 'old:die', 'old:destroy', 'new:die']);
  const recorded = log.between(2500, 3500);
  assert.deepEqual(recorded.map((e) => `${e.info.id}:${e.action}`), ['old:die', 'old:destroy', 'new:die']);
  assert.ok(recorded.every((e, i) => i === 0 || e.seq > recorded[i - 1].seq));
  assert.equal(log.between(0, 1500).length, 0);
});
