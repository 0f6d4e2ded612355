/**
 * The holder: a small detached process that owns the FUSE connection. It opens /dev/fuse,
 * mounts, and runs the serving process (main.ts) with the descriptor as its fd 3, restarting it
 * whenever it exits. The kernel keeps a FUSE connection alive while any process holds the
 * descriptor, so neither an agent restart (the agent is not involved at all) nor the death of
 * the serving process breaks the files bind-mounted in containers: readers just wait the few
 * hundred milliseconds until a new serving process reads the queue. Requests the dead process
 * had taken but not answered are handed out again with FUSE_NOTIFY_RESEND (kernel 6.9, FUSE
 * 7.40); every request here is idempotent, so a duplicate is harmless.
 *
 * Signals: SIGHUP starts a new serving process (new code after an upgrade) and retires the old
 * one once the new one is ready; SIGTERM unmounts and exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { mountFuse, openFuseDevice, unmountFuse } from '../fuse/mount.js';
import { encodeNotify, NotifyCode, type Negotiated } from '../fuse/protocol.js';
import { EXIT_CONNECTION_GONE, runFiles, SERVER_SCRIPT, writeRunFile, type HolderConfig, type ProcfsState, type ServerConfig } from './config.js';


function main(): void {
  const config = JSON.parse(process.env.CSTATS_PROCFS_HOLDER ?? '{}') as HolderConfig;
  const files = runFiles(config.runDir);
  mkdirSync(config.runDir, { recursive: true, mode: 0o700 });
  rmSync(files.init, { force: true }); // a new connection negotiates anew
  const fd = openFuseDevice();
  mountFuse(fd, config.mountpoint);

  let current: ChildProcess;
  let starts = 0;
  let stopping = false;
  let lastStartMs = 0;
  let backoffMs = 0;

  const negotiated = (): Negotiated | undefined => {
    try {
      return JSON.parse(readFileSync(files.init, 'utf8')) as Negotiated;
    } catch {
      return undefined;
    }
  };

  const resend = (): void => {
    try {
      writeSync(fd, encodeNotify(NotifyCode.RESEND));
    } catch (err) {
      console.error('procfs holder: FUSE_NOTIFY_RESEND refused (kernel older than 6.9?):', (err as Error).message);
    }
  };

  const writeState = (): void => {
    const state: ProcfsState = {
      holderPid: process.pid,
      serverPid: current.pid ?? 0,
      mountpoint: config.mountpoint,
      serverStarts: starts,
      startedAt: new Date().toISOString(),
    };
    writeRunFile(files.state, state);
  };

  const start = (onReady?: () => void): ChildProcess => {
    const serverConfig: ServerConfig = {
      cfsCpus: config.cfsCpus,
      procRoot: config.procRoot,
      cpuOnlineFile: config.cpuOnlineFile,
      initFile: files.init,
      negotiated: negotiated(),
    };
    const child = spawn(process.execPath, [SERVER_SCRIPT], {
      stdio: ['ignore', 'pipe', 'inherit', fd],
      env: { ...process.env, CSTATS_PROCFS_SERVER: JSON.stringify(serverConfig) },
    });
    starts++;
    lastStartMs = Date.now();
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (line !== 'ready') return;
      if (child === current) writeState();
      onReady?.();
    });
    child.on('exit', (code, signal) => onExit(child, code, signal));
    return child;
  };

  const onExit = (child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void => {
    if (stopping) return;
    if (child !== current) {
      resend(); // a retired process: whatever it held goes to its successor
      return;
    }
    if (code === EXIT_CONNECTION_GONE) {
      console.error('procfs holder: the filesystem was unmounted; exiting');
      rmSync(files.state, { force: true });
      process.exit(0);
    }
    console.error(`procfs holder: serving process ${child.pid} exited (${signal ?? code}); restarting`);
    backoffMs = Date.now() - lastStartMs < 2000 ? Math.min(5000, backoffMs * 2 || 100) : 0;
    setTimeout(() => {
      current = start();
      resend();
    }, backoffMs);
  };

  process.on('SIGHUP', () => {
    const old = current;
    current = start(() => old.kill('SIGTERM'));
  });
  const stop = (): void => {
    stopping = true;
    unmountFuse(config.mountpoint);
    current.kill('SIGKILL');
    rmSync(files.state, { force: true });
    rmSync(files.init, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  current = start();
}

main();
