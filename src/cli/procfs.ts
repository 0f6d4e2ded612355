/**
 * `cstats procfs [start|stop|status|reload|docker-args] [--mountpoint DIR] [--run-dir DIR]
 * [--no-cfs-cpus]`. The CLI entry (src/cli/main.ts) passes the arguments after "procfs".
 */
import { parseArgs } from 'node:util';
import { DEFAULT_MOUNTPOINT, DEFAULT_RUN_DIR, dockerArgs, runningState, startProcfs } from '../procview/index.js';

export const PROCFS_HELP = `usage: cstats procfs [start|stop|status|reload|docker-args] [options]

Mounts a read-only FUSE filesystem whose proc/meminfo, proc/cpuinfo, proc/stat, proc/uptime,
proc/loadavg, proc/diskstats, proc/swaps and sys/devices/system/cpu/online answer for the
container of whoever reads them. Bind them into a container with:
  docker run $(cstats procfs docker-args) IMAGE

  start         mount and serve (the default); keeps a running instance
  stop          unmount and stop serving (containers using the files lose them)
  status        print the running instance; exit status 1 when there is none
  reload        restart the serving process on the installed code, without unmounting
  docker-args   print the -v options for docker run

options:
  --mountpoint DIR   where to mount (default ${DEFAULT_MOUNTPOINT})
  --run-dir DIR      state, pid and log files (default ${DEFAULT_RUN_DIR})
  --no-cfs-cpus      show the whole cpuset, not ceil(quota/period) CPUs

Tools that ask the kernel directly rather than reading /proc (busybox free and nproc use
sysinfo(2) and sched_getaffinity(2)) still see the host: no /proc view can change them.
`;

export async function runProcfsCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        mountpoint: { type: 'string' },
        'run-dir': { type: 'string' },
        'no-cfs-cpus': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${PROCFS_HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const command = positionals[0] ?? 'start';
  if (values.help) {
    process.stdout.write(PROCFS_HELP);
    return 0;
  }
  const runDir = values['run-dir'] ?? DEFAULT_RUN_DIR;
  const mountpoint = values.mountpoint ?? DEFAULT_MOUNTPOINT;
  const opts = { mountpoint, runDir, cfsCpus: !values['no-cfs-cpus'] };
  switch (command) {
    case 'docker-args':
      process.stdout.write(`${dockerArgs(mountpoint).join(' ')}\n`);
      return 0;
    case 'start': {
      const h = await startProcfs(opts);
      process.stdout.write(`procfs ${h.reused ? 'already mounted' : 'mounted'} at ${h.mountpoint} (holder pid ${h.holderPid})\n`);
      return 0;
    }
    case 'status': {
      const state = runningState(runDir);
      if (!state) {
        process.stdout.write('procfs: not running\n');
        return 1;
      }
      process.stdout.write(`${JSON.stringify(state, null, 2)}\n`);
      return 0;
    }
    case 'stop':
    case 'reload': {
      if (!runningState(runDir)) {
        process.stderr.write('procfs: not running\n');
        return 1;
      }
      const h = await startProcfs(opts);
      await (command === 'stop' ? h.stop() : h.reload());
      return 0;
    }
    default:
      process.stderr.write(`unknown procfs command ${JSON.stringify(command)}\n${PROCFS_HELP}`);
      return 2;
  }
}
