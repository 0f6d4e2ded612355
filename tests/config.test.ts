import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DEFAULTS, configHelp, configOptions, formatDuration, loadConfig, parseDuration } from '../src/config.js';

test('embedded defaults with no flags, environment or file', () => {
  assert.deepEqual(loadConfig({}, {}), DEFAULTS);
  assert.equal(DEFAULTS.listen, '127.0.0.1:7070');
  assert.equal(DEFAULTS.intervalMs, 1000);
});

test('flags > environment > file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cstats-config-'));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ interval: '5s', history: '1h', listen: '0.0.0.0:9', docker: false }));
  const c = loadConfig({ config: file, listen: '127.0.0.1:8080' }, { CSTATS_INTERVAL: '250ms' });
  assert.equal(c.listen, '127.0.0.1:8080');
  assert.equal(c.intervalMs, 250);
  assert.equal(c.historyMs, 3_600_000);
  assert.equal(c.docker, false);
});

test('durations', () => {
  assert.equal(parseDuration('100ms', 'x'), 100);
  assert.equal(parseDuration('1.5s', 'x'), 1500);
  assert.equal(parseDuration('15m', 'x'), 900_000);
  assert.equal(parseDuration('250', 'x'), 250);
  assert.throws(() => parseDuration('fast', 'x'), ConfigError);
});

test('bad values are refused with a message naming where they came from', () => {
  assert.throws(() => loadConfig({ interval: '50ms' }, {}), /between 100ms and 60s/);
  assert.throws(() => loadConfig({ interval: '61s' }, {}), /between 100ms and 60s/);
  assert.throws(() => loadConfig({}, { CSTATS_INTERVAL: 'soon' }), /CSTATS_INTERVAL/);
  assert.throws(() => loadConfig({ listen: 'nowhere' }, {}), /HOST:PORT/);
  assert.throws(() => loadConfig({}, { CSTATS_DOCKER: 'maybe' }), /CSTATS_DOCKER: expected true or false/);
  const dir = mkdtempSync(join(tmpdir(), 'cstats-config-'));
  writeFileSync(join(dir, 'bad.json'), '{"interval": ');
  assert.throws(() => loadConfig({ config: join(dir, 'bad.json') }, {}), /config file .*bad.json/);
  writeFileSync(join(dir, 'unknown.json'), '{"intervall": "1s"}');
  assert.throws(() => loadConfig({ config: join(dir, 'unknown.json') }, {}), /unknown key "intervall"/);
});

test('a YAML file, and /etc/cstats/cstats.yaml (here: the default path given) read only when present', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs18-config-'));
  const file = join(dir, 'cstats.yaml');
  writeFileSync(file, '# comment\ninterval: 2s\nprometheus-labels: [app, tier]\ndocker: no\n');
  const c = loadConfig({}, {}, file);
  assert.equal(c.intervalMs, 2000);
  assert.deepEqual(c.prometheusLabels, ['app', 'tier']);
  assert.equal(c.docker, false);
  assert.equal(c.source, file);
  assert.deepEqual(loadConfig({}, {}, join(dir, 'absent.yaml')), DEFAULTS);
  // A named file that is missing is an error, not a silent fall-back.
  assert.throws(() => loadConfig({}, { CSTATS_CONFIG: join(dir, 'absent.yaml') }, file), /config file .*absent\.yaml: ENOENT/);
  writeFileSync(join(dir, 'empty.yaml'), '# nothing set\n');
  assert.deepEqual(loadConfig({ config: join(dir, 'empty.yaml') }, {}), { ...DEFAULTS, source: join(dir, 'empty.yaml') });
});

test('YAML errors name the file and the line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs18-config-'));
  writeFileSync(join(dir, 'bad.yaml'), 'interval: 1s\nlisten: [unclosed\n');
  assert.throws(() => loadConfig({ config: join(dir, 'bad.yaml') }, {}), /config file .*bad\.yaml: .*line 3/);
  writeFileSync(join(dir, 'dup.yaml'), 'interval: 1s\ninterval: 2s\n');
  assert.throws(() => loadConfig({ config: join(dir, 'dup.yaml') }, {}), /config file .*dup\.yaml: Map keys must be unique/);
  writeFileSync(join(dir, 'list.yaml'), '- interval\n');
  assert.throws(() => loadConfig({ config: join(dir, 'list.yaml') }, {}), /expected a mapping/);
});

test('the example config in deploy/etc/cstats loads, sets every option with a default, and equals the defaults', () => {
  const example = 'deploy/etc/cstats/cstats.yaml';
  const c = loadConfig({ config: example }, {});
  assert.deepEqual({ ...c, source: undefined }, { ...DEFAULTS, source: undefined });
  const text = readFileSync(example, 'utf8');
  for (const o of configOptions()) assert.match(text, new RegExp(`^#? ?${o.flag.replace(/^--(\[no-\])?/, '').split(' ')[0]}:`, 'm'), o.flag);
});

test('--help and the README list every option with its variable and default, from the one table', () => {
  const help = configHelp();
  const readme = readFileSync('README.md', 'utf8');
  for (const o of configOptions()) {
    assert.ok(help.includes(o.flag) && help.includes(`(${o.env}, default ${o.default})`), `--help: ${o.flag}`);
    assert.ok(readme.includes(`| \`${o.flag}\` | \`${o.env}\` | ${o.default} | ${o.help} |`), `README row for ${o.flag}`);
  }
  assert.equal(formatDuration(900_000), '15m');
  assert.equal(formatDuration(1500), '1500ms');
});
