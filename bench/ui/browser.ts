/**
 * The browser side of bench/ui: Debian's Chromium launched as the UI tests launch it
 * (tests/integration/ui/support.ts), its processes found in /proc, and what is read from a page:
 * the time the overview is drawn, the time a container's history is drawn, the JS heap (CDP
 * `Runtime.getHeapUsage`), and when each stream tick reaches the screen.
 *
 * Tick latency: an init script in every page watches the header's `<time class="tick">`, whose
 * `datetime` the page sets to the tick's timestamp (the agent's time of the sample) when it applies
 * a tick; at the next animation frame (the frame that paints the tick's figures) it records the
 * tick and the wall-clock time. Agent and browser read the same clock.
 */
import { readFileSync, readdirSync } from 'node:fs';
import type { BrowserContext, CDPSession, Page } from 'playwright-core';
import { launchChromium } from '../../tests/integration/ui/support.js';
import { cmdlineOf } from '../collect/children.js';

/** Every process below `root`, by the parent pids in /proc/<pid>/stat. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'latin1');
    } catch {
      continue; // exited
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  const out: number[] = [];
  for (let todo = [root]; todo.length > 0; ) {
    const next = todo.flatMap((p) => children.get(p) ?? []);
    out.push(...next);
    todo = next;
  }
  return out;
}

interface TickRecord {
  /** The tick's timestamp (ms since the epoch) and the wall-clock time of the frame that showed it. */
  ticks: [number, number][];
}

/** Runs in every page before its scripts. */
function watchTicks(): void {
  const record: TickRecord = { ticks: [] };
  (window as unknown as { __benchUi: TickRecord }).__benchUi = record;
  new MutationObserver((mutations) => {
    for (const m of mutations) {
      const el = m.target as HTMLTimeElement;
      if (!el.matches('time.tick')) continue;
      const tick = Date.parse(el.dateTime);
      requestAnimationFrame(() => record.ticks.push([tick, performance.timeOrigin + performance.now()]));
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['datetime'] });
}

/** A page kept open for a window: its CDP session (heap) and the requests it made to other hosts. */
export interface OpenPage {
  page: Page;
  cdp: CDPSession;
  external: string[];
}

/** The processes of every Chromium this process started (browser, GPU, utilities, renderers). */
export function chromiumProcesses(): number[] {
  return descendants(process.pid).filter((pid) => cmdlineOf(pid)?.startsWith('/usr/lib/chromium/chromium'));
}

/** Their renderers: the pages' JavaScript, layout and paint. */
export function rendererProcesses(): number[] {
  return chromiumProcesses().filter((pid) => cmdlineOf(pid)?.includes('--type=renderer'));
}

/**
 * One headless Chromium with its own profile. Pages of one profile share at most 6 connections
 * to a host (HTTP/1.1) and each page's stream holds one: pages that must all stream at once
 * each need a Chromium of their own.
 */
export class Chromium {
  private constructor(
    private readonly context: BrowserContext,
    readonly close: () => Promise<void>,
  ) {}

  static async launch(): Promise<Chromium> {
    const { context, close } = await launchChromium();
    await context.addInitScript(watchTicks);
    return new Chromium(context, close);
  }

  async open(url: string): Promise<OpenPage> {
    const page = await this.context.newPage();
    const host = new URL(url).host;
    const external: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).host !== host && !r.url().startsWith('data:')) external.push(r.url());
    });
    // Not 'load': a page that waits on other hosts (unreachable here) would hold it back.
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    return { page, cdp: await this.context.newCDPSession(page), external };
  }

  /**
   * A fresh page opening the overview: ms from the start of navigation to the first contentful
   * paint, and to the first frame with a row for each of `rows` containers.
   */
  async overviewLoad(url: string, rows: number): Promise<{ fcpMs: number; drawnMs: number }> {
    const page = await this.context.newPage();
    try {
      await page.goto(url, { waitUntil: 'commit' });
      const drawn = await page.waitForFunction(
        (n) => document.querySelectorAll('table.containers tbody tr[data-id]').length >= n && performance.now(),
        rows,
        { polling: 'raf', timeout: 60_000 },
      );
      const drawnMs = (await drawn.jsonValue()) as number;
      const fcpMs = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN);
      return { fcpMs, drawnMs };
    } finally {
      await page.close();
    }
  }
}

export async function heapUsedBytes(p: OpenPage): Promise<number> {
  return ((await p.cdp.send('Runtime.getHeapUsage')) as { usedSize: number }).usedSize;
}

/** Live JS heap after a full collection. */
export async function liveHeapBytes(p: OpenPage): Promise<number> {
  await p.cdp.send('HeapProfiler.collectGarbage');
  return heapUsedBytes(p);
}

/** ms from each tick's sample to the frame that showed it, for the ticks sampled at or after `sinceMs`. */
export async function tickLatencies(p: OpenPage, sinceMs: number): Promise<number[]> {
  const ticks = await p.page.evaluate(() => (window as unknown as { __benchUi: TickRecord }).__benchUi.ticks);
  const shown = new Map<number, number>();
  for (const [tick, at] of ticks) if (tick >= sinceMs && !shown.has(tick)) shown.set(tick, at);
  return [...shown].map(([tick, at]) => at - tick);
}

export interface HistoryDraw {
  /** From setting the container's URL to the first frame with every chart holding the history. */
  totalMs: number;
  /** From setting the URL to the history's last byte (the REST request). */
  fetchMs: number;
  /** From the history's last byte to that frame: parsing, building the charts, drawing them. */
  drawMs: number;
  charts: number;
  series: number;
  points: number;
}

interface ChartsOnWindow {
  cstats?: { charts: Record<string, { data: unknown[][]; series: unknown[] }> };
}

/** Opens container `id`'s page from the overview shown in `p` and times its charts; then back to the overview. */
export async function historyDraw(p: OpenPage, id: string, points: number): Promise<HistoryDraw> {
  const started = await p.page.evaluate((id) => {
    performance.clearResourceTimings();
    const t = performance.now();
    location.hash = `#/c/${encodeURIComponent(id)}`;
    return t;
  }, id);
  const drawn = await p.page.waitForFunction(
    (n) => {
      const charts = Object.values((window as unknown as ChartsOnWindow).cstats?.charts ?? {});
      return charts.length > 0 && charts.every((u) => u.data[0].length >= n) && performance.now();
    },
    points,
    { polling: 'raf', timeout: 60_000 },
  );
  const drawnAt = (await drawn.jsonValue()) as number;
  const got = await p.page.evaluate(() => {
    const charts = Object.values((window as unknown as ChartsOnWindow).cstats!.charts);
    const history = performance.getEntriesByType('resource').find((e) => e.name.includes('/history')) as PerformanceResourceTiming | undefined;
    return { responseEnd: history?.responseEnd ?? NaN, charts: charts.length, series: charts.reduce((a, u) => a + u.series.length - 1, 0), points: charts[0].data[0].length };
  });
  await p.page.evaluate(() => (location.hash = '#/'));
  await p.page.waitForSelector('table.containers tbody tr[data-id]');
  return { totalMs: drawnAt - started, fetchMs: got.responseEnd - started, drawMs: drawnAt - got.responseEnd, charts: got.charts, series: got.series, points: got.points };
}
