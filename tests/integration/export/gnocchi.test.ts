/**
 * --gnocchi into the real Gnocchi 4.4 (Debian's gnocchi-api + gnocchi-metricd, PostgreSQL 15
 * indexer, file storage; gnocchi-server.ts): the measures read back through Gnocchi's API are
 * what the agent sampled (cpu in ns from its cAdvisor-compatible raw samples, memory.usage in
 * MB from its history), the meter names and units are ceilometer's own (Debian's
 * python3-ceilometer files), the API stopped for a while with the agent killed and restarted
 * in the middle loses no measure, and a container removed gets ended_at.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { docker, freePort, run, sleep, spawnAgent, waitFor, type SpawnedAgent } from '../support.js';
import { requires } from '../../requires.js';
import { gnocchiAvailable, startGnocchi } from './gnocchi-server.js';

const CEILOMETER = '/usr/lib/python3/dist-packages/ceilometer';
const BUSY = 'gnocchi-itest-busy';
const LIMITED = 'gnocchi-itest-limited';
const METERS = ['cpu', 'vcpus', 'memory', 'memory.usage', 'network.incoming.bytes', 'network.outgoing.bytes', 'disk.device.read.bytes', 'disk.device.write.bytes'];

/** Ceilometer's units by meter: the compute pollsters' sample_name/sample_unit pairs and meters.yaml's entries. */
function ceilometerUnits(): Map<string, string> {
  const units = new Map<string, string>();
  const dir = join(CEILOMETER, 'compute/pollsters');
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.py'))) {
    for (const cls of readFileSync(join(dir, f), 'utf8').split(/\nclass /)) {
      const name = /sample_name = '([^']+)'/.exec(cls)?.[1];
      const unit = /sample_unit = '([^']+)'/.exec(cls)?.[1];
      if (name && unit) units.set(name, unit);
    }
  }
  for (const m of parse(readFileSync(join(CEILOMETER, 'data/meters.d/meters.yaml'), 'utf8')).metric as Array<{ name: string; unit: string }>) if (!units.has(m.name)) units.set(m.name, m.unit);
  return units;
}

function agent(port: number, dataDir: string, url: string): Promise<SpawnedAgent> {
  return spawnAgent(
    ['--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--no-cgroups', '--gnocchi', url, '--gnocchi-user', 'admin', '--gnocchi-timeout', '2s', '--fsync-interval', '1s'],
    () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false),
  );
}

async function health(port: number): Promise<{ queuedBytes: number; sentSamples: number; batchesSent: number; sendSeconds: number; oldestQueuedAgeSeconds: number | null; dropped: { queueFull: number; rejected: number } }> {
  return ((await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as any).exports['gnocchi-0'];
}

test('--gnocchi into the real Gnocchi 4.4: ceilometer meters and units, values as sampled, API down 20 s with an agent restart loses nothing, ended_at', { skip: requires(gnocchiAvailable(), 'Debian gnocchi-api, gnocchi-metricd, postgresql, uwsgi-plugin-python3 (scripts/testbed.sh)'), timeout: 240_000 }, async (t) => {
  const gnocchi = await startGnocchi();
  const dir = mkdtempSync(join(tmpdir(), 'gnocchi-itest-agent-'));
  const busyId = run(BUSY, ['--cpus', '0.3'], ['sh', '-c', 'while :; do :; done']);
  const limitedId = run(LIMITED, ['-m', '64m'], ['sh', '-c', 'dd if=/dev/zero of=/tmp/f bs=1M count=20; sleep 3600']);
  const port = await freePort();
  let a = await agent(port, dir, gnocchi.url);
  t.after(async () => {
    await a.stop();
    docker('rm', '-f', BUSY, LIMITED);
    await gnocchi.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await waitFor('first measures sent', async () => ((await health(port)).sentSamples > 0 ? true : undefined), 30_000, 200);
  await sleep(4000);
  const outageStart = Date.now();
  await gnocchi.stopApi();
  await sleep(10_000);
  a.proc.kill('SIGKILL');
  await new Promise((r) => a.proc.once('exit', r));
  a = await agent(port, dir, gnocchi.url);
  await sleep(10_000);
  const queued = await health(port);
  assert.ok(queued.queuedBytes > 0 && queued.oldestQueuedAgeSeconds! > 18, `queued across the kill: ${JSON.stringify(queued)}`);
  const apiDown = Date.now();
  await gnocchi.startApi();
  const resumed = Date.now();
  await waitFor('the backlog drained', async () => ((await health(port)).queuedBytes === 0 ? true : undefined), 60_000, 100);
  const wall = (Date.now() - resumed) / 1000;
  // The sender retries with a backoff doubling to 5 s while the API is down: the wall time from
  // the API's return includes up to that; the time spent in the requests Gnocchi took is the rate.
  const drained = await health(port);
  const sending = drained.sendSeconds - queued.sendSeconds;
  const backlog = (resumed - outageStart) / 1000;
  console.log(`gnocchi: ${backlog.toFixed(1)} s of backlog (API start took ${((resumed - apiDown) / 1000).toFixed(1)} s) drained in ${wall.toFixed(2)} s after the API came back (${(backlog / wall).toFixed(1)}x real time, retry backoff included); ${drained.batchesSent - queued.batchesSent} requests took ${sending.toFixed(2)} s: ${(backlog / sending).toFixed(1)}x real time`);
  assert.deepEqual((await health(port)).dropped, { queueFull: 0, rejected: 0 });

  // Names and units: ceilometer's.
  const yaml = parse(readFileSync(join(CEILOMETER, 'publisher/data/gnocchi_resources.yaml'), 'utf8')) as { resources: Array<{ metrics: Record<string, unknown> }> };
  const ceilometerMeters = new Set(yaml.resources.flatMap((r) => Object.keys(r.metrics ?? {})));
  const units = ceilometerUnits();
  const busy = await gnocchi.get(`/v1/resource/cstats_container/${busyId}`);
  assert.equal(busy.name, BUSY);
  assert.equal(busy.image, 'busybox:local');
  assert.equal(busy.runtime, 'docker');
  const limited = await gnocchi.get(`/v1/resource/cstats_container/${limitedId}`);
  assert.deepEqual(Object.keys(limited.metrics).sort(), [...METERS].sort(), 'every meter of the limited container');
  for (const [name, metricId] of Object.entries(limited.metrics as Record<string, string>)) {
    assert.ok(ceilometerMeters.has(name), `${name} is in ceilometer's gnocchi_resources.yaml`);
    const m = await gnocchi.get(`/v1/metric/${metricId}`);
    assert.equal(m.unit, units.get(name), `${name}'s unit`);
    assert.equal(m.archive_policy.name, 'cstats');
  }
  assert.ok(!('memory' in busy.metrics), 'no memory limit, no memory meter');

  const measures = async (id: string, meter: string): Promise<Map<number, number>> => {
    const points = (await gnocchi.get(`/v1/resource/cstats_container/${id}/metric/${encodeURIComponent(meter)}/measures?aggregation=last&granularity=1&refresh=true`)) as Array<[string, number, number]>;
    return new Map(points.map(([ts, , v]) => [Date.parse(ts), v]));
  };
  // Every second the agent sampled (its history, across the restart) has its measure.
  const cpu = await measures(busyId, 'cpu');
  const hist = (await (await fetch(`http://127.0.0.1:${port}/api/v1/containers/${limitedId}/history?since=${outageStart - 3000}&until=${resumed}&metrics=memory_usage_bytes`)).json()) as { timestamps: number[]; series: { memory_usage_bytes: Array<number | null> } };
  assert.ok(hist.timestamps.length >= 25, `agent history: ${hist.timestamps.length} samples`);
  const mem = await measures(limitedId, 'memory.usage');
  const lost = hist.timestamps.filter((ms) => !mem.has(Math.floor(ms / 1000) * 1000));
  console.log(`gnocchi: agent took ${hist.timestamps.length} samples over the outage, lost ${lost.length}`);
  assert.deepEqual(lost, [], 'seconds the agent sampled that Gnocchi lacks');
  // memory.usage in MB (MiB) is the agent's usage less inactive file / 2^20, exactly (a power of two).
  let compared = 0;
  hist.timestamps.forEach((ms, i) => {
    const v = hist.series.memory_usage_bytes[i];
    if (v === null || !Number.isFinite(v)) return;
    assert.equal(mem.get(Math.floor(ms / 1000) * 1000), v / 1048576, `memory.usage at ${new Date(ms).toISOString()}`);
    compared++;
  });
  assert.ok(compared >= 25, `memory.usage compared at ${compared} seconds`);
  assert.equal([...(await measures(limitedId, 'memory')).values()].at(-1), 64, 'memory: the 64 MiB limit');
  // cpu in ns: the agent's raw samples (cAdvisor API, this run) at their seconds.
  const raw = (await (await fetch(`http://127.0.0.1:${port}/api/v2.0/stats/${busyId}?type=docker&count=60`)).json()) as Record<string, Array<{ timestamp: string; cpu: { usage: { total: number } } }>>;
  const samples = Object.values(raw)[0];
  let cpuCompared = 0;
  for (const s of samples) {
    const at = Math.floor(Date.parse(s.timestamp) / 1000) * 1000;
    if (!cpu.has(at)) continue;
    assert.equal(cpu.get(at), s.cpu.usage.total, `cpu ns at ${s.timestamp}`);
    cpuCompared++;
  }
  assert.ok(cpuCompared >= 10, `cpu compared at ${cpuCompared} seconds`);
  console.log(`gnocchi: cpu equal at ${cpuCompared} seconds, memory.usage at ${compared}`);

  // A container removed: its resource ends.
  docker('rm', '-f', LIMITED);
  const ended = await waitFor('ended_at set', async () => (await gnocchi.get(`/v1/resource/cstats_container/${limitedId}`)).ended_at ?? undefined, 20_000, 500);
  assert.ok(Date.parse(ended) > resumed, `ended_at ${ended}`);
});
