/**
 * GET /containers/{id}/json from the agent against the real dockerd's answer for the same
 * containers, field by field: every field the agent writes holds dockerd's value (times to the
 * nanosecond, HostConfig as given: --cpus is NanoCpus, not a quota), in dockerd's key order; the
 * fields it does not keep are absent rather than made up, and Config.Env is never served. The
 * unmodified `docker inspect` reads both alike. Needs root, dockerd and busybox:local.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { promisify } from 'node:util';
import { IMAGE, docker, startAgent, waitFor, type AgentProcess } from '../support.js';

const execFileP = promisify(execFile);
const LABEL = 'cstats.inspect-test=1';
const NETWORK = 'cs-inspect-t-net';

function cleanup(): void {
  const ids = docker('ps', '-aq', '--filter', `label=${LABEL}`);
  if (ids) docker('rm', '-f', ...ids.split('\n'));
  if (docker('network', 'ls', '-q', '--filter', `name=^${NETWORK}$`)) docker('network', 'rm', NETWORK);
}

function dockerd(path: string): Promise<any> {
  return new Promise((resolve, reject) => {
    request({ socketPath: '/var/run/docker.sock', path, headers: { Host: 'docker' } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(JSON.parse(body)));
    })
      .on('error', reject)
      .end();
  });
}

/** Every leaf of a JSON value by its dotted path (arrays and empty objects are leaves). */
function leaves(v: unknown, path = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) {
    for (const [k, x] of Object.entries(v)) leaves(x, path ? `${path}.${k}` : k, out);
  } else out.set(path, v);
  return out;
}

const byDestination = (mounts: any[]) => [...mounts].sort((a, b) => (a.Destination < b.Destination ? -1 : 1));

/** docker run options and command of each test container. */
const CONTAINERS: Record<string, { args: string[]; cmd: string[] }> = {
  // Published port, --cpus (NanoCpus) and a memory limit, an environment that must not leak.
  'cs-inspect-t-web': { args: ['-p', '18093:80', '--cpus', '0.5', '-m', '64m', '-e', 'SECRET=do-not-serve', '--label', 'tier=web'], cmd: ['sleep', '100000'] },
  // No network, a bind mount, quota and period given as such, shares, an entrypoint.
  'cs-inspect-t-none': { args: ['--network', 'none', '-v', '/tmp:/data:ro', '--cpu-quota', '20000', '--cpu-period', '50000', '--cpu-shares', '512', '--entrypoint', 'sleep'], cmd: ['100000'] },
  // A user-defined dual-stack network: aliases, addresses asked for (IPAMConfig), IPv6, a legacy
  // link, and no top-level bridge endpoint.
  'cs-inspect-t-net': {
    args: ['--network', NETWORK, '--ip', '172.31.250.10', '--ip6', 'fd00:c5a7::10', '--link', 'cs-inspect-t-web:web', '--memory', '32m', '--memory-swap', '64m'],
    cmd: ['sleep', '100000'],
  },
  'cs-inspect-t-exited': { args: [], cmd: ['sh', '-c', 'exit 3'] },
};

describe('docker inspect: the agent against dockerd', () => {
  let agent: AgentProcess;
  const ids = new Map<string, string>();

  before(async () => {
    cleanup();
    docker('network', 'create', '--ipv6', '--subnet', '172.31.250.0/24', '--subnet', 'fd00:c5a7::/64', NETWORK);
    for (const [name, { args, cmd }] of Object.entries(CONTAINERS)) ids.set(name, docker('run', '-d', '--name', name, '--label', LABEL, ...args, IMAGE, ...cmd));
    assert.equal(docker('wait', 'cs-inspect-t-exited'), '3');
    agent = await startAgent(['--quiet', '--no-cgroups']);
    await waitFor(
      'every test container known in its current state',
      async () => {
        const list = await agent.get<Array<{ name: string; state: string }>>('/api/v1/containers?all=1');
        return Object.keys(CONTAINERS).every((n) => list.some((c) => c.name === n && c.state === (n === 'cs-inspect-t-exited' ? 'exited' : 'running')));
      },
      20_000,
      100,
    );
  });
  after(async () => {
    await agent?.stop();
    cleanup();
  });

  for (const name of Object.keys(CONTAINERS)) {
    test(`${name}: every field the agent writes is dockerd's, in dockerd's order`, async () => {
      const theirs = await dockerd(`/containers/${ids.get(name)}/json`);
      const ours = await agent.get<any>(`/containers/${ids.get(name)}/json`);
      assert.deepEqual(byDestination(ours.Mounts), byDestination(theirs.Mounts), 'Mounts');
      const want = leaves({ ...theirs, Mounts: [] });
      const got = leaves({ ...ours, Mounts: [] });
      const differing = [...got].filter(([path, v]) => JSON.stringify(v) !== JSON.stringify(want.get(path))).map(([path, v]) => `${path}: ours ${JSON.stringify(v)}, dockerd ${JSON.stringify(want.get(path))}`);
      assert.deepEqual(differing, []);
      for (const key of ['', 'State', 'HostConfig', 'Config', 'NetworkSettings']) {
        const o = key ? ours[key] : ours;
        assert.deepEqual(Object.keys(o), Object.keys(key ? theirs[key] : theirs).filter((k) => k in o), `${key || 'top-level'} key order`);
      }
      assert.equal(ours.Config.Env, undefined);
      const kept = [...got.keys()].filter((p) => want.has(p)).length;
      console.log(`${name}: ${kept} of dockerd's ${want.size} leaves served, all equal; left out e.g. ${[...want.keys()].filter((p) => !got.has(p)).slice(0, 4).join(', ')}`);
    });
  }

  test('the settings are the ones given: --cpus as NanoCpus, quota and period as such, memory and swap', async () => {
    const hc = async (name: string) => (await agent.get<any>(`/containers/${ids.get(name)}/json`)).HostConfig;
    assert.deepEqual(await hc('cs-inspect-t-web'), { NetworkMode: 'default', CpuShares: 0, Memory: 64 * 2 ** 20, NanoCpus: 500_000_000, CpuPeriod: 0, CpuQuota: 0, MemorySwap: 128 * 2 ** 20 });
    assert.deepEqual(await hc('cs-inspect-t-none'), { NetworkMode: 'none', CpuShares: 512, Memory: 0, NanoCpus: 0, CpuPeriod: 50000, CpuQuota: 20000, MemorySwap: 0 });
    const net = await agent.get<any>(`/containers/${ids.get('cs-inspect-t-net')}/json`);
    const endpoint = net.NetworkSettings.Networks[NETWORK];
    assert.deepEqual(endpoint.Aliases, [ids.get('cs-inspect-t-net')!.slice(0, 12)]);
    assert.deepEqual(endpoint.IPAMConfig, { IPv4Address: '172.31.250.10', IPv6Address: 'fd00:c5a7::10' });
    assert.deepEqual(
      [endpoint.IPAddress, endpoint.IPPrefixLen, endpoint.GlobalIPv6Address, endpoint.GlobalIPv6PrefixLen, endpoint.IPv6Gateway],
      ['172.31.250.10', 24, 'fd00:c5a7::10', 64, 'fd00:c5a7::1'],
    );
    assert.deepEqual(endpoint.Links, ['cs-inspect-t-web:web'], 'as given, where HostConfig.Links says /cs-inspect-t-web:/cs-inspect-t-net/web');
    assert.equal(net.NetworkSettings.IPAddress, '', 'the top-level endpoint is the default bridge\'s only');
    // dockerd's list writes no aliases where its inspect answer has them.
    const filter = encodeURIComponent(JSON.stringify({ name: ['cs-inspect-t-net'] }));
    const [listed] = await agent.get<any[]>(`/containers/json?filters=${filter}`);
    const [listedByDockerd] = await dockerd(`/containers/json?filters=${filter}`);
    assert.deepEqual(listed.NetworkSettings, listedByDockerd.NetworkSettings);
  });

  test('the docker CLI reads the same through the agent', async () => {
    const format = '{{.Name}} {{.Created}} {{.State.StartedAt}} {{.HostConfig.NanoCpus}} {{.Config.Cmd}} {{.GraphDriver.Data.MergedDir}} {{.NetworkSettings.IPAddress}} {{.LogPath}}';
    const env = { ...process.env, DOCKER_HOST: agent.url.replace('http://', 'tcp://') };
    const { stdout } = await execFileP('docker', ['inspect', '-f', format, 'cs-inspect-t-web'], { env, encoding: 'utf8' });
    assert.equal(stdout.trim(), docker('inspect', '-f', format, 'cs-inspect-t-web'));
  });
});
