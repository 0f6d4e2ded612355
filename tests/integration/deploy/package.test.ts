/**
 * cstats as an operator installs it: `npm pack`, then `npm install -g` of the tarball into a
 * fresh prefix (offline: the dependencies are bundled), and the systemd units in deploy/systemd
 * checked by the real `systemd-analyze verify` (Debian's systemd) in a root holding that
 * install. Then the agent unit's own command line, with the example config and only the
 * capabilities the unit names (setpriv, as systemd's CapabilityBoundingSet and NoNewPrivileges
 * would leave them), serves the containers here. The dashboard is checked where the build made
 * one (dist/ui).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, freePort, run, waitFor } from '../support.js';

const NAME = 'cs18-pkg';

/** `Key=value` settings of a unit file's [Service] section. */
function serviceSettings(unit: string): Map<string, string> {
  const out = new Map<string, string>();
  let inService = false;
  for (const line of readFileSync(unit, 'utf8').split('\n')) {
    if (/^\[.*\]$/.test(line)) inService = line === '[Service]';
    const m = /^(\w+)=(.*)$/.exec(line);
    if (inService && m) out.set(m[1], m[2]);
  }
  return out;
}

describe('npm pack, npm install -g into a fresh prefix, and the systemd units', () => {
  let dir: string;
  let root: string;
  let bin: string;
  let tarball: string;
  let agent: ChildProcess | undefined;
  let output = '';

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cs18-pkg-'));
    // The package of the build under test (npm pack's "prepare" would rebuild it all).
    tarball = join(dir, execFileSync('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', dir], { encoding: 'utf8' }).trim().split('\n').pop()!);
    root = join(dir, 'root');
    // A prefix that has never seen cstats, inside a root that systemd-analyze can be pointed at.
    execFileSync('npm', ['install', '-g', '--offline', '--no-audit', '--no-fund', '--prefix', join(root, 'usr/local'), tarball], { stdio: ['ignore', 'ignore', 'inherit'] });
    bin = join(root, 'usr/local/bin/cstats');
    run(NAME, ['-m', '40m'], ['sleep', '100000']);
  });

  after(async () => {
    if (agent && agent.exitCode === null) {
      agent.kill('SIGTERM');
      await new Promise((r) => agent!.once('exit', r));
    }
    docker('rm', '-f', NAME);
    rmSync(dir, { recursive: true, force: true });
  });

  test('the tarball holds built files and bundled runtime dependencies only', () => {
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n');
    assert.ok(files.includes('package/bin/cstats.js'));
    assert.ok(files.includes('package/dist/src/cli/main.js'));
    assert.ok(files.includes('package/deploy/systemd/cstats.service'));
    assert.ok(files.includes('package/deploy/etc/cstats/cstats.yaml'));
    assert.deepEqual(files.filter((f) => /\.ts$|\.map$|^package\/(src|tests|bench|scripts)\//.test(f) && !f.includes('/node_modules/')), [], 'no sources, tests or maps');
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
    const bundled = new Set(files.filter((f) => f.startsWith('package/node_modules/')).map((f) => f.split('/')[2]));
    assert.deepEqual([...bundled].sort(), Object.keys(pkg.dependencies ?? {}).sort(), 'exactly the runtime dependencies are bundled');
    for (const dev of Object.keys(pkg.devDependencies ?? {})) assert.ok(!bundled.has(dev.split('/')[0]), `no dev dependency ${dev}`);
  });

  test('the installed cstats: --version, help, and every module loads without dev dependencies', () => {
    const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
    assert.equal(execFileSync(bin, ['version'], { encoding: 'utf8' }), `cstats ${version} (node ${process.version})\n`);
    assert.match(execFileSync(bin, ['stats', '--help'], { encoding: 'utf8' }), /--cacert FILE/);
    const installed = join(root, 'usr/local/lib/node_modules/cstats');
    assert.ok(!existsSync(join(installed, 'node_modules/typescript')));
    // Import every module of the installed package: a missing runtime dependency fails here.
    const modules = (readdirSync(join(installed, 'dist/src'), { recursive: true }) as string[]).filter((f) => f.endsWith('.js') && !/cli\/main\.js$|server\/(holder|main|loads-thread)\.js$/.test(f));
    execFileSync(process.execPath, ['--input-type=module', '-e', modules.map((m) => `await import(${JSON.stringify(join(installed, 'dist/src', m))});`).join('\n')], { cwd: dir });
  });

  test('systemd-analyze verify accepts both units', () => {
    // A root with systemd's own units and the installed cstats in /usr/local/bin, where the units' bare `cstats` is found.
    cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true });
    mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
    for (const unit of ['cstats.service', 'cstats-procfs.service']) {
      cpSync(`deploy/systemd/${unit}`, join(root, 'etc/systemd/system', unit));
      const out = execFileSync('systemd-analyze', ['verify', `--root=${root}`, unit], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      assert.equal(out, '', unit);
    }
    // And it does look: a unit whose command is not installed is refused.
    rmSync(bin);
    assert.throws(() => execFileSync('systemd-analyze', ['verify', `--root=${root}`, 'cstats.service'], { stdio: 'pipe' }), /Command cstats is not executable/);
    execFileSync('ln', ['-s', '../lib/node_modules/cstats/bin/cstats.js', bin]);
  });

  test("the unit's command line, with its capabilities and the example config, serves the containers and the dashboard", async () => {
    const s = serviceSettings('deploy/systemd/cstats.service');
    const [command, ...args] = s.get('ExecStart')!.split(/\s+/);
    assert.equal(command, 'cstats');
    const config = args[args.indexOf('--config') + 1];
    assert.equal(config, '/etc/cstats/cstats.yaml');
    // The example config stands where the unit reads it; the port and the state directory come
    // from the environment (which wins over the file), as an EnvironmentFile would give them.
    cpSync('deploy/etc/cstats/cstats.yaml', join(root, config));
    const caps = s.get('CapabilityBoundingSet')!.split(/\s+/).map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`);
    assert.equal(s.get('NoNewPrivileges'), 'yes');
    const port = await freePort();
    agent = spawn('setpriv', ['--no-new-privs', `--bounding-set=-all,${caps.join(',')}`, '--inh-caps=-all', bin, ...args.map((a) => (a === config ? join(root, config) : a))], {
      env: { ...process.env, CSTATS_LISTEN: `127.0.0.1:${port}`, CSTATS_DATA_DIR: join(dir, 'state'), JOURNAL_STREAM: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agent.stdout!.on('data', (c) => (output += c));
    agent.stderr!.on('data', (c) => (output += c));
    const url = `http://127.0.0.1:${port}`;
    type Detail = { name: string; limits?: { memoryBytes?: number }; sample?: { filesystems?: Array<{ role: string }> }; derived?: { memoryLimitBytes: number } };
    const c = await waitFor('the container with its limit and its layer', async () => {
      if (agent!.exitCode !== null) throw new Error(`agent exited ${agent!.exitCode}: ${output}`);
      const r = await fetch(`${url}/api/v1/containers/${NAME}`);
      const d = r.ok ? ((await r.json()) as Detail) : undefined;
      return d?.derived && d.sample?.filesystems?.some((f) => f.role === 'rootfs') ? d : undefined;
    }, 30_000, 250).catch((err) => {
      throw new Error(`${(err as Error).message}\n${output}`);
    });
    assert.equal(c.derived!.memoryLimitBytes, 40 * 1024 * 1024);
    assert.match(output, new RegExp(`configuration read from ${join(root, config).replace(/[/.]/g, '\\$&')}`));
    assert.ok(!/\x1b\[/.test(output), 'no colour codes');
    const ui = join(root, 'usr/local/lib/node_modules/cstats/dist/ui');
    if (existsSync('dist/ui')) {
      assert.ok(existsSync(ui), 'the dashboard the build made is in the package');
      const page = await fetch(`${url}/`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    } else {
      console.log('# no dist/ui in this build: the dashboard is checked where the build makes one');
    }
  });
});
