/**
 * OTLP/HTTP from the real agent to a receiver inside the test: an HTTP server that decodes each
 * request with protobufjs and OpenTelemetry's .proto definitions (tests/export/otlp-proto.ts),
 * or as OTLP/JSON. The OpenTelemetry Collector is not packaged in Debian and nothing but npm and
 * Debian can be installed here, hence the receiver in the test rather than a real collector.
 * - a Docker container busy at 0.5 CPU: the CPU times (user, system), memory and eth0 bytes the
 *   receiver gets for each tick are a set /metrics showed, one tick a second, the CPU going at
 *   0.5 core, every counter starting at the container's StartedAt;
 * - the receiver frozen (requests held unanswered, as a stopped process would) for 30 s with the
 *   agent restarted in the middle, now sending JSON: every sample the agent took (its history on
 *   disk) reaches the receiver, the start time unchanged; the backlog drains at least 5x faster
 *   than real time (printed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { docker, freePort, run, sleep, spawnAgent, waitFor, type SpawnedAgent } from '../support.js';
import { agentHistory, exportHealth } from './support.js';
import { decodeJson, decodeProtobuf, flatten, type FlatPoint } from '../../export/otlp-proto.js';

const BUSY = 'otlp-busy';

/** Decodes what it is sent; while frozen it holds requests, then handles them in order when thawed. */
class Receiver {
  readonly points: FlatPoint[] = [];
  readonly requests = { protobuf: 0, json: 0 };
  frozen = false;
  private held: Array<() => void> = [];
  private readonly server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const handle = (): void => {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        const json = req.headers['content-type'] === 'application/json';
        this.points.push(...flatten(json ? decodeJson(body.toString('utf8')) : decodeProtobuf(body)));
        this.requests[json ? 'json' : 'protobuf']++;
        res.writeHead(200, { 'Content-Type': json ? 'application/json' : 'application/x-protobuf' }).end(json ? '{}' : '');
      };
      if (this.frozen) this.held.push(handle);
      else handle();
    });
  });

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1/metrics`;
  }

  thaw(): void {
    this.frozen = false;
    for (const h of this.held.splice(0)) h();
  }

  close(): void {
    this.server.closeAllConnections();
    this.server.close();
  }

  /** The busy container's points of one metric (with these attribute values), by time in ms. */
  busy(metric: string, attrs: Record<string, string> = {}): Map<number, FlatPoint> {
    const out = new Map<number, FlatPoint>();
    for (const p of this.points) {
      if (p.resource['container.name'] !== BUSY || p.metric !== metric || Object.entries(attrs).some(([k, v]) => p.attributes[k] !== v)) continue;
      out.set(Number(BigInt(p.time) / 1_000_000n), p);
    }
    return out;
  }
}

function startAgent(port: number, dataDir: string, url: string, protocol: string): Promise<SpawnedAgent> {
  // A timeout longer than the outage: the request under way when the receiver froze is answered when it thaws.
  const args = ['--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--no-cgroups', '--otlp', url, '--otlp-protocol', protocol, '--otlp-timeout', '60s', '--fsync-interval', '1s'];
  return spawnAgent(args, () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false));
}

/** user|system|memory|eth0 received, as /metrics shows them for the busy container now. */
async function metricsTuple(port: number): Promise<string | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const value = (family: string, extra = ''): string | undefined => new RegExp(`^${family}\\{(?=[^}]*${extra})(?=[^}]*name="${BUSY}")[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1];
  const v = [value('container_cpu_user_seconds_total'), value('container_cpu_system_seconds_total'), value('container_memory_usage_bytes'), value('container_network_receive_bytes_total', 'interface="eth0"')];
  return v.includes(undefined) ? undefined : `${Number(v[0])}|${Number(v[1])}|${v[2]}|${v[3]}`;
}

test('OTLP to a receiver decoding with OpenTelemetry\'s .proto: /metrics values each tick, start at StartedAt; frozen 30 s across an agent restart, nothing lost, fast drain', { timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'otlp-it-'));
  const dataDir = join(dir, 'agent');
  const busyId = run(BUSY, ['--cpus', '0.5'], ['sh', '-c', 'while :; do :; done']);
  const startedAt = docker('inspect', '-f', '{{.State.StartedAt}}', BUSY);
  const startNs = String(BigInt(Date.parse(startedAt)) * 1_000_000n);
  const receiver = new Receiver();
  const url = await receiver.listen();
  const port = await freePort();
  let agent = await startAgent(port, dataDir, url, 'protobuf');
  t.after(async () => {
    await agent.stop();
    receiver.close();
    docker('rm', '-f', BUSY);
    rmSync(dir, { recursive: true, force: true });
  });

  // 1. The values: what /metrics shows at each tick (read 5 times a tick) is what the receiver got.
  const seen = new Set<string>();
  const t0 = Date.now();
  while (Date.now() - t0 < 12_000) {
    const v = await metricsTuple(port);
    if (v !== undefined) seen.add(v);
    await sleep(200);
  }
  await sleep(1500);
  const user = receiver.busy('container.cpu.time', { 'cpu.mode': 'user' });
  const system = receiver.busy('container.cpu.time', { 'cpu.mode': 'system' });
  const memory = receiver.busy('container.memory.usage');
  const rx = receiver.busy('container.network.io', { 'network.io.direction': 'receive', 'network.interface.name': 'eth0' });
  const times = [...user.keys()].filter((ms) => ms >= t0 && ms <= t0 + 12_000).sort((a, b) => a - b);
  assert.ok(times.length >= 10, `${times.length} ticks received over 12 s`);
  const tuples = times.map((ms) => `${user.get(ms)!.value}|${system.get(ms)?.value}|${memory.get(ms)?.value}|${rx.get(ms)?.value}`);
  const missing = tuples.filter((x) => !seen.has(x));
  // The first and last tick of the window may fall between two reads of /metrics.
  assert.ok(missing.length <= 2, `ticks the receiver got that /metrics never showed: ${JSON.stringify(missing)} (seen ${JSON.stringify([...seen].slice(0, 3))}...)`);
  for (let i = 1; i < times.length; i++) assert.ok(times[i] - times[i - 1] >= 500 && times[i] - times[i - 1] <= 1500, `tick spacing ${times[i] - times[i - 1]} ms`);
  const cpu = (ms: number): number => (user.get(ms)!.value as number) + (system.get(ms)!.value as number);
  const cores = (cpu(times[times.length - 1]) - cpu(times[0])) / ((times[times.length - 1] - times[0]) / 1000);
  assert.ok(cores > 0.4 && cores < 0.6, `CPU of the busy container ${cores.toFixed(3)} cores under --cpus 0.5`);
  for (const p of [...user.values(), ...rx.values()]) assert.equal(p.start, startNs, `${p.metric} starts at StartedAt ${startedAt}`);
  const resource = user.get(times[0])!.resource;
  assert.deepEqual([resource['container.id'], resource['container.image.name'], resource['container.image.tags'], resource['container.runtime.name']], [busyId, 'busybox', ['local'], 'docker']);
  console.log(`OTLP: ${times.length} ticks over 12 s, ${tuples.length - missing.length} equal to /metrics; busy container at ${cores.toFixed(3)} cores`);

  // 2. The outage: the receiver frozen 30 s, the agent restarted after 15 s of it, sending JSON from then on.
  const outageStart = Date.now();
  receiver.frozen = true;
  await sleep(15_000);
  await agent.stop();
  const firstLog = agent.log();
  agent = await startAgent(port, dataDir, url, 'json');
  await sleep(15_000);
  const queued = await exportHealth(port, 'otlp-0');
  assert.ok(queued.queuedBytes > 0 && queued.oldestQueuedAgeSeconds! > 25, `queued across the restart: ${JSON.stringify(queued)}`);
  const backlogSeconds = queued.oldestQueuedAgeSeconds!;
  const jsonBefore = receiver.requests.json;
  const thawed = Date.now();
  receiver.thaw();
  await waitFor('the backlog drained', async () => ((await exportHealth(port, 'otlp-0')).queuedBytes === 0 ? true : undefined), 60_000, 20);
  const drainSeconds = (Date.now() - thawed) / 1000;
  const ratio = backlogSeconds / drainSeconds;
  console.log(`OTLP backlog: ${backlogSeconds.toFixed(1)} s of samples drained in ${drainSeconds.toFixed(3)} s: ${ratio.toFixed(1)}x real time (requests of up to 60 ticks; protobuf then JSON after the restart)`);
  assert.ok(ratio >= 5, `drained at ${ratio.toFixed(1)}x real time`);
  assert.ok(receiver.requests.json > jsonBefore && receiver.requests.protobuf > 0, `both encodings: ${JSON.stringify(receiver.requests)}`);

  // Every sample the agent took over the outage (its history on disk) is at the receiver, with the same start.
  const hist = await agentHistory(port, busyId, outageStart - 2000, thawed);
  assert.ok(hist.timestamps.length >= 25, `agent history over the outage: ${hist.timestamps.length} samples (${hist.tier})`);
  const got = receiver.busy('container.cpu.time', { 'cpu.mode': 'user' });
  const lost = hist.timestamps.filter((ms) => !got.has(ms));
  const exportLines = (text: string): string => text.split('\n').filter((l) => / export /.test(l)).join('\n');
  assert.deepEqual(lost, [], `samples the agent took that the receiver lacks; the agents said:\n${exportLines(firstLog + agent.log())}`);
  const starts = new Set([...got.values()].map((p) => p.start));
  assert.deepEqual([...starts], [startNs], 'start_time_unix_nano the same before, during and after the restart');
  console.log(`OTLP outage ${((thawed - outageStart) / 1000).toFixed(1)} s: the agent took ${hist.timestamps.length} samples of ${BUSY}, the receiver has all; start ${startNs} throughout`);
});
