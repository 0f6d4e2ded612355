/** Helpers for controller readers that fill a stats object file by file. */
import { readParsed, type StatContext } from './common.js';

/** Reads one file (`name` in `dir`) into `target[key]`; leaves the key unset when the file is absent or malformed. */
export function readInto<T extends object, K extends keyof T>(
  ctx: StatContext,
  target: T,
  key: K,
  dir: string,
  name: string,
  parse: (text: string, file: string) => Exclude<T[K], undefined>,
  maxAgeReads = 0,
): void {
  const value = readParsed(ctx, dir, name, parse, maxAgeReads);
  if (value !== undefined) target[key] = value;
}

/** True when a stats object got at least one field (a controller with no files gives none). */
export function hasFields(o: object): boolean {
  for (const key in o) if (Object.hasOwn(o, key)) return true;
  return false;
}
