/**
 * LXD's answers as LXD 5.0.2 (Debian 12) gave them, recorded from a daemon of the test's own:
 * instances-all-projects.json is GET /1.0/instances?recursion=1&all-projects=true with a running
 * container in the default project (limits and a user.* key set), one running in project
 * "cs15p", and one created but never started; events.ws is the raw byte stream of
 * /1.0/events?type=lifecycle after the WebSocket upgrade, while the second container was stopped
 * and started and the first's config changed (LXD opens it with a "keepalive" ping).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { lxdCgroupPath, lxdContainers, LxdDiscoverer, type LxdInstance } from '../../src/runtimes/lxd.js';
import { LxdClient } from '../../src/runtimes/lxd-client.js';
import { classifyCgroup, idFromPath } from '../../src/runtimes/classify.js';
import { createLogger } from '../../src/log.js';
import type { CgroupLocation } from '../../src/model.js';

const FIXTURES = 'tests/fixtures/runtimes/lxd';
const instances = (JSON.parse(readFileSync(`${FIXTURES}/instances-all-projects.json`, 'utf8')) as { metadata: LxdInstance[] }).metadata;

// A cgroup tree of the test's own: only cs15-probe's directory exists, holding this process.
const root = mkdtempSync(`${tmpdir()}/cs15-lxd-cgroup-`);
mkdirSync(`${root}/lxc.payload.cs15-probe`);
writeFileSync(`${root}/lxc.payload.cs15-probe/cgroup.procs`, `${process.pid}\n`);
after(() => rmSync(root, { recursive: true, force: true }));
const locate = (rel: string): CgroupLocation => ({ version: 2, path: rel, dir: root + rel });

test('the cgroup LXD gives a container: lxc.payload.<name>, or lxc.payload.<project>_<name> outside the default project', () => {
  assert.equal(lxdCgroupPath('default', 'web'), '/lxc.payload.web');
  assert.equal(lxdCgroupPath('cs15p', 'web'), '/lxc.payload.cs15p_web');
});

test('containers from a recorded /1.0/instances answer: names, project, labels, image, limits, times, state', () => {
  const list = lxdContainers(instances, { runtime: 'lxd', locate, hostNetns: undefined });
  const byName = new Map(list.map((c) => [c.name, c]));
  assert.deepEqual([...byName.keys()].sort(), ['cs15-probe', 'cs15-stopped', 'cs15p/cs15-inproj']);

  const probe = byName.get('cs15-probe')!;
  // The id the cgroup walk gives the same directory: this entry takes its place.
  assert.equal(probe.id, idFromPath('/lxc.payload.cs15-probe'));
  assert.equal(probe.id, classifyCgroup('/lxc.payload.cs15-probe')!.id);
  assert.equal(probe.runtime, 'lxd');
  assert.equal(probe.kind, 'lxc');
  assert.equal(probe.state, 'running');
  assert.equal(probe.image, 'busybox local');
  assert.deepEqual(probe.labels, { 'user.team': 'probe' });
  assert.deepEqual(probe.lxd, { project: 'default', limits: { 'limits.cpu': '1', 'limits.cpu.allowance': '50ms/100ms', 'limits.memory': '64MiB' } });
  assert.equal(probe.createdMs, Date.parse('2026-12-05T21:39:31.086Z'));
  assert.equal(probe.startedMs, Date.parse('2026-12-05T21:39:31.216Z'));
  assert.equal(probe.pid, process.pid);
  assert.deepEqual(probe.network, { kind: 'own', pid: process.pid });
  assert.deepEqual(probe.cgroup, locate('/lxc.payload.cs15-probe'));

  // Listed running, but its cgroup is not in this tree (as when it stopped since the listing).
  const inproj = byName.get('cs15p/cs15-inproj')!;
  assert.equal(inproj.id, classifyCgroup('/lxc.payload.cs15p_cs15-inproj')!.id);
  assert.equal(inproj.state, 'exited');
  assert.equal(inproj.pid, undefined);
  assert.deepEqual(inproj.network, { kind: 'unknown' });
  assert.deepEqual(inproj.labels, { 'user.where': 'proj' });
  assert.deepEqual(inproj.lxd, { project: 'cs15p', limits: {} });

  // Never started: LXD's last_used_at is the Unix epoch, which is no start time.
  const stopped = byName.get('cs15-stopped')!;
  assert.equal(stopped.state, 'exited');
  assert.equal(stopped.startedMs, undefined);
  assert.deepEqual(stopped.lxd?.limits, { 'limits.memory': '32MiB' });
});

test('virtual machines are left out; an Incus daemon names its containers runtime incus', () => {
  const probe = instances.find((i) => i.name === 'cs15-probe')!;
  const list = lxdContainers([{ ...probe, name: 'vm1', type: 'virtual-machine' }, probe], { runtime: 'incus', locate, hostNetns: undefined });
  assert.deepEqual(list.map((c) => [c.name, c.runtime]), [['cs15-probe', 'incus']]);
});

/**
 * A WebSocket server on a unix socket that answers the upgrade (RFC 6455 4.2.2) and then sends
 * `bytes`, what Debian's LXD 5.0.2 sent on /1.0/events (a "keepalive" ping, then three text
 * frames), in chunks of `size` bytes; it keeps what the client sends back.
 */
async function recordedStream(socketPath: string, bytes: Buffer, size: number): Promise<{ received: Buffer[]; close: () => void }> {
  const received: Buffer[] = [];
  const server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket) => {
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.on('data', (d: Buffer) => received.push(d));
    for (let i = 0; i < bytes.length; i += size) socket.write(bytes.subarray(i, i + size));
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return { received, close: () => server.close() };
}

test('the recorded event stream: the keepalive ping answered, one JSON lifecycle event per text message, however it is split', async () => {
  const bytes = readFileSync(`${FIXTURES}/events.ws`);
  for (const size of [1, 7, bytes.length]) {
    const socketPath = `${root}/events-${size}.socket`;
    const server = await recordedStream(socketPath, bytes, size);
    const messages: string[] = [];
    const stream = new LxdClient(socketPath).websocket('/1.0/events?type=lifecycle', (text) => messages.push(text));
    for (let waited = 0; messages.length < 3 && waited < 2000; waited += 10) await new Promise((r) => setTimeout(r, 10));
    stream.cancel();
    await stream.done;
    server.close();
    const events = messages.map((m) => JSON.parse(m) as { type: string; project: string; metadata: { action: string; source: string } });
    assert.deepEqual(events.map((e) => [e.type, e.metadata.action, e.project]), [
      ['lifecycle', 'instance-stopped', 'cs15p'],
      ['lifecycle', 'instance-started', 'cs15p'],
      ['lifecycle', 'instance-updated', 'default'],
    ], `in chunks of ${size} bytes`);
    assert.equal(events[0].metadata.source, '/1.0/instances/cs15-inproj?project=cs15p');
    // The pong: final, opcode 10, masked (a client's frames are), the ping's payload once unmasked.
    const pong = Buffer.concat(server.received);
    assert.deepEqual([pong[0], pong[1]], [0x8a, 0x80 | 9]);
    assert.equal(Buffer.from(pong.subarray(6, 15).map((b, i) => b ^ pong[2 + (i & 3)])).toString(), 'keepalive');
  }
});

test('a socket that answers without upgrading: the stream fails with the status', async () => {
  const socketPath = `${root}/no-upgrade.socket`;
  const server = createServer((_req, res) => res.writeHead(403).end('{"error":"not allowed"}'));
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const stream = new LxdClient(socketPath).websocket('/1.0/events', () => assert.fail('no message'));
  await assert.rejects(stream.done, /no-upgrade\.socket \/1\.0\/events: 403 instead of a WebSocket upgrade/);
  server.close();
});

test('no socket: an empty list, said once; a socket that is not LXD: down, said once, and the agent goes on', async () => {
  const lines: string[] = [];
  const log = createLogger((l) => lines.push(l));
  const absent = new LxdDiscoverer({ socketPath: `${root}/absent.socket`, locate, retryMs: 20 }, log);
  await absent.start();
  await new Promise((r) => setTimeout(r, 100));
  absent.stop();
  assert.deepEqual(absent.containers(), []);
  assert.equal(absent.health().up, true);
  assert.equal(lines.filter((l) => l.includes('no socket at')).length, 1, lines.join('\n'));

  // An HTTP server on the socket that answers everything with a 404 and no upgrade.
  const socketPath = `${root}/not-lxd.socket`;
  const server = createServer((_req, res) => res.writeHead(404).end('not here'));
  await new Promise<void>((r) => server.listen(socketPath, r));
  try {
    lines.length = 0;
    const d = new LxdDiscoverer({ socketPath, locate, retryMs: 20 }, log);
    await d.start();
    await new Promise((r) => setTimeout(r, 150));
    d.stop();
    assert.equal(d.health().up, false);
    assert.match(d.health().detail, /not JSON|instead of a WebSocket upgrade/);
    assert.equal(lines.filter((l) => l.includes('unavailable')).length, 1, lines.join('\n'));
  } finally {
    server.close();
  }
});
