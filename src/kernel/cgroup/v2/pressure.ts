/**
 * Pressure stall information (PSI, kernel 4.20): cgroup2 cpu.pressure, memory.pressure,
 * io.pressure, and the same format in /proc/pressure/{cpu,memory,io}.
 */
import { ParseError } from '../../errors.js';
import { parseFloatStrict, parseU64 } from '../../parse.js';
import type { CgroupStats, Pressure, PressureLine, PressureStats } from '../../types.js';
import { readParsed, type StatContext } from '../read-file.js';

const KEYS = ['avg10=', 'avg60=', 'avg300=', 'total='] as const;

/** "some avg10=0.00 avg60=0.00 avg300=0.00 total=0" → its kind and figures. */
export function parsePressureLine(line: string, file: string): ['some' | 'full', PressureLine] {
  const f = line.split(' ');
  const kind = f[0];
  if (f.length !== 5 || (kind !== 'some' && kind !== 'full')) {
    throw new ParseError(file, `expected "some|full avg10= avg60= avg300= total=", got ${JSON.stringify(line)}`);
  }
  for (let i = 0; i < 4; i++) {
    if (!f[i + 1].startsWith(KEYS[i])) throw new ParseError(file, `expected ${KEYS[i]} in ${JSON.stringify(line)}`);
  }
  return [
    kind,
    {
      avg10: parseFloatStrict(f[1].slice(6), file),
      avg60: parseFloatStrict(f[2].slice(6), file),
      avg300: parseFloatStrict(f[3].slice(7), file),
      totalUs: parseU64(f[4].slice(6), file),
    },
  ];
}

/** A whole pressure file. cpu.pressure has only "some" before kernel 5.13 (the "full" line came then). */
export function parsePressure(text: string, file: string): Pressure {
  const out: Pressure = {};
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [kind, figures] = parsePressureLine(line, file);
    out[kind] = figures;
  }
  if (out.some === undefined && out.full === undefined) throw new ParseError(file, 'empty file');
  return out;
}

export type PressureResource = keyof PressureStats;
export const PRESSURE_RESOURCES: readonly PressureResource[] = ['cpu', 'memory', 'io'];
/** The cgroup2 file of each resource (/proc/pressure names them by the resource alone). */
export const PRESSURE_FILE: Readonly<Record<PressureResource, string>> = { cpu: 'cpu.pressure', memory: 'memory.pressure', io: 'io.pressure' };

/** Whether every average of `p` is zero: nothing left to decay, so the file reads the same until a stall. */
export function zeroAverages(p: Pressure): boolean {
  return zeroLine(p.some) && zeroLine(p.full);
}

const zeroLine = (line: PressureLine | undefined): boolean => line === undefined || (line.avg10 === 0 && line.avg60 === 0 && line.avg300 === 0);

/**
 * Fills stats.pressure from one cgroup2 directory. A kernel without PSI has no such files, and
 * one booted with psi=0 answers EOPNOTSUPP (5.17+ hides the files instead): both mean no data,
 * not an error (readParsed).
 */
export function statPressure(ctx: StatContext, dir: string, stats: CgroupStats): void {
  let pressure: PressureStats | undefined;
  for (const resource of PRESSURE_RESOURCES) {
    const p = readParsed(ctx, dir, PRESSURE_FILE[resource], parsePressure);
    if (p !== undefined) (pressure ??= {})[resource] = p;
  }
  if (pressure !== undefined) stats.pressure = pressure;
}
