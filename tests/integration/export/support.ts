/** What the remote_write integration tests share: an agent that exports, its /healthz section, its own history. */
import { spawnAgent, type SpawnedAgent } from '../support.js';

/** An agent (Docker containers only) writing to `writeUrl` with host=itest, a 2 s timeout, history fsynced every second. */
export async function startExportingAgent(port: number, dataDir: string, writeUrl: string): Promise<SpawnedAgent> {
  return spawnAgent(
    ['--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--no-cgroups', '--remote-write', writeUrl, '--remote-write-label', 'host=itest', '--remote-write-timeout', '2s', '--fsync-interval', '1s'],
    () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false),
  );
}

/** /healthz's section for one sink. */
export async function exportHealth(port: number, sink = 'remote_write-0'): Promise<{ queuedBytes: number; sentSamples: number; retries: number; oldestQueuedAgeSeconds: number | null }> {
  const h = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { exports: Record<string, any> };
  return h.exports[sink];
}

/** The agent's own sample times of a container (its history, from the data directory). */
export async function agentHistory(port: number, id: string, sinceMs: number, untilMs: number): Promise<{ timestamps: number[]; tier: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/containers/${id}/history?since=${sinceMs}&until=${untilMs}&metrics=cpu_cores`);
  return (await res.json()) as { timestamps: number[]; tier: string };
}
