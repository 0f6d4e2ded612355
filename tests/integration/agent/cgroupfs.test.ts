/**
 * Plain cgroups that Docker does not know, on this host's real cgroup v1 hierarchies: a systemd
 * style scope with a known CPU quota, and a Kubernetes pod laid out as kubelet's cgroupfs
 * driver does, whose containers share the sandbox (pause) process's network namespace.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { mean, sleep, startAgent, waitFor, type AgentProcess } from '../support.js';

const CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'pids', 'blkio'];
const SLICE = '/cstats-test.slice';
const UID = '3c9a9e43-3c1f-4b8e-9a47-1f0e2d3c4b5a';
const POD = `/kubepods/besteffort/pod${UID}`;
const SANDBOX_ID = 'a'.repeat(63) + '1';
const APP_ID = 'b'.repeat(63) + '2';
const NETNS = 'cstats-test-pod';
const LATE_NETNS = 'cstats-test-late';

const dir = (controller: string, rel: string) => `/sys/fs/cgroup/${controller}${rel}`;

function makeCgroup(rel: string, settings: Record<string, string> = {}): void {
  for (const c of CONTROLLERS) mkdirSync(dir(c, rel), { recursive: true });
  for (const [file, value] of Object.entries(settings)) writeFileSync(dir(file.split('.')[0] === 'cpu' ? 'cpu' : 'memory', rel) + '/' + file, value);
}

function enter(rel: string, pid: number): void {
  for (const c of CONTROLLERS) writeFileSync(`${dir(c, rel)}/cgroup.procs`, String(pid));
}

function removeCgroup(rel: string): void {
  for (const c of CONTROLLERS) {
    // Deepest first: the path and then its parents up to the first level.
    const parts = rel.split('/').filter(Boolean);
    for (let i = parts.length; i > 0; i--) {
      const d = dir(c, '/' + parts.slice(0, i).join('/'));
      if (!existsSync(d)) continue;
      try {
        rmdirSync(d);
      } catch {
        break; // still has children or tasks
      }
    }
  }
}

describe('agent with plain cgroups (v1 host)', () => {
  let agent: AgentProcess;
  const procs: ChildProcess[] = [];

  const spawnIn = (rel: string, cmd: string[], netns?: string): ChildProcess => {
    const argv = netns ? ['ip', 'netns', 'exec', netns, ...cmd] : cmd;
    const p = spawn(argv[0], argv.slice(1), { stdio: 'ignore' });
    procs.push(p);
    enter(rel, p.pid!);
    return p;
  };

  before(async () => {
    agent = await startAgent(['--quiet', '--no-docker', '--fs-interval', '2s']);
  });
  after(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await agent?.stop();
    await sleep(300);
    removeCgroup(`${SLICE}/load.scope`);
    removeCgroup(`${SLICE}/late.scope`);
    removeCgroup(`${SLICE}/deadfuse.scope`);
    removeCgroup(`${POD}/${SANDBOX_ID}`);
    removeCgroup(`${POD}/${APP_ID}`);
    for (const ns of [NETNS, LATE_NETNS]) {
      try {
        execFileSync('ip', ['netns', 'del', ns]);
      } catch {
        // not created
      }
    }
  });

  test('a scope with cpu.cfs_quota_us 20000/100000 and a busy loop: found by its name, CPU % ≈ 20', async () => {
    makeCgroup(`${SLICE}/load.scope`, { 'cpu.cfs_period_us': '100000', 'cpu.cfs_quota_us': '20000', 'memory.limit_in_bytes': String(32 * 1024 * 1024) });
    const created = Date.now();
    spawnIn(`${SLICE}/load.scope`, ['sh', '-c', 'while :; do :; done']);
    const found = await waitFor('load.scope in the live list', async () => (await agent.get<Array<{ name: string; kind: string }>>('/api/v1/containers')).find((c) => c.name === 'load'), 5000, 20);
    console.log(`cgroupfs: load.scope listed ${Date.now() - created} ms after mkdir`);
    assert.equal(found.kind, 'systemd');
    await sleep(6000);
    const d = await agent.get<any>('/api/v1/containers/load');
    assert.equal(d.cgroup.path, `${SLICE}/load.scope`);
    assert.equal(d.limits.cpuQuotaUs, 20000);
    assert.equal(d.limits.memoryLimitBytes, 32 * 1024 * 1024);
    const h = await agent.get<{ series: { cpu_percent: number[] } }>('/api/v1/containers/load/history?metrics=cpu_percent&since=4s');
    const m = mean(h.series.cpu_percent);
    console.log(`cgroupfs: load.scope CPU % over the last 4 s: ${h.series.cpu_percent.map((v) => v.toFixed(1)).join(' ')}`);
    assert.ok(m >= 17 && m <= 23, `CPU ${m}`);
    // Raw counter agrees with the kernel file it came from.
    const kernel = BigInt(readFileSync(dir('cpuacct', `${SLICE}/load.scope`) + '/cpuacct.usage', 'utf8').trim());
    assert.ok(BigInt(d.sample.cpu.usageNs) <= kernel && kernel - BigInt(d.sample.cpu.usageNs) < 400_000_000n, `${d.sample.cpu.usageNs} vs ${kernel}`);
  });

  test('a kubepods pod: containers named from the path, the app container reports the sandbox network', async () => {
    execFileSync('ip', ['netns', 'add', NETNS]);
    execFileSync('ip', ['-n', NETNS, 'link', 'set', 'lo', 'up']);
    makeCgroup(`${POD}/${SANDBOX_ID}`);
    makeCgroup(`${POD}/${APP_ID}`);
    // The sandbox's process is called "pause", as kubelet's is.
    copyFileSync(execFileSync('sh', ['-c', 'command -v sleep'], { encoding: 'utf8' }).trim(), '/tmp/pause');
    execFileSync('chmod', ['+x', '/tmp/pause']);
    spawnIn(`${POD}/${SANDBOX_ID}`, ['/tmp/pause', '1000'], NETNS);
    await sleep(200);
    // The app exchanges a known amount of traffic over the pod's loopback.
    spawnIn(`${POD}/${APP_ID}`, ['sh', '-c', 'sleep 1; busybox ping -c 5 -i 0.2 -s 1000 127.0.0.1 >/dev/null; exec sleep 1000'], NETNS);
    const app = await waitFor(
      'the app container, attributed to the sandbox',
      async () => {
        const d = await agent.get<any>(`/api/v1/containers/${APP_ID}`).catch(() => undefined);
        return d?.network?.kind === 'shared' ? d : undefined;
      },
      10_000,
    );
    assert.equal(app.name, `pod${UID}/${APP_ID.slice(0, 12)}`);
    assert.equal(app.kind, 'kubepods');
    assert.equal(app.network.withId, SANDBOX_ID);
    const sandbox = await agent.get<any>(`/api/v1/containers/${SANDBOX_ID}`);
    assert.equal(sandbox.pod.sandbox, true);
    assert.equal(sandbox.pod.uid, UID);
    await sleep(3500);
    const [s, a] = await Promise.all([agent.get<any>(`/api/v1/containers/${SANDBOX_ID}`), agent.get<any>(`/api/v1/containers/${APP_ID}`)]);
    const lo = (d: any) => d.sample.network.find((i: { name: string }) => i.name === 'lo');
    // 5 echo requests and 5 replies of 1000 data bytes, +8 ICMP and +20 IP header each (lo counts no link header).
    assert.equal(lo(s).rxPackets, 10);
    assert.equal(lo(s).rxBytes, 10 * (1000 + 8 + 20));
    assert.deepEqual(lo(a), lo(s));
  });

  test('a process that joins its network namespace after entering its cgroup: host at first, then its own interfaces', async () => {
    execFileSync('ip', ['netns', 'add', LATE_NETNS]);
    execFileSync('ip', ['-n', LATE_NETNS, 'link', 'set', 'lo', 'up']);
    makeCgroup(`${SLICE}/late.scope`);
    // As `ip netns exec` (or a runtime calling setns after the cgroup write) does, but 2 s late; the pid stays the same.
    spawnIn(`${SLICE}/late.scope`, ['sh', '-c', `sleep 2; exec ip netns exec ${LATE_NETNS} sh -c 'busybox ping -c 3 -i 0.2 -s 100 127.0.0.1 >/dev/null; exec sleep 1000'`]);
    const get = () => agent.get<any>('/api/v1/containers/late').catch(() => undefined);
    const first = await waitFor('late.scope seen in the host namespace', async () => ((await get())?.network?.kind === 'host' ? true : undefined), 5000, 20);
    assert.ok(first);
    const moved = Date.now();
    const own = await waitFor(
      'late.scope in its own namespace, the pings counted',
      async () => {
        const d = await get();
        return d?.network?.kind === 'own' && d.sample.network.find((i: { name: string }) => i.name === 'lo')?.rxPackets === 6 ? d : undefined;
      },
      10_000,
    );
    console.log(`cgroupfs: late.scope's own namespace seen ${Date.now() - moved} ms after it was seen in the host's`);
    const lo = own.sample.network.find((i: { name: string }) => i.name === 'lo');
    // 3 echo requests and 3 replies of 100 data bytes, +8 ICMP and +20 IP header each.
    assert.equal(lo.rxBytes, 6 * (100 + 8 + 20));
    assert.deepEqual(
      own.sample.network.map((i: { name: string }) => i.name),
      ['lo'],
    );
  });

  test('a scope whose mount namespace holds a FUSE mount with its daemon dead (ENOTCONN): left out, its other mounts and every container still sampled', async () => {
    makeCgroup(`${SLICE}/deadfuse.scope`);
    // LXCFS killed with SIGKILL leaves its mount behind, and every lstat under it fails with
    // ENOTCONN; a stopped LXCFS on a host does the same in namespaces that copied its mount.
    spawnIn(`${SLICE}/deadfuse.scope`, [
      'unshare', '-m', '--propagation', 'private', 'sh', '-c',
      'mkdir -p /tmp/cs-deadfuse /tmp/cs-livetmpfs && mount -t tmpfs -o size=8m cs-live /tmp/cs-livetmpfs && ' +
        '{ lxcfs -f /tmp/cs-deadfuse >/dev/null 2>&1 & p=$!; sleep 1; kill -9 $p; wait $p; exec sleep 1000; }',
    ]);
    const d = await waitFor(
      'deadfuse.scope with its filesystems read',
      async () => {
        const c = await agent.get<any>('/api/v1/containers/deadfuse').catch(() => undefined);
        return c?.sample?.filesystems?.some((f: { destination?: string }) => f.destination === '/tmp/cs-livetmpfs') ? c : undefined;
      },
      10_000,
    );
    // The first read may come while LXCFS still serves; once it is dead, a later read passes over it.
    const dead = Date.now() + 1000;
    const again = await waitFor(
      'a filesystem read of deadfuse.scope after its FUSE daemon died',
      async () => {
        const c = await agent.get<any>('/api/v1/containers/deadfuse');
        return Date.parse(c.sampledAt) > dead + 3500 ? c : undefined;
      },
      10_000,
    );
    const dests = again.sample.filesystems.map((f: { destination?: string }) => f.destination);
    assert.ok(dests.includes('/tmp/cs-livetmpfs'), dests.join(' '));
    assert.ok(!dests.includes('/tmp/cs-deadfuse'), dests.join(' '));
    assert.equal(Number(again.sample.filesystems.find((f: { destination?: string }) => f.destination === '/tmp/cs-livetmpfs').totalBytes), 8 * 1024 * 1024);
    assert.ok(Date.parse(again.sampledAt) > Date.parse(d.sampledAt));
    // The other containers are sampled on every tick meanwhile.
    const load = await agent.get<any>('/api/v1/containers/load');
    const age = Date.now() - Date.parse(load.sampledAt);
    assert.ok(age < 2000, `load.scope last sampled ${age} ms ago`);
  });
});
