/**
 * bench/alarms: what the alarm engine costs and how fast it acts, beside Prometheus.
 *
 *   node dist/bench/alarms/main.js            (needs Debian's prometheus; about 2 minutes)
 *
 * 1. Latency: a container's memory crosses a threshold in tick k; the state change and the
 *    webhook request (a receiver in this process, over loopback) are timed from the moment the
 *    tick's samples are in the store. 20 trials.
 * 2. Cost: 1000 Prometheus alerting rules over 100 containers (the synthetic store of
 *    bench/scrape: everything a real v1 sample carries), ticking every second in real time for
 *    BENCH_SECONDS (60). The engine's CPU per evaluation (feeding its series from the samples
 *    included) is measured in this process; at the same time Prometheus 2.42 scrapes the same
 *    store's /metrics (the agent's renderer) every second and evaluates the same rule file every
 *    second; its process CPU over the window and its own rule-group durations are printed beside.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { syntheticStore, recordTick, idOf } from '../scrape/synthetic.js';
import { AlarmEngine } from '../../src/alarms/engine.js';
import { Dispatcher } from '../../src/alarms/actions.js';
import { compileRuleSet } from '../../src/alarms/rulefile.js';
import { createLogger } from '../../src/log.js';
import { MetricsEndpoint } from '../../src/api/prometheus.js';
import { quantile } from '../stats.js';

const N = 100;
const RULES = 1000;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const log = createLogger(() => undefined);

function ruleFile(): unknown {
  const rules = [];
  for (let k = 0; k < RULES; k++) {
    const c = k % N;
    switch (k % 4) {
      case 0:
        rules.push({ alert: `CpuHigh${k}`, expr: `rate(container_cpu_usage_seconds_total{name="app-${c}-web"}[1m]) > ${0.1 + (k % 7) / 10}`, for: '30s', labels: { severity: 'warning' }, annotations: { summary: '{{ $labels.name }} uses {{ $value }} cores' } });
        break;
      case 1:
        rules.push({ alert: `MemOfLimit${k}`, expr: `container_memory_working_set_bytes{image=~"registry.example.com/team/service-${k % 20}:.*"} / container_spec_memory_limit_bytes > 0.${(k % 9) + 1}` });
        break;
      case 2:
        rules.push({ alert: `NetByProject${k}`, expr: `sum by (name) (rate(container_network_receive_bytes_total{name=~"app-${c % 10}.*"}[30s])) > ${k * 10}`, for: '10s' });
        break;
      default:
        rules.push({ alert: `MemAvg${k}`, expr: `avg_over_time(container_memory_usage_bytes{name="app-${c}-web"}[2m]) > ${(k % 50) * 1e6}`, for: '1m' });
    }
  }
  return { groups: [{ name: 'bench', rules }] };
}

async function latency(): Promise<void> {
  const arrivals: number[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      arrivals.push(performance.now());
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  const store = syntheticStore(N);
  const engine = new AlarmEngine({
    store,
    log,
    intervalMs: 1000,
    labelAllowlist: [],
    rules: compileRuleSet({
      actions: { hook: { type: 'webhook', url } },
      alarms: [{ name: 'mem', metric: 'memory_usage_bytes', selector: { name: 'app-7-web' }, aggregation: 'last', window: '1s', comparison: 'gt', threshold: 1e9, actions: { alarm: ['hook'] } }],
    }),
    dispatcher: new Dispatcher(log),
  });
  const stateMs: number[] = [];
  const hookMs: number[] = [];
  let tick = 2;
  // Trial 0 is cold (first use of the code paths and of the connection): printed on its own.
  for (let trial = 0; trial <= 20; trial++) {
    // Under, then over: the crossing sample is stored, then the engine evaluates (as after a collector tick).
    for (const over of [false, true]) {
      recordTick(store, N, tick);
      const e = store.get(idOf(7))!;
      e.derived!.memoryUsageBytes = over ? 2e9 : 1e6;
      const stored = performance.now();
      const before = arrivals.length;
      engine.evaluate(1_700_000_100_000 + tick * 1000);
      tick++;
      if (!over) continue;
      const inst = engine.get('mem')!.instances.find((i) => i.labels.name === 'app-7-web')!;
      if (inst.state !== 'firing') throw new Error(`not firing after the crossing tick: ${inst.state}`);
      stateMs.push(performance.now() - stored);
      while (arrivals.length === before) await new Promise((r) => setTimeout(r, 1));
      hookMs.push(arrivals[before] - stored);
    }
  }
  server.close();
  const q = (xs: number[], p: number): string => quantile(xs, p).toFixed(2);
  const cold = { state: stateMs.shift()!, hook: hookMs.shift()! };
  console.log('== latency: crossing sample stored -> state change -> webhook request (20 warm trials + 1 cold, loopback) ==');
  console.log(`state change: in the same tick's evaluation (0 ticks after the window ends); ms after the sample was stored: median ${q(stateMs, 0.5)}, max ${q(stateMs, 1)} (cold: ${cold.state.toFixed(2)})`);
  console.log(`webhook request received: ms after the sample was stored: median ${q(hookMs, 0.5)}, max ${q(hookMs, 1)} (cold: ${cold.hook.toFixed(2)})`);
}

function procCpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function cost(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cs13-bench-'));
  const store = syntheticStore(N);
  const doc = ruleFile();
  const rules = compileRuleSet(doc);
  if (rules.errors.length > 0) throw new Error(rules.errors.join('\n'));
  const engine = new AlarmEngine({ store, log, intervalMs: 1000, labelAllowlist: [], rules, dispatcher: new Dispatcher(log) });
  const endpoint = new MetricsEndpoint(store, { labelAllowlist: [], machine: { machineId: 'bench', systemUuid: 'bench', bootId: 'bench' } });
  const server = createServer((_req, res) => void endpoint.serve(res, false));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const target = `127.0.0.1:${(server.address() as { port: number }).port}`;
  writeFileSync(join(dir, 'rules.yml'), stringify(doc));
  writeFileSync(join(dir, 'prometheus.yml'), stringify({ global: { scrape_interval: '1s', evaluation_interval: '1s' }, rule_files: [join(dir, 'rules.yml')], scrape_configs: [{ job_name: 'cstats', static_configs: [{ targets: [target] }] }] }));
  const promPort = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const prom = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: 'ignore' });
  let tick = 2;
  const evalMs: number[] = [];
  const step = (): void => {
    const k = tick++;
    recordTick(store, N, k, Date.now() - k * 1000);
    const c0 = process.cpuUsage();
    engine.evaluate(Date.now());
    const c = process.cpuUsage(c0);
    evalMs.push((c.user + c.system) / 1000);
  };
  // Warm-up: both fill their windows (2 minutes of range at most) and compile hot code.
  const warmup = Number(process.env.BENCH_WARMUP ?? 30);
  console.log(`\n== cost: ${RULES} rules x ${N} containers, every second; warm-up ${warmup}s, then ${SECONDS}s measured (machine shared) ==`);
  const timer = setInterval(step, 1000);
  await new Promise((r) => setTimeout(r, warmup * 1000));
  evalMs.length = 0;
  const p0 = procCpuMs(prom.pid!);
  const t0 = Date.now();
  // Prometheus' own timing of its rule group (GET /api/v1/rules: evaluationTime), every 5 s.
  const promEvalS: number[] = [];
  while (Date.now() - t0 < SECONDS * 1000) {
    await new Promise((r) => setTimeout(r, 5000));
    const r = (await (await fetch(`http://127.0.0.1:${promPort}/api/v1/rules?type=alert`)).json()) as any;
    const g = r.data.groups.find((x: any) => x.name === 'bench');
    if (g) promEvalS.push(g.evaluationTime);
  }
  const wallS = (Date.now() - t0) / 1000;
  const promCpu = procCpuMs(prom.pid!) - p0;
  clearInterval(timer);
  const q = async (expr: string): Promise<number> => {
    const r = (await (await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(expr)}`)).json()) as any;
    return Number(r.data.result[0]?.value[1] ?? NaN);
  };
  const promRuleS = promEvalS.reduce((a, b) => a + b, 0) / promEvalS.length;
  const promAlerts = await q('count(ALERTS{alertstate="firing"})');
  const mean = evalMs.reduce((a, b) => a + b, 0) / evalMs.length;
  const sorted = [...evalMs].sort((a, b) => a - b);
  const ours = engine.alerts().filter((a) => a.state === 'firing').length;
  console.log(`cstats engine: ${evalMs.length} evaluations, CPU per evaluation mean ${mean.toFixed(2)} ms, p95 ${sorted[Math.floor(0.95 * sorted.length)].toFixed(2)} ms -> ${(mean / 10).toFixed(2)} % of one core; firing alerts ${ours}`);
  console.log(`prometheus 2.42: process CPU ${(promCpu / wallS / 10).toFixed(2)} % of one core (scraping /metrics of ${N} containers and evaluating, each every second); rule group evaluation ${(promRuleS * 1000).toFixed(2)} ms (its own timing, mean of ${promEvalS.length}); firing alerts ${promAlerts}`);
  console.log(`ratio (prometheus process CPU / cstats engine CPU): ${(promCpu / wallS / mean).toFixed(1)}x; rule evaluation alone: ${((promRuleS * 1000) / mean).toFixed(1)}x`);
  prom.kill('SIGTERM');
  server.close();
  await new Promise((r) => prom.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}

await latency();
await cost();
