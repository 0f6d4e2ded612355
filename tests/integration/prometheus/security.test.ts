/**
 * The agent's HTTP surfaces as a client on the network meets them: refused start-up on a
 * non-loopback address without protection, 401 without the bearer token on every endpoint but
 * /healthz, and HTTPS with a self-signed certificate made here by openssl.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { freePort } from '../support.js';
import { fetchRaw, selfSignedCert, startSecureAgent, type SecureAgent } from './support.js';

const TOKEN = 'n0t-a-real-secret-7f3a';
/** Every surface this session serves; each must refuse a request without the token. */
const PROTECTED = ['/metrics', '/api/v1/containers', '/api/v1/machine', '/api/v1/stream', '/api/v1/openapi.json', '/no/such/endpoint'];

function exitOf(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['bin/cstats.js', 'agent', '--no-docker', '--no-cgroups', '--no-persist', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    p.stdout.on('data', (c) => (output += c));
    p.stderr.on('data', (c) => (output += c));
    const timer = setTimeout(() => p.kill('SIGKILL'), 10_000);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('security of the HTTP surfaces', () => {
  test('refuses to start on a non-loopback address without --auth-token or --insecure', async () => {
    const port = await freePort();
    for (const listen of [`0.0.0.0:${port}`, `[::]:${port}`]) {
      const r = await exitOf(['--listen', listen]);
      assert.equal(r.code, 2, r.output);
      assert.match(r.output, /refusing to serve/);
      assert.match(r.output, /--auth-token/);
      assert.match(r.output, /--insecure/);
    }
    await assert.rejects(fetchRaw(`http://127.0.0.1:${port}/healthz`), /ECONNREFUSED/);
  });

  test('starts on 0.0.0.0 with --insecure, and with a token', async () => {
    const open = await startSecureAgent({ host: '0.0.0.0', args: ['--insecure', '--no-docker', '--no-cgroups'] });
    try {
      assert.equal((await open.get('/api/v1/containers')).status, 200);
    } finally {
      await open.stop();
    }
    const guarded = await startSecureAgent({ host: '0.0.0.0', token: TOKEN, args: ['--no-docker', '--no-cgroups'] });
    try {
      assert.equal((await guarded.get('/api/v1/containers')).status, 401);
      assert.equal((await guarded.get('/api/v1/containers', { token: TOKEN })).status, 200);
    } finally {
      await guarded.stop();
    }
  });

  describe('with --auth-token', () => {
    let agent: SecureAgent;
    before(async () => (agent = await startSecureAgent({ token: TOKEN, args: ['--no-docker', '--no-cgroups'] })));
    after(() => agent?.stop());

    test('every endpoint but /healthz answers 401 with a Bearer challenge', async () => {
      for (const path of PROTECTED) {
        const none = await agent.get(path);
        assert.equal(none.status, 401, path);
        assert.equal(none.headers['www-authenticate'], 'Bearer realm="cstats"', path);
        const wrong = await agent.get(path, { token: `${TOKEN}x` });
        assert.equal(wrong.status, 401, path);
        assert.equal(wrong.headers['www-authenticate'], 'Bearer realm="cstats", error="invalid_token"', path);
        assert.ok(!wrong.body.toString().includes(TOKEN), 'the token is never echoed');
      }
      assert.equal((await agent.get('/healthz')).status, 200);
    });

    test('the token opens them', async () => {
      const metrics = await agent.get('/metrics', { token: TOKEN });
      assert.equal(metrics.status, 200);
      assert.match(metrics.body.toString(), /^machine_cpu_cores\{boot_id="[0-9a-f-]{36}",machine_id="[0-9a-f]{32}"\} \d+$/m);
      assert.equal((await agent.get('/api/v1/machine', { token: TOKEN })).status, 200);
      assert.equal((await agent.get('/no/such/endpoint', { token: TOKEN })).status, 404);
    });
  });

  describe('with --tls-cert and --tls-key (self-signed, made by openssl)', () => {
    let dir: string;
    let agent: SecureAgent;
    before(async () => {
      dir = mkdtempSync(`${tmpdir()}/cstats-tls-`);
      const { cert, key } = selfSignedCert(dir);
      agent = await startSecureAgent({ token: TOKEN, tls: { cert, key, ca: readFileSync(cert) }, args: ['--no-docker', '--no-cgroups'] });
    });
    after(async () => {
      await agent?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    test('serves HTTPS that verifies against the certificate, and nothing in clear text', async () => {
      assert.ok(agent.url.startsWith('https://'));
      const r = await agent.get('/metrics', { token: TOKEN });
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
      assert.equal((await agent.get('/metrics')).status, 401);
      // A client that does not trust the certificate refuses it; plain HTTP gets no answer.
      await assert.rejects(fetchRaw(`${agent.url}/healthz`), /self[- ]signed/i);
      await assert.rejects(fetchRaw(`http://127.0.0.1:${agent.port}/healthz`));
    });

    test('refuses to start when the key file cannot be read', async () => {
      const r = await exitOf(['--listen', `127.0.0.1:${await freePort()}`, '--tls-cert', `${dir}/cert.pem`, '--tls-key', `${dir}/missing.pem`]);
      assert.equal(r.code, 2, r.output);
      assert.match(r.output, /tls-key: cannot read .*missing\.pem/);
    });
  });
});
