/** A real VictoriaMetrics (Debian's victoria-metrics) on its own port and storage directory, for the fleet tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from '../integration/support.js';

export const VM_BINARY = '/usr/bin/victoria-metrics';
export const haveVictoriaMetrics = existsSync(VM_BINARY);

export interface VictoriaMetrics {
  proc: ChildProcess;
  /** http://ADDRESS:PORT */
  url: string;
  stop(): Promise<void>;
}

/** Starts VictoriaMetrics listening on `address` (a host's veth address for agents in network namespaces). */
export async function startVictoriaMetrics(address = '127.0.0.1'): Promise<VictoriaMetrics> {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-vm-'));
  const port = await freePort();
  const proc = spawn(VM_BINARY, [`-storageDataPath=${dir}`, `-httpListenAddr=${address}:${port}`, '-retentionPeriod=1d', '-loggerLevel=ERROR'], { stdio: 'ignore' });
  const url = `http://${address}:${port}`;
  await waitFor('victoria-metrics ready', async () => (await fetch(`${url}/health`).catch(() => undefined))?.ok || undefined, 30_000, 200);
  return {
    proc,
    url,
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await new Promise((r) => proc.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
