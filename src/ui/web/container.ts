/**
 * One container: its identity and limits, and charts of its whole history window (--history)
 * (GET /api/v1/containers/{id}/history), extended live by every stream tick with the same
 * figures the history holds. Charts share one cursor and one time range: zooming (drag, or
 * + and − with a chart focused) or panning (← →, or shift+wheel) one moves them all; 0 or
 * "Follow live" goes back to the whole window, following new ticks. Its alerts firing or pending
 * are listed under its name, which carries the firing mark.
 */
import uPlot from 'uplot';
import { firingByContainer, formatValue, isLive, type Derived, type Summary, type Unit } from '../model.js';
import { getJson, type Live } from './live.js';
import { h, setText } from './dom.js';
import { AlarmsPanel, markFiring } from './alarms.js';

interface History {
  intervalMs: number;
  timestamps: number[];
  series: Record<string, (number | null)[]>;
}

interface Detail extends Summary {
  cgroup: { version: number; path: string };
  pid?: number;
  processes?: number;
  mounts: { source: string; destination: string; type: string; readWrite: boolean; name?: string }[];
  limits: { cpus: number | null; memoryLimitBytes: number | null; swapLimitBytes: number | null; pidsLimit: number | null; cpuQuotaUs: number | null; cpuPeriodUs: number | null };
  sample?: { network?: { name: string; rxBytes: number; txBytes: number }[] };
}

/** A history column, and the same figure from a tick's derived figures (as the agent's store picks it). */
interface Metric {
  history: string;
  live: (d: Derived) => number | undefined;
}

const M: Record<string, Metric> = {
  cores: { history: 'cpu_cores', live: (d) => d.cpuCores },
  throttled: { history: 'cpu_throttled_percent', live: (d) => d.throttledPercent },
  usage: { history: 'memory_usage_bytes', live: (d) => d.memoryUsageBytes },
  workingSet: { history: 'memory_working_set_bytes', live: (d) => d.workingSetBytes },
  cache: { history: 'memory_cache_bytes', live: (d) => d.memoryCacheBytes },
  limit: { history: 'memory_limit_bytes', live: (d) => d.memoryLimitBytes },
  rx: { history: 'network_rx_bytes_per_second', live: (d) => d.rates['net.rxBytes'] },
  tx: { history: 'network_tx_bytes_per_second', live: (d) => d.rates['net.txBytes'] },
  read: { history: 'block_read_bytes_per_second', live: (d) => d.rates['blkio.readBytes'] },
  write: { history: 'block_write_bytes_per_second', live: (d) => d.rates['blkio.writeBytes'] },
  pids: { history: 'pids', live: (d) => d.pids },
  psiCpu: { history: 'pressure_cpu_some_percent', live: (d) => psi(d, 'cpu') },
  psiMemory: { history: 'pressure_memory_some_percent', live: (d) => psi(d, 'memory') },
  psiIo: { history: 'pressure_io_some_percent', live: (d) => psi(d, 'io') },
};

function psi(d: Derived, resource: string): number | undefined {
  const r = d.rates[`pressure.${resource}.someUs`];
  return r === undefined ? undefined : r / 1e4;
}

interface SeriesDef {
  label: string;
  metric?: Metric;
  /** A constant line (a limit), or per-interface live figures. */
  constant?: number;
  iface?: { name: string; field: 'rxBytes' | 'txBytes' };
  color: string;
  dash?: boolean;
  scale?: string;
}

interface ChartDef {
  key: string;
  title: string;
  unit: Unit | 'cores';
  series: SeriesDef[];
  /** Right-hand axis for series on scale "%". */
  percentAxis?: boolean;
}

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];

function fmt(unit: ChartDef['unit'], v: number | null | undefined): string {
  if (v === null || v === undefined) return '–';
  return unit === 'cores' ? `${v.toFixed(3)} cores` : formatValue(unit, v);
}

/** An axis tick: shorter than a legend value (cores without the word). */
function tick(unit: ChartDef['unit'], v: number): string {
  return unit === 'cores' ? String(Number(v.toFixed(3))) : formatValue(unit, v);
}

/** Axis steps for whole units (bytes, B/s, PIDs): 1, 2, 5, 10, ... and powers of 1024 for sizes. */
const WHOLE_STEPS = Array.from({ length: 16 }, (_, e) => [1, 2, 5].map((m) => m * 10 ** e)).flat();
const SIZE_STEPS = [...Array.from({ length: 6 }, (_, e) => [1, 2, 4, 8, 16, 32, 64, 128, 256, 512].map((m) => m * 1024 ** e)).flat()];

const timeOfDay = (t: number): string => new Date(t * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

function chartDefs(d: Detail): ChartDef[] {
  const ifaces = (d.sample?.network ?? []).filter((i) => i.name !== 'lo');
  return [
    {
      key: 'cpu',
      title: 'CPU',
      unit: 'cores',
      percentAxis: true,
      series: [
        { label: 'cores used', metric: M.cores, color: COLORS[0] },
        ...(d.limits.cpus !== null ? [{ label: 'limit (cores)', constant: d.limits.cpus, color: COLORS[1], dash: true }] : []),
        { label: 'throttled %', metric: M.throttled, color: COLORS[4], scale: '%' },
      ],
    },
    {
      key: 'memory',
      title: 'Memory',
      unit: 'bytes',
      series: [
        { label: 'usage', metric: M.usage, color: COLORS[0] },
        { label: 'working set', metric: M.workingSet, color: COLORS[2] },
        { label: 'cache', metric: M.cache, color: COLORS[3] },
        // The limit line when the container has one of its own (otherwise it is the host's memory, far above).
        ...(d.limits.memoryLimitBytes !== null ? [{ label: 'limit', metric: M.limit, color: COLORS[1], dash: true }] : []),
      ],
    },
    {
      key: 'network',
      title: 'Network',
      unit: 'bytesPerSecond',
      series: [
        { label: 'received', metric: M.rx, color: COLORS[0] },
        { label: 'sent', metric: M.tx, color: COLORS[2] },
        // Per interface from the stream, from when the page opened (the history keeps totals).
        ...(ifaces.length > 1
          ? ifaces.flatMap((i, n) => [
              { label: `${i.name} rx`, iface: { name: i.name, field: 'rxBytes' as const }, color: COLORS[(n * 2 + 3) % COLORS.length], dash: true },
              { label: `${i.name} tx`, iface: { name: i.name, field: 'txBytes' as const }, color: COLORS[(n * 2 + 4) % COLORS.length], dash: true },
            ])
          : []),
      ],
    },
    { key: 'block', title: 'Block I/O', unit: 'bytesPerSecond', series: [{ label: 'read', metric: M.read, color: COLORS[0] }, { label: 'written', metric: M.write, color: COLORS[4] }] },
    {
      key: 'pids',
      title: 'PIDs',
      unit: 'count',
      series: [{ label: 'pids', metric: M.pids, color: COLORS[0] }, ...(d.limits.pidsLimit !== null ? [{ label: 'limit', constant: d.limits.pidsLimit, color: COLORS[1], dash: true }] : [])],
    },
    {
      key: 'pressure',
      title: 'Pressure (PSI some)',
      unit: 'percent',
      series: [
        { label: 'cpu', metric: M.psiCpu, color: COLORS[0] },
        { label: 'memory', metric: M.psiMemory, color: COLORS[3] },
        { label: 'io', metric: M.psiIo, color: COLORS[4] },
      ],
    },
  ];
}

interface Chart {
  def: ChartDef;
  plot: uPlot;
  data: (number | null)[][];
}

/** The charts of the page shown, for scripts and tests: window.cstats.charts[key].data. */
declare global {
  interface Window {
    cstats?: { charts: Record<string, uPlot> };
  }
}

export class ContainerView {
  readonly el: HTMLElement;
  private readonly chartsEl = h('div', { class: 'charts' });
  private readonly figuresEl = h('dl', { class: 'figures' });
  private readonly followEl = h('button', { type: 'button', class: 'follow', 'aria-pressed': 'true' }, 'Follow live');
  private charts: Chart[] = [];
  private timestamps: number[] = [];
  private view: { min: number; max: number } | null = null;
  private syncing = false;
  private windowMs = 15 * 60_000;
  private detail?: Detail;
  private alarms?: { panel: AlarmsPanel; title: HTMLElement };
  private readonly resize = new ResizeObserver(() => this.fit());

  constructor(
    private readonly live: Live,
    private readonly id: string,
  ) {
    this.el = h('main', { class: 'container' }, h('p', { class: 'loading' }, 'Loading…'));
    this.followEl.addEventListener('click', () => this.setView(null));
  }

  async load(): Promise<void> {
    const ref = encodeURIComponent(this.id);
    const [detail, hist] = await Promise.all([getJson<Detail>(`/api/v1/containers/${ref}`), getJson<History>(`/api/v1/containers/${ref}/history`)]);
    this.detail = detail;
    const span = hist.timestamps.length > 1 ? hist.timestamps[hist.timestamps.length - 1] - hist.timestamps[0] : 0;
    this.windowMs = Math.max(this.windowMs, span + hist.intervalMs);
    document.title = `${detail.name} · cstats`;
    const defs = chartDefs(detail);
    this.timestamps = hist.timestamps.map((t) => t / 1000);
    this.alarms = { panel: new AlarmsPanel(detail.id), title: h('h2', {}, detail.name) };
    this.el.replaceChildren(
      h('nav', { class: 'crumbs' }, h('a', { href: '#/' }, '← All containers')),
      h('header', { class: 'ctitle' },
        this.alarms.title,
        h('span', { class: `badge ${detail.state}` }, detail.state),
        h('span', { class: 'muted' }, `${detail.image} · ${detail.runtime}${detail.kind && detail.kind !== detail.runtime ? `/${detail.kind}` : ''} · ${detail.id.slice(0, 12)}`),
      ),
      this.alarms.panel.el,
      this.figuresEl,
      h('div', { class: 'toolbar' }, h('h3', {}, 'History'), h('span', { class: 'muted hint' }, 'Drag to zoom · ← → pan · + − zoom · 0 whole window'), h('span', { class: 'grow' }), this.followEl),
      this.chartsEl,
      this.identity(detail),
    );
    this.charts = defs.map((def) => this.makeChart(def, hist));
    window.cstats = { charts: Object.fromEntries(this.charts.map((c) => [c.def.key, c.plot])) };
    this.resize.observe(this.chartsEl);
    this.renderFigures();
    this.renderAlarms();
  }

  /** The panel is in the view only once the container is loaded. */
  focusAlarms(): boolean {
    if (!this.alarms || this.alarms.panel.el.hidden) return false;
    this.alarms.panel.focus();
    return true;
  }

  private renderAlarms(): void {
    if (!this.alarms || !this.detail) return;
    this.alarms.panel.render(this.live.alerts, this.live.tick);
    markFiring(this.alarms.title, firingByContainer(this.live.alerts).get(this.detail.id));
  }

  destroy(): void {
    this.resize.disconnect();
    for (const c of this.charts) c.plot.destroy();
    this.charts = [];
    if (window.cstats) window.cstats.charts = {};
  }

  private width(): number {
    const w = this.chartsEl.clientWidth;
    // Two charts a row on a wide screen, one on a narrow one (less the figure's 1 px borders).
    return (w >= 900 ? Math.floor((w - 16) / 2) : w) - 2;
  }

  private fit(): void {
    const width = this.width();
    for (const c of this.charts) if (c.plot.width !== width) c.plot.setSize({ width, height: 200 });
  }

  private makeChart(def: ChartDef, hist: History): Chart {
    const n = hist.timestamps.length;
    const data: (number | null)[][] = [this.timestamps];
    for (const s of def.series) {
      if (s.metric) data.push((hist.series[s.metric.history] ?? new Array(n).fill(null)).map((v) => (v === null || Number.isNaN(v) ? null : v)));
      else if (s.constant !== undefined) data.push(new Array(n).fill(s.constant));
      else data.push(new Array(n).fill(null));
    }
    const box = h('figure', { class: 'chart', 'data-chart': def.key, tabindex: '0', 'aria-label': `${def.title} chart; arrow keys pan, + and − zoom, 0 shows the whole window` }, h('figcaption', {}, def.unit === 'cores' ? `${def.title} (cores)` : def.title));
    this.chartsEl.append(box);
    const unitOf = (v: number) => tick(def.unit, v);
    const incrs = def.unit === 'bytes' ? SIZE_STEPS : def.unit === 'bytesPerSecond' || def.unit === 'count' ? WHOLE_STEPS : undefined;
    // A canvas takes colours, not CSS variables: the theme's, read now.
    const style = getComputedStyle(document.documentElement);
    const fg = style.getPropertyValue('--fg2').trim() || '#555';
    const grid = style.getPropertyValue('--grid').trim() || '#ddd';
    const opts: uPlot.Options = {
      width: this.width(),
      height: 200,
      cursor: { sync: { key: 'cstats', setSeries: true }, drag: { x: true, y: false } },
      legend: { live: true },
      scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] }, '%': { range: [0, 100] } },
      axes: [
        { stroke: fg, grid: { stroke: grid }, ticks: { stroke: grid }, space: 80, values: (_u, vals) => vals.map(timeOfDay) },
        { stroke: fg, grid: { stroke: grid }, ticks: { stroke: grid }, size: 72, incrs, values: (_u, vals) => vals.map(unitOf) },
        ...(def.percentAxis ? [{ scale: '%', side: 1, stroke: fg, grid: { show: false }, size: 48, values: (_u: uPlot, vals: number[]) => vals.map((v) => `${v}%`) }] : []),
      ],
      series: [
        { label: 'Time', value: (_u, v) => (v === null ? '–' : timeOfDay(v)) },
        ...def.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 1.5,
          dash: s.dash ? [5, 4] : undefined,
          scale: s.scale ?? 'y',
          spanGaps: false,
          points: { show: false },
          value: (_u: uPlot, v: number | null) => (s.scale === '%' ? formatValue('percent', v ?? undefined) : fmt(def.unit, v)),
        })),
      ],
      hooks: { setScale: [(u, key) => key === 'x' && this.onScale(u)] },
    };
    const plot = new uPlot(opts, data as uPlot.AlignedData, box);
    box.addEventListener('keydown', (e) => this.onKey(e));
    box.addEventListener('wheel', (e) => {
      if (!e.shiftKey) return;
      e.preventDefault();
      this.pan(Math.sign(e.deltaY || e.deltaX) * 0.1);
    }, { passive: false });
    return { def, plot, data };
  }

  /** A chart's x range changed (drag zoom, or setScale from here): every chart shows the same range. */
  private onScale(u: uPlot): void {
    if (this.syncing) return;
    const { min, max } = u.scales.x;
    if (min === undefined || max === undefined) return;
    const first = this.timestamps[0];
    const last = this.timestamps[this.timestamps.length - 1];
    const whole = first !== undefined && min <= first && max >= last;
    this.setView(whole ? null : { min, max }, u);
  }

  private setView(view: { min: number; max: number } | null, from?: uPlot): void {
    this.view = view;
    this.followEl.setAttribute('aria-pressed', String(view === null));
    const range = view ?? this.wholeRange();
    if (!range) return;
    this.syncing = true;
    for (const c of this.charts) if (c.plot !== from) c.plot.setScale('x', range);
    this.syncing = false;
  }

  private wholeRange(): { min: number; max: number } | undefined {
    const t = this.timestamps;
    return t.length === 0 ? undefined : { min: t[0], max: t[t.length - 1] };
  }

  private pan(fraction: number): void {
    const r = this.view ?? this.wholeRange();
    if (!r) return;
    const d = (r.max - r.min) * fraction;
    this.setView({ min: r.min + d, max: r.max + d });
  }

  private zoom(factor: number): void {
    const r = this.view ?? this.wholeRange();
    if (!r) return;
    const mid = (r.min + r.max) / 2;
    const half = Math.max(((r.max - r.min) / 2) * factor, 5);
    this.setView({ min: mid - half, max: mid + half });
  }

  private onKey(e: KeyboardEvent): void {
    const actions: Record<string, () => void> = {
      ArrowLeft: () => this.pan(-0.1),
      ArrowRight: () => this.pan(0.1),
      '+': () => this.zoom(0.5),
      '=': () => this.zoom(0.5),
      '-': () => this.zoom(2),
      '0': () => this.setView(null),
    };
    const act = actions[e.key];
    if (act) {
      e.preventDefault();
      act();
    }
  }

  /** A tick: the container's figures for it join every chart (the same numbers the history will hold). */
  update(): void {
    this.renderAlarms();
    const c = this.live.containers.get(this.detail?.id ?? '');
    if (!c || !this.detail) return;
    Object.assign(this.detail, { state: c.state, derived: c.derived, sampledAt: c.sampledAt });
    this.renderFigures();
    const d = c.derived;
    if (!d || !isLive(c) || !c.sampledAt) return;
    const t = Date.parse(c.sampledAt) / 1000;
    if (this.timestamps.length > 0 && t <= this.timestamps[this.timestamps.length - 1]) return;
    // Drop what fell out of the agent's window.
    const cut = this.timestamps.findIndex((x) => x >= t - this.windowMs / 1000);
    const drop = cut < 0 ? 0 : cut;
    this.timestamps.splice(0, drop);
    this.timestamps.push(t);
    for (const chart of this.charts) {
      chart.data.forEach((col, i) => {
        if (i === 0) return; // the shared timestamps
        const s = chart.def.series[i - 1];
        col.splice(0, drop);
        if (s.metric) col.push(s.metric.live(d) ?? null);
        else if (s.constant !== undefined) col.push(s.constant);
        else if (s.iface) col.push(d.rates[`net.${s.iface.name}.${s.iface.field}`] ?? null);
      });
      chart.data[0] = this.timestamps;
      chart.plot.setData(chart.data as uPlot.AlignedData, this.view === null);
    }
  }

  private renderFigures(): void {
    const c = this.detail;
    if (!c) return;
    const d = isLive(c) ? c.derived : undefined;
    const items: [string, string, string][] = [
      ['cpuPercent', 'CPU %', formatValue('percent', d?.cpuPercent)],
      ['cpuCores', 'CPU cores', d ? d.cpuCores.toFixed(3) : '–'],
      ['cpuLimitPercent', 'CPU % of limit', formatValue('percent', d?.cpuLimitPercent)],
      ['throttledPercent', 'Throttled', formatValue('percent', d?.throttledPercent)],
      ['memoryUsageBytes', 'Memory', d ? `${formatValue('bytes', d.memoryUsageBytes)} / ${formatValue('bytes', d.memoryLimitBytes)}` : '–'],
      ['memoryPercent', 'Memory %', formatValue('percent', d?.memoryPercent)],
      ['net', 'Net rx / tx', d ? `${formatValue('bytesPerSecond', d.rates['net.rxBytes'])} / ${formatValue('bytesPerSecond', d.rates['net.txBytes'])}` : '–'],
      ['pids', 'PIDs', formatValue('count', d?.pids)],
    ];
    if (this.figuresEl.childElementCount !== items.length * 2) {
      this.figuresEl.replaceChildren(...items.map(([key, label]) => h('div', {}, h('dt', {}, label), h('dd', { 'data-fig': key }))));
    }
    for (const [key, , text] of items) setText(this.figuresEl.querySelector(`[data-fig="${key}"]`)!, text);
    this.figuresEl.dataset.tick = c.sampledAt ?? '';
  }

  private identity(d: Detail): HTMLElement {
    const dl = (rows: [string, string | undefined][]) => h('dl', { class: 'kv' }, ...rows.filter(([, v]) => v !== undefined && v !== '').flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v!)]));
    const lim = d.limits;
    const net = d.network;
    const labels = Object.entries(d.labels);
    return h('section', { class: 'identity', 'aria-label': 'Identity' },
      h('div', { class: 'panel' }, h('h3', {}, 'Identity'), dl([
        ['Name', d.name], ['Id', d.id], ['Image', d.image], ['Runtime', d.kind ? `${d.runtime} (${d.kind})` : d.runtime], ['State', d.state],
        ['Created', new Date(d.createdAt).toLocaleString()], ['Started', d.startedAt && new Date(d.startedAt).toLocaleString()], ['Removed', d.removedAt && new Date(d.removedAt).toLocaleString()],
        ['Pod', d.pod?.name && `${d.pod.namespace ?? ''}/${d.pod.name}${d.pod.sandbox ? ' (sandbox)' : ''}`],
        ['Cgroup', `v${d.cgroup.version} ${d.cgroup.path}`], ['PID', d.pid?.toString()],
        ['Network', net?.kind === 'shared' ? `shares ${this.live.containers.get(net.withId)?.name ?? net.withId.slice(0, 12)}'s namespace` : net?.kind],
      ])),
      h('div', { class: 'panel' }, h('h3', {}, 'Limits'), dl([
        ['CPUs', lim.cpus !== null ? `${lim.cpus} (quota ${lim.cpuQuotaUs} µs per ${lim.cpuPeriodUs} µs)` : 'none'],
        ['Memory', lim.memoryLimitBytes !== null ? formatValue('bytes', lim.memoryLimitBytes) : 'none'],
        ['Swap', lim.swapLimitBytes !== null ? formatValue('bytes', lim.swapLimitBytes) : 'none'],
        ['PIDs', lim.pidsLimit !== null ? String(lim.pidsLimit) : 'none'],
      ])),
      h('div', { class: 'panel' }, h('h3', {}, 'Interfaces'), (d.sample?.network ?? []).length === 0 ? h('p', { class: 'muted' }, 'none of its own') : dl((d.sample?.network ?? []).map((i) => [i.name, `${formatValue('bytes', i.rxBytes)} received · ${formatValue('bytes', i.txBytes)} sent`]))),
      h('div', { class: 'panel' }, h('h3', {}, 'Mounts'), d.mounts.length === 0 ? h('p', { class: 'muted' }, 'none') : dl(d.mounts.map((m) => [m.destination, `${m.type} ${m.name ?? m.source}${m.readWrite ? '' : ' (read-only)'}`]))),
      h('div', { class: 'panel wide' }, h('h3', {}, 'Labels'), labels.length === 0 ? h('p', { class: 'muted' }, 'none') : dl(labels.sort(([a], [b]) => a.localeCompare(b)))),
    );
  }
}
