/** /proc/meminfo (also the format of /sys/devices/system/node/nodeN/meminfo minus the prefix). */
import { ParseError } from '../errors.js';
import { parseU64, splitFields } from '../parse.js';

/**
 * Key → value. Values printed with "kB" (all of them KiB) are converted to bytes; values
 * without a unit (HugePages_Total, HugePages_Free, ...) are page counts and kept as printed.
 */
export function parseMeminfo(text: string, file = '/proc/meminfo'): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ParseError(file, `expected "Key: value", got ${JSON.stringify(line)}`);
    const fields = splitFields(line.slice(colon + 1));
    let value: bigint;
    if (fields.length === 1) value = parseU64(fields[0], file);
    else if (fields.length === 2 && fields[1] === 'kB') value = parseU64(fields[0], file) * 1024n;
    else throw new ParseError(file, `unexpected value in ${JSON.stringify(line)}`);
    out.set(line.slice(0, colon), value);
  }
  if (out.size === 0) throw new ParseError(file, 'empty file');
  return out;
}
