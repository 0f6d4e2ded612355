/** /proc/<pid>/limits (proc(5)): a header, then one row per resource limit. */
import { ParseError } from '../errors.js';
import { parseU64 } from '../parse.js';

/**
 * The soft limit on open files ("Max open files", RLIMIT_NOFILE): the number open(2) refuses at
 * with EMFILE. undefined when it is "unlimited" (never, for RLIMIT_NOFILE, which the kernel caps
 * at fs.nr_open, but the file's grammar allows it).
 */
export function parseMaxOpenFiles(text: string, file = '/proc/self/limits'): bigint | undefined {
  // Columns are padded to fixed widths; the name itself has spaces, so the row is matched whole.
  const row = /^Max open files\s+(\S+)\s+(\S+)\s+files\s*$/m.exec(text);
  if (!row) throw new ParseError(file, 'no "Max open files" row');
  return row[1] === 'unlimited' ? undefined : parseU64(row[1], file);
}
