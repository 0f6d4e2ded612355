/**
 * What the cAdvisor-shaped surfaces (cAdvisor REST, /metrics, kubelet summary) read when asked
 * rather than from samples: the process count of each container (a walk of cgroup.procs files,
 * too costly for every tick) and the machine's identity (files that do not change while the
 * agent runs).
 */
import { readFileSync } from 'node:fs';
import { processCount } from '../collector/process-counts.js';
import type { ContainerEntry } from '../store/store.js';

/**
 * Containers counted between yields to the event loop. A count is a read and a stat per cgroup,
 * some 30 µs: 1000 containers take about 30 ms of CPU, in slices of a few milliseconds (through
 * fs.promises the same took 300 ms, the thread pool's round trips).
 */
const SLICE = 100;

/**
 * The process count of each container of `entries` by id; a container whose cgroup is gone or
 * unreadable has none (the surfaces then leave the figure out). Where the latest sample counted
 * at most one task in the cgroup tree (pids.current is hierarchical), that is the count, unread.
 */
export async function readProcessCounts(entries: readonly ContainerEntry[]): Promise<Map<string, bigint>> {
  const counts = new Map<string, bigint>();
  let read = 0;
  for (const { info, latest } of entries) {
    if (++read % SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
    const n = processCount(info, latest);
    if (n !== undefined) counts.set(info.id, n);
  }
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
