/**
 * The whole agent on a real cgroup v2 kernel (QEMU, harness.ts): plain cgroups with cpu.max and
 * memory.max are discovered, sampled and served over the REST API; CPU %, limits and memory
 * usage are checked against the known loads. This host is cgroup v1, so this is where v2 is
 * proven end to end.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { runInVm, type VmResult } from './harness.js';

const MiB = 1024 * 1024;
const CG = '/sys/fs/cgroup/cstats-test.slice';

const COMMAND = `
set -e
mkdir -p ${CG}/busy.scope ${CG}/mem.scope
echo "+cpu +memory +io +pids" > ${CG}/cgroup.subtree_control
echo "50000 100000" > ${CG}/busy.scope/cpu.max
echo 67108864 > ${CG}/busy.scope/memory.max
echo 67108864 > ${CG}/mem.scope/memory.max
echo 100 > ${CG}/mem.scope/pids.max
sh -c 'echo $$ > ${CG}/busy.scope/cgroup.procs; while :; do :; done' &
sh -c 'echo $$ > ${CG}/mem.scope/cgroup.procs; dd if=/dev/zero of=/tmp/fill bs=1M count=32 2>/dev/null; exec sleep 1000' &
node dist/src/cli/main.js agent --no-docker --quiet --listen 127.0.0.1:7070 &
# node starts slowly under emulation: wait for the API, then for eight one-second ticks.
i=0; until wget -qO /dev/null http://127.0.0.1:7070/healthz 2>/dev/null; do i=$((i+1)); [ $i -lt 120 ] || exit 3; sleep 0.5; done
sleep 2
echo "== t0"
echo "$(date +%s) $(head -n1 /proc/stat) $(grep usage_usec ${CG}/busy.scope/cpu.stat)"
sleep 7
echo "== t1"
echo "$(date +%s) $(head -n1 /proc/stat) $(grep usage_usec ${CG}/busy.scope/cpu.stat)"
for path in /healthz /api/v1/containers/busy /api/v1/containers/mem "/api/v1/containers/busy/history?metrics=cpu_percent,cpu_cores" /api/v1/machine; do
  echo "== $path"
  wget -qO- "http://127.0.0.1:7070$path"
  echo
done
echo "== kernel"
echo "memory.current=$(cat ${CG}/mem.scope/memory.current)"
grep -E '^(inactive_file|shmem) ' ${CG}/mem.scope/memory.stat
`;

describe('agent on a real cgroup v2 kernel', () => {
  let vm: VmResult;
  const sections = new Map<string, string>();
  const json = (key: string): any => {
    const text = sections.get(key);
    assert.ok(text, `no section ${key} in the VM output:\n${vm.output.slice(0, 6000)}`);
    return JSON.parse(text);
  };

  before(async () => {
    vm = await runInVm({ command: COMMAND, timeoutMs: 240_000 });
    for (const part of vm.output.split(/^== /m).slice(1)) {
      const nl = part.indexOf('\n');
      sections.set(part.slice(0, nl), part.slice(nl + 1).trim());
    }
  });

  it('runs and reports the v2 layout as healthy', () => {
    assert.equal(vm.exitCode, 0, vm.output);
    const health = json('/healthz');
    assert.equal(health.status, 'ok', JSON.stringify(health));
    assert.equal(health.sources.cgroupfs.up, true);
    assert.match(health.sources.cgroupfs.detail, /\/sys\/fs\/cgroup$/);
  });

  it('busy loop under cpu.max 50000/100000: quota read back, 0.5 cores, CPU % as docker computes it', () => {
    const busy = json('/api/v1/containers/busy');
    assert.equal(busy.cgroup.version, 2);
    assert.equal(busy.cgroup.path, '/cstats-test.slice/busy.scope');
    assert.equal(busy.limits.cpuQuotaUs, 50000);
    assert.equal(busy.limits.cpuPeriodUs, 100000);
    assert.equal(busy.limits.memoryLimitBytes, 64 * MiB);
    assert.ok(busy.sample.cpu.periods > 0 && busy.sample.cpu.throttledPeriods > 0, 'cpu.stat throttling figures present');
    // The docker formula recomputed from the kernel's own files at both ends of the window.
    const edge = (key: string) => {
      const f = sections.get(key)!.split(/\s+/);
      const ticks = f.slice(2, 9).reduce((a, b) => a + Number(b), 0); // user..softirq, as dockerd
      return { sec: Number(f[0]), systemNs: ticks * 1e7, usageNs: Number(f[f.length - 1]) * 1000 };
    };
    const t0 = edge('t0');
    const t1 = edge('t1');
    const expectedPercent = ((t1.usageNs - t0.usageNs) / (t1.systemNs - t0.systemNs)) * 2 * 100;
    const h = json('/api/v1/containers/busy/history?metrics=cpu_percent,cpu_cores');
    const inWindow = (i: number) => h.timestamps[i] > (t0.sec + 1) * 1000 && h.timestamps[i] <= (t1.sec + 1) * 1000;
    const pct: number[] = h.series.cpu_percent.filter((_: number, i: number) => inWindow(i));
    const cores: number[] = h.series.cpu_cores.filter((_: number, i: number) => inWindow(i));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(
      `v2 VM: busy.scope CPU % ${pct.map((v) => v.toFixed(1)).join(' ')} (mean ${mean(pct).toFixed(2)}, from the kernel files ${expectedPercent.toFixed(2)}); cores mean ${mean(cores).toFixed(3)}`,
    );
    assert.ok(pct.length >= 4, `only ${pct.length} samples in the window`);
    // Against wall time the quota is exact: half a core.
    assert.ok(mean(cores) >= 0.45 && mean(cores) <= 0.55, `cores ${mean(cores)}`);
    // Against /proc/stat (what docker's CPU % divides by) the agent agrees with the formula.
    // Under TCG the guest can lose timer ticks when the host is busy, which lifts both figures
    // above 50 together; on an idle host both are about 50.
    assert.ok(Math.abs(mean(pct) - expectedPercent) <= 3, `agent ${mean(pct)} vs kernel files ${expectedPercent}`);
  });

  it('32 MiB written to tmpfs in a memory.max 64M cgroup: limit exact, usage from memory.current − inactive_file', () => {
    const mem = json('/api/v1/containers/mem');
    const kernel = sections.get('kernel')!;
    const current = Number(/memory.current=(\d+)/.exec(kernel)![1]);
    const inactive = Number(/inactive_file (\d+)/.exec(kernel)![1]);
    assert.equal(mem.limits.memoryLimitBytes, 64 * MiB);
    assert.equal(mem.derived.memoryLimitBytes, 64 * MiB);
    assert.equal(mem.limits.pidsLimit, 100);
    assert.ok(mem.derived.memoryUsageBytes >= 32 * MiB && mem.derived.memoryUsageBytes <= 34 * MiB, `usage ${mem.derived.memoryUsageBytes}`);
    // The agent's last sample and the kernel's figures a moment later: same within 1 MiB.
    assert.ok(Math.abs(mem.derived.memoryUsageBytes - (current - inactive)) <= MiB, `agent ${mem.derived.memoryUsageBytes}, kernel ${current - inactive}`);
    assert.ok(mem.sample.memory.stat.shmem >= 32 * MiB, 'tmpfs pages are accounted as shmem');
    assert.equal(mem.sample.pids.current, 1);
    assert.ok(mem.sample.pressure?.memory?.some !== undefined, 'memory.pressure read');
  });

  it('machine view comes from the VM kernel', () => {
    const machine = json('/api/v1/machine');
    assert.equal(machine.cpus, 2);
    assert.ok(machine.memory.MemTotal > 1500 * MiB && machine.memory.MemTotal <= 2048 * MiB);
  });
});
