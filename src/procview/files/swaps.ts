/**
 * /proc/swaps for a container: the header, then one "none virtual" line with the swap its
 * cgroup may use (LXCFS proc_swaps_read prints the same), or nothing when it may use none.
 */

export const SWAPS_HEADER = 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n';

export function renderSwaps(totalKb: bigint, freeKb: bigint): string {
  if (totalKb === 0n) return SWAPS_HEADER;
  const used = totalKb > freeKb ? totalKb - freeKb : 0n;
  return `${SWAPS_HEADER}${'none'.padEnd(40)}virtual\t\t${totalKb}\t\t${used}\t\t0\n`;
}
