/**
 * procview on a real cgroup v2 kernel (QEMU, harness.ts; the cloud kernel has fuse and brd as
 * modules, which the image carries and /init loads). `cstats procfs start` mounts the files; a
 * "container" is a cgroup with memory.max 64M, cpu.max "50000 100000" and cpuset.cpus 1, and a
 * process in it with its own mount and pid namespaces that binds the files over /proc and /sys
 * (as `cstats procfs docker-args` does) and reads them. A busy loop, 8 MiB of tmpfs and direct
 * I/O on a RAM disk (brd: /dev/ram0, 1:0) run in the same cgroup. Every figure is checked
 * against the cgroup's own files read around it: meminfo from memory.max and memory.stat, stat
 * from cpu.stat (LXCFS shows the host's here), diskstats from io.stat (LXCFS: the host's).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { runInVm, type VmResult } from './harness.js';

const CG = '/sys/fs/cgroup/cstats-procview.slice/box';
const MP = '/var/lib/cstats/procfs';
const FILES = ['proc/meminfo', 'proc/cpuinfo', 'proc/stat', 'proc/diskstats', 'proc/uptime', 'proc/loadavg', 'sys/devices/system/cpu/online'];
const USEC_PER_TICK = 10_000; // USER_HZ 100

// Runs in the cgroup, in new mount and pid namespaces: the container's point of view.
const READER = `
echo "== cpu.stat before"; cat ${CG}/cpu.stat
echo "== host stat before"; cat /proc/stat
echo "== memory.stat before"; cat ${CG}/memory.stat
${FILES.map((f) => `mount -o bind ${MP}/${f} /${f}`).join('\n')}
for f in meminfo cpuinfo stat diskstats uptime loadavg; do echo "== $f"; cat /proc/$f; done
echo "== online"; cat /sys/devices/system/cpu/online
echo "== pin"; taskset -c "$(cat /sys/devices/system/cpu/online)" true && echo pinned
echo "== cpu.stat after"; cat ${CG}/cpu.stat
echo "== memory.stat after"; cat ${CG}/memory.stat
echo "== io.stat"; cat ${CG}/io.stat
`;

const COMMAND = `
set -e
insmod /lib/modules/*/kernel/drivers/block/brd.ko rd_nr=1 rd_size=16384
mkdir -p ${CG}
echo "+cpuset +cpu +io +memory +pids" > ${CG}/../cgroup.subtree_control
echo 67108864 > ${CG}/memory.max
echo "50000 100000" > ${CG}/cpu.max
echo 1 > ${CG}/cpuset.cpus
node dist/src/cli/main.js procfs start
echo "== host cpuinfo"; cat /proc/cpuinfo
echo "== host meminfo via mount"; cat ${MP}/proc/meminfo
sh -c 'echo $$ > ${CG}/cgroup.procs; while :; do :; done' &
sh -c 'echo $$ > ${CG}/cgroup.procs
  mkdir /tmp/box && mount -t tmpfs tmpfs /tmp/box && dd if=/dev/zero of=/tmp/box/fill bs=1M count=8 2>/dev/null
  dd if=/dev/zero of=/dev/ram0 bs=64k count=64 oflag=direct 2>/dev/null
  dd if=/dev/ram0 of=/dev/null bs=64k count=16 iflag=direct 2>/dev/null'
sleep 2
cat > /tmp/reader.sh <<'EOF'
${READER}
EOF
sh -c 'echo $$ > ${CG}/cgroup.procs; exec unshare -m -p -f --mount-proc sh /tmp/reader.sh'
echo "== host stat after"; cat /proc/stat
echo "== host uptime"; cat /proc/uptime
node dist/src/cli/main.js procfs stop
echo "== stopped"; grep -c ${MP} /proc/mounts || true
`;

const field = (text: string, key: string): number => {
  const m = new RegExp(`^${key.replace(/[()]/g, '\\$&')}:?\\s+(\\d+)`, 'm').exec(text);
  assert.ok(m, `no ${key} in:\n${text}`);
  return Number(m[1]);
};

/** The columns of a /proc/stat cpu line as numbers. */
const cpuLine = (stat: string, name: string): number[] => {
  const line = stat.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `no ${name} line in:\n${stat}`);
  return line.trim().split(/\s+/).slice(1).map(Number);
};
/** Elapsed ticks of a host CPU: user..steal (guest is inside user). */
const elapsedTicks = (stat: string, name: string): number => cpuLine(stat, name).slice(0, 8).reduce((a, b) => a + b, 0);

describe('procview on a real cgroup v2 kernel', () => {
  let vm: VmResult;
  const sections = new Map<string, string>();
  const section = (key: string): string => {
    const text = sections.get(key);
    assert.ok(text !== undefined, `no section ${key} in the VM output:\n${vm.output.slice(0, 8000)}`);
    return text;
  };

  before(async () => {
    vm = await runInVm({ command: COMMAND, timeoutMs: 420_000 });
    for (const part of vm.output.split(/^== /m).slice(1)) {
      const nl = part.indexOf('\n');
      sections.set(part.slice(0, nl), part.slice(nl + 1));
    }
  });

  it('mounts, serves the container and the host, and stops', () => {
    assert.equal(vm.exitCode, 0, vm.output);
    // The VM itself (the mounter's mount namespace) reads the host's file through the mount.
    assert.match(section('host meminfo via mount'), /^MemTotal:\s+(?!65536 )\d+ kB$/m);
    assert.equal(section('stopped').trim(), '0');
  });

  it('meminfo: MemTotal 65536 kB from memory.max, tmpfs as Shmem, Slab from memory.stat', () => {
    const meminfo = section('meminfo');
    assert.match(meminfo, /^MemTotal:          65536 kB$/m);
    const free = field(meminfo, 'MemFree');
    assert.ok(free > 0 && free < 65536 - 8192, `MemFree ${free} kB with 8 MiB of tmpfs in use`);
    assert.ok(field(meminfo, 'MemAvailable') <= 65536);
    // 8 MiB of tmpfs, and whatever shmem the memory.stat reads around it saw.
    const shmem = [section('memory.stat before'), section('memory.stat after')].map((s) => field(s, 'shmem') / 1024);
    assert.ok(field(meminfo, 'Shmem') >= Math.min(...shmem) && field(meminfo, 'Shmem') <= Math.max(...shmem), `Shmem ${field(meminfo, 'Shmem')} vs ${shmem}`);
    assert.ok(field(meminfo, 'Shmem') >= 8192);
    // v2 gives slab figures (LXCFS prints 0): within what moved between the reads around it.
    const slab = [section('memory.stat before'), section('memory.stat after')].map((s) => field(s, 'slab') / 1024);
    assert.ok(field(meminfo, 'Slab') > 0);
    assert.ok(Math.abs(field(meminfo, 'Slab') - slab[0]) <= 512, `Slab ${field(meminfo, 'Slab')} kB, memory.stat ${slab} kB`);
    assert.equal(field(meminfo, 'SwapTotal'), 0); // the VM has no swap
    console.log(`v2 VM meminfo: ${['MemTotal', 'MemFree', 'MemAvailable', 'Shmem', 'Slab'].map((k) => `${k} ${field(meminfo, k)}`).join(', ')} kB`);
  });

  it('cpuinfo and cpu/online: one processor, host CPU 1 (cpuset.cpus 1) under its own number; pinning to it works', () => {
    const cpuinfo = section('cpuinfo');
    assert.deepEqual(cpuinfo.match(/^processor\s*:.*$/gm), ['processor\t: 1']);
    const hostBlock1 = section('host cpuinfo').split('\n\n').find((b) => /^processor\s*:\s*1$/m.test(b));
    assert.ok(hostBlock1);
    // "cpu MHz" may be measured anew at each read; every other line is host CPU 1's.
    const steady = (block: string) => block.trim().replace(/^cpu MHz.*$/m, '');
    assert.equal(steady(cpuinfo), steady(hostBlock1));
    assert.equal(section('online'), '1\n');
    assert.equal(section('pin').trim(), 'pinned');
  });

  it('stat: one CPU whose user and system ticks are the cgroup cpu.stat, idle the rest of host CPU 1', () => {
    const stat = section('stat');
    assert.deepEqual(stat.match(/^cpu\d+ /gm), ['cpu1 ']);
    const [user, nice, system, idle, ...rest] = cpuLine(stat, 'cpu1');
    assert.deepEqual(cpuLine(stat, 'cpu'), [user, nice, system, idle, ...rest]);
    assert.deepEqual([nice, ...rest], [0, 0, 0, 0, 0, 0, 0]);
    const ticks = (key: string) => [section('cpu.stat before'), section('cpu.stat after')].map((s) => Math.floor(field(s, key) / USEC_PER_TICK));
    const [u0, u1] = ticks('user_usec');
    const [s0, s1] = ticks('system_usec');
    assert.ok(user >= u0 && user <= u1, `user ${user} ticks, cpu.stat ${u0}..${u1}`);
    assert.ok(system >= s0 && system <= s1, `system ${system} ticks, cpu.stat ${s0}..${s1}`);
    assert.ok(user > 100, `the busy loop ran for over a second of CPU: ${user} ticks`);
    console.log(`v2 VM stat: cpu1 user ${user} system ${system} idle ${idle} ticks; cpu.stat user ${u0}..${u1}, system ${s0}..${s1}`);
    const [h0, h1] = [section('host stat before'), section('host stat after')].map((s) => elapsedTicks(s, 'cpu1'));
    assert.ok(user + system + idle >= h0 && user + system + idle <= h1, `total ${user + system + idle} ticks, host cpu1 ${h0}..${h1}`);
    // The container's CPU time, not the host's: the host's two CPUs ran the procfs server too.
    const host = cpuLine(section('host stat after'), 'cpu');
    assert.ok(user + system < host[0] + host[2], `container ${user + system} ticks, host ${host[0] + host[2]}`);
    // The container's tasks in R (the busy loop and the reading cat) and D; the rest is the host's.
    assert.deepEqual(stat.match(/^procs_.*$/gm), ['procs_running 2', 'procs_blocked 0']);
    assert.match(stat, /^ctxt \d+$/m);
    assert.match(stat, /^btime \d+$/m);
  });

  it('diskstats: only ram0, with the operations and sectors of io.stat', () => {
    const io = Object.fromEntries(
      [...section('io.stat').matchAll(/^1:0 (.*)$/gm)].flatMap((m) => m[1].split(' ').map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)])),
    );
    assert.equal(io.wbytes, 64 * 65536);
    assert.equal(io.rbytes, 16 * 65536);
    const want = `   1       0 ram0 ${io.rios} 0 ${io.rbytes / 512} 0 ${io.wios} 0 ${io.wbytes / 512} 0 0 0 0 ${io.dios} 0 ${io.dbytes / 512} 0 0 0\n`;
    assert.equal(section('diskstats'), want);
    console.log(`v2 VM diskstats: ${want.trim()}`);
  });

  it('uptime counts from the container init; loadavg counts the container tasks and starts near 0', () => {
    const [up] = section('uptime').split(' ').map(Number);
    const [hostUp] = section('host uptime').split(' ').map(Number);
    assert.ok(up >= 0 && up < 30 && up <= hostUp - 2, `container uptime ${up} s, host ${hostUp} s`);
    const m = /^(\d+\.\d\d) \d+\.\d\d \d+\.\d\d (\d+)\/(\d+) \d+$/.exec(section('loadavg').trim());
    assert.ok(m, section('loadavg'));
    // The cgroup is seconds old: its averages start from 0 (at most a fold or two of its few
    // runnable tasks so far), never from the current count. The busy loop (and the reader) run;
    // the cgroup holds a handful of tasks, the host far more.
    assert.ok(Number(m[1]) < 0.5, `1-min load ${m[1]}`);
    assert.ok(Number(m[2]) >= 1 && Number(m[3]) <= 8, `${m[2]}/${m[3]} tasks`);
  });
});
