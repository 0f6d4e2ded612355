/**
 * An agent started with any listen address, token or certificate, and requests to it that can
 * carry a bearer token and trust a given CA: what the Prometheus, stream and security tests share.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { IMAGE, docker, freePort, spawnAgent } from '../support.js';

/**
 * Runs a detached container for these tests; returns its full id. Not labelled cstats.test=1:
 * other suites' set-up removes those, and these tests remove theirs by name.
 */
export function runContainer(name: string, args: string[], cmd: string[]): string {
  docker('rm', '-f', name);
  return docker('run', '-d', '--name', name, '--label', 'cstats.test.api=1', ...args, IMAGE, ...cmd);
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface SecureAgent {
  /** Base URL, http or https. */
  url: string;
  port: number;
  proc: ChildProcess;
  log: () => string;
  get(path: string, opts?: { token?: string; headers?: Record<string, string> }): Promise<Reply>;
  stop(): Promise<void>;
}

export interface AgentOptions {
  /** Host to listen on (default 127.0.0.1); the agent is reached on 127.0.0.1 either way. */
  host?: string;
  token?: string;
  /** PEM files; requests then use https and trust `cert`. */
  tls?: { cert: string; key: string; ca: Buffer };
  args?: string[];
}

/** GET over http or https, optionally trusting `ca`. */
export function fetchRaw(url: string, headers: Record<string, string> = {}, ca?: Buffer): Promise<Reply> {
  const u = new URL(url);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    request(u, { headers, ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

/** Spawns `cstats agent` and waits until /healthz (open without a token) answers. */
export async function startSecureAgent(opts: AgentOptions = {}): Promise<SecureAgent> {
  const port = await freePort();
  const host = opts.host ?? '127.0.0.1';
  const listen = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const args = ['--listen', listen, '--quiet', ...(opts.args ?? [])];
  if (opts.token !== undefined) args.push('--auth-token', opts.token);
  if (opts.tls) args.push('--tls-cert', opts.tls.cert, '--tls-key', opts.tls.key);
  const url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const get = (path: string, o: { token?: string; headers?: Record<string, string> } = {}) =>
    fetchRaw(url + path, { ...(o.token !== undefined ? { Authorization: `Bearer ${o.token}` } : {}), ...o.headers }, opts.tls?.ca);
  const agent = await spawnAgent(args, () => get('/healthz').then((r) => r.status === 200, () => false));
  return { url, port, get, ...agent };
}

/**
 * A self-signed certificate made by openssl: DIR/NAME.pem and DIR/NAME-key.pem, for
 * 127.0.0.1 and localhost unless `cn` names another host (then with no subjectAltName).
 */
export function selfSignedCert(dir: string, name = 'cert', cn = 'localhost'): { cert: string; key: string } {
  const cert = `${dir}/${name}.pem`;
  const key = `${dir}/${name}-key.pem`;
  const san = cn === 'localhost' ? ['-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'] : [];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${cn}`, ...san, '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}
