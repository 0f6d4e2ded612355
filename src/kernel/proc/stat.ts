/** /proc/stat: host CPU times (USER_HZ ticks), context switches, boot time, process counts. */
import { ParseError } from '../errors.js';
import { parseU64, splitFields } from '../parse.js';
import type { ProcStat, ProcStatCpu } from '../types.js';

/**
 * One "cpu" or "cpuN" line. The columns grew over time (iowait/irq/softirq 2.6, steal 2.6.11,
 * guest 2.6.24, guest_nice 2.6.33): columns an older kernel does not print are 0.
 */
function parseCpuLine(fields: string[], file: string): ProcStatCpu {
  if (fields.length < 5) throw new ParseError(file, `short cpu line: ${JSON.stringify(fields.join(' '))}`);
  const col = (i: number): bigint => (i < fields.length ? parseU64(fields[i], file) : 0n);
  return {
    user: col(1),
    nice: col(2),
    system: col(3),
    idle: col(4),
    iowait: col(5),
    irq: col(6),
    softirq: col(7),
    steal: col(8),
    guest: col(9),
    guestNice: col(10),
  };
}

export function parseProcStat(text: string, file = '/proc/stat'): ProcStat {
  let total: ProcStatCpu | undefined;
  const stat: Omit<ProcStat, 'total'> = { perCpu: new Map() };
  for (const line of text.split('\n')) {
    // intr and softirq lines are long and unused: skip them before splitting.
    if (line === '' || line.startsWith('intr ') || line.startsWith('softirq ')) continue;
    const fields = splitFields(line);
    const key = fields[0];
    if (key === 'cpu') {
      total = parseCpuLine(fields, file);
    } else if (key.startsWith('cpu')) {
      const n = Number(key.slice(3));
      if (!Number.isInteger(n) || n < 0) throw new ParseError(file, `bad cpu line key ${JSON.stringify(key)}`);
      stat.perCpu.set(n, parseCpuLine(fields, file));
    } else if (fields.length === 2) {
      const value = parseU64(fields[1], file);
      if (key === 'ctxt') stat.contextSwitches = value;
      else if (key === 'btime') stat.bootTimeSec = value;
      else if (key === 'processes') stat.processes = value;
      else if (key === 'procs_running') stat.procsRunning = value;
      else if (key === 'procs_blocked') stat.procsBlocked = value;
    }
  }
  if (!total) throw new ParseError(file, 'no "cpu" line');
  return { total, ...stat };
}
