/**
 * Alarms on the page: a panel of the alerts firing and pending (all of them on the overview, one
 * container's on its page), each with its rule's name, severity, container (a link to its page),
 * value, how long it has been in its state, and its summary; and the mark a container with a
 * firing alert carries in the table. The alerts are the agent's (the stream's `alerts` event, the
 * same entries as GET /api/v1/alerts); "since" counts from the agent's latest tick.
 */
import { age, alertSeverity, alertSince, alertSummary, alertTarget, alertValue, orderAlerts, type Alert } from '../model.js';
import { h, setText } from './dom.js';

interface Item {
  li: HTMLLIElement;
  fields: Record<Field, HTMLElement>;
}

type Field = 'severity' | 'alarm' | 'container' | 'value' | 'since' | 'summary';

export class AlarmsPanel {
  readonly el: HTMLElement;
  private readonly heading: HTMLHeadingElement;
  private readonly list = h('ul', { class: 'alerts' });
  /** Items by alarm id: re-rendering keeps each one's element (and the keyboard focus on its link). */
  private items = new Map<string, Item>();

  /** `containerId`: only that container's alerts (its page), without the container column. */
  constructor(private readonly containerId?: string) {
    this.heading = h('h2', { tabindex: '-1' }, 'Alarms');
    this.el = h('section', { class: 'alarms', id: containerId ? undefined : 'alarms', 'aria-label': 'Alarms', hidden: true }, this.heading, this.list);
  }

  /** Moves the keyboard focus to the panel (the header's alarm button and the `a` key). */
  focus(): void {
    this.heading.focus();
    this.el.scrollIntoView({ block: 'nearest' });
  }

  render(all: readonly Alert[], nowIso: string | undefined): void {
    const alerts = orderAlerts(this.containerId === undefined ? all : all.filter((a) => a.container?.id === this.containerId));
    this.el.hidden = alerts.length === 0;
    const firing = alerts.filter((a) => a.state === 'firing').length;
    const pending = alerts.length - firing;
    setText(this.heading, `Alarms: ${firing} firing${pending > 0 ? `, ${pending} pending` : ''}`);
    const nowMs = nowIso ? Date.parse(nowIso) : Date.now();
    const items = new Map<string, Item>();
    alerts.forEach((a, i) => {
      const item = this.items.get(a.alarmId) ?? this.makeItem(a);
      items.set(a.alarmId, item);
      this.fill(item, a, nowMs);
      if (this.list.children[i] !== item.li) this.list.insertBefore(item.li, this.list.children[i] ?? null);
    });
    for (const [id, item] of this.items) if (!items.has(id)) item.li.remove();
    this.items = items;
  }

  private makeItem(a: Alert): Item {
    const fields: Record<Field, HTMLElement> = {
      severity: h('span', { class: 'sev', 'data-field': 'severity' }),
      alarm: h('strong', { 'data-field': 'alarm' }),
      container: a.container ? h('a', { href: `#/c/${encodeURIComponent(a.container.id)}`, 'data-field': 'container' }) : h('span', { 'data-field': 'container' }),
      value: h('span', { 'data-field': 'value' }),
      since: h('span', { 'data-field': 'since' }),
      summary: h('p', { class: 'muted', 'data-field': 'summary' }),
    };
    const li = h('li', { 'data-alarm-id': a.alarmId },
      h('div', { class: 'line' },
        fields.severity,
        fields.alarm,
        this.containerId === undefined ? h('span', { class: 'on' }, 'on ', fields.container) : undefined,
        h('span', { class: 'muted' }, 'value ', fields.value),
        h('span', { class: 'muted' }, 'for ', fields.since),
      ),
      fields.summary,
    );
    return { li, fields };
  }

  private fill(item: Item, a: Alert, nowMs: number): void {
    const sev = alertSeverity(a);
    item.li.className = `alert ${a.state}`;
    item.li.dataset.state = a.state;
    item.fields.severity.className = `sev ${a.state === 'pending' ? 'pending' : (sev.toLowerCase() || 'none')}`;
    setText(item.fields.severity, a.state === 'pending' ? `pending${sev ? ` · ${sev}` : ''}` : sev || 'firing');
    setText(item.fields.alarm, a.alarm);
    setText(item.fields.container, alertTarget(a));
    setText(item.fields.value, alertValue(a));
    const since = alertSince(a);
    setText(item.fields.since, age(since, nowMs));
    if (since) item.fields.since.title = `${a.state} since ${new Date(since).toLocaleString()}`;
    setText(item.fields.summary, alertSummary(a));
    item.fields.summary.hidden = alertSummary(a) === '';
  }
}

/** Marks `el` (a container's name cell or title) with its firing alerts (▲, their names for assistive technology), or unmarks it. */
export function markFiring(el: HTMLElement, firing: readonly Alert[] | undefined): void {
  const names = firing && firing.length > 0 ? [...new Set(firing.map((a) => a.alarm))].join(', ') : undefined;
  const old = el.querySelector<HTMLElement>(':scope > .alarm-mark');
  if (old?.dataset.alarms === names) return;
  old?.remove();
  if (names !== undefined) el.append(h('span', { class: 'alarm-mark', role: 'img', 'aria-label': `firing: ${names}`, title: `firing: ${names}`, 'data-alarms': names }, '▲'));
}
