/**
 * The cost of /metrics at scale (see bench/scrape/README.md). Prints figures; asserts nothing.
 *
 *   node dist/bench/scrape/main.js [inprocess|agent|all]
 */
import { gzipSync } from 'node:zlib';
import { measureRender } from './inprocess.js';
import { cpuNs, sleep, tickTimes, withBenchAgent, type Agent } from './host.js';
import { quantile } from '../stats.js';

const N = Number(process.env.BENCH_N ?? 1000);
const WINDOW_S = Number(process.env.BENCH_WINDOW ?? 20);

const ms = (x: number): string => x.toFixed(1);
const mb = (bytes: number): string => (bytes / 1e6).toFixed(2);

function inProcess(): void {
  console.log(`\n== renderer in process (synthetic store; CPU ms of this process per render, GC included; 30 renders each) ==`);
  console.log('containers  series   body MB  render p50  p95     per container  gzip-1 ms  MB    gzip-6 ms  MB');
  for (const n of [100, N, 2 * N]) {
    const f = measureRender(n, 30);
    console.log(
      `${String(n).padStart(10)}  ${String(f.series).padStart(6)}  ${mb(f.bytes).padStart(7)}  ${ms(f.renderMs.median).padStart(10)}  ${ms(f.renderMs.p95).padStart(6)}  ` +
        `${((f.renderMs.median * 1000) / n).toFixed(1).padStart(10)} µs  ${ms(f.gzip1.ms).padStart(9)}  ${mb(f.gzip1.bytes).padStart(4)}  ${ms(f.gzip6.ms).padStart(9)}  ${mb(f.gzip6.bytes).padStart(4)}`,
    );
  }
}

interface Window {
  cpuPercent: number;
  gaps: number[];
  scrapes: Array<{ ms: number; bytes: number }>;
}

/**
 * WINDOW_S seconds of the agent: its CPU, the spacing of its ticks, and, when `scrape` is set,
 * one scrape a second at a random point of each second, as an unsynchronised Prometheus would.
 */
async function measureWindow(agent: Agent, scrape: { gzip: boolean } | undefined): Promise<Window> {
  const startMs = Date.now();
  const cpu0 = cpuNs(agent.proc.pid!);
  const scrapes: Window['scrapes'] = [];
  for (let s = 0; s < WINDOW_S; s++) {
    const secondEnd = startMs + (s + 1) * 1000;
    if (scrape) {
      await sleep(Math.random() * 900);
      const t0 = process.hrtime.bigint();
      const res = await fetch(`${agent.url}/metrics`, { headers: scrape.gzip ? { 'Accept-Encoding': 'gzip' } : { 'Accept-Encoding': 'identity' } });
      const body = Buffer.from(await res.arrayBuffer());
      scrapes.push({ ms: Number(process.hrtime.bigint() - t0) / 1e6, bytes: Number(res.headers.get('content-length') ?? body.length) });
    }
    await sleep(Math.max(0, secondEnd - Date.now()));
  }
  const cpuPercent = ((cpuNs(agent.proc.pid!) - cpu0) / 1e6 / (Date.now() - startMs)) * 100;
  const ticks = await tickTimes(agent, 'c-0', startMs);
  return { cpuPercent, gaps: ticks.slice(1).map((t, i) => t - ticks[i]), scrapes };
}

function describeGaps(gaps: number[]): string {
  const late = gaps.filter((g) => g > 1100).length;
  return `tick spacing p50 ${quantile(gaps, 0.5)} ms, max ${Math.max(...gaps)} ms, ${late} of ${gaps.length} over 1100 ms`;
}

async function realAgent(): Promise<void> {
  console.log(`\n== real agent, ${N} plain cgroups (one sleep each) plus whatever else runs on this host ==`);
  await withBenchAgent(N, async (agent) => {
    const served = (await agent.health()).collector.containers;
    const probe = await fetch(`${agent.url}/metrics`);
    const body = Buffer.from(await probe.arrayBuffer());
    const series = body.toString().split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
    console.log(`agent samples ${served} containers; /metrics ${mb(body.length)} MB, ${series} series, ${mb(gzipSync(body, { level: 1 }).length)} MB gzipped`);

    const idle = await measureWindow(agent, undefined);
    const plain = await measureWindow(agent, { gzip: false });
    const gz = await measureWindow(agent, { gzip: true });
    console.log(`${WINDOW_S} s windows; scrape latency measured by the client (request to last byte, loopback)`);
    for (const [label, w] of [['no scrapes', idle], ['1 scrape/s, identity', plain], ['1 scrape/s, gzip', gz]] as const) {
      const lat = w.scrapes.map((s) => s.ms);
      const scrapeText = lat.length > 0 ? `scrape p50 ${ms(quantile(lat, 0.5))} ms, p95 ${ms(quantile(lat, 0.95))} ms, max ${ms(Math.max(...lat))} ms (${mb(w.scrapes[0].bytes)} MB); ` : '';
      console.log(`  ${label.padEnd(22)} agent CPU ${w.cpuPercent.toFixed(1).padStart(5)} %; ${scrapeText}${describeGaps(w.gaps)}`);
    }
    console.log(`  CPU per scrape: identity ${(((plain.cpuPercent - idle.cpuPercent) / 100) * 1000).toFixed(0)} ms, gzip ${(((gz.cpuPercent - idle.cpuPercent) / 100) * 1000).toFixed(0)} ms (agent CPU above the no-scrape window, per second)`);
  });
}

const what = process.argv[2] ?? 'all';
if (what === 'inprocess' || what === 'all') inProcess();
if (what === 'agent' || what === 'all') await realAgent();
