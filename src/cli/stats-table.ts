/**
 * The text `docker stats` prints, reproduced byte for byte: the column strings of docker/cli's
 * stats formatter (cli/command/container/formatter_stats.go), the sizes of docker/go-units
 * (size.go), Go's float formatting, and docker/cli's tabwriter as its formatter sets it up.
 * Checked against docker CLI 28.2.2 output in tests/fixtures/docker-stats.
 */

/** One `docker stats` row, in the CLI's units (floats, as the CLI holds them). */
export interface StatsRow {
  /** Full container id; the table shows its first 12 characters. */
  id: string;
  /** Name without the leading '/' (as `docker ps` shows it); '' shows as "--". */
  name: string;
  cpuPercent: number;
  /** Usage without inactive file pages (the CLI's calculateMemUsageUnixNoCache). */
  memUsageBytes: number;
  memLimitBytes: number;
  memPercent: number;
  netRxBytes: number;
  netTxBytes: number;
  blockReadBytes: number;
  blockWriteBytes: number;
  pids: number;
  /**
   * No data: the CLI got no answer within 2 s or an error. Every figure then shows as "--"
   * ("-- / --" for MEM USAGE / LIMIT) while ID and NAME stay as given; a container whose
   * first answer never came has id '' and name '' (shown as "--").
   */
  invalid?: boolean;
  /**
   * The JSON form's "Container" key: what the container was asked for by (a name or id given
   * on the command line). Defaults to the 12-character id, which is what `docker stats`
   * without arguments puts there.
   */
  container?: string;
}

// ---- Go's strconv float formatting ('f' and 'g' with a precision) ----

/** A non-negative decimal: 0.digits × 10^dp, no leading or trailing zeros ('' is zero). */
interface Decimal {
  digits: string;
  dp: number;
}

const float = new DataView(new ArrayBuffer(8));

/** The exact value of a finite, non-negative double as a decimal (no rounding at all). */
function exactDecimal(x: number): Decimal {
  // Zero (an idle container's CPU %, rates and I/O) would be 0 × 5^1074 below: a 2500-bit
  // multiplication, most of what `cstats top` spent per frame on 100 idle containers.
  if (x === 0) return { digits: '', dp: 0 };
  float.setFloat64(0, x);
  const hi = float.getUint32(0);
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(float.getUint32(4));
  if (biased !== 0) mant |= 1n << 52n;
  // x = mant × 2^exp2; with exp2 < 0 that is mant × 5^-exp2 / 10^-exp2.
  const exp2 = (biased === 0 ? 1 : biased) - 1075;
  const int = exp2 >= 0 ? mant << BigInt(exp2) : mant * 5n ** BigInt(-exp2);
  const scale = exp2 >= 0 ? 0 : -exp2;
  if (int === 0n) return { digits: '', dp: 0 };
  const all = int.toString();
  return { digits: all.replace(/0+$/, ''), dp: all.length - scale };
}

/**
 * Keep nd digits, rounding half to even as Go's strconv does on the exact value (so 0.125
 * gives "0.12" where JavaScript's toFixed gives "0.13").
 */
function roundDecimal(d: Decimal, nd: number): Decimal {
  if (nd < 0) return { digits: '', dp: 0 };
  if (nd >= d.digits.length) return d;
  const next = d.digits.charCodeAt(nd) - 48;
  const tie = next === 5 && nd + 1 === d.digits.length;
  const up = tie ? nd > 0 && (d.digits.charCodeAt(nd - 1) - 48) % 2 === 1 : next >= 5;
  let kept = d.digits.slice(0, nd);
  if (!up) return { digits: kept.replace(/0+$/, ''), dp: kept === '' ? 0 : d.dp };
  let i = nd - 1;
  while (i >= 0 && kept[i] === '9') i--;
  // All nines (or nothing kept): the value becomes 1 × 10^dp.
  if (i < 0) return { digits: '1', dp: d.dp + 1 };
  kept = kept.slice(0, i) + String.fromCharCode(kept.charCodeAt(i) + 1);
  return { digits: kept, dp: d.dp };
}

function digitAt(d: Decimal, i: number): string {
  return i >= 0 && i < d.digits.length ? d.digits[i]! : '0';
}

/** strconv's fmtF: integer part, then prec fraction digits. */
function fixedDigits(d: Decimal, prec: number): string {
  let out = d.dp > 0 ? d.digits.slice(0, d.dp).padEnd(d.dp, '0') : '0';
  if (prec > 0) {
    out += '.';
    for (let i = 0; i < prec; i++) out += digitAt(d, d.dp + i);
  }
  return out;
}

/** strconv's fmtE: d.ddd then e±dd (at least two exponent digits). */
function exponentDigits(d: Decimal, prec: number): string {
  let out = digitAt(d, 0);
  if (prec > 0) {
    out += '.';
    for (let i = 1; i <= prec; i++) out += digitAt(d, i);
  }
  const exp = d.digits === '' ? 0 : d.dp - 1;
  return `${out}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

function goFloat(x: number, format: (abs: number) => string): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  return x < 0 || Object.is(x, -0) ? `-${format(-x)}` : format(x);
}

/** Go's strconv.FormatFloat(x, 'f', prec, 64), i.e. fmt's "%.<prec>f". */
export function goFormatFixed(x: number, prec: number): string {
  return goFloat(x, (abs) => {
    const d = exactDecimal(abs);
    return fixedDigits(roundDecimal(d, d.dp + prec), prec);
  });
}

/**
 * Go's fmt "%.<prec>g": prec significant digits, trailing zeros dropped, exponent form when
 * the exponent is < -4 or >= prec (so 999.5 with prec 3 is "1e+03").
 */
export function goFormatG(x: number, prec: number): string {
  return goFloat(x, (abs) => {
    let p = prec === 0 ? 1 : prec;
    const d = roundDecimal(exactDecimal(abs), p);
    const nd = d.digits.length;
    let eprec = p;
    if (eprec > nd && nd >= d.dp) eprec = nd;
    const exp = d.dp - 1;
    if (exp < -4 || exp >= eprec) return exponentDigits(d, Math.min(p, nd) - 1);
    if (p > d.dp) p = nd;
    return fixedDigits(d, Math.max(p - d.dp, 0));
  });
}

// ---- docker/go-units ----

const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

function sizeAndUnit(size: number, base: number, units: readonly string[]): [number, string] {
  let i = 0;
  while (size >= base && i < units.length - 1) {
    size /= base;
    i++;
  }
  return [size, units[i]!];
}

/** go-units HumanSizeWithPrecision: decimal units, "%.<precision>g" ("1.12kB", "25.2MB"). */
export function humanSizeWithPrecision(bytes: number, precision: number): string {
  const [size, unit] = sizeAndUnit(bytes, 1000, DECIMAL_UNITS);
  return goFormatG(size, precision) + unit;
}

/** go-units BytesSize: binary units, "%.4g" ("1.082MiB", "23.54GiB"). */
export function bytesSize(bytes: number): string {
  const [size, unit] = sizeAndUnit(bytes, 1024, BINARY_UNITS);
  return goFormatG(size, 4) + unit;
}

// ---- the stats formatter ----

/** The columns of a stats row, in the key order of `docker stats --format json`. */
export interface StatsColumns {
  BlockIO: string;
  CPUPerc: string;
  Container: string;
  ID: string;
  MemPerc: string;
  MemUsage: string;
  Name: string;
  NetIO: string;
  PIDs: string;
}

const NO_DATA = '--';

function percentage(value: number): string {
  return `${goFormatFixed(value, 2)}%`;
}

/** The strings docker's stats formatter renders for one row (Linux daemon, IDs truncated). */
export function statsColumns(row: StatsRow): StatsColumns {
  const id = row.id.slice(0, 12);
  const pair = (a: string, b: string): string => `${a} / ${b}`;
  const figure = (text: () => string): string => (row.invalid ? NO_DATA : text());
  return {
    BlockIO: figure(() =>
      pair(humanSizeWithPrecision(row.blockReadBytes, 3), humanSizeWithPrecision(row.blockWriteBytes, 3)),
    ),
    CPUPerc: figure(() => percentage(row.cpuPercent)),
    Container: row.container ?? id,
    ID: id,
    MemPerc: figure(() => percentage(row.memPercent)),
    MemUsage: row.invalid ? pair(NO_DATA, NO_DATA) : pair(bytesSize(row.memUsageBytes), bytesSize(row.memLimitBytes)),
    Name: row.name === '' ? NO_DATA : row.name,
    NetIO: figure(() => pair(humanSizeWithPrecision(row.netRxBytes, 3), humanSizeWithPrecision(row.netTxBytes, 3))),
    PIDs: figure(() => String(row.pids)),
  };
}

// docker/cli's tabwriter as formatter.Context sets it up: NewWriter(out, 10, 1, 3, ' ', 0).
const MIN_CELL_WIDTH = 10;
const CELL_PADDING = 3;

/**
 * Go's tabwriter algorithm (elastic tabstops) for tab-terminated cells: a column is a run of
 * consecutive lines that have a cell there; it is as wide as its widest cell plus padding,
 * at least the minimum width; the last cell of a line is not part of a column and is not
 * padded. Widths count code points (docker's fork uses go-runewidth, which counts East Asian
 * wide characters twice; Docker names are ASCII).
 */
function alignColumns(lines: readonly (readonly string[])[]): string {
  const widthOf = (cell: string): number => [...cell].length;
  const out: string[] = [];
  const widths: number[] = [];

  const writeLines = (from: number, to: number): void => {
    for (let i = from; i < to; i++) {
      let text = '';
      lines[i]!.forEach((cell, j) => {
        text += j < widths.length ? cell + ' '.repeat(widths[j]! - widthOf(cell)) : cell;
      });
      out.push(text);
    }
  };

  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    for (let at = line0; at < line1; at++) {
      if (column >= lines[at]!.length - 1) continue;
      writeLines(line0, at);
      line0 = at;
      let width = MIN_CELL_WIDTH;
      for (; at < line1 && column < lines[at]!.length - 1; at++) {
        width = Math.max(width, widthOf(lines[at]![column]!) + CELL_PADDING);
      }
      widths.push(width);
      format(line0, at);
      widths.pop();
      line0 = at;
    }
    writeLines(line0, line1);
  };

  format(0, lines.length);
  return out.join('\n');
}

const TABLE_HEADER = ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET I/O', 'BLOCK I/O', 'PIDS'];

/**
 * `docker stats` default table: header and one line per row, each ending in "\n". With no
 * rows this is the header alone, as the streaming display shows it (`--no-stream` prints
 * nothing at all when there are no containers).
 */
export function formatStatsTable(rows: readonly StatsRow[]): string {
  const lines = [TABLE_HEADER];
  for (const row of rows) {
    const c = statsColumns(row);
    lines.push([c.ID, c.Name, c.CPUPerc, c.MemUsage, c.MemPerc, c.NetIO, c.BlockIO, c.PIDs]);
  }
  return `${alignColumns(lines)}\n`;
}

/** A string as Go's json.Marshal writes it: also escapes <, >, & and U+2028/U+2029. */
function goJsonString(value: string): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** One line of `docker stats --format json`, without its trailing newline. */
export function formatStatsJsonLine(row: StatsRow): string {
  const fields = Object.entries(statsColumns(row)).map(([key, value]) => `"${key}":${goJsonString(value)}`);
  return `{${fields.join(',')}}`;
}
