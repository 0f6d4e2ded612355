/**
 * Command-line parsing: `--name value`, `--name=value`, `--flag`, `--no-flag`, positionals.
 * Only declared options are accepted, so a typo is an error rather than silently ignored.
 */
/** A `list` option may be given several times: its values are joined with commas. */
export type OptionKind = 'string' | 'bool' | 'duration' | 'list';

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface ParsedArgs {
  flags: Record<string, string | boolean>;
  positionals: string[];
}

export function parseArgs(argv: readonly string[], options: ReadonlyMap<string, OptionKind>, shortAliases: Record<string, string> = {}): ParsedArgs {
  const flags: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (/^-[a-zA-Z]$/.test(arg) && shortAliases[arg[1]]) {
      flags[shortAliases[arg[1]]] = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const kind = options.get(name);
    if (kind === undefined && name.startsWith('no-') && options.get(name.slice(3)) === 'bool' && eq < 0) {
      flags[name.slice(3)] = false;
      continue;
    }
    if (kind === undefined) throw new UsageError(`unknown option --${name}`);
    if (kind === 'bool') {
      flags[name] = eq < 0 ? true : arg.slice(eq + 1);
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    flags[name] = kind === 'list' && typeof flags[name] === 'string' ? `${flags[name]},${value}` : value;
  }
  return { flags, positionals };
}
