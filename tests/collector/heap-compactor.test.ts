/**
 * The heap compactor in a node process of its own (the real V8 of this node, with and without
 * --expose-gc): a heap fragmented on purpose keeps its old space committed after plain full
 * collections, and gives it back to the kernel after one compaction.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MODULE = fileURLToPath(new URL('../../src/collector/heap-compactor.js', import.meta.url));

/** Runs `body` as an ES module in a fresh node with `flags`; returns the JSON it prints last. */
function inNode(flags: string[], body: string): Record<string, number | boolean> {
  const script = `import { readFileSync } from 'node:fs';\nimport { getHeapSpaceStatistics } from 'node:v8';\nimport { HeapCompactor, compactHeap } from ${JSON.stringify(MODULE)};\n${body}`;
  const r = spawnSync(process.execPath, [...flags, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number | boolean>;
}

// 1.5 million small objects, then nine in ten dropped at random places: every page of the old
// space keeps a few live objects, so a full collection without compaction frees no page.
const FRAGMENT = `
let keep = [];
for (let i = 0; i < 1_500_000; i++) keep.push({ a: i, b: [i, i + 1] });
keep = keep.filter((_, i) => i % 10 === 0);
globalThis.gc(); globalThis.gc();
const rss = () => Number(/^VmRSS:\\s+(\\d+) kB$/m.exec(readFileSync('/proc/self/status', 'latin1'))[1]) * 1024;
const settle = () => new Promise((r) => setTimeout(r, 1500)); // V8 unmaps freed pages on a background thread
const oldSpace = () => {
  const s = getHeapSpaceStatistics().find((x) => x.space_name === 'old_space');
  return { committedBytes: s.space_size, usedBytes: s.space_used_size };
};
`;

test('one compaction gives back the old space that full collections keep', () => {
  const r = inNode(['--expose-gc'], `${FRAGMENT}
const before = oldSpace(); await settle(); const rssBefore = rss();
const pauseNs = compactHeap();
const after = oldSpace(); await settle(); const rssAfter = rss();
console.log(JSON.stringify({ wasteBefore: before.committedBytes - before.usedBytes, wasteAfter: after.committedBytes - after.usedBytes, live: after.usedBytes, rssBefore, rssAfter, pauseMs: Number(pauseNs) / 1e6, kept: keep.length }));
`);
  const MB = 2 ** 20;
  // The control: two plain full collections left most of the dropped objects' pages committed.
  assert.ok((r.wasteBefore as number) > 50 * MB, `old space unused but committed before: ${(r.wasteBefore as number) / MB} MB`);
  assert.ok((r.wasteAfter as number) < 4 * MB, `after: ${(r.wasteAfter as number) / MB} MB unused but committed, ${(r.live as number) / MB} MB live`);
  assert.ok((r.rssBefore as number) - (r.rssAfter as number) > 50 * MB, `RSS ${(r.rssBefore as number) / MB} -> ${(r.rssAfter as number) / MB} MB`);
  assert.ok((r.pauseMs as number) > 0);
  assert.equal(r.kept, 150_000);
});

test('the compactor runs once when due, after the tick, and only with gc exposed', () => {
  const body = `
const c = new HeapCompactor(60_000, 1_000);
c.afterTick(60_999);
const early = c.done.count;
c.afterTick(61_000);
c.afterTick(61_000); // asked twice before it ran: still one
const sameTick = c.done.count;
await new Promise((r) => setImmediate(r));
await new Promise((r) => setImmediate(r));
console.log(JSON.stringify({ enabled: c.enabled, off: new HeapCompactor(0, 0).enabled, early, sameTick, count: c.done.count, paused: c.done.pauseNs > 0n }));
`;
  assert.deepEqual(inNode(['--expose-gc'], body), { enabled: true, off: false, early: 0, sameTick: 0, count: 1, paused: true });
  assert.deepEqual(inNode([], body), { enabled: false, off: false, early: 0, sameTick: 0, count: 0, paused: false });
});
