/**
 * CgroupReads: a read whose parse results all came out the same as at the previous read hands
 * out what was built then, the same objects; any difference rebuilds what it touches, and only
 * that. On copies of the fixture trees, read through real kept files as the collector reads them.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { KeptFiles } from '../../src/kernel/kept-file.js';
import type { StatContext } from '../../src/kernel/cgroup/read-file.js';
import type { CgroupStats } from '../../src/kernel/types.js';
import { statCgroupV1, V1_READERS } from '../../src/kernel/cgroup/v1/index.js';
import { statCgroupV2, V2_READERS } from '../../src/kernel/cgroup/v2/index.js';
import type { V1Dirs } from '../../src/kernel/cgroup/v1/dirs.js';
import { CgroupReads } from '../../src/collector/cgroup-reads.js';
import { sameStats } from '../../src/collector/same-stats.js';

const tmp = mkdtempSync(`${tmpdir()}/cstats-read-parts-`);
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The collector's reads of a cgroup, and plain kept files that build anew at every read. */
function contexts(version: 1 | 2): { reads: CgroupReads; plain: StatContext; errors: unknown[] } {
  const errors: unknown[] = [];
  const onError = (err: unknown): void => void errors.push(err);
  return { reads: new CgroupReads(version, { noNewOomKills: false }, onError), plain: { reader: new KeptFiles(), onError }, errors };
}

describe('unchanged parts on cgroup v1', () => {
  const root = `${tmp}/v1`;
  cpSync('tests/fixtures/kernel/cgroup1-6.18', root, { recursive: true });
  const dirs: V1Dirs = { cpu: `${root}/cpu/kt`, cpuacct: `${root}/cpuacct/kt`, memory: `${root}/memory/kt`, blkio: `${root}/blkio/kt`, pids: `${root}/pids/kt` };
  const { reads, plain, errors } = contexts(1);
  const read = (): CgroupStats => reads.read(V1_READERS, dirs);
  const fresh = (): CgroupStats => statCgroupV1(plain, dirs);

  it('the same content gives the same objects, equal to a read that builds anew', () => {
    const first = read();
    const second = read();
    assert.equal(second, first);
    assert.ok(sameStats(second, fresh()));
    assert.ok(first.cpu && first.memory && first.blkio && first.pids, 'every controller read');
    assert.deepEqual(errors, []);
  });

  it('a changed file rebuilds its controller and the whole; the others stay the same objects', () => {
    const before = read();
    writeFileSync(`${dirs.memory}/memory.usage_in_bytes`, '18446744073709551615\n');
    const after = read();
    assert.notEqual(after, before);
    assert.notEqual(after.memory, before.memory);
    assert.equal(after.memory?.usageBytes, 2n ** 64n - 1n);
    assert.equal(after.cpu, before.cpu);
    assert.equal(after.blkio, before.blkio);
    assert.equal(after.pids, before.pids);
    assert.ok(sameStats(after, fresh()));
    // And then it stands still again.
    assert.equal(read(), after);
  });

  // Kept descriptors of regular files outlive an unlink (a cgroup file answers ENODEV instead):
  // malformed content stands in for a file that gives nothing.
  it('a file that stops giving a value, and gives it again, is a change both times', () => {
    const before = read();
    const stat = `${dirs.memory}/memory.stat`;
    const content = readFileSync(stat, 'latin1');
    writeFileSync(stat, 'total_rss not-a-number\n');
    const without = read();
    assert.notEqual(without.memory, before.memory);
    assert.equal(Object.hasOwn(without.memory!, 'stat'), false, 'absent, not undefined');
    assert.equal(without.cpu, before.cpu);
    assert.ok(sameStats(without, fresh()));
    writeFileSync(stat, content);
    const back = read();
    assert.ok(sameStats(back.memory, before.memory));
    assert.notEqual(back.memory, without.memory);
  });

  it('a read that takes one more file moves every later part: nothing is handed out from the wrong place', () => {
    const before = read();
    const perCpu = `${dirs.cpuacct}/cpuacct.usage_percpu`;
    const content = readFileSync(perCpu, 'latin1');
    // An empty per-CPU file: cpuacct.usage is read as well, one part more than before.
    writeFileSync(perCpu, '\n');
    const shifted = read();
    assert.notEqual(shifted.cpu, before.cpu);
    assert.ok(sameStats(shifted, fresh()));
    assert.ok(sameStats(shifted.memory, before.memory) && sameStats(shifted.pids, before.pids));
    assert.equal(read(), shifted, 'and the same again once it stands still');
    writeFileSync(perCpu, content);
    const back = read();
    assert.ok(sameStats(back, before) && sameStats(back, fresh()));
  });

  /** The group ran: its block I/O, remembered while it does not, is read again. */
  const ran = (): void => {
    const perCpu = `${dirs.cpuacct}/cpuacct.usage_percpu`;
    writeFileSync(perCpu, readFileSync(perCpu, 'latin1').replace(/\d+/, (n) => String(Number(n) + 1)));
  };

  it('a controller that gives nothing, then something, is built again', () => {
    for (const f of readdirSync(dirs.blkio!)) writeFileSync(`${dirs.blkio}/${f}`, 'garbage\n');
    ran();
    const none = read();
    assert.equal(Object.hasOwn(none, 'blkio'), false);
    assert.equal(read(), none, 'nothing, the same again');
    writeFileSync(`${dirs.blkio}/blkio.throttle.io_service_bytes`, '8:0 Read 4096\n8:0 Write 0\nTotal 4096\n');
    ran();
    const some = read();
    assert.equal(some.blkio?.devices[0].readBytes, 4096n);
    assert.ok(sameStats(some, fresh()));
    assert.ok(errors.length > 0, 'the malformed files were reported');
  });
});

describe('unchanged parts on cgroup v2', () => {
  const dir = `${tmp}/v2`;
  cpSync('tests/fixtures/kernel/cgroup2-6.1/kt', dir, { recursive: true });
  const { reads, plain } = contexts(2);

  it('the same objects while nothing moves; a settings change gives new CPU figures and leaves the earlier ones as they were', () => {
    const first = reads.read(V2_READERS, dir);
    assert.equal(reads.read(V2_READERS, dir), first);
    const firstCpu = { ...first.cpu };
    writeFileSync(`${dir}/cpu.max`, '25000 100000\n');
    reads.rereadSettings();
    const after = reads.read(V2_READERS, dir);
    assert.notEqual(after.cpu, first.cpu);
    assert.equal(after.cpu?.quotaUs, 25000n);
    assert.deepEqual(first.cpu, firstCpu, 'the earlier sample is not rewritten');
    assert.equal(after.memory, first.memory);
    assert.ok(sameStats(after, statCgroupV2(plain, dir)));
  });
});
