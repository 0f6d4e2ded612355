/**
 * The sampling loop. Every tick: /proc/stat first (the host CPU figure every container's CPU %
 * is relative to), then each running container's cgroup files and network namespace through
 * descriptors kept open across ticks, then derive, then store. Filesystems are statfs'ed on a
 * slower cadence. One bad file costs that value for that tick and one warning.
 */
import { ParseError } from '../kernel/errors.js';
import { parseNetDev } from '../kernel/proc/netdev.js';
import { V1_READERS } from '../kernel/cgroup/v1/index.js';
import { V2_READERS } from '../kernel/cgroup/v2/index.js';
import { readParsed, type StatContext } from '../kernel/cgroup/read-file.js';
import { CgroupReads, type TickFacts } from './cgroup-reads.js';
import { sameStats } from './same-stats.js';
import type { FsStats, NetInterfaceStats } from '../kernel/types.js';
import type { ContainerInfo, DockerResources, Sample } from '../model.js';
import type { Discoverer } from '../runtimes/types.js';
import type { Store } from '../store/store.js';
import type { Logger } from '../log.js';
import { derive } from '../derive/index.js';
import { HostReader, systemCpuNs } from './host.js';
import { MountTable, NamespaceMounts, containerFilesystems, hostFilesystems } from './filesystems.js';
import { StallGate } from './stall-gate.js';
import { LayerUsageTracker } from './layer-usage.js';

export interface CollectorOptions {
  intervalMs: number;
  /** How often filesystems are statfs'ed and the mount table re-read. */
  fsIntervalMs: number;
}

/**
 * A host-network container's interfaces: none of its own, the same list every tick, so that its
 * samples hold the same figures as the same objects and derive hands back the previous tick's.
 */
const NO_INTERFACES: readonly NetInterfaceStats[] = Object.freeze([]);

/** What the collector keeps per container between ticks. */
interface Tracked {
  /** Its cgroup's files (and its network namespace's net/dev). */
  files: CgroupReads;
  /** Docker's resource settings as last inspected: a new object after each inspect. */
  resources?: DockerResources;
  /** For the network namespace's files, read apart from the cgroup's. */
  netCtx: StatContext;
  filesystems?: FsStats[];
  fsReadMs: number;
  /** What is mounted in its own mount namespace, as last worked out. */
  nsMounts: NamespaceMounts;
  /** `/proc/<pid>/net` of the process whose namespace it reads, made when the pid changes (the old one's files closed). */
  netDir?: { pid: number; dir: string };
  /** Its interfaces as read in tick `tick`: members of its namespace take them in the same tick. */
  network?: readonly NetInterfaceStats[];
  /** The last tick (or discovery sync) that sampled it. */
  tick: number;
}

export interface TickStats {
  containers: number;
  durationMs: number;
}

export class Collector {
  private readonly tracked = new Map<string, Tracked>();
  private readonly host = new HostReader();
  private readonly mounts = new MountTable();
  private readonly stalls = new StallGate();
  private readonly layers = new LayerUsageTracker((key, msg) => this.log.warnOnce(key, 'collector', msg));
  private hostFs: FsStats[] = [];
  private hostFsReadMs = -Infinity;
  private timer?: NodeJS.Timeout;
  private hostMemoryBytes = 0n;
  private hostOomKills?: bigint;
  /** Shared by every container's CgroupReads; updated at the start of each tick. */
  private readonly tickFacts: TickFacts = { noNewOomKills: false };
  private readonly tickListeners = new Set<(tick: TickStats) => void>();
  /** File names already said to be missing (sayAbsent). */
  private readonly absentSaid = new Set<string>();
  /** Counts ticks and discovery syncs: what Tracked.tick holds. */
  private tickNo = 0;
  lastTick?: TickStats;
  /** When the last tick that ran to its end started (ms since the epoch): what /healthz judges a stall by. */
  lastTickMs?: number;

  constructor(
    private readonly store: Store,
    private readonly discoverers: readonly Discoverer[],
    private readonly opts: CollectorOptions,
    private readonly log: Logger,
  ) {}

  /** Starts ticking on interval boundaries measured from now; the first tick runs at once. */
  start(): void {
    const t0 = Date.now();
    let n = 0;
    const loop = (): void => {
      try {
        this.tick();
      } catch (err) {
        this.log.warnOnce(`tick:${(err as Error).message}`, 'collector', `tick failed: ${(err as Error).stack ?? err}`);
      }
      n = Math.max(n + 1, Math.ceil((Date.now() - t0) / this.opts.intervalMs));
      this.timer = setTimeout(loop, Math.max(0, t0 + n * this.opts.intervalMs - Date.now()));
    };
    loop();
  }

  /**
   * Calls `listener` after every tick, once the tick's samples are in the store (for surfaces
   * that push or diff per tick); returns the function that unsubscribes it.
   */
  onTick(listener: (tick: TickStats) => void): () => void {
    this.tickListeners.add(listener);
    return () => this.tickListeners.delete(listener);
  }

  stop(): void {
    clearTimeout(this.timer);
    for (const t of this.tracked.values()) t.files.close();
    this.tracked.clear();
    this.stalls.close();
    this.layers.stop();
  }

  /** Every container the discoverers know, Docker's first when two claim the same id. */
  private known(): Map<string, ContainerInfo> {
    const all = new Map<string, ContainerInfo>();
    for (const d of this.discoverers) for (const c of d.containers()) if (!all.has(c.id)) all.set(c.id, c);
    return all;
  }

  private trackedFor(info: ContainerInfo): Tracked {
    let t = this.tracked.get(info.id);
    if (!t) {
      const onError = (err: unknown): void => this.reportFileError(err);
      const files = new CgroupReads(info.cgroup.version, this.tickFacts, onError, (file, requirement) => this.sayAbsent(file, requirement));
      t = { files, fsReadMs: -Infinity, nsMounts: new NamespaceMounts(), tick: 0, netCtx: { reader: files, onError } };
      this.tracked.set(info.id, t);
    }
    return t;
  }

  /** A file the kernel lacks is said once per file name, whatever the number of containers. */
  private sayAbsent(file: string, requirement: string): void {
    const name = file.slice(file.lastIndexOf('/') + 1);
    if (this.absentSaid.has(name)) return;
    this.absentSaid.add(name);
    this.log.info('collector', `${file} is missing: its figures are left out (needs ${requirement})`);
  }

  private reportFileError(err: unknown): void {
    if (err instanceof ParseError) this.log.warnOnce(`parse:${err.file}`, 'collector', `${err.message} (value skipped)`);
    else this.log.warnOnce(`io:${(err as Error).message}`, 'collector', `read failed: ${(err as Error).message}`);
  }

  tick(): void {
    const started = process.hrtime.bigint();
    const timestampMs = Date.now();
    const stat = this.host.readStat();
    const sysNs = systemCpuNs(stat.total);
    const onlineCpus = stat.perCpu.size;

    const fsDue = timestampMs - this.hostFsReadMs >= this.opts.fsIntervalMs;
    if (fsDue) {
      try {
        this.mounts.refresh();
      } catch (err) {
        this.reportFileError(err);
      }
      this.hostFs = hostFilesystems(this.mounts);
      this.hostFsReadMs = timestampMs;
    }
    this.updateTickFacts();
    const hostSample = this.host.readRest(stat, this.hostFs, (e) => this.reportFileError(e), timestampMs, started);
    this.store.recordHost(hostSample);
    const memTotal = hostSample.meminfo.get('MemTotal');
    if (memTotal !== undefined) this.hostMemoryBytes = memTotal;

    const known = this.known();
    const running: ContainerInfo[] = [];
    for (const info of known.values()) {
      this.store.upsert(info);
      if (info.state === 'running' || info.state === 'paused') running.push(info);
    }

    this.stalls.update(running);
    this.sampleContainers(running, timestampMs, sysNs, onlineCpus);

    this.markGone(known, timestampMs);
    // Whatever this tick did not sample is no longer running.
    this.tracked.forEach((t, id) => {
      if (t.tick !== this.tickNo) {
        t.files.close();
        this.tracked.delete(id);
        this.layers.forget(id);
      }
    });
    this.store.prune(timestampMs);
    const tick = { containers: running.length, durationMs: Number(process.hrtime.bigint() - started) / 1e6 };
    this.lastTick = tick;
    this.lastTickMs = timestampMs;
    for (const listener of this.tickListeners) {
      try {
        listener(tick);
      } catch (err) {
        this.log.warnOnce(`listener:${(err as Error).message}`, 'collector', `tick listener failed: ${(err as Error).stack ?? err}`);
      }
    }
  }

  /** Read before any container file of the tick, so a kill during the tick shows at the next. */
  private updateTickFacts(): void {
    const oomKills = this.host.readOomKills((e) => this.reportFileError(e));
    this.tickFacts.noNewOomKills = oomKills !== undefined && oomKills === this.hostOomKills;
    this.hostOomKills = oomKills;
  }

  /** Containers no discoverer knows any more leave the live list; their history stays for the window. */
  private markGone(known: Map<string, ContainerInfo>, nowMs: number): void {
    for (const e of this.store.list(false)) if (!known.has(e.info.id)) this.store.markRemoved(e.info.id, nowMs);
  }

  /**
   * Brings the store up to date with discovery between ticks: removed containers leave the
   * live list and new ones are sampled at once, so a started container is sampled within
   * milliseconds of its start event rather than at the next tick.
   */
  syncWithDiscovery(): void {
    if (this.hostMemoryBytes === 0n) return; // before the first tick, which does all of it
    const known = this.known();
    this.markGone(known, Date.now());
    const fresh = [...known.values()].filter((c) => (c.state === 'running' || c.state === 'paused') && !this.store.get(c.id)?.latest);
    if (fresh.length === 0) return;
    let stat;
    try {
      stat = this.host.readStat();
    } catch (err) {
      this.reportFileError(err);
      return;
    }
    for (const info of fresh) this.store.upsert(info);
    this.sampleContainers(fresh, Date.now(), systemCpuNs(stat.total), stat.perCpu.size);
  }

  private sampleContainers(running: ContainerInfo[], timestampMs: number, sysNs: bigint, onlineCpus: number): void {
    this.tickNo++;
    // Own-namespace containers first, so members of a shared namespace can take their sandbox's figures.
    for (const info of running) if (info.network.kind !== 'shared') this.sampleOne(info, timestampMs, sysNs, onlineCpus);
    for (const info of running) if (info.network.kind === 'shared') this.sampleOne(info, timestampMs, sysNs, onlineCpus);
  }

  /** One container whose sampling throws misses this tick alone; the others are still sampled. */
  private sampleOne(info: ContainerInfo, timestampMs: number, sysNs: bigint, onlineCpus: number): void {
    try {
      this.sampleContainer(info, timestampMs, sysNs, onlineCpus);
    } catch (err) {
      this.log.warnOnce(`sample:${(err as Error).message}`, 'collector', `sampling ${info.name || info.id} failed: ${(err as Error).stack ?? err}`);
    }
  }

  private sampleContainer(info: ContainerInfo, timestampMs: number, sysNs: bigint, onlineCpus: number): void {
    const t = this.trackedFor(info);
    t.tick = this.tickNo;
    // Re-inspected (`docker update`, among other events): limits are read now, not within 10 s.
    if (info.docker?.resources !== t.resources) {
      t.files.rereadSettings();
      t.resources = info.docker?.resources;
    }
    const entry = this.store.get(info.id);
    const prev = entry?.latest;
    const stallFree = this.stalls.quietFor(info);
    const read = info.cgroup.version === 1 ? t.files.read(V1_READERS, info.cgroup.dirs, stallFree) : t.files.read(V2_READERS, info.cgroup.dir, stallFree);
    // Figures equal to the previous sample's are handed out as that same object: derive and
    // the history see at once that nothing moved, and nothing new outlives the tick.
    const cgroup = prev && sameStats(prev.cgroup, read) ? prev.cgroup : read;
    const network = (t.network = this.readNetwork(info, t));
    if (timestampMs - t.fsReadMs >= this.opts.fsIntervalMs) {
      t.filesystems = containerFilesystems(info, this.mounts, t.nsMounts);
      t.fsReadMs = timestampMs;
    }
    const sample: Sample = {
      timestampMs,
      monoNs: process.hrtime.bigint(),
      cgroup,
      network,
      filesystems: t.filesystems,
      layerUsage: this.layers.usage(info, (p) => this.mounts.reach(p)),
      systemCpuNs: sysNs,
      onlineCpus,
    };
    const before = entry?.previous && entry.derived ? { sample: entry.previous, derived: entry.derived } : undefined;
    this.store.record(info.id, sample, derive(prev, sample, this.hostMemoryBytes, before));
  }

  /**
   * The container's interfaces: its own namespace via /proc/<pid>/net/dev, its sandbox's when
   * it shares one, none with host networking, undefined when it cannot be told.
   */
  private readNetwork(info: ContainerInfo, t: Tracked): readonly NetInterfaceStats[] | undefined {
    const net = info.network;
    // A restarted container has a new process (and namespace): the old one's net/dev is closed.
    if (t.netDir && (net.kind !== 'own' || net.pid !== t.netDir.pid)) {
      t.files.forget(t.netDir.dir);
      t.netDir = undefined;
    }
    switch (net.kind) {
      case 'host':
        return NO_INTERFACES;
      case 'unknown':
        return undefined;
      case 'shared': {
        const target = this.store.find(net.withId);
        if (!target) return undefined;
        const sandbox = this.tracked.get(target.info.id);
        return (sandbox?.tick === this.tickNo ? sandbox.network : undefined) ?? target.latest?.network;
      }
      case 'own':
        t.netDir ??= { pid: net.pid, dir: `/proc/${net.pid}/net` };
        return readParsed(t.netCtx, t.netDir.dir, 'dev', parseNetDev);
    }
  }
}
