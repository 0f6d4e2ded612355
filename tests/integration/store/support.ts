/** What the history-on-disk integration tests share: an agent over a data directory of the test's own. */
import { mkdtempSync } from 'node:fs';
import { freePort, spawnAgent, type AgentProcess } from '../support.js';

/** A fresh data directory under /tmp, named for issue 12's tests. */
export function dataDirFor(what: string): string {
  return mkdtempSync(`/tmp/cs12-${what}-`);
}

export interface History {
  tier: string;
  stepMs: number | null;
  timestamps: number[];
  series: Record<string, (number | null)[]>;
}

/** `cstats agent --data-dir DIR ARGS` on a free port, ready when /healthz answers. */
export async function agentOn(dir: string, args: string[] = [], timeoutMs = 60_000): Promise<AgentProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(url + path);
    const text = await res.text();
    if (!res.ok && res.status !== 503) throw new Error(`${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  };
  const agent = await spawnAgent(['--data-dir', dir, '--listen', `127.0.0.1:${port}`, ...args], () => get('/healthz').then(() => true, () => false), timeoutMs);
  return { url, get, ...agent };
}

/** Points actually sampled (null gap markers left out), as [timestamp, value] of one metric. */
export function sampled(h: History, metric: string): [number, number | null][] {
  const out: [number, number | null][] = [];
  h.timestamps.forEach((ts, i) => {
    if (!Object.values(h.series).every((col) => col[i] === null)) out.push([ts, h.series[metric][i]]);
  });
  return out;
}
