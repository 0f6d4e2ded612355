/**
 * A real Gnocchi for the tests, from Debian's packages: a PostgreSQL 15 cluster of its own (run
 * as the postgres user) as the SQL indexer, file storage, auth_mode basic, `gnocchi-upgrade`,
 * `gnocchi-api` (uWSGI with the python3 plugin, http-socket mode) and `gnocchi-metricd`, all
 * under one temporary directory, bounded in time, torn down by `stop`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from '../support.js';

const PG = '/usr/lib/postgresql/15/bin';

export const gnocchiAvailable = (): boolean => existsSync('/usr/bin/gnocchi-api') && existsSync('/usr/bin/gnocchi-metricd') && existsSync(`${PG}/initdb`) && existsSync('/usr/lib/uwsgi/plugins/python3_plugin.so');

export interface GnocchiServer {
  url: string;
  dir: string;
  /** GET as the admin user (basic auth), JSON. */
  get(path: string): Promise<any>;
  stopApi(): Promise<void>;
  startApi(): Promise<void>;
  stop(): Promise<void>;
}

function ids(user: string): { uid: number; gid: number } {
  return { uid: Number(execFileSync('id', ['-u', user], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', user], { encoding: 'utf8' })) };
}

function exited(p: ChildProcess): Promise<void> {
  return new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', () => r())));
}

export async function startGnocchi(): Promise<GnocchiServer> {
  const dir = mkdtempSync(join(tmpdir(), 'gnocchi-itest-'));
  const pg = ids('postgres');
  chownSync(dir, pg.uid, pg.gid);
  const asPg = { uid: pg.uid, gid: pg.gid, cwd: dir };
  execFileSync(`${PG}/initdb`, ['-D', join(dir, 'pg'), '-A', 'trust', '-U', 'postgres', '--no-sync'], { ...asPg, stdio: 'ignore', timeout: 30_000 });
  const pgPort = await freePort();
  const log = (name: string) => openSync(join(dir, name), 'a');
  const postgres = spawn(`${PG}/postgres`, ['-D', join(dir, 'pg'), '-k', dir, '-p', String(pgPort), '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'], { ...asPg, stdio: ['ignore', log('pg.log'), log('pg.log')] });
  await waitFor('postgres ready', () => {
    try {
      execFileSync(`${PG}/createdb`, ['-h', '127.0.0.1', '-p', String(pgPort), '-U', 'postgres', 'gnocchi'], { ...asPg, stdio: 'ignore' });
      return true;
    } catch {
      return undefined;
    }
  }, 30_000, 200);
  const apiPort = await freePort();
  const conf = join(dir, 'gnocchi.conf');
  mkdirSync(join(dir, 'storage'));
  writeFileSync(
    conf,
    `[DEFAULT]\nuse_stderr = true\n[api]\nauth_mode = basic\nuwsgi_mode = http-socket\nhost = 127.0.0.1\nport = ${apiPort}\n` +
      `[indexer]\nurl = postgresql://postgres@127.0.0.1:${pgPort}/gnocchi\n[storage]\ndriver = file\nfile_basepath = ${join(dir, 'storage')}\n` +
      `[metricd]\nmetric_processing_delay = 1\nworkers = 1\n`,
  );
  execFileSync('gnocchi-upgrade', ['--config-file', conf], { stdio: ['ignore', log('upgrade.log'), log('upgrade.log')], timeout: 60_000 });
  const metricd = spawn('gnocchi-metricd', ['--config-file', conf], { stdio: ['ignore', log('metricd.log'), log('metricd.log')] });
  const url = `http://127.0.0.1:${apiPort}`;
  const auth = { Authorization: `Basic ${Buffer.from('admin:').toString('base64')}` };
  let api: ChildProcess | undefined;
  const server: GnocchiServer = {
    url,
    dir,
    async get(path) {
      const res = await fetch(`${url}${path}`, { headers: auth });
      if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}: ${await res.text()}`);
      return res.json();
    },
    async startApi() {
      api = spawn('gnocchi-api', ['--config-file', conf], { stdio: ['ignore', log('api.log'), log('api.log')] });
      await waitFor('gnocchi-api answers', async () => (await fetch(`${url}/v1/archive_policy`, { headers: auth }).catch(() => undefined))?.ok || undefined, 60_000, 250);
    },
    async stopApi() {
      if (!api) return;
      // uWSGI's master stops its workers on SIGTERM (--die-on-term).
      api.kill('SIGTERM');
      await exited(api);
      api = undefined;
    },
    async stop() {
      await server.stopApi();
      metricd.kill('SIGTERM');
      postgres.kill('SIGINT');
      await Promise.all([exited(metricd), exited(postgres)]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.startApi();
  return server;
}
