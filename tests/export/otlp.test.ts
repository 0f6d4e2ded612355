/**
 * OTLP payloads read back with protobufjs and OpenTelemetry's .proto definitions (otlp-proto.ts):
 * one resource per running container with its attributes; the conventions' names, units, types
 * and attributes; every value equal to /metrics rendered from the same store (int64 exact past
 * 2^53, a u64 past int64 left out); protobuf and JSON payloads alike point for point; start
 * times from the container's start, a counter reset, a restart; partial_success counted; gzip.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { fixtureCgroup, fixtureStore, hostSample, put, sampleOf, containerInfo, iface, ID_A, ID_B, T } from '../api/support.js';
import { LabelRenderer, renderMetrics } from '../../src/api/prometheus.js';
import { ExportFeed, Exporter, Exports } from '../../src/export/exporter.js';
import { imageAttributes, OtlpSink, partialSuccess, type OtlpProtocol } from '../../src/export/otlp.js';
import { otlpHeaders } from '../../src/export/index.js';
import { PayloadQueue } from '../../src/export/queue.js';
import { createLogger } from '../../src/log.js';
import { Store } from '../../src/store/store.js';
import { decodeJson, decodeProtobuf, ExportResponse, flatten, type FlatPoint } from './otlp-proto.js';

const sink = (protocol: OtlpProtocol, url = 'http://127.0.0.1:1/v1/metrics', extra: Partial<ConstructorParameters<typeof OtlpSink>[0]> = {}): OtlpSink =>
  new OtlpSink({ name: 'otlp-0', target: { url: new URL(url), timeoutMs: 2000 }, protocol, headers: {}, gzip: false, userAgent: 'cstats/test', version: '9.9.9', host: 'node-7', ...extra });

/** A queued payload as the request the sink makes of it alone. */
function requestOf(payload: Uint8Array): any {
  const body = payload.subarray(1);
  return payload[0] === 0x4a ? decodeJson(`{"resourceMetrics":[${Buffer.from(body).toString('utf8')}]}`) : decodeProtobuf(body);
}

/** /metrics as family|container name|own labels → value text. */
function metricsValues(store: Store): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of renderMetrics(store, new LabelRenderer([])).body.toString('utf8').split('\n')) {
    const m = /^(container_[a-z_]+)\{(.*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2].matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    const own = ['interface', 'device', 'cpu'].filter((k) => labels[k] !== undefined).map((k) => `${k}=${labels[k]}`).join(',');
    out.set(`${m[1]}|${labels.name}|${own}`, m[3]);
  }
  return out;
}

/** The /metrics series an OTLP point stands for. */
function metricsKey(p: FlatPoint): string {
  const name = p.resource['container.name'];
  const a = p.attributes;
  switch (p.metric) {
    case 'container.cpu.time':
      return a['cpu.mode'] ? `container_cpu_${a['cpu.mode']}_seconds_total|${name}|` : `container_cpu_usage_seconds_total|${name}|cpu=total`;
    case 'container.memory.usage':
      return `container_memory_usage_bytes|${name}|`;
    case 'container.network.io':
      return `container_network_${a['network.io.direction']}_bytes_total|${name}|interface=${a['network.interface.name']}`;
    case 'container.disk.io':
      return `container_fs_${a['disk.io.direction'] === 'read' ? 'reads' : 'writes'}_bytes_total|${name}|device=${a['system.device']}`;
    default:
      throw new Error(`no /metrics series for ${p.metric}`);
  }
}

const NS = (ms: number): string => String(BigInt(ms) * 1_000_000n);

test('otlp: a resource per running container; the conventions names, units, types; values equal /metrics; protobuf and JSON alike', () => {
  const store = fixtureStore();
  const proto = sink('protobuf').encode(new ExportFeed(store).next(T + 500))!;
  const json = sink('json').encode(new ExportFeed(store).next(T + 500))!;
  assert.equal(proto.bytes[0], 0x50);
  assert.equal(json.bytes[0], 0x4a);
  const request = requestOf(proto.bytes);
  // JSON, read through the same definitions, is the same request.
  assert.deepEqual(requestOf(json.bytes), request);
  assert.equal(proto.samples, json.samples);

  // A and B (C exited, not reported, as on /metrics), each its own resource.
  assert.equal(request.resourceMetrics.length, 2);
  const points = flatten(request);
  assert.equal(points.length, proto.samples);
  const web = points.find((p) => p.resource['container.name'] === 'web')!.resource;
  assert.deepEqual(web, {
    'container.id': ID_A,
    'container.name': 'web',
    'container.image.name': 'nginx',
    'container.image.tags': ['1.25'],
    'container.runtime.name': 'docker',
    'host.name': 'node-7',
  });
  assert.ok(points.every((p) => p.scope === 'cstats/9.9.9'));

  const metrics = metricsValues(store);
  const byMetric = new Map<string, FlatPoint[]>();
  for (const p of points) byMetric.set(p.metric, [...(byMetric.get(p.metric) ?? []), p]);
  let compared = 0;
  for (const p of points) {
    assert.equal(p.time, NS(T), `${p.metric}: the sample's time`);
    if (p.metric === 'container.uptime') {
      // Started at 1_700_000_001_750 (containerInfo), sampled at T.
      assert.deepEqual([p.kind, p.unit, p.value, p.start], ['gauge', 's', (T - 1_700_000_001_750) / 1000, undefined]);
      continue;
    }
    const text = metrics.get(metricsKey(p));
    assert.ok(text !== undefined, `${metricsKey(p)} on /metrics`);
    if (typeof p.value === 'string') assert.equal(p.value, text, metricsKey(p));
    else assert.equal(p.value, Number(text), metricsKey(p));
    compared++;
  }
  // Every point but the two uptimes has its /metrics series: A 7 (CPU by mode, memory, eth0 both ways, vda both ways), B 2 (CPU by mode).
  assert.equal(compared, 9);
  const types = Object.fromEntries([...byMetric].map(([name, ps]) => [name, [ps[0].kind, ps[0].unit, ps[0].temporality, ps[0].monotonic, typeof ps[0].value]]));
  assert.deepEqual(types, {
    'container.uptime': ['gauge', 's', undefined, undefined, 'number'],
    'container.cpu.time': ['sum', 's', 2, true, 'number'],
    'container.memory.usage': ['gauge', 'By', undefined, undefined, 'string'],
    'container.network.io': ['sum', 'By', 2, true, 'string'],
    'container.disk.io': ['sum', 'By', 2, true, 'string'],
  });
  // Counters start when the container started.
  for (const p of points) if (p.kind === 'sum') assert.equal(p.start, NS(1_700_000_001_750));
  // CPU by mode, user and system, never beside the total.
  const cpuWeb = byMetric.get('container.cpu.time')!.filter((p) => p.resource['container.name'] === 'web');
  assert.deepEqual(cpuWeb.map((p) => p.attributes['cpu.mode']).sort(), ['system', 'user']);
  // lo is left out as on /metrics (cAdvisor's rule); eth0 both ways; vda read and write.
  const netWeb = byMetric.get('container.network.io')!.filter((p) => p.resource['container.name'] === 'web');
  assert.deepEqual(netWeb.map((p) => `${p.attributes['network.io.direction']} ${p.attributes['network.interface.name']} ${p.value}`).sort(), ['receive eth0 1000', 'transmit eth0 1004']);
  const diskWeb = byMetric.get('container.disk.io')!.filter((p) => p.resource['container.name'] === 'web');
  assert.deepEqual(diskWeb.map((p) => `${p.attributes['disk.io.direction']} ${p.attributes['system.device']}`).sort(), ['read /dev/vda', 'write /dev/vda']);
  // B: user time 2^53 + 1 ns in seconds (a double), eth0's counters past int64 left out, not rounded.
  const big = points.filter((p) => p.resource['container.name'] === 'big');
  assert.deepEqual(big.filter((p) => p.metric === 'container.network.io'), []);
  assert.equal(big.find((p) => p.attributes['cpu.mode'] === 'user')!.value, Number(metrics.get('container_cpu_user_seconds_total|big|')));
});

test('otlp: byte counters past 2^53 arrive exact (int64 as protobuf sfixed64 and as a JSON string)', () => {
  const store = new Store(10, 60_000);
  const huge = 9_007_199_254_740_993n; // 2^53 + 1: a double would make it ...992
  put(store, containerInfo(ID_A, 'web'), sampleOf({ memory: { usageBytes: huge } }, T, { network: [iface('eth0', huge)] }));
  for (const protocol of ['protobuf', 'json'] as const) {
    const points = flatten(requestOf(sink(protocol).encode(new ExportFeed(store).next(T))!.bytes));
    assert.equal(points.find((p) => p.metric === 'container.memory.usage')!.value, '9007199254740993', protocol);
    assert.equal(points.find((p) => p.attributes['network.io.direction'] === 'receive')!.value, '9007199254740993', protocol);
  }
});

test('otlp: start times: the container start, kept by a new agent (a new sink); a reset starts at the sample before it; a restart at the new start; plain cgroups none', () => {
  const store = new Store(10, 60_000);
  const info = containerInfo(ID_A, 'web');
  const s = sink('protobuf');
  const feed = new ExportFeed(store);
  const tickAt = (ms: number, rx: bigint, i = info): FlatPoint => {
    put(store, i, sampleOf(fixtureCgroup(), ms, { network: [iface('eth0', rx)] }));
    return flatten(requestOf(s.encode(feed.next(ms))!.bytes)).find((p) => p.attributes['network.io.direction'] === 'receive')!;
  };
  assert.equal(tickAt(T, 5000n).start, NS(info.startedMs!));
  assert.equal(tickAt(T + 1000, 6000n).start, NS(info.startedMs!));
  // The agent restarted: a new sink knows nothing but the container, and says the same.
  assert.equal(flatten(requestOf(sink('protobuf').encode(new ExportFeed(store).next(T + 1500))!.bytes)).find((p) => p.attributes['network.io.direction'] === 'receive')!.start, NS(info.startedMs!));
  // The interface's counter went back (recreated): it starts after the last sample that had the old one.
  const reset = tickAt(T + 2000, 10n);
  assert.deepEqual([reset.start, reset.value], [NS(T + 1000), '10']);
  assert.equal(tickAt(T + 3000, 20n).start, NS(T + 1000));
  // Started again: the new start.
  const again = { ...info, startedMs: T + 3500 };
  assert.equal(tickAt(T + 4000, 5n, again).start, NS(T + 3500));
  // A plain cgroup: its "start" is when the agent found it, so none is sent.
  const plain = containerInfo(ID_B, 'system.slice-x.scope', { runtime: 'cgroupfs', startedMs: T });
  put(store, plain, sampleOf({ cpu: { usageNs: 5n } }, T + 5000));
  const points = flatten(requestOf(s.encode(feed.next(T + 5000))!.bytes)).filter((p) => p.resource['container.name'] === plain.name);
  assert.deepEqual(points.map((p) => [p.metric, p.start]), [['container.cpu.time', undefined]]);
});

test('otlp: resource attributes of a Kubernetes pod; image names with registries, digests, no tag', () => {
  const store = new Store(10, 60_000);
  put(store, containerInfo(ID_A, 'k8s_app_web-0_shop_uid-1_0', { image: 'registry:5000/team/app:v2', pod: { name: 'web-0', namespace: 'shop', uid: 'uid-1', container: 'app', sandbox: false } }), sampleOf({ cpu: { usageNs: 1n } }, T));
  const r = flatten(requestOf(sink('json').encode(new ExportFeed(store).next(T))!.bytes))[0].resource;
  assert.deepEqual([r['k8s.pod.name'], r['k8s.namespace.name'], r['k8s.pod.uid'], r['k8s.container.name'], r['container.image.name'], r['container.image.tags']], ['web-0', 'shop', 'uid-1', 'app', 'registry:5000/team/app', ['v2']]);
  assert.deepEqual(imageAttributes('registry:5000/app'), [['container.image.name', 'registry:5000/app']]);
  assert.deepEqual(imageAttributes('app@sha256:abc'), [['container.image.name', 'app']]);
  assert.deepEqual(imageAttributes(''), []);
});

interface Received {
  headers: IncomingMessage['headers'];
  body: Buffer;
}

async function receiver(answer: (req: Received) => [number, Record<string, string>, Uint8Array | string]): Promise<{ url: string; got: Received[]; close(): void }> {
  const got: Received[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { headers: req.headers, body: Buffer.concat(chunks) };
      got.push(r);
      const [status, headers, body] = answer(r);
      res.writeHead(status, headers).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/metrics`, got, close: () => server.close() };
}

async function waitUntil(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('otlp send: batches of both encodings in order (a protocol changed across restarts), headers, gzip, partial_success counted as rejected', async (t) => {
  const partial = ExportResponse.encode(ExportResponse.fromObject({ partialSuccess: { rejectedDataPoints: 3, errorMessage: 'too old' } })).finish();
  const rx = await receiver((r) => (r.headers['content-type'] === 'application/json' ? [200, { 'Content-Type': 'application/json' }, '{"partialSuccess":{"rejectedDataPoints":"2","errorMessage":"bad unit"}}'] : [200, { 'Content-Type': 'application/x-protobuf' }, partial]));
  t.after(() => rx.close());
  const store = new Store(10, 60_000);
  const lines: string[] = [];
  const log = createLogger((l) => lines.push(l));
  const json = sink('json', rx.url);
  // The sender's own sink (its headers, its gzip) sends what the JSON one queued before.
  const proto = sink('protobuf', rx.url, { gzip: true, headers: otlpHeaders(['X-Scope-OrgID=tenant=1', 'Authorization=Basic dTpw']) });
  const queue = new PayloadQueue({ maxBytes: 1 << 20, log, name: 'otlp-0' });
  const feed = new ExportFeed(store);
  // Two ticks queued as JSON, two as protobuf, then one sender (the protobuf one) drains them all.
  for (let i = 0; i < 4; i++) {
    put(store, containerInfo(ID_A, 'web'), sampleOf(fixtureCgroup(), T + i * 1000));
    store.recordHost(hostSample(T + i * 1000));
    const p = (i < 2 ? json : proto).encode(feed.next(T + i * 1000))!;
    queue.push(p.bytes, p.samples, T + i * 1000);
  }
  const exporter = new Exporter(proto, queue, log, { minMs: 20, maxMs: 80, retryAfterMaxMs: 300 });
  const exports = new Exports(store, [exporter]);
  exports.start();
  t.after(() => exports.stop());
  await waitUntil('sent', () => queue.length === 0);
  assert.deepEqual(rx.got.map((r) => [r.headers['content-type'], r.headers['content-encoding']]), [
    ['application/json', 'gzip'],
    ['application/x-protobuf', 'gzip'],
  ]);
  for (const r of rx.got) assert.deepEqual([r.headers['x-scope-orgid'], r.headers.authorization, r.headers['user-agent']], ['tenant=1', 'Basic dTpw', 'cstats/test']);
  const first = decodeJson(gunzipSync(rx.got[0].body).toString('utf8'));
  const second = decodeProtobuf(gunzipSync(rx.got[1].body));
  assert.equal(first.resourceMetrics.length, 2);
  assert.equal(second.resourceMetrics.length, 2);
  assert.deepEqual(flatten(second).map((p) => p.time).filter((x, i, a) => a.indexOf(x) === i), [NS(T + 2000), NS(T + 3000)]);
  assert.equal(exporter.rejectedSamples, 5);
  assert.equal(exporter.sentSamples, flatten(first).length + flatten(second).length - 5);
  assert.match(lines.join('\n'), /refused 5 of its samples: bad unit; too old/);
  assert.deepEqual(partialSuccess({ bytes: Buffer.alloc(0), body: '', headers: {} }, 'protobuf'), undefined);
  assert.deepEqual(partialSuccess({ bytes: Buffer.alloc(0), body: '{}', headers: {} }, 'json'), undefined);
});
