import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { bearerGuard } from '../../src/api/auth.js';
import { Router, acceptsGzip, sendJson, startServer } from '../../src/api/http.js';
import { ConfigError, isLoopbackHost, loadConfig } from '../../src/config.js';

describe('listening beyond loopback', () => {
  it('knows loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.3.2.1', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) assert.ok(isLoopbackHost(h), h);
    for (const h of ['', '0.0.0.0', '::', '[::]', '10.0.0.5', 'example.com', '128.0.0.1']) assert.ok(!isLoopbackHost(h), h);
  });

  it('refuses a non-loopback address without a token or --insecure, with a message naming both', () => {
    for (const listen of ['0.0.0.0:7070', '[::]:7070', ':7070', '192.168.1.10:7070']) {
      assert.throws(() => loadConfig({ listen }, {}), (err: Error) => err instanceof ConfigError && /--auth-token/.test(err.message) && /--insecure/.test(err.message), listen);
    }
  });

  it('accepts it with a token (flag or CSTATS_AUTH_TOKEN) or --insecure', () => {
    assert.equal(loadConfig({ listen: '0.0.0.0:7070', 'auth-token': 's3cret' }, {}).authToken, 's3cret');
    assert.equal(loadConfig({ listen: '0.0.0.0:7070' }, { CSTATS_AUTH_TOKEN: 'from-env' }).authToken, 'from-env');
    assert.equal(loadConfig({ listen: '0.0.0.0:7070', insecure: true }, {}).insecure, true);
    assert.equal(loadConfig({}, {}).listen, '127.0.0.1:7070');
  });

  it('refuses an empty token and a certificate without its key', () => {
    assert.throws(() => loadConfig({ 'auth-token': '' }, {}), ConfigError);
    assert.throws(() => loadConfig({ 'tls-cert': '/c.pem' }, {}), /tls-cert and tls-key/);
    const c = loadConfig({ 'tls-cert': '/c.pem', 'tls-key': '/k.pem' }, {});
    assert.deepEqual([c.tlsCert, c.tlsKey], ['/c.pem', '/k.pem']);
  });

  it('reads the Prometheus label allowlist from a flag, the environment or a JSON array', () => {
    assert.deepEqual(loadConfig({}, {}).prometheusLabels, []);
    assert.deepEqual(loadConfig({ 'prometheus-labels': 'app, com.example.team' }, {}).prometheusLabels, ['app', 'com.example.team']);
    assert.deepEqual(loadConfig({}, { CSTATS_PROMETHEUS_LABELS: 'tier' }).prometheusLabels, ['tier']);
    const dir = mkdtempSync(`${tmpdir()}/cstats-auth-`);
    writeFileSync(`${dir}/c.json`, JSON.stringify({ 'prometheus-labels': ['a', 'b'], 'auth-token': 't' }));
    const c = loadConfig({ config: `${dir}/c.json` }, {});
    assert.deepEqual(c.prometheusLabels, ['a', 'b']);
    assert.equal(c.authToken, 't');
    writeFileSync(`${dir}/bad.json`, JSON.stringify({ 'prometheus-labels': [1] }));
    assert.throws(() => loadConfig({ config: `${dir}/bad.json` }, {}), ConfigError);
  });
});

describe('bearerGuard', () => {
  async function withServer(fn: (get: (path: string, auth?: string) => Promise<{ status: number; challenge?: string; body: string }>) => Promise<void>): Promise<void> {
    const router = new Router(bearerGuard('s3cret-token'));
    router.get(/^\/healthz$/, ({ res }) => sendJson(res, 200, { status: 'ok' }));
    router.get(/^\/metrics$/, ({ res }) => sendJson(res, 200, { ok: true }));
    const server = await startServer(router, '127.0.0.1:0');
    const port = (server.address() as AddressInfo).port;
    const get = (path: string, auth?: string) =>
      new Promise<{ status: number; challenge?: string; body: string }>((resolve, reject) => {
        request({ port, path, headers: auth ? { Authorization: auth } : {} }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode!, challenge: res.headers['www-authenticate'], body }));
        })
          .on('error', reject)
          .end();
      });
    try {
      await fn(get);
    } finally {
      server.close();
    }
  }

  it('answers 401 with a Bearer challenge without a token, and invalid_token with a wrong one', () =>
    withServer(async (get) => {
      const none = await get('/metrics');
      assert.equal(none.status, 401);
      assert.equal(none.challenge, 'Bearer realm="cstats"');
      assert.match(JSON.parse(none.body).error, /authentication required/);
      for (const wrong of ['Bearer s3cret-tokeN', 'Bearer s3cret-token-and-more', 'Bearer s3cret', 'Basic czNjcmV0LXRva2Vu', 's3cret-token']) {
        const r = await get('/metrics', wrong);
        assert.equal(r.status, 401, wrong);
      }
      assert.equal((await get('/metrics', 'Bearer wrong')).challenge, 'Bearer realm="cstats", error="invalid_token"');
      // Unknown paths too: nothing tells an unauthenticated client which endpoints exist.
      assert.equal((await get('/no/such/thing')).status, 401);
    }));

  it('lets the right token through, whatever the scheme case, and /healthz without one', () =>
    withServer(async (get) => {
      assert.equal((await get('/metrics', 'Bearer s3cret-token')).status, 200);
      assert.equal((await get('/metrics', 'bearer s3cret-token')).status, 200);
      assert.equal((await get('/healthz')).status, 200);
    }));
});

describe('acceptsGzip', () => {
  const req = (v?: string) => ({ headers: v === undefined ? {} : { 'accept-encoding': v } }) as never;
  it('honours q-values and *', () => {
    assert.equal(acceptsGzip(req()), false);
    assert.equal(acceptsGzip(req('gzip')), true);
    assert.equal(acceptsGzip(req('deflate, GZIP;q=0.5')), true);
    assert.equal(acceptsGzip(req('gzip;q=0')), false);
    assert.equal(acceptsGzip(req('*')), true);
    assert.equal(acceptsGzip(req('identity, br')), false);
  });
});
