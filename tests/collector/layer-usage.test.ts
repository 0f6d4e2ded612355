/**
 * The layer walker against du on real trees (ext4 here): a tree made for the test, and a real
 * Docker container's overlay2 writable layer growing by a dd of 8 MiB. The Docker part needs
 * root, dockerd and busybox:local (scripts/testbed.sh).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { LayerUsageTracker, WalkTimeout, treeUsage } from '../../src/collector/layer-usage.js';
import type { ContainerInfo } from '../../src/model.js';
import { docker, run, waitFor } from '../integration/support.js';

const MiB = 1024 * 1024;

/** `du -s -x -B1 DIR` in bytes. */
function du(...dirs: string[]): bigint {
  const out = execFileSync('du', ['-s', '-x', '-B1', '-c', ...dirs], { encoding: 'utf8' }).trim().split('\n').at(-1)!;
  return BigInt(out.split('\t')[0]);
}

/** `du -s -x --inodes DIR`: inodes, hard links once. */
function duInodes(dir: string): bigint {
  return BigInt(execFileSync('du', ['-s', '-x', '--inodes', dir], { encoding: 'utf8' }).split('\t')[0]);
}

function info(id: string, rootfsPath: string, containerDir?: string): ContainerInfo {
  return { id, name: id, runtime: 'docker', image: '', labels: {}, state: 'running', cgroup: { version: 2, path: '', dir: '' }, network: { kind: 'unknown' }, createdMs: 0, mounts: [], rootfsPath, containerDir };
}

describe('treeUsage', () => {
  // On the disk (not a tmpfs), beside the test build: allocation as on a real layer.
  const root = mkdtempSync('dist/layer-usage-');
  after(() => rmSync(root, { recursive: true, force: true }));

  it('counts what du counts: blocks of every inode, the root included, hard links once, symlinks not followed', async () => {
    const t = `${root}/tree`;
    mkdirSync(`${t}/a/b/c`, { recursive: true });
    writeFileSync(`${t}/one-byte`, 'x');
    writeFileSync(`${t}/a/1mib`, Buffer.alloc(MiB, 1));
    writeFileSync(`${t}/a/b/c/5000`, Buffer.alloc(5000, 2));
    writeFileSync(`${t}/a/empty`, '');
    linkSync(`${t}/a/1mib`, `${t}/a/b/hardlink-to-1mib`);
    // A link to a big file outside the tree: the link's own inode only.
    writeFileSync(`${root}/outside`, Buffer.alloc(4 * MiB, 3));
    symlinkSync(`${root}/outside`, `${t}/a/link-outside`);
    symlinkSync('/', `${t}/link-to-root`);
    const u = await treeUsage(t, Date.now() + 10_000);
    assert.ok(u);
    assert.equal(u.bytes, du(t));
    assert.equal(u.inodes, duInodes(t));
    // 4 directories, 4 distinct files, 2 symlinks.
    assert.equal(u.inodes, 10n);
    assert.ok(u.bytes >= BigInt(MiB) + 8192n && u.bytes < 2n * BigInt(MiB), `${u.bytes}`);
  });

  it('grows by exactly the blocks a new file takes', async () => {
    const t = `${root}/grow`;
    mkdirSync(t);
    const before = (await treeUsage(t, Date.now() + 10_000))!.bytes;
    writeFileSync(`${t}/8mib`, Buffer.alloc(8 * MiB, 7));
    const grown = (await treeUsage(t, Date.now() + 10_000))!.bytes;
    assert.equal(grown - before, 8n * BigInt(MiB));
    assert.equal(grown, du(t));
  });

  it('walks a big tree (/usr/lib) as du counts it without holding the event loop', async () => {
    let last = performance.now();
    let longestGapMs = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      longestGapMs = Math.max(longestGapMs, now - last);
      last = now;
    }, 1);
    const t0 = performance.now();
    const u = await treeUsage('/usr/lib', Date.now() + 120_000);
    const ms = performance.now() - t0;
    clearInterval(timer);
    console.log(`/usr/lib: ${u!.inodes} inodes, ${u!.bytes} B in ${ms.toFixed(0)} ms; longest event-loop gap ${longestGapMs.toFixed(1)} ms`);
    assert.equal(u!.bytes, du('/usr/lib'));
    assert.equal(u!.inodes, duInodes('/usr/lib'));
    // Slices of 2 ms: a gap beyond 100 ms would be the walk holding the loop, not the scheduler.
    assert.ok(longestGapMs < 100, `${longestGapMs} ms`);
  });

  it('is undefined for a tree that is gone; a walk past its deadline throws WalkTimeout', async () => {
    assert.equal(await treeUsage(`${root}/no-such-dir`, Date.now() + 1000), undefined);
    await assert.rejects(treeUsage(root, Date.now() - 1), WalkTimeout);
  });

  it('measures a single file or an empty directory', async () => {
    writeFileSync(`${root}/single`, Buffer.alloc(10_000));
    assert.deepEqual(await treeUsage(`${root}/single`, Date.now() + 1000), { bytes: du(`${root}/single`), inodes: 1n });
    mkdirSync(`${root}/empty`);
    assert.deepEqual(await treeUsage(`${root}/empty`, Date.now() + 1000), { bytes: du(`${root}/empty`), inodes: 1n });
  });
});

describe('LayerUsageTracker', () => {
  const root = mkdtempSync('dist/layer-tracker-');
  after(() => rmSync(root, { recursive: true, force: true }));

  it('answers at once, measures in the background, and walks again only after its period', async () => {
    const layer = `${root}/layer`;
    const extra = `${root}/extra`;
    mkdirSync(layer);
    mkdirSync(extra);
    writeFileSync(`${extra}/log`, Buffer.alloc(100_000));
    const tracker = new LayerUsageTracker(() => {}, { periodMs: 300, timeoutMs: 5000 });
    const c = info('c1', layer, extra);
    assert.equal(tracker.usage(c), undefined);
    const first = await waitFor('the first walk', () => tracker.usage(c));
    assert.equal(first.baseBytes, du(layer));
    assert.equal(first.totalBytes, du(layer, extra));
    assert.equal(first.inodes, 1n);
    writeFileSync(`${layer}/f`, Buffer.alloc(MiB));
    // Within the period the old result stands.
    assert.equal(tracker.usage(c), first);
    const second = await waitFor('a walk after the period', () => {
      const u = tracker.usage(c);
      return u !== first ? u : undefined;
    }, 5000, 20);
    assert.ok(second.measuredMs - first.measuredMs >= 300, `${second.measuredMs - first.measuredMs} ms apart`);
    assert.equal(second.baseBytes - first.baseBytes, BigInt(MiB));
    tracker.stop();
  });

  it('without Docker\'s directory the total is the layer; a container without a layer has none', async () => {
    mkdirSync(`${root}/only`);
    const tracker = new LayerUsageTracker(() => {}, { periodMs: 60_000, timeoutMs: 5000 });
    const u = await waitFor('a walk', () => tracker.usage(info('c2', `${root}/only`, `${root}/missing`)));
    assert.equal(u.totalBytes, u.baseBytes);
    assert.equal(tracker.usage({ ...info('c3', ''), rootfsPath: undefined }), undefined);
    tracker.stop();
  });

  it('reports a walk past its time limit and backs off; a layer that is gone is no error; forgets a container that left', async () => {
    const warnings: string[] = [];
    const slow = new LayerUsageTracker((key, msg) => warnings.push(`${key} ${msg}`), { periodMs: 500, timeoutMs: -1 });
    mkdirSync(`${root}/big`);
    writeFileSync(`${root}/big/f`, 'x');
    const big = info('big', `${root}/big`);
    slow.usage(big);
    await waitFor('a warning', () => warnings.length === 1 || undefined);
    assert.match(warnings[0], /^layer-usage:big disk usage of container big: walking .*\/big ran past its time limit; next try in 2 periods$/);
    // The backoff (2 × 500 ms) holds the next walk back past one period.
    await new Promise((r) => setTimeout(r, 600));
    slow.usage(big);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(warnings.length, 1);
    assert.equal(slow.usage(big), undefined);
    slow.stop();

    const tracker = new LayerUsageTracker((key, msg) => warnings.push(`${key} ${msg}`), { periodMs: 200, timeoutMs: 5000 });
    const gone = info('gone', `${root}/never-existed`);
    tracker.usage(gone);
    mkdirSync(`${root}/back`);
    const c = info('back', `${root}/back`);
    // Walks run one at a time in order: once this one is measured, the gone one was walked.
    await waitFor('a result', () => tracker.usage(c));
    assert.equal(tracker.usage(gone), undefined);
    assert.equal(warnings.length, 1, 'no warning for a layer that is gone');
    tracker.forget('back');
    assert.equal(tracker.usage(c), undefined, 'a forgotten container starts afresh');
    tracker.stop();
  });
});

describe('LayerUsageTracker on a Docker container\'s overlay2 layer', () => {
  // Its own container only: unit tests run beside integration tests whose containers share the label.
  after(() => docker('rm', '-f', 'cstats-layer-t'));

  it('sees a dd of 8 MiB into the container, within one 4 KiB block, and agrees with du', async () => {
    const id = run('cstats-layer-t', [], ['sleep', '100000']);
    const upper = docker('inspect', '-f', '{{.GraphDriver.Data.UpperDir}}', id);
    const containerDir = `${docker('info', '-f', '{{.DockerRootDir}}')}/containers/${id}`;
    const tracker = new LayerUsageTracker(() => {}, { periodMs: 200, timeoutMs: 10_000 });
    const c = info(id, upper, containerDir);
    const before = await waitFor('the first walk', () => tracker.usage(c));
    assert.equal(before.baseBytes, du(upper));
    assert.equal(before.totalBytes, du(upper, containerDir));
    docker('exec', id, 'dd', 'if=/dev/zero', 'of=/written.bin', 'bs=1M', 'count=8', 'conv=fsync');
    const after = await waitFor('a walk that sees the file', () => {
      const u = tracker.usage(c);
      return u && u.baseBytes > before.baseBytes + 4n * BigInt(MiB) ? u : undefined;
    }, 10_000, 50);
    const grown = after.baseBytes - before.baseBytes;
    console.log(`layer grew by ${grown} B for 8388608 B written; du -s -B1 ${du(upper)} B, walker ${after.baseBytes} B, ${after.inodes} inodes`);
    assert.ok(grown >= 8n * BigInt(MiB) && grown <= 8n * BigInt(MiB) + 4096n, `${grown}`);
    assert.equal(after.baseBytes, du(upper));
    assert.equal(after.inodes, duInodes(upper));
    tracker.stop();
  });
});
