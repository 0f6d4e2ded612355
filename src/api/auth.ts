/**
 * Bearer-token authentication for every endpoint but /healthz (a liveness probe carries no
 * credentials). The token is compared in constant time: both sides are hashed to 32 bytes first,
 * so neither the content nor the length of the expected token leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './http.js';

/** Paths answered without a token. */
const OPEN_PATHS = /^\/healthz\/?$/;

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive, RFC 6750), if any. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const m = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

/**
 * A request guard for the Router: lets a request through when it carries `token` (or asks for an
 * open path), otherwise answers 401 with a WWW-Authenticate challenge and returns false.
 */
export function bearerGuard(token: string): (req: IncomingMessage, res: ServerResponse, url: URL) => boolean {
  const expected = digest(token);
  return (req, res, url) => {
    if (OPEN_PATHS.test(url.pathname)) return true;
    const given = bearerToken(req);
    if (given !== undefined && timingSafeEqual(digest(given), expected)) return true;
    // RFC 6750 §3: no error code when no credentials were sent, invalid_token when they were wrong.
    res.setHeader('WWW-Authenticate', given === undefined ? 'Bearer realm="cstats"' : 'Bearer realm="cstats", error="invalid_token"');
    sendJson(res, 401, { error: given === undefined ? 'authentication required: send Authorization: Bearer <token>' : 'invalid bearer token' });
    return false;
  };
}
