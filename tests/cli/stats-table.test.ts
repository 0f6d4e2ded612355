import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  bytesSize,
  formatStatsJsonLine,
  formatStatsTable,
  goFormatFixed,
  goFormatG,
  humanSizeWithPrecision,
  statsColumns,
  type StatsRow,
} from '../../src/cli/stats-table.js';

const FIXTURES = 'tests/fixtures/docker-stats';
const read = (name: string): string => readFileSync(`${FIXTURES}/${name}`, 'utf8');

describe('Go float formatting', () => {
  test('%.2f rounds the exact binary value half to even, unlike toFixed', () => {
    assert.equal(goFormatFixed(0.125, 2), '0.12');
    assert.equal((0.125).toFixed(2), '0.13');
    assert.equal(goFormatFixed(0.375, 2), '0.38');
    assert.equal(goFormatFixed(2.675, 2), '2.67'); // 2.67499999999999982236431605997495353221893310546875
    assert.equal(goFormatFixed(99.995, 2), '100.00'); // 99.9950000000000045474735088646411895751953125
    assert.equal(goFormatFixed(0.005, 2), '0.01');
    assert.equal(goFormatFixed(0.0001, 2), '0.00');
    assert.equal(goFormatFixed(0, 2), '0.00');
    assert.equal(goFormatFixed(-0, 2), '-0.00');
    assert.equal(goFormatFixed(600, 2), '600.00');
    assert.equal(goFormatFixed(2 ** 64, 2), '18446744073709551616.00');
  });

  test('zero, the figure of every idle container, as Go writes it (it is formatted apart from the exact expansion)', () => {
    // What it costs is bench/ui's figure (cstats top over 100 idle containers), not a test's.
    assert.equal(goFormatFixed(0, 2), '0.00');
    assert.equal(goFormatFixed(0, 0), '0');
    assert.equal(goFormatFixed(-0, 2), '-0.00');
    assert.equal(goFormatG(0, 3), '0');
    assert.equal(bytesSize(0), '0B');
    assert.equal(humanSizeWithPrecision(0, 3), '0B');
  });

  test('%.*g drops trailing zeros and switches to exponent form at exp < -4 or exp >= precision', () => {
    assert.equal(goFormatG(0, 3), '0');
    assert.equal(goFormatG(4.096, 3), '4.1');
    assert.equal(goFormatG(25.1904, 3), '25.2');
    assert.equal(goFormatG(999.4, 3), '999');
    assert.equal(goFormatG(999.5, 3), '1e+03'); // tie, 9 is odd: up
    assert.equal(goFormatG(998.5, 3), '998'); // tie, 8 is even: down
    assert.equal((998.5).toPrecision(3), '999');
    assert.equal(goFormatG(1000, 3), '1e+03');
    assert.equal(goFormatG(1023.999, 4), '1024');
    assert.equal(goFormatG(0.0001, 3), '0.0001');
    assert.equal(goFormatG(0.00001, 3), '1e-05');
    assert.equal(goFormatG(1.5e300, 4), '1.5e+300');
    assert.equal(goFormatG(5e-324, 3), '4.94e-324');
    assert.equal(goFormatG(Number.NaN, 3), 'NaN');
    assert.equal(goFormatG(Number.POSITIVE_INFINITY, 3), '+Inf');
  });
});

describe('go-units sizes', () => {
  test('humanSizeWithPrecision: decimal units, divides while size >= 1000', () => {
    const cases: [number, string][] = [
      [0, '0B'],
      [999, '999B'],
      [1000, '1kB'],
      [1125, '1.12kB'],
      [1135, '1.14kB'],
      [4096, '4.1kB'],
      [998_500, '998kB'],
      [999_500, '1e+03kB'],
      [999_999, '1e+03kB'],
      [25_190_400, '25.2MB'],
      [18446744073709549568, '18.4EB'],
      [1e27, '1e+03YB'],
    ];
    for (const [bytes, text] of cases) assert.equal(humanSizeWithPrecision(bytes, 3), text, String(bytes));
  });

  test('bytesSize: binary units, %.4g', () => {
    const cases: [number, string][] = [
      [0, '0B'],
      [1000, '1000B'],
      [1023, '1023B'],
      [1024, '1KiB'],
      [1_048_575, '1024KiB'],
      [1_134_592, '1.082MiB'],
      [67_108_864, '64MiB'],
      [25_276_026_880, '23.54GiB'],
      [2 ** 63, '8EiB'],
    ];
    for (const [bytes, text] of cases) assert.equal(bytesSize(bytes), text, String(bytes));
  });
});

const quiet: StatsRow = {
  id: '8450bacbf0fffbe296913b6878e2604f5b0527d7d134f03b281c7ebeeffb656c',
  name: 'web',
  cpuPercent: 0,
  memUsageBytes: 561_152,
  memLimitBytes: 25_276_026_880,
  memPercent: 0.0022,
  netRxBytes: 5216,
  netTxBytes: 4410,
  blockReadBytes: 8192,
  blockWriteBytes: 0,
  pids: 1,
};

describe('stats columns', () => {
  test('a row with data', () => {
    assert.deepEqual(statsColumns(quiet), {
      BlockIO: '8.19kB / 0B',
      CPUPerc: '0.00%',
      Container: '8450bacbf0ff',
      ID: '8450bacbf0ff',
      MemPerc: '0.00%',
      MemUsage: '548KiB / 23.54GiB',
      Name: 'web',
      NetIO: '5.22kB / 4.41kB',
      PIDs: '1',
    });
  });

  test('no data: figures are "--", id and name stay', () => {
    const c = statsColumns({ ...quiet, invalid: true, container: 'web' });
    assert.deepEqual(c, {
      BlockIO: '--',
      CPUPerc: '--',
      Container: 'web',
      ID: '8450bacbf0ff',
      MemPerc: '--',
      MemUsage: '-- / --',
      Name: 'web',
      NetIO: '--',
      PIDs: '--',
    });
    assert.equal(statsColumns({ ...quiet, name: '' }).Name, '--');
  });

  test('JSON escapes like Go json.Marshal, keys sorted', () => {
    assert.equal(
      formatStatsJsonLine({ ...quiet, container: 'a<b>&c\u2028' }),
      '{"BlockIO":"8.19kB / 0B","CPUPerc":"0.00%","Container":"a\\u003cb\\u003e\\u0026c\\u2028","ID":"8450bacbf0ff",' +
        '"MemPerc":"0.00%","MemUsage":"548KiB / 23.54GiB","Name":"web","NetIO":"5.22kB / 4.41kB","PIDs":"1"}',
    );
  });
});

describe('stats table', () => {
  test('no rows: the header alone, every column at its minimum width of 10 or text + 3', () => {
    assert.equal(
      formatStatsTable([]),
      'CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O   BLOCK I/O   PIDS\n',
    );
  });

  test('rows whose first answer never came (docker CLI 28.2.2 output)', () => {
    const lost: StatsRow = { ...quiet, id: '', name: '', invalid: true };
    assert.equal(
      formatStatsTable([lost, lost]),
      'CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O   BLOCK I/O   PIDS\n' +
        '               --        --        -- / --             --        --        --          --\n' +
        '               --        --        -- / --             --        --        --          --\n',
    );
  });
});

// ---- the real CLI's output, from the Engine API answers it was computed from ----

/** One Engine API stats answer, the fields the CLI reads. */
interface ApiStats {
  id: string;
  name: string;
  cpu_stats: ApiCpu;
  precpu_stats: ApiCpu;
  memory_stats: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number }>;
  blkio_stats: { io_service_bytes_recursive?: { op: string; value: number }[] | null };
  pids_stats: { current?: number };
}
interface ApiCpu {
  cpu_usage: { total_usage: number; percpu_usage?: number[] };
  system_cpu_usage?: number;
  online_cpus?: number;
}
interface Captured {
  container: string;
  /** For crafted answers that never come (body null): the id the container list gave. */
  id?: string;
  body: ApiStats | null;
}

/**
 * docker/cli stats_helpers.go on one answer. u64 arithmetic in bigint; the fixtures hold
 * numbers above 2^53 only where JSON.parse is exact (2^64 − 2048) or only the float is used.
 */
function rowFromApi(captured: Captured, askedByName: boolean): StatsRow {
  const v = captured.body;
  const container = askedByName ? captured.container : undefined;
  if (v === null) {
    const zero = { cpuPercent: 0, memUsageBytes: 0, memLimitBytes: 0, memPercent: 0, pids: 0 };
    const io = { netRxBytes: 0, netTxBytes: 0, blockReadBytes: 0, blockWriteBytes: 0 };
    return { id: '', name: '', ...zero, ...io, invalid: true, container: container ?? captured.id!.slice(0, 12) };
  }
  const cpuDelta = v.cpu_stats.cpu_usage.total_usage - v.precpu_stats.cpu_usage.total_usage;
  const systemDelta = (v.cpu_stats.system_cpu_usage ?? 0) - (v.precpu_stats.system_cpu_usage ?? 0);
  const onlineCpus = v.cpu_stats.online_cpus || (v.cpu_stats.cpu_usage.percpu_usage?.length ?? 0);
  const cpuPercent = systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * onlineCpus * 100 : 0;

  const usage = BigInt(v.memory_stats.usage ?? 0);
  const stat = v.memory_stats.stats ?? {};
  const v1Inactive = stat.total_inactive_file;
  const inactive = v1Inactive !== undefined && BigInt(v1Inactive) < usage ? v1Inactive : (stat.inactive_file ?? 0);
  const memUsageBytes = Number(BigInt(inactive) < usage ? usage - BigInt(inactive) : usage);
  const memLimitBytes = v.memory_stats.limit ?? 0;

  let netRxBytes = 0;
  let netTxBytes = 0;
  for (const net of Object.values(v.networks ?? {})) {
    netRxBytes += net.rx_bytes;
    netTxBytes += net.tx_bytes;
  }
  let read = 0n;
  let write = 0n;
  for (const entry of v.blkio_stats.io_service_bytes_recursive ?? []) {
    if (/^[rR]/.test(entry.op)) read += BigInt(entry.value);
    if (/^[wW]/.test(entry.op)) write += BigInt(entry.value);
  }
  return {
    id: v.id,
    name: v.name.slice(1),
    cpuPercent,
    memUsageBytes,
    memLimitBytes,
    memPercent: memLimitBytes !== 0 ? (memUsageBytes / memLimitBytes) * 100 : 0,
    netRxBytes,
    netTxBytes,
    blockReadBytes: Number(read),
    blockWriteBytes: Number(write),
    pids: v.pids_stats.current ?? 0,
    container,
  };
}

const rowsFrom = (api: string, askedByName: boolean): StatsRow[] =>
  (JSON.parse(read(api)) as Captured[]).map((c) => rowFromApi(c, askedByName));
const jsonLines = (rows: StatsRow[]): string => rows.map((row) => `${formatStatsJsonLine(row)}\n`).join('');

describe('docker stats --no-stream, real containers (capture.sh, docker CLI 28.2.2, Engine 20.10)', () => {
  test('table', () => {
    assert.equal(formatStatsTable(rowsFrom('table.api.json', true)), read('table.txt'));
  });
  test('--format json', () => {
    assert.equal(jsonLines(rowsFrom('json.api.json', true)), read('json.txt'));
  });
});

describe('docker stats --no-stream, crafted answers to the real CLI (edge.api.json)', () => {
  test('table', () => {
    assert.equal(formatStatsTable(rowsFrom('edge.api.json', false)), read('edge-table.txt'));
  });
  test('--format json', () => {
    assert.equal(jsonLines(rowsFrom('edge.api.json', false)), read('edge-json.txt'));
  });
});
