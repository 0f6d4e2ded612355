/**
 * `docker info` (the real docker CLI 28.x) through the agent against the same CLI on the real
 * dockerd (Debian's 20.10): with Docker discovery on, every line is dockerd's except what the
 * agent itself is (Server Version, and the container counts it lists itself), and the CLI prints
 * the same warnings (none where dockerd has none). With --no-docker, the agent's /info carries
 * only what it measured on the host, and each of those fields equals dockerd's; the CLI's only
 * warning is that dockerd could not be asked. dockerd is asked through its own API for the
 * comparison. Needs root and dockerd (scripts/testbed.sh).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { DockerClient } from '../../../src/runtimes/docker-client.js';
import { startAgent, waitFor, type AgentProcess } from '../support.js';

const execFileP = promisify(execFile);
const agents: AgentProcess[] = [];

after(async () => {
  for (const a of agents) await a.stop();
});

async function cli(agent: AgentProcess | undefined, ...args: string[]): Promise<{ out: string; err: string }> {
  const env = { ...process.env };
  delete env.DOCKER_HOST;
  if (agent) env.DOCKER_HOST = agent.url.replace('http://', 'tcp://');
  const { stdout, stderr } = await execFileP('docker', args, { env, encoding: 'utf8' });
  return { out: stdout, err: stderr };
}

/**
 * The Server section of `docker info`, one line each. The CLI prints Runtimes by ranging over a
 * Go map, in an order that changes from run to run: its names are sorted here.
 */
function serverLines(text: string): string[] {
  const server = text.slice(text.indexOf('\nServer:'));
  return server
    .split('\n')
    .slice(1)
    .filter((l) => l.trim() !== '')
    .map((l) => (l.startsWith(' Runtimes: ') ? ` Runtimes: ${l.slice(11).split(' ').sort().join(' ')}` : l));
}

/** Lines that are the agent's own: its version, and counts of what it lists itself. */
const OWN = /^ (Server Version|Containers|  Running|  Paused|  Stopped):/;

async function infoJson(agent: AgentProcess | undefined): Promise<Record<string, unknown>> {
  return JSON.parse((await cli(agent, 'info', '--format', '{{json .}}')).out) as Record<string, unknown>;
}

test('docker info through the agent: dockerd\'s answer line for line, the same warnings, the agent\'s own version and counts', async () => {
  // Plain-cgroup discovery is not what this is about (and is slow on a host with thousands of cgroups).
  const agent = await startAgent(['--no-cgroups']);
  agents.push(agent);
  const [real, through] = await Promise.all([cli(undefined, 'info'), cli(agent, 'info')]);
  const differing = serverLines(through.out).filter((l, i) => !OWN.test(l) && l !== serverLines(real.out)[i]);
  assert.deepEqual(differing, [], `through the agent:\n${through.out}\nreal:\n${real.out}`);
  assert.equal(serverLines(through.out).length, serverLines(real.out).length);
  assert.match(through.out, /^ Server Version: \d+\.\d+\.\d+-cstats$/m);
  assert.equal(through.err, real.err, 'the same warnings as dockerd');
  assert.doesNotMatch(through.err, /WARNING/.test(real.err) ? /$^/ : /WARNING/);

  // The counts are the containers the agent lists (docker ps -a through it), at the same moment.
  await waitFor('the agent and its own list to agree', async () => {
    const j = await infoJson(agent);
    const listed = (await cli(agent, 'ps', '-aq')).out.split('\n').filter((l) => l !== '').length;
    return j.Containers === listed || undefined;
  });
  const j = await infoJson(agent);
  assert.equal(j.NGoroutines, 0, 'dockerd\'s goroutines are not the agent\'s: left out (the CLI shows Go\'s zero)');
  assert.ok(typeof j.NFd === 'number' && j.NFd > 3, `the agent's own descriptors: ${j.NFd}`);
});

/** The fields the agent measures on the host itself when dockerd cannot be asked. */
const HOST_FIELDS = [
  'MemoryLimit', 'SwapLimit', 'CpuCfsPeriod', 'CpuCfsQuota', 'CPUShares', 'CPUSet', 'PidsLimit', 'OomKillDisable',
  'IPv4Forwarding', 'BridgeNfIptables', 'BridgeNfIp6tables', 'CgroupVersion', 'KernelVersion', 'OperatingSystem',
  'OSVersion', 'OSType', 'Architecture', 'NCPU', 'MemTotal', 'Name',
];

test('without Docker: only what the agent measured, each equal to dockerd\'s; one warning that says why', async () => {
  const agent = await startAgent(['--no-docker', '--no-cgroups']);
  agents.push(agent);
  await waitFor('a host sample', async () => ((await agent.get<{ cpu?: unknown }>('/api/v1/machine')).cpu ? true : undefined));
  const res = await fetch(`${agent.url}/info`);
  const raw = (await res.json()) as Record<string, unknown>;
  // dockerd's own API answer (the CLI 28 drops the BridgeNf* fields from its JSON).
  const real = await new DockerClient().get<Record<string, unknown>>('/info');
  const own = ['Containers', 'ContainersRunning', 'ContainersPaused', 'ContainersStopped', 'NFd', 'SystemTime', 'NEventsListener', 'ServerVersion', 'Warnings'];
  assert.deepEqual(Object.keys(raw).sort(), [...HOST_FIELDS, ...own].sort(), 'nothing but measured fields');
  const differing = HOST_FIELDS.filter((k) => JSON.stringify(raw[k]) !== JSON.stringify(real[k])).map((k) => `${k}: cstats ${JSON.stringify(raw[k])}, dockerd ${JSON.stringify(real[k])}`);
  assert.deepEqual(differing, []);
  const { err } = await cli(agent, 'info');
  const warnings = err.split('\n').filter((l) => l.startsWith('WARNING'));
  assert.equal(warnings.length, 1, err);
  assert.match(warnings[0], /could not ask the Docker daemon \(Docker discovery is off\)/);
});
