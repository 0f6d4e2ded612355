/**
 * The processes the benchmark starts (agent, netdata, docker stats, baseline loops), each
 * logged to a file in the state directory and recorded in its pid list, so that a later
 * `cleanup` can end them even when the benchmark itself was killed.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';

/**
 * What names everything a benchmark makes (cgroup slice, Docker containers and their label,
 * the state directory), so that two benchmarks on one host (another engineer's, the soak beside
 * bench/collect) neither collide nor clean up each other's things: BENCH_PREFIX.
 */
export const PREFIX = process.env.BENCH_PREFIX || 'cstats-bench';
/** Logs, pid list and files of one benchmark: BENCH_STATE_DIR, else /tmp/<prefix>-collect. */
export const STATE_DIR = process.env.BENCH_STATE_DIR || `/tmp/${PREFIX}-collect`;
const PID_LIST = `${STATE_DIR}/pids`;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs a command to completion; rejects with its stderr on a non-zero exit. */
export function run(cmd: string, args: string[], timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

export function prepareStateDir(): void {
  mkdirSync(STATE_DIR, { recursive: true });
}

/** A process's command line, arguments joined by spaces; undefined once it exited. */
export function cmdlineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ');
  } catch {
    return undefined;
  }
}

export interface Started {
  name: string;
  child: ChildProcess;
  pid: number;
  log: string;
}

/** Starts a long-running process with its output in STATE_DIR/<name>.log. */
export function start(name: string, cmd: string, args: string[], env?: NodeJS.ProcessEnv): Started {
  const log = `${STATE_DIR}/${name}.log`;
  const fd = openSync(log, 'w');
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], env: env ?? process.env });
  closeSync(fd);
  // A spawn that fails (ENOENT) is thrown here, as the caller's error; its 'error' event, which
  // comes later, would otherwise end the benchmark before it cleans up.
  child.once('error', () => {});
  if (child.pid === undefined) throw new Error(`cannot start ${cmd}`);
  // The marker guards a later cleanup against a recycled pid.
  appendFileSync(PID_LIST, `${child.pid} ${cmd}\n`);
  return { name, child, pid: child.pid, log };
}

export function pause(p: Started): void {
  p.child.kill('SIGSTOP');
}

export function resume(p: Started): void {
  p.child.kill('SIGCONT');
}

export function running(p: Started): boolean {
  return p.child.exitCode === null && p.child.signalCode === null;
}

/** SIGTERM (after SIGCONT, should it be paused), then SIGKILL if it has not exited in time. */
export async function stop(p: Started, graceMs = 10_000): Promise<void> {
  if (!running(p)) return;
  const exited = new Promise<void>((r) => p.child.once('exit', () => r()));
  p.child.kill('SIGCONT');
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Ends whatever an earlier, interrupted run left behind, from its pid list. */
export function killRecorded(): number {
  let text: string;
  try {
    text = readFileSync(PID_LIST, 'latin1');
  } catch {
    return 0;
  }
  let killed = 0;
  for (const line of text.split('\n')) {
    const m = /^(\d+) (.+)$/.exec(line);
    if (!m) continue;
    const pid = Number(m[1]);
    // A script started through its #! line runs as "<interpreter> [options] <script>".
    if (!cmdlineOf(pid)?.split(' ').includes(m[2])) continue;
    try {
      process.kill(pid, 'SIGCONT');
      process.kill(pid, 'SIGKILL');
      killed++;
    } catch {
      // exited meanwhile
    }
  }
  rmSync(PID_LIST, { force: true });
  return killed;
}

/** A non-negative number from the environment, or `fallback` when unset. */
export function envNumber(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}: expected a number, got ${JSON.stringify(v)}`);
  return n;
}

/**
 * On SIGINT or SIGTERM, runs `cleanup` once and exits with 130. Returns whether that happened,
 * so that the normal path does not clean up a second time.
 */
export function cleanUpOnSignal(note: (msg: string) => void, cleanup: () => Promise<void>): () => boolean {
  let interrupted = false;
  const onSignal = (sig: string): void => {
    if (interrupted) return;
    interrupted = true;
    note(`${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  return () => interrupted;
}
