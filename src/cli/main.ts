/** The `cstats` command: dispatches to agent, stats, procfs. */
import { readFileSync } from 'node:fs';
import { runAgent, AGENT_HELP } from './agent.js';
import { runStats, STATS_HELP } from './stats.js';
import { UsageError } from './args.js';
import { ConfigError } from '../config.js';

const HELP = `Usage: cstats COMMAND [options]

Commands:
  agent     sample every container on this host and serve the figures (HTTP API)
  stats     show container resource usage, as docker stats does, from a running agent
  version   print the version

Run 'cstats COMMAND --help' for a command's options.
`;

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number>; help: string }> = {
  agent: { run: runAgent, help: AGENT_HELP },
  stats: { run: runStats, help: STATS_HELP },
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === 'version' || command === '--version') {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`cstats ${pkg.version}\n`);
    return 0;
  }
  const cmd = COMMANDS[command];
  if (!cmd) {
    process.stderr.write(`cstats: unknown command "${command}"\n\n${HELP}`);
    return 2;
  }
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
