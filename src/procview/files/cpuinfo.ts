/**
 * /proc/cpuinfo and /sys/devices/system/cpu/online for a container: only the CPUs it can run
 * on, under the host's own numbers. The kernel's files list online CPUs only, gaps included (a
 * host with CPU 0 offline shows "processor : 1" alone and online "1"), so this is a shape every
 * reader already handles. Renumbering from 0, as LXCFS does (proc_cpuinfo_read), breaks any
 * program that pins itself to what it read: `taskset -c $(cat .../online)`, a JVM, numactl or a
 * thread pool asks sched_setaffinity(2) for CPUs outside the cpuset and gets EINVAL.
 */
import { formatCpuList } from '../cpus.js';

const PROCESSOR = /^processor\s*:\s*(\d+)\s*$/m;

/** The host's cpuinfo is one block per CPU, blocks separated by a blank line. */
export function renderCpuinfo(host: string, visible: readonly number[]): string {
  const shown = new Set(visible);
  const out: string[] = [];
  for (const block of host.split('\n\n')) {
    const m = PROCESSOR.exec(block);
    if (!m || !shown.has(Number(m[1]))) continue;
    out.push(`${block.replace(/\n+$/, '')}\n\n`);
  }
  return out.join('');
}

export function renderCpuOnline(visible: readonly number[]): string {
  return `${formatCpuList(visible)}\n`;
}
