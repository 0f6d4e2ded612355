import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bearerGuard } from '../../src/api/auth.js';
import { Router, sendJson, startServer } from '../../src/api/http.js';
import { registerUi, type Ui } from '../../src/api/ui.js';

describe('dashboard serving and login (in-process server, a made-up page)', () => {
  let server: Server;
  let base: string;
  before(async () => {
    const dir = mkdtempSync(`${tmpdir()}/cs11-ui-`);
    writeFileSync(`${dir}/index.html`, '<body data-auth="">page</body>');
    writeFileSync(`${dir}/login.html`, '<form><!--message--></form>');
    writeFileSync(`${dir}/app.css`, 'body{}');
    let ui: Ui | undefined;
    const router = new Router(bearerGuard('s3cret', { loginPage: (req, res) => ui?.loginPage(req, res) }));
    ui = registerUi(router, { authToken: 's3cret', dir: pathToFileURL(`${dir}/`) });
    router.get(/^\/api\/v1\/x$/, ({ res }) => sendJson(res, 200, { ok: true }));
    server = await startServer(router, '127.0.0.1:0');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  const login = (token: string) => fetch(`${base}/login`, { method: 'POST', redirect: 'manual', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token }) });

  it('without credentials: / is the login form with 401, the API a JSON 401, the stylesheet open', async () => {
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 401);
    assert.equal(await page.text(), '<form></form>');
    assert.equal((await fetch(`${base}/api/v1/x`)).status, 401);
    assert.equal((await fetch(`${base}/ui/app.css`)).status, 200);
  });

  it('a wrong token: 401 and the form says so; the right one: 303 to / with an HttpOnly SameSite=Strict cookie', async () => {
    const wrong = await login('nope');
    assert.equal(wrong.status, 401);
    assert.match(await wrong.text(), /role="alert">That token is not the agent/);
    assert.equal(wrong.headers.get('set-cookie'), null);
    const right = await login('s3cret');
    assert.equal(right.status, 303);
    assert.equal(right.headers.get('location'), '/');
    const cookie = right.headers.get('set-cookie')!;
    assert.match(cookie, /^cstats_session=[\w-]+; Path=\/; HttpOnly; SameSite=Strict$/);
    assert.ok(!cookie.includes('s3cret'));
    const session = cookie.split(';')[0];
    const page = await fetch(`${base}/`, { headers: { Cookie: session, 'Accept-Encoding': 'gzip' } });
    assert.equal(page.status, 200);
    assert.equal(await page.text(), '<body data-auth="token">page</body>');
    assert.match(page.headers.get('content-security-policy')!, /default-src 'self'/);
    assert.equal((await fetch(`${base}/api/v1/x`, { headers: { Cookie: session } })).status, 200);
    assert.equal((await fetch(`${base}/api/v1/x`, { headers: { Cookie: 'cstats_session=forged' } })).status, 401);
    // The session cookie reads only: a write needs the bearer token.
    assert.equal((await fetch(`${base}/api/v1/x`, { method: 'POST', headers: { Cookie: session } })).status, 401);
    // A bearer token still works for scripts; a wrong one is refused even with a good cookie.
    assert.equal((await fetch(`${base}/api/v1/x`, { headers: { Authorization: 'Bearer s3cret' } })).status, 200);
    assert.equal((await fetch(`${base}/api/v1/x`, { headers: { Authorization: 'Bearer bad', Cookie: session } })).status, 401);
  });

  it('an ETag answers 304; a file outside the page is 404', async () => {
    const session = (await login('s3cret')).headers.get('set-cookie')!.split(';')[0];
    const first = await fetch(`${base}/`, { headers: { Cookie: session } });
    const again = await fetch(`${base}/`, { headers: { Cookie: session, 'If-None-Match': first.headers.get('etag')! } });
    assert.equal(again.status, 304);
    assert.equal((await fetch(`${base}/ui/..%2Fpasswd`, { headers: { Cookie: session } })).status, 404);
  });
});
