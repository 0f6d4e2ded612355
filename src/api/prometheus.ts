/**
 * GET /metrics: every running container's latest sample in cAdvisor's metric names, types, help
 * texts and labels (google/cadvisor lib/metrics/prometheus.go), so dashboards and alert rules
 * written for cAdvisor work unchanged.
 *
 * Label schema: id (the cgroup path, as cAdvisor), name, image; container_label_<key> only for
 * the keys of --prometheus-labels (copying every label onto every series cost cAdvisor's users
 * gigabytes, its issue 2313); pod, namespace and container for Kubernetes containers, as the
 * kubelet's cAdvisor endpoint adds them. An empty value is left out, which Prometheus treats the
 * same as an absent label. No sample timestamps: the scrape time is the sample time, which
 * keeps Prometheus' staleness handling working (cAdvisor issues 2526 and 3217).
 *
 * Machine series carry cAdvisor's machine_id, system_uuid and boot_id labels.
 *
 * The body changes once per tick, so it is rendered once per tick (on the first scrape after it)
 * and kept, with its gzip form made on first request on zlib's thread pool. Rendering writes bytes
 * into a reused buffer rather than building strings: about 50 ms of CPU for 1000 containers and
 * 62,000 series (bench/scrape). container_processes comes from cgroup.procs files, read
 * asynchronously before that render rather than in the sampling loop.
 */
import { gzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { ServerResponse } from 'node:http';
import type { ContainerInfo, HostSample, LayerUsage, Sample } from '../model.js';
import { readMachineIdentity, readMachineInventory, type MachineIdentity, type MachineInventory } from '../collector/machine.js';
import { readProcessCounts } from '../collector/process-counts.js';
import type { ContainerEntry, Store } from '../store/store.js';
import { workingSet } from '../derive/docker.js';
import { deviceNames } from '../kernel/proc/diskstats.js';
import { acceptsGzip, type Router } from './http.js';
import { CONTENT_TYPE, escapeHelp, renderLabels, sanitizeLabelName, scaledDecimal, type MetricType } from './prometheus-text.js';

const gzipAsync = promisify(gzip);

export interface PrometheusOptions {
  /** Container label keys exported as container_label_<sanitized key>. */
  labelAllowlist: readonly string[];
  /** The machine's identity for the machine_* labels; read from the host's files when not given. */
  machine?: MachineIdentity;
  /** The machine's cores and sockets; read from sysfs and cpuinfo when not given. */
  hardware?: MachineHardware;
  /** More families (the agent's own, e.g. the alarm engine's), appended to each render. */
  tail?: () => string;
}

/** One container as the families see it. */
interface View {
  info: ContainerInfo;
  sample: Sample;
  /** Rendered base labels: `id="...",image="...",name="..."`, UTF-8. */
  labels: Buffer;
  /** Block device names by "major:minor", from the host's /proc/diskstats. */
  devices: ReadonlyMap<string, string>;
  /** Processes in its cgroup, when counted for this render. */
  processes?: bigint;
}

const NO_BYTES: Buffer = Buffer.alloc(0);

/**
 * Writes the exposition straight into one growing buffer. A series line is three copies: the
 * family's "name{" and the container's labels, both encoded once per render, then the short
 * rest ("} 12345\n"). Building it as JavaScript strings instead spent most of its time
 * allocating and flattening 12 MB of concatenations at 1000 containers.
 */
class ExpositionWriter {
  private buf: Buffer;
  private len = 0;
  private name: Buffer = NO_BYTES;
  private open: Buffer = NO_BYTES;
  private header?: Buffer;
  private labels: Buffer = NO_BYTES;

  /** Writes into `into` (growing past it when it is too small), or into a new buffer. */
  constructor(into: Buffer | undefined) {
    this.buf = into ?? Buffer.allocUnsafe(1 << 16);
  }

  /** Starts a family; its HELP and TYPE lines are written before its first series only. */
  begin(name: string, help: string, type: MetricType): void {
    this.name = Buffer.from(name);
    this.open = Buffer.from(`${name}{`);
    this.header = Buffer.from(`# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`);
  }

  /** The base labels of the series that follow (`id="...",name="..."`), empty for machine series. */
  container(labels: Buffer): void {
    this.labels = labels;
  }

  /** A container series' value (SeriesSink). */
  value(x: bigint, extra = '', digits: Digits = 0): void {
    this.series(formatValue(x, digits), extra);
  }

  /** One series: `extra` holds the family's own labels (`interface="eth0"`), or is empty. */
  series(value: string, extra = ''): void {
    if (this.header) {
      this.bytes(this.header);
      this.header = undefined;
    }
    if (this.labels.length === 0 && extra === '') {
      this.bytes(this.name);
      this.text(` ${value}\n`);
      return;
    }
    this.bytes(this.open);
    this.bytes(this.labels);
    this.text(`${this.labels.length > 0 && extra !== '' ? ',' : ''}${extra}} ${value}\n`);
  }

  /** Text written as it is (whole families rendered elsewhere). */
  raw(text: string): void {
    this.text(text);
  }

  /** The whole buffer written into, and the exposition: a view of its start. */
  result(): { buffer: Buffer; body: Buffer } {
    return { buffer: this.buf, body: this.buf.subarray(0, this.len) };
  }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  private bytes(b: Buffer): void {
    this.room(b.length);
    this.len += b.copy(this.buf, this.len);
  }

  private text(s: string): void {
    this.room(s.length * 3);
    this.len += this.buf.write(s, this.len, 'utf8');
  }
}

/**
 * A value's decimal scale: the integer x stands for x / 10^digits (ns to seconds is 9, µs to
 * seconds 6), written exactly in the exposition (scaledDecimal).
 */
export type Digits = 0 | 6 | 9;

/** The exposition's text of a value. */
export function formatValue(x: bigint, digits: Digits): string {
  return digits === 0 ? String(x) : scaledDecimal(x, digits);
}

/** Where a family writes its series: the exposition, or forEachContainerValue (alarms, remote_write). */
interface SeriesSink {
  value(x: bigint, extra?: string, digits?: Digits): void;
}

interface Family {
  name: string;
  help: string;
  type: MetricType;
  write(v: View, w: SeriesSink): void;
}

type Pick = (v: View) => bigint | undefined;

/** A family with one series per container, the value an exact integer or seconds from ns/µs. */
function single(type: MetricType, name: string, help: string, pick: Pick, digits: Digits = 0): Family {
  return {
    name,
    help,
    type,
    write(v, w) {
      const x = pick(v);
      if (x !== undefined) w.value(x, '', digits);
    },
  };
}

const gauge = (name: string, help: string, pick: Pick): Family => single('gauge', name, help, pick);
const counter = (name: string, help: string, pick: Pick): Family => single('counter', name, help, pick);
const secondsCounter = (name: string, help: string, pickNs: Pick): Family => single('counter', name, help, pickNs, 9);

const cpu = (v: View) => v.sample.cgroup.cpu;
const mem = (v: View) => v.sample.cgroup.memory;
/** CFS figures mean something only under a quota: cAdvisor emits them only when one is set. */
const underQuota = (v: View): boolean => typeof cpu(v)?.quotaUs === 'bigint';

/** A memory.stat key: the hierarchical total_* key on v1 (none: v1 lacks it), the (always hierarchical) v2 key. */
const memStat =
  (v1Key: string | undefined, v2Key: string): Pick =>
  (v) => {
    const key = v.info.cgroup.version === 1 ? v1Key : v2Key;
    return key === undefined ? undefined : mem(v)?.stat?.[key];
  };

/** cAdvisor's conversion of cgroup v2 cpu.weight [1, 10000] to v1 shares [2, 262144]. */
export function weightToShares(weight: bigint): bigint {
  return 2n + ((weight - 1n) * 262142n) / 9999n;
}

/** Interfaces cAdvisor leaves out of container network figures (its ignoredDevicePrefixes). */
const IGNORED_INTERFACES = /^(lo|veth|docker|nerdctl)/;

type NetField = 'rxBytes' | 'rxPackets' | 'rxErrors' | 'rxDropped' | 'txBytes' | 'txPackets' | 'txErrors' | 'txDropped';

function network(name: string, help: string, field: NetField): Family {
  return {
    name,
    help,
    type: 'counter',
    write(v, w) {
      for (const i of v.sample.network ?? []) {
        if (!IGNORED_INTERFACES.test(i.name)) w.value(i[field], renderLabels([['interface', i.name]]));
      }
    },
  };
}

type IoField = 'readBytes' | 'writeBytes' | 'reads' | 'writes';

function deviceName(v: View, major: number, minor: number): string {
  const key = `${major}:${minor}`;
  return v.devices.get(key) ?? key;
}

function blockIo(name: string, help: string, field: IoField): Family {
  return {
    name,
    help,
    type: 'counter',
    write(v, w) {
      for (const d of v.sample.cgroup.blkio?.devices ?? []) w.value(d[field], renderLabels([['device', deviceName(v, d.major, d.minor)]]));
    },
  };
}

/** A figure of the writable layer's walk, on the container's root filesystem device; none before the first walk. */
function layer(name: string, help: string, type: MetricType, pick: (u: LayerUsage) => bigint): Family {
  return {
    name,
    help,
    type,
    write(v, w) {
      const u = v.sample.layerUsage;
      const fs = u && v.sample.filesystems?.find((f) => f.role === 'rootfs');
      if (u && fs) w.value(pick(u), renderLabels([['device', fs.device]]));
    },
  };
}

type Resource = 'cpu' | 'memory' | 'io';

function pressure(resource: Resource, line: 'some' | 'full', name: string, help: string): Family {
  return single('counter', name, help, (v) => v.sample.cgroup.pressure?.[resource]?.[line]?.totalUs, 6);
}

const seconds = (ms: number): bigint => BigInt(Math.floor(ms / 1000));

/** Container families, each with cAdvisor's name, type and help text. */
const CONTAINER_FAMILIES: Family[] = [
  {
    name: 'container_cpu_usage_seconds_total',
    help: 'Cumulative cpu time consumed in seconds.',
    type: 'counter',
    // cAdvisor's per-CPU series are off by default (--disable_metrics=percpu): one series, cpu="total".
    write(v, w) {
      const ns = cpu(v)?.usageNs;
      if (ns !== undefined) w.value(ns, 'cpu="total"', 9);
    },
  },
  secondsCounter('container_cpu_user_seconds_total', 'Cumulative user cpu time consumed in seconds.', (v) => cpu(v)?.userNs),
  secondsCounter('container_cpu_system_seconds_total', 'Cumulative system cpu time consumed in seconds.', (v) => cpu(v)?.systemNs),
  counter('container_cpu_cfs_periods_total', 'Number of elapsed enforcement period intervals.', (v) => (underQuota(v) ? cpu(v)?.periods : undefined)),
  counter('container_cpu_cfs_throttled_periods_total', 'Number of throttled period intervals.', (v) => (underQuota(v) ? cpu(v)?.throttledPeriods : undefined)),
  secondsCounter('container_cpu_cfs_throttled_seconds_total', 'Total time duration the container has been throttled.', (v) =>
    underQuota(v) ? cpu(v)?.throttledNs : undefined,
  ),
  gauge('container_memory_usage_bytes', 'Current memory usage in bytes, including all memory regardless of when it was accessed', (v) => mem(v)?.usageBytes),
  gauge('container_memory_working_set_bytes', 'Current working set in bytes.', (v) => (mem(v)?.usageBytes !== undefined ? workingSet(mem(v)) : undefined)),
  gauge('container_memory_rss', 'Size of RSS in bytes.', (v) => mem(v)?.rssBytes),
  gauge('container_memory_cache', 'Number of bytes of page cache memory.', (v) => mem(v)?.cacheBytes),
  gauge('container_memory_swap', 'Container swap usage in bytes.', (v) => mem(v)?.swapBytes),
  gauge('container_memory_mapped_file', 'Size of memory mapped files in bytes.', (v) => mem(v)?.mappedFileBytes),
  gauge('container_memory_max_usage_bytes', 'Maximum memory usage recorded in bytes', (v) => mem(v)?.maxUsageBytes),
  single('untyped', 'container_memory_failcnt', 'Number of memory usage hits limits', (v) => mem(v)?.failcnt),
  gauge('container_memory_total_active_file_bytes', 'Current total active file in bytes.', (v) => mem(v)?.activeFileBytes),
  gauge('container_memory_total_inactive_file_bytes', 'Current total inactive file in bytes.', (v) => mem(v)?.inactiveFileBytes),
  gauge('container_memory_total_active_anon_bytes', 'Current total active anonymous in bytes.', memStat('total_active_anon', 'active_anon')),
  gauge('container_memory_total_inactive_anon_bytes', 'Current total inactive anonymous in bytes.', memStat('total_inactive_anon', 'inactive_anon')),
  gauge('container_memory_anon_hugepages_bytes', 'Amount of memory backed by transparent hugepages in bytes.', memStat('total_rss_huge', 'anon_thp')),
  gauge(
    'container_memory_file_dirty_bytes',
    'Number of bytes of file cache that has been modified but not yet written back to disk.',
    memStat('total_dirty', 'file_dirty'),
  ),
  gauge('container_memory_file_writeback_bytes', 'Number of bytes of file cache that is currently being written back to disk.', memStat('total_writeback', 'file_writeback')),
  counter('container_memory_pgscan_total', 'Cumulative number of pages scanned by the page reclaim algorithm.', memStat(undefined, 'pgscan')),
  counter('container_memory_pgsteal_total', 'Cumulative number of pages reclaimed by the page reclaim algorithm.', memStat(undefined, 'pgsteal')),
  counter(
    'container_memory_workingset_refault_file_total',
    'Cumulative number of refaults of previously evicted file pages.',
    memStat('total_workingset_refault_file', 'workingset_refault_file'),
  ),
  counter(
    'container_memory_workingset_refault_anon_total',
    'Cumulative number of refaults of previously evicted anonymous pages.',
    memStat('total_workingset_refault_anon', 'workingset_refault_anon'),
  ),
  {
    name: 'container_memory_failures_total',
    help: 'Cumulative count of memory allocation failures.',
    type: 'counter',
    // scope="container" is the cgroup's own count, scope="hierarchy" includes its descendants:
    // v1 pgfault / total_pgfault; v2 memory.stat is hierarchical only, so both scopes read it.
    write(v, w) {
      const stat = mem(v)?.stat;
      if (!stat) return;
      const v1 = v.info.cgroup.version === 1;
      for (const type of ['pgfault', 'pgmajfault']) {
        const own = stat[type];
        const all = v1 ? stat[`total_${type}`] : own;
        if (own !== undefined) w.value(own, `failure_type="${type}",scope="container"`);
        if (all !== undefined) w.value(all, `failure_type="${type}",scope="hierarchy"`);
      }
    },
  },
  counter('container_oom_events_total', 'Count of out of memory events observed for the container', (v) => mem(v)?.oomKills),
  network('container_network_receive_bytes_total', 'Cumulative count of bytes received', 'rxBytes'),
  network('container_network_receive_packets_total', 'Cumulative count of packets received', 'rxPackets'),
  network('container_network_receive_packets_dropped_total', 'Cumulative count of packets dropped while receiving', 'rxDropped'),
  network('container_network_receive_errors_total', 'Cumulative count of errors encountered while receiving', 'rxErrors'),
  network('container_network_transmit_bytes_total', 'Cumulative count of bytes transmitted', 'txBytes'),
  network('container_network_transmit_packets_total', 'Cumulative count of packets transmitted', 'txPackets'),
  network('container_network_transmit_packets_dropped_total', 'Cumulative count of packets dropped while transmitting', 'txDropped'),
  network('container_network_transmit_errors_total', 'Cumulative count of errors encountered while transmitting', 'txErrors'),
  blockIo('container_fs_reads_bytes_total', 'Cumulative count of bytes read', 'readBytes'),
  blockIo('container_fs_writes_bytes_total', 'Cumulative count of bytes written', 'writeBytes'),
  blockIo('container_fs_reads_total', 'Cumulative count of reads completed', 'reads'),
  blockIo('container_fs_writes_total', 'Cumulative count of writes completed', 'writes'),
  {
    name: 'container_blkio_device_usage_total',
    help: 'Blkio Device bytes usage',
    type: 'counter',
    write(v, w) {
      for (const d of v.sample.cgroup.blkio?.devices ?? []) {
        const labels = renderLabels([['device', deviceName(v, d.major, d.minor)], ['major', String(d.major)], ['minor', String(d.minor)]]);
        w.value(d.readBytes, `${labels},operation="Read"`);
        w.value(d.writeBytes, `${labels},operation="Write"`);
        if (d.discardBytes !== undefined) w.value(d.discardBytes, `${labels},operation="Discard"`);
      }
    },
  },
  {
    name: 'container_fs_limit_bytes',
    help: 'Number of bytes that can be consumed by the container on this filesystem.',
    type: 'gauge',
    // Docker sets no limit: cAdvisor reports the size of the filesystem the writable layer is on.
    write(v, w) {
      for (const fs of v.sample.filesystems ?? []) if (fs.role === 'rootfs') w.value(fs.totalBytes, renderLabels([['device', fs.device]]));
    },
  },
  // cAdvisor's total usage: the writable layer and Docker's directory of the container, by du.
  layer('container_fs_usage_bytes', 'Number of bytes that are consumed by the container on this filesystem.', 'gauge', (u) => u.totalBytes),
  // cAdvisor's container handlers set the inodes to what the du walk counted and never the free ones.
  layer('container_fs_inodes_total', 'Number of Inodes', 'untyped', (u) => u.inodes),
  layer('container_fs_inodes_free', 'Number of available Inodes', 'gauge', () => 0n),
  gauge('container_processes', 'Number of processes running inside the container.', (v) => v.processes),
  // pids.current counts tasks, i.e. threads: cAdvisor's container_threads, not container_processes.
  gauge('container_threads', 'Number of threads running inside the container', (v) => v.sample.cgroup.pids?.current),
  gauge('container_threads_max', 'Maximum number of threads allowed inside the container, infinity if value is zero', (v) => {
    const limit = v.sample.cgroup.pids?.limit;
    return limit === null ? 0n : limit;
  }),
  pressure('cpu', 'full', 'container_pressure_cpu_stalled_seconds_total', 'Total time duration no tasks in the container could make progress due to CPU congestion.'),
  pressure('cpu', 'some', 'container_pressure_cpu_waiting_seconds_total', 'Total time duration tasks in the container have waited due to CPU congestion.'),
  pressure('memory', 'full', 'container_pressure_memory_stalled_seconds_total', 'Total time duration no tasks in the container could make progress due to memory congestion.'),
  pressure('memory', 'some', 'container_pressure_memory_waiting_seconds_total', 'Total time duration tasks in the container have waited due to memory congestion.'),
  pressure('io', 'full', 'container_pressure_io_stalled_seconds_total', 'Total time duration no tasks in the container could make progress due to IO congestion.'),
  pressure('io', 'some', 'container_pressure_io_waiting_seconds_total', 'Total time duration tasks in the container have waited due to IO congestion.'),
  gauge('container_spec_cpu_period', 'CPU period of the container.', (v) => cpu(v)?.periodUs),
  gauge('container_spec_cpu_quota', 'CPU quota of the container.', (v) => {
    const quota = cpu(v)?.quotaUs;
    return typeof quota === 'bigint' ? quota : undefined;
  }),
  gauge('container_spec_cpu_shares', 'CPU share of the container.', (v) => {
    const c = cpu(v);
    return c?.shares ?? (c?.weight !== undefined ? weightToShares(c.weight) : undefined);
  }),
  // Unlimited is 0, as cAdvisor writes it.
  gauge('container_spec_memory_limit_bytes', 'Memory limit for the container.', (v) => {
    const limit = mem(v)?.limitBytes;
    return limit === null ? 0n : limit;
  }),
  // cAdvisor's swap limit is memory + swap (v1 memory.memsw.limit_in_bytes); 0 when either is unlimited.
  gauge('container_spec_memory_swap_limit_bytes', 'Memory swap limit for the container.', (v) => {
    const m = mem(v);
    if (m?.swapLimitBytes === undefined || m.limitBytes === undefined) return undefined;
    return m.swapLimitBytes === null || m.limitBytes === null ? 0n : m.limitBytes + m.swapLimitBytes;
  }),
  gauge('container_creation_time_seconds', 'Container creation time since unix epoch in seconds.', (v) => seconds(v.info.createdMs)),
  gauge('container_start_time_seconds', 'Start time of the container since unix epoch in seconds.', (v) => seconds(v.info.startedMs ?? v.info.createdMs)),
  gauge('container_last_seen', 'Last time a container was seen by the exporter', (v) => seconds(v.sample.timestampMs)),
];

/** The machine's hardware as machine families read it (collector/machine.ts), read once: it does not change while the agent runs. */
export interface MachineHardware {
  numPhysicalCores?: MachineInventory['numPhysicalCores'];
  numSockets?: MachineInventory['numSockets'];
}

interface MachineFamily {
  name: string;
  help: string;
  pick(h: HostSample, hw: MachineHardware): bigint | number | undefined;
}

const MACHINE_FAMILIES: MachineFamily[] = [
  { name: 'machine_cpu_cores', help: 'Number of logical CPU cores.', pick: (h) => h.stat.perCpu.size },
  // Absent where the host does not tell a CPU's core or package (no topology, no cpuinfo ids).
  { name: 'machine_cpu_physical_cores', help: 'Number of physical CPU cores.', pick: (_h, hw) => hw.numPhysicalCores },
  { name: 'machine_cpu_sockets', help: 'Number of CPU sockets.', pick: (_h, hw) => hw.numSockets },
  { name: 'machine_memory_bytes', help: 'Amount of memory installed on the machine.', pick: (h) => h.meminfo.get('MemTotal') },
  { name: 'machine_swap_bytes', help: 'Amount of swap memory available on the machine.', pick: (h) => h.meminfo.get('SwapTotal') },
];

/** Families in name order, as Prometheus' Go client writes them. */
const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
CONTAINER_FAMILIES.sort(byName);
MACHINE_FAMILIES.sort(byName);

/** Every family name /metrics can carry, for documentation and tests. */
export const METRIC_NAMES: readonly string[] = [...CONTAINER_FAMILIES, ...MACHINE_FAMILIES].map((f) => f.name).sort();

/** Builds and caches (per ContainerInfo object) each container's base labels, encoded. */
export class LabelRenderer {
  private readonly cache = new WeakMap<ContainerInfo, Buffer>();
  private readonly allow: ReadonlyArray<readonly [string, string]>;

  constructor(allowlist: readonly string[]) {
    // Two keys that sanitize to one name: the first listed wins, as in cAdvisor.
    const names = new Map<string, string>();
    for (const key of allowlist) {
      const name = `container_label_${sanitizeLabelName(key)}`;
      if (!names.has(name)) names.set(name, key);
    }
    this.allow = [...names].map(([name, key]) => [name, key] as const);
  }

  /** A container's base label pairs in name order; empty values are kept (renderLabels leaves them out). */
  pairs(info: ContainerInfo): Array<readonly [string, string]> {
    const pairs: Array<readonly [string, string]> = [
      ['id', info.cgroup.path],
      ['name', info.name],
      ['image', info.image],
      ...this.allow.map(([name, key]) => [name, info.labels[key] ?? ''] as const),
    ];
    if (info.pod) pairs.push(['pod', info.pod.name ?? ''], ['namespace', info.pod.namespace ?? ''], ['container', info.pod.container ?? '']);
    return pairs.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  }

  labels(info: ContainerInfo): Buffer {
    let labels = this.cache.get(info);
    if (labels === undefined) {
      labels = Buffer.from(renderLabels(this.pairs(info)));
      this.cache.set(info, labels);
    }
    return labels;
  }
}

const deviceNamesByHost = new WeakMap<HostSample, Map<string, string>>();
/** Block device names by "major:minor", made once per host sample. */
function hostDeviceNames(host: HostSample | undefined): Map<string, string> {
  if (!host) return new Map();
  let names = deviceNamesByHost.get(host);
  if (!names) {
    names = deviceNames(host.disks);
    deviceNamesByHost.set(host, names);
  }
  return names;
}

/** cAdvisor's labels of every machine series. */
export function machineLabels(id: MachineIdentity): Buffer {
  return Buffer.from(renderLabels([['boot_id', id.bootId], ['machine_id', id.machineId], ['system_uuid', id.systemUuid]]));
}

/**
 * Every series /metrics would carry for one container's sample, in the families named by
 * `families` only: (family name, the family's own labels as rendered, e.g. `interface="eth0"`,
 * value as an integer and its decimal scale: x / 10^digits). The alarm engine and remote_write
 * read exactly these series. Series that need a read outside the sample (container_processes)
 * are not among them.
 */
export function forEachContainerValue(
  info: ContainerInfo,
  sample: Sample,
  host: HostSample | undefined,
  families: ReadonlySet<string>,
  emit: (name: string, extra: string, x: bigint, digits: Digits) => void,
): void {
  const view: View = { info, sample, labels: NO_BYTES, devices: hostDeviceNames(host) };
  let name = '';
  const sink: SeriesSink = { value: (x, extra = '', digits = 0) => emit(name, extra, x, digits) };
  for (const f of CONTAINER_FAMILIES) {
    if (!families.has(f.name)) continue;
    name = f.name;
    f.write(view, sink);
  }
}

/** forEachContainerValue with each value as the exposition writes it. */
export function forEachContainerSeries(
  info: ContainerInfo,
  sample: Sample,
  host: HostSample | undefined,
  families: ReadonlySet<string>,
  emit: (name: string, extra: string, value: string) => void,
): void {
  forEachContainerValue(info, sample, host, families, (name, extra, x, digits) => emit(name, extra, formatValue(x, digits)));
}

/** What a render takes besides the store: process counts by container id, the machine series' labels. */
export interface RenderExtras {
  processes?: ReadonlyMap<string, bigint>;
  machine?: Buffer;
  /** Physical cores and sockets; without it their families are left out. */
  hardware?: MachineHardware;
  /** Exposition text appended after the machine series. */
  tail?: string;
}

/** The containers /metrics reports: as cAdvisor, running ones only (a stopped one keeps its last sample in the store). */
function reported(store: Store): ContainerEntry[] {
  return store.list(false).filter((e) => e.latest && (e.info.state === 'running' || e.info.state === 'paused'));
}

/**
 * The whole exposition for the store's current state, written into `into` when given (a buffer
 * no longer in use, so that a 12 MB body does not cost a new allocation and, with it, the
 * garbage collections that external memory growth triggers).
 */
export function renderMetrics(store: Store, labels: LabelRenderer, into?: Buffer, extras: RenderExtras = {}): { buffer: Buffer; body: Buffer } {
  const host = store.host?.latest;
  const devices = hostDeviceNames(host);
  const views: View[] = reported(store).map((e) => ({ info: e.info, sample: e.latest!, labels: labels.labels(e.info), devices, processes: extras.processes?.get(e.info.id) }));
  const w = new ExpositionWriter(into);
  for (const f of CONTAINER_FAMILIES) {
    w.begin(f.name, f.help, f.type);
    for (const v of views) {
      w.container(v.labels);
      f.write(v, w);
    }
  }
  if (host) {
    w.container(extras.machine ?? NO_BYTES);
    for (const f of MACHINE_FAMILIES) {
      const x = f.pick(host, extras.hardware ?? {});
      if (x === undefined) continue;
      w.begin(f.name, f.help, 'gauge');
      w.series(String(x));
    }
  }
  if (extras.tail) w.raw(extras.tail);
  return w.result();
}

interface Rendered {
  /** What the body was rendered from: the host sample of the tick. */
  key: HostSample | undefined;
  /** The buffer the body was written into, reused for a later body once nothing reads it. */
  buffer: Buffer;
  body: Buffer;
  gzipped?: Promise<Buffer>;
  /** Responses still sending the body, plus a gzip still reading it. */
  readers: number;
  /** Replaced by a newer body: its buffer is free once `readers` is 0. */
  retired: boolean;
}

/**
 * /metrics with the body rendered once per tick, into the buffer of a previous body that no
 * response is still sending.
 */
export class MetricsEndpoint {
  private cached?: Rendered;
  /** A render under way (its process counts being read), which scrapes of the same tick share. */
  private rendering?: { key: HostSample | undefined; done: Promise<Rendered> };
  private spare?: Buffer;
  private readonly labels: LabelRenderer;
  private readonly machine: Buffer;
  private readonly hardware: MachineHardware;
  private readonly tail?: () => string;

  constructor(
    private readonly store: Store,
    opts: PrometheusOptions,
  ) {
    this.labels = new LabelRenderer(opts.labelAllowlist);
    this.machine = machineLabels(opts.machine ?? readMachineIdentity());
    this.hardware = opts.hardware ?? readMachineInventory();
    this.tail = opts.tail;
  }

  /** The current body, rendered when the store has taken a tick since the last one. */
  async current(): Promise<Rendered> {
    const key = this.store.host?.latest;
    if (this.cached && this.cached.key === key && key !== undefined) return this.cached;
    if (this.rendering && this.rendering.key === key && key !== undefined) return this.rendering.done;
    const done = this.render();
    this.rendering = { key, done };
    try {
      return await done;
    } finally {
      if (this.rendering?.done === done) this.rendering = undefined;
    }
  }

  private async render(): Promise<Rendered> {
    const processes = await readProcessCounts(reported(this.store));
    const old = this.cached;
    // No spare: a new buffer the size of the last body, with some room to grow.
    const into = this.spare ?? (old ? Buffer.allocUnsafe(Math.ceil(old.body.length * 1.1)) : undefined);
    this.spare = undefined;
    const key = this.store.host?.latest;
    this.cached = { key, ...renderMetrics(this.store, this.labels, into, { processes, machine: this.machine, hardware: this.hardware, tail: this.tail?.() }), readers: 0, retired: false };
    if (old) {
      old.retired = true;
      this.release(old, 0);
    }
    return this.cached;
  }

  private release(r: Rendered, readers = 1): void {
    r.readers -= readers;
    if (r.retired && r.readers === 0 && r.buffer !== this.cached?.buffer) this.spare = r.buffer;
  }

  async serve(res: ServerResponse, gzipped: boolean): Promise<void> {
    const r = await this.current();
    r.readers++;
    res.once('close', () => this.release(r));
    let body = r.body;
    const headers: Record<string, string | number> = { 'Content-Type': CONTENT_TYPE, Vary: 'Accept-Encoding' };
    if (gzipped) {
      if (!r.gzipped) {
        // Level 1: a fifth larger than level 6 at a quarter of its CPU; zlib runs on the thread pool.
        r.readers++;
        r.gzipped = gzipAsync(r.body, { level: 1 }).finally(() => this.release(r));
      }
      body = await r.gzipped;
      headers['Content-Encoding'] = 'gzip';
    }
    headers['Content-Length'] = body.length;
    res.writeHead(200, headers);
    res.end(body);
  }
}

export function registerPrometheus(router: Router, store: Store, opts: PrometheusOptions): MetricsEndpoint {
  const endpoint = new MetricsEndpoint(store, opts);
  router.get(/^\/metrics\/?$/, ({ req, res }) => endpoint.serve(res, acceptsGzip(req)));
  return endpoint;
}
