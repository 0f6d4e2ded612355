/**
 * What the cAdvisor-shaped surfaces (cAdvisor REST, /metrics, kubelet summary) read when asked
 * rather than from samples: the process count of each container (a walk of cgroup.procs files,
 * too costly for every tick) and the machine's identity (files that do not change while the
 * agent runs).
 */
import { readFileSync } from 'node:fs';
import { countProcesses } from '../kernel/cgroup/procs.js';
import type { ContainerInfo } from '../model.js';

/** Reads in flight at once: enough to hide the latency of each, few enough to leave the thread pool to others. */
const CONCURRENT_READS = 4;

/**
 * Each container's process count by id; a container whose cgroup is gone or unreadable has
 * none (the surfaces then leave the figure out).
 */
export async function readProcessCounts(infos: readonly ContainerInfo[]): Promise<Map<string, bigint>> {
  const counts = new Map<string, bigint>();
  const pending = [...infos];
  const worker = async (): Promise<void> => {
    for (let info = pending.pop(); info !== undefined; info = pending.pop()) {
      const where = info.cgroup.version === 1 ? info.cgroup.dirs : info.cgroup.dir;
      const n = await countProcesses(where).catch(() => undefined);
      if (n !== undefined) counts.set(info.id, BigInt(n));
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENT_READS, pending.length) }, worker));
  return counts;
}

/** cAdvisor's MachineInfo identity: also the labels of its machine_* series. */
export interface MachineIdentity {
  machineId: string;
  systemUuid: string;
  bootId: string;
}

/** Where cAdvisor reads each of them; the first readable file of a list wins. */
export const IDENTITY_FILES = {
  machineId: ['/etc/machine-id', '/var/lib/dbus/machine-id'],
  // Absent without DMI (many VMs, ARM boards) and readable by root only: then empty, as in cAdvisor.
  systemUuid: ['/sys/class/dmi/id/product_uuid'],
  bootId: ['/proc/sys/kernel/random/boot_id'],
};

function firstReadable(paths: readonly string[]): string {
  for (const path of paths) {
    try {
      return readFileSync(path, 'utf8').trim();
    } catch {
      // the next candidate, or empty
    }
  }
  return '';
}

export function readMachineIdentity(files: Record<keyof MachineIdentity, readonly string[]> = IDENTITY_FILES): MachineIdentity {
  return { machineId: firstReadable(files.machineId), systemUuid: firstReadable(files.systemUuid), bootId: firstReadable(files.bootId) };
}
