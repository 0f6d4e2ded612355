/**
 * Token authentication for every endpoint but /healthz (a liveness probe carries no
 * credentials) and the dashboard's login form. Scripts send `Authorization: Bearer <token>`;
 * the dashboard's browser sends the session cookie that POST /login sets after checking the
 * token (HttpOnly, SameSite=Strict, Secure over TLS). The cookie holds an HMAC of the token,
 * never the token itself, so a leaked cookie does not reveal the bearer token. Everything is
 * compared in constant time: both sides are hashed to 32 bytes first, so neither the content
 * nor the length of the expected value leaks through timing.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson, type Guard } from './http.js';

/** Paths answered without a token: the liveness probe, the login form's target and its stylesheet. */
const OPEN_PATHS = /^\/(healthz\/?|login|ui\/app\.css)$/;

export const SESSION_COOKIE = 'cstats_session';

export const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

export const sameSecret = (given: string, expected: Buffer): boolean => timingSafeEqual(digest(given), expected);

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive, RFC 6750), if any. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const m = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

/** The session cookie's value for `token`: changes when the token does, so old sessions end. */
export function sessionValue(token: string): string {
  return createHmac('sha256', token).update('cstats dashboard session v1').digest('base64url');
}

/** The value of cookie `name` in the request's Cookie header, if any. */
export function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Set-Cookie for a session (or, with value '', one that ends it). */
export function sessionCookie(req: IncomingMessage, value: string): string {
  const secure = (req.socket as { encrypted?: boolean }).encrypted ? '; Secure' : '';
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict${secure}${value === '' ? '; Max-Age=0' : ''}`;
}

export interface GuardOptions {
  /** Answers an unauthenticated request for the dashboard page (GET /) with a 401 and the login form. */
  loginPage?: (req: IncomingMessage, res: ServerResponse) => void;
}

/**
 * A request guard for the Router: lets a request through when it carries `token` as a bearer
 * token or the session cookie made from it (or asks for an open path), otherwise answers 401
 * and returns false.
 */
export function bearerGuard(token: string, opts: GuardOptions = {}): Guard {
  const expected = digest(token);
  const expectedSession = digest(sessionValue(token));
  return (req, res, url) => {
    if (OPEN_PATHS.test(url.pathname)) return true;
    const given = bearerToken(req);
    if (given !== undefined && sameSecret(given, expected)) return true;
    // The session only reads (and logs out): a write to the API (alarms) needs the bearer token,
    // so a page can never be made to change anything with a browser's cookie.
    const session = req.method === 'GET' || req.method === 'HEAD' || url.pathname === '/logout' ? cookieOf(req, SESSION_COOKIE) : undefined;
    if (given === undefined && session !== undefined && sameSecret(session, expectedSession)) return true;
    if (given === undefined && url.pathname === '/' && opts.loginPage) {
      opts.loginPage(req, res);
      return false;
    }
    // RFC 6750 §3: no error code when no credentials were sent, invalid_token when they were wrong.
    res.setHeader('WWW-Authenticate', given === undefined ? 'Bearer realm="cstats"' : 'Bearer realm="cstats", error="invalid_token"');
    sendJson(res, 401, { error: given === undefined ? 'authentication required: send Authorization: Bearer <token>' : 'invalid bearer token' });
    return false;
  };
}
