/**
 * remote_write encoding alone, in this process: N synthetic containers (bench/scrape's store),
 * one tick each time with new counters, encoded as the agent does on its sampling thread
 * (protobuf + snappy) and queued on disk (one write(2)); the merge of 10 queued ticks into one
 * request as the sender does; then the same containers through the OTLP sink, protobuf and JSON.
 * CPU ms per tick, payload bytes, samples.
 *
 *   npm run build && node dist/bench/export/encode.js [N ...]   (default 100 1000)
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/log.js';
import { ExportFeed } from '../../src/export/exporter.js';
import { PayloadQueue } from '../../src/export/queue.js';
import { OtlpSink } from '../../src/export/otlp.js';
import { mergeWriteRequests, RemoteWriteSink } from '../../src/export/remote-write.js';
import type { Sink } from '../../src/export/sink.js';
import { quantile } from '../stats.js';
import { recordTick, syntheticStore } from '../scrape/synthetic.js';

function cpuMs<T>(fn: () => T): [T, number] {
  const before = process.cpuUsage();
  const v = fn();
  const used = process.cpuUsage(before);
  return [v, (used.user + used.system) / 1000];
}

/** Encodes and queues `iterations` ticks of `n` containers with `sink`; CPU ms of each after the first three (which encode every label set). */
function perTick(n: number, sink: Sink, queue: PayloadQueue, iterations = 30): { times: number[]; bytes: number; samples: number } {
  const store = syntheticStore(n);
  const feed = new ExportFeed(store);
  const times: number[] = [];
  let bytes = 0;
  let samples = 0;
  for (let i = 0; i < iterations + 3; i++) {
    recordTick(store, n, i + 2);
    const [p, ms] = cpuMs(() => {
      const payload = sink.encode(feed.next(Date.now()))!;
      queue.push(payload.bytes, payload.samples, Date.now());
      return payload;
    });
    if (i < 3) continue;
    times.push(ms);
    bytes = p.bytes.length;
    samples = p.samples;
  }
  return { times, bytes, samples };
}

const cost = (times: number[]): string =>
  `encode+queue CPU median ${quantile(times, 0.5).toFixed(1)} ms, p95 ${quantile(times, 0.95).toFixed(1)} ms a tick (${(quantile(times, 0.5) / 10).toFixed(2)} % of a core at 1 s)`;

const counts = process.argv.slice(2).map(Number);
for (const n of counts.length > 0 ? counts : [100, 1000]) {
  const dir = mkdtempSync(join(tmpdir(), 'cstats-bench-export-'));
  const target = { url: new URL('http://127.0.0.1:1/'), timeoutMs: 1000 };
  const sink = new RemoteWriteSink({ name: 'remote_write-0', target, labelAllowlist: [], extraLabels: { host: 'bench' }, userAgent: 'cstats/bench' });
  const queue = new PayloadQueue({ dir, maxBytes: 1 << 30, log: createLogger(() => {}), name: 'bench' });
  const { times, bytes, samples } = perTick(n, sink, queue);
  const batch = queue.peek(10)!;
  const [merged, mergeMs] = cpuMs(() => mergeWriteRequests(batch.payloads));
  queue.close();
  console.log(
    `${n} containers: ${samples} samples a tick, ${(bytes / 1024).toFixed(0)} KiB compressed; ${cost(times)}; merge of 10 ticks into one request ${mergeMs.toFixed(0)} ms, ${(merged.length / 1024).toFixed(0)} KiB`,
  );
  // OTLP (otlp.ts): the same containers as OpenTelemetry's container metrics, each encoding.
  for (const protocol of ['protobuf', 'json'] as const) {
    const otlp = new OtlpSink({ name: 'otlp-0', target, protocol, headers: {}, gzip: false, userAgent: 'cstats/bench', version: 'bench', host: 'bench' });
    mkdirSync(join(dir, protocol));
    const q = new PayloadQueue({ dir: join(dir, protocol), maxBytes: 1 << 30, log: createLogger(() => {}), name: 'bench-otlp' });
    const o = perTick(n, otlp, q);
    q.close();
    console.log(`${n} containers, OTLP ${protocol}: ${o.samples} data points a tick, ${(o.bytes / 1024).toFixed(0)} KiB; ${cost(o.times)}`);
  }
  rmSync(dir, { recursive: true, force: true });
}
