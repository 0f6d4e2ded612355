/**
 * /proc/diskstats for a container: the host's devices (names, order, column count) with the
 * container's own I/O from blkio (v1) or io.stat (v2). The cgroup counts operations and bytes
 * only: merges, times and queue depth are 0. Devices the container never touched are left out,
 * as LXCFS (proc_diskstats_read) does. LXCFS shows the host's file on cgroup v2; this works
 * from either.
 */
import { splitFields } from '../../kernel/parse.js';
import type { BlkioDeviceStats } from '../../kernel/types.js';

const SECTOR = 512n;

export function renderDiskstats(host: string, devices: readonly BlkioDeviceStats[]): string {
  const byDev = new Map(devices.map((d) => [`${d.major}:${d.minor}`, d]));
  const out: string[] = [];
  for (const line of host.split('\n')) {
    const f = splitFields(line);
    if (f.length < 14) continue;
    const d = byDev.get(`${f[0]}:${f[1]}`);
    if (!d || (d.reads | d.writes | d.readBytes | d.writeBytes | (d.discards ?? 0n)) === 0n) continue;
    const values = [d.reads, 0n, d.readBytes / SECTOR, 0n, d.writes, 0n, d.writeBytes / SECTOR, 0n, 0n, 0n, 0n];
    values.push(d.discards ?? 0n, 0n, (d.discardBytes ?? 0n) / SECTOR, 0n, 0n, 0n);
    out.push(`${f[0].padStart(4)} ${f[1].padStart(7)} ${f[2]} ${values.slice(0, f.length - 3).join(' ')}`);
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}
