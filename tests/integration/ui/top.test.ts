/**
 * `cstats top` in a real terminal: tmux (Debian) at 120×40 and 80×24, keys sent with send-keys,
 * the screen read with capture-pane, figures compared with `docker stats --no-stream --format
 * json` for the same containers (a --cpus 0.5 busy loop, a -m 64m container holding 40 MiB,
 * a pod pair sharing a network namespace).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dockerStats, freePort, parseSize, run, sleep, startAgent, waitFor, type AgentProcess } from '../support.js';
import { outputDir, removeCs11Containers, TopTerminal } from './support.js';

const OUT = outputDir('ui-top');

/** The table's rows by name: each cell split on runs of two or more spaces. */
function rows(text: string): Map<string, string[]> {
  const lines = text.split('\n');
  const header = lines.findIndex((l) => l.startsWith('NAME'));
  const out = new Map<string, string[]>();
  for (const line of lines.slice(header + 1)) {
    const cells = line.trim().split(/\s{2,}/);
    if (/^cs11-top-/.test(cells[0])) out.set(cells[0], cells);
  }
  return out;
}

describe('cstats top', { timeout: 240_000 }, () => {
  let agent: AgentProcess;
  let term: TopTerminal;
  const start = (name: string, width: number, height: number, env = ''): string => term.start(name, width, height, env);
  const screen = (session: string, escapes = false): string => term.screen(session, escapes);
  const keys = (session: string, ...k: string[]): void => term.keys(session, ...k);

  before(async () => {
    removeCs11Containers();
    run('cs11-top-busy', ['--cpus', '0.5'], ['sh', '-c', 'while :; do :; done']);
    run('cs11-top-mem', ['-m', '64m'], ['sh', '-c', 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=40 2>/dev/null; sleep 100000']);
    run('cs11-top-pa', [], ['sleep', '100000']);
    run('cs11-top-pb', ['--network', 'container:cs11-top-pa'], ['sleep', '100000']);
    agent = await startAgent();
    term = new TopTerminal(agent.url);
    await waitFor('the test containers sampled', async () => (await agent.get<{ name: string; derived?: unknown }[]>('/api/v1/containers')).filter((c) => c.name.startsWith('cs11-top-') && c.derived).length === 4 || undefined, 20_000, 200);
    await sleep(2000);
  });

  after(async () => {
    term?.close();
    await agent?.stop();
    removeCs11Containers();
  });

  test('not a terminal: prints docker stats\' table once (plus the extra figures) and exits', () => {
    const out = execFileSync(process.execPath, ['bin/cstats.js', 'top', '--url', agent.url], { encoding: 'utf8' });
    const lines = out.trimEnd().split('\n');
    assert.match(lines[0], /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS\s+CPU%LIM\s+THROT\s+PSI MEM$/);
    const mem = lines.find((l) => /\scs11-top-mem\s/.test(l))!;
    const [docker] = dockerStats('cs11-top-mem');
    assert.ok(mem.includes(`/ ${docker.MemUsage.split(' / ')[1]}`), `limit as docker shows it (${docker.MemUsage}): ${mem}`);
  });

  test('120×40: the figures of docker stats for the same containers, filter, sort, group, a container, help, quit', async () => {
    const s = start('wide', 120, 40);
    await waitFor('the table', () => (screen(s).includes('NAME') && screen(s).includes('cs11-top-') ? true : undefined), 15_000, 200);
    keys(s, '/');
    keys(s, '-l', '^cs11-top-');
    keys(s, 'Enter');
    await waitFor('filtered', () => (rows(screen(s)).size === 4 && !/bench-|cs1[2-8]/.test(screen(s).split('\n').slice(2).join('\n')) ? true : undefined), 10_000, 200);
    keys(s, 'p'); // one tick's figures held while docker stats runs
    await sleep(300);
    const text = screen(s);
    writeFileSync(`${OUT}/top-120x40.txt`, text);
    const header = text.split('\n')[1];
    assert.match(header, /^NAME\s+CPU %▼\s+CPU%LIM\s+THROT\s+MEM USAGE \/ LIMIT\s+MEM %\s+PSI MEM\s+NET I\/O\s+PIDS/);
    const table = rows(text);
    const docker = new Map(dockerStats('cs11-top-busy', 'cs11-top-mem', 'cs11-top-pa', 'cs11-top-pb').map((d) => [d.Name, d]));
    for (const [name, cells] of table) {
      const d = docker.get(name)!;
      const [cpu, , , memUsage, memPerc, , net, pids] = cells.slice(1);
      const [used, limit] = memUsage.split(' / ');
      const [dUsed, dLimit] = d.MemUsage.split(' / ');
      assert.equal(limit, dLimit, `${name} limit`);
      assert.ok(Math.abs(parseSize(used) - parseSize(dUsed)) < 2 * 2 ** 20, `${name} memory ${used} vs docker ${dUsed}`);
      assert.ok(Math.abs(parseFloat(memPerc) - parseFloat(d.MemPerc)) < 4, `${name} mem % ${memPerc} vs ${d.MemPerc}`);
      assert.equal(pids, d.PIDs, `${name} pids`);
      assert.match(net, /^\S+ \/ \S+$/);
      // CPU % moves tick by tick on a shared machine: the busy loop is capped at 50 % in both, and busy in both.
      if (name === 'cs11-top-busy') assert.ok(parseFloat(cpu) > 1 && parseFloat(cpu) <= 56 && parseFloat(d.CPUPerc) > 1, `busy: ${cpu} vs docker ${d.CPUPerc}`);
      else assert.ok(parseFloat(cpu) < 2 && parseFloat(d.CPUPerc) < 2, `${name} idle: ${cpu} vs docker ${d.CPUPerc}`);
    }
    // CPU % of limit for the quota'd loop; none for the containers without a quota.
    assert.match(table.get('cs11-top-busy')![2], /^\d+\.\d\d%$/);
    assert.equal(table.get('cs11-top-mem')![2], '–');
    keys(s, 'p');

    // Sort: → moves the sort column to CPU%LIM, THROT, then MEM USAGE; r reverses.
    keys(s, 'Right', 'Right', 'Right');
    await waitFor('sorted by memory', () => (screen(s).split('\n')[1].includes('MEM USAGE / LIMIT▼') ? true : undefined), 5000, 100);
    await sleep(1200);
    const byMem = [...rows(screen(s)).values()].map((c) => parseSize(c[4].split(' / ')[0]));
    assert.deepEqual(byMem, [...byMem].sort((a, b) => b - a));
    assert.equal([...rows(screen(s)).keys()][0], 'cs11-top-mem');
    keys(s, 'r');
    await waitFor('reversed', () => ([...rows(screen(s)).keys()].at(-1) === 'cs11-top-mem' ? true : undefined), 5000, 100);

    // g: grouped by pod (the pair shares cs11-top-pa's namespace).
    keys(s, 'g');
    await waitFor('grouped', () => (screen(s).includes('▸ cs11-top-pa') ? true : undefined), 5000, 100);
    const grouped = screen(s).split('\n');
    const g = grouped.findIndex((l) => l.startsWith('▸ cs11-top-pa'));
    assert.deepEqual(grouped.slice(g + 1, g + 3).map((l) => l.split(/\s+/)[0]).sort(), ['cs11-top-pa', 'cs11-top-pb']);
    keys(s, 'g', 'g', 'g'); // back to none

    // Enter: the selected (first) container with 60-second sparklines.
    keys(s, 'Enter');
    await waitFor('a container', () => (screen(s).includes('Last 60 s') ? true : undefined), 5000, 100);
    await sleep(1500);
    const detail = screen(s);
    writeFileSync(`${OUT}/top-detail-120x40.txt`, detail);
    const cpuLine = detail.split('\n').find((l) => l.startsWith('CPU %'))!;
    assert.match(cpuLine, /[▁▂▃▄▅▆▇█]{5,}/);
    keys(s, 'Escape');
    keys(s, '?');
    await waitFor('help', () => (screen(s).includes('help (any key returns)') ? true : undefined), 5000, 100);
    keys(s, 'x');
    await waitFor('back', () => (screen(s).includes('NAME') ? true : undefined), 5000, 100);
    keys(s, 'q');
    await waitFor('quit', () => (!term.alive(s) ? true : undefined), 5000, 100);
  });

  test('80×24 and a resize: the columns that fit, no line longer than the terminal; NO_COLOR', async () => {
    const s = start('narrow', 120, 40, 'NO_COLOR=1');
    await waitFor('the table', () => (screen(s).includes('cs11-top-') ? true : undefined), 15_000, 200);
    term.tmux('resize-window', '-t', s, '-x', '80', '-y', '24');
    await waitFor('redrawn at 80 columns', () => (screen(s).split('\n')[1].includes('PIDS') && !screen(s).includes('NET I/O') ? true : undefined), 5000, 100);
    const text = screen(s);
    writeFileSync(`${OUT}/top-80x24.txt`, text);
    const lines = text.split('\n');
    assert.ok(lines.every((l) => [...l].length <= 80), 'no line wider than 80');
    assert.match(lines[1], /^NAME\s+CPU %▼\s+CPU%LIM\s+THROT\s+MEM USAGE \/ LIMIT\s+MEM %\s+PIDS\s*$/);
    assert.ok(!/\x1b\[[0-9;]*m/.test(screen(s, true)), 'NO_COLOR: no SGR attributes');
    keys(s, 'q');
    const c = start('color', 80, 24);
    await waitFor('the table', () => (screen(c).includes('NAME') ? true : undefined), 15_000, 200);
    assert.ok(/\x1b\[[0-9;]*7m/.test(screen(c, true)), 'with colour: the header in inverse video');
    keys(c, 'q');
  });

  test('the agent cannot be reached: one line on stderr and exit status 1', async () => {
    const port = await freePort();
    const r = spawnSync(process.execPath, ['bin/cstats.js', 'top', '--url', `http://127.0.0.1:${port}`], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /cannot reach the cstats agent at http:\/\/127\.0\.0\.1:\d+/);
  });
});
