/**
 * The alarm engine's files under <dataDir>/alarms: state.json (every alert's state, activeAt,
 * what was last notified and sent, recent history) and alarms.json (threshold alarms made through
 * the REST API). Each is written whole or not at all: a temporary file, fsync, rename over the
 * old one, fsync of the directory. A file that does not parse is set aside as NAME.corrupt with
 * one log line, and the engine starts clean rather than failing.
 */
import { mkdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from '../log.js';
import { writeFileAtomic } from '../store/datadir.js';

export function writeJsonAtomic(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileAtomic(path, JSON.stringify(value));
}

/** The parsed file, or undefined when there is none or it is damaged (then set aside and logged). */
export function readJson<T>(path: string, log: Logger, check: (x: unknown) => x is T): T | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn('alarms', `cannot read ${path}: ${(err as Error).message}; starting without it`);
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
    if (!check(value)) throw new Error('unexpected content');
  } catch (err) {
    log.warn('alarms', `${path} is damaged (${(err as Error).message}): set aside as ${path}.corrupt, starting clean`);
    try {
      renameSync(path, `${path}.corrupt`);
    } catch {
      // Nothing more to do: the next write replaces it.
    }
    return undefined;
  }
  return value as T;
}

export function alarmsDir(dataDir: string): string {
  return join(dataDir, 'alarms');
}
