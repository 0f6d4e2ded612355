/**
 * The same container (-m 64m --cpus 0.5) read through real LXCFS (Debian 12, lxcfs 5.0.3) and
 * through cstats: the meminfo fields LXCFS virtualizes agree.
 *
 * Differences, by design (not seen in this v1 setup, where both give the same figures):
 * - SwapTotal/SwapFree with swap accounting but no memsw limit: LXCFS prints 0, cstats the
 *   host's swap (the container may use all of it). With no host swap here both print 0.
 * - cgroup v2: cstats fills Slab/SReclaimable/SUnreclaim from memory.stat (LXCFS prints 0) and
 *   builds /proc/stat and /proc/diskstats from cpu.stat and io.stat (LXCFS shows the host's).
 * - MemAvailable is LXCFS's definition (free + page cache, shmem included), capped at MemTotal.
 * The files are read one after the other (LXCFS, cstats, LXCFS again), so figures that move
 * with usage (MemFree, MemAvailable, Cached, the LRU lists) may differ by what the container did
 * in between: cstats' figure must lie within 512 kB of the span of the two LXCFS readings (a CI
 * run on a loaded host saw MemAvailable move by 520 kB between two reads).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { docker } from '../support.js';
import { ensureLxcfs, LXCFS_DIR } from './lxcfs.js';
import { exec, freshProcfs, LABEL, MOUNTPOINT, removeProcviewContainers, stopProcfs } from './support.js';

const C = 'cstats-procview-lxcfs';

before(async () => {
  removeProcviewContainers();
  await ensureLxcfs();
  await freshProcfs();
  docker('run', '-d', '--name', C, '--label', LABEL, '-m', '64m', '--cpus', '0.5',
    '-v', `${LXCFS_DIR}/proc/meminfo:/proc/meminfo:ro`, '-v', `${MOUNTPOINT}/proc/meminfo:/cstats/meminfo:ro`,
    'busybox:local', 'sleep', '3600');
});

after(async () => {
  removeProcviewContainers();
  await stopProcfs();
});

function fields(text: string): Map<string, number> {
  return new Map([...text.matchAll(/^([^:]+):\s+(\d+) kB$/gm)].map((m) => [m[1], Number(m[2])]));
}

const EXACT = ['MemTotal', 'Buffers', 'SwapCached', 'SwapTotal', 'SwapFree', 'Slab', 'SReclaimable', 'SUnreclaim', 'Shmem', 'ShmemHugePages', 'ShmemPmdMapped', 'AnonHugePages', 'Unevictable', 'Writeback'];
// The reading processes themselves fault pages in and out of the LRU lists between the reads
// (seen: Active(anon) 12 kB through LXCFS, 8 kB through cstats).
const MOVING = ['MemFree', 'MemAvailable', 'Cached', 'Active', 'Inactive', 'Active(anon)', 'Inactive(anon)', 'Active(file)', 'Inactive(file)', 'AnonPages', 'Mapped', 'Dirty'];

test('meminfo through LXCFS and through cstats agree on every field LXCFS virtualizes', () => {
  const [lx, cs, lxAfter] = exec(C, 'cat /proc/meminfo; echo ===; cat /cstats/meminfo; echo ===; cat /proc/meminfo').split('===\n').map(fields);
  assert.equal(cs.get('MemTotal'), 65536);
  const diff: string[] = [];
  for (const key of EXACT) if (lx.get(key) !== cs.get(key)) diff.push(`${key}: lxcfs ${lx.get(key)} cstats ${cs.get(key)}`);
  for (const key of MOVING) {
    const [a, b, c] = [lx.get(key), lxAfter.get(key), cs.get(key)];
    if (a === undefined || b === undefined || c === undefined || c < Math.min(a, b) - 512 || c > Math.max(a, b) + 512) diff.push(`${key}: lxcfs ${a} then ${b}, cstats ${c}`);
  }
  assert.deepEqual(diff, []);
  // Both files have the same lines in the same order (the host's layout).
  assert.deepEqual([...cs.keys()], [...lx.keys()]);
});
