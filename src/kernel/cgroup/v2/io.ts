/** cgroup v2 io controller: io.stat. */
import { ParseError } from '../../errors.js';
import { parseDevice, parseU64 } from '../../parse.js';
import type { BlkioDeviceStats, CgroupStats } from '../../types.js';
import { readParsed, type StatContext } from '../read-file.js';

/**
 * io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per device. The kernel omits
 * all six counters when rbytes, wbytes, rios and wios are all zero, so a line may be the device
 * alone (zeros). iocost and iolatency append their own keys (cost.vrate=100.00, depth=max...):
 * unknown keys are skipped without parsing their values.
 */
export function parseIoStat(text: string, file: string): BlkioDeviceStats[] {
  const out: BlkioDeviceStats[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const f = line.split(' ');
    const [major, minor] = parseDevice(f[0], file);
    const dev: BlkioDeviceStats = { major, minor, readBytes: 0n, writeBytes: 0n, reads: 0n, writes: 0n };
    for (let i = 1; i < f.length; i++) {
      const token = f[i];
      if (token === '') continue;
      const eq = token.indexOf('=');
      if (eq <= 0) throw new ParseError(file, `expected key=value, got ${JSON.stringify(token)}`);
      switch (token.slice(0, eq)) {
        case 'rbytes':
          dev.readBytes = parseU64(token.slice(eq + 1), file);
          break;
        case 'wbytes':
          dev.writeBytes = parseU64(token.slice(eq + 1), file);
          break;
        case 'rios':
          dev.reads = parseU64(token.slice(eq + 1), file);
          break;
        case 'wios':
          dev.writes = parseU64(token.slice(eq + 1), file);
          break;
        case 'dbytes':
          dev.discardBytes = parseU64(token.slice(eq + 1), file);
          break;
        case 'dios':
          dev.discards = parseU64(token.slice(eq + 1), file);
          break;
      }
    }
    out.push(dev);
  }
  return out;
}

export function statIo(ctx: StatContext, dir: string, stats: CgroupStats): void {
  const devices = readParsed(ctx, dir, 'io.stat', parseIoStat);
  if (devices !== undefined) stats.blkio = { devices, source: 'io.stat' };
}
