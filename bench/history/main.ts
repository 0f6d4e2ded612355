/**
 * The raw-sample history on real samples: Docker containers (idle `sleep`, busy `--cpus 0.5`
 * loops) sampled by the real collector in this process; each sample, as it is recorded, is timed
 * through Store.record (derived history and raw history) and the naive peer, a structuredClone
 * copy. Then, on the samples
 * kept: bytes a sample, heap against kept copies, CPU of SampleHistory.record alone, and what
 * rebuilding costs. Prints figures; asserts nothing.
 *
 *   sudo node --expose-gc dist/bench/history/main.js
 */
import { execFileSync } from 'node:child_process';
import { Collector } from '../../src/collector/collector.js';
import { DockerClient } from '../../src/runtimes/docker-client.js';
import { DockerDiscoverer } from '../../src/runtimes/docker.js';
import { locationFromPid, readHostLayout } from '../../src/runtimes/layout.js';
import { createLogger } from '../../src/log.js';
import { Store } from '../../src/store/store.js';
import { SampleHistory } from '../../src/store/sample-history.js';
import { SAMPLE_SCHEMA } from '../../src/store/sample-schema.js';
import type { Derived, Sample } from '../../src/model.js';
import { median } from '../stats.js';

const LABEL = 'cstats.bench-history=1';
const IDLE = Number(process.env.BENCH_IDLE ?? 6);
const BUSY = Number(process.env.BENCH_BUSY ?? 2);
const TICKS = Number(process.env.BENCH_TICKS ?? 400);
const INTERVAL_MS = Number(process.env.BENCH_INTERVAL_MS ?? 100);
/** Kept a container: 2 minutes at 1 s, as the agent's default. */
const RAW = 121;

const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();
const cleanup = () => {
  const ids = docker('ps', '-aq', '--filter', `label=${LABEL}`);
  if (ids) docker('rm', '-f', ...ids.split('\n'));
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hr = () => process.hrtime.bigint();
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

interface Timings {
  recordUs: number[];
  withoutRawUs: number[];
  cloneUs: number[];
}

/** The peer without a raw history: a Store whose entries' raw history records nothing. */
const NO_RAW = { record() {} } as unknown as SampleHistory<Sample>;

class TimedStore extends Store {
  readonly samples = new Map<string, Sample[]>();
  readonly timings = new Map<string, Timings>();
  private readonly withoutRaw = new Store(900, 60_000, RAW);

  override record(id: string, sample: Sample, derived: Derived): void {
    let t = this.timings.get(id);
    if (!t) this.timings.set(id, (t = { recordUs: [], withoutRawUs: [], cloneUs: [] }));
    const peer = this.withoutRaw.get(id) ?? this.withoutRaw.upsert(this.get(id)!.info);
    peer.raw = NO_RAW;
    let t0 = hr();
    this.withoutRaw.record(id, sample, derived);
    t.withoutRawUs.push(Number(hr() - t0) / 1e3);
    t0 = hr();
    super.record(id, sample, derived);
    t.recordUs.push(Number(hr() - t0) / 1e3);
    t0 = hr();
    structuredClone(sample);
    t.cloneUs.push(Number(hr() - t0) / 1e3);
    const list = this.samples.get(id) ?? [];
    list.push(sample);
    this.samples.set(id, list);
  }
}

function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

async function main(): Promise<void> {
  cleanup();
  const busyIds = new Set<string>();
  try {
    for (let i = 0; i < IDLE; i++) docker('run', '-d', '--name', `cs-bench-hist-idle-${i}`, '--label', LABEL, 'busybox:local', 'sleep', '100000');
    for (let i = 0; i < BUSY; i++) {
      busyIds.add(docker('run', '-d', '--name', `cs-bench-hist-busy-${i}`, '--label', LABEL, '--cpus', '0.5', 'busybox:local', 'sh', '-c', 'while :; do :; done'));
    }
    const log = createLogger(undefined, true);
    const layout = readHostLayout();
    const discoverer = new DockerDiscoverer(new DockerClient('/var/run/docker.sock'), (pid) => locationFromPid(layout, pid), log);
    await discoverer.start();
    const store = new TimedStore(900, 60_000, RAW);
    const collector = new Collector(store, [discoverer], { intervalMs: INTERVAL_MS, fsIntervalMs: 10 * INTERVAL_MS }, log);
    const mine = new Set(docker('ps', '-q', '--no-trunc', '--filter', `label=${LABEL}`).split('\n'));
    console.log(`${IDLE} idle and ${BUSY} busy containers, ${TICKS} ticks every ${INTERVAL_MS} ms, the real collector in this process`);
    for (let i = 0; i < TICKS; i++) {
      collector.tick();
      await sleep(INTERVAL_MS);
    }
    collector.stop();
    discoverer.stop();

    const classes = { idle: [...mine].filter((id) => !busyIds.has(id)), busy: [...busyIds] };
    for (const [kind, ids] of Object.entries(classes)) {
      // The first half of the ticks warms the JIT up (a few thousand calls); the figures are over the rest.
      const pick = (f: (t: Timings) => number[]) => ids.flatMap((id) => f(store.timings.get(id)!).slice(Math.floor(TICKS / 2)));
      const record = pick((t) => t.recordUs);
      const withoutRaw = pick((t) => t.withoutRawUs);
      const clone = pick((t) => t.cloneUs);
      console.log(`\n${kind} (${ids.length} containers), µs a sample as recorded, median / mean:`);
      console.log(`  Store.record without raw history         ${median(withoutRaw).toFixed(2)} / ${mean(withoutRaw).toFixed(2)}`);
      console.log(`  Store.record (derived + raw history)     ${median(record).toFixed(2)} / ${mean(record).toFixed(2)}  (+${(median(record) - median(withoutRaw)).toFixed(2)})`);
      console.log(`  structuredClone(sample) (naive peer)     ${median(clone).toFixed(2)} / ${mean(clone).toFixed(2)}  (${(median(clone) / median(record)).toFixed(1)}x Store.record)`);

      // SampleHistory.record alone, on the kept samples, CPU time;
      // the first rounds only warm up.
      const replay = (rounds: number): number => {
        const c0 = process.cpuUsage();
        let n = 0;
        for (let r = 0; r < rounds; r++) {
          for (const id of ids) {
            const h = new SampleHistory<Sample>(SAMPLE_SCHEMA, RAW);
            for (const s of store.samples.get(id)!) h.record(s);
            n += store.samples.get(id)!.length;
          }
        }
        const c = process.cpuUsage(c0);
        return (c.user + c.system) / n;
      };
      replay(10);
      console.log(`  SampleHistory.record alone, CPU          ${replay(20).toFixed(2)} (replayed 20 times after 10 to warm up)`);

      // Bytes: every sample recorded into one history per container, whole chunks counted.
      let bytes = 0;
      let samples = 0;
      const kept: SampleHistory<Sample>[] = [];
      for (const id of ids) {
        const all = store.samples.get(id)!;
        const whole = all.slice(0, all.length - (all.length % 64));
        const h = new SampleHistory<Sample>(SAMPLE_SCHEMA, whole.length);
        for (const s of whole) h.record(s);
        bytes += h.bytes;
        samples += whole.length;
        kept.push(h);
      }
      console.log(`  encoded bytes a sample (keyframes in)    ${(bytes / samples).toFixed(1)}`);

      const histories = ids.map((id) => {
        const h = new SampleHistory<Sample>(SAMPLE_SCHEMA, RAW);
        for (const s of store.samples.get(id)!) h.record(s);
        return h;
      });

      // Rebuilding, as an API asks: the newest 64 (v2 default) and the whole window.
      const t0 = hr();
      for (const h of histories) h.read({ count: 64 });
      const t1 = hr();
      for (const h of histories) h.read();
      const t2 = hr();
      console.log(`  rebuild, ms a container                  64 points ${(Number(t1 - t0) / 1e6 / ids.length).toFixed(2)}, all ${histories[0].length} ${(Number(t2 - t1) / 1e6 / ids.length).toFixed(2)}`);
      void kept.length;
    }

    // Heap: every container's window, REPLICAS times over (a few containers' windows are below
    // the collector's noise), as raw histories and as structuredClone copies.
    const REPLICAS = 25;
    const all = Array.from({ length: REPLICAS }, () => [...mine]).flat();
    const h0 = heapUsed();
    const histories = all.map((id) => {
      const h = new SampleHistory<Sample>(SAMPLE_SCHEMA, RAW);
      for (const s of store.samples.get(id)!) h.record(s);
      return h;
    });
    const h1 = heapUsed();
    const copies = all.map((id) => store.samples.get(id)!.slice(-RAW).map((s) => structuredClone(s)));
    const h2 = heapUsed();
    const windowSamples = histories.reduce((sum, h) => sum + h.length, 0);
    const encoded = histories.reduce((sum, h) => sum + h.bytes, 0);
    console.log(
      `\nheap for the ${RAW}-sample window of ${mine.size} containers × ${REPLICAS}: raw history ${((h1 - h0) / windowSamples).toFixed(0)} B a sample ` +
        `(${(encoded / windowSamples).toFixed(0)} of them encoded bytes), structuredClone copies ${((h2 - h1) / windowSamples).toFixed(0)} B a sample` +
        `${(globalThis as { gc?: unknown }).gc ? '' : ' (run node with --expose-gc for steadier figures)'}`,
    );
    void copies.length;
  } finally {
    cleanup();
  }
}

await main();
