/**
 * The proof with real containers: -m 64m --cpus 0.5 with the files bind-mounted, on a
 * 2-CPU machine. Needs root, dockerd and busybox:local (scripts/testbed.sh).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dockerArgs, type ProcfsHandle } from '../../../src/procview/index.js';
import { docker, dockerAsync, IMAGE, waitFor } from '../support.js';
import { armBlkioAccounting } from '../support.js';
import { exec, freshProcfs, LABEL, meminfoKb, removeProcviewContainers, runWithProcfs, stopProcfs } from './support.js';

let procfs: ProcfsHandle;
const A = 'cstats-procview-a';

before(async () => {
  removeProcviewContainers();
  procfs = await freshProcfs();
  runWithProcfs(A, ['-m', '64m', '--cpus', '0.5'], ['sleep', '3600']);
});

after(async () => {
  removeProcviewContainers();
  await stopProcfs();
});

test('meminfo says MemTotal: 65536 kB and procps free -m says 64', () => {
  const meminfo = exec(A, 'cat /proc/meminfo');
  assert.match(meminfo, /^MemTotal:          65536 kB$/m);
  assert.ok(meminfoKb(meminfo, 'MemFree') < 65536);
  assert.ok(meminfoKb(meminfo, 'MemAvailable') <= 65536);
  const free = exec(A, '/usr/bin/free -m');
  assert.match(free, /^Mem:\s+64\s/m, free);
});

test('one CPU of two: cpuinfo lists processor 0 only, cpu/online says 0', () => {
  assert.equal(Number(exec(A, 'grep -c ^processor /proc/cpuinfo')), 1);
  assert.equal(exec(A, 'grep ^processor /proc/cpuinfo'), 'processor\t: 0');
  assert.equal(exec(A, 'cat /sys/devices/system/cpu/online'), '0');
});

test('uptime is within 2 s of the container age', () => {
  // Docker records Created before runc starts the init, and StartedAt after it runs: on a busy
  // machine they are seconds apart, and the init's start lies between them.
  const [created, started] = docker('inspect', '-f', '{{.Created}} {{.State.StartedAt}}', A).split(' ').map(Date.parse);
  const uptime = Number(exec(A, 'cat /proc/uptime').split(' ')[0]);
  const now = Date.now();
  assert.ok(uptime > (now - started) / 1000 - 2 && uptime < (now - created) / 1000 + 2, `uptime ${uptime}, created ${(now - created) / 1000} s ago, started ${(now - started) / 1000} s ago`);
});

test('top shows the container CPU use: a busy loop at --cpus 0.5 is its share of its one CPU', async () => {
  const B = 'cstats-procview-busy';
  const id = runWithProcfs(B, ['--cpus', '0.5'], ['sh', '-c', 'while :; do :; done']);
  await new Promise((r) => setTimeout(r, 1500));
  // 50 % on an idle host; less when the host is saturated (other tests run here): the kernel's
  // own count over the same window is the reference.
  const usageNs = () => Number(readFileSync(`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, 'utf8'));
  const [u0, t0] = [usageNs(), performance.now()];
  const top = exec(B, '/usr/bin/top -bn2 -d1');
  const kernelPercent = ((usageNs() - u0) / 1e6 / (performance.now() - t0)) * 100;
  const frames = top.split(/^top - /m).filter((f) => f.includes('%Cpu'));
  const cpu = /%Cpu\(s\):\s*([\d.]+) us,\s*([\d.]+) sy,\s*[\d.]+ ni,\s*([\d.]+) id/.exec(frames.at(-1) ?? '');
  assert.ok(cpu, top);
  const busy = Number(cpu[1]) + Number(cpu[2]);
  console.log(`top in a --cpus 0.5 busy container: us+sy ${busy} %, id ${cpu[3]} %; cpuacct over the exec ${kernelPercent.toFixed(1)} %`);
  assert.ok(busy > 5 && busy < 65, `us+sy ${busy} %`);
  assert.ok(Math.abs(busy - kernelPercent) < 20, `top us+sy ${busy} %, cpuacct ${kernelPercent.toFixed(1)} %`);
  assert.ok(Math.abs(busy + Number(cpu[3]) - 100) < 2, `us+sy ${busy} % and id ${cpu[3]} % make the whole CPU`);
  assert.match(exec(A, 'cat /proc/loadavg'), /^\d+\.\d\d \d+\.\d\d \d+\.\d\d \d+\/\d+ \d+$/);
});

test('read-only: writes and creates fail, unknown paths are ENOENT', () => {
  const out = exec(A, '(echo x > /proc/meminfo) 2>&1; (echo x >> /proc/cpuinfo) 2>&1; true');
  assert.match(out, /Read-only file system|Permission denied/);
  const host = docker('run', '--rm', '--label', LABEL, '-v', `${procfs.mountpoint}:/p`, 'busybox:local', 'sh', '-c', '(touch /p/proc/x; cat /p/proc/nope; chmod 777 /p/proc/meminfo; mkdir /p/d) 2>&1; true');
  assert.match(host, /Read-only file system/);
  assert.match(host, /No such file or directory/);
});

test('the host sees the host files through the mount', () => {
  const mine = readFileSync(`${procfs.mountpoint}/proc/cpuinfo`, 'latin1');
  assert.equal(mine, readFileSync('/proc/cpuinfo', 'latin1'));
  assert.equal(readFileSync(`${procfs.mountpoint}/sys/devices/system/cpu/online`, 'latin1'), readFileSync('/sys/devices/system/cpu/online', 'latin1'));
});

test('50 containers reading at once each get their own memory limit', { timeout: 600_000 }, async () => {
  const n = 50;
  const names = Array.from({ length: n }, (_, i) => `cstats-procview-m${i}`);
  // One file on the host starts them all; each reads 40 times and exits. No polling through
  // dockerd, which other tests keep busy.
  const go = mkdtempSync(`${tmpdir()}/cstats-procview-go-`);
  const script = 'while [ ! -e /go/go ]; do sleep 0.05; done; i=0; while [ $i -lt 40 ]; do head -n1 /proc/meminfo; i=$((i+1)); done';
  try {
    for (let i = 0; i < n; i += 10) {
      await Promise.all(
        names.slice(i, i + 10).map((name, j) =>
          dockerAsync('run', '-d', '--name', name, '--label', LABEL, ...dockerArgs(procfs.mountpoint), '-v', `${go}:/go:ro`, '-m', `${64 + i + j}m`, IMAGE, 'sh', '-c', script),
        ),
      );
    }
    writeFileSync(`${go}/go`, '');
    assert.deepEqual((await dockerAsync('wait', ...names)).split('\n'), names.map(() => '0'));
  } finally {
    rmSync(go, { recursive: true, force: true });
  }
  for (const [i, name] of names.entries()) {
    const lines = (await dockerAsync('logs', name)).split('\n');
    assert.equal(lines.length, 40, name);
    assert.deepEqual(new Set(lines), new Set([`MemTotal:       ${String((64 + i) * 1024).padStart(8)} kB`]), name);
  }
});

test('diskstats: a container dd with O_DIRECT is its own I/O on the disk, from blkio.throttle.*_recursive', async () => {
  const disk = armBlkioAccounting('/var/lib/docker');
  const D = 'cstats-procview-dd';
  const id = runWithProcfs(D, [], ['sh', '-c', 'dd if=/dev/zero of=/tmp/f bs=64k count=64 oflag=direct 2>/dev/null && dd if=/tmp/f of=/dev/null bs=64k count=16 iflag=direct 2>/dev/null && touch /tmp/done; exec sleep 3600']);
  await waitFor('the dd runs', () => exec(D, 'test -e /tmp/done && echo done || true') === 'done' || undefined, 60_000, 250);
  const blkio = `/sys/fs/cgroup/blkio/docker/${id}`;
  const kernel = (): Record<string, number> => {
    const read = (file: string, op: string) => Number(new RegExp(`^${disk} ${op} (\\d+)$`, 'm').exec(readFileSync(`${blkio}/${file}`, 'utf8'))?.[1] ?? 0);
    const bytes = 'blkio.throttle.io_service_bytes_recursive';
    const ios = 'blkio.throttle.io_serviced_recursive';
    return { reads: read(ios, 'Read'), readBytes: read(bytes, 'Read'), writes: read(ios, 'Write'), writeBytes: read(bytes, 'Write') };
  };
  const before = kernel();
  const diskstats = exec(D, 'cat /proc/diskstats');
  assert.deepEqual(kernel(), before, 'no I/O while reading');
  const [major, minor] = disk.split(':');
  const lines = diskstats.split('\n').map((l) => l.trim().split(/\s+/));
  assert.equal(lines.length, 1, `only the disk the container used:\n${diskstats}`);
  const [f] = lines;
  assert.deepEqual(f.slice(0, 2), [major, minor]);
  assert.deepEqual(
    { reads: Number(f[3]), readBytes: Number(f[5]) * 512, writes: Number(f[7]), writeBytes: Number(f[9]) * 512 },
    before,
  );
  assert.ok(before.writes >= 64 && before.writeBytes >= 64 * 65536, JSON.stringify(before));
  assert.ok(before.reads >= 16 && before.readBytes >= 16 * 65536, JSON.stringify(before));
  assert.deepEqual(f.slice(10).map(Number), new Array(f.length - 10).fill(0), 'no merges, times or queue figures');
});

test('stat: procs_running and procs_blocked count the container tasks (the reader itself runs)', () => {
  const P = 'cstats-procview-procs';
  runWithProcfs(P, ['--cpus', '0.5'], ['sh', '-c', 'while :; do :; done']);
  const procs = (name: string) => exec(name, 'grep ^procs_ /proc/stat').split('\n');
  assert.deepEqual(procs(P), ['procs_running 2', 'procs_blocked 0']);
  assert.deepEqual(procs(A), ['procs_running 1', 'procs_blocked 0']);
});
