/**
 * GET /api/v1/stream from a real agent: one event per tick, none missed, carrying the
 * derived figures of real containers; the container filter; containers that start and stop while
 * the stream runs. Needs root, dockerd and busybox:local.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { docker, sleep, startAgent, type AgentProcess } from '../support.js';
import { runContainer } from '../prometheus/support.js';

interface TickEvent {
  id: number;
  receivedMs: number;
  timestamp: string;
  containers: Array<{ id: string; name: string; derived: { cpuPercent: number; memoryUsageBytes: number; pids: number } }>;
}

const BUSY = 'cstats-t-stream-busy';
const IDLE = 'cstats-t-stream-idle';
const LATE = 'cstats-t-stream-late';

/** Reads `tick` events from an SSE response body until aborted. */
class Stream {
  readonly events: TickEvent[] = [];
  private readonly abort = new AbortController();
  status = 0;
  contentType = '';

  static async open(url: string): Promise<Stream> {
    const s = new Stream();
    const res = await fetch(url, { signal: s.abort.signal });
    s.status = res.status;
    s.contentType = res.headers.get('content-type') ?? '';
    void s.read(res);
    return s;
  }

  private async read(res: Response): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const field = (name: string) => block.split('\n').find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
          if (field('event') !== 'tick') continue;
          this.events.push({ id: Number(field('id')), receivedMs: Date.now(), ...(JSON.parse(field('data')!) as Omit<TickEvent, 'id' | 'receivedMs'>) });
        }
      }
    } catch (err) {
      if ((err as Error).name !== 'AbortError') throw err;
    }
  }

  async waitFor(pred: (e: TickEvent) => boolean, timeoutMs = 10_000): Promise<TickEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const e = this.events.find(pred);
      if (e) return e;
      if (Date.now() > deadline) throw new Error(`no matching event in ${timeoutMs} ms (${this.events.length} events)`);
      await sleep(50);
    }
  }

  close(): void {
    this.abort.abort();
  }
}

describe('live stream from a real agent', () => {
  let agent: AgentProcess;
  before(async () => {
    runContainer(BUSY, ['--cpus', '0.5'], ['sh', '-c', 'while :; do :; done']);
    runContainer(IDLE, [], ['sleep', '100000']);
    agent = await startAgent(['--quiet']);
  });
  after(async () => {
    await agent?.stop();
    docker('rm', '-f', BUSY, IDLE, LATE);
  });

  test('one event per tick, none missed, with the derived figures of each running container', async () => {
    const s = await Stream.open(`${agent.url}/api/v1/stream`);
    try {
      assert.equal(s.status, 200);
      assert.equal(s.contentType, 'text/event-stream; charset=utf-8');
      await s.waitFor(() => s.events.length >= 6, 20_000);
      const ids = s.events.map((e) => e.id);
      const gaps = ids.slice(1).map((id, i) => id - ids[i]);
      console.log(`stream: tick ids ${gaps.join(' ')} ms apart; ${s.events.at(-1)!.containers.length} containers per event`);
      // One event per tick, none missed: the event ids are exactly the sample times the history
      // holds over the same span (however long the ticks took on this host).
      const h = await agent.get<{ timestamps: number[] }>(`/api/v1/containers/${IDLE}/history?metrics=pids&since=${ids[0]}`);
      assert.deepEqual(ids, h.timestamps.filter((t) => t <= ids.at(-1)!));
      const last = s.events.at(-1)!;
      assert.equal(new Date(last.timestamp).getTime(), last.id);
      const busy = last.containers.find((c) => c.name === BUSY);
      assert.ok(busy, 'busy container in the event');
      // The event carries exactly the tick's derived figures, as the history keeps them.
      const hb = await agent.get<{ timestamps: number[]; series: { cpu_percent: number[]; memory_usage_bytes: number[] } }>(
        `/api/v1/containers/${BUSY}/history?metrics=cpu_percent,memory_usage_bytes&since=${last.id}`,
      );
      const at = hb.timestamps.indexOf(last.id);
      assert.ok(at >= 0, `tick ${last.id} in the history`);
      assert.equal(busy.derived.cpuPercent, hb.series.cpu_percent[at]);
      assert.equal(busy.derived.memoryUsageBytes, hb.series.memory_usage_bytes[at]);
      assert.ok(busy.derived.cpuPercent > 0 && busy.derived.cpuPercent <= 55, `busy CPU ${busy.derived.cpuPercent} %`);
      assert.ok(last.containers.some((c) => c.name === IDLE));
    } finally {
      s.close();
    }
  });

  test('?container= keeps only the named containers; one started later appears, one removed leaves', async () => {
    const filtered = await Stream.open(`${agent.url}/api/v1/stream?container=${IDLE}`);
    const all = await Stream.open(`${agent.url}/api/v1/stream`);
    try {
      await filtered.waitFor(() => filtered.events.length >= 2);
      assert.ok(filtered.events.every((e) => e.containers.length === 1 && e.containers[0].name === IDLE));
      const id = runContainer(LATE, [], ['sleep', '100000']);
      const startedMs = Date.now();
      const seen = await all.waitFor((e) => e.containers.some((c) => c.id === id));
      console.log(`stream: a new container appeared in an event ${seen.receivedMs - startedMs} ms after docker run returned`);
      docker('rm', '-f', LATE);
      const removedMs = Date.now();
      const gone = await all.waitFor((e) => e.receivedMs > removedMs && !e.containers.some((c) => c.id === id));
      assert.ok(gone.receivedMs - removedMs < 3000);
      assert.ok(filtered.events.every((e) => e.containers.every((c) => c.name === IDLE)));
      const unknown = await fetch(`${agent.url}/api/v1/stream?container=cstats-no-such-container`);
      assert.equal(unknown.status, 404);
    } finally {
      filtered.close();
      all.close();
    }
  });
});
