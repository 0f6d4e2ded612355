/**
 * `cstats top`: a full-screen terminal view of a running agent's figures. The docker stats
 * columns are docker's own strings for the agent's derived figures (cli/format.ts, the same as
 * `cstats stats`), plus CPU % of the container's limit, throttled % and memory PSI; nothing is
 * recomputed here. Containers come from GET /api/v1/containers, each tick's figures from the
 * stream, a container's 60-second sparklines from its history. The stream's `alerts` events
 * (the alerts pending or firing, as GET /api/v1/alerts gives them) make the alarms pane under
 * the title, the ▲ before the name of a container with a firing alert, and the `a` view.
 *
 * Frames are diffed line by line against what the terminal shows: an idle host costs the clock
 * and little else. Hand-written ANSI (VT100 cursor moves, SGR attributes, the alternate screen);
 * NO_COLOR (no-color.org) turns every attribute off. When stdout is not a terminal the plain
 * table is printed once, and under it the alerts pending or firing, as the `a` view lists them.
 *
 * With --prometheus URL (the fleet view) the containers of every host come from a Prometheus-
 * compatible query API instead (src/fleet/query.ts), every 2 s, with a HOST column; a host whose
 * newest sample is older than --down-after is marked DOWN and its containers dimmed.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs, UsageError } from './args.js';
import { formatStatsTable, statsColumns, type StatsRow } from './stats-table.js';
import { toRow } from './stats.js';
import { parseDuration } from '../config.js';
import { FleetSource, queryFleet, type Fleet } from '../fleet/query.js';
import {
  age, alertSeverity, alertSince, alertSummary, alertTarget, alertValue, COLUMNS, compareBy, firingByContainer, formatValue, groupOf, GROUPINGS, isLive, matcher, orderAlerts,
  type Alert, type Column, type Grouping, type Summary, type Tick,
} from '../ui/model.js';

export const TOP_HELP = `Usage: cstats top [options]

A live, full-screen view of every container's resource use, from a running agent.

Options:
      --url URL   agent address (CSTATS_URL, default http://127.0.0.1:7070)
      --prometheus URL   the fleet: every host's containers from this Prometheus-compatible
                  query API (Prometheus, VictoriaMetrics, Thanos, Mimir) that agents fill with
                  --remote-write; a HOST column, hosts without a fresh sample marked DOWN
      --prometheus-username NAME, --prometheus-password PASSWORD   basic auth for it
      --prometheus-bearer-token TOKEN   or a bearer token
      --down-after DURATION   a host is down when its newest sample is older (default 15s)

Keys:
  ← →  sort column     r  reverse the order     ↑ ↓ PgUp PgDn  move
  /    filter (a regular expression; Esc clears)  g  group: pod, Compose project, runtime, none
  Enter  one container with 60-second sparklines (Esc goes back)
  a    alarms firing and pending      ▲ marks a container with an alarm firing
  p    pause           ?  help                   q  quit

When stdout is not a terminal, the table is printed once, then the alarms firing or pending.
NO_COLOR turns colours off.
`;

// ---- the agent ----

/** The one place top talks HTTP to the agent: GET `path`, or a clear error naming the agent. */
export async function agentGet(base: string, path: string, signal?: AbortSignal): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(base + path, { signal: signal ?? AbortSignal.timeout(5000) });
  } catch (err) {
    if ((err as Error).name === 'AbortError' && signal?.aborted) throw err;
    throw new Error(`cannot reach the cstats agent at ${new URL(base).origin}: ${(err as Error).cause ?? (err as Error).message}. Is \`cstats agent\` running? (set --url or CSTATS_URL)`);
  }
  if (!res.ok) throw new Error(`${base}${path}: ${res.status} ${(await res.text()).slice(0, 300)}`);
  return res;
}

const getJson = async <T>(base: string, path: string): Promise<T> => (await (await agentGet(base, path)).json()) as T;

/** Reads the agent's stream: calls `on.tick` per `tick` event and `on.alerts` per `alerts` event until `signal` aborts or the stream ends. */
async function readStream(base: string, signal: AbortSignal, on: { tick: (t: Tick) => void; alerts: (a: Alert[]) => void }): Promise<void> {
  const res = await agentGet(base, '/api/v1/stream', signal);
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const type = /^event: (tick|alerts)$/m.exec(event)?.[1];
      if (type === undefined) continue;
      const data = JSON.parse(event.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n')) as unknown;
      if (type === 'tick') on.tick(data as Tick);
      else on.alerts(data as Alert[]);
    }
  }
}

// ---- what is shown ----

/** A column of the table: a docker stats column (docker's strings) or one of the agent's extra figures. */
interface TopColumn {
  key: string;
  header: string;
  width: number;
  right: boolean;
  text(c: Summary, row: StatsRow): string;
  /** Sort order: the overview's column of the same figure. */
  sort: Column;
}

const col = (key: string): Column => COLUMNS.find((c) => c.key === key)!;
const extra = (key: string, width: number): TopColumn => ({ key, header: col(key).short, width, right: true, text: (c) => formatValue(col(key).unit, col(key).value(c)), sort: col(key) });
const idColumn: Column = { key: 'id', label: 'ID', short: 'CONTAINER ID', unit: 'text', value: (c) => c.id };
const netColumn: Column = { ...col('netRx'), value: (c) => (isLive(c) ? c.derived?.netRxBytes : undefined) };
const blockColumn: Column = { ...col('blockRead'), value: (c) => (isLive(c) ? c.derived?.blockReadBytes : undefined) };

/** In the order they are dropped last-first when the terminal is narrow (see layout()). */
const TOP_COLUMNS: TopColumn[] = [
  { key: 'name', header: 'NAME', width: 20, right: false, text: (_c, r) => statsColumns(r).Name, sort: col('name') },
  { key: 'cpu', header: 'CPU %', width: 8, right: true, text: (_c, r) => statsColumns(r).CPUPerc, sort: col('cpuPercent') },
  { key: 'mem', header: 'MEM USAGE / LIMIT', width: 21, right: true, text: (_c, r) => statsColumns(r).MemUsage, sort: col('memoryUsageBytes') },
  { key: 'memPerc', header: 'MEM %', width: 7, right: true, text: (_c, r) => statsColumns(r).MemPerc, sort: col('memoryPercent') },
  extra('cpuLimitPercent', 8),
  { key: 'net', header: 'NET I/O', width: 19, right: true, text: (_c, r) => statsColumns(r).NetIO, sort: netColumn },
  { key: 'pids', header: 'PIDS', width: 5, right: true, text: (_c, r) => statsColumns(r).PIDs, sort: col('pids') },
  extra('throttledPercent', 7),
  extra('psiMemory', 7),
  { key: 'block', header: 'BLOCK I/O', width: 19, right: true, text: (_c, r) => statsColumns(r).BlockIO, sort: blockColumn },
  { key: 'id', header: 'CONTAINER ID', width: 12, right: false, text: (_c, r) => statsColumns(r).ID, sort: idColumn },
];
/** Left to right as docker stats orders them. */
const DISPLAY_ORDER = ['id', 'name', 'cpu', 'cpuLimitPercent', 'throttledPercent', 'mem', 'memPerc', 'psiMemory', 'net', 'block', 'pids'];

/** The fleet view's host column: the host label, DOWN when the host has no fresh sample. */
const hostColumn: Column = { key: 'host', label: 'Host', short: 'HOST', unit: 'text', value: (c) => c.host };
const HOST_COLUMN: TopColumn = { key: 'host', header: 'HOST', width: 16, right: false, text: (c) => `${c.host ?? ''}${c.hostDown ? ' DOWN' : ''}`, sort: hostColumn };
/** The fleet view's columns: HOST is dropped only after NAME, and shown first. */
const FLEET_COLUMNS = [TOP_COLUMNS[0], HOST_COLUMN, ...TOP_COLUMNS.slice(1)];
const FLEET_ORDER = ['host', ...DISPLAY_ORDER];

/** The columns that fit in `width` (NAME takes what is left, up to 30 characters). */
export function layout(width: number, fleet = false): { columns: TopColumn[]; nameWidth: number } {
  const chosen: TopColumn[] = [];
  let used = 0;
  for (const c of fleet ? FLEET_COLUMNS : TOP_COLUMNS) {
    const need = (c.key === 'name' ? 12 : c.width) + (chosen.length > 0 ? 2 : 0);
    if (used + need > width) continue;
    chosen.push(c);
    used += need;
  }
  const nameWidth = Math.min(30, 12 + (width - used));
  return { columns: (fleet ? FLEET_ORDER : DISPLAY_ORDER).map((k) => chosen.find((c) => c.key === k)).filter((c): c is TopColumn => c !== undefined), nameWidth };
}

const fit = (text: string, width: number, right: boolean): string => {
  const t = text.length > width ? text.slice(0, Math.max(0, width - 1)) + '…' : text;
  return right ? t.padStart(width) : t.padEnd(width);
};

const SPARKS = '▁▂▃▄▅▆▇█';

/** A sparkline of the last `width` values, scaled from 0 (or the minimum, if negative) to the maximum. */
export function sparkline(values: readonly (number | null)[], width: number): string {
  const shown = values.slice(-width);
  const nums = shown.filter((v): v is number => v !== null && !Number.isNaN(v));
  const max = Math.max(0, ...nums);
  const min = Math.min(0, ...nums);
  return shown.map((v) => (v === null || Number.isNaN(v) ? ' ' : SPARKS[max === min ? 0 : Math.min(7, Math.floor(((v - min) / (max - min)) * 7.999))])).join('').padStart(width);
}

// ---- the screen ----

const ESC = '\x1b[';

interface Style {
  bold: (s: string) => string;
  inverse: (s: string) => string;
  dim: (s: string) => string;
  /** A firing alarm: red. */
  alarm: (s: string) => string;
}

export const styled = (color: boolean): Style =>
  color
    ? { bold: (s) => `${ESC}1m${s}${ESC}0m`, inverse: (s) => `${ESC}7m${s}${ESC}0m`, dim: (s) => `${ESC}2m${s}${ESC}0m`, alarm: (s) => `${ESC}31m${s}${ESC}0m` }
    : { bold: (s) => s, inverse: (s) => s, dim: (s) => s, alarm: (s) => s };

/** The mark before the name of a container with a firing alert (and before each firing alert). */
const FIRING = '▲';
/** Alert lines the list view's pane shows at most; `a` shows them all. */
const PANE_ALERTS = 3;

/** A screen that writes only the lines that differ from what it wrote last. */
export class Screen {
  private shown: string[] = [];

  constructor(private readonly write: (s: string) => void) {}

  invalidate(): void {
    this.shown = [];
  }

  draw(lines: string[], rows: number): void {
    let out = '';
    for (let i = 0; i < rows; i++) {
      const line = lines[i] ?? '';
      if (this.shown[i] === line) continue;
      out += `${ESC}${i + 1};1H${line}${ESC}K`;
    }
    this.shown = lines.slice(0, rows);
    if (out !== '') this.write(out);
  }
}

interface HistoryReply {
  timestamps: number[];
  series: Record<string, (number | null)[]>;
}

/** The sparklines of a container's view: a history column and the same figure from a tick. */
const SPARK_METRICS: { label: string; history: string; unit: 'percent' | 'bytes' | 'bytesPerSecond' | 'count'; live: (c: Summary) => number | undefined }[] = [
  { label: 'CPU %', history: 'cpu_percent', unit: 'percent', live: (c) => c.derived?.cpuPercent },
  { label: 'Memory', history: 'memory_usage_bytes', unit: 'bytes', live: (c) => c.derived?.memoryUsageBytes },
  { label: 'Net rx/s', history: 'network_rx_bytes_per_second', unit: 'bytesPerSecond', live: (c) => c.derived?.rates['net.rxBytes'] },
  { label: 'Net tx/s', history: 'network_tx_bytes_per_second', unit: 'bytesPerSecond', live: (c) => c.derived?.rates['net.txBytes'] },
  { label: 'Block read/s', history: 'block_read_bytes_per_second', unit: 'bytesPerSecond', live: (c) => c.derived?.rates['blkio.readBytes'] },
  { label: 'Block write/s', history: 'block_write_bytes_per_second', unit: 'bytesPerSecond', live: (c) => c.derived?.rates['blkio.writeBytes'] },
  { label: 'PIDs', history: 'pids', unit: 'count', live: (c) => c.derived?.pids },
  { label: 'PSI mem %', history: 'pressure_memory_some_percent', unit: 'percent', live: (c) => col('psiMemory').value(c) as number | undefined },
];

const SPARK_SECONDS = 60;

export class Top {
  containers = new Map<string, Summary>();
  tick?: string;
  sortKey = 'cpu';
  descending = true;
  filter = '';
  grouping: Grouping = 'none';
  selected = 0;
  offset = 0;
  paused = false;
  /** Alerts pending or firing, from the stream (kept while paused: an alarm is not a figure to hold still). */
  alerts: Alert[] = [];
  mode: 'list' | 'detail' | 'help' | 'filter' | 'alarms' = 'list';
  editing = '';
  message = '';
  detail?: { id: string; timestamps: number[]; series: (number | null)[][] };

  /** The fleet view: containers of every host from a query API, keyed by host and id; no stream, history or alerts. */
  fleet?: Fleet;

  constructor(
    readonly base: string,
    readonly style: Style,
    readonly fleetMode = false,
  ) {}

  private get columns(): TopColumn[] {
    return this.fleetMode ? FLEET_COLUMNS : TOP_COLUMNS;
  }

  private rows(): { c: Summary; group?: string }[] {
    const column = this.columns.find((c) => c.key === this.sortKey)!.sort;
    const cmp = compareBy(column, this.descending);
    const match = matcher(this.filter);
    const shown = [...this.containers.values()].filter((c) => c.state !== 'removed' && match(c)).map((c) => ({ c, group: groupOf(c, this.grouping, this.containers) }));
    return shown.sort((a, b) => {
      if (this.grouping !== 'none' && a.group !== b.group) return a.group === undefined ? 1 : b.group === undefined ? -1 : a.group.localeCompare(b.group);
      return Number(!isLive(a.c)) - Number(!isLive(b.c)) || cmp(a.c, b.c);
    });
  }

  /** One alert on one line, red when firing, dim when pending. */
  private alertLine(a: Alert, width: number, withContainer: boolean): string {
    const line = fit(alertText(a, this.tick ? Date.parse(this.tick) : Date.now(), withContainer), width, false);
    return a.state === 'firing' ? this.style.alarm(line) : this.style.dim(line);
  }

  /** The list view's alarms pane: a count, then the most urgent alerts; nothing when there are none. */
  private alarmsPane(width: number): string[] {
    if (this.alerts.length === 0) return [];
    const ordered = orderAlerts(this.alerts);
    const more = ordered.length - PANE_ALERTS;
    const count = `${alarmsCount(ordered)}${more > 0 ? ` (${more} more: a lists all)` : ' (a lists them)'}`;
    return [this.style.bold(fit(count, width, false)), ...ordered.slice(0, PANE_ALERTS).map((a) => this.alertLine(a, width, true))];
  }

  private alarmsFrame(width: number, height: number): string[] {
    const ordered = orderAlerts(this.alerts);
    const lines = [this.style.bold(fit(`cstats top · alarms: ${ordered.filter((a) => a.state === 'firing').length} firing, ${ordered.filter((a) => a.state === 'pending').length} pending (any key returns)`, width, false)), ''];
    if (ordered.length === 0) lines.push('No alarm is firing or pending.');
    lines.push(...ordered.map((a) => this.alertLine(a, width, true)));
    return [...lines, ...new Array(Math.max(0, height - lines.length)).fill('')].slice(0, height);
  }

  /** The frame for a terminal of `width` × `height`. */
  frame(width: number, height: number): string[] {
    if (this.mode === 'help') return this.helpFrame(width, height);
    if (this.mode === 'alarms') return this.alarmsFrame(width, height);
    if (this.mode === 'detail' && this.detail) return this.detailFrame(width, height);
    const { bold, inverse, dim } = this.style;
    const rows = this.rows();
    const running = [...this.containers.values()].filter(isLive).length;
    const sortHeader = this.columns.find((c) => c.key === this.sortKey)!.header;
    const down = this.fleet?.hosts.filter((h) => h.down).length ?? 0;
    const status = [
      this.fleet ? `${this.fleet.hosts.length} hosts${down > 0 ? `, ${down} DOWN` : ''}` : '',
      `${running} running`,
      `sort ${sortHeader} ${this.descending ? '▼' : '▲'}`,
      this.filter ? `filter /${this.filter}/` : '',
      this.grouping !== 'none' ? `group ${this.grouping}` : '',
      this.paused ? 'PAUSED' : '',
    ].filter((s) => s !== '');
    const clock = this.tick ? new Date(this.tick).toLocaleTimeString() : 'waiting for the first tick';
    const title = `cstats top · ${this.fleetMode ? 'fleet ' : ''}${new URL(this.base).host} · ${clock}`;
    const lines = [bold(fit(`${title}  ${status.join(' · ')}`, width, false)), ...this.alarmsPane(width)];
    const firing = firingByContainer(this.alerts);
    const { columns, nameWidth } = layout(width, this.fleetMode);
    const widthOf = (c: TopColumn) => (c.key === 'name' ? nameWidth : c.width);
    const header = columns.map((c) => fit(c.key === this.sortKey ? `${c.header}${this.descending ? '▼' : '▲'}` : c.header, widthOf(c), c.right)).join('  ');
    lines.push(inverse(fit(header, width, false)));
    const body: { text: string; index?: number }[] = [];
    let group: string | undefined | null = null;
    rows.forEach(({ c, group: g }, i) => {
      if (this.grouping !== 'none' && g !== group) {
        group = g;
        body.push({ text: bold(fit(`▸ ${g ?? `no ${this.grouping}`}`, width, false)) });
      }
      const row = toRow({ c });
      const marked = firing.has(c.id);
      const cell = (col: TopColumn) => (col.key === 'name' && marked ? `${FIRING} ${col.text(c, row)}` : col.text(c, row));
      const text = fit(columns.map((col) => fit(cell(col), widthOf(col), col.right)).join('  '), width, false);
      const shown = marked ? this.style.alarm(text) : isLive(c) && !c.hostDown ? text : dim(text);
      body.push({ text: i === this.selected ? inverse(shown) : shown, index: i });
    });
    if (rows.length === 0) body.push({ text: this.containers.size === 0 ? 'No containers.' : 'No container matches the filter.' });
    this.selected = Math.max(0, Math.min(this.selected, rows.length - 1));
    const room = Math.max(1, height - lines.length - 1);
    const selectedLine = body.findIndex((b) => b.index === this.selected);
    if (selectedLine < this.offset) this.offset = selectedLine;
    if (selectedLine >= this.offset + room) this.offset = selectedLine - room + 1;
    this.offset = Math.max(0, Math.min(this.offset, body.length - room));
    lines.push(...body.slice(this.offset, this.offset + room).map((b) => b.text));
    while (lines.length < height - 1) lines.push('');
    lines.push(this.footer(width));
    return lines;
  }

  private footer(width: number): string {
    if (this.mode === 'filter') return fit(`Filter (regular expression, Enter applies, Esc clears): /${this.editing}`, width, false);
    return this.style.dim(fit(this.message || '←→ sort  r reverse  ↑↓ move  / filter  g group  Enter open  p pause  ? help  q quit', width, false));
  }

  private helpFrame(width: number, height: number): string[] {
    const lines = [this.style.bold(fit('cstats top · help (any key returns)', width, false)), '', ...TOP_HELP.split('\n').slice(5)];
    return [...lines.map((l) => fit(l, width, false)), ...new Array(Math.max(0, height - lines.length)).fill('')].slice(0, height);
  }

  private detailFrame(width: number, height: number): string[] {
    const d = this.detail!;
    const c = this.containers.get(d.id);
    const { bold, dim } = this.style;
    if (!c) return [bold(fit('The container is gone (Esc goes back).', width, false))];
    const r = statsColumns(toRow({ c }));
    const lines = [
      bold(fit(`${c.name} · ${c.image} · ${c.state} · ${c.id.slice(0, 12)}`, width, false)),
      fit(`CPU ${r.CPUPerc}  of limit ${formatValue('percent', col('cpuLimitPercent').value(c))}  throttled ${formatValue('percent', col('throttledPercent').value(c))}  MEM ${r.MemUsage} (${r.MemPerc})  PIDS ${r.PIDs}`, width, false),
      fit(`NET I/O ${r.NetIO}  BLOCK I/O ${r.BlockIO}`, width, false),
      ...orderAlerts(this.alerts.filter((a) => a.container?.id === c.id)).map((a) => this.alertLine(a, width, false)),
      '',
      dim(fit(`Last ${SPARK_SECONDS} s (Esc goes back)`, width, false)),
    ];
    const sparkWidth = Math.max(10, Math.min(SPARK_SECONDS, width - 30));
    SPARK_METRICS.forEach((m, i) => {
      const values = d.series[i];
      const latest = values[values.length - 1];
      lines.push(fit(`${m.label.padEnd(14)}${sparkline(values, sparkWidth)}  ${formatValue(m.unit, latest ?? undefined)}`, width, false));
    });
    while (lines.length < height - 1) lines.push('');
    lines.push(this.footer(width));
    return lines.slice(0, height);
  }

  applyTick(t: Tick): boolean {
    if (this.paused) return false;
    this.tick = t.timestamp;
    let unknown = false;
    for (const c of t.containers) {
      const s = this.containers.get(c.id);
      if (s) (s.derived = c.derived), (s.sampledAt = t.timestamp);
      else unknown = true;
    }
    const live = new Set(t.containers.map((c) => c.id));
    for (const s of this.containers.values()) if (isLive(s) && !live.has(s.id)) unknown = true;
    const d = this.detail;
    const c = d && this.containers.get(d.id);
    if (d && c && isLive(c) && Date.parse(t.timestamp) > (d.timestamps.at(-1) ?? 0)) {
      d.timestamps.push(Date.parse(t.timestamp));
      SPARK_METRICS.forEach((m, i) => d.series[i].push(m.live(c) ?? null));
      const keep = d.timestamps.findIndex((x) => x > Date.parse(t.timestamp) - SPARK_SECONDS * 1000);
      if (keep > 0) {
        d.timestamps.splice(0, keep);
        for (const s of d.series) s.splice(0, keep);
      }
    }
    return unknown;
  }

  async refreshList(): Promise<void> {
    const list = await getJson<Summary[]>(this.base, '/api/v1/containers?all=1');
    this.containers = new Map(list.map((c) => [c.id, c]));
  }

  /** The fleet view's refresh: every host's containers as the query API gave them (kept still while paused). */
  applyFleet(f: Fleet): void {
    if (this.paused) return;
    this.fleet = f;
    this.tick = f.queriedAt;
    this.containers = new Map(f.containers.map((c) => [`${c.host}\u0000${c.id}`, c]));
  }

  async open(): Promise<void> {
    const row = this.rows()[this.selected];
    if (!row) return;
    if (this.fleetMode) throw new Error('the fleet view has no per-container history (open it on the host: cstats top --url)');
    const h = await getJson<HistoryReply>(this.base, `/api/v1/containers/${encodeURIComponent(row.c.id)}/history?since=${SPARK_SECONDS}s&metrics=${SPARK_METRICS.map((m) => m.history).join(',')}`);
    this.detail = { id: row.c.id, timestamps: h.timestamps, series: SPARK_METRICS.map((m) => h.series[m.history] ?? []) };
    this.mode = 'detail';
  }

  /** Handles one key; returns false to quit. */
  async key(k: string): Promise<boolean> {
    this.message = '';
    if (this.mode === 'filter') {
      if (k === '\r') (this.filter = this.editing), (this.mode = 'list'), (this.selected = 0);
      else if (k === '\x1b') (this.filter = ''), (this.mode = 'list');
      else if (k === '\x7f' || k === '\b') this.editing = this.editing.slice(0, -1);
      else if (k >= ' ' && !k.startsWith('\x1b')) this.editing += k;
      return true;
    }
    if (k === 'q' || k === '\x03') return false;
    if (this.mode === 'help' || this.mode === 'alarms') {
      this.mode = 'list';
      return true;
    }
    if (this.mode === 'detail') {
      if (k === '\x1b' || k === '\x7f' || k === '\r') (this.mode = 'list'), (this.detail = undefined);
      else if (k === 'p') this.paused = !this.paused;
      else if (k === '?') this.mode = 'help';
      return true;
    }
    const display = this.fleetMode ? FLEET_ORDER : DISPLAY_ORDER;
    const order = this.columns.map((c) => c.key).sort((a, b) => display.indexOf(a) - display.indexOf(b));
    const move = (by: number) => (this.selected = Math.max(0, this.selected + by));
    switch (k) {
      case '\x1b[C':
      case '>':
        this.sortKey = order[(order.indexOf(this.sortKey) + 1) % order.length];
        break;
      case '\x1b[D':
      case '<':
        this.sortKey = order[(order.indexOf(this.sortKey) + order.length - 1) % order.length];
        break;
      case 'r':
        this.descending = !this.descending;
        break;
      case '\x1b[A':
      case 'k':
        move(-1);
        break;
      case '\x1b[B':
      case 'j':
        move(1);
        break;
      case '\x1b[5~':
        move(-10);
        break;
      case '\x1b[6~':
        move(10);
        break;
      case '/':
        this.mode = 'filter';
        this.editing = this.filter;
        break;
      case 'g':
        this.grouping = GROUPINGS[(GROUPINGS.indexOf(this.grouping) + 1) % GROUPINGS.length];
        break;
      case 'p':
        this.paused = !this.paused;
        break;
      case '?':
        this.mode = 'help';
        break;
      case 'a':
        this.mode = 'alarms';
        break;
      case '\r':
        try {
          await this.open();
        } catch (err) {
          this.message = (err as Error).message;
        }
        break;
      case '\x1b':
        this.filter = '';
        break;
    }
    return true;
  }
}

/** Splits what a read returned into keys: escape sequences whole, other characters one by one. */
export function splitKeys(data: string): string[] {
  const keys: string[] = [];
  const re = /\x1b\[[0-9;]*[~A-Za-z]|\x1bO[A-Za-z]|[\s\S]/gu;
  for (const m of data.matchAll(re)) keys.push(m[0].replace(/^\x1bO/, '\x1b['));
  return keys;
}

/**
 * The plain table (not a terminal): docker's columns as `cstats stats --no-stream` prints them, then
 * the extra figures; in the fleet view a HOST column first (DOWN after a host without a fresh sample).
 */
/** An alert's text: mark, severity, rule, container, value, time in its state, summary. */
function alertText(a: Alert, nowMs: number, withContainer: boolean): string {
  const sev = alertSeverity(a);
  return [
    a.state === 'firing' ? FIRING : '…',
    a.state === 'firing' ? sev || 'firing' : `pending${sev ? ` ${sev}` : ''}`,
    a.alarm,
    withContainer ? `on ${alertTarget(a)}` : '',
    `value ${alertValue(a)}`,
    `for ${age(alertSince(a), nowMs)}`,
    alertSummary(a),
  ].filter((x) => x !== '').join('  ');
}

/** `ALARMS 2 firing, 1 pending` */
function alarmsCount(alerts: readonly Alert[]): string {
  const firing = alerts.filter((a) => a.state === 'firing').length;
  return `ALARMS ${firing} firing${alerts.length > firing ? `, ${alerts.length - firing} pending` : ''}`;
}

/**
 * The alerts pending or firing, most urgent first, for under the plain table (whose output ends
 * with a blank line): nothing when there are none.
 */
export function plainAlarms(alerts: readonly Alert[], nowMs: number): string {
  if (alerts.length === 0) return '';
  const ordered = orderAlerts(alerts);
  return `${alarmsCount(ordered)}\n${ordered.map((a) => alertText(a, nowMs, true)).join('\n')}\n`;
}

export function plainTable(list: Summary[], fleet = false): string {
  const live = list.filter(isLive).sort((a, b) => (a.host ?? '').localeCompare(b.host ?? '') || a.name.localeCompare(b.name));
  const hostWidth = Math.max(4, ...live.map((c) => HOST_COLUMN.text(c, toRow({ c })).length));
  const host = (i: number): string => (!fleet ? '' : `${(i === 0 ? 'HOST' : HOST_COLUMN.text(live[i - 1], toRow({ c: live[i - 1] }))).padEnd(hostWidth)}   `);
  const table = formatStatsTable(live.map((c) => toRow({ c }))).split('\n');
  const extras = ['cpuLimitPercent', 'throttledPercent', 'psiMemory'].map((k) => col(k));
  const width = Math.max(...table.map((l) => l.length));
  return table
    .map((line, i) => {
      if (line === '') return line;
      const cells = i === 0 ? extras.map((e) => e.short) : extras.map((e) => formatValue(e.unit, e.value(live[i - 1])));
      return `${host(i)}${line.padEnd(width)}   ${cells.map((c) => c.padStart(8)).join('   ')}`;
    })
    .join('\n');
}

/** The fleet view's query API from top's options, or undefined without --prometheus. */
function fleetSource(flags: Record<string, string | boolean | undefined>): FleetSource | undefined {
  const url = flags.prometheus as string | undefined;
  const auth = ['prometheus-username', 'prometheus-password', 'prometheus-bearer-token', 'down-after'].filter((k) => flags[k] !== undefined);
  if (url === undefined) {
    if (auth.length > 0) throw new UsageError(`--${auth[0]} needs --prometheus`);
    return undefined;
  }
  if (!/^https?:\/\/[^/]/.test(url) || !URL.canParse(url)) throw new UsageError(`--prometheus: expected an http:// or https:// URL, got ${JSON.stringify(url)}`);
  if (flags['prometheus-username'] !== undefined && flags['prometheus-bearer-token'] !== undefined) throw new UsageError('--prometheus-username and --prometheus-bearer-token: give one or the other, not both');
  return new FleetSource({
    url,
    username: flags['prometheus-username'] as string | undefined,
    password: flags['prometheus-password'] as string | undefined,
    bearerToken: flags['prometheus-bearer-token'] as string | undefined,
    timeoutMs: 5000,
    downAfterMs: parseDuration((flags['down-after'] as string | undefined) ?? '15s', '--down-after'),
  });
}

/** How often the fleet view asks the query API. */
const FLEET_REFRESH_MS = 2000;

export async function runTop(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(
    argv,
    new Map([['url', 'string'], ['prometheus', 'string'], ['prometheus-username', 'string'], ['prometheus-password', 'string'], ['prometheus-bearer-token', 'string'], ['down-after', 'string']]),
  );
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const source = fleetSource(flags);
  const base = (source?.options.url ?? (flags.url as string | undefined) ?? process.env.CSTATS_URL ?? 'http://127.0.0.1:7070').replace(/\/+$/, '');
  const out = process.stdout;
  if (!out.isTTY || !process.stdin.isTTY) {
    if (source) out.write(plainTable((await queryFleet(source)).containers, true) + '\n');
    else {
      const [list, alerts] = await Promise.all([getJson<Summary[]>(base, '/api/v1/containers'), getJson<Alert[]>(base, '/api/v1/alerts')]);
      out.write(plainTable(list) + '\n' + plainAlarms(alerts, Date.now()));
    }
    return 0;
  }
  const color = process.env.NO_COLOR === undefined || process.env.NO_COLOR === '';
  const top = new Top(base, styled(color), source !== undefined);
  if (source) top.applyFleet(await queryFleet(source));
  else await top.refreshList();
  const screen = new Screen((s) => out.write(s));
  const abort = new AbortController();
  let dirty = true;
  let refreshing = false;
  const render = (): void => {
    dirty = false;
    screen.draw(top.frame(out.columns, out.rows), out.rows);
  };
  // One frame at most per event-loop turn, however many ticks and keys arrived.
  const schedule = (): void => {
    if (!dirty) (dirty = true), setImmediate(render);
  };
  out.write(`${ESC}?1049h${ESC}?25l${ESC}2J`);
  const restore = (): void => void out.write(`${ESC}0m${ESC}?25h${ESC}?1049l`);
  process.once('exit', restore);
  out.on('resize', () => {
    screen.invalidate();
    out.write(`${ESC}2J`);
    schedule();
  });
  render();

  const stream = (async () => {
    while (source && !abort.signal.aborted) {
      await delay(FLEET_REFRESH_MS, undefined, { signal: abort.signal }).catch(() => undefined);
      if (abort.signal.aborted) return;
      try {
        top.applyFleet(await queryFleet(source));
        if (top.message.endsWith('(retrying)')) top.message = '';
      } catch (err) {
        top.message = `${(err as Error).message} (retrying)`;
      }
      schedule();
    }
    while (!abort.signal.aborted) {
      try {
        await readStream(base, abort.signal, {
          tick: (t) => {
            if (top.applyTick(t) && !refreshing) {
              refreshing = true;
              void top.refreshList().catch((e) => (top.message = (e as Error).message)).finally(() => ((refreshing = false), schedule()));
            }
            schedule();
          },
          alerts: (a) => {
            top.alerts = a;
            schedule();
          },
        });
      } catch (err) {
        if (abort.signal.aborted) return;
        top.message = `${(err as Error).message} (retrying)`;
        schedule();
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();

  process.stdin.setRawMode(true);
  process.stdin.setEncoding('utf8');
  const done = new Promise<void>((resolve) => {
    process.stdin.on('data', async (data: string) => {
      for (const k of splitKeys(data)) {
        if (!(await top.key(k))) return resolve();
      }
      schedule();
    });
    process.once('SIGTERM', () => resolve());
  });
  await done;
  abort.abort();
  process.stdin.setRawMode(false);
  process.stdin.pause();
  restore();
  process.removeListener('exit', restore);
  await stream.catch(() => undefined);
  return 0;
}
