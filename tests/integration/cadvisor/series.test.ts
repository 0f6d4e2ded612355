/**
 * cAdvisor's stats series against a real agent and a real container (a --cpus 0.5 busy loop):
 * after ~12 s, count=10 is ten points a second apart whose cumulative CPU grows by half a second
 * a second; the newest point holds the very counters of the agent's latest sample; count=-1 is
 * the whole raw window and never more than window / interval + 1 points; v1 num_stats likewise.
 * Needs root, dockerd and busybox:local.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { IMAGE, docker, sleep, startAgent, waitFor, type AgentProcess } from '../support.js';
import { sameSample } from './same-sample.js';

const LABEL = 'cstats.cadvisor-series-test=1';
/** Raw window: 11 points at 1 s, so that ten of them are there after ~12 s and the bound shows. */
const RAW_WINDOW_S = 10;

function cleanup(): void {
  const ids = docker('ps', '-aq', '--filter', `label=${LABEL}`);
  if (ids) docker('rm', '-f', ...ids.split('\n'));
}

interface Detail {
  sample: { timestamp: string; cpu: { usageNs: number }; memory: { usageBytes: number }; network?: Array<{ name: string; rxBytes: number }> };
}

describe('cAdvisor stats series from the raw-sample history', () => {
  let agent: AgentProcess;
  let id: string;
  const name = () => `/docker/${id}`;

  before(async () => {
    cleanup();
    id = docker('run', '-d', '--name', 'cs-series-t-cpu', '--label', LABEL, '--cpus', '0.5', IMAGE, 'sh', '-c', 'while :; do :; done');
    agent = await startAgent(['--quiet', '--no-cgroups', '--raw-history', `${RAW_WINDOW_S}s`]);
    await waitFor('the first sample', async () => (await agent.get<Detail>(`/api/v1/containers/${id}`)).sample?.timestamp, 10_000, 100);
    await sleep(12_500);
  });
  after(async () => {
    await agent?.stop();
    cleanup();
  });

  test('v2.0 count=10: ten points 1 s apart, +0.5 s of CPU a second, the newest the latest sample', async () => {
    const { detail, body } = await sameSample<Detail>(agent, id)(() => agent.get<Record<string, any[]>>(`/api/v2.0/stats/${id}?type=docker&count=10`));
    const series = body[name()];
    assert.equal(series.length, 10);
    const times = series.map((p) => Date.parse(p.timestamp));
    const rates: string[] = [];
    for (let i = 1; i < series.length; i++) {
      const dt = (times[i] - times[i - 1]) / 1000;
      assert.ok(dt > 0, `timestamps strictly increasing: ${series[i - 1].timestamp}, ${series[i].timestamp}`);
      assert.ok(Math.abs(dt - 1) <= 0.3, `points ${dt} s apart`);
      const cpuSeconds = (series[i].cpu.usage.total - series[i - 1].cpu.usage.total) / 1e9;
      rates.push((cpuSeconds / dt).toFixed(3));
      assert.ok(cpuSeconds / dt >= 0.4 && cpuSeconds / dt <= 0.6, `--cpus 0.5: ${cpuSeconds} s of CPU in ${dt} s`);
    }
    console.log(`count=10: CPU seconds a second between points ${rates.join(' ')}`);
    const newest = series.at(-1);
    assert.equal(Date.parse(newest.timestamp), Date.parse(detail.sample.timestamp));
    assert.equal(newest.cpu.usage.total, detail.sample.cpu.usageNs);
    assert.equal(newest.memory.usage, detail.sample.memory.usageBytes);
    const eth0 = detail.sample.network?.find((n) => n.name === 'eth0');
    assert.equal(newest.network.interfaces.find((n: { name: string }) => n.name === 'eth0')?.rx_bytes, eth0?.rxBytes);
  });

  test('the newest of count=10 is the 2-point answer\'s newest, point for point', async () => {
    const { body: both } = await sameSample<Detail>(agent, id)(async () => ({
      ten: (await agent.get<Record<string, any[]>>(`/api/v2.0/stats/${id}?type=docker&count=10`))[name()],
      two: (await agent.get<Record<string, any[]>>(`/api/v2.0/stats/${id}?type=docker&count=2`))[name()],
    }));
    assert.equal(both.two.length, 2);
    assert.deepEqual(both.ten.slice(-2).map((p) => ({ ...p, cpu_inst: undefined })), both.two.map((p) => ({ ...p, cpu_inst: undefined })));
    assert.deepEqual(both.ten.at(-1).cpu_inst, both.two.at(-1).cpu_inst);
  });

  test('count=-1: the whole raw window, never more than window / interval + 1 points', async () => {
    const all = (await agent.get<Record<string, any[]>>(`/api/v2.0/stats/${id}?type=docker&count=-1`))[name()];
    const spanS = (Date.parse(all.at(-1).timestamp) - Date.parse(all[0].timestamp)) / 1000;
    console.log(`count=-1: ${all.length} points over ${spanS} s`);
    assert.ok(all.length >= 10 && all.length <= RAW_WINDOW_S + 1, `${all.length} points`);
    assert.ok(spanS <= RAW_WINDOW_S + 0.5, `${spanS} s`);
    const health = await agent.get<{ history: { raw: { samples: number; bytes: number } } }>('/healthz');
    console.log(`/healthz history.raw: ${health.history.raw.samples} samples, ${health.history.raw.bytes} bytes`);
    assert.ok(health.history.raw.samples >= all.length && health.history.raw.bytes > 0);
  });

  test('v1 POST /api/v1.3/containers/docker/<id> {"num_stats":5}: five points', async () => {
    const res = await fetch(`${agent.url}/api/v1.3/containers/docker/${id}`, { method: 'POST', body: '{"num_stats":5}' });
    assert.equal(res.status, 200);
    const info = (await res.json()) as { name: string; stats: Array<{ timestamp: string }> };
    assert.equal(info.name, name());
    assert.equal(info.stats.length, 5);
    const times = info.stats.map((p) => Date.parse(p.timestamp));
    for (let i = 1; i < times.length; i++) assert.ok(times[i] > times[i - 1]);
  });
});
