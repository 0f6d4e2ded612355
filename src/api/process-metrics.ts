/**
 * The agent's own process in /metrics, under the names every Prometheus client gives its own
 * (client_golang's process collector: process_*; prom-client's Node.js collectors: nodejs_*), so
 * the dashboards and alerts people have for exporters work for this one. A figure /proc did not
 * give is left out, never written as 0.
 */
import type { SelfFigures } from '../collector/self.js';
import { usToSeconds, type MetricType } from './prometheus-text.js';

export function processMetricsText(f: SelfFigures): string {
  let out = '';
  const family = (name: string, type: MetricType, help: string, value: string | number | bigint | undefined): void => {
    if (value === undefined) return;
    out += `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${value}\n`;
  };
  family('process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds.', usToSeconds(f.cpuUs));
  family('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.', f.residentBytes);
  family('process_virtual_memory_bytes', 'gauge', 'Virtual memory size in bytes.', f.virtualBytes);
  family('process_start_time_seconds', 'gauge', 'Start time of the process since unix epoch in seconds.', f.startTimeSec);
  family('process_open_fds', 'gauge', 'Number of open file descriptors.', f.openFds);
  family('process_max_fds', 'gauge', 'Maximum number of open file descriptors.', f.maxFds);
  family('nodejs_heap_size_total_bytes', 'gauge', 'Process heap size from Node.js in bytes.', f.heapTotalBytes);
  family('nodejs_heap_size_used_bytes', 'gauge', 'Process heap size used from Node.js in bytes.', f.heapUsedBytes);
  family('nodejs_external_memory_bytes', 'gauge', 'Node.js external memory size in bytes.', f.externalBytes);
  const spaces = (kind: 'total' | 'used' | 'available', help: string, pick: (s: SelfFigures['spaces'][number]) => number): void => {
    const name = `nodejs_heap_space_size_${kind}_bytes`;
    out += `# HELP ${name} ${help}\n# TYPE ${name} gauge\n`;
    for (const s of f.spaces) out += `${name}{space="${s.space}"} ${pick(s)}\n`;
  };
  spaces('total', 'Process heap space size total from Node.js in bytes.', (s) => s.totalBytes);
  spaces('used', 'Process heap space size used from Node.js in bytes.', (s) => s.usedBytes);
  spaces('available', 'Process heap space size available from Node.js in bytes.', (s) => s.availableBytes);
  return out;
}
