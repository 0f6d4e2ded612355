/**
 * remote_write encoding alone, in this process: N synthetic containers (bench/scrape's store),
 * one tick each time with new counters, encoded as the agent does on its sampling thread
 * (protobuf + snappy) and queued on disk (one write(2)); the merge of 10 queued ticks into one
 * request as the sender does. CPU ms per tick, payload bytes, samples.
 *
 *   npm run build && node dist/bench/export/encode.js [N ...]   (default 100 1000)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/log.js';
import { ExportFeed } from '../../src/export/exporter.js';
import { PayloadQueue } from '../../src/export/queue.js';
import { mergeWriteRequests, RemoteWriteSink } from '../../src/export/remote-write.js';
import { quantile } from '../scrape/inprocess.js';
import { recordTick, syntheticStore } from '../scrape/synthetic.js';

function cpuMs<T>(fn: () => T): [T, number] {
  const before = process.cpuUsage();
  const v = fn();
  const used = process.cpuUsage(before);
  return [v, (used.user + used.system) / 1000];
}

const counts = process.argv.slice(2).map(Number);
for (const n of counts.length > 0 ? counts : [100, 1000]) {
  const dir = mkdtempSync(join(tmpdir(), 'cstats-bench-export-'));
  const store = syntheticStore(n);
  const feed = new ExportFeed(store);
  const sink = new RemoteWriteSink({
    name: 'remote_write-0',
    target: { url: new URL('http://127.0.0.1:1/'), timeoutMs: 1000 },
    labelAllowlist: [],
    extraLabels: { host: 'bench' },
    userAgent: 'cstats/bench',
  });
  const queue = new PayloadQueue({ dir, maxBytes: 1 << 30, log: createLogger(() => {}), name: 'bench' });
  const times: number[] = [];
  let bytes = 0;
  let samples = 0;
  const iterations = 30;
  for (let i = 0; i < iterations + 3; i++) {
    recordTick(store, n, i + 2);
    const [p, ms] = cpuMs(() => {
      const payload = sink.encode(feed.next(Date.now()))!;
      queue.push(payload.bytes, payload.samples, Date.now());
      return payload;
    });
    // The first ticks encode every label set: the steady state is what follows.
    if (i < 3) continue;
    times.push(ms);
    bytes = p.bytes.length;
    samples = p.samples;
  }
  const batch = queue.peek(10)!;
  const [merged, mergeMs] = cpuMs(() => mergeWriteRequests(batch.payloads));
  queue.close();
  rmSync(dir, { recursive: true, force: true });
  console.log(
    `${n} containers: ${samples} samples a tick, ${(bytes / 1024).toFixed(0)} KiB compressed; encode+queue CPU median ${quantile(times, 0.5).toFixed(1)} ms, p95 ${quantile(times, 0.95).toFixed(1)} ms a tick ` +
      `(${(quantile(times, 0.5) / 10).toFixed(2)} % of a core at 1 s); merge of 10 ticks into one request ${mergeMs.toFixed(0)} ms, ${(merged.length / 1024).toFixed(0)} KiB`,
  );
}
