/**
 * How long a non-streaming stats answer takes from the agent's Docker-compatible API and from
 * dockerd, for the same containers: the Engine API call itself (stream=false, which dockerd
 * answers after two of its samples, and one-shot=true, after one), all containers at once, and
 * the real `docker stats --no-stream` CLI pointed at each. Prints figures and ratios, asserts
 * nothing. Needs root, dockerd and busybox:local (scripts/testbed.sh) and a built tree:
 *
 *   npm run build && node dist/bench/docker-compat/oneshot.js [containers=20] [rounds=5]
 */
import { execFile, spawn } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../../tests/integration/support.js';
import { median } from '../stats.js';

const execFileP = promisify(execFile);
// Started through its #! line, as users start it (node's flags and glibc's trim threshold).
const BIN = fileURLToPath(new URL('../../../bin/cstats.js', import.meta.url));
const LABEL = 'cstats.bench-compat=1';
const DOCKERD = { socketPath: '/var/run/docker.sock' };

async function docker(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const base = { ...process.env };
  delete base.DOCKER_HOST;
  const { stdout } = await execFileP('docker', args, { env: { ...base, ...env }, encoding: 'utf8', maxBuffer: 64 << 20 });
  return stdout.trim();
}

async function cleanup(): Promise<void> {
  const ids = await docker(['ps', '-aq', '--filter', `label=${LABEL}`]);
  if (ids) await docker(['rm', '-f', ...ids.split('\n')]);
}

/** One GET answered in full; resolves with the elapsed milliseconds. */
function timedGet(target: { port: number } | typeof DOCKERD, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const opts = 'port' in target ? { host: '127.0.0.1', port: target.port, path } : { socketPath: target.socketPath, path, headers: { Host: 'docker' } };
    const req = request(opts, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`${path}: ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

function summary(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  const fmt = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(0));
  return `median ${fmt(at(0.5))} ms, p95 ${fmt(at(0.95))} ms, max ${fmt(s[s.length - 1])} ms`;
}


async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 20);
  const rounds = Number(process.argv[3] ?? 5);
  await cleanup();
  const names = Array.from({ length: n }, (_, i) => `cs-bench-compat-${i}`);
  const ids: string[] = [];
  for (const name of names) ids.push(await docker(['run', '-d', '--name', name, '--label', LABEL, 'busybox:local', 'sleep', '100000']));
  const port = await freePort();
  const agentProc = spawn(BIN, ['agent', '--listen', `127.0.0.1:${port}`, '--no-cgroups', '--quiet'], { stdio: 'ignore' });
  const agent = { port };
  try {
    for (let ready = false; !ready; await new Promise((r) => setTimeout(r, 200))) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/containers`);
        const list = (await res.json()) as Array<{ id: string; derived?: unknown }>;
        ready = ids.every((id) => list.find((c) => c.id === id)?.derived);
      } catch {
        // not listening yet
      }
    }
    await new Promise((r) => setTimeout(r, 1500));
    console.log(`${n} containers, ${rounds} rounds; dockerd ${await docker(['version', '-f', '{{.Server.Version}}'])}`);

    for (const query of ['stream=false', 'stream=false&one-shot=true']) {
      const ours: number[] = [];
      const theirs: number[] = [];
      for (let r = 0; r < rounds; r++) {
        for (const id of ids.slice(0, Math.min(ids.length, 5))) {
          ours.push(await timedGet(agent, `/v1.41/containers/${id}/stats?${query}`));
          theirs.push(await timedGet(DOCKERD, `/v1.41/containers/${id}/stats?${query}`));
        }
      }
      console.log(`GET /containers/{id}/stats?${query}, one at a time:`);
      console.log(`  agent  ${summary(ours)}`);
      console.log(`  dockerd ${summary(theirs)}  (${(median(theirs) / median(ours)).toFixed(0)}x the agent's median)`);
    }

    const all = async (target: { port: number } | typeof DOCKERD) => {
      const t0 = performance.now();
      await Promise.all(ids.map((id) => timedGet(target, `/v1.41/containers/${id}/stats?stream=false`)));
      return performance.now() - t0;
    };
    const oursAll: number[] = [];
    const theirsAll: number[] = [];
    for (let r = 0; r < rounds; r++) {
      oursAll.push(await all(agent));
      theirsAll.push(await all(DOCKERD));
    }
    console.log(`all ${n} at once (stream=false): agent ${summary(oursAll)}; dockerd ${summary(theirsAll)}`);

    const cli = async (env: NodeJS.ProcessEnv) => {
      const t0 = performance.now();
      await docker(['stats', '--no-stream', ...names], env);
      return performance.now() - t0;
    };
    const oursCli: number[] = [];
    const theirsCli: number[] = [];
    for (let r = 0; r < rounds; r++) {
      oursCli.push(await cli({ DOCKER_HOST: `tcp://127.0.0.1:${port}` }));
      theirsCli.push(await cli({}));
    }
    console.log(`docker stats --no-stream (${n} containers, the CLI's whole run): through the agent ${summary(oursCli)}; through dockerd ${summary(theirsCli)}`);
  } finally {
    agentProc.kill('SIGTERM');
    await cleanup();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
