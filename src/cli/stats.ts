/**
 * `cstats stats`: the `docker stats` table (or JSON lines), read from a running agent's REST
 * API. Same columns, units, formatting, --no-stream, --all and container arguments as docker.
 */
import { formatStatsJsonLine, formatStatsTable, type StatsRow } from './stats-table.js';
import { parseArgs, UsageError } from './args.js';
import { agentClient, CLIENT_HELP, CLIENT_OPTIONS } from './client.js';

export const STATS_HELP = `Usage: cstats stats [options] [CONTAINER...]

Display a live stream of container resource usage statistics, as docker stats does.

Options:
  -a, --all            show all containers (default shows just running)
      --no-stream      print one table and exit
      --format FORMAT  "table" (default) or "json" (one JSON object per line)

${CLIENT_HELP}`;

export interface Summary {
  id: string;
  name: string;
  state: string;
  derived?: {
    cpuPercent: number;
    memoryUsageBytes: number;
    memoryLimitBytes: number;
    memoryPercent: number;
    netRxBytes: number;
    netTxBytes: number;
    blockReadBytes: number;
    blockWriteBytes: number;
    pids: number;
  };
}

/** A row as docker shows it; a container that is not running shows zeros, as in docker. */
export function toRow({ ref, c }: Selected): StatsRow {
  const d = c.state === 'running' || c.state === 'paused' ? c.derived : undefined;
  return {
    id: c.id,
    name: c.name,
    // docker's JSON "Container" is what was asked for: the argument, or the short id.
    container: ref,
    cpuPercent: d?.cpuPercent ?? 0,
    memUsageBytes: d?.memoryUsageBytes ?? 0,
    memLimitBytes: d?.memoryLimitBytes ?? 0,
    memPercent: d?.memoryPercent ?? 0,
    netRxBytes: d?.netRxBytes ?? 0,
    netTxBytes: d?.netTxBytes ?? 0,
    blockReadBytes: d?.blockReadBytes ?? 0,
    blockWriteBytes: d?.blockWriteBytes ?? 0,
    pids: d?.pids ?? 0,
  };
}

export interface Selected {
  ref?: string;
  c: Summary;
}

/** Containers named on the command line, by name, full id or id prefix, in the order given. */
function select(all: Summary[], refs: string[]): Selected[] {
  if (refs.length === 0) return all.map((c) => ({ c }));
  return refs.map((ref) => {
    const name = ref.replace(/^\//, '');
    const hit = all.find((c) => c.name === name || c.id === ref) ?? all.find((c) => c.id.startsWith(ref));
    if (!hit) throw new Error(`No such container: ${ref}`);
    return { ref, c: hit };
  });
}

export async function runStats(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const { flags, positionals } = parseArgs(
    argv,
    new Map([...CLIENT_OPTIONS, ['all', 'bool'], ['no-stream', 'bool'], ['stream', 'bool'], ['format', 'string']]),
    { a: 'all' },
  );
  const format = (flags.format as string | undefined) ?? 'table';
  if (format !== 'table' && format !== 'json') throw new UsageError(`--format: expected "table" or "json", got ${JSON.stringify(format)}`);
  const client = agentClient(flags);
  // Named containers are shown whatever their state, as docker does.
  const all = flags.all === true || positionals.length > 0;
  const stream = flags['no-stream'] !== true && flags.stream !== false;

  const render = async (): Promise<string> => {
    const list = await client.getJson<Summary[]>(`/api/v1/containers${all ? '?all=1' : ''}`);
    const rows = select(list.filter((c) => c.state !== 'removed' || positionals.length > 0), positionals).map(toRow);
    return format === 'json' ? rows.map((r) => formatStatsJsonLine(r) + '\n').join('') : formatStatsTable(rows);
  };
  if (!stream) {
    out(await render());
    return 0;
  }
  for (;;) {
    const text = await render();
    // Clear the screen and home the cursor, as docker stats does between refreshes.
    out(format === 'json' ? text : `\x1b[2J\x1b[H${text}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}
