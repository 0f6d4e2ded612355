/** /proc/loadavg: "0.90 0.55 0.22 1/82 13410". */
import { ParseError } from '../errors.js';
import { parseFloatStrict, parseUint, splitFields } from '../parse.js';
import type { LoadAvg } from '../types.js';

export function parseLoadAvg(text: string, file = '/proc/loadavg'): LoadAvg {
  const fields = splitFields(text.trim());
  if (fields.length !== 5) throw new ParseError(file, `expected 5 fields, got ${JSON.stringify(text.trim())}`);
  const slash = fields[3].indexOf('/');
  if (slash < 0) throw new ParseError(file, `expected "runnable/total", got ${JSON.stringify(fields[3])}`);
  return {
    load1: parseFloatStrict(fields[0], file),
    load5: parseFloatStrict(fields[1], file),
    load15: parseFloatStrict(fields[2], file),
    runnable: parseUint(fields[3].slice(0, slash), file),
    total: parseUint(fields[3].slice(slash + 1), file),
    lastPid: parseUint(fields[4], file),
  };
}
