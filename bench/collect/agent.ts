/** The cstats agent under test: started from the built tree, observed through /healthz and /proc. */
import { existsSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STATE_DIR, start, type Started } from './children.js';

/**
 * The command of the same build as this file (run.sh builds the tree into a directory of its
 * own and copies bin/ beside dist/), run as users run it: through its #! line and the node
 * options there.
 */
const BIN = fileURLToPath(new URL('../../../bin/cstats.js', import.meta.url));

export interface AgentOptions {
  port: number;
  interval: string;
  history?: string;
  rawHistory?: string;
  /** Directory for a V8 CPU profile (node --cpu-prof), written when the agent exits. */
  cpuProfDir?: string;
  /**
   * Further flags (bench/remote-write: --data-dir, --remote-write; bench/soak: --data-dir). Without
   * --data-dir or --no-persist, the agent keeps its history in a directory of its own,
   * STATE_DIR/<name>.data, emptied first: never the default /var/lib/cstats, whose lock would
   * keep a second agent (a BENCH_BASELINE build beside this one) from starting, and whose
   * history of earlier runs a start would read in. A build from before the store (no
   * dist/src/store/persist.js beside its bin/) knows neither flag and gets none.
   */
  args?: string[];
  /** Another build's bin/cstats.js (bench/collect's BENCH_BASELINE); this build's by default. */
  bin?: string;
}

export interface Agent {
  proc: Started;
  port: number;
}

export function startAgent(name: string, o: AgentOptions): Agent {
  const args = ['agent', '--listen', `127.0.0.1:${o.port}`, '--interval', o.interval, '--quiet'];
  if (o.history) args.push('--history', o.history);
  if (o.rawHistory) args.push('--raw-history', o.rawHistory);
  const extra = o.args ?? [];
  args.push(...extra);
  const bin = o.bin ?? BIN;
  const hasStore = existsSync(join(dirname(bin), '../dist/src/store/persist.js'));
  if (hasStore && !extra.includes('--data-dir') && !extra.includes('--no-persist')) {
    const data = `${STATE_DIR}/${name}.data`;
    rmSync(data, { recursive: true, force: true });
    args.push('--data-dir', data);
  }
  // Profiling needs node's own options, so that run goes through node (without the #! options).
  const proc = o.cpuProfDir ? start(name, process.execPath, ['--cpu-prof', '--cpu-prof-dir', o.cpuProfDir, bin, ...args]) : start(name, bin, args);
  return { proc, port: o.port };
}

export interface Health {
  containers: number;
  durationMs: number;
  /** What the history windows hold (/healthz): containers, samples, compressed bytes. */
  history?: { containers: number; samples: number; bytes: number };
}

export async function health(agent: Agent): Promise<Health | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${agent.port}/healthz`, { signal: AbortSignal.timeout(5_000) });
    const body = (await res.json()) as { collector?: { containers?: number; durationMs?: number }; history?: Health['history'] };
    const c = body.collector;
    return c?.containers === undefined ? undefined : { containers: c.containers, durationMs: c.durationMs ?? NaN, history: body.history };
  } catch {
    return undefined;
  }
}

/** Samples held for the container named `name` (the length of its history ring). */
export async function historyLength(agent: Agent, name: string): Promise<number | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${agent.port}/api/v1/containers/${encodeURIComponent(name)}/history?metrics=pids`);
    if (!res.ok) return undefined;
    return ((await res.json()) as { timestamps: number[] }).timestamps.length;
  } catch {
    return undefined;
  }
}

/**
 * The kernel files the agent keeps open, from /proc/<pid>/fd: exactly what it re-reads each
 * tick, so the baseline loops read the same set.
 */
export function keptOpenFiles(agent: Agent): string[] {
  const dir = `/proc/${agent.proc.pid}/fd`;
  const out: string[] = [];
  for (const fd of readdirSync(dir)) {
    try {
      const target = readlinkSync(`${dir}/${fd}`);
      if (target.startsWith('/sys/fs/cgroup/') || target.startsWith('/proc/')) out.push(target);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** The soft RLIMIT_NOFILE of the agent (Node raises its soft limit to the hard one at start). */
export function openFilesLimit(agent: Agent): number | undefined {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${agent.proc.pid}/limits`, 'latin1'));
  return m && m[1] !== 'unlimited' ? Number(m[1]) : undefined;
}

/** Whether the agent logged running out of file descriptors. */
export function ranOutOfDescriptors(agent: Agent): boolean {
  return readFileSync(agent.proc.log, 'latin1').includes('EMFILE');
}

/**
 * Ticks the agent took in each [fromMs, toMs] span: the samples the container named `name` got
 * there (one a tick), from its history. Undefined when the agent did not answer.
 */
export async function ticksIn(agent: Agent, name: string, spans: { fromMs: number; toMs: number }[]): Promise<number[] | undefined> {
  try {
    const since = Math.min(...spans.map((s) => s.fromMs));
    const res = await fetch(`http://127.0.0.1:${agent.port}/api/v1/containers/${encodeURIComponent(name)}/history?metrics=pids&since=${since}`, { signal: AbortSignal.timeout(20_000) });
    if (!res.ok) return undefined;
    const stamps = ((await res.json()) as { timestamps: number[] }).timestamps;
    return spans.map((s) => stamps.filter((t) => t >= s.fromMs && t < s.toMs).length);
  } catch {
    return undefined;
  }
}
