/**
 * The agent's CRI answers decoder against protobufjs encoding the same messages from the field
 * numbers of k8s.io/cri-api pkg/apis/runtime/v1/api.proto (an independent encoder).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { parseContainers, parseSandboxes, parseStatus } from '../../src/runtimes/cri/containerd.js';
import { decode, encode, ProtobufError, str } from '../../src/runtimes/cri/protobuf.js';

const root = protobuf.parse(
  `syntax = "proto3";
  message PodSandboxMetadata { string name = 1; string uid = 2; string namespace = 3; uint32 attempt = 4; }
  message PodSandbox { string id = 1; PodSandboxMetadata metadata = 2; int32 state = 3; int64 created_at = 4; map<string, string> labels = 5; map<string, string> annotations = 6; string runtime_handler = 7; }
  message ListPodSandboxResponse { repeated PodSandbox items = 1; }
  message ContainerMetadata { string name = 1; uint32 attempt = 2; }
  message ImageSpec { string image = 1; }
  message Container { string id = 1; string pod_sandbox_id = 2; ContainerMetadata metadata = 3; ImageSpec image = 4; string image_ref = 5; int32 state = 6; int64 created_at = 7; map<string, string> labels = 8; map<string, string> annotations = 9; }
  message ListContainersResponse { repeated Container containers = 1; }
  message ContainerStatus { string id = 1; ContainerMetadata metadata = 2; int32 state = 3; int64 created_at = 4; int64 started_at = 5; sfixed64 unused = 99; }
  message ContainerStatusResponse { ContainerStatus status = 1; map<string, string> info = 2; }
  message StatusRequest { string container_id = 1; bool verbose = 2; }`,
  { keepCase: true },
).root;

function bytes(type: string, value: object): Buffer {
  const t = root.lookupType(type);
  return Buffer.from(t.encode(t.fromObject(value)).finish());
}

const CREATED_NS = '1796400000123456789';

test('ListPodSandbox: id, pod name, uid, namespace, state, labels, creation time', () => {
  const body = bytes('ListPodSandboxResponse', {
    items: [
      { id: 'sb1', metadata: { name: 'web', uid: 'u-1', namespace: 'shop', attempt: 2 }, state: 0, created_at: CREATED_NS, labels: { app: 'web' }, annotations: { a: 'b' } },
      { id: 'sb2', metadata: { name: 'old', uid: 'u-2', namespace: 'shop' }, state: 1 },
    ],
  });
  const [a, b] = parseSandboxes(body);
  assert.deepEqual(a.pod, { name: 'web', uid: 'u-1', namespace: 'shop' });
  assert.deepEqual(a.listed, { id: 'sb1', sandbox: true, sandboxId: 'sb1', name: 'web', state: 'running', image: '', labels: { app: 'web' }, createdMs: 1796400000123 });
  assert.equal(b.listed.state, 'exited');
});

test('ListContainers: sandbox, name, image, state, labels', () => {
  const body = bytes('ListContainersResponse', {
    containers: [
      { id: 'c1', pod_sandbox_id: 'sb1', metadata: { name: 'app' }, image: { image: 'docker.io/library/nginx:1' }, image_ref: 'sha256:ab', state: 1, created_at: CREATED_NS, labels: { 'io.kubernetes.container.name': 'app' } },
      { id: 'c2', pod_sandbox_id: 'sb1', metadata: { name: 'init' }, state: 2 },
      { id: 'c3', pod_sandbox_id: 'sb1', metadata: { name: 'new' }, state: 0 },
      { id: 'c4', pod_sandbox_id: 'sb1', metadata: { name: 'lost' }, state: 3 },
    ],
  });
  const list = parseContainers(body);
  assert.deepEqual(list[0], {
    id: 'c1', sandbox: false, sandboxId: 'sb1', name: 'app', state: 'running', image: 'docker.io/library/nginx:1', labels: { 'io.kubernetes.container.name': 'app' }, createdMs: 1796400000123,
  });
  assert.deepEqual(list.map((c) => c.state), ['running', 'exited', 'created', 'dead']);
});

test('verbose status: the pid from containerd\'s info JSON, the start time; fixed-width fields skipped', () => {
  const body = bytes('ContainerStatusResponse', {
    status: { id: 'c1', state: 1, started_at: CREATED_NS, unused: '-5' },
    info: { info: JSON.stringify({ pid: 4242, sandboxID: 'sb1', runtimeSpec: {} }) },
  });
  assert.deepEqual(parseStatus(body), { pid: 4242, startedMs: 1796400000123 });
  assert.deepEqual(parseStatus(bytes('ContainerStatusResponse', { status: { id: 'c2', state: 2 } })), { pid: undefined, startedMs: undefined });
});

test('requests: what the agent encodes, protobufjs reads back', () => {
  const t = root.lookupType('StatusRequest');
  assert.deepEqual(t.toObject(t.decode(encode([[1, 'c1'], [2, true]]))), { container_id: 'c1', verbose: true });
  assert.equal(str(decode(encode([[1, 'é'.repeat(100)]])), 1), 'é'.repeat(100));
});

test('a cut or malformed message is a clear error', () => {
  const body = bytes('ListContainersResponse', { containers: [{ id: 'c1', metadata: { name: 'app' } }] });
  assert.throws(() => decode(body.subarray(0, body.length - 2)), (e: Error) => e instanceof ProtobufError && /claims \d+ bytes/.test(e.message));
  assert.throws(() => decode(Buffer.from([0x0b])), (e: Error) => e instanceof ProtobufError && /wire type 3/.test(e.message));
  assert.throws(() => decode(Buffer.from([0x08, 0xff])), ProtobufError);
});
