/**
 * compressPiece read back with snappyjs (an independent Snappy implementation): random and
 * repetitive bytes, literals and copies of every length class, pieces placed one after another
 * under one header, and varying ranges rewritten in the elements after compression.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uncompress } from 'snappyjs';
import { blockHeader, compressPiece, type Piece } from '../../src/export/snappy.js';

function block(pieces: Piece[]): Uint8Array {
  const header = blockHeader(pieces.reduce((n, p) => n + p.rawLength, 0));
  return Buffer.concat([header, ...pieces.map((p) => p.elements)]);
}

/** Deterministic pseudo-random bytes. */
function noise(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

test('snappy: pieces decode (snappyjs) to their bytes, alone and one after another', () => {
  const cases = [
    new Uint8Array(0),
    text('abc'),
    text('abcdabcdabcdabcdabcdabcdxyz'),
    new Uint8Array(5000).fill(7), // one long run: copies of 64 bytes, overlapping their source
    noise(70_000, 1), // literals longer than 2^16 bytes
    noise(300, 2),
    text('container_cpu_usage_seconds_total{id="/docker/abc",name="web"} '.repeat(400) + 'end'),
  ];
  for (const src of cases) assert.deepEqual(uncompress(block([compressPiece(src)])), Buffer.from(src), `${src.length} bytes`);
  assert.deepEqual(uncompress(block(cases.map((c) => compressPiece(c)))), Buffer.concat(cases));
  const repetitive = compressPiece(cases[6]);
  assert.ok(repetitive.elements.length < cases[6].length / 10, `${repetitive.elements.length} bytes for ${cases[6].length}`);
});

test('snappy: varying ranges stay in literals; bytes written at varyAt decode in their place', () => {
  // A series-like record: the same text, then 15 bytes that change, many times over.
  const record = text('__name__\x12container_memory_usage_bytes host=node-7 id=/docker/0123456789abcdef ');
  const starts: number[] = [];
  const parts: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; i < 200; i++) {
    parts.push(record);
    at += record.length;
    starts.push(at);
    // Each varying range starts the same as the text that precedes the next: nothing may copy from or over it.
    parts.push(record.subarray(0, 15));
    at += 15;
  }
  const raw = Buffer.concat(parts);
  const piece = compressPiece(raw, starts, 15);
  assert.equal(piece.varyAt.length, starts.length);
  assert.ok(piece.elements.length < raw.length / 3, `${piece.elements.length} bytes for ${raw.length}`);
  const changed = Buffer.from(raw);
  const elements = Buffer.from(piece.elements);
  starts.forEach((s, i) => {
    const fresh = noise(15, i + 10);
    changed.set(fresh, s);
    elements.set(fresh, piece.varyAt[i]);
  });
  const other = compressPiece(noise(100, 3));
  assert.deepEqual(uncompress(block([other, { ...piece, elements }])), Buffer.concat([noise(100, 3), changed]));
});
