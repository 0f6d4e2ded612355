/**
 * The raw-sample history: every rebuilt sample deep-equals the one recorded (bigints above 2^53
 * and u64 max, floats bit for bit, Maps, optional fields absent or undefined, memory.stat's lazy
 * record as the real parser makes it); the window keeps the newest samples; idle and busy
 * containers cost what the design says. Inputs are real kernel files (tests/fixtures) parsed by
 * the real parsers, with their values moved sample by sample.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SampleHistory } from '../../src/store/sample-history.js';
import { HOST_SAMPLE_SCHEMA, SAMPLE_SCHEMA } from '../../src/store/sample-schema.js';
import { list, obj, ref, same } from '../../src/store/shape.js';
import { parseMemoryStatV1 } from '../../src/kernel/cgroup/v1/memory.js';
import { parseProcStat } from '../../src/kernel/proc/stat.js';
import { parseMeminfo } from '../../src/kernel/proc/meminfo.js';
import { parseDiskstats } from '../../src/kernel/proc/diskstats.js';
import { parseLoadAvg } from '../../src/kernel/proc/loadavg.js';
import { parseNetDev } from '../../src/kernel/proc/netdev.js';
import type { HostSample, LayerUsage, Sample } from '../../src/model.js';
import type { FsStats, NetInterfaceStats } from '../../src/kernel/types.js';

const U64_MAX = 18446744073709551615n;
const MEMORY_STAT = readFileSync('tests/fixtures/kernel/cgroup1-6.18/memory/kt/memory.stat', 'latin1');
const HOST = 'tests/fixtures/procview/host';

/** A seeded generator (mulberry32), so that every run records the same samples. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** memory.stat with every value moved by `bump` (the fixture's keys, in its order), parsed as the sampler does. */
function memoryStat(bump: (key: string, value: bigint) => bigint) {
  const text = MEMORY_STAT.replace(/^(\S+) (\d+)$/gm, (_, key: string, value: string) => `${key} ${bump(key, BigInt(value))}`);
  return parseMemoryStatV1(text, 'memory.stat');
}

function iface(name: string, i: number, rate: number): NetInterfaceStats {
  const n = BigInt(i * rate);
  return { name, rxBytes: 1000n + n * 1500n, rxPackets: n, rxErrors: 0n, rxDropped: BigInt(i >> 6), txBytes: n * 700n, txPackets: n, txErrors: 0n, txDropped: 0n };
}

function fs(usedBytes: bigint): FsStats[] {
  return [
    { mountpoint: '/var/lib/docker/overlay2/x/diff', device: '/dev/vda', fsType: 'ext4', role: 'rootfs', destination: '/', totalBytes: 270553174016n, freeBytes: 270553174016n - usedBytes, availableBytes: 83881480192n, usedBytes, inodes: 16777216n, inodesFree: 16355743n },
  ];
}

/**
 * 400 container samples that go through what a real one does: CPU busy then idle, a counter
 * reset (the cgroup re-created), gauges up and down, values above 2^53 and u64 max, an
 * interface and a block device appearing and going, the network unmeasurable for a while,
 * fields absent or present as undefined, pressure averages in hundredths and arbitrary floats,
 * filesystems and layer usage passed again as the same objects between slower re-reads.
 */
function variedSamples(): Sample[] {
  const rnd = random(42);
  const out: Sample[] = [];
  let usageNs = 5_000_000_000n;
  let filesystems = fs(25062813696n);
  let layerUsage: LayerUsage | undefined;
  for (let i = 0; i < 400; i++) {
    const busy = i % 100 < 60;
    if (i === 250) usageNs = 1234n; // counter reset
    usageNs += busy ? 500_000_000n + BigInt(Math.floor(rnd() * 2_000_000)) : 0n;
    if (i % 10 === 0) filesystems = fs(25062813696n + BigInt(i) * 4096n);
    if (i === 30) layerUsage = { baseBytes: 4096n, totalBytes: 40960n, inodes: 1n, measuredMs: 1795494397181 };
    if (i === 90) layerUsage = { baseBytes: 8392704n, totalBytes: 8429568n, inodes: 2n, measuredMs: 1795494457181 };
    const pageDelta = BigInt(Math.floor(rnd() * 64) - 32) * 4096n;
    const network = i >= 120 && i < 140 ? undefined : i >= 140 && i < 150 ? [] : [iface('lo', i, 0), iface('eth0', i, busy ? 50 : 0), ...(i >= 200 && i < 260 ? [iface('eth1', i, 3)] : [])];
    const devices = [
      { major: 254, minor: 0, readBytes: BigInt(i) * 65536n, writeBytes: U64_MAX - BigInt(400 - i), reads: BigInt(i), writes: BigInt(i * 2), discardBytes: 0n, discards: 0n },
      ...(i >= 180 && i < 320 ? [{ major: 8, minor: 16, readBytes: 2n ** 60n + BigInt(i), writeBytes: 0n, reads: 1n, writes: 0n }] : []),
    ];
    const avg = (x: number) => (i % 37 === 5 ? rnd() * 100 : Math.round(x * 100) / 100);
    const line = (x: number, total: bigint) => ({ avg10: avg(x), avg60: avg(x / 2), avg300: avg(x / 5), totalUs: total });
    const sample: Sample = {
      timestampMs: 1795494397789 + i * 1000 + Math.floor(rnd() * 7) - 3,
      monoNs: 18882039726796n + BigInt(i) * 1_000_000_000n + BigInt(Math.floor(rnd() * 900_000)),
      cgroup: {
        cpu: {
          perCpuNs: [usageNs / 3n, usageNs - usageNs / 3n],
          usageNs: i === 77 ? undefined : usageNs,
          userNs: (usageNs / 20_000_000n) * 10_000_000n,
          systemNs: (usageNs / 40_000_000n) * 10_000_000n,
          quotaUs: i < 200 ? null : 50000n,
          periodUs: 100000n,
          shares: 1024n,
          periods: BigInt(i * 10),
          throttledPeriods: BigInt(i * 3),
          throttledNs: BigInt(i) * 7_000_000n,
        },
        memory:
          i >= 300 && i < 305
            ? undefined
            : {
                ...memoryStat((key, v) => (/pg(fault|pgin|pgout)/.test(key) ? v + BigInt(i * 37) : key.endsWith('cache') ? v + 4096n * BigInt((i * 7) % 11) : v)),
                usageBytes: 600_000_000n + pageDelta * BigInt(i % 13),
                limitBytes: i < 100 ? null : 9223372036854771712n,
                maxUsageBytes: i < 350 ? 2n ** 53n + 1n : U64_MAX,
                failcnt: i < 390 ? 0n : U64_MAX,
                swapLimitBytes: null,
                oomKills: BigInt(i >> 7),
              },
        blkio: { devices, source: 'blkio.throttle.io_service_bytes' },
        pids: { current: BigInt(2 + (i % 9)), limit: i % 50 === 0 ? 4096n : null },
        ...(i % 150 === 149 ? {} : { pressure: { cpu: { some: line(busy ? 12.34 + (i % 7) : 0, BigInt(i) * 18578n), full: line(busy ? 3.5 : 0, BigInt(i) * 6284n) }, memory: { some: line(0, 0n) }, io: { some: line(0.1, 981n), full: line(i === 123 ? -0 : 0, 961n) } } }),
      },
      network,
      filesystems,
      systemCpuNs: 37687090000000n + BigInt(i) * 2_000_000_000n + BigInt(Math.floor(rnd() * 10)) * 10_000_000n,
      onlineCpus: i < 333 ? 2 : 3,
    };
    if (layerUsage !== undefined || i % 2 === 0) sample.layerUsage = layerUsage; // undefined present half the time before the first walk
    out.push(sample);
  }
  return out;
}

test('400 varied container samples: every one rebuilt deep-equals the original, references kept as the same objects', () => {
  const samples = variedSamples();
  const h = new SampleHistory<Sample>(SAMPLE_SCHEMA, 1000);
  for (const s of samples) h.record(s);
  const back = h.read();
  assert.equal(back.length, samples.length);
  for (let i = 0; i < samples.length; i++) {
    assert.deepStrictEqual(back[i], samples[i], `sample ${i}`);
    assert.equal(back[i].filesystems, samples[i].filesystems, `sample ${i}: filesystems by reference`);
    assert.equal(back[i].layerUsage, samples[i].layerUsage);
  }
  // Spot checks that the comparison saw what it should.
  assert.equal(back[399].cgroup.memory?.failcnt, U64_MAX);
  assert.equal(back[399].cgroup.blkio?.devices[0].writeBytes, U64_MAX - 1n);
  assert.equal(back[250].cgroup.cpu?.usageNs, samples[250].cgroup.cpu?.usageNs);
  assert.ok(Object.is(back[123].cgroup.pressure?.io?.full?.avg10, -0));
  assert.equal(back[130].network, undefined);
  assert.ok(Object.hasOwn(back[130], 'network'));
  assert.ok(!Object.hasOwn(back[149].cgroup, 'pressure'));
  assert.ok(!Object.hasOwn(back[1], 'layerUsage') && Object.hasOwn(back[0], 'layerUsage'));
  assert.equal(back[5].cgroup.memory?.stat?.total_pgfault, samples[5].cgroup.memory?.stat?.total_pgfault);
});

test('the window: the newest `capacity` samples, whole chunks dropped; count, start and end select from them', () => {
  const samples = variedSamples();
  const h = new SampleHistory<Sample>(SAMPLE_SCHEMA, 121);
  assert.deepEqual(h.read(), []);
  for (const s of samples) h.record(s);
  assert.equal(h.length, 121);
  const all = h.read();
  assert.equal(all.length, 121);
  all.forEach((s, i) => assert.deepStrictEqual(s, samples[279 + i]));
  assert.deepStrictEqual(h.read({ count: 10 }), samples.slice(390));
  assert.deepStrictEqual(h.read({ count: -1 }), all);
  assert.deepEqual(h.read({ count: 0 }), []);
  const [from, to] = [samples[300].timestampMs, samples[310].timestampMs];
  assert.deepStrictEqual(h.read({ startMs: from, endMs: to }), samples.slice(300, 311));
  assert.deepStrictEqual(h.read({ startMs: from, endMs: to, count: 3 }), samples.slice(308, 311));
  assert.deepEqual(h.read({ endMs: samples[100].timestampMs }), [], 'older than the window');
  // The encoded bytes of 121 samples kept in chunks of 64: at most 3 chunks, never all 400 samples.
  assert.ok(h.bytes < 400 * 100, `${h.bytes}`);
});

test('a memory.stat record passed again as the same object (the sampler shares an unchanged parse) is rebuilt exactly, also after a sample without memory', () => {
  const shared = memoryStat((_, v) => v);
  const other = memoryStat((key, v) => (key === 'total_pgfault' ? v + 1n : v));
  const stats = [shared, shared, other, shared, undefined, shared, shared, other, other, shared];
  const samples = idleSeries(stats.length).map((s, i): Sample => {
    const record = stats[i]?.stat;
    if (record === undefined) return { ...s, cgroup: { ...s.cgroup, memory: undefined, blkio: undefined } };
    return { ...s, cgroup: { ...s.cgroup, memory: { usageBytes: BigInt(i) * 4096n, get stat() { return record; } } } };
  });
  const h = new SampleHistory<Sample>(SAMPLE_SCHEMA, 100);
  for (const s of samples) h.record(s);
  const back = h.read();
  samples.forEach((s, i) => assert.deepStrictEqual(back[i], s, `sample ${i}`));
  assert.equal(back[7].cgroup.memory?.stat?.total_pgfault, 10075n);
});

test('figures and interfaces passed again as the same objects (an idle container) are rebuilt exactly, wherever they fall in the sample', () => {
  const base = idleSeries(150);
  const cgroupA = base[0].cgroup;
  const cgroupB = { ...cgroupA, cpu: { ...cgroupA.cpu, usageNs: U64_MAX }, pids: undefined };
  const netA = base[0].network!;
  const netB = [iface('lo', 0, 0), iface('eth0', 9, 9), iface('eth1', 1, 1)];
  // Runs of the same objects, broken by others, by a sample without interfaces (which moves
  // everything after it) and by the first sample of each new chunk (the plan repeats over 150).
  const plan: [typeof cgroupA, readonly NetInterfaceStats[] | undefined][] = [
    [cgroupA, netA], [cgroupA, netA], [cgroupA, netA], [cgroupB, netA], [cgroupB, netA], [cgroupA, undefined],
    [cgroupA, undefined], [cgroupA, netB], [cgroupA, netA], [cgroupA, netA], [cgroupB, netB], [cgroupB, netB],
  ];
  const samples = base.map((s, i): Sample => ({ ...s, cgroup: plan[i % 12][0], network: plan[i % 12][1] }));
  for (const capacity of [200, 70]) {
    const h = new SampleHistory<Sample>(SAMPLE_SCHEMA, capacity);
    for (const s of samples) h.record(s);
    const back = h.read();
    const kept = samples.slice(samples.length - back.length);
    assert.ok(back.length >= Math.min(capacity, samples.length));
    kept.forEach((s, i) => assert.deepStrictEqual(back[i], s, `sample ${i} (capacity ${capacity})`));
  }
  assert.throws(() => same(ref), /without references/);
  assert.throws(() => same(obj<{ a: unknown }>({ a: list(ref) })), /without references/);
});

/** A real idle container's sample (this host, busybox sleep), re-read every second: only clocks move. */
function idleSeries(n: number): Sample[] {
  const rnd = random(7);
  const filesystems = fs(25062813696n);
  const out: Sample[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      timestampMs: 1795494397789 + i * 1000 + Math.floor(rnd() * 3) - 1,
      monoNs: 18882039726796n + BigInt(i) * 1_000_000_000n + BigInt(Math.floor(rnd() * 500_000)),
      cgroup: {
        cpu: { perCpuNs: [130668379n, 70876958n], usageNs: 201545337n, userNs: 80000000n, systemNs: 110000000n, quotaUs: null, periodUs: 100000n, shares: 1024n, periods: 0n, throttledPeriods: 0n, throttledNs: 0n },
        memory: { ...memoryStat((_, v) => v), usageBytes: 1024000n, limitBytes: null, maxUsageBytes: 3735552n, failcnt: 0n, swapLimitBytes: null, oomKills: 0n },
        blkio: { devices: [{ major: 254, minor: 0, readBytes: 397312n, writeBytes: 0n, reads: 72n, writes: 0n, discardBytes: 0n, discards: 0n }], source: 'blkio.throttle.io_service_bytes' },
        pids: { current: 1n, limit: null },
        pressure: {
          cpu: { some: { avg10: 0, avg60: 0, avg300: 0, totalUs: 18578n }, full: { avg10: 0, avg60: 0, avg300: 0, totalUs: 6284n } },
          memory: { some: { avg10: 0, avg60: 0, avg300: 0, totalUs: 0n }, full: { avg10: 0, avg60: 0, avg300: 0, totalUs: 0n } },
          io: { some: { avg10: 0, avg60: 0, avg300: 0, totalUs: 981n }, full: { avg10: 0, avg60: 0, avg300: 0, totalUs: 961n } },
        },
      },
      network: [iface('lo', 0, 0), iface('eth0', 5, 1)],
      filesystems,
      layerUsage: { baseBytes: 4096n, totalBytes: 40960n, inodes: 1n, measuredMs: 1795494397181 },
      // /proc/stat's total in ns: 2 CPUs × 100 ticks a second, give or take a tick.
      systemCpuNs: 37687090000000n + BigInt(i) * 2_000_000_000n + BigInt(Math.floor(rnd() * 3) - 1) * 10_000_000n,
      onlineCpus: 2,
    });
  }
  return out;
}

test('an idle container costs at most 16 bytes a sample, keyframes included', () => {
  const samples = idleSeries(256);
  const h = new SampleHistory<Sample>(SAMPLE_SCHEMA, 1000);
  for (const s of samples) h.record(s);
  // 256 = 4 sealed chunks of 64: bytes are exactly the encoded ones.
  assert.ok(h.bytes / 256 <= 16, `${h.bytes / 256} bytes a sample`);
  assert.deepStrictEqual(h.read(), samples);
});

test('a busy container costs at most 100 bytes a sample', () => {
  const samples = variedSamples().slice(0, 256);
  const h = new SampleHistory<Sample>(SAMPLE_SCHEMA, 1000);
  for (const s of samples) h.record(s);
  assert.ok(h.bytes / 256 <= 100, `${h.bytes / 256} bytes a sample`);
});

test('host samples (real /proc files, values moved): Maps, optional disk fields and load averages rebuilt exactly', () => {
  const stat = readFileSync(`${HOST}/stat`, 'latin1');
  const meminfo = readFileSync(`${HOST}/meminfo`, 'latin1');
  const diskstats = readFileSync(`${HOST}/diskstats`, 'latin1');
  const netdev = 'Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n';
  const rnd = random(3);
  const bumpAll = (text: string, i: number) => text.replace(/\b(\d{2,})\b/g, (d) => String(BigInt(d) + BigInt(i * (d.length % 5))));
  const samples: HostSample[] = [];
  for (let i = 0; i < 150; i++) {
    const netLines = [`    lo: ${i * 100} ${i} 0 0 0 0 0 0 ${i * 100} ${i} 0 0 0 0 0 0`, `  eth0: ${18446744073709551615n - BigInt(150 - i)} ${i * 9} 0 0 0 0 0 0 ${i * 7} ${i} 0 0 0 0 0 0`];
    if (i > 60 && i < 90) netLines.push(`veth1: ${i} 1 0 0 0 0 0 0 ${i} 1 0 0 0 0 0 0`);
    const disks = parseDiskstats(bumpAll(diskstats, i));
    samples.push({
      timestampMs: 1795494397000 + i * 1000,
      monoNs: BigInt(i) * 1_000_000_123n,
      stat: parseProcStat(bumpAll(stat, i)),
      meminfo: parseMeminfo(bumpAll(meminfo, i)),
      ...(i === 40 ? {} : { loadavg: parseLoadAvg(`${(rnd() * 4).toFixed(2)} 4.42 2.30 ${1 + (i % 4)}/273 ${2376 + i}`) }),
      disks: i % 70 === 69 ? disks.slice(1) : disks,
      network: parseNetDev(netdev + netLines.join('\n') + '\n'),
      filesystems: [],
    });
  }
  const h = new SampleHistory<HostSample>(HOST_SAMPLE_SCHEMA, 1000);
  for (const s of samples) h.record(s);
  const back = h.read();
  assert.equal(back.length, samples.length);
  for (let i = 0; i < samples.length; i++) assert.deepStrictEqual(back[i], samples[i], `host sample ${i}`);
  assert.ok(back[0].meminfo instanceof Map && back[0].stat.perCpu instanceof Map);
});
