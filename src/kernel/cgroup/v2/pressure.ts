/**
 * Pressure stall information (PSI, kernel 4.20): cgroup2 cpu.pressure, memory.pressure,
 * io.pressure, and the same format in /proc/pressure/{cpu,memory,io}.
 */
import { ParseError } from '../../errors.js';
import { parseFloatStrict, parseU64 } from '../../parse.js';
import type { Pressure, PressureLine, PressureStats } from '../../types.js';
import { readParsed, type CgroupStats, type StatContext } from '../common.js';

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

/** True for EOPNOTSUPP, what reading a pressure file gives when the kernel booted with psi=0. */
function isNotSupported(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === 'EOPNOTSUPP';
}

const RESOURCES = [
  ['cpu', 'cpu.pressure'],
  ['memory', 'memory.pressure'],
  ['io', 'io.pressure'],
] as const;

/**
 * Fills stats.pressure from one cgroup2 directory. A kernel without PSI has no such files,
 * and one booted with psi=0 answers EOPNOTSUPP (5.17+ hides the files instead): both mean no
 * data, not an error.
 */
export function statPressure(ctx: StatContext, dir: string, stats: CgroupStats): void {
  const quiet: StatContext = {
    reader: ctx.reader,
    onError: (err) => {
      if (!isNotSupported(err)) ctx.onError(err);
    },
  };
  let pressure: PressureStats | undefined;
  for (const [resource, file] of RESOURCES) {
    const p = readParsed(quiet, dir, file, parsePressure);
    if (p !== undefined) (pressure ??= {})[resource] = p;
  }
  if (pressure !== undefined) stats.pressure = pressure;
}
