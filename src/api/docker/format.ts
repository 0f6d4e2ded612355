/**
 * Text the Docker daemon formats itself and clients display as given: go-units' human
 * durations, and the STATUS and COMMAND columns of `docker ps` (Go's times: ../go-format.ts).
 */
import type { ContainerInfo } from '../../model.js';

/** go-units HumanDuration, which every relative time in `docker ps` goes through. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  // Go rounds the duration to the nearest hour here, half away from zero.
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(ms / 3_600_000) / 24 / 365)} years`;
}

/** Health as moby's Health.String() prints it inside the status text. */
function healthText(status: string): string {
  return status === 'starting' ? 'health: starting' : status;
}

/** The STATUS column: moby's container State.String() at `nowMs`. */
export function statusText(info: ContainerInfo, nowMs: number): string {
  const d = info.docker;
  const since = (ms: number | undefined): string => humanDuration(Math.max(0, nowMs - (ms ?? nowMs)));
  switch (info.state) {
    case 'paused':
      return `Up ${since(info.startedMs)} (Paused)`;
    case 'restarting':
      return `Restarting (${d?.exitCode ?? 0}) ${since(d?.finishedMs)} ago`;
    case 'running':
      return d?.health ? `Up ${since(info.startedMs)} (${healthText(d.health)})` : `Up ${since(info.startedMs)}`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    case 'created':
      return 'Created';
    case 'exited':
      if (info.startedMs === undefined) return 'Created';
      return d?.finishedMs === undefined ? '' : `Exited (${d.exitCode}) ${since(d.finishedMs)} ago`;
  }
}

/** The COMMAND column: the path and its arguments, those holding a space in single quotes. */
export function commandText(path: string, args: readonly string[]): string {
  if (args.length === 0) return path;
  return `${path} ${args.map((a) => (a.includes(' ') ? `'${a}'` : a)).join(' ')}`;
}
