/**
 * How the raw-sample history takes a Sample and a HostSample apart (see shape.ts). Every field
 * of every type is named here: a field added to src/model.ts or src/kernel/types.ts without a
 * line here does not compile. Filesystems and layer usage are re-read on slower cadences and the
 * same objects are passed again meanwhile, so they are kept by reference. The parts marked
 * `same` are handed out again as the same object while their figures stand still: the
 * collector's CgroupStats of an idle container, and parses of files whose content did not change.
 */
import type { HostSample, Sample } from '../model.js';
import type { CgroupStats } from '../kernel/types.js';
import type {
  BlkioDeviceStats,
  BlkioStats,
  CpuStats,
  DiskStat,
  LoadAvg,
  MemoryStats,
  NetInterfaceStats,
  PidsStats,
  Pressure,
  PressureLine,
  PressureStats,
  ProcStat,
  ProcStatCpu,
} from '../kernel/types.js';
import { big, list, map, num, obj, rec, ref, same, str, type Schema } from './shape.js';

const cpu = obj<CpuStats>({
  usageNs: big,
  userNs: big,
  systemNs: big,
  perCpuNs: same(list(big)),
  periods: big,
  throttledPeriods: big,
  throttledNs: big,
  quotaUs: big,
  periodUs: big,
  shares: big,
  weight: big,
});

const memory = obj<MemoryStats>({
  usageBytes: big,
  limitBytes: big,
  maxUsageBytes: big,
  failcnt: big,
  rssBytes: big,
  cacheBytes: big,
  swapBytes: big,
  swapLimitBytes: big,
  inactiveFileBytes: big,
  activeFileBytes: big,
  mappedFileBytes: big,
  oomKills: big,
  oomEvents: big,
  stat: rec(big),
});

const blkio = obj<BlkioStats>({
  devices: list(obj<BlkioDeviceStats>({ major: num, minor: num, readBytes: big, writeBytes: big, reads: big, writes: big, discardBytes: big, discards: big })),
  source: str,
});

const pressureLine = obj<PressureLine>({ avg10: num, avg60: num, avg300: num, totalUs: big });
const pressure = same(obj<Pressure>({ some: pressureLine, full: pressureLine }));

const cgroup = same(obj<CgroupStats>({
  cpu,
  memory,
  blkio,
  pids: obj<PidsStats>({ current: big, limit: big }),
  pressure: obj<PressureStats>({ cpu: pressure, memory: pressure, io: pressure }),
}));

const network = same(list(
  obj<NetInterfaceStats>({
    name: str,
    rxBytes: big,
    rxPackets: big,
    rxErrors: big,
    rxDropped: big,
    txBytes: big,
    txPackets: big,
    txErrors: big,
    txDropped: big,
  }),
));

/** The history reads a sample's time from its first leaf: timestampMs comes first. */
export const SAMPLE_SCHEMA: Schema = obj<Sample>({
  timestampMs: num,
  monoNs: big,
  cgroup,
  network,
  filesystems: ref,
  layerUsage: ref,
  systemCpuNs: big,
  onlineCpus: num,
});

const procStatCpu = obj<ProcStatCpu>({
  user: big,
  nice: big,
  system: big,
  idle: big,
  iowait: big,
  irq: big,
  softirq: big,
  steal: big,
  guest: big,
  guestNice: big,
});

const disk = obj<DiskStat>({
  major: num,
  minor: num,
  name: str,
  reads: big,
  readsMerged: big,
  sectorsRead: big,
  readTimeMs: big,
  writes: big,
  writesMerged: big,
  sectorsWritten: big,
  writeTimeMs: big,
  ioInProgress: big,
  ioTimeMs: big,
  weightedIoTimeMs: big,
  discards: big,
  discardsMerged: big,
  sectorsDiscarded: big,
  discardTimeMs: big,
  flushes: big,
  flushTimeMs: big,
});

export const HOST_SAMPLE_SCHEMA: Schema = obj<HostSample>({
  timestampMs: num,
  monoNs: big,
  stat: obj<ProcStat>({
    total: procStatCpu,
    perCpu: map(procStatCpu),
    contextSwitches: big,
    bootTimeSec: big,
    processes: big,
    procsRunning: big,
    procsBlocked: big,
  }),
  meminfo: map(big),
  loadavg: obj<LoadAvg>({ load1: num, load5: num, load15: num, runnable: num, total: num, lastPid: num }),
  disks: list(disk),
  network,
  filesystems: ref,
});
