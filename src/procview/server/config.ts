/** What the agent, the holder and the serving process share: configuration, files, exit codes. */
import { renameSync, writeFileSync } from 'node:fs';
import type { Negotiated } from '../fuse/protocol.js';

/** The serving process finds the /dev/fuse connection here. */
export const FUSE_FD = 3;
/** Exit status meaning "the connection is gone (unmounted)": the holder stops too. */
export const EXIT_CONNECTION_GONE = 3;

export interface HolderConfig {
  mountpoint: string;
  runDir: string;
  cfsCpus: boolean;
  procRoot: string;
  cpuOnlineFile: string;
}

export interface ServerConfig {
  cfsCpus: boolean;
  procRoot: string;
  cpuOnlineFile: string;
  /** Where the serving process records the INIT negotiation for its successors. */
  initFile: string;
  /** Set for a successor: the connection is already initialised. */
  negotiated?: Negotiated;
}

/** What `cstats procfs status` and a restarting agent read. */
export interface ProcfsState {
  holderPid: number;
  serverPid: number;
  mountpoint: string;
  /** Serving processes started so far, the first included. */
  serverStarts: number;
  startedAt: string;
}

export function runFiles(runDir: string): { state: string; init: string; log: string } {
  return { state: `${runDir}/procfs.json`, init: `${runDir}/procfs-init.json`, log: `${runDir}/procfs.log` };
}

export const HOLDER_SCRIPT = new URL('./holder.js', import.meta.url).pathname;
export const SERVER_SCRIPT = new URL('./main.js', import.meta.url).pathname;

/**
 * Replaces a run file whole (write aside, then rename): a reader never sees it half written. A
 * truncated state file would read as "no holder", and startProcfs would then clear the live
 * mount as a stale one.
 */
export function writeRunFile(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value));
  renameSync(tmp, path);
}
