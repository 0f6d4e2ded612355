/**
 * /info's body: dockerd's own answer with only the agent's own figures replaced; without
 * dockerd, only measured host facts, with dockerd's warnings for the false ones and one saying
 * why dockerd was not asked.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { infoJson, type InfoInputs } from '../../../src/api/docker/system.js';
import type { HostInfoFacts } from '../../../src/collector/machine.js';
import type { ContainerEntry } from '../../../src/store/store.js';

const entries = [
  { info: { runtime: 'docker', state: 'running' } },
  { info: { runtime: 'docker', state: 'exited' } },
  { info: { runtime: 'cgroupfs', state: 'running' } },
] as unknown as ContainerEntry[];
const base: Omit<InfoInputs, 'source'> = {
  facts: { serverVersion: '0.1.0-cstats', cgroupVersion: 1, cpus: 2, memTotalBytes: 1n << 33n },
  entries,
  eventListeners: 1,
  nowMs: Date.UTC(2026, 11, 4),
  openFds: 40,
};

test('with dockerd: its fields as given, the agent\'s own replaced, goroutines left out', () => {
  const daemon = { ID: 'X', Containers: 9, Images: 23, Driver: 'overlay2', NGoroutines: 48, NFd: 38, ServerVersion: '20.10.24', SwapLimit: true, Warnings: null };
  const body = infoJson({ ...base, source: { daemon } }) as Record<string, unknown>;
  assert.deepEqual(
    { ...body },
    { ID: 'X', Containers: 2, Images: 23, Driver: 'overlay2', NFd: 40, ServerVersion: '0.1.0-cstats', SwapLimit: true, Warnings: null, ContainersRunning: 1, ContainersPaused: 0, ContainersStopped: 1, SystemTime: '2026-12-04T00:00:00.000Z', NEventsListener: 1 },
  );
});

test('without dockerd: measured facts only, dockerd\'s warnings for the false ones', () => {
  const host: HostInfoFacts = {
    os: { name: 'Debian GNU/Linux 12 (bookworm)', version: '12' },
    ipv4Forwarding: false,
    bridgeNfIptables: undefined,
    bridgeNfIp6tables: true,
    cgroups: { MemoryLimit: true, SwapLimit: false, CpuCfsPeriod: true, CpuCfsQuota: true, CPUShares: true, CPUSet: true, PidsLimit: true, OomKillDisable: true },
  };
  const body = JSON.parse(JSON.stringify(infoJson({ ...base, source: { daemonError: 'connect ENOENT /var/run/docker.sock', host } }), (_k, v) => (typeof v === 'bigint' ? Number(v) : v)));
  for (const made of ['Images', 'Driver', 'DockerRootDir', 'CgroupDriver', 'LoggingDriver', 'BridgeNfIptables', 'NGoroutines']) assert.equal(body[made], undefined, made);
  assert.equal(body.OperatingSystem, 'Debian GNU/Linux 12 (bookworm)');
  assert.equal(body.NCPU, 2);
  assert.equal(body.IPv4Forwarding, false);
  assert.deepEqual(body.Warnings, [
    'WARNING: cstats could not ask the Docker daemon (connect ENOENT /var/run/docker.sock): only what cstats measured on the host is shown',
    'WARNING: No swap limit support',
    'WARNING: IPv4 forwarding is disabled',
  ]);
});
