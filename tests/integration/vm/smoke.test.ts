/**
 * Boots the cgroup v2 VM once (harness.ts) and checks what every VM test relies on: cgroup2
 * with its controllers, writable limits, node, the compiled project, exact capture of large
 * output, stderr and the exit code, and CFS bandwidth control actually enforced under TCG.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { runInVm, type VmResult } from './harness.js';

const QUOTA_SECONDS = 3;
const SEQ_LINES = 20_000;
const SEQ_HEADER = '--- seq ---\n';

const COMMAND = `
echo "fsmagic=$(stat -fc %t /sys/fs/cgroup)"
echo "mount=$(grep ' /sys/fs/cgroup ' /proc/mounts)"
echo "controllers=$(cat /sys/fs/cgroup/cgroup.controllers)"
mkdir /sys/fs/cgroup/t && echo "50000 100000" > /sys/fs/cgroup/t/cpu.max && echo 67108864 > /sys/fs/cgroup/t/memory.max
echo "cpu.max=$(cat /sys/fs/cgroup/t/cpu.max)"
echo "memory.max=$(cat /sys/fs/cgroup/t/memory.max)"
echo "cwd=$(pwd)"
echo "dist=$(ls /cstats/dist/src/kernel/parse.js)"
echo "nproc=$(nproc)"
echo "uptime0=$(cut -d' ' -f1 /proc/uptime)"
echo "node=$(node -e 'console.log(process.version)')"
echo "uptime1=$(cut -d' ' -f1 /proc/uptime)"
echo "quota=$(node dist/tests/integration/vm/cpu-quota-probe.js /sys/fs/cgroup/quota ${QUOTA_SECONDS})"
echo "to stderr" >&2
printf '${SEQ_HEADER}'
seq 1 ${SEQ_LINES}
printf 'no newline at the end'
exit 7
`;

describe('cgroup v2 VM', () => {
  let run: VmResult;
  let fields: Map<string, string>;

  before(async () => {
    run = await runInVm({ command: COMMAND, timeoutMs: 180_000 });
    const head = run.output.slice(0, run.output.indexOf(SEQ_HEADER));
    fields = new Map(head.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  });

  const field = (key: string): string => {
    const v = fields.get(key);
    assert.ok(v !== undefined, `no ${key}= in the output:\n${run.output.slice(0, 4000)}`);
    return v;
  };

  it('mounts cgroup2 with the cpu, memory, io and pids controllers', () => {
    // busybox stat names no cgroup2fs: check CGROUP2_SUPER_MAGIC ("cgrp") and the mount table.
    assert.equal(field('fsmagic'), '63677270');
    assert.match(field('mount'), /^none \/sys\/fs\/cgroup cgroup2 rw/);
    const controllers = field('controllers').split(' ');
    for (const c of ['cpuset', 'cpu', 'io', 'memory', 'pids']) assert.ok(controllers.includes(c), `${c} in ${controllers}`);
  });

  it('takes cpu.max and memory.max in a child cgroup', () => {
    assert.equal(field('cpu.max'), '50000 100000');
    assert.equal(field('memory.max'), '67108864');
  });

  it('runs node in /cstats with the compiled project, on 2 vCPUs', () => {
    assert.equal(field('node'), process.version);
    assert.equal(field('cwd'), '/cstats');
    assert.equal(field('dist'), '/cstats/dist/src/kernel/parse.js');
    assert.equal(field('nproc'), '2');
  });

  it('returns large output byte-exact, stderr and the exit code', (t) => {
    const seq = Array.from({ length: SEQ_LINES }, (_, i) => `${i + 1}\n`).join('');
    assert.ok(run.output.endsWith(`${SEQ_HEADER}${seq}no newline at the end`));
    assert.match(run.output, /^to stderr$/m);
    assert.equal(run.exitCode, 7);
    const nodeStartMs = (Number(field('uptime1')) - Number(field('uptime0'))) * 1000;
    t.diagnostic(`boot ${Math.round(run.bootMs)} ms, node -e ${Math.round(nodeStartMs)} ms, output ${run.output.length} bytes`);
  });

  it('enforces cpu.max: a busy loop limited to 50000/100000 gets half a CPU', (t) => {
    const q = JSON.parse(field('quota')) as Record<string, string>;
    const share = Number(q.usageNs) / Number(q.wallNs);
    t.diagnostic(`usage ${q.usageNs} ns over ${q.wallNs} ns wall = ${(share * 100).toFixed(1)}%; ` +
      `throttled in ${q.throttledPeriods} of ${q.periods} periods, ${q.throttledNs} ns`);
    assert.ok(Number(q.wallNs) >= QUOTA_SECONDS * 1e9, `wall ${q.wallNs} ns`);
    assert.ok(share >= 0.4 && share <= 0.6, `usage ${(share * 100).toFixed(1)}% of wall time`);
    assert.ok(Number(q.throttledPeriods) > 0, 'never throttled');
  });
});
