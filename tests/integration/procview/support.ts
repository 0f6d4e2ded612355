/** What the procview integration tests share: a test mount, containers with the files bound. */
import { execFileSync } from 'node:child_process';
import { dockerArgs, runningState, startProcfs, type ProcfsHandle } from '../../../src/procview/index.js';
import { docker, IMAGE } from '../support.js';

/** Our own label: other integration tests clean up theirs (cstats.test) while these run. */
export const LABEL = 'cstats.procview.test=1';

export function removeProcviewContainers(): void {
  const ids = docker('ps', '-aq', '--filter', `label=${LABEL}`);
  if (ids) docker('rm', '-f', ...ids.split('\n'));
}

export const MOUNTPOINT = '/var/lib/cstats-test/procfs';
export const RUN_DIR = '/run/cstats-test';

/** A fresh mount for the test file: whatever a previous run left is stopped first. */
export async function freshProcfs(): Promise<ProcfsHandle> {
  if (runningState(RUN_DIR)) await (await startProcfs({ mountpoint: MOUNTPOINT, runDir: RUN_DIR })).stop();
  try {
    execFileSync('umount', ['-l', MOUNTPOINT], { stdio: 'ignore' });
  } catch {
    // nothing was mounted there
  }
  return startProcfs({ mountpoint: MOUNTPOINT, runDir: RUN_DIR });
}

/** Starts a labelled container with the cstats files bound over /proc and /sys. */
export function runWithProcfs(name: string, args: string[], cmd: string[]): string {
  docker('rm', '-f', name);
  return docker('run', '-d', '--name', name, '--label', LABEL, ...dockerArgs(MOUNTPOINT), ...args, IMAGE, ...cmd);
}

export function exec(name: string, script: string): string {
  return docker('exec', name, 'sh', '-c', script);
}

export const meminfoKb = (text: string, key: string): number => Number((new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text) ?? [])[1]);
