/**
 * The web dashboard: GET / and its files under /ui/, built into dist/ui by `npm run build`
 * (src/ui: the page's TypeScript, HTML and CSS, and uPlot copied from node_modules). Every
 * file is read and gzipped once at start and served from memory with an ETag. A
 * Content-Security-Policy of 'self' makes the browser refuse any request to another host.
 *
 * With a token, GET / without credentials answers 401 with a login form; POST /login checks
 * the token from the form body (never a URL) and sets the session cookie (auth.ts).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { acceptsGzip, sendJson, type Router } from './http.js';
import { digest, sameSecret, sessionCookie, sessionValue } from './auth.js';

/** Where the build puts the page, relative to this module (dist/src/api/ui.js → dist/ui/). */
export const UI_DIR = new URL('../../ui/', import.meta.url);

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

function asset(name: string, body: Buffer): Asset {
  const ext = /\.[a-z]+$/.exec(name)?.[0] ?? '';
  return {
    type: TYPES[ext] ?? 'application/octet-stream',
    body,
    gzip: gzipSync(body, { level: 9 }),
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
  };
}

/** The built page's files by name; `auth` is written into the page so it offers a log-out button. */
export function loadAssets(dir: URL, auth: boolean): Map<string, Asset> {
  const out = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    if (!/^[\w.-]+$/.test(name) || TYPES[/\.[a-z]+$/.exec(name)?.[0] ?? ''] === undefined) continue;
    let body = readFileSync(new URL(name, dir));
    if (name === 'index.html') body = Buffer.from(body.toString('utf8').replace('data-auth=""', `data-auth="${auth ? 'token' : ''}"`));
    out.set(name, asset(name, body));
  }
  return out;
}

function send(req: IncomingMessage, res: ServerResponse, a: Asset, status = 200, headers: Record<string, string> = {}): void {
  const common = { 'Content-Type': a.type, 'Cache-Control': 'no-cache', 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff', Vary: 'Accept-Encoding', ETag: a.etag, ...headers };
  if (status === 200 && req.headers['if-none-match'] === a.etag) {
    res.writeHead(304, common);
    return void res.end();
  }
  const gz = acceptsGzip(req);
  const body = gz ? a.gzip : a.body;
  res.writeHead(status, { ...common, ...(gz ? { 'Content-Encoding': 'gzip' } : {}), 'Content-Length': body.length });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** Reads a small form body (the login form): at most `max` bytes, else undefined. */
function readForm(req: IncomingMessage, max = 4096): Promise<URLSearchParams | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        resolve(undefined);
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', () => resolve(undefined));
  });
}

export interface UiOptions {
  /** The agent's token, when it requires one. */
  authToken?: string;
  dir?: URL;
}

export interface Ui {
  /** Answers 401 with the login form (for the auth guard), with an optional message. */
  loginPage(req: IncomingMessage, res: ServerResponse, message?: string): void;
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Registers GET /, /ui/<file>, POST /login and POST /logout. */
export function registerUi(router: Router, opts: UiOptions = {}): Ui {
  const dir = opts.dir ?? UI_DIR;
  const assets = existsSync(dir) ? loadAssets(dir, opts.authToken !== undefined) : new Map<string, Asset>();
  const missing = (res: ServerResponse): void => sendJson(res, 503, { error: 'the dashboard is not built: run `npm run build` (it copies the page into dist/ui)' });
  const loginTemplate = assets.get('login.html')?.body.toString('utf8');
  const ui: Ui = {
    loginPage(req, res, message) {
      if (loginTemplate === undefined) return missing(res);
      const html = loginTemplate.replace('<!--message-->', message ? `<p class="error" role="alert">${escapeHtml(message)}</p>` : '');
      send(req, res, asset('login.html', Buffer.from(html)), 401, { 'WWW-Authenticate': 'Bearer realm="cstats"' });
    },
  };
  router.get(/^\/$/, ({ req, res }) => {
    const page = assets.get('index.html');
    if (!page) return missing(res);
    send(req, res, page);
  });
  router.get(/^\/ui\/([\w.-]+)$/, ({ req, res, params }) => {
    const a = assets.get(params[0]);
    if (!a || params[0] === 'login.html') return sendJson(res, 404, { error: `no such file: /ui/${params[0]}` });
    send(req, res, a);
  });
  const expected = opts.authToken === undefined ? undefined : digest(opts.authToken);
  router.fallback(/^\/login$/, async ({ req, res }) => {
    if (req.method !== 'POST' || expected === undefined) {
      res.writeHead(303, { Location: '/' });
      return void res.end();
    }
    const form = await readForm(req);
    const given = form?.get('token') ?? '';
    if (given === '' || !sameSecret(given, expected)) {
      return ui.loginPage(req, res, given === '' ? 'Enter the agent’s token.' : 'That token is not the agent’s: try again.');
    }
    res.writeHead(303, { Location: '/', 'Set-Cookie': sessionCookie(req, sessionValue(opts.authToken!)), 'Cache-Control': 'no-store' });
    res.end();
  });
  router.fallback(/^\/logout$/, ({ req, res }) => {
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return sendJson(res, 405, { error: 'log out with POST /logout' });
    }
    res.writeHead(303, { Location: '/', 'Set-Cookie': sessionCookie(req, '') });
    res.end();
  });
  return ui;
}
