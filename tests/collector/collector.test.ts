/**
 * The collector on a fixture cgroup v2 tree (a plain directory: this host's kernel is v1, the
 * VM test covers a real v2 kernel) and on real v1 cgroups that vanish between ticks: bad or
 * missing files cost only their values and one warning each.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync, existsSync, rmdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Collector } from '../../src/collector/collector.js';
import { CgroupfsDiscoverer } from '../../src/runtimes/cgroupfs.js';
import { Store } from '../../src/store/store.js';
import { readHostLayout, locationFromPath, walkRootOf } from '../../src/runtimes/layout.js';
import type { Logger } from '../../src/log.js';
import type { ContainerInfo } from '../../src/model.js';
import { createLogger } from '../../src/log.js';
import { requires } from '../requires.js';

function capturingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger((l) => lines.push(l)), lines };
}

const root = mkdtempSync(join(tmpdir(), 'cstats-v2-fixture-'));
after(() => rmSync(root, { recursive: true, force: true }));

function writeCgroup(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

const GOOD = {
  'cgroup.procs': '',
  'cpu.stat': 'usage_usec 18446744073709551\nuser_usec 1000\nsystem_usec 2000\nnr_periods 10\nnr_throttled 3\nthrottled_usec 450\n',
  'cpu.max': '50000 100000\n',
  'memory.current': '67108864\n',
  'memory.max': 'max\n',
  'memory.stat': 'anon 1048576\nfile 2097152\ninactive_file 1048576\nactive_file 1048576\nfile_mapped 0\n',
  'memory.events': 'low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n',
  'io.stat': '8:0 rbytes=4096 wbytes=18446744073709551615 rios=1 wios=2 dbytes=0 dios=0\n',
  'pids.current': '3\n',
  'pids.max': 'max\n',
};

test('fixture v2 tree: exact values, u64 kept, malformed file costs its values and warns once', () => {
  const dir = join(root, 'test.slice', 'a.scope');
  writeCgroup(dir, { ...GOOD, 'memory.stat': 'anon 1048576\nfile twelve\n' });
  const { log, lines } = capturingLogger();
  const store = new Store(10, 60_000);
  const disc = new CgroupfsDiscoverer({ walkRoot: root, locate: (rel) => ({ version: 2, path: rel, dir: root + rel }) }, log);
  disc.rescan();
  const collector = new Collector(store, [disc], { intervalMs: 1000, fsIntervalMs: 10_000 }, log);
  collector.tick();
  collector.tick();
  disc.stop();
  const e = store.find('a')!;
  assert.ok(e, 'container a.scope discovered and named "a"');
  const s = e.latest!;
  assert.equal(s.cgroup.cpu?.usageNs, 18446744073709551000n);
  assert.equal(s.cgroup.cpu?.quotaUs, 50000n);
  assert.equal(s.cgroup.memory?.usageBytes, 67108864n);
  assert.equal(s.cgroup.memory?.limitBytes, null);
  assert.equal(s.cgroup.memory?.oomKills, 1n);
  assert.equal(s.cgroup.memory?.inactiveFileBytes, undefined, 'memory.stat values are dropped, nothing else');
  assert.equal(s.cgroup.blkio?.devices[0].writeBytes, 18446744073709551615n);
  assert.equal(s.cgroup.pids?.current, 3n);
  const warnings = lines.filter((l) => l.includes('memory.stat'));
  assert.equal(warnings.length, 1, lines.join('\n'));
  assert.match(warnings[0], /warn .*a\.scope\/memory\.stat.*twelve/);
  // Without a process, the network cannot be told: absent, not zero.
  assert.equal(s.network, undefined);
});

test('nothing moved: the sample holds the previous figures object, and derive hands back the previous tick\'s figures', () => {
  const dir = join(root, 'test.slice', 'still.scope');
  writeCgroup(dir, GOOD);
  const { log } = capturingLogger();
  const store = new Store(10, 60_000);
  const disc = new CgroupfsDiscoverer({ walkRoot: root, locate: (rel) => ({ version: 2, path: rel, dir: root + rel }) }, log);
  disc.rescan();
  const collector = new Collector(store, [disc], { intervalMs: 1000, fsIntervalMs: 10_000 }, log);
  const e = store.upsert(disc.containers().find((c) => c.name === 'still')!);
  collector.tick();
  collector.tick();
  const [first, second] = [e.previous!, e.latest!];
  assert.equal(second.cgroup, first.cgroup);
  const derived = e.derived!;
  collector.tick();
  assert.equal(e.latest!.cgroup, first.cgroup);
  assert.equal(e.derived, derived, 'three samples alike: the same Derived');
  assert.equal(derived.rates.cpuUsageNs, 0);
  // A counter moves: new figures, new Derived, and its rate.
  writeFileSync(join(dir, 'pids.current'), '4\n');
  writeFileSync(join(dir, 'cpu.stat'), GOOD['cpu.stat'].replace('usage_usec 18446744073709551', 'usage_usec 18446744073709552'));
  collector.tick();
  disc.stop();
  assert.notEqual(e.latest!.cgroup, first.cgroup);
  assert.equal(e.latest!.cgroup.pids?.current, 4n);
  assert.notEqual(e.derived, derived);
  assert.ok((e.derived!.rates.cpuUsageNs ?? 0) > 0);
});

test('a host-network container that did not move keeps the previous tick\'s figures too: no interfaces of its own, the same list each tick', () => {
  const dir = join(root, 'test.slice', 'hostnet.scope');
  // This test's own process, in the host's network namespace, is the cgroup's process.
  writeCgroup(dir, { ...GOOD, 'cgroup.procs': `${process.pid}\n` });
  const { log } = capturingLogger();
  const store = new Store(10, 60_000);
  const disc = new CgroupfsDiscoverer({ walkRoot: root, locate: (rel) => ({ version: 2, path: rel, dir: root + rel }) }, log);
  disc.rescan();
  const collector = new Collector(store, [disc], { intervalMs: 1000, fsIntervalMs: 10_000 }, log);
  const info = disc.containers().find((c) => c.name === 'hostnet')!;
  assert.equal(info.network.kind, 'host');
  const e = store.upsert(info);
  collector.tick();
  collector.tick();
  const derived = e.derived!;
  collector.tick();
  disc.stop();
  assert.deepEqual(e.latest!.network, [], 'the host\'s interfaces are not reported as its own');
  assert.equal(e.latest!.network, e.previous!.network);
  assert.equal(e.derived, derived, 'three samples alike: the same Derived');
});

/** The files this process holds open, by the path their descriptor names. */
function openPaths(): string[] {
  return readdirSync('/proc/self/fd').map((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return ''; // the directory's own descriptor, closed by now
    }
  });
}

test('a container whose process changed (a restart): the old process\'s net/dev is closed, the new one\'s read', async () => {
  const dir = join(root, 'test.slice', 'restarted.scope');
  writeCgroup(dir, GOOD);
  const { log } = capturingLogger();
  const store = new Store(10, 60_000);
  const info: ContainerInfo = {
    id: 'restarted', name: 'restarted', runtime: 'cgroupfs', image: '', labels: {}, state: 'running', mounts: [], createdMs: Date.now(),
    cgroup: { version: 2, path: '/test.slice/restarted.scope', dir }, network: { kind: 'unknown' },
  };
  const discoverer = { name: 'fixed', start: async () => {}, stop: () => {}, containers: () => [info], health: () => ({ up: true, detail: '', sinceMs: 0 }) };
  const collector = new Collector(store, [discoverer], { intervalMs: 1000, fsIntervalMs: 10_000 }, log);
  // Real processes, one after the other: each restart of a container gives it a new one.
  const children = [0, 1, 2].map(() => spawn('sleep', ['100'], { stdio: 'ignore' }));
  try {
    for (const child of children) {
      info.network = { kind: 'own', pid: child.pid! };
      collector.tick();
      collector.tick();
      const netDevs = openPaths().filter((p) => children.some((c) => p === `/proc/${c.pid}/net/dev`));
      assert.deepEqual(netDevs, [`/proc/${child.pid}/net/dev`], 'only the current process\'s net/dev is open');
      assert.ok(store.find('restarted')!.latest!.network!.some((i) => i.name === 'lo'));
    }
    info.network = { kind: 'host' };
    collector.tick();
    assert.deepEqual(openPaths().filter((p) => children.some((c) => p.startsWith(`/proc/${c.pid}/`))), [], 'nothing of it open once it has no namespace of its own');
  } finally {
    collector.stop();
    for (const c of children) c.kill();
  }
});

test('empty and truncated files: the rest of the sample survives', () => {
  const dir = join(root, 'test.slice', 'b.scope');
  writeCgroup(dir, { ...GOOD, 'cpu.stat': '', 'io.stat': '8:0 rbytes=40', 'memory.current': '' });
  const { log, lines } = capturingLogger();
  const store = new Store(10, 60_000);
  const disc = new CgroupfsDiscoverer({ walkRoot: root, locate: (rel) => ({ version: 2, path: rel, dir: root + rel }) }, log);
  disc.rescan();
  new Collector(store, [disc], { intervalMs: 1000, fsIntervalMs: 10_000 }, log).tick();
  disc.stop();
  const s = store.find('b')!.latest!;
  assert.equal(s.cgroup.cpu, undefined);
  assert.equal(s.cgroup.memory?.usageBytes, undefined);
  assert.equal(s.cgroup.memory?.inactiveFileBytes, 1048576n);
  assert.equal(s.cgroup.pids?.current, 3n);
  assert.ok(lines.some((l) => l.includes('b.scope/cpu.stat')), lines.join('\n'));
});

test('a real v1 cgroup removed between ticks: no exception, the container leaves the live list', { skip: requires(existsSync('/sys/fs/cgroup/memory/cgroup.procs'), 'cgroup v1 (this CI host has it)') }, () => {
  const layout = readHostLayout();
  const rel = `/cstats-test-vanish.slice/v${process.pid}.scope`;
  const dirs = ['memory', 'cpu', 'cpuacct', 'pids', 'blkio'].map((c) => layout.v1.get(c)).filter((m): m is string => !!m).map((m) => m + rel);
  for (const d of dirs) mkdirSync(d, { recursive: true });
  try {
    const { log, lines } = capturingLogger();
    const store = new Store(10, 60_000);
    const disc = new CgroupfsDiscoverer({ walkRoot: walkRootOf(layout), locate: (r) => locationFromPath(layout, r) }, log);
    disc.rescan();
    const collector = new Collector(store, [disc], { intervalMs: 1000, fsIntervalMs: 10_000 }, log);
    collector.tick();
    const e = store.find(`v${process.pid}`)!;
    assert.ok(e.latest?.cgroup.memory?.usageBytes !== undefined, 'read while it existed');
    // Removed under the collector's open descriptors, before discovery notices.
    for (const d of dirs) rmdirSync(d);
    collector.tick();
    assert.equal(e.latest?.cgroup.memory?.usageBytes, undefined, 'values of a vanished cgroup are absent');
    disc.rescan();
    collector.tick();
    assert.equal(store.list(false).some((x) => x.info.id === e.info.id), false);
    assert.equal(lines.filter((l) => l.includes('warn')).length, 0, lines.join('\n'));
    disc.stop();
  } finally {
    for (const d of dirs) if (existsSync(d)) rmdirSync(d);
    for (const m of ['memory', 'cpu', 'cpuacct', 'pids', 'blkio']) {
      const p = `${layout.v1.get(m)}/cstats-test-vanish.slice`;
      if (existsSync(p)) rmdirSync(p);
    }
  }
});
