/**
 * The exporters the configuration asks for, each with its queue: under the data directory
 * (`export-<sink>/`) or, with --no-persist, in memory under the same cap.
 */
import { hostname } from 'node:os';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { DataDir } from '../store/datadir.js';
import type { Store } from '../store/store.js';
import { Exporter, Exports } from './exporter.js';
import { httpTarget } from './http.js';
import { PayloadQueue } from './queue.js';
import { OtlpSink } from './otlp.js';
import { RemoteWriteSink } from './remote-write.js';
import { GnocchiSink } from './gnocchi.js';
import { tierSpecs } from '../store/persist.js';
import { cstatsVersion } from '../version.js';
import type { Sink } from './sink.js';

/** "host=a" … as labels: host is this machine's name unless given ("host=" removes it). */
export function remoteWriteLabels(pairs: readonly string[], host = hostname()): Record<string, string> {
  const labels: Record<string, string> = { host };
  for (const p of pairs) {
    const eq = p.indexOf('=');
    labels[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return labels;
}

/** "Name=value" … as headers. */
export function otlpHeaders(pairs: readonly string[]): Record<string, string> {
  return Object.fromEntries(pairs.map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
}

export function createExports(config: Config, store: Store, dataDir: DataDir | undefined, log: Logger): Exports {
  const userAgent = `cstats/${cstatsVersion()}`;
  /** A sink's queue (`export-<dir>/`) and sender. */
  const exporter = (sink: Sink, dir: string, url: string): Exporter => {
    const queue = new PayloadQueue({ dir: dataDir?.subdir(`export-${dir}`), lockCheck: dataDir && (() => dataDir.assertHeld()), maxBytes: config.exportQueueMaxSizeBytes, log, name: sink.name });
    log.info('export', `${sink.name}: sending to ${url}, queue ${dataDir ? 'on disk' : 'in memory'} (cap ${config.exportQueueMaxSizeBytes} bytes)`);
    return new Exporter(sink, queue, log);
  };
  const exporters = config.remoteWrite.map((url, i) => {
    const sink: Sink = new RemoteWriteSink({
      name: `remote_write-${i}`,
      target: httpTarget({
        url,
        username: config.remoteWriteUsername,
        password: config.remoteWritePassword,
        bearerToken: config.remoteWriteBearerToken,
        caFile: config.remoteWriteCa,
        certFile: config.remoteWriteCert,
        keyFile: config.remoteWriteKey,
        insecure: config.remoteWriteInsecure,
        timeoutMs: config.remoteWriteTimeoutMs,
      }),
      labelAllowlist: config.prometheusLabels,
      extraLabels: remoteWriteLabels(config.remoteWriteLabels),
      userAgent,
    });
    return exporter(sink, `remote-write-${i}`, url);
  });
  // OpenTelemetry OTLP/HTTP (otlp.ts).
  for (const [i, url] of config.otlp.entries()) {
    const sink = new OtlpSink({
      name: `otlp-${i}`,
      target: httpTarget({
        url,
        bearerToken: config.otlpBearerToken,
        caFile: config.otlpCa,
        certFile: config.otlpCert,
        keyFile: config.otlpKey,
        insecure: config.otlpInsecure,
        timeoutMs: config.otlpTimeoutMs,
      }),
      protocol: config.otlpProtocol,
      headers: otlpHeaders(config.otlpHeaders),
      gzip: config.otlpCompression === 'gzip',
      userAgent,
      version: cstatsVersion(),
      log,
    });
    exporters.push(exporter(sink, `otlp-${i}`, url));
  }
  // OpenStack Gnocchi: one sink per API root, queued under export-gnocchi-N/.
  const tiers = tierSpecs(config.intervalMs, [config.retainRawMs, config.retain1mMs, config.retain1hMs]).map((t) => ({ granularityMs: t.resolutionMs, timespanMs: t.retentionMs }));
  for (const [i, url] of config.gnocchi.entries()) {
    const sink = new GnocchiSink({
      name: `gnocchi-${i}`,
      target: httpTarget({ url, username: config.gnocchiUser, timeoutMs: config.gnocchiTimeoutMs }),
      token: config.gnocchiToken,
      archivePolicy: config.gnocchiArchivePolicy,
      resourceType: config.gnocchiResourceType,
      tiers,
      host: hostname(),
      userAgent,
    });
    exporters.push(exporter(sink, `gnocchi-${i}`, `${url} (resource type ${config.gnocchiResourceType}, archive policy ${config.gnocchiArchivePolicy})`));
  }
  return new Exports(store, exporters);
}
