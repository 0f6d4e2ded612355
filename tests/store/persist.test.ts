/**
 * History on disk, in a temporary directory: what is written comes back after a restart, bit for
 * bit; a torn or damaged file is cut and the rest kept; the 1-minute tier is the fold of the
 * samples; the data directory's lock, format version and state files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDir } from '../../src/store/datadir.js';
import { PersistentHistory } from '../../src/store/persist.js';
import { queryHistory } from '../../src/store/query.js';
import { createLogger } from '../../src/log.js';
import type { ContainerInfo } from '../../src/model.js';

const METRICS = ['cpu', 'mem', 'rate'];
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0) + 123;

function quietLog(lines: string[] = []) {
  return createLogger((l) => lines.push(l));
}

function info(n: number): ContainerInfo {
  return { id: `cs12-${String(n).padStart(59, '0')}`, name: `cs12-c${n}`, runtime: 'cgroupfs', image: '', labels: {}, state: 'running', cgroup: { version: 2, path: `/cs12-${n}`, dir: `/x/cs12-${n}` }, network: { kind: 'unknown' }, createdMs: T0 - 1000, mounts: [] };
}

/** A busy-ish container: a random walk; a NaN rate now and then; an idle one: constants. */
function rowAt(n: number, k: number): number[] {
  if (n % 2 === 0) return [0, 4096, 0];
  const x = Math.sin(k * 0.37 + n) * 50 + 50;
  return [x, 1e6 + Math.round(x * 1000), k % 17 === 0 ? NaN : x * 3.5];
}

function open(dir: string, lines: string[] = [], retentionMs: [number, number, number] = [86_400_000, 30 * 86_400_000, 365 * 86_400_000]) {
  const log = quietLog(lines);
  const dataDir = DataDir.open(dir, log);
  const h = new PersistentHistory({ dataDir, intervalMs: 1000, metrics: METRICS, retentionMs, maxBytes: 1 << 30, log });
  return { dataDir, h, close: (nowMs?: number) => (h.close(nowMs), dataDir.close()) };
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'cs12-persist-'));
}

/** Feeds `count` samples a second for containers 0..n-1 from sample `from`. */
function feed(h: PersistentHistory, n: number, from: number, count: number, flushEvery = 10): void {
  for (let k = from; k < from + count; k++) {
    for (let c = 0; c < n; c++) h.record(info(c), T0 + k * 1000, rowAt(c, k));
    if ((k + 1) % flushEvery === 0) h.flush(T0 + k * 1000);
  }
}

function raw(h: PersistentHistory, c: number) {
  const s = h.seriesOfId(info(c).id)!;
  return h.rows(s, 0, -Infinity, Infinity);
}

test('restart: every sample comes back as it was, across sealed chunks and the open one; SIGTERM (close) loses nothing', () => {
  const dir = tmp();
  const a = open(dir);
  feed(a.h, 4, 0, 1500); // 2 sealed chunks of 600 and an open one of 300
  const before = [0, 1, 2, 3].map((c) => raw(a.h, c));
  assert.equal(before[1].timestampsMs.length, 1500);
  a.close(T0 + 1500 * 1000); // at the time of the samples: a close a day later would let retention take them
  const b = open(dir);
  for (let c = 0; c < 4; c++) assert.deepEqual(raw(b.h, c), before[c]);
  // It goes on where it stopped, after a gap.
  feed(b.h, 4, 2000, 10);
  const after = raw(b.h, 1);
  assert.equal(after.timestampsMs.length, 1510);
  assert.equal(after.timestampsMs[1500], T0 + 2000 * 1000);
  b.close();
  rmSync(dir, { recursive: true });
});

test('a kill loses only what came after the last flush', () => {
  const dir = tmp();
  const a = open(dir);
  feed(a.h, 2, 0, 655, 10); // flushed at 649, not after
  // No close: as after SIGKILL (the lock is taken over because this process is not another cstats).
  const b = open(dir);
  const got = raw(b.h, 1);
  assert.equal(got.timestampsMs.length, 650);
  assert.deepEqual(got.timestampsMs, raw(a.h, 1).timestampsMs.slice(0, 650));
  b.close();
  rmSync(dir, { recursive: true });
});

test('downsampling: each 1-minute point is the min, max, mean and last of the samples of its minute; 1-hour of the minutes', () => {
  const dir = tmp();
  const a = open(dir);
  feed(a.h, 2, 0, 3 * 3600 + 30, 600);
  const s = a.h.seriesOfId(info(1).id)!;
  const samples = a.h.rows(s, 0, -Infinity, Infinity);
  const minutes = a.h.rows(s, 1, -Infinity, Infinity);
  const byMinute = new Map<number, number[][]>();
  samples.timestampsMs.forEach((ts, i) => {
    const m = ts - (ts % 60_000);
    if (!byMinute.has(m)) byMinute.set(m, []);
    byMinute.get(m)!.push(Array.from(samples.rows[i]));
  });
  // Every minute is a point, the one in progress too.
  assert.equal(minutes.timestampsMs.length, byMinute.size);
  minutes.timestampsMs.forEach((ts, i) => {
    const rows = byMinute.get(ts)!;
    METRICS.forEach((_, m) => {
      const vals = rows.map((r) => r[m]).filter((v) => !Number.isNaN(v));
      let sum = 0;
      for (const v of vals) sum += v;
      const p = minutes.rows[i];
      assert.equal(p[m * 5], Math.min(...vals), `min ${ts} ${m}`);
      assert.equal(p[m * 5 + 1], Math.max(...vals));
      assert.equal(p[m * 5 + 2] / p[m * 5 + 3], sum / vals.length, 'mean');
      assert.equal(p[m * 5 + 3], vals.length);
      assert.equal(p[m * 5 + 4], vals[vals.length - 1], 'last');
    });
  });
  const hours = a.h.rows(s, 2, -Infinity, Infinity);
  // Hours 12 and 13 closed; 14 in progress: its last minute is folded in when the 15:00 minute closes.
  assert.equal(hours.timestampsMs.length, 3);
  const firstHour = minutes.rows.filter((_, i) => minutes.timestampsMs[i] < hours.timestampsMs[0] + 3_600_000);
  assert.equal(hours.rows[0][0], Math.min(...firstHour.map((r) => r[0])));
  assert.equal(hours.rows[0][3], firstHour.reduce((n, r) => n + r[3], 0));
  // A restart in the middle of a minute and an hour makes the same points as without it.
  const dir2 = tmp();
  const b = open(dir2);
  feed(b.h, 2, 0, 3600 + 1800 + 30, 600);
  b.close(T0 + (3600 + 1800 + 30) * 1000); // SIGTERM a second after the last sample, at 13:30:30
  const c = open(dir2);
  feed(c.h, 2, 3600 + 1800 + 30, 3600 + 1200, 600); // on to 14:50:29
  const s2 = c.h.seriesOfId(info(1).id)!;
  const upTo = (ms: number) => Date.UTC(2026, 0, 1, 14, ms) - 1;
  assert.deepEqual(c.h.rows(s2, 1, -Infinity, upTo(50)), a.h.rows(s, 1, -Infinity, upTo(50)));
  assert.deepEqual(c.h.rows(s2, 2, -Infinity, upTo(0)), a.h.rows(s, 2, -Infinity, upTo(0)));
  assert.equal(c.h.rows(s2, 1, -Infinity, upTo(50)).timestampsMs.length, 170);
  a.close();
  c.close();
  rmSync(dir, { recursive: true });
  rmSync(dir2, { recursive: true });
});

test('corruption: a flipped byte and a torn tail are cut at start, reported, and everything before them kept', () => {
  const dir = tmp();
  const a = open(dir);
  feed(a.h, 3, 0, 1900);
  const before = raw(a.h, 1);
  a.close();
  // A copy without the index its stop wrote (as an agent killed before it ever stopped leaves the
  // newest segment: read whole at start), damaged: a byte flipped in the middle of the raw segment, the head log torn.
  const copy = tmp();
  cpSync(dir, copy, { recursive: true });
  const segDir = join(copy, 'tier-raw');
  const seg = join(segDir, readdirSync(segDir).find((f) => f.endsWith('.seg'))!);
  rmSync(seg.replace(/\.seg$/, '.idx'));
  const size = statSync(seg).size;
  const bytes = readFileSync(seg);
  const flipAt = Math.floor(size * 0.6);
  bytes[flipAt] ^= 0x40;
  writeFileSync(seg, bytes);
  const wal = join(copy, 'head', readdirSync(join(copy, 'head'))[0]);
  truncateSync(wal, statSync(wal).size - 7);
  const lines: string[] = [];
  const b = open(copy, lines);
  const h = b.h.health();
  assert.equal(h.repaired.length, 2, JSON.stringify(h.repaired));
  const segCut = h.repaired.find((c) => c.file === seg)!;
  assert.equal(segCut.reason, 'checksum mismatch');
  assert.ok(segCut.atByte <= flipAt && segCut.atByte > 8);
  assert.equal(h.repaired.find((c) => c.file === wal)!.reason, 'torn record');
  assert.ok(lines.some((l) => l.includes(seg) && l.includes('cut')), lines.join('\n'));
  // What is left is exactly a prefix of each chunk sequence: nothing altered, nothing before the cut lost.
  const got = raw(b.h, 1);
  assert.ok(got.timestampsMs.length > 0 && got.timestampsMs.length < before.timestampsMs.length);
  const at = (ts: number) => before.timestampsMs.indexOf(ts);
  got.timestampsMs.forEach((ts, i) => assert.deepEqual(got.rows[i], before.rows[at(ts)]));
  // Points older than the damaged chunk are all there.
  const lostFrom = before.timestampsMs.find((ts) => !got.timestampsMs.includes(ts))!;
  assert.deepEqual(got.timestampsMs.filter((ts) => ts < lostFrom), before.timestampsMs.filter((ts) => ts < lostFrom));
  // And it writes on.
  feed(b.h, 3, 5000, 20);
  b.close();
  const c = open(copy);
  assert.equal(c.h.health().repaired.length, 0);
  assert.equal(raw(c.h, 1).timestampsMs.at(-1), T0 + 5019 * 1000);
  c.close();
  // A file that is not a record file at all is emptied, not fatal.
  writeFileSync(seg, 'garbage');
  const d = open(copy);
  assert.equal(d.h.health().repaired[0].reason, 'not a cstats record file (bad magic)');
  d.close();
  rmSync(dir, { recursive: true });
  rmSync(copy, { recursive: true });
});

test('retention drops whole old segments; removed containers are kept with how they ended', () => {
  const dir = tmp();
  const a = open(dir, [], [60_000, 3_600_000, 3_600_000]);
  feed(a.h, 1, 0, 3 * 3600, 60);
  a.h.removed(info(0).id, T0 + 3 * 3600 * 1000, { atMs: T0 + 3 * 3600 * 1000 - 500, exitCode: 137, oomKilled: true });
  a.h.flush(T0 + 3 * 3600 * 1000);
  const t = a.h.health(T0 + 3 * 3600 * 1000).tiers;
  assert.equal(t[0].segments, 1, 'raw segments older than a minute are gone but the newest');
  const oldest = Date.parse(t[0].oldest!);
  assert.ok(oldest >= T0 + 2 * 3600 * 1000, t[0].oldest!);
  a.close();
  const b = open(dir);
  const k = b.h.kept()[0];
  assert.deepEqual(k.ended, { atMs: T0 + 3 * 3600 * 1000 - 500, exitCode: 137, oomKilled: true });
  assert.equal(k.info.name, 'cs12-c0');
  b.close();
  rmSync(dir, { recursive: true });
});

test('queries: the tier that fits, a grid of steps with nulls where nothing was sampled', () => {
  const dir = tmp();
  const a = open(dir);
  feed(a.h, 2, 0, 600);
  feed(a.h, 2, 900, 300); // down from 600 s to 900 s
  const s = a.h.seriesOfId(info(1).id)!;
  const src = { tiers: a.h.tiers, metricCount: METRICS.length, scan: (t: number, since: number, until: number, visit: (ts: number, row: Float64Array) => void, wanted: Uint8Array) => a.h.scan(s, t, since, until, visit, wanted) };
  const now = T0 + 1200 * 1000;
  const stored = queryHistory(src, { sinceMs: T0, untilMs: now, metrics: [0] }, now);
  assert.equal(stored.tier, 'raw');
  assert.equal(stored.stepMs, null);
  assert.equal(stored.timestampsMs.length, 901, 'every sample and one null marking the gap');
  assert.ok(Number.isNaN(stored.values![0][600]), 'the gap: no value');
  assert.equal(stored.timestampsMs[600], T0 + 600 * 1000);
  // The columns are sized from the container's lifespan; one that says less than the scan finds
  // (or nothing usable) still gets every point, the columns doubling as they fill.
  for (const lifespanMs of [[T0, T0 + 5000], [NaN, NaN], [T0 + 2000 * 1000, T0]] as const) {
    const sized = queryHistory({ ...src, lifespanMs }, { sinceMs: T0, untilMs: now, metrics: [0] }, now);
    assert.deepEqual(sized, stored, `lifespan ${lifespanMs.join(' to ')}`);
  }
  const perMinute = queryHistory(src, { sinceMs: T0, untilMs: now - 1, stepMs: 60_000, metrics: [0, 2] }, now);
  assert.equal(perMinute.tier, '1m');
  assert.equal(perMinute.timestampsMs.length, 21);
  assert.deepEqual(Array.from(perMinute.values![0], Number.isNaN), [...Array(10).fill(false), ...Array(5).fill(true), ...Array(5).fill(false), true]);
  assert.ok(perMinute.aggregates!.max![0].some((v, i) => v > perMinute.values![0][i]), 'the four statistics differ in this series');
  // Asked for some statistics, a 1-minute answer decodes fewer columns: the ones it gives are the full answer's, bit for bit.
  for (const stats of [['mean'], ['max'], ['min', 'last'], ['last']] as const) {
    const some = queryHistory(src, { sinceMs: T0, untilMs: now - 1, stepMs: 60_000, metrics: [0, 2], stats }, now);
    assert.equal(some.tier, '1m');
    assert.deepEqual(some.values, stats.includes('mean' as never) ? perMinute.values : undefined, stats.join());
    for (const k of ['min', 'max', 'last'] as const) assert.deepEqual(some.aggregates![k], stats.includes(k as never) ? perMinute.aggregates![k] : undefined, `${stats.join()}: ${k}`);
  }
  // 30 s steps come from the samples.
  const half = queryHistory(src, { sinceMs: T0, untilMs: T0 + 59_000, stepMs: 30_000, metrics: [1] }, now);
  assert.equal(half.tier, 'raw');
  const first = a.h.rows(s, 0, T0, T0 + 29_999).rows.map((r) => r[1]);
  assert.equal(half.aggregates!.max![0][0], Math.max(...first));
  // A range older than the raw tier keeps is read from the 1-minute tier.
  assert.equal(queryHistory(src, { sinceMs: now - 2 * 86_400_000, untilMs: now, metrics: [0] }, now).tier, '1m');
  // Steps finer than the tier are its resolution; a grid too long is refused (raw kept a week here).
  assert.equal(queryHistory(src, { sinceMs: T0, untilMs: now, stepMs: 1, metrics: [0] }, now).stepMs, 1000);
  const week = { ...src, tiers: [{ ...src.tiers[0], retentionMs: 7 * 86_400_000 }] };
  assert.throws(() => queryHistory(week, { sinceMs: now - 7 * 86_400_000, untilMs: now, stepMs: 1000, metrics: [0] }, now), /holds 604801 steps of 1000 ms; at most 100000/);
  a.close();
  rmSync(dir, { recursive: true });
});

test('data directory: a newer format is refused with what to do; state files are whole or set aside', () => {
  const dir = tmp();
  writeFileSync(join(dir, 'FORMAT'), 'cstats-data 2\n');
  assert.throws(() => DataDir.open(dir, quietLog()), /holds format version 2, and this cstats reads version 1 \(it was written by a newer cstats\)/);
  writeFileSync(join(dir, 'FORMAT'), 'hello\n');
  assert.throws(() => DataDir.open(dir, quietLog()), /not a cstats data directory/);
  rmSync(join(dir, 'FORMAT'));
  const lines: string[] = [];
  const d = DataDir.open(dir, quietLog(lines));
  const lock = readFileSync(join(dir, 'LOCK'), 'utf8').split('\n');
  assert.equal(lock[0], String(process.pid));
  assert.equal(lock[1], `pidns ${readlinkSync('/proc/self/ns/pid')}`);
  d.writeState('alarms', { firing: ['cpu-high'], n: 2 });
  assert.deepEqual(d.readState('alarms'), { firing: ['cpu-high'], n: 2 });
  const f = join(dir, 'state', 'alarms.json');
  writeFileSync(f, readFileSync(f, 'utf8').replace('cpu-high', 'cpu-hig!'));
  assert.equal(d.readState('alarms'), undefined);
  assert.ok(statSync(`${f}.corrupt`).isFile());
  assert.ok(lines.some((l) => /damaged/.test(l)));
  assert.throws(() => d.writeState('../x', 1), /bad state file name/);
  assert.ok(statSync(d.subdir('export-otlp')).isDirectory());
  d.close();
  rmSync(dir, { recursive: true });
});

test('segments no longer written get an index: a start reads the index, and a damaged chunk is cut when read, the others kept', () => {
  const dir = tmp();
  const a = open(dir);
  // Two hours at 1 s: the first hour's raw segment is closed (and indexed) when the second starts.
  feed(a.h, 2, 0, 7300, 60);
  const before = raw(a.h, 1);
  a.close(T0 + 7300 * 1000);
  const segDir = join(dir, 'tier-raw');
  const names = readdirSync(segDir).sort();
  assert.deepEqual(
    names.map((n) => n.slice(-4)),
    ['.idx', '.seg', '.idx', '.seg'],
    names.join(' '),
  );
  // A byte flipped in the indexed segment is not seen at start (nothing reads it)...
  const seg = join(segDir, names[1]);
  const bytes = readFileSync(seg);
  const flipAt = Math.floor(bytes.length * 0.5);
  bytes[flipAt] ^= 0x40;
  writeFileSync(seg, bytes);
  const lines: string[] = [];
  const b = open(dir, lines);
  assert.deepEqual(b.h.health().repaired, []);
  // ...but when its chunk is read: that chunk is cut and logged, every other point comes back as it was.
  const got = raw(b.h, 0).timestampsMs.length + raw(b.h, 1).timestampsMs.length;
  const cut = b.h.health().repaired;
  assert.equal(cut.length, 1, JSON.stringify(cut));
  assert.equal(cut[0].file, seg);
  assert.match(cut[0].reason, /^checksum mismatch/);
  assert.ok(cut[0].atByte <= flipAt && flipAt < cut[0].atByte + cut[0].bytesCut, JSON.stringify(cut[0]));
  assert.equal(got, 2 * 7300 - 600, 'one chunk of 600 samples lost, of one of the two containers');
  assert.ok(lines.some((l) => l.includes(seg) && /checksum mismatch/.test(l)), lines.join('\n'));
  const after = raw(b.h, 1);
  const kept = new Set(after.timestampsMs);
  after.timestampsMs.forEach((ts, i) => assert.deepEqual(after.rows[i], before.rows[before.timestampsMs.indexOf(ts)]));
  assert.ok(before.timestampsMs.filter((ts) => !kept.has(ts)).length % 600 === 0);
  b.close(T0 + 7300 * 1000);
  // A damaged index is set aside: the segment is read whole (and cut where it is damaged), then indexed again.
  const idx = join(segDir, names[0]);
  writeFileSync(idx, 'garbage');
  const c = open(dir);
  assert.equal(c.h.health().repaired.length, 1);
  assert.ok(readFileSync(idx).subarray(0, 8).equals(Buffer.from('CSIDX01\n', 'latin1')));
  c.close(T0 + 7300 * 1000);
  rmSync(dir, { recursive: true });
});

test('the newest segment is indexed at every stop: the next start reads only what was appended after, and cuts a torn tail there', () => {
  const dir = tmp();
  const a = open(dir);
  feed(a.h, 2, 0, 1900);
  a.close(T0 + 1900 * 1000);
  const segDir = join(dir, 'tier-raw');
  const seg = join(segDir, readdirSync(segDir).find((f) => f.endsWith('.seg'))!);
  const indexed = readFileSync(seg.replace(/\.seg$/, '.idx')).readUInt32LE(8);
  assert.equal(indexed, statSync(seg).size);
  // Appended to after the start, then killed (no stop: the index names what the first stop left).
  const b = open(dir);
  feed(b.h, 2, 1900, 1300);
  const before = [raw(b.h, 0), raw(b.h, 1)];
  b.dataDir.close();
  const size = statSync(seg).size;
  assert.ok(size > indexed);
  truncateSync(seg, size - 5);
  // A byte flipped in the indexed part is not seen at start: only the tail is read.
  const bytes = readFileSync(seg);
  bytes[Math.floor(indexed / 2)] ^= 0x40;
  writeFileSync(seg, bytes);
  const c = open(dir);
  const cut = c.h.health().repaired;
  assert.equal(cut.length, 1, JSON.stringify(cut));
  assert.equal(cut[0].reason, 'torn record');
  assert.ok(cut[0].atByte >= indexed && cut[0].atByte < size, JSON.stringify(cut[0]));
  // The torn chunk's samples are gone (the head log no longer held them), and the flipped one's once
  // read; every other sample is as it was.
  const after = [raw(c.h, 0), raw(c.h, 1)];
  assert.equal(c.h.health().repaired.length, 2, 'the flipped chunk, found when read');
  let lost = 0;
  after.forEach((got, n) => {
    got.timestampsMs.forEach((ts, i) => assert.deepEqual(got.rows[i], before[n].rows[before[n].timestampsMs.indexOf(ts)]));
    lost += before[n].timestampsMs.length - got.timestampsMs.length;
  });
  assert.equal(lost, 2 * 600);
  c.close();
  rmSync(dir, { recursive: true });
});

test('a removed container leaves memory (its open chunks sealed), and its history is still read from disk', () => {
  const dir = tmp();
  const a = open(dir);
  feed(a.h, 3, 0, 900);
  const before = [raw(a.h, 0), raw(a.h, 1)];
  assert.equal(a.h.health().openSeries, 3);
  a.h.removed(info(1).id, T0 + 900 * 1000, { atMs: T0 + 900 * 1000, exitCode: 0, oomKilled: false });
  assert.equal(a.h.health().openSeries, 2);
  assert.deepEqual(raw(a.h, 1), before[1], 'from the sealed chunks waiting to be written');
  a.h.flush(T0 + 901 * 1000);
  assert.deepEqual(raw(a.h, 1), before[1], 'from the segment');
  // Its 1-minute points: the 15 minutes of its 900 samples, the last one closed at the removal.
  const s = a.h.seriesOfId(info(1).id)!;
  assert.equal(a.h.rows(s, 1, -Infinity, Infinity).timestampsMs.length, 15);
  a.close(T0 + 901 * 1000);
  const b = open(dir);
  assert.equal(b.h.health().openSeries, 2, 'only the containers live at the stop come back in memory');
  assert.deepEqual(raw(b.h, 1), before[1]);
  assert.deepEqual(raw(b.h, 0), before[0]);
  assert.equal(b.h.rows(s, 1, -Infinity, Infinity).timestampsMs.length, 15);
  // Containers not sampled for over an hour leave memory too.
  b.h.flush(T0 + 900 * 1000 + 3_700_000);
  assert.equal(b.h.health().openSeries, 0);
  assert.deepEqual(raw(b.h, 0), before[0]);
  b.close(T0 + 900 * 1000 + 3_700_000);
  rmSync(dir, { recursive: true });
});

test('the head log is rewritten once it is over twice its open heads (and 256 KiB), not left to grow; a start after rewrites has every sample', () => {
  const dir = tmp();
  const headDir = join(dir, 'head');
  const a = open(dir);
  // 100 containers for 3000 s: 5 times their raw chunks seal (600 rows), and what the log holds of them is dead.
  const seen: { file: string; size: number }[] = [];
  for (let k = 0; k < 3000; k += 10) {
    feed(a.h, 100, k, 10);
    const files = readdirSync(headDir);
    assert.equal(files.length, 1, `one head log at a time: ${files.join(' ')}`);
    seen.push({ file: files[0], size: statSync(join(headDir, files[0])).size });
  }
  let rewrites = 0;
  let written = seen[0].size;
  for (let i = 1; i < seen.length; i++) {
    if (seen[i].file === seen[i - 1].file) {
      written += seen[i].size - seen[i - 1].size;
      continue;
    }
    // A fresh log is the 8-byte magic and every open head whole: what the rule compares with.
    const live = seen[i].size - 8;
    assert.ok(seen[i - 1].size > Math.max(256 << 10, 2 * live), `rewritten at ${seen[i - 1].size} bytes with ${live} live`);
    written += seen[i].size;
    rewrites++;
  }
  assert.ok(rewrites >= 4, `${rewrites} rewrites`);
  // Appended to all along (as when it was rewritten only past 16 MiB), it would hold all it was written.
  const largest = Math.max(...seen.map((s) => s.size));
  assert.ok(largest < written / 4, `largest ${largest} of ${written} written`);
  const before = [0, 1, 98, 99].map((c) => raw(a.h, c));
  assert.equal(before[1].timestampsMs.length, 3000);
  // Killed (no close): the start replays the newest log alone.
  const b = open(dir);
  [0, 1, 98, 99].forEach((c, i) => assert.deepEqual(raw(b.h, c), before[i]));
  b.close();
  rmSync(dir, { recursive: true });
});

test('a data directory removed under the agent, or taken by another agent, is written no more: the flush fails and says why, the other lock stays', () => {
  const dir = tmp();
  const lines: string[] = [];
  const a = open(dir, lines);
  feed(a.h, 2, 0, 20);
  assert.equal(a.h.health().ok, true);
  rmSync(dir, { recursive: true });
  feed(a.h, 2, 20, 10);
  const h = a.h.health();
  assert.equal(h.ok, false);
  assert.match(h.error ?? '', /^ELOCKLOST: .*LOCK no longer names this agent/);
  assert.ok(lines.some((l) => /writing history failed \(ELOCKLOST/.test(l)), lines.join('\n'));
  assert.equal(existsSync(dir), false, 'nothing is made again');
  // Another agent makes it again and holds it: 700 more samples seal chunks, which stay in memory.
  mkdirSync(dir);
  writeFileSync(join(dir, 'LOCK'), '1\n');
  feed(a.h, 2, 30, 700);
  assert.equal(raw(a.h, 1).timestampsMs.length, 730, 'served from memory');
  a.close(T0 + 730 * 1000);
  assert.deepEqual(readdirSync(dir), ['LOCK']);
  assert.equal(readFileSync(join(dir, 'LOCK'), 'utf8'), '1\n', "the other agent's lock is left");
  rmSync(dir, { recursive: true });
});

test('a lock from another pid namespace (another container on the volume) holds while it is renewed, and is taken over once it is not', () => {
  const dir = tmp();
  const lock = join(dir, 'LOCK');
  // What an agent in another container writes: its pid there, its namespace, its host, its renewal.
  writeFileSync(lock, '1\npidns pid:[4026500001]\nhost agent-a\nrenew-ms 1000\n');
  assert.throws(() => DataDir.open(dir, quietLog()), /in use by a cstats agent in another pid namespace \(pid 1 there, host agent-a: another container\?\), which renewed .* 0\.\d s ago; .* taken over once not renewed for 3 s/);
  // Not renewed for 3 of its intervals: it stopped without a clean stop, and its lock is taken.
  const old = new Date(Date.now() - 3500);
  utimesSync(lock, old, old);
  const lines: string[] = [];
  const d = DataDir.open(dir, quietLog(lines), 2000);
  assert.ok(lines.some((l) => /taking over the lock of pid 1 in another pid namespace \(host agent-a\), not renewed for 4 s/.test(l)), lines.join('\n'));
  assert.match(readFileSync(lock, 'utf8'), new RegExp(`^${process.pid}\npidns .*\nhost .*\nrenew-ms 2000\n$`));
  // Renewing touches it; a lock the other agent took back is not renewed, and not released at close.
  utimesSync(lock, old, old);
  assert.equal(d.renewLock(), true);
  assert.ok(Date.now() - statSync(lock).mtimeMs < 1000);
  writeFileSync(lock, '1\npidns pid:[4026500001]\nhost agent-a\nrenew-ms 1000\n');
  assert.equal(d.renewLock(), false);
  d.close();
  assert.ok(existsSync(lock));
  rmSync(dir, { recursive: true });
});

test('killed in the middle of a head log rewrite (the new log torn, the old one not yet deleted): a start keeps every sample the old log held', () => {
  const dir = tmp();
  const headDir = join(dir, 'head');
  const a = open(dir);
  let old: { name: string; bytes: Buffer; samples: number } | undefined;
  let k = 0;
  for (; k < 3000; k += 10) {
    const [name] = readdirSync(headDir).length > 0 ? readdirSync(headDir) : [''];
    const before = name ? { name, bytes: readFileSync(join(headDir, name)), samples: k } : undefined;
    feed(a.h, 100, k, 10);
    const [now] = readdirSync(headDir);
    if (before && now !== before.name) {
      old = before;
      break;
    }
  }
  assert.ok(old, 'a rewrite happened');
  const fresh = join(headDir, readdirSync(headDir)[0]);
  const want = [0, 1, 98, 99].map((c) => raw(a.h, c));
  // The crash: the old log is still there, the new one was cut off half-way.
  writeFileSync(join(headDir, old.name), old.bytes);
  truncateSync(fresh, Math.floor(statSync(fresh).size / 2));
  const b = open(dir);
  assert.ok(b.h.health().repaired.some((r) => r.file === fresh), JSON.stringify(b.h.health().repaired));
  [0, 1, 98, 99].forEach((c, i) => {
    const got = raw(b.h, c);
    // What the old log held (every sample before the rewrite's flush), and what the new one's whole records add, in order.
    assert.ok(got.timestampsMs.length >= old!.samples, `container ${c}: ${got.timestampsMs.length} samples, ${old!.samples} before the rewrite`);
    assert.deepEqual(got.timestampsMs, want[i].timestampsMs.slice(0, got.timestampsMs.length));
    assert.deepEqual(got.rows, want[i].rows.slice(0, got.rows.length));
  });
  b.close();
  rmSync(dir, { recursive: true });
});

test('a head log rewrite that cannot be written leaves the old log, which takes the new bytes: nothing is lost, and the rewrite comes later', () => {
  const dir = tmp();
  const headDir = join(dir, 'head');
  const a = open(dir);
  feed(a.h, 100, 0, 10);
  assert.deepEqual(readdirSync(headDir), ['00000000.wal']);
  // Where every next rewrite would go, a directory: no fresh log can be opened (as a full disk would refuse one).
  const blockers = Array.from({ length: 400 }, (_, i) => join(headDir, `${String(i + 1).padStart(8, '0')}.wal`));
  for (const b of blockers) mkdirSync(b);
  feed(a.h, 100, 10, 1490);
  const log = join(headDir, '00000000.wal');
  // Rewritten, it would be at most about twice its open heads, and was rewritten at the seals (600, 1200).
  assert.ok(statSync(log).size > 1 << 20, `${statSync(log).size} bytes`);
  assert.equal(a.h.health().ok, true, JSON.stringify(a.h.health()));
  for (const b of blockers) rmSync(b, { recursive: true });
  feed(a.h, 100, 1500, 100);
  assert.equal(readdirSync(headDir).length, 1);
  assert.notEqual(readdirSync(headDir)[0], '00000000.wal', 'rewritten once it could be');
  const want = [0, 1, 98, 99].map((c) => raw(a.h, c));
  // Killed: a start has every sample.
  const b = open(dir);
  [0, 1, 98, 99].forEach((c, i) => assert.deepEqual(raw(b.h, c), want[i]));
  assert.equal(want[1].timestampsMs.length, 1600);
  b.close();
  rmSync(dir, { recursive: true });
});
