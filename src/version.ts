/** cstats' version, from its package.json (dist/src/version.js sits two folders below it). */
import { readFileSync } from 'node:fs';

export function cstatsVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}
