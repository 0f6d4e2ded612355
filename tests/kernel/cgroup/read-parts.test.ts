/**
 * ReadParts: a read whose parse results all came out the same as at the previous read hands out
 * what was built then, the same objects; any difference rebuilds what it touches, and only that.
 * On copies of the fixture trees, read through real kept files as the collector reads them.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { KeptFiles } from '../../../src/kernel/file.js';
import { ReadParts, sameStats, type CgroupStats, type StatContext } from '../../../src/kernel/cgroup/common.js';
import { statCgroupV1 } from '../../../src/kernel/cgroup/v1/index.js';
import { statCgroupV2 } from '../../../src/kernel/cgroup/v2/index.js';
import type { V1Dirs } from '../../../src/kernel/cgroup/v1/dirs.js';

const tmp = mkdtempSync(`${tmpdir()}/cstats-read-parts-`);
after(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * Contexts over kept files, with and without parts. No activity: counters are read from the
 * kernel at every read (settings are remembered, as ever).
 */
function contexts(): { ctx: StatContext; plain: StatContext; errors: unknown[] } {
  const errors: unknown[] = [];
  const onError = (err: unknown): void => void errors.push(err);
  return { ctx: { reader: new KeptFiles(), onError, parts: new ReadParts() }, plain: { reader: new KeptFiles(), onError }, errors };
}

describe('ReadParts on cgroup v1', () => {
  const root = `${tmp}/v1`;
  cpSync('tests/fixtures/kernel/cgroup1-6.18', root, { recursive: true });
  const dirs: V1Dirs = { cpu: `${root}/cpu/kt`, cpuacct: `${root}/cpuacct/kt`, memory: `${root}/memory/kt`, blkio: `${root}/blkio/kt`, pids: `${root}/pids/kt` };
  const { ctx, plain, errors } = contexts();
  const read = (): CgroupStats => statCgroupV1(ctx, dirs);
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

  it('a controller that gives nothing, then something, is built again', () => {
    for (const f of readdirSync(dirs.blkio!)) writeFileSync(`${dirs.blkio}/${f}`, 'garbage\n');
    const none = read();
    assert.equal(Object.hasOwn(none, 'blkio'), false);
    assert.equal(read(), none, 'nothing, the same again');
    writeFileSync(`${dirs.blkio}/blkio.throttle.io_service_bytes`, '8:0 Read 4096\n8:0 Write 0\nTotal 4096\n');
    const some = read();
    assert.equal(some.blkio?.devices[0].readBytes, 4096n);
    assert.ok(sameStats(some, fresh()));
    assert.ok(errors.length > 0, 'the malformed files were reported');
  });
});

describe('ReadParts on cgroup v2', () => {
  const dir = `${tmp}/v2`;
  cpSync('tests/fixtures/kernel/cgroup2-6.1/kt', dir, { recursive: true });
  const { ctx, plain } = contexts();

  it('the same objects while nothing moves; a settings change gives new CPU figures and leaves the earlier ones as they were', () => {
    const first = statCgroupV2(ctx, dir);
    assert.equal(statCgroupV2(ctx, dir), first);
    const firstCpu = { ...first.cpu };
    writeFileSync(`${dir}/cpu.max`, '25000 100000\n');
    (ctx.reader as KeptFiles).rereadSettings();
    const after = statCgroupV2(ctx, dir);
    assert.notEqual(after.cpu, first.cpu);
    assert.equal(after.cpu?.quotaUs, 25000n);
    assert.deepEqual(first.cpu, firstCpu, 'the earlier sample is not rewritten');
    assert.equal(after.memory, first.memory);
    assert.ok(sameStats(after, statCgroupV2(plain, dir)));
  });
});
