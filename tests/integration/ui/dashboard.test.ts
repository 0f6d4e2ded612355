/**
 * The dashboard in a real browser (Debian's Chromium via playwright-core) against a real agent
 * with real Docker containers: a --cpus 0.5 busy loop, a -m 64m container holding 40 MiB, a pod
 * pair (--network container:X) with traffic, and a container that is removed. The agent needs a
 * token, so the login flow comes first. Screenshots of each view at 1280×720 and 390×844 go to
 * test-output/ui-dashboard/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { docker, run, startAgent, waitFor, sleep, type AgentProcess } from '../support.js';
import { launchChromium, outputDir, removeCs11Containers } from './support.js';

const TOKEN = 'cs11-dashboard-token-0123456789';
const OUT = outputDir('ui-dashboard');

interface Summary {
  id: string;
  name: string;
  state: string;
  sampledAt?: string;
  derived?: { cpuPercent: number; memoryUsageBytes: number; memoryLimitBytes: number; netRxBytes: number; rates: Record<string, number> };
}

describe('web dashboard', { timeout: 240_000 }, () => {
  let agent: AgentProcess;
  let chromium: { context: BrowserContext; close: () => Promise<void> };
  let page: Page;
  const requests: string[] = [];
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(agent.url + path, { headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 200, `${path}: ${res.status}`);
    return (await res.json()) as T;
  };
  const ids: Record<string, string> = {};

  before(async () => {
    removeCs11Containers();
    ids.busy = run('cs11-busy', ['--cpus', '0.5'], ['sh', '-c', 'while :; do :; done']);
    ids.mem = run('cs11-mem', ['-m', '64m'], ['sh', '-c', 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=40 2>/dev/null; sleep 100000']);
    ids.podA = run('cs11-pod-a', [], ['sleep', '100000']);
    const busyIp = docker('inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'cs11-busy');
    // The pod's second member pings the busy container 5 times a second: traffic in the pod's namespace.
    ids.podB = run('cs11-pod-b', ['--network', 'container:cs11-pod-a'], ['ping', '-i', '0.2', '-s', '1000', busyIp]);
    ids.gone = run('cs11-gone', [], ['sleep', '100000']);
    agent = await startAgent(['--auth-token', TOKEN]);
    await waitFor('figures for the test containers', async () => {
      const list = await api<Summary[]>('/api/v1/containers');
      return Object.values(ids).every((id) => list.some((c) => c.id === id && c.derived)) || undefined;
    }, 20_000, 200);
    chromium = await launchChromium();
    page = await chromium.context.newPage();
    page.on('request', (r) => requests.push(r.url()));
  });

  after(async () => {
    await chromium?.close();
    await agent?.stop();
    removeCs11Containers();
  });

  test('without the token: the page is a 401 login form and the API answers 401 to the browser', async () => {
    const res = await page.goto(agent.url + '/');
    assert.equal(res!.status(), 401);
    assert.equal(await page.locator('form.login-form input[type=password]').count(), 1);
    assert.equal(await page.locator('#view').count(), 0, 'no dashboard without the token');
    const apiStatus = await page.evaluate(async () => (await fetch('/api/v1/containers')).status);
    assert.equal(apiStatus, 401);
    await page.screenshot({ path: `${OUT}/login-1280x720.png` });
  });

  test('a wrong token is refused; the right one sets an HttpOnly SameSite=Strict cookie, never a URL', async () => {
    await page.fill('#token', 'not-the-token');
    const [wrong] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    assert.equal(wrong!.status(), 401);
    assert.match(await page.locator('p.error').innerText(), /not the agent/);
    assert.equal((await chromium.context.cookies()).length, 0);
    await page.fill('#token', TOKEN);
    await Promise.all([page.waitForURL(`${agent.url}/`), page.click('button[type=submit]')]);
    const [cookie] = await chromium.context.cookies();
    assert.equal(cookie.name, 'cstats_session');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.ok(!cookie.value.includes(TOKEN), 'the cookie holds a value derived from the token, not the token');
    await page.waitForSelector('table.containers tbody tr[data-id]');
    assert.ok(requests.every((u) => !u.includes(TOKEN)), 'no URL carries the token');
    // A script with the wrong bearer token is refused, whatever cookie a browser holds.
    assert.equal((await fetch(agent.url + '/api/v1/containers', { headers: { Authorization: 'Bearer wrong' } })).status, 401);
  });

  /** The page's figures of one row: the tick they are from and each cell's exact value. */
  const rowOf = (id: string) =>
    page.evaluate((id) => {
      const tr = document.querySelector(`tr[data-id="${id}"]`) as HTMLElement | null;
      if (!tr) return undefined;
      const cells: Record<string, { text: string; value?: string }> = {};
      tr.querySelectorAll('td').forEach((td) => (cells[td.dataset.col!] = { text: td.textContent!, value: td.dataset.value }));
      return { tick: tr.dataset.tick, className: tr.className, cells };
    }, id);

  test('containers by name with the REST API\'s CPU %, memory and net figures for the same tick', async () => {
    // Paused, the page keeps one tick's figures; the agent's history holds the same tick's.
    await page.keyboard.press('p');
    await page.waitForSelector('.status.paused');
    for (const [key, id] of Object.entries(ids)) {
      if (key === 'gone') continue;
      const row = (await rowOf(id))!;
      assert.ok(row, `row for ${key}`);
      assert.equal(row.cells.name.text, docker('inspect', '-f', '{{.Name}}', id).slice(1));
      const t = Date.parse(row.tick!);
      const h = await api<{ timestamps: number[]; series: Record<string, number[]> }>(`/api/v1/containers/${id}/history?since=${t - 5000}`);
      const i = h.timestamps.indexOf(t);
      assert.ok(i >= 0, `tick ${row.tick} in the history of ${key}`);
      assert.equal(Number(row.cells.cpuPercent.value), h.series.cpu_percent[i], `${key} CPU %`);
      assert.equal(Number(row.cells.memoryUsageBytes.value), h.series.memory_usage_bytes[i], `${key} memory`);
      assert.equal(Number(row.cells.memoryLimitBytes.value), h.series.memory_limit_bytes[i], `${key} limit`);
      assert.equal(Number(row.cells.netRx.value), h.series.network_rx_bytes_per_second[i], `${key} net rx/s`);
      assert.equal(Number(row.cells.netTx.value), h.series.network_tx_bytes_per_second[i], `${key} net tx/s`);
      assert.equal(row.cells.cpuPercent.text, `${h.series.cpu_percent[i].toFixed(2)}%`);
    }
    // CPU % of limit: the cores used over the 0.5 CPU quota (the busy loop is at most at its limit).
    const busy = (await rowOf(ids.busy))!;
    const hb = await api<{ timestamps: number[]; series: Record<string, number[]> }>(`/api/v1/containers/${ids.busy}/history?since=${Date.parse(busy.tick!) - 5000}`);
    const cores = hb.series.cpu_cores[hb.timestamps.indexOf(Date.parse(busy.tick!))];
    assert.ok(cores > 0.02 && cores < 0.56, `busy loop within its limit: ${cores}`);
    assert.equal(Number(busy.cells.cpuLimitPercent.value), (cores / 0.5) * 100);
    const mem = (await rowOf(ids.mem))!;
    assert.equal(Number(mem.cells.memoryLimitBytes.value), 64 * 2 ** 20);
    assert.ok(Math.abs(Number(mem.cells.memoryUsageBytes.value) - 40 * 2 ** 20) < 4 * 2 ** 20, `about 40 MiB: ${mem.cells.memoryUsageBytes.value}`);
    const pod = (await rowOf(ids.podA))!;
    assert.ok(Number(pod.cells.netTx.value) > 1000, `the pod's namespace sends: ${pod.cells.netTx.value}`);
    await page.keyboard.press('p');
    await page.waitForSelector('.status.live');
  });

  test('live: the row moves on with the ticks, each tick\'s figures those of the REST history for it', async () => {
    const seen = new Map<string, { cpu: number; mem: number; tx: number }>();
    for (const deadline = Date.now() + 30_000; Date.now() < deadline && seen.size < 3; await sleep(300)) {
      const row = (await rowOf(ids.podA))!;
      seen.set(row.tick!, { cpu: Number(row.cells.cpuPercent.value), mem: Number(row.cells.memoryUsageBytes.value), tx: Number(row.cells.netTx.value) });
    }
    assert.ok(seen.size >= 3, `the page showed ${seen.size} ticks`);
    const h = await api<{ timestamps: number[]; series: Record<string, number[]> }>(`/api/v1/containers/${ids.podA}/history?since=1m`);
    for (const [tick, v] of seen) {
      const i = h.timestamps.indexOf(Date.parse(tick));
      assert.ok(i >= 0, `tick ${tick} in the history`);
      assert.deepEqual(v, { cpu: h.series.cpu_percent[i], mem: h.series.memory_usage_bytes[i], tx: h.series.network_tx_bytes_per_second[i] }, tick);
    }
  });

  test('a removed container stays, greyed', async () => {
    docker('rm', '-f', 'cs11-gone');
    await waitFor('cs11-gone greyed', async () => ((await rowOf(ids.gone))?.className === 'removed' ? true : undefined), 10_000, 200);
  });

  test('sorting by every kind of column, filtering and grouping', async () => {
    const names = () => page.$$eval('table.containers tbody tr[data-id]:not(.removed):not(.stopped) td[data-col=name]', (tds) => tds.map((td) => td.textContent!));
    const values = (col: string) => page.$$eval(`table.containers tbody tr[data-id]:not(.removed):not(.stopped) td[data-col=${col}]`, (tds) => tds.map((td) => Number((td as HTMLElement).dataset.value ?? NaN)));
    await page.keyboard.press('p'); // a still table while it is read
    await page.click('th[data-col=name] button');
    const live = await names();
    assert.deepEqual(live, [...live].sort((a, b) => a.localeCompare(b)), 'A→Z');
    assert.equal(await page.getAttribute('th[data-col=name]', 'aria-sort'), 'ascending');
    // Keyboard: the header is a button.
    await page.focus('th[data-col=memoryUsageBytes] button');
    await page.keyboard.press('Enter');
    const mem = (await values('memoryUsageBytes')).filter((v) => !Number.isNaN(v));
    assert.deepEqual(mem, [...mem].sort((a, b) => b - a), 'largest memory first');
    await page.click('th[data-col=memoryUsageBytes] button');
    const up = (await values('memoryUsageBytes')).filter((v) => !Number.isNaN(v));
    assert.deepEqual(up, [...up].sort((a, b) => a - b), 'smallest first on the second click');

    await page.keyboard.press('/');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'filter');
    await page.keyboard.type('^cs11-pod');
    assert.deepEqual((await names()).sort(), ['cs11-pod-a', 'cs11-pod-b']);
    await page.selectOption('#group', 'pod');
    const groups = await page.$$eval('tr.group th', (ths) => ths.map((th) => th.textContent));
    assert.deepEqual(groups, ['cs11-pod-a'], 'the pair shares cs11-pod-a\'s namespace');
    await page.screenshot({ path: `${OUT}/overview-grouped-1280x720.png` });
    await page.selectOption('#group', 'none');
    await page.fill('#filter', '^cs11-');
    await page.click('th[data-col=cpuPercent] button');
    await page.keyboard.press('p');
    await page.screenshot({ path: `${OUT}/overview-1280x720.png` });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: `${OUT}/overview-390x844.png`, fullPage: true });
    await page.setViewportSize({ width: 1280, height: 720 });
  });

  test('a container\'s view draws its history and live figures in synchronised charts', async () => {
    // By keyboard: rows sorted by CPU % may move under a mouse between ticks.
    await page.focus(`tr[data-id="${ids.busy}"] td[data-col=name] a`);
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/#/c/${ids.busy}`);
    await page.waitForSelector('figure.chart[data-chart=cpu] canvas');
    const charts = () =>
      page.evaluate(() => {
        // window.cstats.charts: the page's uPlot instances, by chart.
        type Plot = { data: (number | null)[][]; series: { label?: string }[]; scales: Record<string, { min?: number; max?: number }> };
        const charts = (window as unknown as { cstats: { charts: Record<string, Plot> } }).cstats.charts;
        return Object.fromEntries(Object.entries(charts).map(([k, u]) => [k, { data: u.data.map((col) => [...col]), labels: u.series.map((s) => s.label), x: [u.scales.x.min, u.scales.x.max] }]));
      });
    const first = await charts();
    assert.deepEqual(Object.keys(first).sort(), ['block', 'cpu', 'memory', 'network', 'pids', 'pressure']);
    const cpu = first.cpu;
    assert.deepEqual(cpu.labels, ['', 'cores used', 'limit (cores)', 'throttled %'].map((l, i) => (i === 0 ? cpu.labels[0] : l)));
    const n = cpu.data[0].length;
    assert.ok(n >= 5, `history points: ${n}`);
    // A shared machine may give the loop less than its quota, never more.
    const recent = (cpu.data[1] as number[]).slice(-4);
    assert.ok(recent.every((v) => v > 0.02 && v < 0.56), `up to half a core: ${recent}`);
    assert.ok((cpu.data[2] as number[]).every((v) => v === 0.5), 'the limit line at 0.5 cores');
    // The charts hold the history the REST API serves, point for point.
    const h = await api<{ timestamps: number[]; series: Record<string, number[]> }>(`/api/v1/containers/${ids.busy}/history`);
    const t0 = (cpu.data[0] as number[])[0] * 1000;
    const j = h.timestamps.indexOf(t0);
    assert.ok(j >= 0);
    assert.deepEqual((cpu.data[1] as number[]).slice(0, 3), h.series.cpu_cores.slice(j, j + 3));
    // Live: new ticks join.
    await waitFor('a live point', async () => ((await charts()).cpu.data[0].length > n ? true : undefined), 5000, 200);
    // Zooming in halves the range down to 10 s: the charts need more than 20 s for it to show.
    await waitFor('22 s of history in the charts', async () => {
      const x = (await charts()).cpu.data[0] as number[];
      return x[x.length - 1] - x[0] >= 22 ? true : undefined;
    }, 30_000, 500);
    // Zoom one chart with the keyboard: every chart shows the same range.
    await page.focus('figure.chart[data-chart=memory]');
    await page.keyboard.press('+');
    await page.keyboard.press('ArrowLeft');
    const zoomed = await charts();
    const ranges = Object.values(zoomed).map((c) => c.x.join());
    assert.equal(new Set(ranges).size, 1, `one x range: ${ranges}`);
    // '+' halves the range, down to 10 s at the least; a tick may have joined since (1 s more).
    const extent = (zoomed.cpu.data[0].at(-1) as number) - (zoomed.cpu.data[0][0] as number);
    const width = zoomed.cpu.x[1]! - zoomed.cpu.x[0]!;
    assert.ok(Math.abs(width - Math.max(extent / 2, 10)) <= 1, `zoomed in: ${width} s of ${extent} s`);
    assert.equal(await page.getAttribute('.follow', 'aria-pressed'), 'false');
    await page.click('.follow');
    await page.screenshot({ path: `${OUT}/container-busy-1280x720.png`, fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await sleep(300);
    await page.screenshot({ path: `${OUT}/container-busy-390x844.png`, fullPage: true });
    await page.setViewportSize({ width: 1280, height: 720 });

    await page.goto(`${agent.url}/#/c/${ids.mem}`);
    await page.waitForSelector('figure.chart[data-chart=memory] canvas');
    const mem = (await charts()).memory;
    const usage = (mem.data[1] as number[]).at(-1)!;
    assert.ok(Math.abs(usage - 40 * 2 ** 20) < 4 * 2 ** 20, `memory chart about 40 MiB: ${usage}`);
    assert.equal((mem.data[4] as number[]).at(-1), 64 * 2 ** 20, 'limit line at 64 MiB');
    assert.match(await page.locator('.identity').innerText(), /64\.0 MiB/);
    await page.screenshot({ path: `${OUT}/container-mem-1280x720.png`, fullPage: true });
  });

  test('no request went to any other host', () => {
    assert.ok(requests.length > 5);
    const elsewhere = requests.filter((u) => !u.startsWith(agent.url + '/'));
    assert.deepEqual(elsewhere, []);
  });
});
