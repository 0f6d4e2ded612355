/**
 * The dashboard's entry: a header with the live status and the count of firing alarms, and one
 * of two views chosen by the URL hash (#/ the overview, #/c/<id> a container). Keys: / focuses
 * the filter, a the alarms panel, Esc goes back to the overview, p pauses and resumes the live
 * figures.
 */
import { Live } from './live.js';
import { Overview } from './overview.js';
import { ContainerView } from './container.js';
import { FleetPanel } from './fleet.js';
import { h, setText } from './dom.js';

const live = new Live();
const statusEl = h('span', { class: 'status', role: 'status' });
const tickEl = h('time', { class: 'tick' });
const pauseEl = h('button', { type: 'button', class: 'pause', 'aria-pressed': 'false', title: 'Pause live figures (p)' }, 'Pause');
const alarmsEl = h('button', { type: 'button', class: 'alarm-count', title: 'Show the alarms (a)', hidden: true });
const root = h('div', { id: 'view' });
let overview: Overview | undefined;
let current: ContainerView | undefined;

function header(): HTMLElement {
  const auth = document.body.dataset.auth === 'token';
  return h('header', { class: 'top' },
    h('a', { class: 'brand', href: '#/' }, h('span', { class: 'logo', 'aria-hidden': 'true' }), 'cstats'),
    h('span', { class: 'grow' }),
    alarmsEl,
    statusEl,
    tickEl,
    pauseEl,
    auth ? h('form', { method: 'post', action: '/logout', class: 'logout' }, h('button', { type: 'submit' }, 'Log out')) : undefined,
  );
}

function renderStatus(): void {
  setText(statusEl, live.status === 'live' ? 'Live' : live.status === 'paused' ? 'Paused' : live.status === 'connecting' ? 'Connecting…' : 'Reconnecting…');
  statusEl.className = `status ${live.status}`;
  pauseEl.setAttribute('aria-pressed', String(live.paused));
  setText(pauseEl, live.paused ? 'Resume' : 'Pause');
}

function renderAlarmCount(): void {
  const firing = live.alerts.filter((a) => a.state === 'firing').length;
  alarmsEl.hidden = firing === 0;
  setText(alarmsEl, `▲ ${firing} firing`);
}

/** The alarms panel: this container's if it has alerts, else the overview's. */
async function showAlarms(): Promise<void> {
  if (current?.focusAlarms()) return;
  if (current) {
    // pushState fires no hashchange: this routes once, then focuses.
    history.pushState(null, '', '#/');
    await route();
  }
  overview?.alarms.focus();
}

function renderTick(): void {
  if (!live.tick) return;
  tickEl.dateTime = live.tick;
  setText(tickEl, new Date(live.tick).toLocaleTimeString());
}

/** The Fleet section under the overview (shown when the agent has --fleet-prometheus). */
const fleet = new FleetPanel();

async function route(): Promise<void> {
  current?.destroy();
  current = undefined;
  const m = /^#\/c\/([^?]+)/.exec(location.hash);
  if (m) {
    const view = new ContainerView(live, decodeURIComponent(m[1]));
    current = view;
    root.replaceChildren(view.el);
    try {
      await view.load();
    } catch (err) {
      view.el.replaceChildren(h('p', { class: 'error', role: 'alert' }, (err as Error).message), h('a', { href: '#/' }, '← All containers'));
    }
  } else {
    document.title = 'cstats';
    overview ??= new Overview(live);
    overview.rebuild();
    // Alerts that changed while a container's page was shown.
    overview.renderAlarms();
    root.replaceChildren(overview.el, fleet.el);
  }
  window.scrollTo(0, 0);
}

async function main(): Promise<void> {
  document.body.replaceChildren(header(), root);
  root.append(h('p', { class: 'loading' }, 'Loading…'));
  pauseEl.addEventListener('click', () => live.setPaused(!live.paused));
  alarmsEl.addEventListener('click', () => void showAlarms());
  live.on((kind) => {
    if (kind === 'status') return renderStatus();
    if (kind === 'tick') renderTick();
    if (kind === 'alerts') renderAlarmCount();
    if (current) current.update();
    else if (overview && root.contains(overview.el)) (kind === 'list' ? overview.rebuild() : kind === 'alerts' ? overview.renderAlarms() : overview.update());
  });
  document.addEventListener('keydown', (e) => {
    const typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement || e.target instanceof HTMLTextAreaElement;
    if (e.key === 'Escape') {
      if (typing) (e.target as HTMLElement).blur();
      else if (current) location.hash = '#/';
      return;
    }
    if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === '/' && !current) {
      e.preventDefault();
      overview?.focusFilter();
    } else if (e.key === 'p') live.setPaused(!live.paused);
    else if (e.key === 'a') void showAlarms();
  });
  window.addEventListener('hashchange', () => {
    // Sort, filter and grouping live in the overview's hash too: only a change of view re-routes.
    const toContainer = location.hash.startsWith('#/c/');
    if (toContainer || current) void route();
  });
  try {
    await live.start();
  } catch (err) {
    root.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Cannot read the agent: ${(err as Error).message}`));
    return;
  }
  renderStatus();
  renderAlarmCount();
  void fleet.refresh();
  await route();
}

void main();
