/**
 * How the Docker-compatible surface answers: the headers dockerd puts on every response, JSON
 * through toJson (exact u64), and errors as the Engine API writes them, {"message": "..."}.
 */
import type { ServerResponse } from 'node:http';
import { toJson } from '../json.js';

/** The Engine API version served: current CLIs refuse a daemon below 1.44 unless told otherwise. */
export const API_VERSION = '1.44';
export const MIN_API_VERSION = '1.24';

/** An error the Docker CLI prints as "Error response from daemon: <message>". */
export class DockerError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A boolean query parameter as dockerd reads it (httputils.BoolValueOrDefault): absent is the
 * default; present, it is false when empty, "0", "no", "false" or "none" (any case), else true.
 */
export function queryFlag(params: URLSearchParams, name: string, byDefault: boolean): boolean {
  const v = params.get(name);
  if (v === null) return byDefault;
  return !['', '0', 'no', 'false', 'none'].includes(v.trim().toLowerCase());
}

/** Headers on every answer, as dockerd's version middleware sets them. */
export function dockerHeaders(serverVersion: string): Record<string, string> {
  return {
    'Api-Version': API_VERSION,
    'Docker-Experimental': 'false',
    Ostype: 'linux',
    Server: `Docker/${serverVersion} (linux)`,
  };
}

export function sendDocker(res: ServerResponse, headers: Record<string, string>, status: number, body: unknown): void {
  const text = toJson(body) + '\n';
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
