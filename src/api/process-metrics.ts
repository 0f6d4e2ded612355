/**
 * The agent's own process in /metrics, under the names every Prometheus client gives its own
 * (client_golang's process collector: process_*; prom-client's Node.js collectors: nodejs_*), so
 * the dashboards and alerts people have for exporters work for this one. A figure /proc did not
 * give is left out, never written as 0.
 */
import type { CompactionFigures } from '../collector/heap-compactor.js';
import type { SelfFigures } from '../collector/self.js';
import { familyText, usToSeconds, type MetricType } from './prometheus-text.js';

/** `compactions`: the agent's own heap compactions (src/collector/heap-compactor.ts), when they run. */
export function processMetricsText(f: SelfFigures, compactions?: Readonly<CompactionFigures>): string {
  const one = (name: string, type: MetricType, help: string, value: string | number | bigint | undefined): string =>
    value === undefined ? '' : familyText(name, type, help, [[[], value]]);
  const spaces = (kind: 'total' | 'used' | 'available', help: string, pick: (s: SelfFigures['spaces'][number]) => number): string =>
    familyText(`nodejs_heap_space_size_${kind}_bytes`, 'gauge', help, f.spaces.map((s) => [[['space', s.space]], pick(s)]));
  return (
    one('process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds.', usToSeconds(f.cpuUs)) +
    one('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.', f.residentBytes) +
    one('process_virtual_memory_bytes', 'gauge', 'Virtual memory size in bytes.', f.virtualBytes) +
    one('process_start_time_seconds', 'gauge', 'Start time of the process since unix epoch in seconds.', f.startTimeSec) +
    one('process_open_fds', 'gauge', 'Number of open file descriptors.', f.openFds) +
    one('process_max_fds', 'gauge', 'Maximum number of open file descriptors.', f.maxFds) +
    one('nodejs_heap_size_total_bytes', 'gauge', 'Process heap size from Node.js in bytes.', f.heapTotalBytes) +
    one('nodejs_heap_size_used_bytes', 'gauge', 'Process heap size used from Node.js in bytes.', f.heapUsedBytes) +
    one('nodejs_external_memory_bytes', 'gauge', 'Node.js external memory size in bytes.', f.externalBytes) +
    spaces('total', 'Process heap space size total from Node.js in bytes.', (s) => s.totalBytes) +
    spaces('used', 'Process heap space size used from Node.js in bytes.', (s) => s.usedBytes) +
    spaces('available', 'Process heap space size available from Node.js in bytes.', (s) => s.availableBytes) +
    one('cstats_heap_compactions_total', 'counter', "Compacting collections of the agent's heap it asked for (--heap-compact-interval).", compactions?.count) +
    one('cstats_heap_compaction_seconds_total', 'counter', 'Time the agent was paused by them, in seconds.', compactions && Number(compactions.pauseNs) / 1e9)
  );
}
