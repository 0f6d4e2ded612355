/**
 * systemd-nspawn (and any other machined-registered container) by its machine name, from the
 * files systemd-machined keeps in /run/systemd/machines: one env-style file per machine
 * (NAME, SCOPE, CLASS, LEADER, ROOT, ...), beside "unit:<scope>" links. The scope's cgroup
 * comes from the leader's pid; its id is the one the cgroup walk gives that scope, so the walk's
 * entry (named after the escaped unit, machine-<name>.scope) gives way to this one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { ContainerInfo } from '../model.js';
import { idFromPath } from './classify.js';
import type { LocateCgroup } from './types.js';
import { WatchedFilesDiscoverer } from './watched-files.js';
import { netnsInode, networkOfPid } from './cgroupfs.js';
import type { Logger } from '../log.js';

/** KEY=VALUE lines as systemd writes them (values unquoted; no continuation lines). */
export function parseMachineFile(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && !line.startsWith('#')) out.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return out;
}

/** A machine file's container, or undefined for a VM, the host, or a machine whose leader is gone. */
export function machineContainer(fields: Map<string, string>, locate: LocateCgroup, hostNetns: number | undefined): ContainerInfo | undefined {
  if (fields.get('CLASS') !== 'container') return undefined;
  const name = fields.get('NAME');
  const pid = Number(fields.get('LEADER'));
  if (!name || !Number.isInteger(pid) || pid <= 0) return undefined;
  const cgroup = locate(pid);
  if (!cgroup) return undefined;
  const realtimeUs = Number(fields.get('REALTIME'));
  return {
    id: idFromPath(cgroup.path),
    name,
    runtime: 'nspawn',
    kind: 'nspawn',
    image: fields.get('ROOT') ?? '',
    labels: {},
    state: 'running',
    cgroup,
    pid,
    network: networkOfPid(pid, hostNetns),
    createdMs: Number.isFinite(realtimeUs) ? Math.floor(realtimeUs / 1000) : 0,
    startedMs: Number.isFinite(realtimeUs) ? Math.floor(realtimeUs / 1000) : undefined,
    mounts: [],
  };
}

export class MachinedDiscoverer extends WatchedFilesDiscoverer {
  readonly name = 'machined';
  private readonly hostNetns = netnsInode('self');

  constructor(
    private readonly locate: LocateCgroup,
    log: Logger,
    private readonly dir = '/run/systemd/machines',
  ) {
    super({ dirs: [dir] }, log);
  }

  protected load(): { containers: ContainerInfo[]; detail: string } {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { containers: [], detail: `no ${this.dir} (systemd-machined not running)` };
      throw new Error(`cannot list ${this.dir}: ${(err as Error).message}`);
    }
    const containers: ContainerInfo[] = [];
    for (const n of names) {
      if (n.startsWith('unit:')) continue;
      let text: string;
      try {
        text = readFileSync(`${this.dir}/${n}`, 'utf8');
      } catch {
        continue; // removed while listing
      }
      const c = machineContainer(parseMachineFile(text), this.locate, this.hostNetns);
      if (c) containers.push(c);
    }
    return { containers, detail: `reading ${this.dir}` };
  }
}
