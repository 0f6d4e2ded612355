/**
 * cAdvisor's MachineInfo from the agent against what the host's own tools say: lscpu (sockets,
 * cores per socket, CPUs), /proc/cpuinfo's clock, lsblk (disks: major:minor, size in bytes,
 * scheduler) and `ip -j link` (NICs: MAC and MTU), each filtered as cAdvisor filters them.
 * Needs root (scripts/testbed.sh installs nothing more: util-linux and iproute2 are Debian's base).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { startAgent, waitFor, type AgentProcess } from '../support.js';

let agent: AgentProcess;

before(async () => {
  agent = await startAgent(['--no-docker', '--no-cgroups']);
});
after(async () => agent?.stop());

const run = (cmd: string, ...args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8' });

test('MachineInfo: CPUs, sockets, physical cores, clock, disks and NICs as lscpu, lsblk and ip see them', async () => {
  const mi = await waitFor('MachineInfo', () => agent.get<Record<string, any>>('/api/v1.3/machine'));
  // util-linux 2.38 writes a flat list; later ones nest fields under "children".
  type Field = { field: string; data: string; children?: Field[] };
  const flat = (fs: Field[]): Field[] => fs.flatMap((f) => [f, ...flat(f.children ?? [])]);
  const lscpu = new Map(flat(JSON.parse(run('lscpu', '-J')).lscpu as Field[]).map((f) => [f.field.replace(/:$/, ''), f.data]));
  const sockets = Number(lscpu.get('Socket(s)'));
  assert.equal(mi.num_cores, Number(lscpu.get('CPU(s)')));
  assert.equal(mi.num_sockets, sockets);
  assert.equal(mi.num_physical_cores, sockets * Number(lscpu.get('Core(s) per socket')));
  assert.equal(mi.topology.flatMap((n: any) => n.cores).length, mi.num_physical_cores);
  assert.deepEqual(mi.topology.flatMap((n: any) => n.cores.flatMap((c: any) => c.thread_ids)).sort(), Array.from({ length: mi.num_cores }, (_, i) => i));
  const mhz = /^cpu MHz\s*:\s*([\d.]+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  let maxKhz: number | undefined;
  try {
    maxKhz = Number(readFileSync('/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq', 'utf8'));
  } catch {
    // no cpufreq (a VM): cAdvisor takes cpuinfo's MHz
  }
  assert.equal(mi.cpu_frequency_khz, maxKhz ?? (mhz ? Math.trunc(Number(mhz[1]) * 1000) : undefined));
  console.log(`MachineInfo: ${mi.num_cores} CPUs, ${mi.num_physical_cores} cores, ${mi.num_sockets} socket(s), ${mi.cpu_frequency_khz} kHz; lscpu: ${lscpu.get('CPU(s)')} CPUs, ${lscpu.get('Core(s) per socket')} cores a socket, ${sockets} socket(s)`);

  const lsblk = (JSON.parse(run('lsblk', '-b', '-d', '-J', '-o', 'NAME,MAJ:MIN,SIZE,SCHED')).blockdevices as any[]).filter((d) => !/^(loop|ram|sr)/.test(d.name));
  const disks = Object.values(mi.disk_map as Record<string, any>);
  assert.deepEqual(
    disks.map((d) => [d.name, `${d.major}:${d.minor}`, d.size, d.scheduler]).sort(),
    lsblk.map((d) => [d.name, d['maj:min'], Number(d.size), d.sched ?? 'none']).sort(),
  );

  // Read at the same moment as the agent's answer: veth devices come and go with other containers (filtered anyway).
  const links = (JSON.parse(run('ip', '-j', 'link', 'show')) as any[]).filter((l) => !/^(lo|veth|docker|nerdctl)/.test(l.ifname));
  const nics = mi.network_devices as any[];
  const byName = new Map(links.map((l) => [l.ifname, l]));
  for (const n of nics) {
    const l = byName.get(n.name);
    if (!l) continue; // removed between the two reads
    assert.equal(n.mac_address, l.address ?? '', n.name);
    assert.equal(n.mtu, l.mtu, n.name);
  }
  assert.ok(nics.some((n) => n.name === 'eth0' || byName.has(n.name)), 'the host\'s NICs are there');
  assert.equal(mi.nvm, undefined, 'never read, so never written');
});

test('/metrics: machine_cpu_physical_cores and machine_cpu_sockets as `lscpu -p=CORE,SOCKET` counts them', async () => {
  const rows = run('lscpu', '-p=CORE,SOCKET').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  const cores = new Set(rows.map((r) => r.split(',').reverse().join(':'))).size;
  const sockets = new Set(rows.map((r) => r.split(',')[1])).size;
  const text = await waitFor('machine series', async () => {
    const body = await (await fetch(`${agent.url}/metrics`)).text();
    return body.includes('machine_cpu_cores{') ? body : undefined;
  });
  const value = (name: string): number | undefined => {
    const m = new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  console.log(`/metrics: ${value('machine_cpu_physical_cores')} physical cores, ${value('machine_cpu_sockets')} socket(s); lscpu -p: ${cores} cores, ${sockets} socket(s)`);
  assert.equal(value('machine_cpu_physical_cores'), cores);
  assert.equal(value('machine_cpu_sockets'), sockets);
  assert.equal(value('machine_cpu_cores'), rows.length);
});
