/** `cstats agent`: discovery + sampling + the HTTP API, with embedded defaults. */
import { readFileSync } from 'node:fs';
import { loadConfig, CONFIG_FLAGS, ConfigError } from '../config.js';
import { createLogger } from '../log.js';
import { Store, historyMetricNames } from '../store/store.js';
import { Collector } from '../collector/collector.js';
import { DockerClient } from '../runtimes/docker-client.js';
import { DockerDiscoverer } from '../runtimes/docker.js';
import { CgroupfsDiscoverer } from '../runtimes/cgroupfs.js';
import { readHostLayout, walkRootOf, locationFromPath, locationFromPid } from '../runtimes/layout.js';
import type { Discoverer } from '../runtimes/types.js';
import { Router, startServer } from '../api/http.js';
import { registerRest } from '../api/rest.js';
import { bearerGuard } from '../api/auth.js';
import { registerUi, type Ui } from '../api/ui.js';
import { registerPrometheus } from '../api/prometheus.js';
import { registerStream } from '../api/stream.js';
import { LifecycleLog } from '../store/lifecycle.js';
import { DataDir } from '../store/datadir.js';
import { PersistentHistory } from '../store/persist.js';
import { registerDockerCompat } from '../api/docker/index.js';
import { registerCadvisor } from '../api/cadvisor.js';
import { registerKubelet } from '../api/kubelet.js';
import { parseArgs } from './args.js';
import { AlarmEngine } from '../alarms/engine.js';
import { Dispatcher, DEFAULT_DELIVERY } from '../alarms/actions.js';
import { loadRulesFile } from '../alarms/rulefile.js';
import { registerAlarms } from '../api/alarms.js';

export const AGENT_HELP = `Usage: cstats agent [options]

Samples every container on this host and serves the figures over HTTP.

Options (flag > CSTATS_* environment > --config JSON file > default):
  --listen HOST:PORT     address to serve on            (CSTATS_LISTEN, default 127.0.0.1:7070)
  --interval DURATION    sampling interval, 100ms..60s  (CSTATS_INTERVAL, default 1s)
  --history DURATION     in-memory history window       (CSTATS_HISTORY, default 15m)
  --raw-history DURATION raw samples kept for cAdvisor's series (count, num_stats)
                         (CSTATS_RAW_HISTORY, default 2m)
  --fs-interval DURATION filesystem usage refresh       (CSTATS_FS_INTERVAL, default 10s)
  --docker-socket PATH   Docker Engine socket           (CSTATS_DOCKER_SOCKET, default /var/run/docker.sock)
  --no-docker            do not discover Docker containers
  --no-cgroups           do not discover plain cgroups (systemd scopes, LXC, podman, kubepods)
  --quiet                log warnings only
  --procfs               also mount the container-aware /proc files (see 'cstats procfs --help');
                         the FUSE server outlives agent restarts (CSTATS_PROCFS)
  --procfs-mountpoint DIR  where to mount them (CSTATS_PROCFS_MOUNTPOINT, default /var/lib/cstats/procfs)
  --auth-token TOKEN     require "Authorization: Bearer TOKEN" on every endpoint but /healthz
                         (CSTATS_AUTH_TOKEN); needed to listen beyond loopback
  --insecure             listen beyond loopback without a token (CSTATS_INSECURE)
  --tls-cert FILE        serve HTTPS with this PEM certificate chain (CSTATS_TLS_CERT)
  --tls-key FILE         and this PEM private key (CSTATS_TLS_KEY)
  --prometheus-labels K1,K2  container labels exported on /metrics as container_label_K
                         (CSTATS_PROMETHEUS_LABELS, default none)
  --rules FILE           alarm rules, YAML or JSON: Prometheus rule groups, threshold alarms,
                         actions (CSTATS_RULES; see src/alarms/README.md)
  --data-dir DIR         where history and alarm states are kept on disk
                         (CSTATS_DATA_DIR, default /var/lib/cstats); one agent per directory
  --no-persist           keep nothing on disk (CSTATS_PERSIST=false)
  --data-max-size SIZE   one cap on the disk history, e.g. 512MiB (CSTATS_DATA_MAX_SIZE, default 1GiB)
  --fsync-interval D     how often history is written and fsynced: what a kill -9 can lose
                         (CSTATS_FSYNC_INTERVAL, default 10s)
  --retain-raw D         every sample kept for      (CSTATS_RETAIN_RAW, default 24h)
  --retain-1m D          1-minute min/max/mean/last (CSTATS_RETAIN_1M, default 30d)
  --retain-1h D          1-hour min/max/mean/last   (CSTATS_RETAIN_1H, default 365d)
  --config FILE          JSON file with any of the keys above (without --)
`;

export async function runAgent(argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, new Map([...CONFIG_FLAGS, ['config', 'string' as const]]));
  const config = loadConfig(flags);
  const tls = config.tlsCert !== undefined && config.tlsKey !== undefined ? { cert: readPem(config.tlsCert, 'tls-cert'), key: readPem(config.tlsKey, 'tls-key') } : undefined;
  const log = createLogger(undefined, config.quiet);
  // The agent never exits on bad input: anything that escapes a handler is logged, not fatal.
  process.on('uncaughtException', (err) => log.warn('agent', `unexpected error (continuing): ${err.stack ?? err}`));
  process.on('unhandledRejection', (err) => log.warn('agent', `unexpected rejection (continuing): ${(err as Error)?.stack ?? err}`));

  const layout = readHostLayout();
  log.info('agent', `cgroup layout: ${layout.mode}${layout.v2Root ? `, cgroup2 at ${layout.v2Root}` : ''}`);
  const discoverers: Discoverer[] = [];
  let docker: DockerDiscoverer | undefined;
  if (config.docker) {
    docker = new DockerDiscoverer(new DockerClient(config.dockerSocket), (pid) => locationFromPid(layout, pid), log);
    discoverers.push(docker);
  }
  if (config.cgroups) {
    discoverers.push(
      new CgroupfsDiscoverer(
        {
          walkRoot: walkRootOf(layout),
          locate: (rel) => locationFromPath(layout, rel),
          // Docker's own containers come from Docker, with their names and labels.
          skip: (c) => config.docker && c.kind === 'docker',
        },
        log,
      ),
    );
  }
  let dataDir: DataDir | undefined;
  let persist: PersistentHistory | undefined;
  if (config.persist) {
    const t0 = Date.now();
    dataDir = DataDir.open(config.dataDir, log);
    persist = new PersistentHistory({
      dataDir,
      intervalMs: config.intervalMs,
      metrics: historyMetricNames,
      retentionMs: [config.retainRawMs, config.retain1mMs, config.retain1hMs],
      maxBytes: config.dataMaxSizeBytes,
      log,
    });
    log.info('agent', `history on disk at ${config.dataDir}: ${persist.kept().length} containers known, read in ${Date.now() - t0} ms`);
  }
  // Removed containers stay listed for as long as their history is kept.
  const retentionMs = persist ? Math.max(config.historyMs, config.retainRawMs, config.retain1mMs, config.retain1hMs) : config.historyMs;
  const store = new Store(Math.ceil(config.historyMs / config.intervalMs), retentionMs, Math.floor(config.rawHistoryMs / config.intervalMs) + 1, config.intervalMs, persist);
  const flushTimer = persist && setInterval(() => persist.flush(), config.fsyncIntervalMs);
  const collector = new Collector(store, discoverers, { intervalMs: config.intervalMs, fsIntervalMs: config.fsIntervalMs }, log);
  for (const d of discoverers) d.onChange = () => collector.syncWithDiscovery();
  await Promise.all(discoverers.map((d) => d.start()));
  collector.start();
  if (config.procfs) {
    // A separate, detached holder process serves the files, so this agent can stop, crash or
    // be upgraded without breaking containers that bind-mounted them.
    const { startProcfs } = await import('../procview/index.js');
    const procfs = await startProcfs({ mountpoint: config.procfsMountpoint });
    log.info('agent', `procfs ${procfs.reused ? 'already mounted' : 'mounted'} at ${procfs.mountpoint} (holder pid ${procfs.holderPid})`);
  }

  const rules = config.rules !== undefined ? loadRulesFile(config.rules) : undefined;
  // A refused rule is reported and the rest run: one bad rule never costs the others.
  for (const err of rules?.errors ?? []) log.warn('alarms', `rule refused: ${err}`);
  const alarms = new AlarmEngine({
    store,
    log,
    intervalMs: config.intervalMs,
    labelAllowlist: config.prometheusLabels,
    dataDir: config.persist ? config.dataDir : undefined,
    rules,
    dispatcher: new Dispatcher(log, DEFAULT_DELIVERY, `${tls ? 'https' : 'http'}://${config.listen}/api/v1/alarms`),
  });
  if (rules) log.info('alarms', `${config.rules}: ${alarms.list().length} rules loaded (built-in lifecycle alarms included), ${rules.errors.length} refused`);

  let ui: Ui | undefined;
  // Without credentials, the dashboard's page answers 401 with its login form.
  const guard = config.authToken !== undefined ? bearerGuard(config.authToken, { loginPage: (req, res) => ui?.loginPage(req, res) }) : undefined;
  const router = new Router(guard);
  ui = registerUi(router, { authToken: config.authToken });
  registerRest(router, { store, discoverers, collector, intervalMs: config.intervalMs, startedMs: Date.now(), alarms });
  registerPrometheus(router, store, { labelAllowlist: config.prometheusLabels, tail: () => alarms.metricsText() });
  registerStream(router, store, collector);
  registerAlarms(router, alarms);
  const lifecycle = new LifecycleLog(store);
  collector.onTick(() => lifecycle.observe());
  lifecycle.subscribe((e) => alarms.observe(e));
  // After the lifecycle look, so a tick's removals and OOM kills are acted on in the same evaluation.
  collector.onTick(() => alarms.evaluate(Date.now()));
  const compat = { store, collector, lifecycle, cgroupVersion: layout.mode === 'v2' ? (2 as const) : (1 as const), intervalMs: config.intervalMs };
  registerDockerCompat(router, compat);
  registerCadvisor(router, compat);
  registerKubelet(router, compat);
  const server = await startServer(router, config.listen, tls);
  log.info(
    'agent',
    `serving on ${tls ? 'https' : 'http'}://${config.listen} (sampling every ${config.intervalMs} ms${config.authToken !== undefined ? ', bearer token required' : ''})`,
  );

  return new Promise((resolve) => {
    const shutdown = (signal: string): void => {
      log.info('agent', `${signal}: stopping`);
      collector.stop();
      alarms.flush();
      for (const d of discoverers) d.stop();
      clearInterval(flushTimer);
      persist?.close();
      dataDir?.close();
      server.close();
      server.closeAllConnections();
      resolve(0);
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`${what}: cannot read ${path}: ${(err as Error).message}`);
  }
}
