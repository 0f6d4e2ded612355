/**
 * What the agent knows: every container's identity, its latest two samples (raw counters) and
 * derived figures, a bounded history window of derived figures, and the raw samples of a shorter
 * window (the host's too). A removed container stays readable for `retentionMs`. With a
 * PersistentHistory, every history row goes to its tiers instead of the in-memory window (one
 * compression of each row, not two), containers of earlier runs are known again at start, and
 * history queries read the tiers.
 */
import type { ContainerInfo, Derived, HostSample, Sample } from '../model.js';
import { SeriesRing } from './ring.js';
import { SampleHistory } from './sample-history.js';
import { HOST_SAMPLE_SCHEMA, SAMPLE_SCHEMA } from './sample-schema.js';
import type { Ended, PersistentHistory } from './persist.js';
import { queryHistory, type ColumnAlloc, type HistoryQuery, type HistoryResult, type HistorySource } from './query.js';

/** Raw samples kept by default: 2 minutes at 1 s and the sample at the window's start (cAdvisor's --storage_duration). */
export const DEFAULT_RAW_SAMPLES = 121;

/**
 * Metrics kept in history, each a float64 column; names are what `?metrics=` accepts. NaN where
 * the tick did not measure it (stored as a gap, served as null): Derived follows docker stats,
 * which shows CPU 0 % at a container's first sample and 0 B for memory it did not read, and
 * history must not keep those zeros as if measured.
 */
const HISTORY_METRICS: Record<string, (d: Derived, s: Sample) => number> = {
  cpu_percent: (d) => (d.rates.cpuUsageNs === undefined ? NaN : d.cpuPercent),
  cpu_cores: (d) => (d.rates.cpuUsageNs === undefined ? NaN : d.cpuCores),
  cpu_throttled_percent: (d) => d.throttledPercent ?? NaN,
  memory_usage_bytes: (d, s) => (s.cgroup.memory?.usageBytes === undefined ? NaN : d.memoryUsageBytes),
  memory_working_set_bytes: (d, s) => (s.cgroup.memory?.usageBytes === undefined ? NaN : d.workingSetBytes),
  memory_limit_bytes: (d, s) => (s.cgroup.memory === undefined ? NaN : d.memoryLimitBytes),
  memory_cache_bytes: (d) => d.memoryCacheBytes ?? NaN,
  network_rx_bytes_per_second: (d) => d.rates.netRxBytes ?? NaN,
  network_tx_bytes_per_second: (d) => d.rates.netTxBytes ?? NaN,
  block_read_bytes_per_second: (d) => d.rates.blkioReadBytes ?? NaN,
  block_write_bytes_per_second: (d) => d.rates.blkioWriteBytes ?? NaN,
  pids: (d, s) => (s.cgroup.pids?.current === undefined ? NaN : d.pids),
  // Share of the tick in which some task of the group stalled (PSI "some" total, µs per s / 1e4).
  pressure_cpu_some_percent: (d) => (d.rates.pressureCpuSomeUs ?? NaN) / 1e4,
  pressure_memory_some_percent: (d) => (d.rates.pressureMemorySomeUs ?? NaN) / 1e4,
  pressure_io_some_percent: (d) => (d.rates.pressureIoSomeUs ?? NaN) / 1e4,
};
const METRIC_NAMES = Object.keys(HISTORY_METRICS);
const METRIC_PICKERS = Object.values(HISTORY_METRICS);
/** One history row, filled and pushed within record(): no array made per sample. */
const row = new Float64Array(METRIC_NAMES.length);

export interface ContainerEntry {
  info: ContainerInfo;
  /** Latest sample and the one before it (what docker calls precpu_stats). */
  latest?: Sample;
  previous?: Sample;
  derived?: Derived;
  /** The in-memory window of derived figures, without persistence (with it, the raw tier holds them); made at the first sample. */
  history?: SeriesRing;
  /** The raw samples of the last `rawCapacity`, `latest` included; made at the first sample, dropped as `history`. */
  raw?: SampleHistory<Sample>;
  /** When it left the live list (ms), or undefined while live. */
  removedMs?: number;
  /** How it ended, once removed. */
  ended?: Ended;
}

/**
 * How a container that left ended: Docker's own record when it had exited (finished at, exit
 * code, OOMKilled); otherwise (removed while running, or a plain cgroup) no exit code, and
 * OOM-killed as the cgroup's OOM-kill counter says, when it has one.
 */
export function endedOf(e: ContainerEntry, nowMs: number): Ended {
  const d = e.info.docker;
  if (d && (e.info.state === 'exited' || e.info.state === 'dead')) return { atMs: d.finishedMs ?? nowMs, exitCode: d.exitCode, oomKilled: d.oomKilled };
  const mem = e.latest?.cgroup.memory;
  const kills = mem?.oomKills ?? mem?.oomEvents;
  return { atMs: nowMs, exitCode: null, oomKilled: kills === undefined ? null : kills > 0n };
}

export class Store {
  private readonly entries = new Map<string, ContainerEntry>();
  host?: { latest: HostSample; previous?: HostSample };
  readonly hostRaw: SampleHistory<HostSample>;
  /**
   * Containers of the last run that were live when it stopped: the first tick finds those that
   * still are (upsert), and the others are then recorded as gone, so their series leave memory.
   */
  private readonly unconfirmed = new Set<string>();

  constructor(
    /** Samples kept per container (window / interval). */
    readonly capacity: number,
    /** How long a removed container stays readable, ms. */
    readonly retentionMs: number,
    /** Raw samples kept per container and for the host (raw window / interval + 1). */
    readonly rawCapacity = DEFAULT_RAW_SAMPLES,
    readonly intervalMs = 1000,
    readonly persist?: PersistentHistory,
  ) {
    this.hostRaw = new SampleHistory(HOST_SAMPLE_SCHEMA, rawCapacity);
    // Containers of earlier runs come back as removed: those still there are upserted live by
    // the first tick; the others ended at their last sample, at the latest.
    for (const k of persist?.kept() ?? []) {
      const removedMs = k.removedMs ?? persist!.lastSampleMs(k.series) ?? k.info.createdMs;
      const e: ContainerEntry = { info: k.info, removedMs };
      e.ended = k.ended ?? endedOf(e, removedMs);
      this.entries.set(k.info.id, e);
      if (k.removedMs === undefined) this.unconfirmed.add(k.info.id);
    }
  }

  upsert(info: ContainerInfo): ContainerEntry {
    let e = this.entries.get(info.id);
    if (!e) {
      e = { info };
      this.entries.set(info.id, e);
    } else {
      e.info = info;
      e.removedMs = undefined;
      e.ended = undefined;
    }
    this.persist?.describe(info);
    return e;
  }

  record(id: string, sample: Sample, derived: Derived): void {
    const e = this.entries.get(id);
    if (!e) return;
    e.previous = e.latest;
    e.latest = sample;
    e.derived = derived;
    for (let i = 0; i < METRIC_PICKERS.length; i++) row[i] = METRIC_PICKERS[i](derived, sample);
    // Each row is compressed once: with persistence the raw tier's open chunk holds the recent
    // window (queries read it there), without it the in-memory ring.
    if (this.persist) this.persist.record(e.info, sample.timestampMs, row);
    else (e.history ??= new SeriesRing(this.capacity, METRIC_NAMES)).push(sample.timestampMs, row);
    (e.raw ??= new SampleHistory(SAMPLE_SCHEMA, this.rawCapacity)).record(sample);
  }

  markRemoved(id: string, nowMs: number): void {
    const e = this.entries.get(id);
    if (!e || e.removedMs !== undefined) return;
    e.removedMs = nowMs;
    e.ended = endedOf(e, nowMs);
    if (!this.persist) return;
    this.persist.removed(id, nowMs, e.ended);
    // Its history is read from disk now: memory keeps who it was and how it ended, as after a
    // restart. Its last sample and figures (about 7 KB of heap, bigints mostly) would otherwise
    // stay for the longest retention, a year by default; no surface shows them for a removed
    // container (its last figures are the history's last point).
    e.history = undefined;
    e.raw = undefined;
    e.previous = undefined;
    e.latest = undefined;
    e.derived = undefined;
  }

  /** A history query over the tiers on disk, or the in-memory window without persistence. */
  history(e: ContainerEntry, q: HistoryQuery, nowMs = Date.now(), alloc?: ColumnAlloc): HistoryResult {
    return queryHistory(this.historySource(e), q, nowMs, alloc);
  }

  /**
   * The `--history` window's points of some metrics (indexes), oldest first, as stored: read from
   * the in-memory ring, or with persistence from the raw tier. What cAdvisor's derived stats summarise.
   */
  recent(e: ContainerEntry, metrics: readonly number[], nowMs = Date.now()): { timestampsMs: number[]; values: number[][] } {
    const timestampsMs: number[] = [];
    const values: number[][] = metrics.map(() => []);
    const wanted = new Uint8Array(METRIC_NAMES.length);
    for (const m of metrics) wanted[m] = 1;
    const visit = (ts: number, row: ArrayLike<number>): void => {
      timestampsMs.push(ts);
      for (let j = 0; j < metrics.length; j++) values[j].push(row[metrics[j]]);
    };
    // (now − window, now]: as many intervals as the ring holds samples.
    this.historySource(e).scan(0, nowMs - this.capacity * this.intervalMs + 1, nowMs, visit, wanted);
    return { timestampsMs, values };
  }

  private historySource(e: ContainerEntry): HistorySource {
    const metricCount = METRIC_NAMES.length;
    const persist = this.persist;
    const series = persist?.seriesOfId(e.info.id);
    const lifespanMs = [e.info.createdMs, e.removedMs ?? Infinity] as const;
    if (persist && series !== undefined) return { tiers: persist.tiers, metricCount, lifespanMs, scan: (t, since, until, visit, wanted) => persist.scan(series, t, since, until, visit, wanted) };
    return {
      lifespanMs,
      tiers: [{ name: 'memory', resolutionMs: this.intervalMs, retentionMs: this.capacity * this.intervalMs }],
      metricCount,
      scan: (_t, since, until, visit, wanted) => {
        const metrics = METRIC_NAMES.map((_, i) => i).filter((m) => wanted[m] === 1);
        const { timestampsMs, values } = e.history?.read(since, metrics) ?? { timestampsMs: [], values: [] };
        const row = new Float64Array(metricCount);
        timestampsMs.forEach((ts, i) => {
          if (ts > until) return;
          values.forEach((col, j) => (row[metrics[j]] = col[i]));
          visit(ts, row);
        });
      },
    };
  }

  /** Drops removed containers whose retention has passed. */
  prune(nowMs: number): void {
    for (const id of this.unconfirmed) {
      const e = this.entries.get(id);
      if (e?.removedMs !== undefined) this.persist?.removed(id, e.removedMs, e.ended!);
    }
    this.unconfirmed.clear();
    for (const [id, e] of this.entries) {
      if (e.removedMs !== undefined && nowMs - e.removedMs > this.retentionMs) this.entries.delete(id);
    }
  }

  get(id: string): ContainerEntry | undefined {
    return this.entries.get(id);
  }

  /** Live containers, or with `all` also removed ones still retained. */
  list(all = false): ContainerEntry[] {
    const out: ContainerEntry[] = [];
    for (const e of this.entries.values()) if (all || e.removedMs === undefined) out.push(e);
    return out;
  }

  /**
   * Finds a container by full id, unique id prefix, or name (with or without a leading '/'),
   * as docker does. Live containers win over removed ones with the same name.
   */
  find(ref: string): ContainerEntry | undefined {
    const exact = this.entries.get(ref);
    if (exact) return exact;
    // One pass, no sorting: the collector looks sandboxes up this way every tick.
    const name = ref.startsWith('/') ? ref.slice(1) : ref;
    let removedByName: ContainerEntry | undefined;
    const byPrefix: ContainerEntry[] = [];
    for (const e of this.entries.values()) {
      if (e.info.name === name) {
        if (e.removedMs === undefined) return e;
        removedByName ??= e;
      }
      if (e.info.id.startsWith(ref)) byPrefix.push(e);
    }
    if (removedByName) return removedByName;
    return byPrefix.length === 1 ? byPrefix[0] : undefined;
  }

  /**
   * What memory holds of the per-sample history: containers, samples and compressed bytes of
   * the in-memory windows, or with persistence of the raw tier's open chunks (the rest is on
   * disk); `raw`: the raw samples kept (the host's included) and their encoded bytes.
   */
  historyFootprint(): { containers: number; samples: number; bytes: number; raw: { samples: number; bytes: number } } {
    const raw = { samples: this.hostRaw.length, bytes: this.hostRaw.bytes };
    const window = this.persist?.openRawFootprint() ?? { containers: 0, samples: 0, bytes: 0 };
    for (const e of this.entries.values()) {
      raw.samples += e.raw?.length ?? 0;
      raw.bytes += e.raw?.bytes ?? 0;
      if (!e.history || e.history.length === 0) continue;
      window.containers++;
      window.samples += e.history.length;
      window.bytes += e.history.bytes;
    }
    return { ...window, raw };
  }

  recordHost(sample: HostSample): void {
    this.host = { latest: sample, previous: this.host?.latest };
    this.hostRaw.record(sample);
  }
}

export const historyMetricNames = METRIC_NAMES;
