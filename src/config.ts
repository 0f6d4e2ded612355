/**
 * One typed configuration. Precedence: command-line flags > environment (CSTATS_*) > config
 * file (YAML or JSON: --config, CSTATS_CONFIG, or /etc/cstats/cstats.yaml when present) >
 * embedded defaults. Every value is validated here so
 * the rest of the agent never sees a bad one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

export interface Config {
  /** host:port the HTTP API listens on. */
  listen: string;
  /** Sampling interval, ms (100 ms to 60 s). */
  intervalMs: number;
  /** History window per container, ms: the ring without persistence, read from the raw tier with it. */
  historyMs: number;
  /** Raw samples kept per container for series of raw counters (cAdvisor's --storage_duration), ms. */
  rawHistoryMs: number;
  /** Filesystem (statfs) and mount-table refresh interval, ms. */
  fsIntervalMs: number;
  /** A compacting collection of the agent's heap this often, right after a tick (0: never). */
  heapCompactIntervalMs: number;
  dockerSocket: string;
  /** Discover Docker containers (the agent keeps retrying while the socket is absent). */
  docker: boolean;
  /** Discover plain cgroups (systemd scopes, LXC, podman, kubepods). */
  cgroups: boolean;
  /** Podman graph roots whose state database names podman's containers; [] turns podman discovery off. */
  podmanRoots: string[];
  /** containerd sockets asked over CRI for Kubernetes pods and containers; [] turns it off. */
  criSockets: string[];
  /** LXD and Incus sockets asked for their instances' names, projects and limits; [] turns it off. */
  lxdSockets: string[];
  quiet: boolean;
  /** Mount the container-aware /proc files (FUSE) at procfsMountpoint. */
  procfs: boolean;
  procfsMountpoint: string;
  /** Bearer token every request but /healthz must carry; required off loopback unless `insecure`. */
  authToken?: string;
  /** Serve a non-loopback address without a token (an explicit choice, never a default). */
  insecure: boolean;
  /** PEM certificate chain and private key: serve HTTPS instead of HTTP. */
  tlsCert?: string;
  tlsKey?: string;
  /** Container labels copied onto every Prometheus series as container_label_* (none by default). */
  prometheusLabels: string[];
  /** Where history and other modules' state (alarm states under alarms/) live (src/store/README.md). */
  dataDir: string;
  /** Keep history and state in dataDir (--no-persist: keep nothing on disk). */
  persist: boolean;
  /** Alarm rules file (YAML or JSON): Prometheus rule groups, threshold alarms, actions. */
  rules?: string;
  /** One cap on the disk history takes; the oldest raw data goes first. */
  dataMaxSizeBytes: number;
  /** How often history is written and fsynced: what a kill -9 can lose. */
  fsyncIntervalMs: number;
  /** How long each tier is kept: every sample, 1-minute and 1-hour points. */
  retainRawMs: number;
  retain1mMs: number;
  retain1hMs: number;
  /** Prometheus remote_write 1.0 receivers (src/export/README.md). */
  remoteWrite: string[];
  /** NAME=VALUE labels added to every remote-written series; host=<hostname> unless host is named. */
  remoteWriteLabels: string[];
  remoteWriteUsername?: string;
  remoteWritePassword?: string;
  remoteWriteBearerToken?: string;
  /** PEM files: the CA that signs the receivers' certificates, a client certificate and its key. */
  remoteWriteCa?: string;
  remoteWriteCert?: string;
  remoteWriteKey?: string;
  /** Do not verify the receivers' certificates. */
  remoteWriteInsecure: boolean;
  remoteWriteTimeoutMs: number;
  /** OpenStack Gnocchi API roots (src/export/README.md). */
  gnocchi: string[];
  /** Gnocchi's "basic" auth mode: the user name (no password). */
  gnocchiUser?: string;
  /** A Keystone token, sent as X-Auth-Token. */
  gnocchiToken?: string;
  gnocchiArchivePolicy: string;
  gnocchiResourceType: string;
  gnocchiTimeoutMs: number;
  /** Cap of each export sink's queue (on disk, or in memory with --no-persist); the oldest payloads are dropped past it. */
  exportQueueMaxSizeBytes: number;
  /** OpenTelemetry OTLP/HTTP metrics endpoints, each the full URL (.../v1/metrics) (src/export/README.md). */
  otlp: string[];
  otlpProtocol: 'protobuf' | 'json';
  /** NAME=VALUE headers sent with every OTLP request. */
  otlpHeaders: string[];
  otlpCompression: 'gzip' | 'none';
  otlpBearerToken?: string;
  /** PEM files: the CA that signs the endpoints' certificates, a client certificate and its key. */
  otlpCa?: string;
  otlpCert?: string;
  otlpKey?: string;
  otlpInsecure: boolean;
  otlpTimeoutMs: number;
  /** The fleet (src/fleet/query.ts): a Prometheus-compatible query API GET /api/v1/fleet reads, and a host's staleness limit. */
  fleetPrometheus?: string;
  fleetPrometheusBearerToken?: string;
  fleetDownAfterMs: number;
}

export const DEFAULTS: Config = {
  listen: '127.0.0.1:7070',
  intervalMs: 1000,
  historyMs: 15 * 60_000,
  rawHistoryMs: 2 * 60_000,
  fsIntervalMs: 10_000,
  heapCompactIntervalMs: 5 * 60_000,
  dockerSocket: '/var/run/docker.sock',
  docker: true,
  cgroups: true,
  podmanRoots: ['/var/lib/containers/storage'],
  criSockets: ['/run/containerd/containerd.sock'],
  // Debian's and the snap's LXD, and Incus.
  lxdSockets: ['/var/lib/lxd/unix.socket', '/var/snap/lxd/common/lxd/unix.socket', '/var/lib/incus/unix.socket'],
  quiet: false,
  procfs: false,
  procfsMountpoint: '/var/lib/cstats/procfs',
  insecure: false,
  prometheusLabels: [],
  dataDir: '/var/lib/cstats',
  persist: true,
  dataMaxSizeBytes: 1 << 30,
  fsyncIntervalMs: 10_000,
  retainRawMs: 24 * 3_600_000,
  retain1mMs: 30 * 24 * 3_600_000,
  retain1hMs: 365 * 24 * 3_600_000,
  remoteWrite: [],
  remoteWriteLabels: [],
  remoteWriteInsecure: false,
  remoteWriteTimeoutMs: 30_000,
  gnocchi: [],
  gnocchiArchivePolicy: 'cstats',
  gnocchiResourceType: 'cstats_container',
  gnocchiTimeoutMs: 30_000,
  exportQueueMaxSizeBytes: 256 << 20,
  otlp: [],
  otlpProtocol: 'protobuf',
  otlpHeaders: [],
  otlpCompression: 'none',
  otlpInsecure: false,
  // The OTLP exporters' default (OTEL_EXPORTER_OTLP_TIMEOUT).
  otlpTimeoutMs: 10_000,
  fleetDownAfterMs: 15_000,
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** "1s", "250ms", "15m", "1h", "30d", or a bare number of milliseconds. */
export function parseDuration(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new ConfigError(`${what}: expected a duration like 500ms, 1s, 15m, 30d, got ${JSON.stringify(text)}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 'ms']!;
  return Math.round(Number(m[1]) * unit);
}

/** "512MiB", "1GiB", "1G" (powers of 1024 either way), "100k", or a bare number of bytes. */
export function parseSize(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(?:([kmgt])i?b?)?$/i.exec(text.trim());
  if (!m) throw new ConfigError(`${what}: expected a size like 512MiB or 1GiB, got ${JSON.stringify(text)}`);
  const power = m[2] ? 'kmgt'.indexOf(m[2].toLowerCase()) + 1 : 0;
  return Math.round(Number(m[1]) * 1024 ** power);
}

function parseBool(text: string, what: string): boolean {
  if (/^(1|true|yes|on)$/i.test(text)) return true;
  if (/^(0|false|no|off)$/i.test(text)) return false;
  throw new ConfigError(`${what}: expected true or false, got ${JSON.stringify(text)}`);
}

type Kind = 'string' | 'duration' | 'bool' | 'list' | 'size';
interface KeySpec {
  kind: Kind;
  flag: string;
  env: string;
  /** What the value looks like in --help (not for booleans). */
  arg?: string;
  /** One line for --help. */
  help: string;
}
/** The one table of options: the parser, the environment, the config file and --help all read it. */
const KEYS: Record<keyof Config, KeySpec> = {
  listen: { kind: 'string', flag: 'listen', env: 'CSTATS_LISTEN', arg: 'HOST:PORT', help: 'address the HTTP API listens on' },
  intervalMs: { kind: 'duration', flag: 'interval', env: 'CSTATS_INTERVAL', arg: 'DURATION', help: 'sampling interval, 100ms to 60s' },
  historyMs: { kind: 'duration', flag: 'history', env: 'CSTATS_HISTORY', arg: 'DURATION', help: "history window per container: kept in memory with `--no-persist` (with persistence the raw tier holds it); cAdvisor's derived stats summarise it" },
  rawHistoryMs: {
    kind: 'duration',
    flag: 'raw-history',
    env: 'CSTATS_RAW_HISTORY',
    arg: 'DURATION',
    help: "raw samples kept per container for cAdvisor's series (count, num_stats)",
  },
  fsIntervalMs: { kind: 'duration', flag: 'fs-interval', env: 'CSTATS_FS_INTERVAL', arg: 'DURATION', help: 'filesystem usage (statfs) and mount-table refresh' },
  heapCompactIntervalMs: {
    kind: 'duration',
    flag: 'heap-compact-interval',
    env: 'CSTATS_HEAP_COMPACT_INTERVAL',
    arg: 'DURATION',
    help: "compact the agent's own JavaScript heap this often, right after a tick (a pause of about 0.27 s at 1000 containers; 0: never)",
  },
  dockerSocket: { kind: 'string', flag: 'docker-socket', env: 'CSTATS_DOCKER_SOCKET', arg: 'PATH', help: 'Docker Engine socket' },
  docker: { kind: 'bool', flag: 'docker', env: 'CSTATS_DOCKER', help: 'discover Docker containers' },
  cgroups: { kind: 'bool', flag: 'cgroups', env: 'CSTATS_CGROUPS', help: 'discover plain cgroups (systemd scopes, LXC, podman, kubepods)' },
  podmanRoots: {
    kind: 'list',
    flag: 'podman-roots',
    env: 'CSTATS_PODMAN_ROOTS',
    arg: 'D1,D2',
    help: 'podman graph roots whose libpod/bolt_state.db names podman\'s containers and pods ("" for none)',
  },
  criSockets: {
    kind: 'list',
    flag: 'cri-sockets',
    env: 'CSTATS_CRI_SOCKETS',
    arg: 'S1,S2',
    help: 'containerd sockets asked over CRI for Kubernetes pods and containers ("" for none)',
  },
  lxdSockets: {
    kind: 'list',
    flag: 'lxd-sockets',
    env: 'CSTATS_LXD_SOCKETS',
    arg: 'S1,S2',
    help: 'LXD and Incus sockets asked for the names, projects, labels (user.*) and limits of their containers ("" for none)',
  },
  quiet: { kind: 'bool', flag: 'quiet', env: 'CSTATS_QUIET', help: 'log warnings only' },
  procfs: { kind: 'bool', flag: 'procfs', env: 'CSTATS_PROCFS', help: "also mount the container-aware /proc files (see 'cstats procfs --help')" },
  procfsMountpoint: { kind: 'string', flag: 'procfs-mountpoint', env: 'CSTATS_PROCFS_MOUNTPOINT', arg: 'DIR', help: 'where to mount them' },
  authToken: {
    kind: 'string',
    flag: 'auth-token',
    env: 'CSTATS_AUTH_TOKEN',
    arg: 'TOKEN',
    help: 'require "Authorization: Bearer TOKEN" on every endpoint but /healthz',
  },
  insecure: { kind: 'bool', flag: 'insecure', env: 'CSTATS_INSECURE', help: 'allow listening beyond loopback without a token' },
  tlsCert: { kind: 'string', flag: 'tls-cert', env: 'CSTATS_TLS_CERT', arg: 'FILE', help: 'serve HTTPS with this PEM certificate chain' },
  tlsKey: { kind: 'string', flag: 'tls-key', env: 'CSTATS_TLS_KEY', arg: 'FILE', help: 'and this PEM private key' },
  prometheusLabels: {
    kind: 'list',
    flag: 'prometheus-labels',
    env: 'CSTATS_PROMETHEUS_LABELS',
    arg: 'K1,K2',
    help: 'container labels exported on /metrics as container_label_*',
  },
  rules: { kind: 'string', flag: 'rules', env: 'CSTATS_RULES', arg: 'FILE', help: 'alarm rules, YAML or JSON: Prometheus rule groups, threshold alarms, actions' },
  dataDir: { kind: 'string', flag: 'data-dir', env: 'CSTATS_DATA_DIR', arg: 'DIR', help: 'history on disk and alarm states (under alarms/); one agent per directory' },
  persist: { kind: 'bool', flag: 'persist', env: 'CSTATS_PERSIST', help: 'keep history and state on disk in the data directory (off: memory only)' },
  dataMaxSizeBytes: { kind: 'size', flag: 'data-max-size', env: 'CSTATS_DATA_MAX_SIZE', arg: 'SIZE', help: 'one cap on the disk history for all tiers; the oldest raw data goes first' },
  fsyncIntervalMs: {
    kind: 'duration',
    flag: 'fsync-interval',
    env: 'CSTATS_FSYNC_INTERVAL',
    arg: 'DURATION',
    help: 'how often history is written and fsynced: what a kill -9 can lose (SIGTERM loses nothing)',
  },
  retainRawMs: { kind: 'duration', flag: 'retain-raw', env: 'CSTATS_RETAIN_RAW', arg: 'DURATION', help: 'how long every sample is kept on disk' },
  retain1mMs: { kind: 'duration', flag: 'retain-1m', env: 'CSTATS_RETAIN_1M', arg: 'DURATION', help: 'how long 1-minute min/max/mean/last points are kept' },
  retain1hMs: { kind: 'duration', flag: 'retain-1h', env: 'CSTATS_RETAIN_1H', arg: 'DURATION', help: 'how long 1-hour min/max/mean/last points are kept' },
  remoteWrite: { kind: 'list', flag: 'remote-write', env: 'CSTATS_REMOTE_WRITE', arg: 'URL', help: 'send every sample to this Prometheus remote_write 1.0 receiver (repeatable)' },
  remoteWriteLabels: { kind: 'list', flag: 'remote-write-label', env: 'CSTATS_REMOTE_WRITE_LABEL', arg: 'NAME=VALUE', help: 'label on every remote-written series (repeatable); host=<host name> unless host is given ("host=" for none)' },
  remoteWriteUsername: { kind: 'string', flag: 'remote-write-username', env: 'CSTATS_REMOTE_WRITE_USERNAME', arg: 'NAME', help: 'basic auth user for the remote_write receivers' },
  remoteWritePassword: { kind: 'string', flag: 'remote-write-password', env: 'CSTATS_REMOTE_WRITE_PASSWORD', arg: 'PASSWORD', help: 'and its password' },
  remoteWriteBearerToken: { kind: 'string', flag: 'remote-write-bearer-token', env: 'CSTATS_REMOTE_WRITE_BEARER_TOKEN', arg: 'TOKEN', help: 'send "Authorization: Bearer TOKEN" to the remote_write receivers' },
  remoteWriteCa: { kind: 'string', flag: 'remote-write-ca', env: 'CSTATS_REMOTE_WRITE_CA', arg: 'FILE', help: "PEM CA that signs the remote_write receivers' certificates" },
  remoteWriteCert: { kind: 'string', flag: 'remote-write-cert', env: 'CSTATS_REMOTE_WRITE_CERT', arg: 'FILE', help: 'PEM client certificate for the remote_write receivers' },
  remoteWriteKey: { kind: 'string', flag: 'remote-write-key', env: 'CSTATS_REMOTE_WRITE_KEY', arg: 'FILE', help: 'and its PEM private key' },
  remoteWriteInsecure: { kind: 'bool', flag: 'remote-write-insecure', env: 'CSTATS_REMOTE_WRITE_INSECURE', help: "do not verify the remote_write receivers' certificates" },
  remoteWriteTimeoutMs: { kind: 'duration', flag: 'remote-write-timeout', env: 'CSTATS_REMOTE_WRITE_TIMEOUT', arg: 'DURATION', help: 'how long one remote_write request may take before it is retried' },
  gnocchi: { kind: 'list', flag: 'gnocchi', env: 'CSTATS_GNOCCHI', arg: 'URL', help: 'send every sample to this OpenStack Gnocchi API root, as ceilometer meters (repeatable)' },
  gnocchiUser: { kind: 'string', flag: 'gnocchi-user', env: 'CSTATS_GNOCCHI_USER', arg: 'NAME', help: 'user for Gnocchi\'s "basic" auth mode (admin may create the archive policy and resource type)' },
  gnocchiToken: { kind: 'string', flag: 'gnocchi-token', env: 'CSTATS_GNOCCHI_TOKEN', arg: 'TOKEN', help: 'Keystone token for Gnocchi\'s "keystone" auth mode (X-Auth-Token)' },
  gnocchiArchivePolicy: { kind: 'string', flag: 'gnocchi-archive-policy', env: 'CSTATS_GNOCCHI_ARCHIVE_POLICY', arg: 'NAME', help: 'archive policy of the metrics; "cstats" is created if missing, with the store\'s tiers' },
  gnocchiResourceType: { kind: 'string', flag: 'gnocchi-resource-type', env: 'CSTATS_GNOCCHI_RESOURCE_TYPE', arg: 'NAME', help: 'resource type of the containers (attributes name, image, runtime, host); "cstats_container" is created if missing' },
  gnocchiTimeoutMs: { kind: 'duration', flag: 'gnocchi-timeout', env: 'CSTATS_GNOCCHI_TIMEOUT', arg: 'DURATION', help: 'how long one Gnocchi request may take before it is retried' },
  exportQueueMaxSizeBytes: { kind: 'size', flag: 'export-queue-max-size', env: 'CSTATS_EXPORT_QUEUE_MAX_SIZE', arg: 'SIZE', help: "cap of each exporter's queue (data directory, or memory with --no-persist); past it the oldest payloads are dropped, counted" },
  otlp: { kind: 'list', flag: 'otlp', env: 'CSTATS_OTLP', arg: 'URL', help: 'send every sample to this OpenTelemetry OTLP/HTTP metrics endpoint, e.g. http://collector:4318/v1/metrics (repeatable)' },
  otlpProtocol: { kind: 'string', flag: 'otlp-protocol', env: 'CSTATS_OTLP_PROTOCOL', arg: 'FORMAT', help: 'OTLP encoding: protobuf (binary) or json (the OTLP/JSON mapping)' },
  otlpHeaders: { kind: 'list', flag: 'otlp-header', env: 'CSTATS_OTLP_HEADER', arg: 'NAME=VALUE', help: 'HTTP header sent with every OTLP request (repeatable)' },
  otlpCompression: { kind: 'string', flag: 'otlp-compression', env: 'CSTATS_OTLP_COMPRESSION', arg: 'NAME', help: 'OTLP request compression: gzip or none' },
  otlpBearerToken: { kind: 'string', flag: 'otlp-bearer-token', env: 'CSTATS_OTLP_BEARER_TOKEN', arg: 'TOKEN', help: 'send "Authorization: Bearer TOKEN" to the OTLP endpoints' },
  otlpCa: { kind: 'string', flag: 'otlp-ca', env: 'CSTATS_OTLP_CA', arg: 'FILE', help: "PEM CA that signs the OTLP endpoints' certificates" },
  otlpCert: { kind: 'string', flag: 'otlp-cert', env: 'CSTATS_OTLP_CERT', arg: 'FILE', help: 'PEM client certificate for the OTLP endpoints' },
  otlpKey: { kind: 'string', flag: 'otlp-key', env: 'CSTATS_OTLP_KEY', arg: 'FILE', help: 'and its PEM private key' },
  otlpInsecure: { kind: 'bool', flag: 'otlp-insecure', env: 'CSTATS_OTLP_INSECURE', help: "do not verify the OTLP endpoints' certificates" },
  otlpTimeoutMs: { kind: 'duration', flag: 'otlp-timeout', env: 'CSTATS_OTLP_TIMEOUT', arg: 'DURATION', help: 'how long one OTLP request may take before it is retried' },
  fleetPrometheus: { kind: 'string', flag: 'fleet-prometheus', env: 'CSTATS_FLEET_PROMETHEUS', arg: 'URL', help: "serve GET /api/v1/fleet (the dashboard's Fleet section): every host's containers from this Prometheus-compatible query API" },
  fleetPrometheusBearerToken: { kind: 'string', flag: 'fleet-prometheus-bearer-token', env: 'CSTATS_FLEET_PROMETHEUS_BEARER_TOKEN', arg: 'TOKEN', help: 'send "Authorization: Bearer TOKEN" to the fleet query API' },
  fleetDownAfterMs: { kind: 'duration', flag: 'fleet-down-after', env: 'CSTATS_FLEET_DOWN_AFTER', arg: 'DURATION', help: 'a fleet host is down when its newest sample is older than this' },
};

/** The configuration file read when neither --config nor CSTATS_CONFIG names one, if it exists. */
export const DEFAULT_CONFIG_FILE = '/etc/cstats/cstats.yaml';

/** A list is "a,b,c" (flag, environment) or a JSON array of strings (file); "" is the empty list. */
function parseList(raw: unknown, what: string): string[] {
  const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',').map((s) => s.trim()).filter((s) => s !== '') : undefined;
  if (!items || items.some((s) => typeof s !== 'string' || s === '')) throw new ConfigError(`${what}: expected a comma-separated list or an array of non-empty strings`);
  return items as string[];
}

function convert(kind: Kind, raw: unknown, what: string): string | number | boolean | string[] {
  if (kind === 'list') return parseList(raw, what);
  if (kind === 'bool') return typeof raw === 'boolean' ? raw : parseBool(String(raw), what);
  if (kind === 'duration') return typeof raw === 'number' ? raw : parseDuration(String(raw), what);
  if (kind === 'size') return typeof raw === 'number' ? raw : parseSize(String(raw), what);
  if (typeof raw !== 'string' || raw === '') throw new ConfigError(`${what}: expected a non-empty string`);
  return raw;
}

function validate(c: Config): Config {
  if (c.intervalMs < 100 || c.intervalMs > 60_000) throw new ConfigError(`interval must be between 100ms and 60s, got ${c.intervalMs}ms`);
  if (c.historyMs < c.intervalMs) throw new ConfigError('history must be at least one interval');
  if (c.rawHistoryMs < c.intervalMs) throw new ConfigError('raw-history must be at least one interval');
  if (c.fsIntervalMs < c.intervalMs) throw new ConfigError('fs-interval must be at least one interval');
  if (c.heapCompactIntervalMs !== 0 && c.heapCompactIntervalMs < 60_000) throw new ConfigError('heap-compact-interval must be 0 (never) or at least 1m');
  if (c.fsyncIntervalMs < c.intervalMs || c.fsyncIntervalMs > 600_000) throw new ConfigError('fsync-interval must be between one interval and 10m');
  if (c.retainRawMs < 60_000 || c.retain1mMs < 3_600_000 || c.retain1hMs < 3_600_000) throw new ConfigError('retain-raw must be at least 1m, retain-1m and retain-1h at least 1h');
  if (c.dataMaxSizeBytes < 16 << 20) throw new ConfigError(`data-max-size must be at least 16MiB, got ${c.dataMaxSizeBytes} bytes`);
  validateRemoteWrite(c);
  validateOtlp(c);
  const m = /^(.*):(\d+)$/.exec(c.listen);
  if (!m || Number(m[2]) > 65535) throw new ConfigError(`listen: expected HOST:PORT, got ${JSON.stringify(c.listen)}`);
  if ((c.tlsCert === undefined) !== (c.tlsKey === undefined)) throw new ConfigError('tls-cert and tls-key go together: give both or neither');
  if (!isLoopbackHost(m[1]) && c.authToken === undefined && !c.insecure) {
    throw new ConfigError(
      `listen: refusing to serve ${c.listen}, which is reachable from other hosts, without authentication: ` +
        'set --auth-token (or CSTATS_AUTH_TOKEN) so every request must carry it, or pass --insecure to serve it open',
    );
  }
  return c;
}

const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*=/;

function validateRemoteWrite(c: Config): void {
  checkHttpUrls('remote-write', c.remoteWrite);
  for (const l of c.remoteWriteLabels) {
    if (!LABEL.test(l) || l.startsWith('__')) throw new ConfigError(`remote-write-label: expected NAME=VALUE with NAME a Prometheus label name not starting with __, got ${JSON.stringify(l)}`);
  }
  if (c.remoteWriteBearerToken !== undefined && c.remoteWriteUsername !== undefined) throw new ConfigError('remote-write-bearer-token and remote-write-username: give one or the other, not both');
  if (c.remoteWritePassword !== undefined && c.remoteWriteUsername === undefined) throw new ConfigError('remote-write-password needs remote-write-username');
  if ((c.remoteWriteCert === undefined) !== (c.remoteWriteKey === undefined)) throw new ConfigError('remote-write-cert and remote-write-key go together: give both or neither');
  if (c.remoteWriteTimeoutMs < 100) throw new ConfigError('remote-write-timeout must be at least 100ms');
  for (const url of c.gnocchi) {
    if (!/^https?:\/\/[^/]/.test(url) || !URL.canParse(url)) throw new ConfigError(`gnocchi: expected an http:// or https:// URL (the API root), got ${JSON.stringify(url)}`);
  }
  if (c.gnocchiToken !== undefined && c.gnocchiUser !== undefined) throw new ConfigError('gnocchi-token and gnocchi-user: give one or the other, not both');
  if (c.gnocchiTimeoutMs < 100) throw new ConfigError('gnocchi-timeout must be at least 100ms');
  if (c.fleetPrometheus !== undefined && (!/^https?:\/\/[^/]/.test(c.fleetPrometheus) || !URL.canParse(c.fleetPrometheus))) throw new ConfigError(`fleet-prometheus: expected an http:// or https:// URL, got ${JSON.stringify(c.fleetPrometheus)}`);
  if (c.exportQueueMaxSizeBytes < 1 << 20) throw new ConfigError(`export-queue-max-size must be at least 1MiB, got ${c.exportQueueMaxSizeBytes} bytes`);
}

function checkHttpUrls(flag: string, urls: readonly string[]): void {
  for (const url of urls) {
    if (!/^https?:\/\/[^/]/.test(url) || !URL.canParse(url)) throw new ConfigError(`${flag}: expected an http:// or https:// URL, got ${JSON.stringify(url)}`);
  }
}

/** An HTTP field name (RFC 9110 token), then =; not one the sender sets itself. */
const HEADER = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+=/;
const SENDER_HEADERS = new Set(['content-type', 'content-length', 'content-encoding', 'host']);

function validateOtlp(c: Config): void {
  checkHttpUrls('otlp', c.otlp);
  if (c.otlpProtocol !== 'protobuf' && c.otlpProtocol !== 'json') throw new ConfigError(`otlp-protocol: expected protobuf or json, got ${JSON.stringify(c.otlpProtocol)}`);
  if (c.otlpCompression !== 'gzip' && c.otlpCompression !== 'none') throw new ConfigError(`otlp-compression: expected gzip or none, got ${JSON.stringify(c.otlpCompression)}`);
  for (const h of c.otlpHeaders) {
    if (!HEADER.test(h)) throw new ConfigError(`otlp-header: expected NAME=VALUE with NAME an HTTP header name, got ${JSON.stringify(h)}`);
    const name = h.slice(0, h.indexOf('='));
    if (SENDER_HEADERS.has(name.toLowerCase())) throw new ConfigError(`otlp-header: ${name} is set by the sender, it cannot be given`);
  }
  if ((c.otlpCert === undefined) !== (c.otlpKey === undefined)) throw new ConfigError('otlp-cert and otlp-key go together: give both or neither');
  if (c.otlpTimeoutMs < 100) throw new ConfigError('otlp-timeout must be at least 100ms');
}

/** Whether a listen host only accepts connections from this machine ("" and 0.0.0.0 and :: do not). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Builds the configuration. `flags` are the parsed command-line options (--name value, or
 * --name / --no-name for booleans), by flag name. The file is `flags.config`, else
 * CSTATS_CONFIG, else `defaultFile` when it exists; YAML (JSON is YAML too) whose keys are the
 * flags' names. `source` names the file that was read, if any.
 */
export function loadConfig(
  flags: Record<string, string | boolean>,
  env: NodeJS.ProcessEnv = process.env,
  defaultFile = DEFAULT_CONFIG_FILE,
): Config & { source?: string } {
  const named = (flags.config as string | undefined) ?? env.CSTATS_CONFIG;
  const file = named ?? (existsSync(defaultFile) ? defaultFile : undefined);
  const fromFile = file === undefined ? {} : readConfigFile(file);
  const out = { ...DEFAULTS } as Record<keyof Config, unknown>;
  for (const [key, d] of Object.entries(KEYS) as [keyof Config, KeySpec][]) {
    if (fromFile[d.flag] !== undefined && fromFile[d.flag] !== null) out[key] = convert(d.kind, fromFile[d.flag], `${file}: ${d.flag}`);
    if (env[d.env] !== undefined) out[key] = convert(d.kind, env[d.env], d.env);
    if (flags[d.flag] !== undefined) out[key] = convert(d.kind, flags[d.flag], `--${d.flag}`);
  }
  const config = validate(out as unknown as Config);
  return file === undefined ? config : { ...config, source: file };
}

function readConfigFile(file: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    // The yaml library's message names the line and column.
    throw new ConfigError(`config file ${file}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`config file ${file}: expected a mapping of option names to values`);
  for (const k of Object.keys(doc)) {
    if (!Object.values(KEYS).some((d) => d.flag === k)) throw new ConfigError(`config file ${file}: unknown key "${k}" (the keys are the flags' names, without --)`);
  }
  return doc as Record<string, unknown>;
}

/** Flag names this configuration accepts, for the argument parser. */
export const CONFIG_FLAGS = new Map(Object.values(KEYS).map((d) => [d.flag, d.kind === 'size' ? ('string' as const) : d.kind]));

/** How a default reads in --help and the README. */
function showDefault(kind: Kind, value: unknown): string {
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return 'none';
  if (kind === 'bool') return value ? 'on' : 'off';
  if (kind === 'duration') return formatDuration(value as number);
  if (kind === 'size') return formatSize(value as number);
  return String(value);
}

/** 1073741824 → "1GiB": the largest binary unit that divides it (what parseSize reads back). */
export function formatSize(bytes: number): string {
  for (const [unit, size] of [['TiB', 1024 ** 4], ['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) if (bytes % size === 0 && bytes >= size) return `${bytes / size}${unit}`;
  return String(bytes);
}

/** 900000 → "15m", 1000 → "1s", 250 → "250ms": the largest unit that divides it. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) if (ms % size === 0 && ms >= size) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** One row per option, as --help and the README's table show them. */
export function configOptions(): Array<{ flag: string; env: string; default: string; help: string }> {
  return (Object.entries(KEYS) as [keyof Config, KeySpec][]).map(([key, d]) => {
    // A boolean that is on by default is turned off with --no-NAME (its variable with false).
    const flag = d.kind === 'bool' ? (DEFAULTS[key] ? `--[no-]${d.flag}` : `--${d.flag}`) : `--${d.flag} ${d.arg}`;
    return { flag, env: d.env, default: showDefault(d.kind, DEFAULTS[key]), help: d.help };
  });
}

/** The options part of `cstats agent --help`: every flag, its variable and its default. */
export function configHelp(): string {
  const rows = [
    ...configOptions(),
    { flag: '--config FILE', env: 'CSTATS_CONFIG', default: `${DEFAULT_CONFIG_FILE} if present`, help: 'YAML or JSON file with any of the options above, keys without --' },
  ];
  return rows.map((r) => `  ${r.flag.padEnd(26)} ${r.help}
  ${''.padEnd(26)} (${r.env}, default ${r.default})
`).join('');
}
