/** /proc/<pid>/mountinfo (proc(5)). */
import { ParseError } from '../errors.js';
import { parseDevice, parseUint } from '../parse.js';
import type { MountInfo } from '../types.js';

const OCTAL_ESCAPE = /\\([0-7]{3})/g;

/** The kernel prints space, tab, newline and backslash in paths as \040, \011, \012, \134. */
export function unescapeOctal(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(OCTAL_ESCAPE, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * "36 35 98:0 /root /mountpoint rw,noatime master:1 - ext3 /dev/root rw,errors=continue":
 * zero or more optional fields (shared:N, master:N, propagate_from:N, unbindable) end at "-".
 */
export function parseMountInfo(text: string, file = '/proc/self/mountinfo'): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const f = line.split(' ');
    const dash = f.indexOf('-', 6);
    if (f.length < 10 || dash < 0 || f.length - dash !== 4) {
      throw new ParseError(file, `malformed mountinfo line: ${JSON.stringify(line)}`);
    }
    const [major, minor] = parseDevice(f[2], file);
    out.push({
      mountId: parseUint(f[0], file),
      parentId: parseUint(f[1], file),
      major,
      minor,
      root: unescapeOctal(f[3]),
      mountpoint: unescapeOctal(f[4]),
      options: f[5],
      fsType: f[dash + 1],
      source: unescapeOctal(f[dash + 2]),
      superOptions: f[dash + 3],
    });
  }
  return out;
}
