/**
 * The fleet query module against the real VictoriaMetrics 1.79 (Debian): series in /metrics'
 * names, imported with their sample times through VictoriaMetrics' Prometheus text import, read
 * back by queryFleet as each host's containers with the figures the agent shows.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { FleetSource, containerIdOf, queryFleet, type FleetContainer } from '../../src/fleet/query.js';
import { freePort, waitFor } from '../integration/support.js';
import { requires } from '../requires.js';
import { haveVictoriaMetrics, startVictoriaMetrics, type VictoriaMetrics } from './victoria-metrics.js';

const ID = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);

/** Prometheus text lines for one container's series at `ms`, from the figures given. */
function lines(host: string, id: string, name: string, ms: number, f: Record<string, number>, extra = ''): string {
  const l = `host="${host}",id="/docker/${id}",name="${name}",image="busybox:local"${extra}`;
  const out = [
    `container_last_seen{${l}} ${Math.floor(ms / 1000)} ${ms}`,
    `container_cpu_usage_seconds_total{${l},cpu="total"} ${f.cpu} ${ms}`,
    `container_memory_working_set_bytes{${l}} ${f.ws} ${ms}`,
    `container_spec_memory_limit_bytes{${l}} ${f.limit} ${ms}`,
    `container_threads{${l}} ${f.threads} ${ms}`,
    `container_network_receive_bytes_total{${l},interface="eth0"} ${f.rx0} ${ms}`,
    `container_network_receive_bytes_total{${l},interface="eth1"} 500 ${ms}`,
    `container_network_transmit_bytes_total{${l},interface="eth0"} ${f.tx} ${ms}`,
    `container_fs_reads_bytes_total{${l},device="/dev/sda"} ${f.read} ${ms}`,
    `container_fs_writes_bytes_total{${l},device="/dev/sda"} 0 ${ms}`,
  ];
  if (f.quota !== undefined) {
    out.push(
      `container_spec_cpu_quota{${l}} ${f.quota} ${ms}`,
      `container_spec_cpu_period{${l}} 100000 ${ms}`,
      `container_cpu_cfs_periods_total{${l}} ${f.periods} ${ms}`,
      `container_cpu_cfs_throttled_periods_total{${l}} ${f.throttled} ${ms}`,
    );
  }
  return out.join('\n') + '\n';
}

describe('fleet query against VictoriaMetrics', { skip: requires(haveVictoriaMetrics, 'Debian victoria-metrics (scripts/testbed.sh)'), timeout: 60_000 }, () => {
  let vm: VictoriaMetrics;
  const now = Date.now();
  const t1 = now - 2000;
  const t2 = now - 1000;
  // fleet-down's agent stopped a minute ago.
  const d1 = now - 61_000;
  const d2 = now - 60_000;

  before(async () => {
    vm = await startVictoriaMetrics();
    const body =
      lines('fleet-up', ID, 'web', t1, { cpu: 10, ws: 1048576, limit: 4194304, threads: 3, rx0: 1000, tx: 100, read: 4096, quota: 50000, periods: 100, throttled: 10 }, ',container_label_com_docker_compose_project="shop"') +
      lines('fleet-up', ID, 'web', t2, { cpu: 10.5, ws: 1048576, limit: 4194304, threads: 3, rx0: 3000, tx: 300, read: 8192, quota: 50000, periods: 110, throttled: 15 }, ',container_label_com_docker_compose_project="shop"') +
      lines('fleet-up', OTHER, 'db', t1, { cpu: 1, ws: 2048, limit: 0, threads: 1, rx0: 0, tx: 0, read: 0 }) +
      lines('fleet-up', OTHER, 'db', t2, { cpu: 1, ws: 2048, limit: 0, threads: 1, rx0: 0, tx: 0, read: 0 }) +
      lines('fleet-down', ID, 'web', d1, { cpu: 5, ws: 999, limit: 4194304, threads: 2, rx0: 1, tx: 1, read: 1 }) +
      lines('fleet-down', ID, 'web', d2, { cpu: 6, ws: 1000, limit: 4194304, threads: 2, rx0: 1, tx: 1, read: 1 }) +
      // The root cgroup: no name, not a container.
      `container_last_seen{host="fleet-up",id="/"} ${Math.floor(t2 / 1000)} ${t2}\n`;
    const res = await fetch(`${vm.url}/api/v1/import/prometheus`, { method: 'POST', body });
    assert.equal(res.status, 204, await res.text());
    const source = new FleetSource({ url: vm.url, timeoutMs: 5000, downAfterMs: 15_000 });
    await waitFor('the imported series searchable', async () => ((await source.query('container_threads', now)).length === 3 ? true : undefined), 20_000, 250);
  });
  after(() => vm?.stop());

  test('every host and container, with the figures the agent shows, rates from the query server', async () => {
    const fleet = await queryFleet(new FleetSource({ url: vm.url + '/', timeoutMs: 5000, downAfterMs: 15_000 }), now);
    assert.deepEqual(
      fleet.hosts.map((h) => [h.host, h.down, h.containers, h.lastSampleAt]),
      [
        ['fleet-down', true, 1, new Date(Math.floor(d2 / 1000) * 1000).toISOString()],
        ['fleet-up', false, 2, new Date(Math.floor(t2 / 1000) * 1000).toISOString()],
      ],
    );
    assert.equal(fleet.downAfterSeconds, 15);
    const by = (host: string, name: string): FleetContainer => fleet.containers.find((c) => c.host === host && c.name === name)!;
    const web = by('fleet-up', 'web');
    assert.equal(web.id, ID);
    assert.equal(web.image, 'busybox:local');
    assert.equal(web.hostDown, false);
    assert.deepEqual(web.labels, { com_docker_compose_project: 'shop' });
    const d = web.derived!;
    // 0.5 CPU seconds in one second: docker's 50 %, and 100 % of a 0.5-CPU quota.
    assert.ok(Math.abs(d.cpuPercent - 50) < 1e-9, String(d.cpuPercent));
    assert.ok(Math.abs(d.cpuLimitPercent! - 100) < 1e-9, String(d.cpuLimitPercent));
    assert.ok(Math.abs(d.throttledPercent! - 50) < 1e-9, String(d.throttledPercent));
    assert.equal(d.memoryUsageBytes, 1048576);
    assert.equal(d.memoryLimitBytes, 4194304);
    assert.equal(d.memoryPercent, 25);
    assert.equal(d.pids, 3);
    assert.equal(d.netRxBytes, 3500);
    assert.equal(d.netTxBytes, 300);
    assert.equal(d.blockReadBytes, 8192);
    assert.equal(d.rates['net.rxBytes'], 2000);
    assert.equal(d.rates['net.txBytes'], 200);
    assert.equal(d.rates['blkio.readBytes'], 4096);
    assert.equal(d.rates['blkio.writeBytes'], 0);

    // Unlimited memory (0) and no quota: no limit, no percentage of one; never a zero.
    const db = by('fleet-up', 'db').derived!;
    assert.equal(db.cpuPercent, 0);
    for (const k of ['memoryLimitBytes', 'memoryPercent', 'cpuLimitPercent', 'throttledPercent'] as const) assert.equal(k in db, false, k);

    // The stopped host: listed, marked, its last gauges kept, no rate (fewer than two samples in the window).
    const gone = by('fleet-down', 'web');
    assert.equal(gone.hostDown, true);
    assert.equal(gone.derived!.memoryUsageBytes, 1000);
    assert.equal('cpuPercent' in gone.derived!, false);
    assert.deepEqual(gone.derived!.rates, {});
    assert.equal(fleet.containers.length, 3, 'the root cgroup (no name) is not a container');
  });

  test('a host is down once its newest sample is older than --down-after', async () => {
    const source = new FleetSource({ url: vm.url, timeoutMs: 5000, downAfterMs: 15_000 });
    assert.equal((await queryFleet(source, t2 + 14_000)).hosts.find((h) => h.host === 'fleet-up')!.down, false);
    assert.equal((await queryFleet(source, t2 + 16_500)).hosts.find((h) => h.host === 'fleet-up')!.down, true);
  });

  test('a bad query names the query and the server\'s error', async () => {
    await assert.rejects(new FleetSource({ url: vm.url, timeoutMs: 5000, downAfterMs: 15_000 }).query('rate(x[', now), (err: Error) => err.message.startsWith('rate(x[: ') && /HTTP 4\d\d/.test(err.message));
  });
});

test('a URL that is not a query API: a clear error', async () => {
  const server = createServer((_req, res) => res.end('<html>hello</html>'));
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  try {
    await assert.rejects(queryFleet(new FleetSource({ url: `http://127.0.0.1:${port}`, timeoutMs: 2000, downAfterMs: 15_000 })), /not a Prometheus query API \(the answer is not JSON/);
    const nobody = await freePort();
    await assert.rejects(queryFleet(new FleetSource({ url: `http://127.0.0.1:${nobody}`, timeoutMs: 2000, downAfterMs: 15_000 })), /ECONNREFUSED/);
  } finally {
    server.close();
  }
});

test('the container id from the cgroup path', () => {
  assert.equal(containerIdOf(`/docker/${ID}`), ID);
  assert.equal(containerIdOf(`/system.slice/docker-${ID}.scope`), ID);
  assert.equal(containerIdOf('/lxc/web'), 'web');
  assert.equal(containerIdOf('/'), '/');
});
