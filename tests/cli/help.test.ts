/** `cstats --version`, and `cstats COMMAND --help` for every command, as a user runs them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { configOptions } from '../../src/config.js';

const cstats = (...args: string[]) => spawnSync(process.execPath, ['bin/cstats.js', ...args], { encoding: 'utf8', timeout: 10_000 });
const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

test('--version and version print the package version', () => {
  for (const args of [['--version'], ['version']]) {
    const r = cstats(...args);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, `cstats ${version} (node ${process.version})\n`);
  }
});

test('every command listed by --help answers --help and -h with its usage, exit 0', () => {
  const top = cstats('--help');
  assert.equal(top.status, 0);
  const commands = [...top.stdout.matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1]);
  assert.ok(commands.length >= 4 && commands.includes('agent') && commands.includes('version'), commands.join(' '));
  for (const c of commands) {
    for (const flag of ['--help', '-h']) {
      const r = cstats(c, flag);
      assert.equal(r.status, 0, `${c} ${flag}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^usage: cstats ${c}\\b`, 'i'), `${c} ${flag}`);
    }
  }
});

test('cstats agent --help lists every option, its variable and its default', () => {
  const r = cstats('agent', '--help');
  for (const o of configOptions()) assert.ok(r.stdout.includes(o.flag) && r.stdout.includes(`(${o.env}, default ${o.default})`), o.flag);
  assert.match(r.stdout, /--config FILE .*\n.*CSTATS_CONFIG, default \/etc\/cstats\/cstats\.yaml if present/);
});

test('client commands list the connection options', () => {
  const r = cstats('stats', '--help');
  for (const f of ['--url URL', 'CSTATS_URL', '--token TOKEN', 'CSTATS_AUTH_TOKEN', '--cacert FILE', '--insecure-skip-verify']) assert.ok(r.stdout.includes(f), f);
});

test('an unknown command or option: usage on stderr, exit 2', () => {
  const r = cstats('frobnicate');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command "frobnicate"/);
  const o = cstats('agent', '--intervall', '1s');
  assert.equal(o.status, 2);
  assert.match(o.stderr, /unknown option --intervall/);
});
