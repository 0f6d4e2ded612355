/**
 * The fleet: three agents, each in its own network namespace (fleet-a, fleet-b, fleet-c, a veth
 * pair each to the host), remote_write to one real VictoriaMetrics 1.79 (Debian) on the host,
 * each under its own host label. `cstats top --prometheus` in a real terminal (tmux) lists all
 * three hosts' containers with the figures each agent's /metrics showed; the agent of fleet-b
 * stopped is marked DOWN within 30 s (the time is printed); an agent with --fleet-prometheus
 * answers GET /api/v1/fleet with the same hosts and containers.
 *
 * The three agents run on one machine and so see the same cgroups: each reports this host's
 * containers under its own host label, which is all a fleet view needs to tell hosts apart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, freePort, run, startAgent, waitFor } from '../support.js';
import { requires } from '../../requires.js';
import { CHROMIUM, launchChromium } from '../ui/support.js';
import { haveVictoriaMetrics, startVictoriaMetrics } from '../../fleet/victoria-metrics.js';
import { FleetSource, queryFleet, type Fleet } from '../../../src/fleet/query.js';

const HOSTS = ['a', 'b', 'c'] as const;
const BUSY = 'fleet-busy';
const MEM = 'fleet-mem';
const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });
const tmux = (...args: string[]): string => execFileSync('tmux', args, { encoding: 'utf8' });
const haveTmux = spawnSync('tmux', ['-V']).status === 0;

/** Removes what a run left (namespaces, veths), ignoring what is not there. */
function cleanNetwork(): void {
  for (const h of HOSTS) {
    spawnSync('ip', ['netns', 'del', `fleet-${h}`]);
    spawnSync('ip', ['link', 'del', `fleet-${h}-h`]);
  }
}

/** A gauge's value for container `name` in a /metrics text. */
function metric(text: string, family: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${family}{`) && l.includes(`name="${name}"`));
  assert.ok(line, `${family}{name="${name}"} in /metrics: ${text.slice(0, 300)}`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('fleet: three agents in three network namespaces into one VictoriaMetrics; top --prometheus and /api/v1/fleet', { skip: requires(haveVictoriaMetrics && haveTmux && existsSync(CHROMIUM), 'Debian victoria-metrics, tmux and chromium (scripts/testbed.sh)'), timeout: 240_000 }, async (t) => {
  cleanNetwork();
  const dir = mkdtempSync(join(tmpdir(), 'fleet-agents-'));
  const agents = new Map<string, { proc: ChildProcess; url: string }>();
  const session = `fleet-top-${process.pid}`;
  let viewer: Awaited<ReturnType<typeof startAgent>> | undefined;
  t.after(async () => {
    spawnSync('tmux', ['kill-session', '-t', session]);
    for (const a of agents.values()) if (a.proc.exitCode === null) a.proc.kill('SIGTERM'), await new Promise((r) => a.proc.once('exit', r));
    await viewer?.stop();
    await vm?.stop();
    cleanNetwork();
    docker('rm', '-f', BUSY, MEM);
    rmSync(dir, { recursive: true, force: true });
  });
  // Host side 10.231.N.1, namespace side 10.231.N.2; VictoriaMetrics listens on 10.231.1.1, which
  // the other namespaces reach through their own veth (a local address answers on any interface).
  HOSTS.forEach((h, i) => {
    const ns = `fleet-${h}`;
    ip('netns', 'add', ns);
    ip('link', 'add', `${ns}-h`, 'type', 'veth', 'peer', 'name', `${ns}-n`);
    ip('link', 'set', `${ns}-n`, 'netns', ns);
    ip('addr', 'add', `10.231.${i + 1}.1/24`, 'dev', `${ns}-h`);
    ip('link', 'set', `${ns}-h`, 'up');
    ip('-n', ns, 'addr', 'add', `10.231.${i + 1}.2/24`, 'dev', `${ns}-n`);
    ip('-n', ns, 'link', 'set', `${ns}-n`, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'route', 'add', 'default', 'via', `10.231.${i + 1}.1`);
  });
  const vm = await startVictoriaMetrics('10.231.1.1');
  run(BUSY, ['--cpus', '0.3'], ['sh', '-c', 'while :; do :; done']);
  run(MEM, ['-m', '64m'], ['sh', '-c', 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=40 2>/dev/null; sleep 100000']);

  for (const [i, h] of HOSTS.entries()) {
    const port = await freePort();
    const url = `http://10.231.${i + 1}.2:${port}`;
    // nsenter enters the network namespace only: `ip netns exec` would also remount /sys, hiding the cgroups.
    const args = [`--net=/run/netns/fleet-${h}`, '--', process.execPath, 'bin/cstats.js', 'agent', '--listen', `10.231.${i + 1}.2:${port}`, '--insecure', '--no-cgroups', '--data-dir', join(dir, h), '--remote-write', `${vm.url}/api/v1/write`, '--remote-write-label', `host=fleet-${h}`, '--remote-write-timeout', '2s'];
    const proc = spawn('nsenter', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout!.on('data', (c) => (output += c));
    proc.stderr!.on('data', (c) => (output += c));
    agents.set(h, { proc, url });
    await waitFor(`agent fleet-${h}`, async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.ok || undefined, 20_000, 200).catch((err) => assert.fail(`${(err as Error).message}\n${output}`));
  }
  const source = new FleetSource({ url: vm.url, timeoutMs: 5000, downAfterMs: 15_000 });
  const named = (f: Fleet, host: string, name: string) => f.containers.find((c) => c.host === host && c.name === name);
  await waitFor('every host\'s containers in VictoriaMetrics with a CPU rate', async () => {
    const f = await queryFleet(source);
    return HOSTS.every((h) => named(f, `fleet-${h}`, BUSY)?.derived?.cpuPercent !== undefined && named(f, `fleet-${h}`, MEM)?.derived?.memoryUsageBytes !== undefined) ? f : undefined;
  }, 60_000, 500);

  // The fleet's figures are each agent's /metrics values, within a tick.
  const ticks = new Map<string, number[]>();
  const agentCpu = async (h: string): Promise<number> => ((await (await fetch(`${agents.get(h)!.url}/api/v1/containers`)).json()) as { name: string; derived: { cpuPercent: number } }[]).find((c) => c.name === BUSY)!.derived.cpuPercent;
  for (const h of HOSTS) {
    const before = await (await fetch(`${agents.get(h)!.url}/metrics`)).text();
    // The agent's CPU % of its last few ticks (the store may hold a tick or two less: remote_write's latency).
    const seen: number[] = [];
    for (let i = 0; i < 10; i++, await new Promise((r) => setTimeout(r, 300))) seen.push(await agentCpu(h));
    ticks.set(h, seen);
    const f = await queryFleet(source);
    const after = await (await fetch(`${agents.get(h)!.url}/metrics`)).text();
    const mem = named(f, `fleet-${h}`, MEM)!.derived!;
    const ws = [metric(before, 'container_memory_working_set_bytes', MEM), metric(after, 'container_memory_working_set_bytes', MEM)];
    assert.ok(mem.memoryUsageBytes >= Math.min(...ws) - 65536 && mem.memoryUsageBytes <= Math.max(...ws) + 65536, `fleet-${h} ${MEM} memory ${mem.memoryUsageBytes} against /metrics ${ws}`);
    assert.equal(mem.memoryLimitBytes, metric(after, 'container_spec_memory_limit_bytes', MEM));
    assert.equal(mem.memoryLimitBytes, 64 * 1024 * 1024);
    assert.equal(mem.pids, metric(after, 'container_threads', MEM));
    // CPU: the query server's irate over the last two samples is the agent's own CPU % of a tick
    // (the 0.3-CPU busy loop), read from its REST list just before and after.
    const busy = named(f, `fleet-${h}`, BUSY)!.derived!;
    const around = [...ticks.get(h)!, await agentCpu(h)];
    console.log(`fleet-${h}: ${BUSY} CPU ${busy.cpuPercent.toFixed(1)} % from VictoriaMetrics, agent's last ticks ${Math.min(...around).toFixed(1)} to ${Math.max(...around).toFixed(1)} %; ${MEM} working set ${mem.memoryUsageBytes} (/metrics ${ws.join(', ')})`);
    assert.ok(busy.cpuPercent >= Math.min(...around) - 3 && busy.cpuPercent <= Math.max(...around) + 3, `CPU % ${busy.cpuPercent} against the agent's ${around}`);
    assert.ok(busy.cpuLimitPercent !== undefined && Math.abs(busy.cpuLimitPercent - busy.cpuPercent / 0.3) < 1e-6);
  }

  // top --prometheus in a real terminal: every host's two containers, with a HOST column.
  tmux('new-session', '-d', '-s', session, '-x', '160', '-y', '40', `NO_COLOR=1 ${process.execPath} bin/cstats.js top --prometheus ${vm.url}`);
  const screen = (): string => tmux('capture-pane', '-p', '-t', session);
  const rowOf = (text: string, host: string, name: string): string | undefined => text.split('\n').find((l) => l.startsWith(`${host} `) && l.includes(` ${name} `));
  const shown = await waitFor('top lists every host\'s containers', () => {
    const s = screen();
    return HOSTS.every((h) => rowOf(s, `fleet-${h}`, BUSY) && rowOf(s, `fleet-${h}`, MEM)) ? s : undefined;
  }, 20_000, 250).catch((err) => assert.fail(`${(err as Error).message}\n${screen()}`));
  assert.match(shown.split('\n')[0], /cstats top · fleet 10\.231\.1\.1:\d+ .* 3 hosts/);
  assert.match(shown, /^HOST\s+NAME\s+CPU %/m);
  for (const h of HOSTS) assert.match(rowOf(shown, `fleet-${h}`, MEM)!, /\/ 64MiB/, `fleet-${h} ${MEM} row`);
  // The filter matches the host label.
  tmux('send-keys', '-t', session, '/', 'fleet-c', 'Enter');
  await waitFor('the filter on host', () => {
    const s = screen();
    return rowOf(s, 'fleet-c', BUSY) && !rowOf(s, 'fleet-a', BUSY) ? true : undefined;
  }, 10_000, 250).catch((err) => assert.fail(`${(err as Error).message}\n${screen()}`));
  tmux('send-keys', '-t', session, 'Escape');

  // fleet-b's agent stops: marked DOWN within 30 s.
  const b = agents.get('b')!;
  const stoppedAt = Date.now();
  b.proc.kill('SIGTERM');
  await new Promise((r) => b.proc.once('exit', r));
  const downScreen = await waitFor('fleet-b marked DOWN', () => {
    const s = screen();
    return rowOf(s, 'fleet-b DOWN', BUSY) ? s : undefined;
  }, 30_000, 100).catch((err) => assert.fail(`${(err as Error).message}\n${screen()}`));
  const tookS = (Date.now() - stoppedAt) / 1000;
  console.log(`fleet-b flagged DOWN in top ${tookS.toFixed(1)} s after its agent stopped (--down-after 15s, refresh 2 s)`);
  assert.ok(tookS <= 30, `DOWN after ${tookS} s`);
  assert.match(downScreen.split('\n')[0], /3 hosts, 1 DOWN/);
  assert.ok(rowOf(downScreen, 'fleet-a', BUSY) && !rowOf(downScreen, 'fleet-a DOWN', BUSY), 'fleet-a stays up');

  // An agent with --fleet-prometheus serves the same fleet.
  viewer = await startAgent(['--no-cgroups', '--fleet-prometheus', vm.url]);
  const [served, direct] = await Promise.all([viewer.get<Fleet>('/api/v1/fleet'), queryFleet(source)]);
  assert.deepEqual(served.hosts.map((h) => [h.host, h.down]), [['fleet-a', false], ['fleet-b', true], ['fleet-c', false]]);
  assert.deepEqual(served.hosts.map((h) => [h.host, h.down, h.containers]), direct.hosts.map((h) => [h.host, h.down, h.containers]));
  const key = (f: Fleet) => f.containers.map((c) => `${c.host} ${c.name} ${c.id} ${c.derived?.memoryLimitBytes}`).sort();
  assert.deepEqual(key(served), key(direct));
  // The dashboard's Fleet section (Debian's Chromium): every row with its host, fleet-b's greyed.
  const browser = await launchChromium();
  try {
    const page = await browser.context.newPage();
    const outside: string[] = [];
    page.on('request', (r) => void (new URL(r.url()).origin !== viewer!.url && outside.push(r.url())));
    await page.goto(viewer.url + '/');
    await page.waitForSelector('.fleet-table tbody tr', { timeout: 15_000 });
    const title = await page.textContent('.fleet h2');
    const rows = await page.$$eval('.fleet-table tbody tr', (trs) => trs.map((tr) => ({ down: tr.classList.contains('down'), cells: [...tr.querySelectorAll('td')].map((td) => td.textContent) })));
    console.log(`dashboard: "${title}", ${rows.length} rows, ${rows.filter((r) => r.down).length} greyed`);
    assert.equal(title, 'Fleet · 3 hosts, 1 down');
    const ours = rows.filter((r) => r.cells[1] === BUSY || r.cells[1] === MEM);
    assert.deepEqual(ours.map((r) => `${r.cells[0]} ${r.cells[1]} ${r.down}`).sort(), ['fleet-a', 'fleet-b DOWN', 'fleet-c'].flatMap((x) => [`${x} ${BUSY} ${x.endsWith('DOWN')}`, `${x} ${MEM} ${x.endsWith('DOWN')}`]).sort());
    assert.deepEqual(outside, [], 'requests to another origin');
  } finally {
    await browser.close();
  }
  const noFleet = await fetch(`${agents.get('a')!.url}/api/v1/fleet`);
  assert.equal(noFleet.status, 404);
  assert.match(((await noFleet.json()) as { error: string }).error, /--fleet-prometheus/);
});
