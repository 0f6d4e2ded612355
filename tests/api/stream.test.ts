import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Router, startServer } from '../../src/api/http.js';
import { DEFAULT_STREAM_OPTIONS, registerStream, type StreamHub, type TickSource } from '../../src/api/stream.js';
import { alertsView, type AlertView } from '../../src/api/alarms.js';
import type { AlarmEngine } from '../../src/alarms/engine.js';
import { Store } from '../../src/store/store.js';
import { ID_A, ID_B, T, containerInfo, fixtureStore, hostSample, iface, put, sampleOf } from './support.js';

class FakeTicks implements TickSource {
  private readonly listeners = new Set<() => void>();
  onTick(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  fire(): void {
    for (const l of this.listeners) l();
  }
}

interface TickEvent {
  id: string;
  timestamp: string;
  containers: Array<{ id: string; name: string; derived: { cpuPercent: number; memoryUsageBytes: number } }>;
}

/** An EventSource-like reader: parsed `tick` events, in order. */
class SseClient {
  readonly events: TickEvent[] = [];
  /** `alerts` events, in order. */
  readonly alerts: AlertView[][] = [];
  /** Every event's type, in order. */
  readonly types: string[] = [];
  private buffer = '';
  private waiters: Array<() => void> = [];
  res!: IncomingMessage;

  static open(port: number, path: string): Promise<SseClient> {
    const c = new SseClient();
    return new Promise((resolve, reject) => {
      request({ port, path }, (res) => {
        c.res = res;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => c.feed(chunk));
        resolve(c);
      })
        .on('error', reject)
        .end();
    });
  }

  private feed(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const fields = new Map(block.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)] as const));
      if (fields.has('event')) this.types.push(fields.get('event')!);
      if (fields.get('event') === 'tick') this.events.push({ id: fields.get('id')!, ...(JSON.parse(fields.get('data')!) as Omit<TickEvent, 'id'>) });
      if (fields.get('event') === 'alerts') this.alerts.push(JSON.parse(fields.get('data')!) as AlertView[]);
    }
    for (const w of this.waiters.splice(0)) w();
  }

  async waitFor(n: number): Promise<TickEvent> {
    const deadline = Date.now() + 5000;
    while (this.events.length < n) {
      if (Date.now() > deadline) throw new Error(`only ${this.events.length} of ${n} events`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
    return this.events[n - 1];
  }

  close(): void {
    this.res.destroy();
  }
}

async function serve(store: Store, ticks: TickSource, maxBufferedBytes = 1 << 20): Promise<{ server: Server; hub: StreamHub; port: number }> {
  const router = new Router();
  const hub = registerStream(router, store, ticks, { maxBufferedBytes });
  const server = await startServer(router, '127.0.0.1:0');
  return { server, hub, port: (server.address() as AddressInfo).port };
}

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
  return new Promise((resolve, reject) => {
    request({ port, path, method }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    })
      .on('error', reject)
      .end();
  });
}

describe('GET /api/v1/stream', () => {
  const store = fixtureStore();
  const ticks = new FakeTicks();
  let s: Awaited<ReturnType<typeof serve>>;
  before(async () => (s = await serve(store, ticks)));
  after(() => {
    s.hub.close();
    s.server.close();
  });

  it('sends the current state at once, then one event per tick, running containers only', async () => {
    const c = await SseClient.open(s.port, '/api/v1/stream');
    assert.equal(c.res.headers['content-type'], 'text/event-stream; charset=utf-8');
    assert.equal(c.res.headers['cache-control'], 'no-cache');
    const first = await c.waitFor(1);
    assert.equal(first.id, String(T));
    assert.equal(first.timestamp, new Date(T).toISOString());
    assert.deepEqual(first.containers.map((x) => x.name), ['web', 'big']);
    assert.equal(first.containers[0].derived.memoryUsageBytes, 253952 - 8192);
    store.recordHost(hostSample(T + 1000));
    ticks.fire();
    const second = await c.waitFor(2);
    assert.equal(second.id, String(T + 1000));
    c.close();
  });

  it('filters by name, id or id prefix, and refuses unknown containers', async () => {
    const byName = await SseClient.open(s.port, '/api/v1/stream?container=web');
    assert.deepEqual((await byName.waitFor(1)).containers.map((x) => x.id), [ID_A]);
    const byPrefix = await SseClient.open(s.port, `/api/v1/stream?container=${ID_B.slice(0, 12)},web,web`);
    assert.deepEqual((await byPrefix.waitFor(1)).containers.map((x) => x.id).sort(), [ID_A, ID_B]);
    byName.close();
    byPrefix.close();
    const unknown = await get(s.port, '/api/v1/stream?container=web,nope');
    assert.equal(unknown.status, 404);
    assert.match(JSON.parse(unknown.body).error, /no such container: nope/);
    assert.equal((await get(s.port, '/api/v1/stream?container=,')).status, 400);
  });

  it('answers HEAD with the headers only', async () => {
    const r = await get(s.port, '/api/v1/stream', 'HEAD');
    assert.equal(r.status, 200);
    assert.equal(r.body, '');
  });

  it('forgets clients that go away', async () => {
    const c = await SseClient.open(s.port, '/api/v1/stream');
    await c.waitFor(1);
    const before = s.hub.counters.clients;
    c.close();
    for (let i = 0; i < 50 && s.hub.counters.clients === before; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(s.hub.counters.clients, before - 1);
  });
});

describe('a client that does not read', () => {
  it('is disconnected once its queue passes the cap, while a reading client keeps every event', async () => {
    // 2000 containers: each event is about a megabyte, so the kernel's socket buffers fill fast.
    const store = new Store(4, 60_000);
    for (let i = 0; i < 2000; i++) {
      const id = i.toString(16).padStart(64, '0');
      put(store, containerInfo(id, `c${i}`), sampleOf({ cpu: { usageNs: BigInt(i) * 1_000_000n }, memory: { usageBytes: BigInt(i) << 20n } }, T, { network: [iface('eth0', BigInt(i))] }));
    }
    store.recordHost(hostSample(T));
    const ticks = new FakeTicks();
    const cap = 256 * 1024;
    const { server, hub, port } = await serve(store, ticks, cap);
    try {
      const reader = await SseClient.open(port, '/api/v1/stream');
      await reader.waitFor(1);
      const eventBytes = Buffer.byteLength(JSON.stringify(reader.events[0]));
      assert.ok(eventBytes > cap, `event of ${eventBytes} bytes`);
      // A raw socket that sends its request and then never reads.
      const stalled = connect(port, '127.0.0.1');
      stalled.write('GET /api/v1/stream HTTP/1.1\r\nHost: x\r\n\r\n');
      stalled.pause();
      let fired = 0;
      while (hub.counters.dropped === 0 && fired < 200) {
        store.recordHost(hostSample(T + 1000 * ++fired));
        ticks.fire();
        // Let the reader drain what it was sent, as a real client does between ticks.
        await reader.waitFor(fired + 1);
      }
      assert.equal(hub.counters.dropped, 1, `still connected after ${fired} ticks`);
      assert.equal(hub.counters.clients, 1);
      assert.equal(reader.events.length, fired + 1);
      console.log(`stalled client dropped after ${fired} ticks of ${(eventBytes / 1024).toFixed(0)} KiB (cap ${cap / 1024} KiB in the process, the rest in kernel socket buffers)`);
      stalled.destroy();
      reader.close();
    } finally {
      hub.close();
      server.close();
    }
  });
});

describe('alerts: GET /api/v1/alerts entries with their container, and the stream\'s alerts event', () => {
  type EngineAlert = ReturnType<AlarmEngine['alerts']>[number];
  const alert = (alarm: string, labels: Record<string, string>, state: 'pending' | 'firing', value: number): EngineAlert => ({
    alarm, source: 'prometheus', alarmId: `${alarm}-${labels.id ?? labels.name}`, state, aodhState: state === 'firing' ? 'alarm' : 'ok', labels, annotations: {}, value,
    activeAt: new Date(T).toISOString(), firedAt: null, resolvedAt: null, since: null, reason: null,
  });
  let now: EngineAlert[] = [];
  const engine = { alerts: () => now };

  it('names each alert\'s container: by cgroup path (the id label), else by the name label, else null', () => {
    const store = fixtureStore();
    now = [
      alert('ByPath', { id: `/docker/${ID_A}`, name: 'not-its-name' }, 'firing', 1),
      alert('ByName', { name: 'big' }, 'firing', 2),
      alert('Nobody', { id: '/system.slice/x.service' }, 'pending', 3),
    ];
    const view = alertsView(engine, store);
    assert.deepEqual(view.map((a) => [a.alarm, a.container]), [['ByPath', { id: ID_A, name: 'web' }], ['ByName', { id: ID_B, name: 'big' }], ['Nobody', null]]);
    now = [];
    assert.deepEqual(alertsView(engine, store), []);
  });

  it('sends the alerts on connect, then after a tick only when they changed (state, value, or the set)', async () => {
    const store = fixtureStore();
    const ticks = new FakeTicks();
    const router = new Router();
    const hub = registerStream(router, store, ticks, { ...DEFAULT_STREAM_OPTIONS, alerts: () => alertsView(engine, store) });
    const server = await startServer(router, '127.0.0.1:0');
    const port = (server.address() as AddressInfo).port;
    let t = T;
    const tick = async (c: SseClient): Promise<void> => {
      store.recordHost(hostSample((t += 1000)));
      ticks.fire();
      await c.waitFor(c.events.length + 1);
    };
    try {
      now = [];
      const c = await SseClient.open(port, '/api/v1/stream?container=big');
      await c.waitFor(1);
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(c.types, ['tick', 'alerts']);
      assert.deepEqual(c.alerts.map((l) => l.length), [0]);
      await tick(c);
      assert.deepEqual(c.types.slice(2), ['tick'], 'nothing changed: no alerts event');
      now = [alert('CpuHigh', { id: `/docker/${ID_A}`, name: 'web' }, 'pending', 0.5)];
      await tick(c);
      await new Promise((r) => setTimeout(r, 50));
      // Every container's alerts, whatever the client's filter.
      assert.deepEqual(c.types.slice(3), ['tick', 'alerts']);
      assert.deepEqual(c.alerts[1].map((a) => [a.alarm, a.state, a.container?.name]), [['CpuHigh', 'pending', 'web']]);
      await tick(c);
      assert.deepEqual(c.types.slice(5), ['tick']);
      now = [alert('CpuHigh', { id: `/docker/${ID_A}`, name: 'web' }, 'firing', 0.5)];
      await tick(c);
      now = [alert('CpuHigh', { id: `/docker/${ID_A}`, name: 'web' }, 'firing', 0.75)];
      await tick(c);
      now = [];
      await tick(c);
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(c.types.slice(6), ['tick', 'alerts', 'tick', 'alerts', 'tick', 'alerts']);
      assert.deepEqual(c.alerts.slice(2).map((l) => l.map((a) => `${a.state} ${a.value}`)), [['firing 0.5'], ['firing 0.75'], []]);
      // A client that connects later gets the alerts of the last tick.
      now = [alert('Late', { name: 'web' }, 'firing', 9)];
      await tick(c);
      const late = await SseClient.open(port, '/api/v1/stream');
      await late.waitFor(1);
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(late.alerts.map((l) => l.map((a) => a.alarm)), [['Late']]);
      c.close();
      late.close();
    } finally {
      hub.close();
      server.close();
    }
  });
});
