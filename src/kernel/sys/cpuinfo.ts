/**
 * The few facts cAdvisor takes from /proc/cpuinfo: the clock ("cpu MHz" on x86, "clock" on
 * POWER, "CPU MHz" elsewhere, first match: cAdvisor's cpuClockSpeedMHz) and, where sysfs has no
 * topology, "physical id" and "core id" per processor block.
 */
const CLOCK_MHZ = /^(?:cpu MHz|CPU MHz|clock)\s*:\s*([0-9]+\.[0-9]+)(?:MHz)?/m;

/** The first clock figure, in kHz; undefined when cpuinfo has none (ARM, s390). */
export function parseCpuinfoClockKhz(text: string): number | undefined {
  const m = CLOCK_MHZ.exec(text);
  return m ? Math.trunc(Number(m[1]) * 1000) : undefined;
}

export interface CpuinfoTopology {
  processor: number;
  physicalId?: number;
  coreId?: number;
}

export function parseCpuinfoTopology(text: string): CpuinfoTopology[] {
  const out: CpuinfoTopology[] = [];
  for (const block of text.split('\n\n')) {
    const field = (name: string): number | undefined => {
      const m = new RegExp(`^${name}\\s*:\\s*(\\d+)\\s*$`, 'm').exec(block);
      return m ? Number(m[1]) : undefined;
    };
    const processor = field('processor');
    if (processor === undefined) continue;
    out.push({ processor, physicalId: field('physical id'), coreId: field('core id') });
  }
  return out;
}
