/** What the procview integration tests share: a test mount, containers with the files bound. */
import { execFileSync } from 'node:child_process';
import { dockerArgs, runningState, startProcfs, type ProcfsHandle } from '../../../src/procview/index.js';
import { FS_TYPE, mountedType, unmountFuse } from '../../../src/procview/fuse/mount.js';
import { docker, IMAGE } from '../support.js';

/** Our own label: other integration tests clean up theirs (cstats.test) while these run. */
export const LABEL = 'cstats.procview.test=1';

export function removeProcviewContainers(label = LABEL): void {
  const ids = docker('ps', '-aq', '--filter', `label=${label}`);
  if (ids) docker('rm', '-f', ...ids.split('\n'));
}

export const MOUNTPOINT = '/var/lib/cstats-test/procfs';
export const RUN_DIR = '/run/cstats-test';

/**
 * Stops the holder of `runDir` if it serves `mountpoint`, and clears a mount left there. A holder
 * serving another mountpoint is someone else's: that is an error, and it is left alone.
 */
export async function stopProcfs(mountpoint = MOUNTPOINT, runDir = RUN_DIR): Promise<void> {
  const running = runningState(runDir);
  if (running && running.mountpoint !== mountpoint) {
    throw new Error(`procfs in ${runDir} serves ${running.mountpoint}, not the test's ${mountpoint}: not touching it`);
  }
  if (running) await (await startProcfs({ mountpoint, runDir })).stop();
  if (mountedType(mountpoint) === FS_TYPE) unmountFuse(mountpoint);
}

/** A fresh mount for the test file: whatever a previous run left is stopped first. */
export async function freshProcfs(mountpoint = MOUNTPOINT, runDir = RUN_DIR): Promise<ProcfsHandle> {
  await stopProcfs(mountpoint, runDir);
  return startProcfs({ mountpoint, runDir });
}

/** Starts a labelled container with the files under `mountpoint` bound over /proc and /sys. */
export function runWithProcfs(name: string, args: string[], cmd: string[], { mountpoint = MOUNTPOINT, label = LABEL } = {}): string {
  docker('rm', '-f', name);
  return docker('run', '-d', '--name', name, '--label', label, ...dockerArgs(mountpoint), ...args, IMAGE, ...cmd);
}

export function exec(name: string, script: string): string {
  return docker('exec', name, 'sh', '-c', script);
}

/** `cstats procfs ARGS...` as a user runs it; returns stdout, throws with stderr on failure. */
export function cstatsProcfs(...args: string[]): string {
  return execFileSync(process.execPath, ['bin/cstats.js', 'procfs', ...args], { encoding: 'utf8', timeout: 60_000 });
}

export const meminfoKb = (text: string, key: string): number => Number((new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text) ?? [])[1]);

