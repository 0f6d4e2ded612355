/**
 * One typed configuration. Precedence: command-line flags > environment (CSTATS_*) > config
 * file (JSON, --config or CSTATS_CONFIG) > embedded defaults. Every value is validated here so
 * the rest of the agent never sees a bad one.
 */
import { readFileSync } from 'node:fs';

export interface Config {
  /** host:port the HTTP API listens on. */
  listen: string;
  /** Sampling interval, ms (100 ms to 60 s). */
  intervalMs: number;
  /** In-memory history window per container, ms. */
  historyMs: number;
  /** Raw samples kept per container for series of raw counters (cAdvisor's --storage_duration), ms. */
  rawHistoryMs: number;
  /** Filesystem (statfs) and mount-table refresh interval, ms. */
  fsIntervalMs: number;
  dockerSocket: string;
  /** Discover Docker containers (the agent keeps retrying while the socket is absent). */
  docker: boolean;
  /** Discover plain cgroups (systemd scopes, LXC, podman, kubepods). */
  cgroups: boolean;
  /** Podman graph roots whose state database names podman's containers; [] turns podman discovery off. */
  podmanRoots: string[];
  /** containerd sockets asked over CRI for Kubernetes pods and containers; [] turns it off. */
  criSockets: string[];
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
}

export const DEFAULTS: Config = {
  listen: '127.0.0.1:7070',
  intervalMs: 1000,
  historyMs: 15 * 60_000,
  rawHistoryMs: 2 * 60_000,
  fsIntervalMs: 10_000,
  dockerSocket: '/var/run/docker.sock',
  docker: true,
  cgroups: true,
  podmanRoots: ['/var/lib/containers/storage'],
  criSockets: ['/run/containerd/containerd.sock'],
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
const KEYS: Record<keyof Config, { kind: Kind; flag: string; env: string }> = {
  listen: { kind: 'string', flag: 'listen', env: 'CSTATS_LISTEN' },
  intervalMs: { kind: 'duration', flag: 'interval', env: 'CSTATS_INTERVAL' },
  historyMs: { kind: 'duration', flag: 'history', env: 'CSTATS_HISTORY' },
  rawHistoryMs: { kind: 'duration', flag: 'raw-history', env: 'CSTATS_RAW_HISTORY' },
  fsIntervalMs: { kind: 'duration', flag: 'fs-interval', env: 'CSTATS_FS_INTERVAL' },
  dockerSocket: { kind: 'string', flag: 'docker-socket', env: 'CSTATS_DOCKER_SOCKET' },
  docker: { kind: 'bool', flag: 'docker', env: 'CSTATS_DOCKER' },
  cgroups: { kind: 'bool', flag: 'cgroups', env: 'CSTATS_CGROUPS' },
  podmanRoots: { kind: 'list', flag: 'podman-roots', env: 'CSTATS_PODMAN_ROOTS' },
  criSockets: { kind: 'list', flag: 'cri-sockets', env: 'CSTATS_CRI_SOCKETS' },
  quiet: { kind: 'bool', flag: 'quiet', env: 'CSTATS_QUIET' },
  procfs: { kind: 'bool', flag: 'procfs', env: 'CSTATS_PROCFS' },
  procfsMountpoint: { kind: 'string', flag: 'procfs-mountpoint', env: 'CSTATS_PROCFS_MOUNTPOINT' },
  authToken: { kind: 'string', flag: 'auth-token', env: 'CSTATS_AUTH_TOKEN' },
  insecure: { kind: 'bool', flag: 'insecure', env: 'CSTATS_INSECURE' },
  tlsCert: { kind: 'string', flag: 'tls-cert', env: 'CSTATS_TLS_CERT' },
  tlsKey: { kind: 'string', flag: 'tls-key', env: 'CSTATS_TLS_KEY' },
  prometheusLabels: { kind: 'list', flag: 'prometheus-labels', env: 'CSTATS_PROMETHEUS_LABELS' },
  dataDir: { kind: 'string', flag: 'data-dir', env: 'CSTATS_DATA_DIR' },
  persist: { kind: 'bool', flag: 'persist', env: 'CSTATS_PERSIST' },
  rules: { kind: 'string', flag: 'rules', env: 'CSTATS_RULES' },
  dataMaxSizeBytes: { kind: 'size', flag: 'data-max-size', env: 'CSTATS_DATA_MAX_SIZE' },
  fsyncIntervalMs: { kind: 'duration', flag: 'fsync-interval', env: 'CSTATS_FSYNC_INTERVAL' },
  retainRawMs: { kind: 'duration', flag: 'retain-raw', env: 'CSTATS_RETAIN_RAW' },
  retain1mMs: { kind: 'duration', flag: 'retain-1m', env: 'CSTATS_RETAIN_1M' },
  retain1hMs: { kind: 'duration', flag: 'retain-1h', env: 'CSTATS_RETAIN_1H' },
};

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
  if (c.fsyncIntervalMs < c.intervalMs || c.fsyncIntervalMs > 600_000) throw new ConfigError('fsync-interval must be between one interval and 10m');
  if (c.retainRawMs < 60_000 || c.retain1mMs < 3_600_000 || c.retain1hMs < 3_600_000) throw new ConfigError('retain-raw must be at least 1m, retain-1m and retain-1h at least 1h');
  if (c.dataMaxSizeBytes < 16 << 20) throw new ConfigError(`data-max-size must be at least 16MiB, got ${c.dataMaxSizeBytes} bytes`);
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

/** Whether a listen host only accepts connections from this machine ("" and 0.0.0.0 and :: do not). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Builds the configuration. `flags` are the parsed command-line options (--name value, or
 * --name / --no-name for booleans), by flag name.
 */
export function loadConfig(flags: Record<string, string | boolean>, env: NodeJS.ProcessEnv = process.env): Config {
  const file = (flags.config as string | undefined) ?? env.CSTATS_CONFIG;
  let fromFile: Record<string, unknown> = {};
  if (file) {
    try {
      fromFile = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError(`config file ${file}: ${(err as Error).message}`);
    }
    for (const k of Object.keys(fromFile)) {
      if (!Object.values(KEYS).some((d) => d.flag === k)) throw new ConfigError(`config file ${file}: unknown key "${k}"`);
    }
  }
  const out = { ...DEFAULTS } as Record<keyof Config, unknown>;
  for (const [key, d] of Object.entries(KEYS) as [keyof Config, (typeof KEYS)[keyof Config]][]) {
    if (fromFile[d.flag] !== undefined) out[key] = convert(d.kind, fromFile[d.flag], `${file}: ${d.flag}`);
    if (env[d.env] !== undefined) out[key] = convert(d.kind, env[d.env], d.env);
    if (flags[d.flag] !== undefined) out[key] = convert(d.kind, flags[d.flag], `--${d.flag}`);
  }
  return validate(out as unknown as Config);
}

/** Flag names this configuration accepts, for the argument parser. */
export const CONFIG_FLAGS = new Map(Object.values(KEYS).map((d) => [d.flag, d.kind === 'list' || d.kind === 'size' ? ('string' as const) : d.kind]));
