/**
 * The agent's own process in /metrics: each figure checked against what the kernel and the shell
 * say of this same process at the same moment, and the exposition against promtool (Debian's
 * prometheus 2.42).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { readSelf } from '../../src/collector/self.js';
import { processMetricsText } from '../../src/api/process-metrics.js';
import { parsePidStat } from '../../src/kernel/proc/pidstat.js';

function values(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

test('process_* and nodejs_* are this process as /proc, the shell and V8 see it', () => {
  const fdsBefore = readdirSync('/proc/self/fd').length - 1;
  const rssKb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'latin1'))![1]);
  const stat = parsePidStat(readFileSync('/proc/self/stat', 'latin1'));
  const v = values(processMetricsText(readSelf()));

  // RSS moves by a few pages between two reads; 2 MiB is far below any wrong unit (pages, kB).
  assert.ok(Math.abs(v.get('process_resident_memory_bytes')! - rssKb * 1024) < 2 * 2 ** 20, `RSS ${v.get('process_resident_memory_bytes')} against VmRSS ${rssKb} kB`);
  assert.equal(v.get('process_virtual_memory_bytes')! > 0, true);
  assert.equal(v.get('process_open_fds'), fdsBefore);
  assert.equal(v.get('process_max_fds'), Number(execFileSync('sh', ['-c', 'ulimit -Sn'], { encoding: 'utf8' }).trim()));
  // The start: boot time + start ticks; Node's own uptime says the same within its tick (10 ms) and the clock's drift.
  const startedSec = Date.now() / 1000 - process.uptime();
  assert.ok(Math.abs(v.get('process_start_time_seconds')! - startedSec) < 1, `start ${v.get('process_start_time_seconds')} against ${startedSec}`);
  // getrusage counts in µs, /proc/<pid>/stat in ticks of 10 ms read just before.
  const statCpu = Number(stat.utimeTicks + stat.stimeTicks) / 100;
  assert.ok(v.get('process_cpu_seconds_total')! >= statCpu - 0.02 && v.get('process_cpu_seconds_total')! < statCpu + 0.5, `CPU ${v.get('process_cpu_seconds_total')} s against ${statCpu} s`);

  const spaces = [...v].filter(([k]) => k.startsWith('nodejs_heap_space_size_total_bytes{'));
  assert.ok(spaces.some(([k]) => k === 'nodejs_heap_space_size_total_bytes{space="new"}') && spaces.some(([k]) => k === 'nodejs_heap_space_size_total_bytes{space="old"}'));
  assert.equal(spaces.reduce((a, [, n]) => a + n, 0), v.get('nodejs_heap_size_total_bytes'));
  // Heap compactions appear only when they can run, their pauses added up in seconds.
  assert.equal(v.has('cstats_heap_compactions_total'), false);
  const c = values(processMetricsText(readSelf(), { count: 3, pauseNs: 412_500_000n }));
  assert.equal(c.get('cstats_heap_compactions_total'), 3);
  assert.equal(c.get('cstats_heap_compaction_seconds_total'), 0.4125);
});

test('promtool check metrics accepts the process families', () => {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: processMetricsText(readSelf(), { count: 1, pauseNs: 150_000_000n }), encoding: 'utf8' });
  assert.equal(r.error, undefined, `promtool: ${r.error?.message}`);
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
