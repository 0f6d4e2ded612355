/**
 * Files that a kernel, or its configuration, may lack: their absence is a missing feature, not a
 * vanished cgroup, when the file named as evidence is there in the same directory.
 */
export interface OptionalFile {
  /** A file every such directory has when the feature's controller is on. */
  evidence: string;
  /** What the file needs, for the one line that says it is missing. */
  requirement: string;
}

const PSI: OptionalFile = { evidence: 'cgroup.procs', requirement: 'pressure stall information: kernel 4.20 or later with CONFIG_PSI, not booted with psi=0' };
const SWAP_V2: OptionalFile = { evidence: 'memory.current', requirement: 'swap accounting (CONFIG_MEMCG_SWAP, not booted with swapaccount=0)' };

export const OPTIONAL_FILES: Readonly<Record<string, OptionalFile>> = {
  'memory.peak': { evidence: 'memory.current', requirement: 'kernel 5.19 or later (the cgroup v2 memory high-water mark)' },
  'memory.swap.current': SWAP_V2,
  'memory.swap.max': SWAP_V2,
  'memory.memsw.limit_in_bytes': { evidence: 'memory.limit_in_bytes', requirement: 'swap accounting (CONFIG_MEMCG_SWAP, booted with swapaccount=1)' },
  'cpu.pressure': PSI,
  'memory.pressure': PSI,
  'io.pressure': PSI,
};
