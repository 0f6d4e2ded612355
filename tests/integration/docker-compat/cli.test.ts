/**
 * The unmodified docker CLI pointed at the agent (DOCKER_HOST=tcp://...) against the same CLI
 * on the real daemon: docker ps / ps -a list the same containers with the same columns, docker
 * stats --no-stream shows the same figures (CPU within 3 points, memory within 2 MiB, network,
 * block IO and PIDs equal), streaming docker stats follows containers started and stopped while
 * it runs, and every write is refused with nothing changed. Needs root, dockerd and
 * busybox:local (scripts/testbed.sh).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { promisify } from 'node:util';
import { IMAGE, docker, mean, parseSize, sleep, startAgent, waitFor, type AgentProcess, type DockerStatsLine } from '../support.js';

const execFileP = promisify(execFile);
const LABEL = 'cstats.compat-test=1';
const MiB = 1024 * 1024;

/**
 * A bridge of the test's own: on Docker's default bridge, other containers' broadcasts reach
 * every member and move rx counters between the two readings being compared.
 */
const NETWORK = 'cs-compat-t-net';

function cleanup(): void {
  const ids = docker('ps', '-aq', '--filter', `label=${LABEL}`);
  if (ids) docker('rm', '-f', ...ids.split('\n'));
  if (docker('network', 'ls', '-q', '--filter', `name=^${NETWORK}$`)) docker('network', 'rm', NETWORK);
}

/** IPv6 off: router solicitations and MLD reports would otherwise arrive in the first seconds. */
function runContainer(name: string, args: string[], cmd: string[]): string {
  const network = args.includes('--network') ? [] : ['--network', NETWORK];
  return docker('run', '-d', '--name', name, '--label', LABEL, '--sysctl', 'net.ipv6.conf.all.disable_ipv6=1', ...network, ...args, IMAGE, ...cmd);
}

/** The docker CLI against the agent (agent=true) or the real daemon. */
async function cli(agent: AgentProcess | undefined, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const env = { ...process.env };
  delete env.DOCKER_HOST;
  if (agent) env.DOCKER_HOST = agent.url.replace('http://', 'tcp://');
  try {
    const { stdout, stderr } = await execFileP('docker', args, { env, encoding: 'utf8' });
    return { code: 0, out: stdout, err: stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout, err: e.stderr };
  }
}

function statsLines(text: string): DockerStatsLine[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as DockerStatsLine);
}

/** Each running container's eth0 line of /proc/<pid>/net/dev ('' for none or not running). */
function kernelNet(names: readonly string[]): Map<string, string> {
  return new Map(
    names.map((n) => {
      const pid = docker('inspect', '-f', '{{.State.Pid}}', n);
      if (pid === '0') return [n, ''];
      return [n, readFileSync(`/proc/${pid}/net/dev`, 'utf8').split('\n').find((l) => l.includes('eth0:')) ?? ''];
    }),
  );
}

/** GET over HTTP, to the agent's port or dockerd's unix socket; resolves with the elapsed ms. */
function timedGet(target: { url: string } | { socketPath: string }, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const opts = 'url' in target ? new URL(target.url + path) : { socketPath: target.socketPath, path, headers: { Host: 'docker' } };
    const req = request(opts, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`${path}: ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the docker CLI against the agent', () => {
  let agent: AgentProcess;
  const psFormat = '{{.ID}}|{{.Image}}|{{.Command}}|{{.RunningFor}}|{{.Status}}|{{.Ports}}|{{.Names}}|{{.Labels}}|{{.Networks}}|{{.State}}';

  before(async () => {
    cleanup();
    docker('network', 'create', NETWORK);
    // Maximal shares: its quota, not other runs' load on this machine, bounds it at 0.5 CPU.
    runContainer('cs-compat-t-cpu', ['--cpus', '0.5', '--cpu-shares', '262144'], ['sh', '-c', 'while :; do :; done']);
    runContainer('cs-compat-t-mem', ['-m', '64m'], ['sh', '-c', 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=40 2>/dev/null; sleep 100000']);
    runContainer('cs-compat-t-blk', ['-p', '18091:80'], ['sh', '-c', 'dd if=/dev/zero of=/data.bin bs=1M count=16 oflag=direct 2>/dev/null; sleep 100000']);
    runContainer('cs-compat-t-none', ['--network', 'none'], ['sleep', '100000']);
    runContainer('cs-compat-t-exited', [], ['sh', '-c', 'exit 3']);
    assert.equal(docker('wait', 'cs-compat-t-exited'), '3');
    // Docker's own containers only: thousands of plain cgroups from other runs must not matter here.
    agent = await startAgent(['--quiet', '--no-cgroups']);
    await waitFor(
      'the agent to sample every test container',
      async () => {
        const list = await agent.get<Array<{ name: string; state: string; derived?: { blockWriteBytes: number } }>>('/api/v1/containers?all=1');
        const mine = list.filter((c) => c.name.startsWith('cs-compat-t-'));
        return mine.length === 5 && mine.find((c) => c.name === 'cs-compat-t-exited')?.state === 'exited' && (mine.find((c) => c.name === 'cs-compat-t-blk')?.derived?.blockWriteBytes ?? 0) >= 16 * MiB;
      },
      20_000,
      100,
    );
    await sleep(2000);
  });
  after(async () => {
    await agent?.stop();
    cleanup();
  });

  test('docker ps and docker ps -a show the same rows as against the real daemon', async () => {
    for (const all of [[], ['-a']]) {
      const args = ['ps', ...all, '--filter', `label=${LABEL}`];
      // The relative times can tick over between the two calls: a few tries for one pair to agree.
      let last = { ours: '', real: '' };
      for (let attempt = 0; attempt < 5; attempt++) {
        const [ours, real] = await Promise.all([cli(agent, ...args), cli(undefined, ...args)]);
        const [oursFmt, realFmt] = await Promise.all([cli(agent, ...args, '--format', psFormat), cli(undefined, ...args, '--format', psFormat)]);
        assert.equal(ours.code, 0, ours.err);
        last = { ours: ours.out + oursFmt.out, real: real.out + realFmt.out };
        if (last.ours === last.real) break;
        await sleep(300);
      }
      assert.equal(last.ours, last.real, `docker ${args.join(' ')}`);
      console.log(`docker ${args.join(' ')} through the agent:\n${last.ours}`);
      assert.equal(last.ours.trim().split('\n').length, all.length ? 11 : 9);
    }
    // The whole daemon, while other runs create and remove containers: everything the daemon had
    // both 2 s before and after the agent's answer is in it, and nothing the daemon never had.
    // Under heavy load an inspect can time out; discovery retries it at its 30 s resync.
    const ids = async (agentOrNot: AgentProcess | undefined) => new Set((await cli(agentOrNot, 'ps', '-a', '-q')).out.split('\n').filter((l) => l !== ''));
    await waitFor(
      'docker ps -a (every container) to agree',
      async () => {
        const real1 = await ids(undefined);
        await sleep(2000);
        const ours = await ids(agent);
        const real2 = await ids(undefined);
        const missing = [...real1].filter((id) => real2.has(id) && !ours.has(id));
        const invented = [...ours].filter((id) => !real1.has(id) && !real2.has(id));
        console.log(`docker ps -a: ${ours.size} containers through the agent, ${real1.size}/${real2.size} through dockerd; missing ${missing.length}, unknown ${invented.length}`);
        return missing.length === 0 && invented.length === 0;
      },
      45_000,
      0,
    );
  });

  test('docker stats --no-stream: the same figures as the real daemon, and the latency of each', async () => {
    const names = ['cs-compat-t-cpu', 'cs-compat-t-mem', 'cs-compat-t-blk', 'cs-compat-t-none', 'cs-compat-t-exited'];
    const args = ['stats', '--no-stream', '--format', '{{json .}}', ...names];
    // Each answer is one ~1 s window: dockerd's lies in the 1-2 s after the request, the agent's
    // is its latest tick. The agent is asked right after dockerd answers, so the two windows
    // nearly coincide; a loaded machine still moves a capped loop by a few points from one second
    // to the next, so CPU is compared as the mean of several rounds. The rest agrees every round.
    // Network counters are compared in the rounds where the kernel's did not move from a second
    // before the first answer's window to the end of the round (a new interface's peer sends IPv6
    // solicitations and reports now and then, and the two answers are read at different instants).
    const cpu = new Map<string, { ours: number[]; real: number[] }>(names.map((n) => [n, { ours: [], real: [] }]));
    const netCompared = new Map<string, number>();
    for (let round = 0; round < 6; round++) {
      const before = kernelNet(names);
      await sleep(1100);
      const start = kernelNet(names);
      const t0 = performance.now();
      const real = await cli(undefined, ...args);
      const t1 = performance.now();
      const ours = await cli(agent, ...args);
      const t2 = performance.now();
      const end = kernelNet(names);
      assert.equal(ours.code, 0, ours.err);
      const a = statsLines(ours.out);
      const d = statsLines(real.out);
      console.log(`docker stats --no-stream (5 containers), round ${round + 1}: ${(t2 - t1).toFixed(0)} ms through the agent, ${(t1 - t0).toFixed(0)} ms through dockerd`);
      for (const name of names) {
        const x = a.find((l) => l.Name === name)!;
        const y = d.find((l) => l.Name === name)!;
        if (round === 0) console.log(`  ${name}: agent ${x.CPUPerc} ${x.MemUsage} ${x.NetIO} ${x.BlockIO} ${x.PIDs} | dockerd ${y.CPUPerc} ${y.MemUsage} ${y.NetIO} ${y.BlockIO} ${y.PIDs}`);
        assert.equal(x.ID, y.ID);
        cpu.get(name)!.ours.push(parseFloat(x.CPUPerc));
        cpu.get(name)!.real.push(parseFloat(y.CPUPerc));
        const [xu, xl] = x.MemUsage.split(' / ');
        const [yu, yl] = y.MemUsage.split(' / ');
        assert.ok(Math.abs(parseSize(xu) - parseSize(yu)) <= 2 * MiB, `${name} memory ${x.MemUsage} vs ${y.MemUsage}`);
        assert.equal(xl, yl, `${name} memory limit`);
        if (before.get(name) === start.get(name) && start.get(name) === end.get(name)) {
          assert.equal(x.NetIO, y.NetIO, `${name} network`);
          netCompared.set(name, (netCompared.get(name) ?? 0) + 1);
        }
        assert.equal(x.BlockIO, y.BlockIO, `${name} block IO`);
        assert.equal(x.PIDs, y.PIDs, `${name} PIDs`);
        if (name === 'cs-compat-t-mem') assert.equal(xl, '64MiB');
        if (name === 'cs-compat-t-exited') assert.equal(x.MemUsage, '0B / 0B');
      }
    }
    for (const [name, { ours, real }] of cpu) {
      console.log(`  ${name} CPU %: agent [${ours.join(' ')}] mean ${mean(ours).toFixed(2)}, dockerd [${real.join(' ')}] mean ${mean(real).toFixed(2)}`);
      assert.ok(Math.abs(mean(ours) - mean(real)) <= 3, `${name} CPU ${mean(ours)} vs ${mean(real)}`);
    }
    console.log(`  NET I/O compared in rounds where the kernel counters were still: ${[...netCompared].map(([n, c]) => `${n} ${c}/6`).join(', ')}`);
    for (const name of names) assert.ok((netCompared.get(name) ?? 0) >= 1, `${name}: network never still long enough to compare`);
    // The busy loop's share depends on the machine's load; the two views must agree (above).
    assert.ok(mean(cpu.get('cs-compat-t-cpu')!.ours) > 5);

    // The API call itself: a non-streaming stats request, agent vs dockerd (printed, not asserted).
    const id = docker('inspect', '-f', '{{.Id}}', 'cs-compat-t-cpu');
    const path = `/v1.41/containers/${id}/stats?stream=false`;
    const oursMs: number[] = [];
    const realMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      oursMs.push(await timedGet(agent, path));
      realMs.push(await timedGet({ socketPath: '/var/run/docker.sock' }, path));
    }
    const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
    console.log(
      `GET /containers/{id}/stats?stream=false: agent median ${median(oursMs).toFixed(1)} ms [${oursMs.map((v) => v.toFixed(1)).join(' ')}], dockerd median ${median(realMs).toFixed(0)} ms [${realMs.map((v) => v.toFixed(0)).join(' ')}]`,
    );
  });

  test('streaming docker stats shows a container started, and drops one stopped, while it runs', async () => {
    // On Docker's default bridge: their start-up multicast must not reach the other test containers.
    runContainer('cs-compat-t-early', ['--network', 'bridge'], ['sleep', '100000']);
    await sleep(1500);
    const env = { ...process.env, DOCKER_HOST: agent.url.replace('http://', 'tcp://') };
    const ds = spawn('docker', ['stats', '--format', '{{.Name}} {{.CPUPerc}} {{.MemUsage}}'], { env });
    let text = '';
    ds.stdout.on('data', (c) => (text += c));
    /** Frames as the CLI redraws them (each starts by moving the cursor home). */
    const frames = () => text.split('\x1b[H').map((f) => f.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').split('\n').map((l) => l.trim()).filter((l) => l !== ''));
    const has = (frame: string[], name: string) => frame.some((l) => l.startsWith(`${name} `));
    try {
      await waitFor('the first frame with cs-compat-t-early', () => frames().some((f) => has(f, 'cs-compat-t-early')), 10_000, 100);
      runContainer('cs-compat-t-late', ['--network', 'bridge'], ['sh', '-c', 'while :; do :; done']);
      const late = await waitFor(
        'cs-compat-t-late with figures',
        () => frames().flatMap((f) => f.filter((l) => l.startsWith('cs-compat-t-late ') && !l.includes('--'))).at(-1),
        10_000,
        100,
      );
      docker('stop', '-t', '0', 'cs-compat-t-early');
      const stoppedAt = frames().length;
      await waitFor('a frame without cs-compat-t-early', () => frames().slice(stoppedAt).some((f) => f.length > 0 && !has(f, 'cs-compat-t-early') && has(f, 'cs-compat-t-late')), 10_000, 100);
      console.log(`streaming: saw "${late}" after start; cs-compat-t-early gone ${frames().length - stoppedAt} frames after docker stop`);
    } finally {
      ds.kill('SIGKILL');
    }
  });

  test('run, start, exec, stop, kill, rm and pause are refused, and the real daemon shows nothing changed', async () => {
    const before = docker('ps', '-a', '--no-trunc', '--filter', `label=${LABEL}`, '--format', '{{.ID}} {{.Names}} {{.State}}');
    const attempts: string[][] = [
      ['run', '-d', '--name', 'cs-compat-t-created', '--label', LABEL, IMAGE, 'sleep', '1'],
      ['create', '--name', 'cs-compat-t-created', IMAGE, 'true'],
      ['start', 'cs-compat-t-exited'],
      ['exec', 'cs-compat-t-none', 'touch', '/tmp/x'],
      ['stop', 'cs-compat-t-none'],
      ['kill', 'cs-compat-t-cpu'],
      ['rm', '-f', 'cs-compat-t-mem'],
      ['pause', 'cs-compat-t-blk'],
      ['rename', 'cs-compat-t-blk', 'cs-compat-t-renamed'],
    ];
    for (const args of attempts) {
      const r = await cli(agent, ...args);
      assert.notEqual(r.code, 0, `docker ${args.join(' ')} succeeded`);
      assert.match(r.err, /Error response from daemon: cstats serves a read-only Docker API: (POST|DELETE) \/v1\.\d+\/\S+ is refused/, `docker ${args.join(' ')}: ${r.err}`);
    }
    const after = docker('ps', '-a', '--no-trunc', '--filter', `label=${LABEL}`, '--format', '{{.ID}} {{.Names}} {{.State}}');
    assert.equal(after, before);
    assert.equal(docker('exec', 'cs-compat-t-none', 'sh', '-c', 'test -e /tmp/x && echo yes || echo no'), 'no');
  });
});
