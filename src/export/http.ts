/**
 * One POST to a receiver, as every exporter sends: basic auth or a bearer token, TLS with a CA
 * of its own, a client certificate or no verification at all, a timeout, and the answer mapped
 * onto SendError: a network error, a timeout, 5xx and 429 may succeed later (with the
 * receiver's Retry-After); any other status below 200 or from 300 up will not.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { SendError } from './sink.js';

export interface HttpTarget {
  url: URL;
  /** Basic auth, or a bearer token (not both: config refuses it). */
  username?: string;
  password?: string;
  bearerToken?: string;
  /** PEM contents. */
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** Skip verifying the receiver's certificate. */
  insecure?: boolean;
  timeoutMs: number;
}

export interface TargetFiles {
  url: string;
  username?: string;
  password?: string;
  bearerToken?: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  insecure?: boolean;
  timeoutMs: number;
}

/** Reads the PEM files a target names; throws with the option and path when one cannot be read. */
export function httpTarget(t: TargetFiles): HttpTarget {
  const pem = (path: string | undefined, what: string): Buffer | undefined => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`${what}: cannot read ${path}: ${(err as Error).message}`);
    }
  };
  let url: URL;
  try {
    url = new URL(t.url);
  } catch {
    throw new Error(`not a URL: ${JSON.stringify(t.url)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${t.url}: only http and https URLs are supported`);
  return {
    url,
    username: t.username,
    password: t.password,
    bearerToken: t.bearerToken,
    ca: pem(t.caFile, 'CA file'),
    cert: pem(t.certFile, 'client certificate'),
    key: pem(t.keyFile, 'client key'),
    insecure: t.insecure,
    timeoutMs: t.timeoutMs,
  };
}

/**
 * Retry-After as ms: delay-seconds or an HTTP date (RFC 9110 10.2.3); undefined when absent or
 * unreadable.
 */
export function parseRetryAfter(value: string | undefined, nowMs = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The answer's first `keepBytes` as received (a protobuf answer is not text). */
  bytes: Buffer;
  /** The body was longer than the bytes kept. */
  truncated: boolean;
}

/**
 * POSTs `body` (or PATCHes, PUTs...: `method`); resolves with a 2xx answer, throws SendError
 * otherwise. Of the answer's body the first `keepBytes` are kept (an exporter keeps 1 KiB of
 * error text; a query keeps its result).
 */
export function post(target: HttpTarget, body: Uint8Array, headers: Record<string, string>, method = 'POST', keepBytes = 1024): Promise<Answer> {
  const h: Record<string, string | number> = { ...headers, 'Content-Length': body.length };
  if (target.bearerToken !== undefined) h.Authorization = `Bearer ${target.bearerToken}`;
  else if (target.username !== undefined) h.Authorization = `Basic ${Buffer.from(`${target.username}:${target.password ?? ''}`).toString('base64')}`;
  const tls = target.url.protocol === 'https:';
  const request = tls ? httpsRequest : httpRequest;
  const where = `${target.url.origin}${target.url.pathname}`;
  return new Promise((resolve, reject) => {
    const req = request(
      target.url,
      {
        method,
        headers: h,
        // "Connection: close" asks for a socket of its own: Node's global agent would otherwise pool it and reuse it after the server closed it.
        ...(headers.Connection === 'close' && { agent: false }),
        timeout: target.timeoutMs,
        ...(tls && { ca: target.ca, cert: target.cert, key: target.key, rejectUnauthorized: !target.insecure }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on('data', (c: Buffer) => {
          if (kept < keepBytes) chunks.push(c);
          kept += c.length;
        });
        res.on('error', (err) => reject(new SendError(`${where}: ${err.message}`, true)));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const bytes = Buffer.concat(chunks).subarray(0, keepBytes);
          if (status >= 200 && status < 300) return resolve({ status, headers: res.headers, body: bytes.toString('utf8').trim(), bytes, truncated: kept > keepBytes });
          const text = bytes.subarray(0, 1024).toString('utf8').trim();
          const retry = status >= 500 || status === 429;
          const after = retry ? parseRetryAfter(res.headers['retry-after']) : undefined;
          reject(new SendError(`${where}: HTTP ${status}${text ? `: ${text.replace(/\s+/g, ' ')}` : ''}`, retry, status, after));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${target.timeoutMs} ms`)));
    req.on('error', (err) => reject(new SendError(`${where}: ${err.message}`, true)));
    req.end(body);
  });
}
