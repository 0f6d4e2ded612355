/** The Docker side: idle benchmark containers, and the daemons that serve `docker stats`. */
import { pidsByComm, processProbe, type CpuProbe } from './cpu.js';
import { PREFIX, run } from './children.js';

/** Only this benchmark's containers: the label's value is the prefix. */
export const BENCH_LABEL = `cstats.bench=${PREFIX}`;
const IMAGE = 'busybox:local';
const PARALLEL_RUNS = 8;

export async function dockerAvailable(): Promise<boolean> {
  try {
    await run('docker', ['version', '--format', '{{.Server.Version}}'], 10_000);
    return true;
  } catch {
    return false;
  }
}

/** Starts n idle containers (a few `docker run` at a time); resolves with their ids. */
export async function startContainers(n: number): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      const out = await run('docker', ['run', '-d', '--label', BENCH_LABEL, '--name', `${PREFIX}-${i}`, IMAGE, 'sleep', '100000']);
      ids.push(out.trim());
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_RUNS, n) }, worker));
  return ids;
}

export async function removeContainers(): Promise<number> {
  const ids = (await run('docker', ['ps', '-aq', '--filter', `label=${BENCH_LABEL}`])).split('\n').filter((l) => l !== '');
  if (ids.length > 0) await run('docker', ['rm', '-f', ...ids]);
  return ids.length;
}

/** Running containers on the host, the benchmark's and anyone else's: what `docker stats` streams. */
export async function runningContainers(): Promise<number> {
  return (await run('docker', ['ps', '-q'])).split('\n').filter((l) => l !== '').length;
}

/** dockerd and containerd, the two daemons `docker stats` goes through. */
export const daemonsProbe: CpuProbe = processProbe('dockerd+containerd', () => [...pidsByComm('dockerd'), ...pidsByComm('containerd')]);

/** One containerd-shim-runc-v2 per container: it reads the cgroup files for containerd's Metrics call. */
export const shimsProbe: CpuProbe = processProbe('containerd-shim', () => pidsByComm('containerd-shim'));
