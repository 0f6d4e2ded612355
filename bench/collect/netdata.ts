/**
 * Netdata (1.37, Debian's package) as the peer: one instance per cgroup mode, each with its own
 * configuration, directories and port under the state directory, every plugin off except
 * cgroups, sampling every second, no health checks, no ML. Its cgroups collector is a pair of
 * threads inside the netdata process, both named "PLUGIN[cgroups]": the older one reads the
 * files every second, the younger one is the discovery worker (rescans every 10 s, runs
 * cgroup-name.sh for new cgroups). Both are measured, nothing else of netdata.
 *
 * Two discovery helpers are cut short, as they take netdata a second or more per new cgroup
 * (ten minutes for 1000, more on a loaded host where `docker inspect` is slow): cgroup-name.sh
 * is not run (cgroups keep names made from their paths) and the network-interface helper is
 * /bin/true (its result only renames interfaces in charts of the proc plugin, which is off;
 * netdata forks it for every new cgroup whatever it is set to). Both run once per new cgroup,
 * never in the steady state that is measured.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { threadProbe, threadsNamed, type CpuProbe } from './cpu.js';
import { STATE_DIR, start, type Started } from './children.js';

/**
 * "v1": `use unified cgroups = no`, i.e. the v1 controllers the agent reads too.
 * "default": netdata's own choice; on a hybrid host 1.37 picks the cgroup2 tree, where no
 * controller is enabled, so it reads cpu.stat and PSI only (no memory, no blkio).
 */
export type NetdataMode = 'v1' | 'default';

export interface Netdata {
  mode: NetdataMode;
  port: number;
  proc: Started;
}

const PLUGINS_OFF = ['proc', 'apps', 'python.d', 'charts.d', 'go.d', 'tc', 'idlejitter', 'diskspace', 'timex', 'statsd', 'checks', 'perf', 'slabinfo', 'ebpf', 'fping', 'ioping', 'nfacct', 'cups'];

/** `ram` keeps its charts in memory (bench/collect); `dbengine` on disk, one tier of every second (bench/persist). */
export type NetdataDb = 'ram' | 'dbengine';

function config(dir: string, port: number, mode: NetdataMode, db: NetdataDb): string {
  return `[global]
	run as user = root
	update every = 1
[db]
	mode = ${db}
${db === 'dbengine' ? '\tstorage tiers = 1\n\tdbengine multihost disk space MB = 4096\n' : ''}[directories]
	config = ${dir}
	cache = ${dir}/cache
	lib = ${dir}/lib
	log = ${dir}/log
[web]
	bind to = 127.0.0.1:${port}
[plugins]
	cgroups = yes
${PLUGINS_OFF.map((p) => `\t${p} = no`).join('\n')}
[plugin:cgroups]
	update every = 1
	max cgroups to allow = 100000
	run script to rename cgroups matching = !*
	script to get cgroup network interfaces = /bin/true
${mode === 'v1' ? '\tuse unified cgroups = no\n' : ''}[health]
	enabled = no
[ml]
	enabled = no
[registry]
	enabled = no
`;
}

export function startNetdata(mode: NetdataMode, port: number, db: NetdataDb = 'ram', dir = `${STATE_DIR}/netdata-${mode}`): Netdata {
  rmSync(dir, { recursive: true, force: true }); // a fresh database and log each run
  for (const sub of ['cache', 'lib', 'log']) mkdirSync(`${dir}/${sub}`, { recursive: true });
  writeFileSync(`${dir}/netdata.conf`, config(dir, port, mode, db));
  const proc = start(`netdata-${mode}`, 'netdata', ['-D', '-c', `${dir}/netdata.conf`], { ...process.env, DO_NOT_TRACK: '1' });
  return { mode, port, proc };
}

const CGROUPS_THREAD = 'PLUGIN[cgroups]';

/** Both cgroups threads (collector and discovery). */
export function cgroupsProbe(nd: Netdata): CpuProbe {
  return threadProbe(`netdata ${nd.mode} cgroups threads`, nd.proc.pid, (_, comm) => comm === CGROUPS_THREAD);
}

/** The collector thread alone: the older of the two, since it starts the discovery worker. */
export function collectorThreadProbe(nd: Netdata): CpuProbe {
  const collector = threadsNamed(nd.proc.pid, CGROUPS_THREAD)[0];
  return threadProbe(`netdata ${nd.mode} cgroups collector thread`, nd.proc.pid, (tid) => tid === collector);
}

/**
 * How many cgroups netdata charts: the distinct "cgroup_<name>" chart families. Netdata draws
 * a cgroup's charts once it has read it; one whose figures are all zero gets none.
 */
export async function chartedCgroups(nd: Netdata): Promise<number | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${nd.port}/api/v1/charts`, { signal: AbortSignal.timeout(20_000) });
    const body = (await res.json()) as { charts: Record<string, unknown> };
    const families = new Set<string>();
    for (const id of Object.keys(body.charts)) {
      const dot = id.indexOf('.');
      if (id.startsWith('cgroup_') && dot > 0) families.add(id.slice(0, dot));
    }
    return families.size;
  } catch {
    return undefined; // not answering yet
  }
}

/**
 * Collections netdata made in each [fromMs, toMs] span: the seconds with a value in the cpu
 * chart of the cgroup whose chart id contains `cgroup` (a paused collector leaves gaps, which
 * the data API returns as null). Undefined when netdata does not answer or has no such chart.
 */
export async function collectionsIn(nd: Netdata, cgroup: string, spans: { fromMs: number; toMs: number }[]): Promise<number[] | undefined> {
  try {
    const base = `http://127.0.0.1:${nd.port}/api/v1`;
    const charts = ((await (await fetch(`${base}/charts`, { signal: AbortSignal.timeout(20_000) })).json()) as { charts: Record<string, unknown> }).charts;
    const chart = Object.keys(charts).find((id) => id.startsWith('cgroup_') && id.includes(cgroup) && id.endsWith('.cpu'));
    if (!chart) return undefined;
    const out: number[] = [];
    for (const s of spans) {
      // Whole seconds inside the span; points=0 asks for every stored point, unaggregated.
      const after = Math.ceil(s.fromMs / 1000);
      const before = Math.floor(s.toMs / 1000) - 1;
      const url = `${base}/data?chart=${encodeURIComponent(chart)}&after=${after}&before=${before}&points=0&format=json&options=seconds`;
      const body = (await (await fetch(url, { signal: AbortSignal.timeout(20_000) })).json()) as { data: Array<Array<number | null>> };
      const collected = body.data.filter((row) => row.slice(1).some((v) => v !== null)).length;
      // Scaled from the whole seconds looked at to the span measured.
      out.push((collected / Math.max(1, before - after + 1)) * ((s.toMs - s.fromMs) / 1000));
    }
    return out;
  } catch {
    return undefined;
  }
}
