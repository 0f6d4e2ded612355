/**
 * The overview's Fleet section: every host's containers from GET /api/v1/fleet (the agent asks
 * the query API named by --fleet-prometheus: the page calls no other origin), with a host column;
 * a down host (no sample for --fleet-down-after) is flagged and its containers greyed. Columns,
 * sorting and formatting are the overview's (ui/model.ts). Hidden when the agent has no fleet
 * query API (404).
 */
import type { Fleet } from '../../fleet/query.js';
import { columnByKey, compareBy, formatValue, type Column } from '../model.js';
import { getJson } from './live.js';
import { h } from './dom.js';

const REFRESH_MS = 2000;
const HOST: Column = { key: 'host', label: 'Host', short: 'HOST', unit: 'text', value: (c) => c.host };
const SHOWN: Column[] = [HOST, ...['name', 'image', 'cpuPercent', 'memoryUsageBytes', 'memoryLimitBytes', 'memoryPercent', 'netRx', 'netTx', 'blockRead', 'blockWrite', 'pids'].map((k) => columnByKey(k)!)];

export class FleetPanel {
  readonly el = h('section', { class: 'fleet', hidden: true, 'aria-label': 'Fleet' });
  private sortKey = 'host';
  private descending = false;
  private last?: Fleet;
  private timer?: ReturnType<typeof setTimeout>;

  /** Reads the fleet now and every 2 s; stops for good when the agent has none. */
  async refresh(): Promise<void> {
    clearTimeout(this.timer);
    try {
      this.last = await getJson<Fleet>('/api/v1/fleet');
      this.render();
    } catch (err) {
      if (/\b404\b/.test((err as Error).message)) return void (this.el.hidden = true);
      this.el.hidden = false;
      this.el.replaceChildren(h('h2', {}, 'Fleet'), h('p', { class: 'error', role: 'alert' }, (err as Error).message));
    }
    this.timer = setTimeout(() => void this.refresh(), REFRESH_MS);
  }

  private render(): void {
    const f = this.last!;
    this.el.hidden = false;
    const hosts = h('p', { class: 'fleet-hosts' }, ...f.hosts.flatMap((x) => [h('span', { class: x.down ? 'host down' : 'host', title: `newest sample ${x.lastSampleAt}` }, `${x.host}${x.down ? ' DOWN' : ''} (${x.containers})`), ' ']));
    const col = SHOWN.find((c) => c.key === this.sortKey)!;
    const rows = [...f.containers].sort(compareBy(col, this.descending));
    const head = h('tr', {}, ...SHOWN.map((c) => h('th', { class: c.unit === 'text' ? undefined : 'num', 'aria-sort': c.key === this.sortKey ? (this.descending ? 'descending' : 'ascending') : undefined }, h('button', { type: 'button', onclick: () => this.sortBy(c.key) }, c.label))));
    const body = rows.map((c) => h('tr', { class: c.hostDown ? 'down' : undefined }, ...SHOWN.map((k) => h('td', { class: k.unit === 'text' ? undefined : 'num' }, k.key === 'host' && c.hostDown ? `${c.host} DOWN` : formatValue(k.unit, k.value(c))))));
    this.el.replaceChildren(h('h2', {}, `Fleet · ${f.hosts.length} hosts${f.hosts.some((x) => x.down) ? `, ${f.hosts.filter((x) => x.down).length} down` : ''}`), hosts, h('table', { class: 'fleet-table' }, h('thead', {}, head), h('tbody', {}, ...body)));
  }

  private sortBy(key: string): void {
    this.descending = key === this.sortKey ? !this.descending : key !== 'host' && key !== 'name' && key !== 'image';
    this.sortKey = key;
    this.render();
  }
}
