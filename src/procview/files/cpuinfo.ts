/**
 * /proc/cpuinfo and /sys/devices/system/cpu/online for a container: only its visible CPUs,
 * renumbered from 0 (LXCFS proc_cpuinfo_read does the same for the cpuset).
 */
import { formatCpuList } from '../cpus.js';

const PROCESSOR = /^processor\s*:\s*(\d+)\s*$/m;

/** The host's cpuinfo is one block per CPU, blocks separated by a blank line. */
export function renderCpuinfo(host: string, visible: readonly number[]): string {
  const index = new Map(visible.map((cpu, i) => [cpu, i]));
  const out: string[] = [];
  for (const block of host.split('\n\n')) {
    const m = PROCESSOR.exec(block);
    if (!m) continue;
    const i = index.get(Number(m[1]));
    if (i === undefined) continue;
    out.push(`${block.replace(PROCESSOR, `processor\t: ${i}`).replace(/\n+$/, '')}\n\n`);
  }
  return out.join('');
}

export function renderCpuOnline(visible: readonly number[]): string {
  return `${formatCpuList(visible.map((_, i) => i))}\n`;
}
