/**
 * `cstats stats` against an agent that requires a bearer token and serves HTTPS with a
 * self-signed certificate made here by openssl: the token from --token or CSTATS_AUTH_TOKEN,
 * the certificate trusted through --cacert or skipped with --insecure-skip-verify, and a clear
 * error for each thing missing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { docker, IMAGE, waitFor } from '../support.js';
import { selfSignedCert, startSecureAgent, type SecureAgent } from '../prometheus/support.js';

const TOKEN = 'cs18-t0ken-9c1e';
const NAME = 'cs18-client';

function stats(args: string[], env: Record<string, string> = {}): { code: number | null; out: string; err: string } {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CSTATS_')));
  const r = spawnSync(process.execPath, ['bin/cstats.js', 'stats', '--no-stream', ...args], { encoding: 'utf8', env: { ...clean, ...env }, timeout: 15_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('client commands against a token- and TLS-protected agent', () => {
  let dir: string;
  let agent: SecureAgent;
  before(async () => {
    dir = mkdtempSync(`${tmpdir()}/cs18-tls-`);
    const { cert, key } = selfSignedCert(dir);
    // A certificate the agent does not use: trusting it must not trust the agent.
    selfSignedCert(dir, 'other', 'other');
    docker('rm', '-f', NAME);
    docker('run', '-d', '--name', NAME, '--label', 'cstats.test=1', '-m', '48m', IMAGE, 'sleep', '100000');
    agent = await startSecureAgent({ token: TOKEN, tls: { cert, key, ca: readFileSync(cert) }, args: ['--no-cgroups'] });
    await waitFor('the container sampled', async () => {
      const r = await agent.get('/api/v1/containers', { token: TOKEN });
      return (JSON.parse(r.body.toString()) as Array<{ name: string; derived?: object }>).some((c) => c.name === NAME && c.derived) || undefined;
    });
  });
  after(async () => {
    await agent?.stop();
    docker('rm', '-f', NAME);
    rmSync(dir, { recursive: true, force: true });
  });

  test('--token and --cacert: the container, with its limit, as JSON', () => {
    const r = stats(['--url', agent.url, '--token', TOKEN, '--cacert', `${dir}/cert.pem`, '--format', 'json', NAME]);
    assert.equal(r.code, 0, r.err);
    const row = JSON.parse(r.out) as { Name: string; MemUsage: string };
    assert.equal(row.Name, NAME);
    assert.equal(row.MemUsage.split(' / ')[1], '48MiB');
  });

  test('CSTATS_URL, CSTATS_AUTH_TOKEN, CSTATS_CACERT from the environment', () => {
    const r = stats(['--format', 'json', NAME], { CSTATS_URL: agent.url, CSTATS_AUTH_TOKEN: TOKEN, CSTATS_CACERT: `${dir}/cert.pem` });
    assert.equal(r.code, 0, r.err);
    assert.equal((JSON.parse(r.out) as { Name: string }).Name, NAME);
  });

  test('--insecure-skip-verify talks to it without the CA', () => {
    const r = stats(['--url', agent.url, '--token', TOKEN, '--insecure-skip-verify', '--format', 'json', NAME]);
    assert.equal(r.code, 0, r.err);
    assert.equal((JSON.parse(r.out) as { Name: string }).Name, NAME);
  });

  test('without the CA, with another CA: refused, naming --cacert', () => {
    for (const extra of [[], ['--cacert', `${dir}/other.pem`]]) {
      const r = stats(['--url', agent.url, '--token', TOKEN, ...extra]);
      assert.equal(r.code, 1);
      assert.match(r.err, /certificate at https:\/\/127\.0\.0\.1:\d+ is not trusted .*--cacert FILE/);
      assert.equal(r.out, '');
    }
  });

  test('without the token, with a wrong one: refused, naming --token', () => {
    const none = stats(['--url', agent.url, '--cacert', `${dir}/cert.pem`]);
    assert.equal(none.code, 1);
    assert.match(none.err, /requires a token: set --token or CSTATS_AUTH_TOKEN/);
    const wrong = stats(['--url', agent.url, '--cacert', `${dir}/cert.pem`, '--token', 'nope']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.err, /requires a token and refused the one given/);
    assert.ok(!wrong.err.includes('nope'), 'the token is not echoed');
  });

  test('an unreadable --cacert and a bad --url are usage errors', () => {
    const ca = stats(['--url', agent.url, '--cacert', `${dir}/missing.pem`]);
    assert.equal(ca.code, 2);
    assert.match(ca.err, /--cacert: cannot read .*missing\.pem: ENOENT/);
    const url = stats(['--url', 'ftp://127.0.0.1']);
    assert.equal(url.code, 2);
    assert.match(url.err, /--url: expected an http:\/\/ or https:\/\/ URL/);
  });
});
