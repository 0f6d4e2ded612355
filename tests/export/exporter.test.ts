/**
 * The sender against a scripted receiver (a real HTTP server): the spec's headers and basic
 * auth; 503 with Retry-After and 429 retried (counted) and nothing lost; a batch refused (400) is
 * sent again a payload at a time, and only the payload refused alone is dropped (counted); oldest first; then TLS with the receiver's CA, a bearer token, and without the
 * CA (refused, retried) or with verification off.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../src/log.js';
import { ExportFeed, Exporter, Exports } from '../../src/export/exporter.js';
import { compress } from 'snappyjs';
import { randomBytes } from 'node:crypto';
import { PayloadQueue } from '../../src/export/queue.js';
import { RemoteWriteSink } from '../../src/export/remote-write.js';
import { httpTarget, parseRetryAfter, type HttpTarget } from '../../src/export/http.js';
import { fixtureCgroup, hostSample, put, sampleOf, containerInfo, ID_A, T } from '../api/support.js';
import { Store } from '../../src/store/store.js';
import { decodeWriteRequest } from './support.js';

interface Received {
  headers: IncomingMessage['headers'];
  body: Buffer;
}

function listen(server: ReturnType<typeof createServer>): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function handler(answers: Array<[number, Record<string, string>?]>, got: Received[]) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks) });
      const [status, headers] = answers.shift() ?? [204];
      res.writeHead(status, headers).end(status >= 400 ? `answer ${status}` : '');
    });
  };
}

function waitUntil(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (cond()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(check, 10);
    };
    check();
  });
}

/** A store with one container sampled at `ms`, every call a new sample. */
function sampled(store: Store, ms: number): void {
  put(store, containerInfo(ID_A, 'web'), sampleOf(fixtureCgroup(), ms));
  store.recordHost(hostSample(ms));
}

function exporterFor(target: HttpTarget, store: Store, maxBatch = 3): Exports {
  const sink = new RemoteWriteSink({ name: 'remote_write-0', target, labelAllowlist: [], extraLabels: { host: 'h' }, userAgent: 'cstats/test', maxBatch });
  const queue = new PayloadQueue({ maxBytes: 1 << 20, log: createLogger(() => {}), name: sink.name });
  return new Exports(store, [new Exporter(sink, queue, createLogger(() => {}), { minMs: 20, maxMs: 80, retryAfterMaxMs: 300 })]);
}

test('exporter: headers, basic auth; 503 + Retry-After and 429 retried; a batch refused is sent a payload at a time and only a payload refused alone dropped and counted; oldest first', async () => {
  const got: Received[] = [];
  const server = createServer(handler([[503, { 'Retry-After': '0' }], [429], [204], [400], [204], [400], [204], [204]], got));
  const port = await listen(server);
  const store = new Store(10, 60_000);
  const exports = exporterFor(httpTarget({ url: `http://127.0.0.1:${port}/api/v1/write`, username: 'u', password: 'p:w', timeoutMs: 2000 }), store);
  const x = exports.exporters[0];
  try {
    // Nine ticks queued before the sender starts: batches of three.
    for (let i = 0; i < 9; i++) {
      sampled(store, T + i * 1000);
      exports.tick(T + i * 1000 + 100);
    }
    const perTick = x.samples / 9;
    exports.start();
    await waitUntil('the queue drained', () => x.queue.length === 0);
    assert.equal(got.length, 8);
    for (const r of got) {
      assert.equal(r.headers['content-encoding'], 'snappy');
      assert.equal(r.headers['content-type'], 'application/x-protobuf');
      assert.equal(r.headers['x-prometheus-remote-write-version'], '0.1.0');
      assert.equal(r.headers['user-agent'], 'cstats/test');
      assert.equal(r.headers.authorization, `Basic ${Buffer.from('u:p:w').toString('base64')}`);
    }
    // The first batch three times (503, 429, 204), then the second (400), then its three ticks
    // alone (204, 400: dropped, 204), then the third batch.
    assert.deepEqual(got[0].body, got[1].body);
    assert.deepEqual(got[1].body, got[2].body);
    const times = (r: Received): number[] => [...new Set(decodeWriteRequest(r.body).map((s) => s.samples[0].timestamp))];
    const at = (...ticks: number[]): number[] => ticks.map((i) => T + i * 1000);
    assert.deepEqual(got.slice(2).map(times), [at(0, 1, 2), at(3, 4, 5), at(3), at(4), at(5), at(6, 7, 8)]);
    assert.equal(x.retries, 2);
    assert.equal(x.rejectedSamples, perTick);
    assert.equal(x.sentSamples, 8 * perTick);
    assert.match(x.lastError!.message, /HTTP 400: answer 400/);
    const text = exports.metricsText();
    assert.match(text, new RegExp(`cstats_export_samples_total\\{sink="remote_write-0"\\} ${9 * perTick}\\n`));
    assert.match(text, new RegExp(`cstats_export_samples_sent_total\\{sink="remote_write-0"\\} ${8 * perTick}\\n`));
    assert.match(text, new RegExp(`cstats_export_samples_dropped_total\\{sink="remote_write-0",reason="rejected"\\} ${perTick}\\n`));
    assert.match(text, /cstats_export_samples_dropped_total\{sink="remote_write-0",reason="queue_full"\} 0\n/);
    assert.match(text, /cstats_export_retries_total\{sink="remote_write-0"\} 2\n/);
    assert.match(text, /cstats_export_queue_bytes\{sink="remote_write-0"\} 0\n/);
    // Taken: the first batch (after its retries), ticks 3 and 5 alone, the third batch.
    assert.match(text, /cstats_export_batches_sent_total\{sink="remote_write-0"\} 4\n/);
    const seconds = Number(/cstats_export_send_seconds_total\{sink="remote_write-0"\} (\S+)\n/.exec(text)?.[1]);
    assert.ok(seconds > 0 && seconds < 10, `send seconds ${seconds}`);
    const h = exports.health()['remote_write-0'];
    assert.equal(h.queuedBytes, 0);
    assert.equal(h.oldestQueuedAgeSeconds, null);
    assert.equal(h.dropped.rejected, perTick);
  } finally {
    exports.stop();
    server.close();
  }
});

test('exporter: a receiver down (connection refused) keeps everything queued, counted as retries, then drains it', async () => {
  const got: Received[] = [];
  const server = createServer(handler([], got));
  const port = await listen(server);
  server.close();
  const store = new Store(10, 60_000);
  const exports = exporterFor(httpTarget({ url: `http://127.0.0.1:${port}/w`, timeoutMs: 2000 }), store, 100);
  const x = exports.exporters[0];
  try {
    exports.start();
    for (let i = 0; i < 5; i++) {
      sampled(store, T + i * 1000);
      exports.tick(T + i * 1000 + 100);
    }
    await waitUntil('two retries', () => x.retries >= 2);
    assert.equal(x.queue.length, 5);
    assert.match(x.lastError!.message, /ECONNREFUSED/);
    const h = exports.health()['remote_write-0'];
    assert.ok(h.oldestQueuedAgeSeconds! > 0 && h.queuedBytes > 0);
    server.listen(port, '127.0.0.1');
    await waitUntil('the queue drained', () => x.queue.length === 0);
    assert.equal(got.length, 1);
    assert.equal(x.sentSamples, x.samples);
  } finally {
    exports.stop();
    server.close();
  }
});

test('http: TLS with the receiver CA and a bearer token; without the CA refused (retryable); verification off', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cstats-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', `${dir}/key.pem`, '-out', `${dir}/cert.pem`], { stdio: 'ignore' });
  const got: Received[] = [];
  const server = createHttpsServer({ cert: readFileSync(`${dir}/cert.pem`), key: readFileSync(`${dir}/key.pem`) }, handler([], got));
  const port = await listen(server as unknown as ReturnType<typeof createServer>);
  t.after(() => server.close());
  const url = `https://127.0.0.1:${port}/api/v1/write`;
  const store = new Store(10, 60_000);
  sampled(store, T);
  const send = (target: HttpTarget) => new RemoteWriteSink({ name: 'remote_write-0', target, labelAllowlist: [], extraLabels: {}, userAgent: 'u' }).send([Buffer.from([])]);
  await send(httpTarget({ url, caFile: `${dir}/cert.pem`, bearerToken: 's3cret', timeoutMs: 2000 }));
  assert.equal(got[0].headers.authorization, 'Bearer s3cret');
  await assert.rejects(send(httpTarget({ url, timeoutMs: 2000 })), (err: { retryable: boolean; message: string }) => err.retryable && /self.signed/i.test(err.message));
  await send(httpTarget({ url, insecure: true, timeoutMs: 2000 }));
  assert.equal(got.length, 2);
  assert.throws(() => httpTarget({ url, caFile: `${dir}/none.pem`, timeoutMs: 1 }), /CA file: cannot read .*none\.pem/);
});

test('Retry-After: seconds or an HTTP date', () => {
  assert.equal(parseRetryAfter('7'), 7000);
  assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')), 30_000);
  assert.equal(parseRetryAfter('soon'), undefined);
  assert.equal(parseRetryAfter(undefined), undefined);
});

test('remote_write send: small payloads merged into one request, large ones (past 256 KiB) one request each', async (t) => {
  const got: Received[] = [];
  const server = createServer(handler([], got));
  const port = await listen(server);
  t.after(() => server.close());
  const s = new RemoteWriteSink({ name: 'remote_write-0', target: httpTarget({ url: `http://127.0.0.1:${port}/w`, timeoutMs: 2000 }), labelAllowlist: [], extraLabels: {}, userAgent: 'u' });
  const store = new Store(10, 60_000);
  const feed = new ExportFeed(store);
  const small: Uint8Array[] = [];
  for (let i = 0; i < 3; i++) {
    sampled(store, T + i * 1000);
    small.push(s.encode(feed.next(T + i * 1000 + 100))!.bytes);
  }
  await s.send(small);
  assert.equal(got.length, 1);
  assert.equal(decodeWriteRequest(got[0].body).length, small.reduce((n, p) => n + decodeWriteRequest(p).length, 0));
  // Incompressible payloads of 200 KiB: each alone, byte for byte.
  const large = [1, 2, 3].map(() => compress(randomBytes(200 << 10)));
  await s.send(large);
  assert.equal(got.length, 4);
  assert.deepEqual(got.slice(1).map((r) => Buffer.compare(r.body, Buffer.from(large[got.indexOf(r) - 1]))), [0, 0, 0]);
});
