import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import type { CgroupStats } from '../../../../src/kernel/types.js';
import { parseCfsQuota, parseCpuacctStat, parseCpuStatV1, statCpu } from '../../../../src/kernel/cgroup/v1/cpu.js';
import { ParseError } from '../../../../src/kernel/errors.js';
import { parseU64List } from '../../../../src/kernel/parse.js';
import { diskContext, memoryContext, U64_MAX } from '../../context.js';
import { requires } from '../../../requires.js';

// Real files of a cgroup with --cpus 0.5 and shares 512 on kernel 6.18 (separate cpu / cpuacct mounts).
const FIXTURE = 'tests/fixtures/kernel/cgroup1-6.18';
const DIRS = { cpu: `${FIXTURE}/cpu/kt`, cpuacct: `${FIXTURE}/cpuacct/kt` };

describe('v1 cpu parsers', () => {
  it('cpuacct.stat: USER_HZ ticks to ns', () => {
    assert.deepEqual(parseCpuacctStat('user 128\nsystem 49\n', 'cpuacct.stat'), { userNs: 1_280_000_000n, systemNs: 490_000_000n });
    assert.equal(parseCpuacctStat(`user ${U64_MAX}\nsystem 0\n`, 'f').userNs, 18446744073709551615n * 10_000_000n);
    for (const bad of ['', 'user 1\n', 'user x\nsystem 1\n']) assert.throws(() => parseCpuacctStat(bad, 'f'), ParseError);
  });

  it('cpu.stat: throttling, ignoring the 5.14 burst keys; old kernels without some keys', () => {
    assert.deepEqual(parseCpuStatV1('nr_periods 36\nnr_throttled 35\nthrottled_time 1629238032\nnr_bursts 0\nburst_time 0\n', 'cpu.stat'), {
      periods: 36n, throttledPeriods: 35n, throttledNs: 1629238032n,
    });
    assert.deepEqual(parseCpuStatV1(`nr_periods ${U64_MAX}\n`, 'f'), { periods: 18446744073709551615n });
    assert.deepEqual(parseCpuStatV1('', 'f'), {});
    assert.throws(() => parseCpuStatV1('nr_periods\n', 'f'), ParseError);
  });

  it('cpu.cfs_quota_us: -1 is no quota', () => {
    assert.equal(parseCfsQuota('-1\n', 'f'), null);
    assert.equal(parseCfsQuota('50000\n', 'f'), 50000n);
    for (const bad of ['', '5x\n']) assert.throws(() => parseCfsQuota(bad, 'f'), ParseError);
  });

  it('cpuacct.usage_percpu: trailing space as the kernel prints it', () => {
    assert.deepEqual(parseU64List('1485473072 293963905 \n', 'f'), [1485473072n, 293963905n]);
  });
});

describe('v1 statCpu', () => {
  it('reads a real cgroup with separate cpu and cpuacct directories', () => {
    const { ctx, errors } = diskContext();
    const stats: CgroupStats = {};
    statCpu(ctx, DIRS, stats);
    assert.deepEqual(errors, []);
    assert.deepEqual(stats.cpu, {
      usageNs: 1779436977n,
      perCpuNs: [1485473072n, 293963905n],
      userNs: 1_280_000_000n,
      systemNs: 490_000_000n,
      periods: 36n,
      throttledPeriods: 35n,
      throttledNs: 1629238032n,
      quotaUs: 50000n,
      periodUs: 100000n,
      shares: 512n,
    });
  });

  it('reads the same files from one co-mounted directory', () => {
    const files: Record<string, string> = {};
    for (const [name, dir] of [['cpuacct.usage', 'cpuacct'], ['cpuacct.stat', 'cpuacct'], ['cpu.shares', 'cpu']]) {
      files[`/cg/cpu,cpuacct/x/${name}`] = readFileSync(`${FIXTURE}/${dir}/kt/${name}`, 'latin1');
    }
    const { ctx, errors } = memoryContext(files);
    const stats: CgroupStats = {};
    statCpu(ctx, { cpu: '/cg/cpu,cpuacct/x', cpuacct: '/cg/cpu,cpuacct/x' }, stats);
    assert.deepEqual(errors, []);
    assert.deepEqual(stats.cpu, { usageNs: 1779436977n, userNs: 1_280_000_000n, systemNs: 490_000_000n, shares: 512n });
  });

  it('a malformed file costs only its own values and is reported once', () => {
    const { ctx, errors } = memoryContext({ '/c/cpuacct.usage': 'garbage\n', '/c/cpu.shares': '1024\n' });
    const stats: CgroupStats = {};
    statCpu(ctx, { cpu: '/c', cpuacct: '/c' }, stats);
    assert.deepEqual(stats.cpu, { shares: 1024n });
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof ParseError && errors[0].file === '/c/cpuacct.usage');
  });

  it('no directories or no files: no cpu stats', () => {
    const { ctx, errors } = memoryContext({});
    const stats: CgroupStats = {};
    statCpu(ctx, {}, stats);
    statCpu(ctx, { cpu: '/gone', cpuacct: '/gone' }, stats);
    assert.deepEqual(stats, {});
    assert.deepEqual(errors, []);
  });

  it("reads this machine's root cpuacct: the per-CPU sum is the total", { skip: requires(existsSync('/sys/fs/cgroup/cpuacct/cpuacct.usage'), 'cgroup v1 cpuacct hierarchy') }, () => {
    const { ctx, errors } = diskContext();
    const stats: CgroupStats = {};
    statCpu(ctx, { cpu: '/sys/fs/cgroup/cpu', cpuacct: '/sys/fs/cgroup/cpuacct' }, stats);
    assert.deepEqual(errors, []);
    const cpu = stats.cpu!;
    const sum = cpu.perCpuNs!.reduce((a, b) => a + b, 0n);
    // usage is read first: it may trail the per-CPU figures by a few ms of CPU time.
    assert.ok(sum >= cpu.usageNs! && sum - cpu.usageNs! < 1_000_000_000n, `${sum} vs ${cpu.usageNs}`);
    assert.equal(cpu.quotaUs, null);
    assert.ok(cpu.userNs! + cpu.systemNs! > 0n);
  });
});
