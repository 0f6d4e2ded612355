/**
 * The host's own figures, and the two that every container sample needs from the same tick:
 * Docker's system_cpu_usage and online_cpus, both from /proc/stat.
 */
import { KernelFile } from '../kernel/kept-file.js';
import { parseProcStat } from '../kernel/proc/stat.js';
import { parseMeminfo } from '../kernel/proc/meminfo.js';
import { parseLoadAvg } from '../kernel/proc/loadavg.js';
import { parseDiskstats } from '../kernel/proc/diskstats.js';
import { parseNetDev } from '../kernel/proc/netdev.js';
import { ticksToNs } from '../kernel/proc/userhz.js';
import { keyValueOf, LineMemo } from '../kernel/parse.js';
import type { DiskStat, NetInterfaceStats, ProcStat, ProcStatCpu } from '../kernel/types.js';
import type { FsStats } from '../kernel/types.js';
import type { HostSample } from '../model.js';

/**
 * dockerd's system_cpu_usage: the first seven columns of the "cpu" line (user nice system idle
 * iowait irq softirq; steal and guest are left out) converted from USER_HZ ticks to ns.
 */
export function systemCpuNs(cpu: ProcStatCpu): bigint {
  return ticksToNs(cpu.user + cpu.nice + cpu.system + cpu.idle + cpu.iowait + cpu.irq + cpu.softirq);
}

export class HostReader {
  private readonly stat = new KernelFile('/proc/stat');
  private readonly meminfo = new KernelFile('/proc/meminfo');
  private readonly loadavg = new KernelFile('/proc/loadavg');
  private readonly diskstats = new KernelFile('/proc/diskstats');
  // The host's network namespace is init's: the same as the agent's own on the host, and still
  // the host's when the agent runs in a container of its own network with --pid host.
  private readonly netdev = new KernelFile('/proc/1/net/dev');
  // A veth per container on the host's net/dev, most of them idle; idle devices in diskstats.
  private readonly netdevLines = new LineMemo<NetInterfaceStats>();
  private readonly diskLines = new LineMemo<DiskStat>();

  private readonly vmstat = new KernelFile('/proc/vmstat');

  /**
   * OOM kills on the whole host so far (/proc/vmstat oom_kill, kernel 4.13): global and memory
   * cgroup kills alike. Undefined when the kernel does not count them or the file is unreadable.
   */
  readOomKills(onError: (err: unknown) => void): bigint | undefined {
    try {
      const text = this.vmstat.read();
      return text === undefined ? undefined : keyValueOf(text, this.vmstat.path, 'oom_kill');
    } catch (err) {
      onError(err);
      return undefined;
    }
  }

  /** /proc/stat alone: read first in every tick, since every container's CPU % needs it. */
  readStat(): ProcStat {
    const text = this.stat.read();
    if (text === undefined) throw new Error('/proc/stat is not readable');
    return parseProcStat(text, this.stat.path);
  }

  /** Everything else; a file that fails to parse is reported and left empty. */
  readRest(stat: ProcStat, filesystems: FsStats[], onError: (err: unknown) => void, timestampMs: number, monoNs: bigint): HostSample {
    const read = <T>(f: KernelFile, parse: (t: string, file: string) => T, empty: T): T => {
      try {
        const t = f.read();
        return t === undefined ? empty : parse(t, f.path);
      } catch (err) {
        onError(err);
        return empty;
      }
    };
    return {
      timestampMs,
      monoNs,
      stat,
      meminfo: read(this.meminfo, parseMeminfo, new Map<string, bigint>()),
      loadavg: read(this.loadavg, parseLoadAvg, undefined),
      disks: read(this.diskstats, (t, file) => parseDiskstats(t, file, this.diskLines), []),
      network: read(this.netdev, (t, file) => parseNetDev(t, file, this.netdevLines), []),
      filesystems,
    };
  }
}
