/**
 * How every client command (`cstats stats`, `cstats top`) reaches a running agent: its URL, a
 * bearer token, and for https URLs the CA to trust or an explicit choice not to verify.
 *
 *   const client = agentClient(parseArgs(argv, new Map([...CLIENT_OPTIONS, ...own])).flags);
 *   const list = await client.getJson<Summary[]>('/api/v1/containers');
 *   const res = await client.open('/api/v1/stream');   // a streaming body (SSE), status 200
 *
 * node:http(s) rather than fetch: fetch cannot be given a CA or told to skip verification per
 * request without undici's dispatcher, which Node 20 does not expose.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { OptionKind } from './args.js';
import { UsageError } from './args.js';

export const DEFAULT_URL = 'http://127.0.0.1:7070';

/** The options every client command accepts, for parseArgs. */
export const CLIENT_OPTIONS: ReadonlyMap<string, OptionKind> = new Map([
  ['url', 'string'],
  ['token', 'string'],
  ['cacert', 'string'],
  ['insecure-skip-verify', 'bool'],
]);

/** The lines of a client command's --help that describe CLIENT_OPTIONS. */
export const CLIENT_HELP = `Connection (every client command):
      --url URL        agent address (CSTATS_URL, default ${DEFAULT_URL})
      --token TOKEN    send "Authorization: Bearer TOKEN" (CSTATS_AUTH_TOKEN, default none)
      --cacert FILE    trust this PEM CA (or self-signed certificate) for an https URL
                       (CSTATS_CACERT, default the system's CAs)
      --insecure-skip-verify
                       do not verify the agent's certificate (CSTATS_INSECURE_SKIP_VERIFY,
                       default off; anyone on the path can then read the token)
`;

export class AgentError extends Error {
  override name = 'AgentError';
}

export interface AgentClient {
  /** The agent's base URL, without a trailing slash. */
  readonly url: string;
  /** GET `path`, parsed as JSON; an error names the agent and the status unless it is 2xx. */
  getJson<T>(path: string, timeoutMs?: number): Promise<T>;
  /** GET `path` and hand over the response as it streams (status 200 only); destroy it to stop. */
  open(path: string): Promise<IncomingMessage>;
}

interface Connection {
  url: string;
  token?: string;
  ca?: Buffer;
  rejectUnauthorized: boolean;
}

/** Reads the client options from parsed flags, then CSTATS_* variables, then the defaults. */
export function agentClient(flags: Record<string, string | boolean>, env: NodeJS.ProcessEnv = process.env): AgentClient {
  const url = String(flags.url ?? env.CSTATS_URL ?? DEFAULT_URL).replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--url: expected an http:// or https:// URL, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`--url: expected an http:// or https:// URL, got ${JSON.stringify(url)}`);
  const token = (flags.token as string | undefined) ?? env.CSTATS_AUTH_TOKEN;
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) throw new UsageError('--token: expected printable characters without spaces');
  const cacert = (flags.cacert as string | undefined) ?? env.CSTATS_CACERT;
  const skip = flags['insecure-skip-verify'] ?? env.CSTATS_INSECURE_SKIP_VERIFY;
  const skipVerify = skip === true || (typeof skip === 'string' && /^(1|true|yes|on)$/i.test(skip));
  let ca: Buffer | undefined;
  if (cacert !== undefined) {
    try {
      ca = readFileSync(cacert);
    } catch (err) {
      throw new UsageError(`--cacert: cannot read ${cacert}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return client({ url, token, ca, rejectUnauthorized: !skipVerify });
}

function client(conn: Connection): AgentClient {
  const get = (path: string, timeoutMs: number | undefined): Promise<IncomingMessage> =>
    new Promise((resolve, reject) => {
      const target = new URL(conn.url + path);
      const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
      const headers: Record<string, string> = { Accept: 'application/json, text/event-stream' };
      if (conn.token !== undefined) headers.Authorization = `Bearer ${conn.token}`;
      const req = request(target, { headers, ca: conn.ca, rejectUnauthorized: conn.rejectUnauthorized, timeout: timeoutMs }, resolve);
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (err) => reject(unreachable(conn.url, err)));
      req.end();
    });
  const body = (res: IncomingMessage): Promise<string> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', reject);
    });
  const refuse = async (res: IncomingMessage, path: string): Promise<never> => {
    const text = await body(res);
    if (res.statusCode === 401) {
      throw new AgentError(
        `the agent at ${conn.url} requires a token${conn.token === undefined ? '' : ' and refused the one given'}: set --token or CSTATS_AUTH_TOKEN`,
      );
    }
    let detail = text.trim();
    try {
      detail = (JSON.parse(text) as { error?: string; message?: string }).error ?? detail;
    } catch {
      // Not JSON: keep the text.
    }
    throw new AgentError(`${conn.url}${path}: ${res.statusCode} ${detail}`.trimEnd());
  };
  return {
    url: conn.url,
    async getJson<T>(path: string, timeoutMs = 5000): Promise<T> {
      const res = await get(path, timeoutMs);
      if (res.statusCode === undefined || res.statusCode < 200 || res.statusCode > 299) return refuse(res, path);
      const text = await body(res);
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new AgentError(`${conn.url}${path}: the answer is not JSON (is ${conn.url} a cstats agent?)`);
      }
    },
    async open(path: string): Promise<IncomingMessage> {
      const res = await get(path, undefined);
      return res.statusCode === 200 ? res : refuse(res, path);
    },
  };
}

/** What went wrong reaching the agent, with the hint that fixes it. */
function unreachable(url: string, err: Error): AgentError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
    return new AgentError(`the agent's certificate at ${url} is not trusted (${err.message}): pass --cacert FILE with its CA, or --insecure-skip-verify`);
  }
  if (code === 'EPROTO' || /wrong version number|packet length too long/i.test(err.message)) {
    return new AgentError(`cannot speak TLS with ${url} (${err.message}): does the agent serve http rather than https?`);
  }
  return new AgentError(`cannot reach the cstats agent at ${url}: ${err.message}. Is \`cstats agent\` running? (set --url or CSTATS_URL)`);
}
