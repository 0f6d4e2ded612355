/**
 * What the integration tests share: a real agent process, the real docker CLI, polling.
 * These tests need root, a running dockerd and the busybox:local image (scripts/testbed.sh);
 * they fail, never skip, when those are missing.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { promisify } from 'node:util';

export const IMAGE = 'busybox:local';
const execFileP = promisify(execFile);

export function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export async function dockerAsync(...args: string[]): Promise<string> {
  const { stdout } = await execFileP('docker', args, { encoding: 'utf8' });
  return stdout.trim();
}

/** Runs a detached test container labelled for cleanup; returns its full id. */
export function run(name: string, args: string[], cmd: string[]): string {
  docker('rm', '-f', name);
  return docker('run', '-d', '--name', name, '--label', 'cstats.test=1', ...args, IMAGE, ...cmd);
}

export function removeTestContainers(): void {
  const ids = docker('ps', '-aq', '--filter', 'label=cstats.test=1');
  if (ids) docker('rm', '-f', ...ids.split('\n'));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastErr = err;
    }
    await sleep(stepMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${(lastErr as Error).message}` : ''}`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export interface AgentProcess {
  url: string;
  proc: ChildProcess;
  log: () => string;
  get<T = any>(path: string): Promise<T>;
  stop(): Promise<void>;
}

/** A spawned agent process: its output so far, and a stop that waits for it to exit. */
export interface SpawnedAgent {
  proc: ChildProcess;
  log: () => string;
  stop(): Promise<void>;
}

/**
 * Spawns `cstats agent ARGS` (node's own flags in nodeArgs) and waits until `ready()` holds (the
 * agent answers); on failure the agent is killed and its output is in the error.
 */
export async function spawnAgent(args: string[], ready: () => Promise<boolean>, timeoutMs = 20_000, nodeArgs: string[] = []): Promise<SpawnedAgent> {
  // Agents of tests side by side must not share (and lock) the default data directory: history
  // stays in memory unless a test names a directory of its own.
  const persist = args.some((a) => a.startsWith('--data-dir')) ? [] : ['--no-persist'];
  const proc = spawn(process.execPath, [...nodeArgs, 'bin/cstats.js', 'agent', ...persist, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.on('data', (c) => (output += c));
  proc.stderr!.on('data', (c) => (output += c));
  try {
    await waitFor('agent /healthz', async () => {
      if (proc.exitCode !== null) throw new Error(`agent exited with ${proc.exitCode}`);
      return (await ready()) || undefined;
    }, timeoutMs, 100);
  } catch (err) {
    proc.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\nagent output:\n${output}`);
  }
  return {
    proc,
    log: () => output,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

/** Starts `cstats agent` on a free loopback port and waits until it serves /healthz. */
export async function startAgent(extraArgs: string[] = [], nodeArgs: string[] = []): Promise<AgentProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(url + path);
    const text = await res.text();
    if (!res.ok) throw new Error(`${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  };
  const agent = await spawnAgent(['--listen', `127.0.0.1:${port}`, ...extraArgs], () => get('/healthz').then(() => true, () => false), 20_000, nodeArgs);
  return { url, get, ...agent };
}

/** One line of `docker stats --no-stream --format json`. */
export interface DockerStatsLine {
  ID: string;
  Name: string;
  CPUPerc: string;
  MemUsage: string;
  MemPerc: string;
  NetIO: string;
  BlockIO: string;
  PIDs: string;
}

export function dockerStats(...names: string[]): DockerStatsLine[] {
  return docker('stats', '--no-stream', '--format', '{{json .}}', ...names)
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as DockerStatsLine);
}

const UNITS: Record<string, number> = { B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 };

/** "40.3MiB" → bytes, as docker/go-units printed it. */
export function parseSize(text: string): number {
  const m = /^([\d.]+(?:e[+-]\d+)?)\s*([A-Za-z]+)$/.exec(text.trim());
  if (!m || UNITS[m[2]] === undefined) throw new Error(`not a size: ${JSON.stringify(text)}`);
  return Number(m[1]) * UNITS[m[2]];
}

export function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/**
 * Makes cgroup v1 count block I/O on the whole disk that holds `path`; returns its "MAJ:MIN".
 * Seen on 6.18: a device's blkio.throttle.* counters stay 0 until a throttle rule has been
 * written for it once; "MAJ:MIN 0" in the root cgroup is such a write and limits nothing.
 */
export function armBlkioAccounting(path: string): string {
  const dev = statSync(path, { bigint: true }).dev;
  // The kernel's new_encode_dev layout.
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  let sys = realpathSync(`/sys/dev/block/${major}:${minor}`);
  if (existsSync(`${sys}/partition`)) sys = realpathSync(`${sys}/..`);
  const disk = readFileSync(`${sys}/dev`, 'utf8').trim();
  writeFileSync('/sys/fs/cgroup/blkio/blkio.throttle.read_bps_device', `${disk} 0`);
  return disk;
}
