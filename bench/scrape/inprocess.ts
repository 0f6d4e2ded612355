/**
 * The renderer alone, in this process: a synthetic store of N containers, /metrics rendered from
 * scratch each time (as on the first scrape after a tick), then gzipped at levels 1 and 6.
 */
import { gzipSync } from 'node:zlib';
import { LabelRenderer, renderMetrics } from '../../src/api/prometheus.js';
import { recordTick, syntheticStore } from './synthetic.js';
import { quantile } from '../stats.js';

export interface RenderFigures {
  containers: number;
  series: number;
  bytes: number;
  renderMs: { median: number; p95: number; max: number };
  gzip1: { ms: number; bytes: number };
  gzip6: { ms: number; bytes: number };
}

/** CPU time of this process (all threads, GC included) spent in fn, ms: steadier than wall time on a shared host. */
function timed<T>(fn: () => T): [T, number] {
  const before = process.cpuUsage();
  const v = fn();
  const used = process.cpuUsage(before);
  return [v, (used.user + used.system) / 1000];
}

export function measureRender(n: number, iterations: number, allowlist: string[] = []): RenderFigures {
  const store = syntheticStore(n);
  const times: number[] = [];
  let rendered: { buffer: Buffer; body: Buffer } | undefined;
  // As in the agent, the label cache lives as long as the containers' ContainerInfo objects.
  const labels = new LabelRenderer(allowlist);
  for (let i = 0; i < iterations + 5; i++) {
    // New counters every time: no series carries over from a previous render.
    recordTick(store, n, i + 2);
    // As the endpoint does once no response is sending it, the previous body's buffer is reused.
    const [r, ms] = timed(() => renderMetrics(store, labels, rendered?.buffer));
    if (i >= 5) times.push(ms);
    rendered = r;
  }
  const body = rendered!.body;
  const [g1, ms1] = timed(() => gzipSync(body, { level: 1 }));
  const [g6, ms6] = timed(() => gzipSync(body, { level: 6 }));
  return {
    containers: n,
    series: body.toString().split('\n').filter((l) => l !== '' && !l.startsWith('#')).length,
    bytes: body.length,
    renderMs: { median: quantile(times, 0.5), p95: quantile(times, 0.95), max: Math.max(...times) },
    gzip1: { ms: ms1, bytes: g1.length },
    gzip6: { ms: ms6, bytes: g6.length },
  };
}
