/**
 * The REST API of a real agent: shapes, history window, errors for bad input, read-only.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { removeTestContainers, run, startAgent, waitFor, type AgentProcess } from '../support.js';

async function raw(agent: AgentProcess, method: string, path: string): Promise<{ status: number; body: string; type?: string }> {
  const res = await fetch(agent.url + path, { method });
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? undefined };
}

describe('REST API', () => {
  let agent: AgentProcess;
  let id: string;
  before(async () => {
    removeTestContainers();
    id = run('cstats-t-rest', ['--label', 'tier=web', '-m', '48m'], ['sleep', '100000']);
    agent = await startAgent(['--quiet', '--interval', '200ms']);
    await waitFor('three samples', async () => ((await agent.get<any>(`/api/v1/containers/${id}/history`)).timestamps.length >= 3 ? true : undefined));
  });
  after(async () => {
    await agent?.stop();
    removeTestContainers();
  });

  test('container detail: identity, labels, image, cgroup path, limits, raw counters as exact integers', async () => {
    const r = await raw(agent, 'GET', '/api/v1/containers/cstats-t-rest');
    assert.equal(r.status, 200);
    assert.equal(r.type, 'application/json');
    const d = JSON.parse(r.body);
    assert.equal(d.id, id);
    assert.equal(d.image, 'busybox:local');
    assert.equal(d.labels.tier, 'web');
    assert.match(d.cgroup.path, new RegExp(id));
    assert.equal(d.limits.memoryLimitBytes, 48 * 1024 * 1024);
    assert.ok(Array.isArray(d.sample.network) && d.sample.network.some((i: { name: string }) => i.name === 'eth0'));
    // The unlimited pids.max and the CPU counter are written as JSON integers, never strings.
    assert.match(r.body, /"usageNs":\d+/);
    // `sleep` alone: one process, as cgroup.procs lists it.
    assert.equal(d.processes, 1);
    // Prefix lookup as docker does.
    assert.equal((await agent.get<any>(`/api/v1/containers/${id.slice(0, 10)}`)).id, id);
  });

  test('history: the window at the sampling interval, chosen metrics, since', async () => {
    const h = await agent.get<any>(`/api/v1/containers/${id}/history?metrics=cpu_percent,memory_usage_bytes`);
    assert.deepEqual(Object.keys(h.series), ['cpu_percent', 'memory_usage_bytes']);
    assert.equal(h.intervalMs, 200);
    assert.equal(h.series.cpu_percent.length, h.timestamps.length);
    assert.ok(h.timestamps.every((t: number, i: number) => i === 0 || t > h.timestamps[i - 1]), 'oldest first, strictly increasing');
    const cutoff = Date.now() - 1000;
    const recent = await agent.get<any>(`/api/v1/containers/${id}/history?since=1s`);
    assert.ok(recent.timestamps.length >= 1 && recent.timestamps.every((t: number) => t >= cutoff - 50), 'since=1s keeps the last second only');
    assert.equal((await agent.get<any>(`/api/v1/containers/${id}/history?since=${cutoff}`)).timestamps[0] >= cutoff, true);
    const since = new Date(Date.now() + 60_000).toISOString();
    assert.equal((await agent.get<any>(`/api/v1/containers/${id}/history?since=${since}`)).timestamps.length, 0);
  });

  test('machine and healthz', async () => {
    const m = await agent.get<any>('/api/v1/machine');
    assert.equal(m.cpus, 2);
    assert.ok(m.memory.MemTotal > 0);
    assert.ok(m.filesystems.length > 0 && m.filesystems.every((f: any) => f.totalBytes > 0));
    const h = await agent.get<any>('/healthz');
    assert.equal(h.status, 'ok');
    assert.equal(h.sources.docker.up, true);
    // Every sampled container has history; the compressed bytes stay far below 8 per value.
    assert.ok(h.history.containers >= 1 && h.history.samples >= h.history.containers, JSON.stringify(h.history));
    assert.ok(h.history.bytes > 0 && h.history.bytes < h.history.samples * 11 * 8, JSON.stringify(h.history));
  });

  test('bad input: 400 with a JSON error; unknown: 404; writes: 405; garbage request line: 400', async () => {
    for (const [path, status, re] of [
      [`/api/v1/containers/${id}/history?since=yesterday`, 400, /since/],
      [`/api/v1/containers/${id}/history?metrics=cpu_percent,bogus`, 400, /unknown metrics: bogus/],
      ['/api/v1/containers?all=perhaps', 400, /all/],
      ['/api/v1/containers/cstats-t-nope', 404, /no such container/],
      ['/api/v1/nothing', 404, /no such endpoint/],
      ['/api/v1/containers/%E0%A4%A', 400, /percent-encoding/],
    ] as const) {
      const r = await raw(agent, 'GET', path);
      assert.equal(r.status, status, path);
      assert.match(JSON.parse(r.body).error, re, path);
    }
    const del = await raw(agent, 'DELETE', `/api/v1/containers/${id}`);
    assert.equal(del.status, 405);
    assert.match(JSON.parse(del.body).error, /read-only/);
    // Garbage on the wire: the server answers 400 and keeps running.
    const reply = await new Promise<string>((resolve) => {
      const u = new URL(agent.url);
      const sock = connect(Number(u.port), u.hostname, () => sock.end('\x00\x01GARBAGE / HTTP/9\r\n\r\n'));
      let got = '';
      sock.on('data', (c) => (got += c));
      sock.on('close', () => resolve(got));
      sock.on('error', () => resolve(got));
    });
    assert.match(reply, /^HTTP\/1\.1 400/);
    assert.equal((await raw(agent, 'GET', '/healthz')).status, 200);
  });

  test('OpenAPI document describes the endpoints', async () => {
    const doc = await agent.get<any>('/api/v1/openapi.json');
    assert.equal(doc.openapi, '3.0.3');
    for (const p of ['/api/v1/containers', '/api/v1/containers/{ref}', '/api/v1/containers/{ref}/history', '/api/v1/machine', '/healthz']) assert.ok(doc.paths[p], p);
  });
});
