/** The remote_write and OTLP options: repeatable flags, and clear errors for what cannot work. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONFIG_FLAGS, ConfigError, loadConfig } from '../../src/config.js';
import { parseArgs } from '../../src/cli/args.js';
import { createExports, otlpHeaders } from '../../src/export/index.js';
import { createLogger } from '../../src/log.js';
import { Store } from '../../src/store/store.js';

const load = (argv: string[]) => loadConfig(parseArgs(argv, CONFIG_FLAGS).flags, {}, '/nonexistent');

test('--remote-write and --remote-write-label repeat; the environment takes a comma-separated list', () => {
  const c = load(['--remote-write', 'http://a:9090/api/v1/write', '--remote-write=https://b/api/v1/write', '--remote-write-label', 'host=x', '--remote-write-label', 'dc=eu']);
  assert.deepEqual(c.remoteWrite, ['http://a:9090/api/v1/write', 'https://b/api/v1/write']);
  assert.deepEqual(c.remoteWriteLabels, ['host=x', 'dc=eu']);
  assert.equal(c.exportQueueMaxSizeBytes, 256 << 20);
  assert.deepEqual(loadConfig({}, { CSTATS_REMOTE_WRITE: 'http://a/w,http://b/w' }, '/nonexistent').remoteWrite, ['http://a/w', 'http://b/w']);
  assert.equal(load(['--export-queue-max-size', '64MiB']).exportQueueMaxSizeBytes, 64 << 20);
});

test('remote_write options refused with the reason', () => {
  const refused = (argv: string[], re: RegExp) => assert.throws(() => load(argv), (e: Error) => e instanceof ConfigError && re.test(e.message), argv.join(' '));
  refused(['--remote-write', 'localhost:9090'], /remote-write: expected an http:\/\/ or https:\/\/ URL/);
  refused(['--remote-write-label', 'bad-name=x'], /remote-write-label: expected NAME=VALUE/);
  refused(['--remote-write-label', '__name__=x'], /not starting with __/);
  refused(['--remote-write-username', 'u', '--remote-write-bearer-token', 't'], /one or the other/);
  refused(['--remote-write-password', 'p'], /needs remote-write-username/);
  refused(['--remote-write-cert', 'c.pem'], /go together/);
  refused(['--export-queue-max-size', '100k'], /at least 1MiB/);
});

test('--otlp and --otlp-header repeat; protocol, compression and timeout defaults; the sinks made with their queues', () => {
  const c = load(['--otlp', 'http://a:4318/v1/metrics', '--otlp', 'https://b/v1/metrics', '--otlp-header', 'X-Scope-OrgID=t1', '--otlp-header', 'Authorization=Basic dTpw', '--otlp-protocol', 'json']);
  assert.deepEqual(c.otlp, ['http://a:4318/v1/metrics', 'https://b/v1/metrics']);
  assert.deepEqual(c.otlpHeaders, ['X-Scope-OrgID=t1', 'Authorization=Basic dTpw']);
  assert.deepEqual([c.otlpProtocol, c.otlpCompression, c.otlpTimeoutMs], ['json', 'none', 10_000]);
  assert.deepEqual(otlpHeaders(c.otlpHeaders), { 'X-Scope-OrgID': 't1', Authorization: 'Basic dTpw' });
  const exports = createExports({ ...c, remoteWrite: ['http://c/api/v1/write'] }, new Store(10, 60_000), undefined, createLogger(() => {}));
  assert.deepEqual(exports.exporters.map((x) => x.sink.name), ['remote_write-0', 'otlp-0', 'otlp-1']);
  exports.stop();
});

test('otlp options refused with the reason', () => {
  const refused = (argv: string[], re: RegExp) => assert.throws(() => load(argv), (e: Error) => e instanceof ConfigError && re.test(e.message), argv.join(' '));
  refused(['--otlp', 'collector:4318'], /otlp: expected an http:\/\/ or https:\/\/ URL/);
  refused(['--otlp-protocol', 'grpc'], /otlp-protocol: expected protobuf or json, got "grpc"/);
  refused(['--otlp-compression', 'zstd'], /otlp-compression: expected gzip or none/);
  refused(['--otlp-header', 'no equals'], /otlp-header: expected NAME=VALUE/);
  refused(['--otlp-header', 'Content-Type=text/plain'], /Content-Type is set by the sender/);
  refused(['--otlp-key', 'k.pem'], /otlp-cert and otlp-key go together/);
  refused(['--otlp-timeout', '10ms'], /at least 100ms/);
});
