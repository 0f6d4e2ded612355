/**
 * Stats bodies against what dockerd 20.10 really wrote (tests/fixtures/docker-stats, captured
 * on cgroup v1 with the real CLI), and the v2 field set from real cgroup v2 files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dockerStats, U64_MAX } from '../../../src/api/docker/stats.js';
import { toJson } from '../../../src/api/json.js';
import { statCgroupV2 } from '../../../src/kernel/cgroup/v2/index.js';
import type { BlkioDeviceStats, NetInterfaceStats } from '../../../src/kernel/types.js';
import type { ContainerInfo, Sample } from '../../../src/model.js';
import { memoryContext } from '../../kernel/context.js';
import { parseExact } from './exact-json.js';

const FIXTURE = 'tests/fixtures/docker-stats/table.api.json';
const captured: Array<{ container: string; body: any }> = parseExact(readFileSync(FIXTURE, 'utf8'));
/** The machine's memory when the fixture was captured: what dockerd reports for an unlimited container. */
const MACHINE_MEMORY = 25276026880n;

const big = (v: string | number | undefined): bigint => BigInt(v ?? 0);

function info(name: string, id: string, version: 1 | 2): ContainerInfo {
  const cgroup = version === 1 ? { version: 1 as const, path: `/docker/${id}`, dirs: {} } : { version: 2 as const, path: `/docker/${id}`, dir: '' };
  return { id, name, runtime: 'docker', image: 'busybox:local', labels: {}, state: 'running', cgroup, network: { kind: 'unknown' }, createdMs: 0, mounts: [] };
}

/** The raw counters a captured body was computed from, as the agent's reader would have them. */
function sampleFrom(body: any, cpuKey: 'cpu_stats' | 'precpu_stats', timeKey: 'read' | 'preread'): Sample {
  const cpu = body[cpuKey];
  const mem = body.memory_stats;
  const devices = new Map<string, BlkioDeviceStats>();
  const fill = (list: any[], bytes: boolean) => {
    for (const e of list) {
      const key = `${e.major}:${e.minor}`;
      const d: BlkioDeviceStats = devices.get(key) ?? { major: e.major, minor: e.minor, readBytes: 0n, writeBytes: 0n, reads: 0n, writes: 0n };
      devices.set(key, d);
      const v = big(e.value);
      if (e.op === 'Read') bytes ? (d.readBytes = v) : (d.reads = v);
      if (e.op === 'Write') bytes ? (d.writeBytes = v) : (d.writes = v);
      if (e.op === 'Discard') bytes ? (d.discardBytes = v) : (d.discards = v);
    }
  };
  fill(body.blkio_stats.io_service_bytes_recursive, true);
  fill(body.blkio_stats.io_serviced_recursive, false);
  const stat: Record<string, bigint> = Object.fromEntries(Object.entries(mem.stats).map(([k, v]) => [k, big(v as string)]));
  // Keys kernel 6.18 prints that dockerd leaves out of the body.
  Object.assign(stat, { swap: 0n, total_swap: 0n, shmem: 4096n, total_shmem: 4096n, file_thp: 0n });
  const network: NetInterfaceStats[] = [{ name: 'lo', rxBytes: 77n, rxPackets: 1n, rxErrors: 0n, rxDropped: 0n, txBytes: 77n, txPackets: 1n, txErrors: 0n, txDropped: 0n }];
  for (const [name, n] of Object.entries<any>(body.networks ?? {})) {
    network.push({
      name,
      rxBytes: big(n.rx_bytes),
      rxPackets: big(n.rx_packets),
      rxErrors: big(n.rx_errors),
      rxDropped: big(n.rx_dropped),
      txBytes: big(n.tx_bytes),
      txPackets: big(n.tx_packets),
      txErrors: big(n.tx_errors),
      txDropped: big(n.tx_dropped),
    });
  }
  const limit = big(mem.limit);
  return {
    timestampMs: Date.parse(body[timeKey]),
    monoNs: 0n,
    systemCpuNs: big(cpu.system_cpu_usage),
    onlineCpus: cpu.online_cpus,
    network,
    cgroup: {
      cpu: {
        usageNs: big(cpu.cpu_usage.total_usage),
        perCpuNs: cpu.cpu_usage.percpu_usage.map(big),
        systemNs: big(cpu.cpu_usage.usage_in_kernelmode),
        userNs: big(cpu.cpu_usage.usage_in_usermode),
        periods: big(cpu.throttling_data.periods),
        throttledPeriods: big(cpu.throttling_data.throttled_periods),
        throttledNs: big(cpu.throttling_data.throttled_time),
      },
      memory: {
        usageBytes: big(mem.usage),
        maxUsageBytes: big(mem.max_usage),
        failcnt: big(mem.failcnt),
        // An unlimited v1 cgroup reads as null; dockerd reports the machine's memory for it.
        limitBytes: limit === MACHINE_MEMORY ? null : limit,
        stat,
      },
      blkio: { devices: [...devices.values()], source: 'blkio.throttle.io_service_bytes' },
      pids: { current: big(body.pids_stats.current), limit: null },
    },
  };
}

/** dockerd's body as cstats can reproduce it: times to the millisecond, no Sync/Async split. */
function expected(body: any): any {
  const ms = (t: string) => new Date(Date.parse(t)).toISOString().replace(/\.?0+Z$/, 'Z');
  const out = structuredClone(body);
  out.read = ms(body.read);
  out.preread = ms(body.preread);
  for (const list of ['io_service_bytes_recursive', 'io_serviced_recursive']) {
    out.blkio_stats[list] = body.blkio_stats[list].filter((e: any) => e.op !== 'Sync' && e.op !== 'Async');
  }
  return out;
}

for (const name of ['cs-fixture-idle', 'cs-fixture-busy', 'cs-fixture-no-network']) {
  test(`v1 body equals dockerd's for ${name} (keys, order, values)`, () => {
    const { body } = captured.find((c) => c.container === name)!;
    const ours = dockerStats({
      info: info(name, body.id, 1),
      current: sampleFrom(body, 'cpu_stats', 'read'),
      previous: sampleFrom(body, 'precpu_stats', 'preread'),
      hostMemoryBytes: MACHINE_MEMORY,
    });
    const text = toJson(ours);
    const want = expected(body);
    assert.deepEqual(parseExact(text), want);
    assert.deepEqual(Object.keys(parseExact(text)), Object.keys(want), 'top-level key order');
    assert.deepEqual(Object.keys(parseExact(text).memory_stats.stats), Object.keys(want.memory_stats.stats), 'memory.stat keys in Go map order');
  });
}

test('v1: an unlimited hierarchy limit above 2^53 is written digit for digit', () => {
  const { body } = captured.find((c) => c.container === 'cs-fixture-idle')!;
  const text = toJson(dockerStats({ info: info('x', body.id, 1), current: sampleFrom(body, 'cpu_stats', 'read'), hostMemoryBytes: MACHINE_MEMORY }));
  assert.match(text, /"hierarchical_memory_limit":9223372036854771712,/);
  assert.match(text, /"limit":25276026880\}/);
});

test('a container that is not running gets dockerd\'s empty body, exactly', () => {
  const { body } = captured.find((c) => c.container === 'cs-fixture-created')!;
  const ours = dockerStats({ info: info('cs-fixture-created', body.id, 1), hostMemoryBytes: MACHINE_MEMORY });
  assert.equal(toJson(ours), JSON.stringify(body));
});

test('a first frame (or one-shot) has empty precpu_stats and a zero preread, as dockerd sends', () => {
  const { body } = captured.find((c) => c.container === 'cs-fixture-busy')!;
  const ours = parseExact(toJson(dockerStats({ info: info('b', body.id, 1), current: sampleFrom(body, 'cpu_stats', 'read'), hostMemoryBytes: MACHINE_MEMORY })));
  assert.equal(ours.preread, '0001-01-01T00:00:00Z');
  assert.deepEqual(ours.precpu_stats, {
    cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
    throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
  });
});

/** A v2 sample read by the real v2 readers from files of a 6.1 kernel, pids.max as given. */
function v2Sample(pidsMax: string): Sample {
  const dir = 'tests/fixtures/kernel/cgroup2-6.1/kt';
  const files: Record<string, string> = {};
  for (const f of readdirSync(dir)) files[`/cg/${f}`] = readFileSync(`${dir}/${f}`, 'utf8');
  files['/cg/pids.max'] = pidsMax;
  const { ctx, errors } = memoryContext(files);
  const cgroup = statCgroupV2(ctx, '/cg');
  assert.deepEqual(errors, []);
  return { timestampMs: Date.UTC(2026, 0, 2, 3, 4, 5, 670), monoNs: 0n, cgroup, systemCpuNs: 123450000000n, onlineCpus: 4, network: [] };
}

test('v2: the field set moby writes for cgroup v2, from real v2 files', () => {
  const body = parseExact(toJson(dockerStats({ info: info('v2', 'a'.repeat(64), 2), current: v2Sample('100\n'), hostMemoryBytes: 8n << 30n })));
  assert.equal(body.read, '2026-01-02T03:04:05.67Z');
  assert.deepEqual(body.cpu_stats, {
    cpu_usage: { total_usage: 769278000, usage_in_kernelmode: 119941000, usage_in_usermode: 649337000 },
    system_cpu_usage: 123450000000,
    online_cpus: 4,
    throttling_data: { periods: 16, throttled_periods: 14, throttled_time: 685067000 },
  });
  // No max_usage, the 31 v2 keys (workingset_refault is split on this kernel, so it reads 0), failcnt = oom (0 here).
  assert.deepEqual(Object.keys(body.memory_stats), ['usage', 'stats', 'limit']);
  assert.equal(Object.keys(body.memory_stats.stats).length, 31);
  assert.equal(body.memory_stats.stats.shmem, 20971520);
  assert.equal(body.memory_stats.stats.workingset_refault, 0);
  assert.equal(body.memory_stats.stats.kernel, undefined);
  assert.equal(body.memory_stats.limit, 67108864);
  assert.deepEqual(body.blkio_stats, {
    io_service_bytes_recursive: [
      { major: 1, minor: 0, op: 'read', value: 4194304 },
      { major: 1, minor: 0, op: 'write', value: 8388608 },
    ],
    io_serviced_recursive: null,
    io_queue_recursive: null,
    io_service_time_recursive: null,
    io_wait_time_recursive: null,
    io_merged_recursive: null,
    io_time_recursive: null,
    sectors_recursive: null,
  });
  assert.equal(body.networks, undefined, 'no interfaces: no networks key');
});

test('v2: an unlimited pids.max is math.MaxUint64, written exactly; v1 leaves it out', () => {
  const text = toJson(dockerStats({ info: info('v2', 'b'.repeat(64), 2), current: v2Sample('max\n'), hostMemoryBytes: 8n << 30n }));
  // pids.current is 0 in these files, so Go's omitempty leaves it out.
  assert.match(text, /"pids_stats":\{"limit":18446744073709551615\}/);
  assert.equal(U64_MAX, 2n ** 64n - 1n);
  const v1 = toJson(dockerStats({ info: info('v1', 'c'.repeat(64), 1), current: v2Sample('max\n'), hostMemoryBytes: 8n << 30n }));
  assert.match(v1, /"pids_stats":\{\}/);
});
