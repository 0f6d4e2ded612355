/**
 * The export queue: payloads come back oldest first and whole after a close and reopen, after a
 * kill -9 of the process that wrote them, and after a torn tail (cut, logged); acked ones do not
 * come back; past the cap the oldest are dropped and their samples counted.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/log.js';
import { PayloadQueue } from '../../src/export/queue.js';

function logger(lines: string[] = []) {
  return createLogger((l) => lines.push(l));
}

const payload = (i: number, size = 100): Uint8Array => Buffer.alloc(size, i % 256).fill(`#${i}#`, 0, Math.min(size, String(i).length + 2));

function drain(q: PayloadQueue): Buffer[] {
  const out: Buffer[] = [];
  for (let b = q.peek(7); b; b = q.peek(7)) {
    out.push(...b.payloads.map((p) => Buffer.from(p)));
    q.ack(b.lastSeq);
  }
  return out;
}

/** A directory removed when the test ends. */
function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cstats-queue-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('queue: reopened, it holds what was not acked, oldest first, byte for byte', (t) => {
  const dir = tempDir(t);
  const q = new PayloadQueue({ dir, maxBytes: 1 << 20, segmentBytes: 1000, log: logger(), name: 't' });
  for (let i = 0; i < 50; i++) q.push(payload(i), i, 1000 + i);
  const first = q.peek(10)!;
  assert.equal(first.samples, 45);
  q.ack(first.lastSeq);
  assert.ok(readdirSync(dir).filter((f) => f.endsWith('.seg')).length > 3, 'several segments');
  q.close();
  const again = new PayloadQueue({ dir, maxBytes: 1 << 20, segmentBytes: 1000, log: logger(), name: 't' });
  assert.equal(again.length, 40);
  assert.equal(again.oldestMs, 1010);
  assert.equal(again.bytes, 40 * 120);
  const back = drain(again);
  assert.deepEqual(back, Array.from({ length: 40 }, (_, i) => Buffer.from(payload(i + 10))));
  // New payloads after a reopen go on after the old ones; fully acked segments are gone.
  again.push(payload(99), 1, 2000);
  assert.deepEqual(drain(again), [Buffer.from(payload(99))]);
  again.close();
  assert.equal(readdirSync(dir).filter((f) => f.endsWith('.seg')).length, 1);
  assert.equal(new PayloadQueue({ dir, maxBytes: 1 << 20, log: logger(), name: 't' }).length, 0);
});

test('queue: a process killed with SIGKILL loses nothing it queued', async (t) => {
  const dir = tempDir(t);
  // A child that queues 200 payloads, acks the first 20, says so and waits to be killed.
  const script = `
    import { PayloadQueue } from ${JSON.stringify(new URL('../../src/export/queue.js', import.meta.url).href)};
    import { createLogger } from ${JSON.stringify(new URL('../../src/log.js', import.meta.url).href)};
    const q = new PayloadQueue({ dir: ${JSON.stringify(dir)}, maxBytes: 1 << 20, segmentBytes: 4096, log: createLogger(() => {}), name: 'k' });
    for (let i = 0; i < 200; i++) q.push(Buffer.alloc(50, i), 2, i);
    q.ack(q.peek(20).lastSeq);
    process.stdout.write('queued\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout!.on('data', (c: Buffer) => c.toString().includes('queued') && resolve()));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const q = new PayloadQueue({ dir, maxBytes: 1 << 20, log: logger(), name: 'k' });
  assert.equal(q.length, 180);
  assert.deepEqual(drain(q), Array.from({ length: 180 }, (_, i) => Buffer.alloc(50, i + 20)));
  q.close();
});

test('queue: a torn tail (half a record, or a damaged one) is cut at the last whole record and logged', (t) => {
  const dir = tempDir(t);
  const q = new PayloadQueue({ dir, maxBytes: 1 << 20, log: logger(), name: 't' });
  for (let i = 0; i < 10; i++) q.push(payload(i), 1, i);
  q.close();
  const seg = join(dir, readdirSync(dir).find((f) => f.endsWith('.seg'))!);
  // Half of a record's header at the end: what a machine crash mid-append can leave.
  appendFileSync(seg, Buffer.from([200, 0, 0, 0, 1, 2]));
  const lines: string[] = [];
  const q2 = new PayloadQueue({ dir, maxBytes: 1 << 20, log: logger(lines), name: 't' });
  assert.equal(q2.length, 10);
  assert.match(lines.join('\n'), /torn or damaged record at byte 1200 .* cut there, 6 bytes dropped/);
  assert.equal(statSync(seg).size, 1200);
  // Appends go on after the cut; then a flipped byte in the last record's payload.
  q2.push(payload(10), 1, 10);
  q2.close();
  const bytes = readFileSync(seg);
  bytes[bytes.length - 3] ^= 0xff;
  writeFileSync(seg, bytes);
  const lines3: string[] = [];
  const q3 = new PayloadQueue({ dir, maxBytes: 1 << 20, log: logger(lines3), name: 't' });
  assert.equal(q3.length, 10);
  assert.match(lines3.join('\n'), /torn or damaged record at byte 1200/);
  assert.deepEqual(drain(q3), Array.from({ length: 10 }, (_, i) => Buffer.from(payload(i))));
  q3.close();
  // A record cut inside its payload.
  const q4 = new PayloadQueue({ dir, maxBytes: 1 << 20, log: logger(), name: 't' });
  q4.push(payload(1), 1, 1);
  q4.push(payload(2), 1, 2);
  q4.close();
  const seg4 = join(dir, readdirSync(dir).filter((f) => f.endsWith('.seg')).sort().at(-1)!);
  truncateSync(seg4, statSync(seg4).size - 30);
  const q5 = new PayloadQueue({ dir, maxBytes: 1 << 20, log: logger(), name: 't' });
  assert.deepEqual(drain(q5), [Buffer.from(payload(1))]);
  q5.close();
});

test('queue: past the cap the oldest payloads are dropped and their samples counted, on disk and in memory', (t) => {
  const dir = tempDir(t);
  for (const d of [dir, undefined]) {
    const lines: string[] = [];
    // 120 bytes a record: 10 fit in 1200.
    const q = new PayloadQueue({ dir: d, maxBytes: 1200, segmentBytes: 500, log: logger(lines), name: 'cap' });
    for (let i = 0; i < 25; i++) q.push(payload(i), 3, i);
    assert.equal(q.length, 10);
    assert.equal(q.bytes, 1200);
    assert.equal(q.droppedSamples, 15 * 3);
    assert.equal(q.droppedPayloads, 15);
    assert.equal(q.oldestMs, 15);
    assert.match(lines.join('\n'), /queue reached its cap of 1200 bytes/);
    // A payload larger than the whole cap cannot be kept: dropped at once (with all others), counted.
    q.push(payload(99, 5000), 7, 99);
    assert.equal(q.length, 0);
    assert.equal(q.droppedSamples, 15 * 3 + 10 * 3 + 7);
    q.push(payload(100), 1, 100);
    q.close();
    if (d !== undefined) {
      const again = new PayloadQueue({ dir: d, maxBytes: 1200, log: logger(), name: 'cap' });
      assert.deepEqual(drain(again), [Buffer.from(payload(100))]);
      again.close();
    }
  }
});

test('queue: once the data directory is another agent\'s, it goes on in memory and neither writes nor deletes a file there', (t) => {
  const dir = tempDir(t);
  const lines: string[] = [];
  let lost = false;
  const lockCheck = (): void => {
    if (lost) throw Object.assign(new Error('LOCK no longer names this agent'), { code: 'ELOCKLOST' });
  };
  const q = new PayloadQueue({ dir, lockCheck, maxBytes: 1 << 20, segmentBytes: 1000, log: logger(lines), name: 't' });
  for (let i = 0; i < 20; i++) q.push(payload(i), 1, 1000 + i);
  q.ack(q.peek(3)!.lastSeq);
  const files = () => Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f)).toString('hex')]));
  const onDisk = files();
  assert.ok(Object.keys(onDisk).length >= 3, 'segments and the ack file');
  lost = true;
  for (let i = 20; i < 40; i++) q.push(payload(i), 1, 1000 + i);
  // Acking every record written before would delete their segments and rewrite the ack file.
  const back = drain(q);
  assert.deepEqual(back, Array.from({ length: 37 }, (_, i) => Buffer.from(payload(i + 3))), 'every payload, in order');
  assert.deepEqual(files(), onDisk, 'the directory as it was');
  assert.equal(lines.filter((l) => /t: LOCK no longer names this agent; the queue goes on in memory/.test(l)).length, 1, lines.join('\n'));
});
