/** Figures of the host that every surface reads the same way. */
import type { HostSample } from '../model.js';

/** The host's memory (/proc/meminfo MemTotal), bytes; 0 before the host is sampled. */
export function hostMemoryBytes(host: HostSample | undefined): bigint {
  return host?.meminfo.get('MemTotal') ?? 0n;
}
