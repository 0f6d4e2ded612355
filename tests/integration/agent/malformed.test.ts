/**
 * Garbage in every query parameter a real agent reads, beside the real dockerd where it has the
 * same parameter: cAdvisor's count (v2) and num_stats/start/end (v1 request body), Docker's
 * limit, events since/until, stats stream/one-shot, and the REST history's since/metrics. Each
 * malformed value gets a clear error in that surface's own format and changes nothing; valid
 * neighbours of each still work; the agent keeps running and logs no unexpected error.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { removeTestContainers, run, startAgent, waitFor, type AgentProcess } from '../support.js';

interface Reply {
  status: number;
  type: string;
  body: string;
}

async function call(base: string, path: string, init: { method?: string; body?: string } = {}): Promise<Reply> {
  const res = await fetch(base + path, { method: init.method ?? 'GET', body: init.body, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
}

/** The real dockerd, over its socket: up to `maxMs` of a streamed answer, then the request is dropped. */
function dockerd(path: string, maxMs = 2500): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: '/var/run/docker.sock', path: `/v1.41${path}` }, (res) => {
      let body = '';
      const done = () => resolve({ status: res.statusCode!, type: String(res.headers['content-type'] ?? ''), body });
      const timer = setTimeout(() => (done(), req.destroy()), maxMs);
      res.on('data', (c) => (body += c));
      res.on('end', () => (clearTimeout(timer), done()));
    });
    req.on('error', (err) => (err.message.includes('socket hang up') ? undefined : reject(err)));
    req.end();
  });
}

/** The agent's Docker-compatible answer, streamed answers cut after `maxMs` as for dockerd. */
async function agentDocker(base: string, path: string, maxMs = 2500): Promise<Reply> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), maxMs);
  const res = await fetch(`${base}/v1.41${path}`, { signal: ctl.signal });
  let body = '';
  try {
    const reader = res.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      body += Buffer.from(value).toString('utf8');
    }
  } catch {
    // cut off: a stream
  }
  clearTimeout(timer);
  return { status: res.status, type: res.headers.get('content-type') ?? '', body };
}

const lines = (body: string): string[] => body.split('\n').filter((l) => l.trim() !== '');

describe('malformed query parameters', () => {
  let agent: AgentProcess;
  let id: string;
  before(async () => {
    removeTestContainers();
    id = run('cs17b-malformed', [], ['sleep', '100000']);
    agent = await startAgent(['--quiet', '--interval', '250ms']);
    await waitFor('five samples', async () => ((await agent.get<any>(`/api/v1/containers/${id}/history`)).timestamps.length >= 5 ? true : undefined), 20_000);
  });
  after(async () => {
    await agent?.stop();
    removeTestContainers();
  });

  test('cAdvisor v2 count: not a decimal integer, or below -1, is refused as cAdvisor does (500, text); valid counts still work', async () => {
    for (const bad of ['abc', '1.5', '0x10', '1e3', '%205', '-2', '5abc', '99999999999999999999']) {
      const r = await call(agent.url, `/api/v2.0/stats/${id}?type=docker&count=${bad}`);
      assert.equal(r.status, 500, `count=${bad}: ${r.body}`);
      assert.match(r.type, /^text\/plain/);
      assert.match(r.body, /'count' option/, `count=${bad}`);
    }
    const three = JSON.parse((await call(agent.url, `/api/v2.0/stats/${id}?type=docker&count=3`)).body);
    assert.equal(Object.values(three)[0] instanceof Array && (Object.values(three)[0] as unknown[]).length, 3);
    const all = JSON.parse((await call(agent.url, `/api/v2.0/stats/${id}?type=docker&count=-1`)).body);
    assert.ok((Object.values(all)[0] as unknown[]).length >= 5);
    // An empty count is no count: the default.
    assert.equal((await call(agent.url, `/api/v2.0/stats/${id}?type=docker&count=`)).status, 200);
  });

  test('cAdvisor v1 request body: num_stats, start and end of the wrong type or malformed are refused; null is the defaults', async () => {
    const path = `/api/v1.3/docker/${id}`;
    const cases: [string, RegExp][] = [
      ['{"num_stats":', /unable to decode the json value/],
      ['[]', /expected an object/],
      ['"num_stats"', /expected an object/],
      ['{"num_stats":"abc"}', /num_stats: not an integer/],
      ['{"num_stats":1.5}', /num_stats: not an integer/],
      ['{"num_stats":-2}', /invalid num_stats -2/],
      ['{"num_stats":1e300}', /num_stats: not an integer/],
      ['{"start":"hello 1"}', /start: not an RFC 3339 time/],
      ['{"start":"-1"}', /start: not an RFC 3339 time/],
      ['{"start":1700000000}', /start: not an RFC 3339 time/],
      ['{"end":"2024-02-30T00:00:00Z"}', /end: not an RFC 3339 time/],
      ['{"end":"2024-01-01T24:00:00Z"}', /end: not an RFC 3339 time/],
    ];
    for (const [body, message] of cases) {
      const r = await call(agent.url, path, { method: 'POST', body });
      assert.equal(r.status, 500, `${body}: ${r.body}`);
      assert.match(r.body, message, body);
    }
    const stats = (reply: Reply) => (Object.values(JSON.parse(reply.body))[0] as { stats: { timestamp: string }[] }).stats;
    assert.ok(stats(await call(agent.url, path, { method: 'POST', body: 'null' })).length >= 5);
    assert.equal(stats(await call(agent.url, path, { method: 'POST', body: '{"num_stats":2}' })).length, 2);
    const points = stats(await call(agent.url, path, { method: 'POST', body: '{"num_stats":-1}' }));
    const start = points[points.length - 3].timestamp;
    const windowed = stats(await call(agent.url, path, { method: 'POST', body: JSON.stringify({ num_stats: -1, start, end: '0001-01-01T00:00:00Z' }) }));
    assert.ok(windowed.length >= 2 && windowed.every((p) => Date.parse(p.timestamp) >= Date.parse(start)), 'start with the zero end time keeps the window from start on');
  });

  test('Docker limit: what dockerd refuses is refused (400, Docker\'s error shape); what it takes is taken alike', async () => {
    for (const bad of ['abc', '1.5', '0x10', '%20', '1e3']) {
      const real = await dockerd(`/containers/json?limit=${bad}`);
      const ours = await agentDocker(agent.url, `/containers/json?limit=${bad}`);
      assert.ok(real.status >= 400, `dockerd takes limit=${bad}`);
      assert.equal(ours.status, 400, `limit=${bad}: ${ours.body}`);
      assert.match(JSON.parse(ours.body).message, /invalid limit/);
    }
    for (const good of ['1', '-1', '0', '']) {
      assert.equal((await dockerd(`/containers/json?limit=${good}`)).status, 200);
      const ours = await agentDocker(agent.url, `/containers/json?limit=${good}`);
      assert.equal(ours.status, 200, `limit=${good}`);
      if (good === '1') assert.equal(JSON.parse(ours.body).length, 1);
    }
  });

  test('Docker events since/until: garbage refused (400); Unix seconds and RFC 3339 times taken, the stream ends at until', async () => {
    for (const bad of ['hello%201', 'abc', '2024-02-30T00:00:00Z', '10m', '2024-01-01', '1.2.3']) {
      for (const key of ['since', 'until']) {
        const ours = await agentDocker(agent.url, `/events?${key}=${bad}`);
        assert.equal(ours.status, 400, `${key}=${bad}: ${ours.body}`);
        assert.match(JSON.parse(ours.body).message, new RegExp(`invalid value for ${key}`));
      }
      // dockerd 20.10 refuses these too (with a 500: strconv's error).
      assert.ok((await dockerd(`/events?since=${bad}&until=1`)).status >= 400, `dockerd takes since=${bad}`);
    }
    const nowS = Date.now() / 1000;
    const ended = await agentDocker(agent.url, `/events?since=${(nowS - 60).toFixed(9)}&until=${nowS.toFixed(9)}`, 5000);
    assert.equal(ended.status, 200);
    const until = new Date(Date.now() + 500).toISOString();
    const t0 = Date.now();
    const rfc = await agentDocker(agent.url, `/events?since=${encodeURIComponent(new Date(t0 - 60_000).toISOString())}&until=${encodeURIComponent(until)}`, 5000);
    assert.equal(rfc.status, 200);
    assert.ok(Date.now() - t0 < 4000, 'the stream ended at until, not at the cut-off');
  });

  test('Docker stats stream/one-shot: read as dockerd reads them (empty, 0, no, false, none are false)', async () => {
    const real = run('cs17b-malformed-real', [], ['sleep', '100000']);
      await waitFor('the second container sampled twice', async () => ((await agent.get<any>(`/api/v1/containers/${real}/history`)).timestamps.length >= 2 ? true : undefined), 10_000);
      const cases = ['stream=true&one-shot=true', 'stream=&one-shot=1', 'stream=no&one-shot=maybe', 'stream=0&one-shot=none', 'stream=none', 'stream=FALSE&one-shot=Yes', 'stream=1', 'one-shot=1'];
      for (const q of cases) {
      const [d, a] = await Promise.all([dockerd(`/containers/${real}/stats?${q}`), agentDocker(agent.url, `/containers/${real}/stats?${q}`)]);
      assert.equal(a.status, d.status, `${q}: dockerd ${d.status}, agent ${a.status} ${a.body.slice(0, 200)}`);
      if (d.status !== 200) {
        assert.equal(JSON.parse(a.body).message, JSON.parse(d.body).message, q);
        continue;
      }
      // One frame or several (a stream), and a one-shot frame has no previous sample.
      const [dl, al] = [lines(d.body), lines(a.body)];
      assert.equal(al.length > 1, dl.length > 1, `${q}: streamed by dockerd ${dl.length > 1}, by the agent ${al.length > 1}`);
      if (dl.length > 1) continue; // a stream's first frame: dockerd has no previous sample yet, the agent has
      const preread = (l: string) => (JSON.parse(l) as { preread: string }).preread.startsWith('0001-01-01');
      assert.equal(preread(al[0]), preread(dl[0]), `${q}: one-shot (no preread) by dockerd ${preread(dl[0])}`);
      }
  });

  test('REST history since/metrics: garbage refused with a JSON error naming the parameter', async () => {
    const cases: [string, RegExp][] = [
      ['since=hello%201', /^since:/],
      ['since=-1', /^since:/],
      ['since=5%20minutes', /^since:/],
      ['since=-5m', /^since:/],
      ['since=2024-13-01T00:00:00Z', /^since:/],
      ['since=2024-02-30T00:00:00Z', /^since:/],
      ['since=1e3', /^since:/],
      ['metrics=,', /^metrics: no metric named/],
      ['metrics=%20', /^metrics: no metric named/],
      ['metrics=cpu_percent,nope', /^unknown metrics: nope/],
      ['metrics=CPU_PERCENT', /^unknown metrics: CPU_PERCENT/],
    ];
    for (const [q, message] of cases) {
      const r = await call(agent.url, `/api/v1/containers/${id}/history?${q}`);
      assert.equal(r.status, 400, `${q}: ${r.body}`);
      assert.equal(r.type, 'application/json');
      assert.match(JSON.parse(r.body).error, message, q);
    }
    const since = new Date(Date.now() - 1000).toISOString();
    const h = JSON.parse((await call(agent.url, `/api/v1/containers/${id}/history?since=${encodeURIComponent(since)}&metrics=cpu_percent,%20pids`)).body);
    assert.deepEqual(Object.keys(h.series), ['cpu_percent', 'pids']);
    assert.ok(h.timestamps.length >= 2 && h.timestamps.every((t: number) => t >= Date.parse(since)));
  });

  test('after all of it the agent is running, healthy, and logged no unexpected error', async () => {
    assert.equal(agent.proc.exitCode, null);
    assert.equal((await call(agent.url, '/healthz')).status, 200);
    assert.doesNotMatch(agent.log(), /unexpected (error|rejection)|internal error/);
  });
});
