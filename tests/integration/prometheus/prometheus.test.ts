/**
 * /metrics against the real tools: promtool lints it, and Debian's Prometheus server scrapes a
 * real agent every second (with a bearer token, as a protected deployment would) and computes
 * rate(container_cpu_usage_seconds_total) of a --cpus 0.5 busy loop. Needs root, dockerd,
 * busybox:local and the prometheus package (scripts/testbed.sh).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { LabelRenderer, renderMetrics } from '../../../src/api/prometheus.js';
import { fixtureStore } from '../../api/support.js';
import { docker, freePort, sleep, waitFor } from '../support.js';
import { runContainer, startSecureAgent, type SecureAgent } from './support.js';

const TOKEN = 'prometheus-scrape-token';
const BUSY = 'cstats-t-prom-busy';

function promtool(exposition: Buffer): { status: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** The series of `family` whose labels include `name="<name>"`, as [labels text, value]. */
function seriesOf(text: string, family: string, name: string): Array<[string, string]> {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${family}{`) && l.includes(`name="${name}"`))
    .map((l) => {
      const close = l.lastIndexOf('}');
      return [l.slice(family.length + 1, close), l.slice(close + 2)];
    });
}

describe('Prometheus exposition with real tools', () => {
  let agent: SecureAgent;
  let busyId: string;

  before(async () => {
    busyId = runContainer(BUSY, ['--cpus', '0.5', '-m', '64m', '--label', 'com.example.team=payments', '--label', 'secret=do-not-export'], ['sh', '-c', 'while :; do :; done']);
    agent = await startSecureAgent({ token: TOKEN, args: ['--prometheus-labels', 'com.example.team'] });
    await waitFor('the busy container on /metrics', async () => seriesOf((await agent.get('/metrics', { token: TOKEN })).body.toString(), 'container_cpu_usage_seconds_total', BUSY).length > 0, 15_000, 200);
  });
  after(async () => {
    await agent?.stop();
    docker('rm', '-f', BUSY);
  });

  test('promtool check metrics finds nothing in the fixture exposition (escaped labels, u64 extremes)', () => {
    const r = promtool(renderMetrics(fixtureStore(), new LabelRenderer(['com.example.team'])).body);
    assert.equal(r.output, '');
    assert.equal(r.status, 0);
  });

  test("the real agent's /metrics: Content-Type, gzip, promtool-clean, cAdvisor labels and spec values", async () => {
    const plain = await agent.get('/metrics', { token: TOKEN });
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    const r = promtool(plain.body);
    assert.equal(r.output, '', `promtool: ${r.output}`);
    assert.equal(r.status, 0);

    const gz = await agent.get('/metrics', { token: TOKEN, headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    const text = gunzipSync(gz.body).toString();
    console.log(`/metrics: ${plain.body.length} bytes, ${gz.body.length} gzipped, ${text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length} series`);

    const [[labels]] = seriesOf(text, 'container_cpu_usage_seconds_total', BUSY);
    const path = JSON.parse((await agent.get(`/api/v1/containers/${BUSY}`, { token: TOKEN })).body.toString()).cgroup.path as string;
    // On this cgroupfs-driver v1 host the cgroup path is /docker/<id>, cAdvisor's id.
    assert.equal(path, `/docker/${busyId}`);
    assert.equal(labels, `container_label_com_example_team="payments",id="${path}",image="busybox:local",name="${BUSY}",cpu="total"`);
    assert.ok(!text.includes('do-not-export'));
    assert.deepEqual(seriesOf(text, 'container_spec_cpu_quota', BUSY)[0][1], '50000');
    assert.deepEqual(seriesOf(text, 'container_spec_cpu_period', BUSY)[0][1], '100000');
    assert.deepEqual(seriesOf(text, 'container_spec_memory_limit_bytes', BUSY)[0][1], String(64 * 1024 * 1024));
    // Under a quota the CFS counters are there (cAdvisor writes them only then).
    assert.equal(seriesOf(text, 'container_cpu_cfs_periods_total', BUSY).length, 1);
    assert.deepEqual(
      seriesOf(text, 'container_network_receive_bytes_total', BUSY).map(([l]) => l.slice(l.lastIndexOf(',') + 1)),
      ['interface="eth0"'],
    );
  });

  test('a real Prometheus server scrapes it every second: rate(container_cpu_usage_seconds_total[30s]) of --cpus 0.5 is 0.45..0.55', async () => {
    const dir = mkdtempSync(`${tmpdir()}/cstats-prometheus-`);
    const promPort = await freePort();
    writeFileSync(
      `${dir}/prometheus.yml`,
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'scrape_configs:',
        '  - job_name: cstats',
        '    authorization:',
        `      credentials: ${TOKEN}`,
        '    static_configs:',
        `      - targets: ['127.0.0.1:${agent.port}']`,
        '',
      ].join('\n'),
    );
    let prom: ChildProcess | undefined;
    let promLog = '';
    try {
      prom = spawn('prometheus', [`--config.file=${dir}/prometheus.yml`, `--storage.tsdb.path=${dir}/data`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: ['ignore', 'pipe', 'pipe'] });
      prom.stdout!.on('data', (c) => (promLog += c));
      prom.stderr!.on('data', (c) => (promLog += c));
      const api = async <T>(path: string): Promise<T> => {
        const res = await fetch(`http://127.0.0.1:${promPort}${path}`);
        const body = (await res.json()) as { status: string; data: T };
        if (body.status !== 'success') throw new Error(`${path}: ${JSON.stringify(body)}`);
        return body.data;
      };
      await waitFor('Prometheus ready', () => fetch(`http://127.0.0.1:${promPort}/-/ready`).then((r) => r.ok), 30_000, 250);
      type Target = { health: string; lastError: string; lastScrapeDuration: number };
      const target = await waitFor(
        'the agent target up',
        async () => (await api<{ activeTargets: Target[] }>('/api/v1/targets')).activeTargets.find((t) => t.health === 'up'),
        15_000,
        250,
      );
      const firstScrapeMs = Date.now();
      // The kernel's own counter over the same span, to tell a wrong rate from a starved container.
      const usageFile = `/sys/fs/cgroup/cpuacct/docker/${busyId}/cpuacct.usage`;
      const kernelBefore = { ns: Number(readFileSync(usageFile, 'utf8')), ms: Date.now() };
      // 30 s of one-second scrapes fill the range; a little more for the first and last.
      await sleep(34_000);
      const kernelRate = (Number(readFileSync(usageFile, 'utf8')) - kernelBefore.ns) / 1e6 / (Date.now() - kernelBefore.ms);
      const query = `rate(container_cpu_usage_seconds_total{name="${BUSY}"}[30s])`;
      const result = await api<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(`/api/v1/query?query=${encodeURIComponent(query)}`);
      assert.equal(result.result.length, 1, JSON.stringify(result));
      const rate = Number(result.result[0].value[1]);
      const scrapes = await api<{ result: Array<{ value: [number, string] }> }>(
        `/api/v1/query?query=${encodeURIComponent('count_over_time(up{job="cstats"}[30s])')}`,
      );
      const durations = await api<{ result: Array<{ value: [number, string] }> }>(
        `/api/v1/query?query=${encodeURIComponent('max_over_time(scrape_duration_seconds{job="cstats"}[30s])')}`,
      );
      console.log(
        `prometheus: ${query} = ${rate.toFixed(4)} after ${((Date.now() - firstScrapeMs) / 1000).toFixed(0)} s (kernel cpuacct.usage: ${kernelRate.toFixed(4)} CPU); ` +
          `${scrapes.result[0]?.value[1]} scrapes in the last 30 s, slowest ${(Number(durations.result[0]?.value[1]) * 1000).toFixed(1)} ms, first ${(target.lastScrapeDuration * 1000).toFixed(1)} ms`,
      );
      assert.equal(result.result[0].metric.cpu, 'total');
      assert.equal(result.result[0].metric.id, `/docker/${busyId}`);
      assert.ok(Math.abs(rate - kernelRate) < 0.03, `Prometheus rate ${rate} vs kernel ${kernelRate}`);
      assert.ok(rate >= 0.45 && rate <= 0.55, `rate ${rate} (the kernel counted ${kernelRate.toFixed(3)} CPU: below 0.45, the host starved the container)`);
    } catch (err) {
      throw new Error(`${(err as Error).message}\nprometheus output:\n${promLog.slice(-3000)}`);
    } finally {
      prom?.kill('SIGTERM');
      if (prom && prom.exitCode === null) await new Promise((r) => prom!.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
