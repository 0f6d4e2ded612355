/**
 * What one read of each kind of file costs a Node process: every file of the agent's open set,
 * grouped by name, read REPEAT times through a kept descriptor, until a read returns 0 (two
 * reads) and in one read. CPU from process.cpuUsage (user + system).
 */
import { closeSync, openSync } from 'node:fs';
import { readAt0, readOnce } from './baseline.js';

const REPEAT = 20;

export interface FileCost {
  name: string;
  files: number;
  bytes: number;
  untilEofUs: number;
  oneReadUs: number;
}

/** "memory.stat" for a cgroup file, "net/dev" for /proc/<pid>/net/dev, "stat" for /proc/stat. */
function kindOf(path: string): string {
  const proc = /^\/proc\/(?:\d+\/)?(.+)$/.exec(path);
  return proc ? `/proc/${proc[1]}` : path.slice(path.lastIndexOf('/') + 1);
}

function cpuUsPerRead(fds: number[], read: (fd: number) => string): number {
  const c0 = process.cpuUsage();
  for (let r = 0; r < REPEAT; r++) for (const fd of fds) read(fd);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / (REPEAT * fds.length);
}


export function measureFileCosts(paths: string[]): FileCost[] {
  const groups = new Map<string, string[]>();
  for (const p of paths) {
    const k = kindOf(p);
    groups.set(k, [...(groups.get(k) ?? []), p]);
  }
  const out: FileCost[] = [];
  for (const [name, group] of groups) {
    const fds: number[] = [];
    for (const p of group) {
      try {
        fds.push(openSync(p, 'r'));
      } catch {
        // gone since the agent opened it
      }
    }
    // Warm-up (JIT, the kernel's seq buffers), which also drops files that stopped reading
    // (ENODEV: a cgroup removed meanwhile, by anyone on a shared host).
    const readable = fds.filter((fd) => {
      try {
        readAt0(fd);
        return true;
      } catch {
        closeSync(fd);
        return false;
      }
    });
    fds.length = 0;
    fds.push(...readable);
    if (fds.length === 0) continue;
    cpuUsPerRead(fds, readAt0);
    const bytes = fds.reduce((sum, fd) => sum + readOnce(fd).length, 0) / fds.length;
    out.push({ name, files: fds.length, bytes, untilEofUs: cpuUsPerRead(fds, readAt0), oneReadUs: cpuUsPerRead(fds, readOnce) });
    for (const fd of fds) closeSync(fd);
  }
  return out.sort((a, b) => b.files * b.untilEofUs - a.files * a.untilEofUs);
}

export function formatFileCosts(costs: FileCost[], containers: number): string {
  const rows = costs.map((c) => `  ${c.name.padEnd(34)} ${String(c.files).padStart(6)} ${c.bytes.toFixed(0).padStart(7)} ${c.untilEofUs.toFixed(1).padStart(10)} ${c.oneReadUs.toFixed(1).padStart(9)}`);
  const per = (f: (c: FileCost) => number): string => (costs.reduce((s, c) => s + c.files * f(c), 0) / containers).toFixed(0);
  return [
    `  ${'file'.padEnd(34)} ${'files'.padStart(6)} ${'bytes'.padStart(7)} ${'µs to EOF'.padStart(10)} ${'µs 1 read'.padStart(9)}`,
    ...rows,
    `  per container: ${per((c) => c.untilEofUs)} µs reading to EOF, ${per((c) => c.oneReadUs)} µs with one read per file`,
  ].join('\n');
}
