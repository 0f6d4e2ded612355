/**
 * What the dashboard and `cstats top` share: the wire shapes of the REST list and the stream
 * (read, never recomputed), how a container is named, grouped and matched by a filter, and the
 * figures each column shows, picked from the agent's derived figures. Pure: no DOM, no Node.
 */

/** The agent's derived figures of one container and of the host, as they go on the wire (all numbers). */
export type { DerivedJson as Derived, NetworkSource } from '../model.js';
export type { HostDerived } from '../derive/host.js';
import type { DerivedJson as Derived, NetworkSource } from '../model.js';
import type { HostDerived } from '../derive/host.js';

/** One entry of GET /api/v1/containers?all=1. */
export interface Summary {
  id: string;
  name: string;
  runtime: string;
  kind?: string;
  image: string;
  state: string;
  labels: Record<string, string>;
  pod?: { name?: string; namespace?: string; container?: string; sandbox: boolean };
  network?: NetworkSource;
  createdAt: string;
  startedAt?: string;
  removedAt?: string;
  sampledAt?: string;
  derived?: Derived;
  /** Fleet views only (src/fleet): the `host` label the container's series carry, and whether that host is down. */
  host?: string;
  hostDown?: boolean;
}

/** One `tick` event of GET /api/v1/stream. */
export interface Tick {
  timestamp: string;
  host?: HostDerived;
  containers: { id: string; name: string; derived?: Derived }[];
}

/** Figures are shown for running and paused containers only; others have none this tick. */
export const isLive = (c: Summary): boolean => c.state === 'running' || c.state === 'paused';

export type Unit = 'percent' | 'bytes' | 'bytesPerSecond' | 'count' | 'text';

export interface Column {
  key: string;
  /** Header in the page. */
  label: string;
  /** Header in `cstats top` (short). */
  short: string;
  unit: Unit;
  /** The figure, as the agent gave it; undefined when not measured. */
  value(c: Summary): number | string | undefined;
  title?: string;
}

const rate = (key: string) => (c: Summary) => (isLive(c) ? c.derived?.rates[key] : undefined);
const fig = (pick: (d: Derived) => number | undefined) => (c: Summary) => (isLive(c) && c.derived ? pick(c.derived) : undefined);
/** PSI "some" stall time per second (µs/s) as a percentage of the time. */
const psi = (key: string) => (c: Summary) => {
  const r = rate(key)(c);
  return r === undefined ? undefined : r / 1e4;
};

/** Every column of the overview, in order; `cstats top` shows a subset. */
export const COLUMNS: readonly Column[] = [
  { key: 'name', label: 'Name', short: 'NAME', unit: 'text', value: (c) => c.name },
  { key: 'runtime', label: 'Runtime', short: 'RUNTIME', unit: 'text', value: (c) => (c.kind && c.kind !== c.runtime ? `${c.runtime}/${c.kind}` : c.runtime) },
  { key: 'image', label: 'Image', short: 'IMAGE', unit: 'text', value: (c) => c.image },
  { key: 'state', label: 'State', short: 'STATE', unit: 'text', value: (c) => c.state },
  { key: 'cpuPercent', label: 'CPU %', short: 'CPU %', unit: 'percent', value: fig((d) => d.cpuPercent), title: "docker stats' CPU %: share of all CPUs × CPU count" },
  { key: 'cpuLimitPercent', label: 'CPU % limit', short: 'CPU%LIM', unit: 'percent', value: fig((d) => d.cpuLimitPercent), title: "CPU as % of the container's own quota (--cpus)" },
  { key: 'throttledPercent', label: 'Throttled', short: 'THROT', unit: 'percent', value: fig((d) => d.throttledPercent), title: 'share of CFS periods throttled this tick' },
  { key: 'memoryUsageBytes', label: 'Mem usage', short: 'MEM USAGE', unit: 'bytes', value: fig((d) => d.memoryUsageBytes), title: 'usage − inactive file, as docker stats' },
  { key: 'memoryLimitBytes', label: 'Mem limit', short: 'LIMIT', unit: 'bytes', value: fig((d) => d.memoryLimitBytes) },
  { key: 'memoryPercent', label: 'Mem %', short: 'MEM %', unit: 'percent', value: fig((d) => d.memoryPercent) },
  { key: 'workingSetBytes', label: 'Working set', short: 'WSET', unit: 'bytes', value: fig((d) => d.workingSetBytes) },
  { key: 'netRx', label: 'Net rx/s', short: 'RX/S', unit: 'bytesPerSecond', value: rate('net.rxBytes') },
  { key: 'netTx', label: 'Net tx/s', short: 'TX/S', unit: 'bytesPerSecond', value: rate('net.txBytes') },
  { key: 'blockRead', label: 'Block read/s', short: 'BLK R/S', unit: 'bytesPerSecond', value: rate('blkio.readBytes') },
  { key: 'blockWrite', label: 'Block write/s', short: 'BLK W/S', unit: 'bytesPerSecond', value: rate('blkio.writeBytes') },
  { key: 'pids', label: 'PIDs', short: 'PIDS', unit: 'count', value: fig((d) => d.pids) },
  { key: 'psiCpu', label: 'PSI cpu', short: 'PSI CPU', unit: 'percent', value: psi('pressure.cpu.someUs'), title: 'share of the tick in which some task waited for CPU (cgroup v2)' },
  { key: 'psiMemory', label: 'PSI mem', short: 'PSI MEM', unit: 'percent', value: psi('pressure.memory.someUs'), title: 'share of the tick in which some task waited for memory (cgroup v2)' },
  { key: 'psiIo', label: 'PSI io', short: 'PSI IO', unit: 'percent', value: psi('pressure.io.someUs'), title: 'share of the tick in which some task waited for I/O (cgroup v2)' },
];

export const columnByKey = (key: string): Column | undefined => COLUMNS.find((c) => c.key === key);

export type Grouping = 'none' | 'compose' | 'pod' | 'runtime';
export const GROUPINGS: readonly Grouping[] = ['none', 'pod', 'compose', 'runtime'];

/**
 * The group a container belongs to, as a label, or undefined for none. "pod": a Kubernetes pod
 * (namespace/name), or containers sharing one network namespace (`--network container:X`),
 * named after the container that owns it.
 */
export function groupOf(c: Summary, by: Grouping, byId: ReadonlyMap<string, Summary>): string | undefined {
  switch (by) {
    case 'none':
      return undefined;
    case 'compose':
      return c.labels['com.docker.compose.project'];
    case 'runtime':
      return c.kind && c.kind !== c.runtime ? `${c.runtime}/${c.kind}` : c.runtime;
    case 'pod': {
      if (c.pod?.name) return c.pod.namespace ? `${c.pod.namespace}/${c.pod.name}` : c.pod.name;
      if (c.network?.kind === 'shared') return byId.get(c.network.withId)?.name ?? c.network.withId.slice(0, 12);
      // The owner of a namespace others share is in their group.
      for (const other of byId.values()) if (other.network?.kind === 'shared' && other.network.withId === c.id) return c.name;
      return undefined;
    }
  }
}

/** Orders by a column: numbers numerically (unmeasured last), text by locale; ties by name. */
export function compareBy(col: Column, descending: boolean): (a: Summary, b: Summary) => number {
  const sign = descending ? -1 : 1;
  return (a, b) => {
    const va = col.value(a);
    const vb = col.value(b);
    let r: number;
    if (va === undefined || vb === undefined) r = va === vb ? 0 : va === undefined ? 1 : -1;
    else r = sign * (typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va).localeCompare(String(vb)));
    return r !== 0 ? r : a.name.localeCompare(b.name);
  };
}

/**
 * A filter: a case-insensitive regular expression over name, id, image, state, runtime, labels,
 * group and (in a fleet view) host; text that is not a valid expression is matched literally.
 */
export function matcher(text: string): (c: Summary) => boolean {
  if (text.trim() === '') return () => true;
  let re: RegExp;
  try {
    re = new RegExp(text, 'i');
  } catch {
    re = new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
  }
  return (c) => re.test(c.name) || re.test(c.id) || re.test(c.image) || re.test(c.state) || re.test(c.runtime) || (c.host !== undefined && re.test(c.host)) || Object.entries(c.labels).some(([k, v]) => re.test(`${k}=${v}`));
}

const IEC = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
const SI = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

/** Three significant figures in a unit of 1024 (sizes, as docker shows memory) or 1000 (rates, as docker shows I/O). */
function scaled(v: number, base: number, units: readonly string[]): string {
  let i = 0;
  while (Math.abs(v) >= base && i < units.length - 1) (v /= base), i++;
  return `${i === 0 ? Math.round(v) : v.toFixed(Math.abs(v) < 10 ? 2 : Math.abs(v) < 100 ? 1 : 0)} ${units[i]}`;
}

/** How a figure is shown; "–" for a figure the agent did not measure. */
export function formatValue(unit: Unit, v: number | string | undefined): string {
  if (v === undefined || (typeof v === 'number' && Number.isNaN(v))) return '–';
  if (typeof v === 'string') return v;
  switch (unit) {
    case 'percent':
      return `${v.toFixed(2)}%`;
    case 'bytes':
      return scaled(v, 1024, IEC);
    case 'bytesPerSecond':
      return `${scaled(v, 1000, SI)}/s`;
    case 'count':
      return String(Math.round(v));
    case 'text':
      return String(v);
  }
}

/** One alert pending or firing: an entry of GET /api/v1/alerts and of the stream's `alerts` event. */
export interface Alert {
  /** The rule's name. */
  alarm: string;
  source: string;
  alarmId: string;
  state: 'pending' | 'firing';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value: number;
  activeAt: string | null;
  firedAt: string | null;
  reason: string | null;
  /** The container it is about, as the REST API names it; null when its labels name none the agent knows. */
  container: { id: string; name: string } | null;
}

/** Prometheus' customary severities and aodh's, most urgent first; any other sorts after them. */
const SEVERITY_ORDER = ['critical', 'high', 'error', 'warning', 'moderate', 'medium', 'info', 'low'];
const severityRank = (a: Alert): number => {
  const i = SEVERITY_ORDER.indexOf(alertSeverity(a).toLowerCase());
  return i < 0 ? SEVERITY_ORDER.length : i;
};

/** The alert's severity label ('' when its rule gives none). */
export const alertSeverity = (a: Alert): string => a.labels.severity ?? '';

/** One line about the alert: its summary or description annotation, else the engine's reason. */
export const alertSummary = (a: Alert): string => a.annotations.summary ?? a.annotations.description ?? a.reason ?? '';

/** When the alert entered its state: firing since it fired, pending since it became active. */
export const alertSince = (a: Alert): string | null => (a.state === 'firing' ? (a.firedAt ?? a.activeAt) : a.activeAt);

/** Who the alert is about: the container's name, else the rule's name label, else "–". */
export const alertTarget = (a: Alert): string => a.container?.name ?? a.labels.name ?? '–';

/** The rule's value at the last evaluation, to four significant figures (rules compare raw numbers: no unit is known). */
export const alertValue = (a: Alert): string => (Number.isFinite(a.value) ? String(Number(a.value.toPrecision(4))) : String(a.value));

/** Firing before pending, then most urgent, then oldest first, then by rule and container. */
export function orderAlerts(alerts: readonly Alert[]): Alert[] {
  const at = (a: Alert): number => Date.parse(alertSince(a) ?? '') || 0;
  return [...alerts].sort(
    (a, b) => Number(a.state !== 'firing') - Number(b.state !== 'firing') || severityRank(a) - severityRank(b) || at(a) - at(b) || a.alarm.localeCompare(b.alarm) || alertTarget(a).localeCompare(alertTarget(b)),
  );
}

/** The firing alerts of each container, by container id. */
export function firingByContainer(alerts: readonly Alert[]): Map<string, Alert[]> {
  const out = new Map<string, Alert[]>();
  for (const a of alerts) {
    if (a.state !== 'firing' || !a.container) continue;
    const list = out.get(a.container.id);
    if (list) list.push(a);
    else out.set(a.container.id, [a]);
  }
  return out;
}

/** How long ago `iso` was, at `nowMs`: "45s", "12m 05s", "3h 02m", "2d 04h". */
export function age(iso: string | null, nowMs: number): string {
  const t = iso === null ? NaN : Date.parse(iso);
  if (Number.isNaN(t)) return '–';
  const s = Math.max(0, Math.floor((nowMs - t) / 1000));
  const two = (n: number) => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${two(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${two(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86400)}d ${two(Math.floor(s / 3600) % 24)}h`;
}
