/**
 * The library face of procview: `startProcfs` makes sure the filesystem is mounted and served,
 * starting the detached holder (server/holder.ts) when none is running and reusing it when one
 * is: an agent that restarts finds it still there, and containers never notice.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { FS_TYPE, mountedType, unmountFuse } from './fuse/mount.js';
import { filePaths } from './procfs.js';
import { HOLDER_SCRIPT, runFiles, type HolderConfig, type ProcfsState } from './server/config.js';

export const DEFAULT_MOUNTPOINT = '/var/lib/cstats/procfs';
export const DEFAULT_RUN_DIR = '/run/cstats';

export interface ProcfsOptions {
  /** Where the filesystem is mounted (default /var/lib/cstats/procfs). */
  mountpoint?: string;
  /** Holder pid, state and log files (default /run/cstats). */
  runDir?: string;
  /** Show no more CPUs than ceil(CFS quota / period) (default true; --no-cfs-cpus). */
  cfsCpus?: boolean;
  /** How long to wait for the mount, ms (default 30 s: a loaded host starts node slowly). */
  timeoutMs?: number;
}

export interface ProcfsHandle {
  mountpoint: string;
  holderPid: number;
  /** True when an already running holder was found and kept. */
  reused: boolean;
  /** Replaces the serving process with one running the code now installed; no unmount. */
  reload(): Promise<void>;
  /** Unmounts and stops the holder: containers that bind-mounted the files lose them. */
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether `pid` is a live process (or a zombie not yet reaped). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function readState(runDir = DEFAULT_RUN_DIR): ProcfsState | undefined {
  try {
    return JSON.parse(readFileSync(runFiles(runDir).state, 'utf8')) as ProcfsState;
  } catch {
    return undefined;
  }
}

/** The running holder for `runDir`, if its process is alive, is ours, and its mount is there. */
export function runningState(runDir = DEFAULT_RUN_DIR): ProcfsState | undefined {
  const state = readState(runDir);
  if (!state || !alive(state.holderPid)) return undefined;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${state.holderPid}/cmdline`, 'utf8');
  } catch {
    return undefined;
  }
  if (!cmdline.includes(HOLDER_SCRIPT)) return undefined;
  return mountedType(state.mountpoint) === FS_TYPE ? state : undefined;
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`procfs: timed out waiting for ${what}`);
    await sleep(25);
  }
}

function handle(state: ProcfsState, runDir: string, reused: boolean, timeoutMs: number): ProcfsHandle {
  return {
    mountpoint: state.mountpoint,
    holderPid: state.holderPid,
    reused,
    async reload() {
      const before = readState(runDir)?.serverPid;
      process.kill(state.holderPid, 'SIGHUP');
      await waitFor('the new serving process', timeoutMs, () => {
        const now = readState(runDir)?.serverPid;
        return now !== undefined && now !== before ? true : undefined;
      });
    },
    async stop() {
      if (alive(state.holderPid)) process.kill(state.holderPid, 'SIGTERM');
      await waitFor('the holder to exit', timeoutMs, () => (alive(state.holderPid) ? undefined : true));
    },
  };
}

export async function startProcfs(opts: ProcfsOptions = {}): Promise<ProcfsHandle> {
  const runDir = opts.runDir ?? DEFAULT_RUN_DIR;
  const mountpoint = opts.mountpoint ?? DEFAULT_MOUNTPOINT;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const running = runningState(runDir);
  if (running) {
    if (running.mountpoint !== mountpoint) {
      throw new Error(`procfs: already mounted at ${running.mountpoint} by holder ${running.holderPid} (run dir ${runDir})`);
    }
    return handle(running, runDir, true, timeoutMs);
  }
  // A mount left by a holder that was killed answers ENOTCONN: clear it before mounting anew.
  if (mountedType(mountpoint) === FS_TYPE) unmountFuse(mountpoint);
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
  const config: HolderConfig = {
    mountpoint,
    runDir,
    cfsCpus: opts.cfsCpus ?? true,
    procRoot: '/proc',
    cpuOnlineFile: '/sys/devices/system/cpu/online',
  };
  const log = openSync(runFiles(runDir).log, 'a');
  const holder = spawn(process.execPath, [HOLDER_SCRIPT], {
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, CSTATS_PROCFS_HOLDER: JSON.stringify(config) },
  });
  closeSync(log);
  holder.unref();
  let exited: number | null | undefined;
  holder.on('exit', (code) => (exited = code));
  const state = await waitFor('the mount', timeoutMs, () => {
    if (exited !== undefined) throw new Error(`procfs: holder exited (${exited}); see ${runFiles(runDir).log}`);
    const s = readState(runDir);
    return s && s.holderPid === holder.pid && mountedType(mountpoint) === FS_TYPE ? s : undefined;
  });
  return handle(state, runDir, false, timeoutMs);
}

/** The `docker run` options that put every file over its /proc or /sys counterpart. */
export function dockerArgs(mountpoint = DEFAULT_MOUNTPOINT): string[] {
  return filePaths().flatMap((p) => ['-v', `${mountpoint}/${p}:/${p}:ro`]);
}
