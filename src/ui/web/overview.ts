/**
 * The overview: the host's figures and a table of every container, sortable by each column
 * (click or Enter on a header), filtered by a regular expression, grouped by Compose project,
 * pod or runtime. Rows are built when the list, sort, filter or grouping changes; a tick only
 * rewrites the cells whose text changed (and moves rows when the order did). Above them, the
 * alarms panel; a container with a firing alert is marked in the table (class `alarm`, ▲).
 */
import { COLUMNS, compareBy, firingByContainer, formatValue, groupOf, GROUPINGS, isLive, matcher, type Alert, type Column, type Grouping, type Summary } from '../model.js';
import type { Live } from './live.js';
import { h, setText } from './dom.js';
import { AlarmsPanel, markFiring } from './alarms.js';

interface Row {
  tr: HTMLTableRowElement;
  cells: HTMLTableCellElement[];
}

const GROUP_LABEL: Record<Grouping, string> = { none: 'No grouping', compose: 'Compose project', pod: 'Pod / shared network', runtime: 'Runtime' };

const pct = (v: number | undefined) => formatValue('percent', v);
const bytes = (v: number | undefined) => formatValue('bytes', v);
const perSec = (v: number | undefined) => formatValue('bytesPerSecond', v);

/** Devices and interfaces that would crowd out the ones people look at. */
const QUIET_DISK = /^(loop|ram|zram|dm-|sr)\d*/;
const CONTAINER_IFACE = /^(veth|cali|flannel|cni|vxlan)/;

export class Overview {
  readonly el: HTMLElement;
  private readonly hostEl = h('section', { class: 'host', 'aria-label': 'Host' });
  private readonly tbody = h('tbody');
  private readonly thead = h('thead');
  private readonly countEl = h('span', { class: 'count', 'aria-live': 'polite' });
  private readonly filterEl = h('input', { type: 'search', id: 'filter', placeholder: 'Filter (regular expression)  /', 'aria-label': 'Filter containers', autocomplete: 'off', spellcheck: 'false' });
  private readonly groupEl = h('select', { id: 'group', 'aria-label': 'Group by' });
  readonly alarms = new AlarmsPanel();
  /** Firing alerts by container id, as of the last `alerts` event. */
  private firing = new Map<string, Alert[]>();
  private rows = new Map<string, Row>();
  private order: string[] = [];
  private sortKey = 'cpuPercent';
  private descending = true;
  private filter = '';
  private grouping: Grouping = 'none';

  constructor(private readonly live: Live) {
    const saved = new URLSearchParams(location.hash.split('?')[1] ?? '');
    this.sortKey = COLUMNS.some((c) => c.key === saved.get('sort')) ? saved.get('sort')! : 'cpuPercent';
    this.descending = saved.get('dir') !== 'asc';
    this.filter = saved.get('q') ?? '';
    this.grouping = (GROUPINGS as readonly string[]).includes(saved.get('group') ?? '') ? (saved.get('group') as Grouping) : 'none';
    this.filterEl.value = this.filter;
    for (const g of GROUPINGS) this.groupEl.append(h('option', { value: g, selected: g === this.grouping }, GROUP_LABEL[g]));
    this.filterEl.addEventListener('input', () => {
      this.filter = this.filterEl.value;
      this.saveState();
      this.rebuild();
    });
    this.groupEl.addEventListener('change', () => {
      this.grouping = this.groupEl.value as Grouping;
      this.saveState();
      this.rebuild();
    });
    const table = h('table', { class: 'containers', 'aria-label': 'Containers' }, this.thead, this.tbody);
    this.el = h(
      'main',
      { class: 'overview' },
      this.alarms.el,
      this.hostEl,
      h('section', { class: 'list', 'aria-label': 'Containers' },
        h('div', { class: 'toolbar' }, h('h2', {}, 'Containers'), this.countEl, h('span', { class: 'grow' }), this.filterEl, this.groupEl),
        h('div', { class: 'scroll', tabindex: '-1' }, table),
      ),
    );
    this.renderHead();
    this.rebuild();
    this.renderHost();
    this.renderAlarms();
  }

  /** New alerts: the panel, and the marks of the rows shown. */
  renderAlarms(): void {
    this.firing = firingByContainer(this.live.alerts);
    this.alarms.render(this.live.alerts, this.live.tick);
    for (const [id, row] of this.rows) this.mark(row, id);
  }

  private mark(row: Row, id: string): void {
    const firing = this.firing.get(id);
    row.tr.classList.toggle('alarm', firing !== undefined);
    markFiring(row.cells[0], firing);
  }

  focusFilter(): void {
    this.filterEl.focus();
    this.filterEl.select();
  }

  private saveState(): void {
    const p = new URLSearchParams();
    if (this.sortKey !== 'cpuPercent') p.set('sort', this.sortKey);
    if (!this.descending) p.set('dir', 'asc');
    if (this.filter) p.set('q', this.filter);
    if (this.grouping !== 'none') p.set('group', this.grouping);
    const q = p.toString();
    history.replaceState(null, '', q ? `#/?${q}` : '#/');
  }

  private renderHead(): void {
    const tr = h('tr');
    for (const col of COLUMNS) {
      const active = col.key === this.sortKey;
      const button = h('button', { type: 'button', title: col.title ? `${col.title}. Sort by ${col.label}` : `Sort by ${col.label}` }, col.label, h('span', { class: 'arrow', 'aria-hidden': 'true' }, active ? (this.descending ? '▼' : '▲') : ''));
      button.addEventListener('click', () => this.sortBy(col));
      tr.append(h('th', { scope: 'col', class: col.unit === 'text' ? `t-${col.key}` : 'num', 'data-col': col.key, 'aria-sort': active ? (this.descending ? 'descending' : 'ascending') : undefined }, button));
    }
    this.thead.replaceChildren(tr);
  }

  private sortBy(col: Column): void {
    // Numbers sort largest first on the first click, text A→Z.
    if (this.sortKey === col.key) this.descending = !this.descending;
    else (this.sortKey = col.key), (this.descending = col.unit !== 'text');
    this.saveState();
    this.renderHead();
    this.rebuild();
    (this.thead.querySelector(`[data-col="${col.key}"] button`) as HTMLButtonElement | null)?.focus();
  }

  /** The containers shown, in order, with their group (when grouping). */
  private arranged(): { c: Summary; group?: string }[] {
    const all = [...this.live.containers.values()];
    const match = matcher(this.filter);
    const col = COLUMNS.find((c) => c.key === this.sortKey) ?? COLUMNS[4];
    const cmp = compareBy(col, this.descending);
    const shown = all.filter(match).map((c) => ({ c, group: groupOf(c, this.grouping, this.live.containers) }));
    // Running first, then stopped, then removed: what is gone sinks, greyed.
    const rank = (c: Summary) => (isLive(c) ? 0 : c.state === 'removed' ? 2 : 1);
    shown.sort((a, b) => {
      if (this.grouping !== 'none' && a.group !== b.group) {
        if (a.group === undefined || b.group === undefined) return a.group === undefined ? 1 : -1;
        return a.group.localeCompare(b.group);
      }
      return rank(a.c) - rank(b.c) || cmp(a.c, b.c);
    });
    return shown;
  }

  /** Rebuilds the table body (list, sort, filter or grouping changed). */
  rebuild(): void {
    const shown = this.arranged();
    const rows = new Map<string, Row>();
    const frag = document.createDocumentFragment();
    let group: string | undefined | null = null;
    for (const { c, group: g } of shown) {
      if (this.grouping !== 'none' && g !== group) {
        group = g;
        frag.append(h('tr', { class: 'group' }, h('th', { colspan: COLUMNS.length, scope: 'rowgroup' }, g ?? `No ${GROUP_LABEL[this.grouping].toLowerCase()}`)));
      }
      const row = this.rows.get(c.id) ?? this.makeRow(c);
      rows.set(c.id, row);
      this.fill(row, c);
      frag.append(row.tr);
    }
    this.rows = rows;
    this.order = shown.map((s) => s.c.id);
    this.tbody.replaceChildren(frag);
    if (shown.length === 0) this.tbody.append(h('tr', { class: 'empty' }, h('td', { colspan: COLUMNS.length }, this.live.containers.size === 0 ? 'No containers yet.' : 'No container matches the filter.')));
    const running = [...this.live.containers.values()].filter(isLive).length;
    setText(this.countEl, `${shown.length} shown · ${running} running · ${this.live.containers.size} known`);
  }

  private makeRow(c: Summary): Row {
    const cells = COLUMNS.map((col) => h('td', { class: col.unit === 'text' ? `t-${col.key}` : 'num', 'data-col': col.key }));
    const link = h('a', { href: `#/c/${encodeURIComponent(c.id)}`, title: c.id });
    cells[0].append(link);
    const tr = h('tr', { 'data-id': c.id }, ...cells);
    return { tr, cells };
  }

  private fill(row: Row, c: Summary): void {
    row.tr.className = isLive(c) ? '' : c.state === 'removed' ? 'removed' : 'stopped';
    this.mark(row, c.id);
    if (c.sampledAt) row.tr.dataset.tick = c.sampledAt;
    COLUMNS.forEach((col, i) => {
      const v = col.value(c);
      const cell = row.cells[i];
      const target = i === 0 ? cell.firstElementChild! : cell;
      setText(target, formatValue(col.unit, v));
      if (typeof v === 'number') cell.dataset.value = String(v);
      else delete cell.dataset.value;
    });
  }

  /** A tick: new figures for the rows shown; rows move only if the order changed. */
  update(): void {
    const shown = this.arranged();
    const ids = shown.map((s) => s.c.id);
    if (ids.length !== this.order.length || ids.some((id, i) => id !== this.order[i]) || ids.some((id) => !this.rows.has(id))) return this.rebuild();
    for (const { c } of shown) this.fill(this.rows.get(c.id)!, c);
    this.renderHost();
    // "since" moves with the ticks.
    this.alarms.render(this.live.alerts, this.live.tick);
  }

  renderHost(): void {
    const d = this.live.host;
    const m = this.live.machine;
    const card = (title: string, key: string, main: string, sub: string, extra?: Node) =>
      h('div', { class: 'card', 'data-card': key }, h('h3', {}, title), h('div', { class: 'big' }, main), h('div', { class: 'sub' }, sub), extra);
    const meter = (fraction: number | undefined) => {
      const f = Math.max(0, Math.min(1, fraction ?? 0));
      return h('div', { class: `meter${f > 0.9 ? ' hot' : f > 0.7 ? ' warm' : ''}`, role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': Math.round(f * 100) }, h('span', { style: `width:${(f * 100).toFixed(1)}%` }));
    };
    const list = (rows: [string, string][], more = 0) =>
      h('table', { class: 'mini' }, h('tbody', {}, ...rows.map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, v))), more > 0 ? h('tr', { class: 'more' }, h('td', { colspan: 2 }, `+${more} more`)) : undefined));
    const cards: HTMLElement[] = [];
    cards.push(card('CPU', 'cpu', pct(d?.cpuPercent), d?.cpuBusyCores !== undefined ? `${d.cpuBusyCores.toFixed(2)} of ${d.onlineCpus} cores busy` : `${d?.onlineCpus ?? m.cpus ?? '?'} cores`, meter((d?.cpuPercent ?? 0) / 100)));
    const memFraction = d?.memoryUsedBytes !== undefined && d.memoryTotalBytes ? d.memoryUsedBytes / d.memoryTotalBytes : undefined;
    cards.push(card('Memory', 'memory', bytes(d?.memoryUsedBytes), `of ${bytes(d?.memoryTotalBytes)} in use (${pct(memFraction === undefined ? undefined : memFraction * 100)})`, meter(memFraction)));
    const l = m.load;
    cards.push(card('Load', 'load', l ? l.load1.toFixed(2) : '–', l ? `5 min ${l.load5.toFixed(2)} · 15 min ${l.load15.toFixed(2)} · ${l.runnable}/${l.total} tasks` : 'not read'));
    const disks = (d?.disks ?? []).filter((x) => !QUIET_DISK.test(x.name));
    cards.push(card('Disks', 'disks', `${perSec(sum(disks.filter(whole), (x) => x.readBytesPerSecond))} read`, `${perSec(sum(disks.filter(whole), (x) => x.writeBytesPerSecond))} written`, list(disks.slice(0, 4).map((x) => [x.name, `${perSec(x.readBytesPerSecond)} r · ${perSec(x.writeBytesPerSecond)} w`]), disks.length - 4)));
    const ifaces = (d?.networks ?? []).filter((n) => n.name !== 'lo' && !CONTAINER_IFACE.test(n.name));
    const hidden = (d?.networks ?? []).filter((n) => CONTAINER_IFACE.test(n.name)).length;
    cards.push(card('Networks', 'networks', `${perSec(sum(ifaces, (x) => x.rxBytesPerSecond))} in`, `${perSec(sum(ifaces, (x) => x.txBytesPerSecond))} out${hidden ? ` · ${hidden} container links not listed` : ''}`, list(ifaces.slice(0, 4).map((x) => [x.name, `${perSec(x.rxBytesPerSecond)} in · ${perSec(x.txBytesPerSecond)} out`]), ifaces.length - 4)));
    const fs = (m.filesystems ?? []).filter((f) => f.totalBytes > 0);
    const fullest = [...fs].sort((a, b) => b.usedBytes / b.totalBytes - a.usedBytes / a.totalBytes);
    cards.push(card('Filesystems', 'filesystems', fullest[0] ? pct((fullest[0].usedBytes / fullest[0].totalBytes) * 100) : '–', fullest[0] ? `fullest: ${fullest[0].mountpoint}` : 'none read', list(fullest.slice(0, 4).map((f) => [f.mountpoint, `${bytes(f.usedBytes)} of ${bytes(f.totalBytes)}`]), fullest.length - 4)));
    this.hostEl.replaceChildren(...cards);
  }
}

/** A whole disk (sda, vda, nvme0n1), not one of its partitions: summing both would count twice. */
const whole = (x: { name: string }): boolean => !/^(sd[a-z]+|vd[a-z]+|xvd[a-z]+|hd[a-z]+)\d+$|^nvme\d+n\d+p\d+$|^mmcblk\d+p\d+$/.test(x.name);

function sum<T>(xs: T[], pick: (x: T) => number | undefined): number | undefined {
  let total: number | undefined;
  for (const x of xs) {
    const v = pick(x);
    if (v !== undefined) total = (total ?? 0) + v;
  }
  return total;
}
