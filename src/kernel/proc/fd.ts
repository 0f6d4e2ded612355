/** The process's own open file descriptors, from /proc/self/fd. */
import { readdirSync } from 'node:fs';

/** How many descriptors this process has open; undefined where /proc/self/fd cannot be listed. */
export function countOpenDescriptors(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length - 1; // less the descriptor of the listing itself
  } catch {
    return undefined;
  }
}
