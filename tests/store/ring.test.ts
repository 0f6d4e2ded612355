import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeriesRing } from '../../src/store/ring.js';
import { BitReader, BitWriter } from '../../src/store/bits.js';

/** Deterministic pseudo-random numbers (xorshift32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function readAll(r: SeriesRing): { timestampsMs: number[]; values: number[][] } {
  return r.read(-Infinity, r.metrics.map((_, i) => i));
}

test('bit streams: pieces of 0 to 32 bits come back as written, across byte borders', () => {
  const w = new BitWriter(1);
  const rand = rng(7);
  const pieces: [number, number][] = [];
  for (let i = 0; i < 2000; i++) {
    const bits = Math.floor(rand() * 33);
    const value = bits === 0 ? 0 : Math.floor(rand() * 2 ** bits);
    pieces.push([value, bits]);
    w.write(value, bits);
  }
  const r = new BitReader(w.finish());
  for (const [value, bits] of pieces) assert.equal(r.read(bits), value);
  assert.throws(() => r.read(32), /bit stream ends/);
});

test('ring keeps the newest `capacity` points, oldest first', () => {
  const r = new SeriesRing(3, ['a', 'b']);
  for (let i = 1; i <= 5; i++) r.push(i * 1000, [i, -i]);
  assert.equal(r.length, 3);
  assert.deepEqual(r.read(0, [0, 1]), { timestampsMs: [3000, 4000, 5000], values: [[3, 4, 5], [-3, -4, -5]] });
  assert.deepEqual(r.read(4500, [1]), { timestampsMs: [5000], values: [[-5]] });
});

test('every float64 comes back bit for bit: NaN, infinities, -0, subnormals, integers past 2^53', () => {
  const specials = [NaN, Infinity, -Infinity, -0, 0, 5e-324, -5e-324, 2 ** 53 + 2, 18446744073709551615, Number.MAX_VALUE, 1e-300, 0.1, 49.57];
  const rand = rng(42);
  const rows: number[][] = [];
  for (let i = 0; i < 1000; i++) {
    rows.push([
      specials[i % specials.length],
      rand() * 100, // a CPU percentage: every bit changes
      Math.floor(rand() * 2 ** 40), // a byte count
      i % 50 === 0 ? rand() : rows[i - 1]?.[3] ?? 0, // mostly flat, sometimes a jump
      (rand() - 0.5) * 2 ** (Math.floor(rand() * 2000) - 1000), // any exponent
    ]);
  }
  const r = new SeriesRing(1000, ['a', 'b', 'c', 'd', 'e']);
  rows.forEach((row, i) => r.push(1_700_000_000_000 + i * 1000, row));
  const back = readAll(r);
  assert.equal(back.timestampsMs.length, 1000);
  for (let col = 0; col < 5; col++) {
    for (let i = 0; i < rows.length; i++) assert.ok(Object.is(back.values[col][i], rows[i][col]), `column ${col} point ${i}: ${back.values[col][i]} != ${rows[i][col]}`);
  }
});

test('timestamps: on schedule, jittered, stepped back by the clock, fractional, far apart', () => {
  const rand = rng(3);
  const times: number[] = [];
  let t = 1_763_000_000_123;
  for (let i = 0; i < 700; i++) {
    if (i === 200) t -= 3_600_000; // an NTP step back
    else if (i === 300) t += 86_400_000 * 400; // a year later
    else if (i === 400) t += 0.25;
    else t += 1000 + Math.round((rand() - 0.5) * (i < 500 ? 20 : 9000));
    times.push(t);
  }
  const r = new SeriesRing(10_000, ['v']);
  for (const ts of times) r.push(ts, [1]);
  assert.deepEqual(readAll(r).timestampsMs, times);
});

test('old chunks drop off: capacity holds across chunk borders and `since` filters', () => {
  const r = new SeriesRing(250, ['v']);
  for (let i = 0; i < 1000; i++) r.push(i * 1000, [i]);
  const all = readAll(r);
  assert.equal(r.length, 250);
  assert.equal(all.timestampsMs.length, 250);
  assert.equal(all.timestampsMs[0], 750_000);
  assert.deepEqual(all.values[0].slice(-2), [998, 999]);
  const recent = r.read(990_000, [0]);
  assert.deepEqual(recent.values[0], [990, 991, 992, 993, 994, 995, 996, 997, 998, 999]);
});

test('an idle container costs about 2 bytes a sample; a busy one at most 9 bytes a metric', () => {
  const metrics = Array.from({ length: 10 }, (_, i) => `m${i}`);
  const idle = new SeriesRing(900, metrics);
  const busy = new SeriesRing(900, metrics);
  const rand = rng(11);
  for (let i = 0; i < 900; i++) {
    idle.push(1_763_000_000_000 + i * 1000, [0, 0, 1_003_520, 1_003_520, 67_108_864, 0, 0, 0, 0, 1]);
    busy.push(1_763_000_000_000 + i * 1000 + Math.round(rand() * 10), metrics.map(() => rand() * 1e9));
  }
  assert.ok(idle.bytes < 900 * 2.5, `idle: ${idle.bytes} bytes`);
  assert.ok(busy.bytes < 900 * (10 * 9 + 4), `busy: ${busy.bytes} bytes`);
  assert.equal(readAll(busy).values[9].length, 900);
});

test('a parked chunk writer resumes exactly: the same bytes as one never parked, and views between rows read the same', async () => {
  const { ChunkWriter, decodeChunk } = await import('../../src/store/chunk.js');
  const plain = new ChunkWriter(3);
  const parked = new ChunkWriter(3);
  assert.equal(parked.view().byteLength, 0);
  let v = 1.5;
  for (let k = 0; k < 50; k++) {
    // Values that use every encoding: repeats, small moves, NaN, a new window.
    const row = [k % 7 === 0 ? NaN : v, 1e15 + k, k % 3 === 0 ? -0 : 2 ** 60 + k * 1024];
    v = v * 1.0001 + (k % 5);
    plain.push(60_000 * k + (k % 4), row);
    parked.push(60_000 * k + (k % 4), row);
    parked.park();
    assert.deepEqual(parked.view(), plain.view());
    assert.equal(parked.bitLength, plain.bitLength);
    // A parked writer holds its bytes exactly, no spare room.
    assert.equal(parked.capacityBytes, parked.view().byteLength);
  }
  assert.deepEqual(parked.finish(), plain.finish());
  const ts: number[] = [];
  decodeChunk(parked.view(), parked.count, 3, (t) => ts.push(t));
  assert.deepEqual(ts, Array.from({ length: 50 }, (_, k) => 60_000 * k + (k % 4)));
});
