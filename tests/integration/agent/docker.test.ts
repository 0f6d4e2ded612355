/**
 * The agent against a real Docker daemon: figures compared with the real `docker stats`, with
 * the kernel's own counters, and with known loads. Needs root, dockerd and busybox:local.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { armBlkioAccounting, docker, dockerStats, mean, parseSize, removeTestContainers, run, sleep, startAgent, waitFor, type AgentProcess } from '../support.js';

const MiB = 1024 * 1024;

interface Detail {
  id: string;
  name: string;
  derived: { cpuPercent: number; memoryUsageBytes: number; memoryLimitBytes: number; netRxBytes: number; netTxBytes: number; blockReadBytes: number; blockWriteBytes: number; pids: number };
  limits: { memoryLimitBytes: number | null; cpuQuotaUs: number | null; cpuPeriodUs: number | null };
  network: { kind: string; withId?: string };
  cgroup: { version: number; path: string };
  sample: { timestamp: string; network?: Array<{ name: string; rxBytes: number; txBytes: number; rxPackets: number; txPackets: number }> };
}

/** Host-side peer of a container's eth0: its tx is the container's rx, byte for byte. */
function hostVethOf(container: string): string {
  const peerIndex = docker('exec', container, 'cat', '/sys/class/net/eth0/iflink');
  const name = readdirSync('/sys/class/net').find((n) => readFileSync(`/sys/class/net/${n}/ifindex`, 'utf8').trim() === peerIndex);
  assert.ok(name, `no host interface with ifindex ${peerIndex}`);
  return name;
}

function hostCounter(iface: string, counter: 'rx_bytes' | 'tx_bytes'): number {
  return Number(readFileSync(`/sys/class/net/${iface}/statistics/${counter}`, 'utf8'));
}

describe('agent with a real Docker daemon', () => {
  let agent: AgentProcess;
  const detail = (ref: string) => agent.get<Detail>(`/api/v1/containers/${ref}`);

  before(async () => {
    removeTestContainers();
    agent = await startAgent(['--quiet']);
  });
  after(async () => {
    await agent?.stop();
    removeTestContainers();
  });

  test('a started container is sampled within about a second and a removed one leaves the live list', async () => {
    const t0 = Date.now();
    const id = run('cstats-t-discover', [], ['sleep', '100000']);
    const started = Date.now();
    await waitFor('container in /api/v1/containers', async () => (await agent.get<Array<{ id: string; derived?: unknown }>>('/api/v1/containers')).find((c) => c.id === id && c.derived), 5000, 20);
    const seenAfterMs = Date.now() - started;
    docker('rm', '-f', id);
    const removed = Date.now();
    await waitFor('container gone from the live list', async () => !(await agent.get<Array<{ id: string }>>('/api/v1/containers')).some((c) => c.id === id), 5000, 20);
    const goneAfterMs = Date.now() - removed;
    // Functional bounds from the issue (sampled within 1 s of start, gone within 2 s), with the
    // poll step as slack; the figures are printed for the closing note.
    console.log(`discovery: sampled ${seenAfterMs} ms after docker run returned (${started - t0} ms for docker run), gone ${goneAfterMs} ms after docker rm`);
    assert.ok(seenAfterMs <= 1100, `sampled only ${seenAfterMs} ms after start`);
    assert.ok(goneAfterMs <= 2100, `still listed ${goneAfterMs} ms after removal`);
    // Its history stays readable after removal.
    const gone = await agent.get<{ state: string }>(`/api/v1/containers/${id}`);
    assert.equal(gone.state, 'removed');
  });

  test('--cpus 0.5 busy loop: CPU % between 45 and 55 and within 3 points of docker stats', async () => {
    run('cstats-t-cpu', ['--cpus', '0.5'], ['sh', '-c', 'while :; do :; done']);
    await sleep(3000);
    // Stream the real docker stats for the same window the agent's history covers.
    const windowStart = Date.now();
    const ds = spawn('docker', ['stats', '--format', '{{json .}}', 'cstats-t-cpu']);
    let text = '';
    ds.stdout.on('data', (c) => (text += c));
    await sleep(8000);
    ds.kill('SIGKILL'); // docker stats 28 goes on streaming after SIGTERM
    const windowEnd = Date.now();
    const dockerValues = text
      .replace(/\x1b\[[0-9;]*[A-Za-z]/g, '\n')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => parseFloat((JSON.parse(l) as { CPUPerc: string }).CPUPerc))
      // The CLI redraws each one-second frame several times: keep one value per frame, and
      // drop the first frame, which has no previous sample.
      .filter((v, i, all) => i === 0 || v !== all[i - 1])
      .slice(1);
    const h = await agent.get<{ timestamps: number[]; series: { cpu_percent: number[] } }>(`/api/v1/containers/cstats-t-cpu/history?metrics=cpu_percent&since=${windowStart}`);
    const ours = h.series.cpu_percent.filter((_, i) => h.timestamps[i] <= windowEnd);
    const ourMean = mean(ours);
    const dockerMean = mean(dockerValues);
    console.log(`cpu: cstats mean ${ourMean.toFixed(2)} % over ${ours.length} samples [${ours.map((v) => v.toFixed(1)).join(" ")}], docker stats mean ${dockerMean.toFixed(2)} % over ${dockerValues.length} [${dockerValues.join(" ")}]`);
    assert.ok(ours.length >= 6 && dockerValues.length >= 4, `too few samples: ${ours.length} ours, ${dockerValues.length} docker`);
    assert.ok(ourMean >= 45 && ourMean <= 55, `cstats CPU ${ourMean}`);
    assert.ok(Math.abs(ourMean - dockerMean) <= 3, `cstats ${ourMean} vs docker ${dockerMean}`);
    const d = await detail('cstats-t-cpu');
    assert.equal(d.limits.cpuQuotaUs, 50000);
    assert.equal(d.limits.cpuPeriodUs, 100000);
  });

  test('-m 64m: limit exactly 64 MiB; 40 MiB written to /dev/shm: usage within 2 MiB of docker stats', async () => {
    run('cstats-t-mem', ['-m', '64m'], ['sh', '-c', 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=40 2>/dev/null; sleep 100000']);
    const d = await waitFor('40 MiB charged', async () => {
      const x = await detail('cstats-t-mem');
      return x.derived.memoryUsageBytes >= 40 * MiB ? x : undefined;
    });
    assert.equal(d.limits.memoryLimitBytes, 64 * MiB);
    assert.equal(d.derived.memoryLimitBytes, 64 * MiB);
    const [line] = dockerStats('cstats-t-mem');
    const [usageText, limitText] = line.MemUsage.split(' / ');
    const after = await detail('cstats-t-mem');
    const dockerUsage = parseSize(usageText);
    console.log(`memory: cstats ${(after.derived.memoryUsageBytes / MiB).toFixed(2)} MiB, docker stats ${line.MemUsage}`);
    assert.equal(limitText, '64MiB');
    assert.ok(Math.abs(after.derived.memoryUsageBytes - dockerUsage) <= 2 * MiB, `cstats ${after.derived.memoryUsageBytes} vs docker ${dockerUsage}`);
    assert.ok(after.derived.memoryUsageBytes < 45 * MiB, 'usage far above the 40 MiB written');
    // docker update: the new limit is read at the next tick, not after the 10 s settings period.
    docker('update', '-m', '96m', 'cstats-t-mem');
    const t0 = Date.now();
    await waitFor('the updated limit', async () => ((await detail('cstats-t-mem')).limits.memoryLimitBytes === 96 * MiB ? true : undefined), 4000);
    console.log(`docker update -m 96m seen after ${Date.now() - t0} ms`);
  });

  test('network: a known transfer agrees exactly with the kernel, and a container:X member reports X', async () => {
    run('cstats-t-srv', [], ['sh', '-c', 'mkdir -p /www && head -c 1000000 /dev/zero > /www/f && httpd -f -p 8080 -h /www']);
    run('cstats-t-cli', [], ['sleep', '100000']);
    const member = run('cstats-t-member', ['--network', 'container:cstats-t-cli'], ['sleep', '100000']);
    const ip = docker('inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'cstats-t-srv');
    // Retried until httpd listens; a failed attempt transfers next to nothing.
    await waitFor('the 1,000,000-byte download', () => docker('exec', 'cstats-t-cli', 'wget', '-q', '-O', '/dev/null', `http://${ip}:8080/f`) === '' || undefined);
    const veth = hostVethOf('cstats-t-cli');
    // Exact agreement: take a sample that lies between two identical kernel readings.
    const match = await waitFor(
      'a sample between two identical kernel readings',
      async () => {
        const before = { rx: hostCounter(veth, 'tx_bytes'), tx: hostCounter(veth, 'rx_bytes') };
        const t = Date.now();
        const d = await waitFor('a newer sample', async () => {
          const x = await detail('cstats-t-cli');
          return Date.parse(x.sample.timestamp) > t ? x : undefined;
        });
        const after = { rx: hostCounter(veth, 'tx_bytes'), tx: hostCounter(veth, 'rx_bytes') };
        return before.rx === after.rx && before.tx === after.tx ? { d, kernel: after } : undefined;
      },
      20_000,
    );
    const eth0 = match.d.sample.network!.find((i) => i.name === 'eth0')!;
    console.log(`network: eth0 rx ${eth0.rxBytes} B (host veth ${veth} tx ${match.kernel.rx}), tx ${eth0.txBytes} B`);
    assert.equal(eth0.rxBytes, match.kernel.rx);
    assert.equal(eth0.txBytes, match.kernel.tx);
    assert.ok(eth0.rxBytes >= 1_000_000, 'the 1,000,000-byte file was received');
    assert.equal(match.d.derived.netRxBytes, eth0.rxBytes, 'NET I/O counts eth0 (and not lo)');
    // The member of the shared namespace reports the client's network.
    const m = await detail(member);
    assert.equal(m.network.kind, 'shared');
    const mEth0 = m.sample.network!.find((i) => i.name === 'eth0')!;
    assert.ok(Math.abs(mEth0.rxBytes - eth0.rxBytes) < 2000, `member rx ${mEth0.rxBytes} vs sandbox ${eth0.rxBytes}`);
    const [dl] = dockerStats('cstats-t-cli');
    const dockerRx = parseSize(dl.NetIO.split(' / ')[0]);
    assert.ok(Math.abs(dockerRx - eth0.rxBytes) / eth0.rxBytes < 0.01, `docker stats NET I/O ${dl.NetIO} vs ${eth0.rxBytes}`);
  });

  test('--network host: no interfaces of its own rather than the host\'s; --network none: only lo', async () => {
    run('cstats-t-hostnet', ['--network', 'host'], ['sleep', '100000']);
    run('cstats-t-nonet', ['--network', 'none'], ['sleep', '100000']);
    const host = await waitFor('host-network container sampled', async () => {
      const x = await detail('cstats-t-hostnet');
      return x.sample ? x : undefined;
    });
    assert.equal(host.network.kind, 'host');
    assert.deepEqual(host.sample.network, []);
    assert.equal(host.derived.netRxBytes, 0);
    const none = await waitFor('no-network container sampled', async () => {
      const x = await detail('cstats-t-nonet');
      return x.sample ? x : undefined;
    });
    assert.deepEqual(none.sample.network!.map((i) => i.name), ['lo']);
    assert.equal(none.derived.netRxBytes, 0);
  });

  test('block IO: 16 MiB written with oflag=direct agrees with blkio and docker stats', async () => {
    // cgroup v1 on current kernels counts nothing for a disk until a throttle rule was written once.
    armBlkioAccounting('/var/lib/docker');
    run('cstats-t-blk', [], ['sh', '-c', 'dd if=/dev/zero of=/data.bin bs=1M count=16 oflag=direct 2>/dev/null; sleep 100000']);
    const d = await waitFor('16 MiB written', async () => {
      const x = await detail('cstats-t-blk');
      return x.derived.blockWriteBytes >= 16 * MiB ? x : undefined;
    });
    // This machine is cgroup v1 (the v2 path is covered by the VM test).
    const kernel = readFileSync(`/sys/fs/cgroup/blkio${d.cgroup.path}/blkio.throttle.io_service_bytes_recursive`, 'utf8');
    const kernelWrite = kernel
      .split('\n')
      .filter((l) => / Write /.test(l))
      .reduce((sum, l) => sum + Number(l.split(' ')[2]), 0);
    console.log(`block IO: cstats write ${d.derived.blockWriteBytes} B, kernel ${kernelWrite} B`);
    assert.equal(d.derived.blockWriteBytes, kernelWrite);
    const [line] = dockerStats('cstats-t-blk');
    const dockerWrite = parseSize(line.BlockIO.split(' / ')[1]);
    assert.ok(Math.abs(dockerWrite - d.derived.blockWriteBytes) / d.derived.blockWriteBytes < 0.01, `docker stats ${line.BlockIO}`);
  });
});
