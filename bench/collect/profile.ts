/**
 * Summary of a V8 CPU profile (node --cpu-prof): where the time goes, by function (self and
 * inclusive time) and by file, idle time left out.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Hotspot {
  where: string;
  selfMs: number;
  totalMs: number;
}

export interface ProfileSummary {
  busyMs: number;
  functions: Hotspot[];
  files: Hotspot[];
}

function shortUrl(url: string): string {
  const i = url.indexOf('/dist/');
  return i >= 0 ? url.slice(i + '/dist/'.length) : url.replace(/^file:\/\//, '').replace(/^node:/, 'node:');
}

/** `skipS`: the profile's first seconds are left out (samples are timed by the sum of the deltas before them). */
export function summarizeProfile(path: string, skipS = 0): ProfileSummary {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let atUs = 0;
  p.samples.forEach((id, i) => {
    const us = p.timeDeltas[i] ?? 0;
    atUs += us;
    if (atUs >= skipS * 1e6) selfUs.set(id, (selfUs.get(id) ?? 0) + us);
  });

  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const fnKey = (n: ProfileNode): string => `${n.callFrame.functionName || '(anonymous)'} ${shortUrl(n.callFrame.url)}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
  const fileKey = (n: ProfileNode): string => shortUrl(n.callFrame.url) || n.callFrame.functionName;

  const fns = new Map<string, Hotspot>();
  const files = new Map<string, Hotspot>();
  const entry = (m: Map<string, Hotspot>, k: string): Hotspot => {
    let h = m.get(k);
    if (!h) m.set(k, (h = { where: k, selfMs: 0, totalMs: 0 }));
    return h;
  };
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    if (node.callFrame.functionName === '(idle)') continue;
    busyUs += us;
    entry(fns, fnKey(node)).selfMs += us / 1000;
    entry(files, fileKey(node)).selfMs += us / 1000;
    // Inclusive time: every distinct function and file on the stack once.
    const seenFns = new Set<string>();
    const seenFiles = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur)!;
      const fk = fnKey(n);
      const pk = fileKey(n);
      if (!seenFns.has(fk)) (seenFns.add(fk), (entry(fns, fk).totalMs += us / 1000));
      if (!seenFiles.has(pk)) (seenFiles.add(pk), (entry(files, pk).totalMs += us / 1000));
    }
  }
  const bySelf = (a: Hotspot, b: Hotspot): number => b.selfMs - a.selfMs;
  return { busyMs: busyUs / 1000, functions: [...fns.values()].sort(bySelf), files: [...files.values()].sort(bySelf) };
}

export function formatSummary(s: ProfileSummary, top: number): string {
  const pct = (ms: number): string => `${((100 * ms) / s.busyMs).toFixed(1).padStart(5)} %`;
  const rows = (list: Hotspot[]): string =>
    list
      .filter((h) => h.where !== '(root)')
      .slice(0, top)
      .map((h) => `  self ${pct(h.selfMs)}  total ${pct(h.totalMs)}  ${h.where}`)
      .join('\n');
  return `busy ${s.busyMs.toFixed(0)} ms\nby function (self time):\n${rows(s.functions)}\nby file (self time):\n${rows(s.files)}\n`;
}
