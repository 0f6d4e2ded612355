/** /proc/diskstats (Documentation/admin-guide/iostats.rst). */
import { ParseError } from '../errors.js';
import { parseLines, parseU64, parseUint, splitFields, type LineMemo } from '../parse.js';
import type { DiskStat } from '../types.js';

/**
 * One entry per block device and partition. Kernels print 14 fields, 18 (discard counters,
 * 4.18) or 20 (flush counters, 5.5); the extra counters are set only when printed. With a memo,
 * a line as it was at the previous read gives back that read's object.
 */
export function parseDiskstats(text: string, file = '/proc/diskstats', memo?: LineMemo<DiskStat>): DiskStat[] {
  return parseLines(text.split('\n'), 0, (line) => parseDisk(line, file), memo);
}

function parseDisk(line: string, file: string): DiskStat {
  const f = splitFields(line);
  if (f.length !== 14 && f.length !== 18 && f.length !== 20) {
    throw new ParseError(file, `expected 14, 18 or 20 fields, got ${f.length}: ${JSON.stringify(line)}`);
  }
  const u = (i: number): bigint => parseU64(f[i], file);
  const disk: DiskStat = {
    major: parseUint(f[0], file),
    minor: parseUint(f[1], file),
    name: f[2],
    reads: u(3),
    readsMerged: u(4),
    sectorsRead: u(5),
    readTimeMs: u(6),
    writes: u(7),
    writesMerged: u(8),
    sectorsWritten: u(9),
    writeTimeMs: u(10),
    ioInProgress: u(11),
    ioTimeMs: u(12),
    weightedIoTimeMs: u(13),
  };
  if (f.length >= 18) {
    disk.discards = u(14);
    disk.discardsMerged = u(15);
    disk.sectorsDiscarded = u(16);
    disk.discardTimeMs = u(17);
  }
  if (f.length === 20) {
    disk.flushes = u(18);
    disk.flushTimeMs = u(19);
  }
  return disk;
}

/** Block device names by "major:minor" ("8:0" -> "/dev/sda"), as cgroup files name devices by number. */
export function deviceNames(disks: readonly DiskStat[] | undefined): Map<string, string> {
  return new Map((disks ?? []).map((d) => [`${d.major}:${d.minor}`, `/dev/${d.name}`]));
}
