/** The `cstats` command: dispatches to agent, stats, procfs. */
import { UsageError } from './args.js';
import { ConfigError } from '../config.js';
import { cstatsVersion } from '../version.js';

const HELP = `Usage: cstats COMMAND [options]

Commands:
  agent     sample every container on this host and serve the figures (HTTP API)
  stats     show container resource usage, as docker stats does, from a running agent
  top       a live full-screen view of every container, from a running agent
  procfs    container-aware /proc files over FUSE (start, stop, status, reload, docker-args)
  version   print the version (also: cstats --version)

Run 'cstats COMMAND --help' for a command's options.
`;

interface Command {
  run: (argv: string[]) => Promise<number>;
  help: string;
}

/** Each command's module is loaded only when that command runs. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  agent: () => import('./agent.js').then((m) => ({ run: m.runAgent, help: m.AGENT_HELP })),
  stats: () => import('./stats.js').then((m) => ({ run: m.runStats, help: m.STATS_HELP })),
  top: () => import('./top.js').then((m) => ({ run: m.runTop, help: m.TOP_HELP })),
  procfs: () => import('./procfs.js').then((m) => ({ run: m.runProcfsCommand, help: m.PROCFS_HELP })),
  version: async () => ({ run: printVersion, help: 'Usage: cstats version\n\nPrints the version of cstats and of the Node.js that runs it.\n' }),
};

async function printVersion(argv: string[]): Promise<number> {
  if (argv.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(argv[0])}`);
  process.stdout.write(`cstats ${cstatsVersion()} (node ${process.version})\n`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined ? 2 : 0;
  }
  const load = COMMANDS[command === '--version' ? 'version' : command];
  if (!load) {
    process.stderr.write(`cstats: unknown command "${command}"\n\n${HELP}`);
    return 2;
  }
  const cmd = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(cmd.help);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) {
      process.stderr.write(`cstats ${command}: ${err.message}\nRun 'cstats ${command} --help' for usage.\n`);
      return 2;
    }
    process.stderr.write(`cstats ${command}: ${(err as Error).message}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
