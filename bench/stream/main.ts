/**
 * The cost of /api/v1/stream with many clients (see bench/stream/README.md). Prints figures;
 * asserts nothing.
 *
 *   node dist/bench/stream/main.js [inprocess|agent|all]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { Router, startServer } from '../../src/api/http.js';
import { StreamHub } from '../../src/api/stream.js';
import { recordTick, syntheticStore } from '../scrape/synthetic.js';
import { cpuNs, sleep, withBenchAgent } from '../scrape/host.js';
import type { ClientReport } from './clients.js';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 100);
const WINDOW_S = Number(process.env.BENCH_WINDOW ?? 20);
const AGENT_N = Number(process.env.BENCH_N ?? 100);
const CLIENTS_JS = fileURLToPath(new URL('./clients.js', import.meta.url));

/** K clients in their own process; resolves once all are connected. */
async function clients(url: string, k: number): Promise<{ stop: () => Promise<ClientReport> }> {
  const p = spawn(process.execPath, [CLIENTS_JS, url, String(k)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (c) => (out += c));
  await new Promise<void>((resolve, reject) => {
    p.stderr.on('data', (c) => String(c).includes('ready') && resolve());
    p.once('exit', (code) => reject(new Error(`clients exited with ${code}`)));
  });
  return {
    stop: async () => {
      p.stdin.end();
      await once(p, 'exit');
      return JSON.parse(out) as ClientReport;
    },
  };
}

/** The clients' side: connections, events each received (from connecting to the end), event size, drops. */
function describe(r: ClientReport): string {
  const events = r.events.reduce((a, b) => a + b, 0);
  return `${r.connected} clients, ${Math.min(...r.events)}..${Math.max(...r.events)} events each, ${(r.bytes / Math.max(1, events) / 1024).toFixed(1)} KiB per event, ${r.closed} closed by the server`;
}

/** This process serves a synthetic store; the cost is this process's CPU per tick. */
async function inProcess(n: number): Promise<void> {
  const store = syntheticStore(n);
  let listener: () => void = () => {};
  const hub = new StreamHub(store, { onTick: (l) => ((listener = l), () => {}) });
  const router = new Router();
  router.get(/^\/api\/v1\/stream$/, ({ req, res, url }) => hub.attach(req, res, url));
  const server = await startServer(router, '127.0.0.1:0');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/stream`;
  const measure = async (k: number): Promise<{ usPerTick: number; report?: ClientReport }> => {
    const c = k > 0 ? await clients(url, k) : undefined;
    let tickNs = 0;
    for (let t = 0; t < WINDOW_S; t++) {
      // The store's own work (new samples) is outside the measurement.
      recordTick(store, n, t + 2);
      const before = cpuNs(process.pid);
      listener();
      // Let the writes that did not fit in the socket buffers drain before the next tick.
      await sleep(1000);
      tickNs += cpuNs(process.pid) - before;
    }
    return { usPerTick: tickNs / WINDOW_S / 1000, report: await c?.stop() };
  };
  const idle = await measure(0);
  const busy = await measure(CLIENTS);
  console.log(
    `  ${String(n).padStart(5)} containers: ${((busy.usPerTick - idle.usPerTick) / 1000).toFixed(2)} ms CPU per tick for ${CLIENTS} streams ` +
      `(${((busy.usPerTick - idle.usPerTick) / CLIENTS).toFixed(0)} µs per stream per tick, idle process ${(idle.usPerTick / 1000).toFixed(2)} ms); ${describe(busy.report!)}`,
  );
  hub.close();
  server.close();
}

async function realAgent(): Promise<void> {
  console.log(`\n== real agent, ${AGENT_N} plain cgroups plus whatever else runs here; ${CLIENTS} streams from another process; ${WINDOW_S} s windows ==`);
  await withBenchAgent(AGENT_N, async (agent) => {
    const served = (await agent.health()).collector.containers;
    const window = async (k: number): Promise<{ percent: number; report?: ClientReport }> => {
      const c = k > 0 ? await clients(`${agent.url}/api/v1/stream`, k) : undefined;
      const t0 = Date.now();
      const cpu0 = cpuNs(agent.proc.pid!);
      await sleep(WINDOW_S * 1000);
      const percent = ((cpuNs(agent.proc.pid!) - cpu0) / 1e6 / (Date.now() - t0)) * 100;
      return { percent, report: await c?.stop() };
    };
    const none = await window(0);
    const many = await window(CLIENTS);
    const extraMsPerTick = ((many.percent - none.percent) / 100) * 1000;
    console.log(`  agent sampling ${served} containers: CPU ${none.percent.toFixed(1)} % with no stream, ${many.percent.toFixed(1)} % with ${CLIENTS}`);
    console.log(`  ${CLIENTS} streams cost ${extraMsPerTick.toFixed(1)} ms CPU per tick (${((extraMsPerTick * 1000) / CLIENTS).toFixed(0)} µs per stream); ${describe(many.report!)}`);
  });
}

const what = process.argv[2] ?? 'all';
if (what === 'inprocess' || what === 'all') {
  console.log(`\n== StreamHub in this process, synthetic store, ${CLIENTS} streams read by another process; CPU of this process per tick ==`);
  for (const n of [100, 1000]) await inProcess(n);
}
if (what === 'agent' || what === 'all') await realAgent();
