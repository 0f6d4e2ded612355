/**
 * What the filesystem pass over one Docker container's own mount namespace costs the agent
 * (src/collector/filesystems.ts, NamespaceMounts), two ways over the same containers: the
 * namespace's mount table worked out again at every pass (parsed, its mount points checked to be
 * directories: what the agent did before ae46f04), and as the agent does it, worked out again
 * only when its text changed. Both compare the namespace with the agent's own, read the table
 * and statfs what it holds. CPU from process.cpuUsage, the two in turns: the host's speed moves
 * from one minute to the next.
 */
import { NamespaceMounts } from '../../src/collector/filesystems.js';
import { run } from './children.js';
import { BENCH_LABEL } from './docker.js';
import { median } from '../stats.js';

const PASSES = 40;
const TURNS = 5;

export interface NamespacePassCost {
  containers: number;
  /** Medians over the turns, µs of CPU a container and pass. */
  everyPassUs: number;
  keptUs: number;
}

export async function measureNamespacePasses(): Promise<NamespacePassCost | undefined> {
  const ids = (await run('docker', ['ps', '-q', '--filter', `label=${BENCH_LABEL}`])).split('\n').filter((l) => l !== '');
  if (ids.length === 0) return undefined;
  const pids = (await run('docker', ['inspect', '-f', '{{.State.Pid}}', ...ids])).split('\n').filter((l) => l !== '').map(Number);
  const kept = pids.map(() => new NamespaceMounts());
  // A Docker container's writable layer is measured apart: its root is declared.
  const declared = new Set(['/']);
  const pass = (fresh: boolean): void => {
    for (let i = 0; i < pids.length; i++) (fresh ? new NamespaceMounts() : kept[i]).filesystems(pids[i], declared, false);
  };
  const cpuUs = (fresh: boolean): number => {
    pass(fresh);
    const c0 = process.cpuUsage();
    for (let p = 0; p < PASSES; p++) pass(fresh);
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / (PASSES * pids.length);
  };
  const every: number[] = [];
  const keptUs: number[] = [];
  for (let t = 0; t < TURNS; t++) {
    every.push(cpuUs(true));
    keptUs.push(cpuUs(false));
  }
  return { containers: pids.length, everyPassUs: median(every), keptUs: median(keptUs) };
}
