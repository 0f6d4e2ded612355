import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DEFAULTS, loadConfig, parseDuration } from '../src/config.js';

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
