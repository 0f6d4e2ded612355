/**
 * deploy/kubernetes/cstats.yaml against the Kubernetes API's schemas (kubernetes-models: the
 * OpenAPI schemas of the Kubernetes API as JSON Schema, checked with ajv), plus what the agent
 * needs from it that a schema cannot say.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { Namespace, Service } from 'kubernetes-models/v1';
import { CONFIG_FLAGS } from '../../src/config.js';

const FILE = 'deploy/kubernetes/cstats.yaml';
const MODELS: Record<string, new (data: any) => { validate(): void }> = { Namespace, DaemonSet, Service };

function documents(): any[] {
  return parseAllDocuments(readFileSync(FILE, 'utf8')).map((d) => {
    assert.deepEqual(d.errors, []);
    return d.toJSON();
  });
}

test('every object passes the Kubernetes API schema of its kind', () => {
  const docs = documents();
  assert.deepEqual(docs.map((d) => d.kind), ['Namespace', 'DaemonSet', 'Service']);
  for (const d of docs) new MODELS[d.kind](d).validate();
});

test('the schema check catches a wrong manifest (so a pass means something)', () => {
  const ds = documents()[1];
  ds.spec.template.spec.containers[0].ports[0].containerPort = '7070';
  assert.throws(() => new DaemonSet(ds).validate(), /containerPort must be integer/);
  const noSelector = documents()[1];
  delete noSelector.spec.selector;
  assert.throws(() => new DaemonSet(noSelector).validate(), /selector/);
});

test('the DaemonSet gives the agent the host: PIDs, network, cgroups, runtime sockets, /proc files propagated', () => {
  const [, ds, svc] = documents();
  const pod = ds.spec.template.spec;
  assert.equal(pod.hostPID, true);
  assert.equal(pod.hostNetwork, true);
  const c = pod.containers[0];
  const mounts = new Map<string, any>(c.volumeMounts.map((m: any) => [m.mountPath, m]));
  for (const path of ['/sys/fs/cgroup', '/run/containerd', '/var/run/docker.sock', '/var/lib/containers/storage', '/var/lib/lxc', '/dev/fuse']) assert.ok(mounts.has(path), path);
  assert.equal(mounts.get('/var/lib/cstats/procfs').mountPropagation, 'Bidirectional');
  assert.equal(c.securityContext.privileged, true, 'Bidirectional propagation needs a privileged container');
  // Volumes and mounts name each other.
  const volumes = new Set(pod.volumes.map((v: any) => v.name));
  for (const m of c.volumeMounts) assert.ok(volumes.has(m.name), m.name);
  // The agent's own options: only real flags, and a token since it listens beyond loopback.
  for (const a of c.args.filter((x: string) => x.startsWith('--'))) assert.ok(CONFIG_FLAGS.has(a.slice(2)), a);
  const env = new Map<string, any>(c.env.map((e: any) => [e.name, e]));
  assert.equal(env.get('CSTATS_LISTEN').value, '0.0.0.0:7070');
  assert.equal(env.get('CSTATS_AUTH_TOKEN').valueFrom.secretKeyRef.name, 'cstats-auth');
  // The Service selects the pods and exposes the named port a ServiceMonitor refers to.
  assert.deepEqual(svc.spec.selector, ds.spec.template.metadata.labels);
  assert.deepEqual(svc.spec.ports.map((p: any) => [p.name, p.port, p.targetPort]), [['metrics', 7070, 'metrics']]);
  assert.equal(c.ports[0].name, 'metrics');
});
