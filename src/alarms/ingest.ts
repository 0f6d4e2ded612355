/**
 * Feeds the rule engine from the agent's own samples, once per tick: for every running container,
 * the cAdvisor-named series /metrics serves (the same families, labels and values: rules written
 * for /metrics work unchanged) and cstats' derived figures as `cstats_*` gauges (what threshold
 * alarms name). Only the metric names some loaded rule selects are fed. A container that stops
 * being reported gets a staleness marker on each of its series, as a Prometheus scrape would
 * write, so its alerts end at the next evaluation instead of lingering for the 5 m lookback.
 */
import type { ContainerInfo, CounterRates } from '../model.js';
import type { ContainerEntry, Store } from '../store/store.js';
import { forEachContainerSeries, LabelRenderer, METRIC_NAMES } from '../api/prometheus.js';
import { parseRenderedLabels, sanitizeLabelName } from '../api/prometheus-text.js';
import { labelsKey, type Labels, type Series, type SeriesDB } from './promql/series.js';

type Pick = (e: ContainerEntry) => number | undefined;

const rate = (key: keyof CounterRates, scale = 1): Pick => (e) => {
  const r = e.derived?.rates[key];
  return r === undefined ? undefined : r * scale;
};

/** Share of CFS periods throttled since the previous sample, %: only under a CPU quota. */
const throttledPercent: Pick = (e) => {
  const cur = e.latest?.cgroup.cpu;
  const prev = e.previous?.cgroup.cpu;
  if (typeof cur?.quotaUs !== 'bigint' || cur.periods === undefined || prev?.periods === undefined || cur.throttledPeriods === undefined || prev.throttledPeriods === undefined) return undefined;
  const periods = Number(cur.periods - prev.periods);
  return periods > 0 ? (Number(cur.throttledPeriods - prev.throttledPeriods) / periods) * 100 : undefined;
};

/** CPU used as a share of the container's CPU quota, %: only under a quota. */
const cpuOfLimitPercent: Pick = (e) => {
  const cpu = e.latest?.cgroup.cpu;
  if (typeof cpu?.quotaUs !== 'bigint' || !cpu.periodUs || e.derived === undefined) return undefined;
  return (e.derived.cpuCores / (Number(cpu.quotaUs) / Number(cpu.periodUs))) * 100;
};

/** Derived figures fed as gauges, by the name rules use (threshold alarms drop the `cstats_` prefix). */
export const DERIVED_METRICS: Record<string, { help: string; pick: Pick }> = {
  cstats_cpu_percent: { help: "CPU % as docker stats shows it (100 per core)", pick: (e) => e.derived?.cpuPercent },
  cstats_cpu_cores: { help: 'CPU in cores', pick: (e) => e.derived?.cpuCores },
  cstats_cpu_limit_percent: { help: "CPU as a % of the container's CPU quota", pick: cpuOfLimitPercent },
  cstats_cpu_throttled_percent: { help: 'share of CFS periods throttled, %', pick: throttledPercent },
  cstats_memory_usage_bytes: { help: 'memory usage as docker stats shows it (usage - inactive file)', pick: (e) => e.derived?.memoryUsageBytes },
  cstats_memory_working_set_bytes: { help: "cAdvisor's working set", pick: (e) => e.derived?.workingSetBytes },
  cstats_memory_limit_bytes: { help: 'memory limit (capped at host memory)', pick: (e) => e.derived?.memoryLimitBytes },
  cstats_memory_percent: { help: 'memory usage as a % of the limit', pick: (e) => e.derived?.memoryPercent },
  cstats_network_rx_bytes_per_second: { help: 'bytes received per second', pick: rate('netRxBytes') },
  cstats_network_tx_bytes_per_second: { help: 'bytes sent per second', pick: rate('netTxBytes') },
  cstats_block_read_bytes_per_second: { help: 'block bytes read per second', pick: rate('blkioReadBytes') },
  cstats_block_write_bytes_per_second: { help: 'block bytes written per second', pick: rate('blkioWriteBytes') },
  cstats_pids: { help: 'tasks in the cgroup', pick: (e) => e.derived?.pids },
  // PSI totals are µs stalled; per second / 1e4 is the % of time stalled.
  cstats_pressure_cpu_some_percent: { help: 'PSI: % of time some task waited for CPU', pick: rate('pressureCpuSomeUs', 1e-4) },
  cstats_pressure_memory_some_percent: { help: 'PSI: % of time some task waited for memory', pick: rate('pressureMemorySomeUs', 1e-4) },
  cstats_pressure_memory_full_percent: { help: 'PSI: % of time all tasks waited for memory', pick: rate('pressureMemoryFullUs', 1e-4) },
  cstats_pressure_io_some_percent: { help: 'PSI: % of time some task waited for I/O', pick: rate('pressureIoSomeUs', 1e-4) },
  cstats_pressure_io_full_percent: { help: 'PSI: % of time all tasks waited for I/O', pick: rate('pressureIoFullUs', 1e-4) },
};

/** cAdvisor families fed from samples: container_processes needs a read of its own, so rules cannot name it. */
const CADVISOR_NAMES = new Set(METRIC_NAMES.filter((n) => n.startsWith('container_') && n !== 'container_processes'));

/** Whether rules may select this metric name. */
export function isKnownMetric(name: string): boolean {
  return CADVISOR_NAMES.has(name) || name in DERIVED_METRICS;
}

/** The label `compose_project` carries, from Docker Compose's own label. */
const COMPOSE_LABEL = 'com.docker.compose.project';

/** Labels of the cstats_* series: identity, runtime, Compose project, pod, and every container label. */
function derivedLabels(info: ContainerInfo): Record<string, string> {
  const l: Record<string, string> = { id: info.cgroup.path, name: info.name, image: info.image, runtime: info.kind && info.runtime === 'cgroupfs' ? info.kind : info.runtime };
  if (info.labels[COMPOSE_LABEL]) l.compose_project = info.labels[COMPOSE_LABEL];
  if (info.pod?.name) l.pod = info.pod.name;
  if (info.pod?.namespace) l.namespace = info.pod.namespace;
  for (const [k, v] of Object.entries(info.labels)) if (v !== '') l[`container_label_${sanitizeLabelName(k)}`] = v;
  for (const k of Object.keys(l)) if (l[k] === '') delete l[k];
  return l;
}

interface Fed {
  info: ContainerInfo;
  /** Its series by family name + own labels. */
  series: Map<string, Series>;
  base: Record<string, string>;
  derived: Record<string, string>;
}

export class Ingest {
  private readonly fed = new Map<string, Fed>();
  private readonly labels: LabelRenderer;
  /** cAdvisor families and derived metrics some rule selects. */
  private cadvisor = new Set<string>();
  private derived: string[] = [];

  constructor(
    private readonly db: SeriesDB,
    labelAllowlist: readonly string[],
  ) {
    this.labels = new LabelRenderer(labelAllowlist);
  }

  /** Sets the metric names to feed (undefined: a selector without a name, which needs every metric). */
  want(names: ReadonlySet<string | undefined>): void {
    const all = names.has(undefined);
    this.cadvisor = new Set([...CADVISOR_NAMES].filter((n) => all || names.has(n)));
    this.derived = Object.keys(DERIVED_METRICS).filter((n) => all || names.has(n));
  }

  /** Appends the store's latest samples; containers no longer running get staleness markers at `nowMs`. */
  tick(store: Store, nowMs: number): void {
    const host = store.host?.latest;
    const live = new Set<string>();
    for (const e of store.list(false)) {
      const s = e.latest;
      if (!s || (e.info.state !== 'running' && e.info.state !== 'paused')) continue;
      live.add(e.info.id);
      let fed = this.fed.get(e.info.id);
      if (!fed || fed.info !== e.info) {
        // Discovery hands out a new info object on every inspect; only changed labels make new series.
        const base: Record<string, string> = {};
        for (const [k, v] of this.labels.pairs(e.info)) if (v !== '') base[k] = v;
        const derived = derivedLabels(e.info);
        if (fed && labelsKey(fed.base) === labelsKey(base) && labelsKey(fed.derived) === labelsKey(derived)) fed.info = e.info;
        else {
          if (fed) this.end(fed, nowMs);
          fed = { info: e.info, series: new Map(), base, derived };
          this.fed.set(e.info.id, fed);
        }
      }
      const f = fed;
      const t = s.timestampMs;
      forEachContainerSeries(e.info, s, host, this.cadvisor, (name, extra, value) => {
        const key = extra === '' ? name : `${name}{${extra}}`;
        let series = f.series.get(key);
        if (!series || series.dropped) {
          series = this.db.series({ ...f.base, ...parseRenderedLabels(extra), __name__: name } as Labels);
          f.series.set(key, series);
        }
        if ((series.lastTime() ?? -Infinity) < t) series.append(t, Number(value));
      });
      for (const name of this.derived) {
        const v = DERIVED_METRICS[name].pick(e);
        if (v === undefined || !Number.isFinite(v)) continue;
        let series = f.series.get(name);
        if (!series || series.dropped) {
          series = this.db.series({ ...f.derived, __name__: name });
          f.series.set(name, series);
        }
        if ((series.lastTime() ?? -Infinity) < t) series.append(t, v);
      }
    }
    for (const [id, fed] of this.fed) {
      if (live.has(id)) continue;
      this.end(fed, nowMs);
      this.fed.delete(id);
    }
  }

  private end(fed: Fed, nowMs: number): void {
    for (const s of fed.series.values()) {
      const last = s.lastTime();
      if (last !== undefined && last < nowMs) s.appendStale(nowMs);
    }
  }
}
