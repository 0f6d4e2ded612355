/**
 * What the scrape and stream benchmarks need on the real host: N plain cgroups with a sleeping
 * process each (systemd's layout, <hierarchy>/cstats-apibench.slice/c-<i>.scope, which the agent
 * discovers as containers), a real agent process, and its CPU time from
 * /proc/<pid>/task/<tid>/schedstat (ns on a CPU, every thread).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync } from 'node:fs';
import { readHostLayout } from '../../src/runtimes/layout.js';
import { freePort } from '../../tests/integration/support.js';

export const SLICE = 'cstats-apibench.slice';
const V1_CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'pids', 'blkio'];

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The slice directory in every hierarchy the agent reads (a co-mount counted once). */
function slices(): string[] {
  const layout = readHostLayout();
  const roots = new Set<string>();
  if (layout.mode === 'v2') roots.add(layout.v2Root!);
  else {
    for (const c of V1_CONTROLLERS) {
      const m = layout.v1.get(c);
      if (m) roots.add(m);
    }
    if (layout.v2Root) roots.add(layout.v2Root);
  }
  return [...roots].map((r) => `${r}/${SLICE}`);
}

const procsOf = (dir: string): number[] => {
  try {
    return readFileSync(`${dir}/cgroup.procs`, 'latin1').split('\n').filter((l) => l !== '').map(Number);
  } catch {
    return [];
  }
};

// Each sleeper joins its cgroup in every hierarchy, then execs sleep: one bash for all of them.
const SPAWN = `
n=$1; shift
for ((i = 0; i < n; i++)); do
  ( for s in "$@"; do echo $BASHPID > "$s/c-$i.scope/cgroup.procs"; done; exec sleep 100000 ) &
done`;

/** The bash that starts the sleeps, while it runs. */
let spawner: ChildProcess | undefined;

/** Makes n cgroups with a sleep in each; returns when every sleep has joined. */
export async function makeCgroups(n: number): Promise<void> {
  const dirs = slices();
  if (readHostLayout().mode === 'v2') throw new Error('bench cgroups: only v1 and hybrid hosts are supported');
  for (const s of dirs) for (let i = 0; i < n; i++) mkdirSync(`${s}/c-${i}.scope`, { recursive: true });
  spawner = spawn('bash', ['-c', SPAWN, 'bash', String(n), ...dirs], { stdio: 'ignore', detached: true });
  spawner.unref();
  const deadline = Date.now() + 300_000;
  for (let i = 0; i < n; ) {
    if (dirs.every((s) => procsOf(`${s}/c-${i}.scope`).length > 0)) i++;
    else if (Date.now() > deadline) throw new Error(`the sleep of c-${i}.scope did not join its cgroups`);
    else await sleep(50);
  }
}

/** Kills the sleeps and removes the cgroups; safe to call at any point (and again). */
export async function removeCgroups(): Promise<void> {
  if (spawner?.exitCode === null) spawner.kill('SIGKILL');
  const dirs = slices().filter((s) => existsSync(s));
  const scopes = dirs.flatMap((s) => readdirSync(s).filter((e) => e.endsWith('.scope')).map((e) => `${s}/${e}`));
  for (const d of [...scopes, ...dirs]) {
    for (let tries = 0; ; tries++) {
      for (const pid of procsOf(d)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      try {
        rmdirSync(d);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        // EBUSY until the killed sleep has left the cgroup.
        if (tries > 500) throw err;
        await sleep(20);
      }
    }
  }
}

/** ns on a CPU, summed over the threads of `pid`. */
export function cpuNs(pid: number): number {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1').split(' ', 1)[0]);
    } catch {
      // thread exited
    }
  }
  return total;
}

export interface Agent {
  url: string;
  proc: ChildProcess;
  health(): Promise<{ collector: { containers?: number; durationMs?: number } }>;
  stop(): Promise<void>;
}

/** Starts `cstats agent` from the built tree and waits until it samples at least `containers`. */
export async function startAgent(containers: number, args: string[] = []): Promise<Agent> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // Through its #! line, as users start it (node's flags and glibc's trim threshold, bin/cstats.js).
  const proc = spawn('bin/cstats.js', ['agent', '--no-persist', '--listen', `127.0.0.1:${port}`, '--quiet', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  const health = async () => (await (await fetch(`${url}/healthz`)).json()) as { collector: { containers?: number; durationMs?: number } };
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`agent exited with ${proc.exitCode}`);
    const n = await health().then(
      (h) => h.collector.containers ?? 0,
      () => -1,
    );
    if (n >= containers) break;
    if (Date.now() > deadline) throw new Error(`agent sampled ${n} of ${containers} containers after 120 s`);
    await sleep(250);
  }
  return {
    url,
    proc,
    health,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

/** Tick times (ms) of one container over the last `seconds`, from the agent's history. */
export async function tickTimes(agent: Agent, container: string, sinceMs: number): Promise<number[]> {
  const res = await fetch(`${agent.url}/api/v1/containers/${encodeURIComponent(container)}/history?metrics=pids&since=${sinceMs}`);
  return ((await res.json()) as { timestamps: number[] }).timestamps;
}

/** Stops the benchmark's children and cgroups on Ctrl-C or SIGTERM before exiting. */
export function cleanupOnSignal(cleanup: () => Promise<void>): void {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      void cleanup().finally(() => process.exit(130));
    });
  }
}

/**
 * Runs `body` against a real agent sampling `n` fresh plain cgroups (after 5 s, so the first
 * ticks, which open every file, have passed); the agent and the cgroups are removed afterwards,
 * also on Ctrl-C. A failure is printed and sets a non-zero exit code.
 */
export async function withBenchAgent(n: number, body: (agent: Agent) => Promise<void>): Promise<void> {
  await removeCgroups();
  let agent: Agent | undefined;
  const cleanup = async () => {
    await agent?.stop();
    await removeCgroups();
  };
  cleanupOnSignal(cleanup);
  try {
    await makeCgroups(n);
    agent = await startAgent(n);
    await sleep(5000);
    await body(agent);
  } catch (err) {
    console.log(`real-agent run failed: ${(err as Error).stack ?? err}`);
    process.exitCode = 1;
  } finally {
    await cleanup();
  }
}
