/** cgroup v1 blkio controller: per-device bytes and operations. */
import { ParseError } from '../../errors.js';
import { parseDevice, parseU64 } from '../../parse.js';
import type { BlkioDeviceStats, CgroupStats } from '../../types.js';
import { readParsed, type StatContext } from '../read-file.js';
import type { V1Dirs } from './dirs.js';

/** One device's figures from a blkio "rwstat" file (bytes or operations). */
export interface BlkioRw {
  major: number;
  minor: number;
  read: bigint;
  write: bigint;
  discard?: bigint;
}

/**
 * An rwstat file: "MAJ:MIN Op value" lines with Op one of Read, Write, Sync, Async, Discard
 * (4.19), Total, then a final "Total N" line. Keyed by the "MAJ:MIN" token; a file with only
 * the "Total" line has no devices.
 */
export function parseBlkioRwstat(text: string, file: string): Map<string, BlkioRw> {
  const out = new Map<string, BlkioRw>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const f = line.split(' ');
    if (f.length === 2 && f[0] === 'Total') continue;
    if (f.length !== 3) throw new ParseError(file, `expected "MAJ:MIN Op value", got ${JSON.stringify(line)}`);
    let dev = out.get(f[0]);
    if (dev === undefined) {
      const [major, minor] = parseDevice(f[0], file);
      dev = { major, minor, read: 0n, write: 0n };
      out.set(f[0], dev);
    }
    switch (f[1]) {
      case 'Read':
        dev.read = parseU64(f[2], file);
        break;
      case 'Write':
        dev.write = parseU64(f[2], file);
        break;
      case 'Discard':
        dev.discard = parseU64(f[2], file);
        break;
      case 'Sync':
      case 'Async':
      case 'Total':
        break;
      default:
        throw new ParseError(file, `unknown operation ${JSON.stringify(f[1])}`);
    }
  }
  return out;
}

const NONE = new Map<string, BlkioRw>();

/** Joins the bytes file and the operations file of one source, device by device. */
export function mergeBlkio(bytes: Map<string, BlkioRw>, ios: Map<string, BlkioRw>): BlkioDeviceStats[] {
  const out: BlkioDeviceStats[] = [];
  const device = (b: BlkioRw | undefined, o: BlkioRw | undefined): BlkioDeviceStats => {
    const any = (b ?? o) as BlkioRw;
    const d: BlkioDeviceStats = {
      major: any.major,
      minor: any.minor,
      readBytes: b?.read ?? 0n,
      writeBytes: b?.write ?? 0n,
      reads: o?.read ?? 0n,
      writes: o?.write ?? 0n,
    };
    if (b?.discard !== undefined) d.discardBytes = b.discard;
    if (o?.discard !== undefined) d.discards = o.discard;
    return d;
  };
  for (const [key, b] of bytes) out.push(device(b, ios.get(key)));
  for (const [key, o] of ios) if (!bytes.has(key)) out.push(device(undefined, o));
  return out;
}

/**
 * Sources in Docker's order (containerd cgroup1 blkio.go, which `docker stats` uses): the CFQ
 * files when they list any device, else the throttle files. CFQ left the kernel in 5.0, so
 * modern kernels always give the throttle figures. Surprise: recent kernels (seen on 6.18)
 * count nothing there for a device until some cgroup sets a throttle limit on it.
 */
const SOURCES = [
  ['blkio.io_service_bytes_recursive', 'blkio.io_serviced_recursive'],
  ['blkio.throttle.io_service_bytes', 'blkio.throttle.io_serviced'],
] as const;

export function statBlkio(ctx: StatContext, dirs: V1Dirs, stats: CgroupStats): void {
  const dir = dirs.blkio;
  if (dir === undefined) return;
  for (let i = 0; i < SOURCES.length; i++) {
    const [bytesFile, iosFile] = SOURCES[i];
    const bytes = readParsed(ctx, dir, bytesFile, parseBlkioRwstat);
    const ios = readParsed(ctx, dir, iosFile, parseBlkioRwstat);
    if (bytes === undefined && ios === undefined) continue;
    if (i < SOURCES.length - 1 && (bytes ?? NONE).size === 0 && (ios ?? NONE).size === 0) continue;
    stats.blkio = { devices: mergeBlkio(bytes ?? NONE, ios ?? NONE), source: bytesFile };
    return;
  }
}
