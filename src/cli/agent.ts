/** `cstats agent`: discovery + sampling + the HTTP API, with embedded defaults. */
import { readFileSync } from 'node:fs';
import { loadConfig, CONFIG_FLAGS, ConfigError, configHelp } from '../config.js';
import { createLogger } from '../log.js';
import { Store, historyMetricNames } from '../store/store.js';
import { Collector } from '../collector/collector.js';
import { DockerClient } from '../runtimes/docker-client.js';
import { readHostInfoFacts } from '../collector/machine.js';
import { ProcessCountLog } from '../collector/process-counts.js';
import { DockerDiscoverer } from '../runtimes/docker.js';
import { CgroupfsDiscoverer } from '../runtimes/cgroupfs.js';
import { PodmanDiscoverer } from '../runtimes/podman.js';
import { ContainerdDiscoverer } from '../runtimes/cri/containerd.js';
import { MachinedDiscoverer } from '../runtimes/machined.js';
import { LxdDiscoverer } from '../runtimes/lxd.js';
import { readHostLayout, walkRootOf, locationFromPath, locationFromPid } from '../runtimes/layout.js';
import type { Discoverer } from '../runtimes/types.js';
import { Router, startServer } from '../api/http.js';
import { registerRest } from '../api/rest.js';
import { bearerGuard } from '../api/auth.js';
import { registerUi, type Ui } from '../api/ui.js';
import { registerPrometheus } from '../api/prometheus.js';
import { processMetricsText } from '../api/process-metrics.js';
import { HeapCompactor } from '../collector/heap-compactor.js';
import { readSelf } from '../collector/self.js';
import { DEFAULT_STREAM_OPTIONS, registerStream } from '../api/stream.js';
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
import { alertsView, registerAlarms } from '../api/alarms.js';
import { createExports } from '../export/index.js';
import { FleetSource } from '../fleet/query.js';
import { registerFleet } from '../api/fleet.js';

export const AGENT_HELP = `Usage: cstats agent [options]

Samples every container on this host and serves the figures over HTTP.

Options (flag > CSTATS_* environment > config file > default):
${configHelp()}
Listening beyond loopback needs --auth-token or an explicit --insecure.
`;

export async function runAgent(argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, new Map([...CONFIG_FLAGS, ['config', 'string' as const]]));
  const config = loadConfig(flags);
  const tls = config.tlsCert !== undefined && config.tlsKey !== undefined ? { cert: readPem(config.tlsCert, 'tls-cert'), key: readPem(config.tlsKey, 'tls-key') } : undefined;
  const log = createLogger(undefined, config.quiet);
  // The agent never exits on bad input: anything that escapes a handler is logged, not fatal.
  process.on('uncaughtException', (err) => log.warn('agent', `unexpected error (continuing): ${err.stack ?? err}`));
  process.on('unhandledRejection', (err) => log.warn('agent', `unexpected rejection (continuing): ${(err as Error)?.stack ?? err}`));

  if (config.source !== undefined) log.info('agent', `configuration read from ${config.source}`);
  const layout = readHostLayout();
  log.info('agent', `cgroup layout: ${layout.mode}${layout.v2Root ? `, cgroup2 at ${layout.v2Root}` : ''}`);
  const discoverers: Discoverer[] = [];
  const locate = (pid: number) => locationFromPid(layout, pid);
  let docker: DockerDiscoverer | undefined;
  if (config.docker) {
    docker = new DockerDiscoverer(new DockerClient(config.dockerSocket), locate, log);
    discoverers.push(docker);
  }
  // Runtimes that name their containers come before the cgroup walk, which finds the same ids
  // by path: the collector keeps the first discoverer's answer for an id.
  if (config.podmanRoots.length > 0) discoverers.push(new PodmanDiscoverer({ roots: config.podmanRoots, locate }, log));
  for (const socketPath of config.criSockets) discoverers.push(new ContainerdDiscoverer({ socketPath, locate }, log));
  // LXD and Incus containers by name, before the walk that finds their lxc.payload.* cgroups.
  for (const socketPath of config.lxdSockets) discoverers.push(new LxdDiscoverer({ socketPath, locate: (rel) => locationFromPath(layout, rel) }, log));
  // systemd-nspawn machines by name (machined's own files), before the walk that finds their scopes.
  if (config.cgroups) discoverers.push(new MachinedDiscoverer(locate, log));
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
    dataDir = DataDir.open(config.dataDir, log, config.fsyncIntervalMs);
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
  const compactor = new HeapCompactor(config.heapCompactIntervalMs, Date.now());
  if (config.heapCompactIntervalMs > 0 && !compactor.enabled) log.info('agent', 'heap compaction off: node runs without --expose-gc (bin/cstats.js gives it)');
  collector.onTick(() => compactor.afterTick(Date.now()));
  // Remote_write and the other exporters: fed from the first tick, sending from their queues.
  const exports = createExports(config, store, dataDir, log);
  collector.onTick(() => exports.tick());
  exports.start();
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
    lockCheck: dataDir && (() => dataDir!.assertHeld()),
    rules,
    dispatcher: new Dispatcher(log, DEFAULT_DELIVERY, `${tls ? 'https' : 'http'}://${config.listen}/api/v1/alarms`),
  });
  if (rules) log.info('alarms', `${config.rules}: ${alarms.list().length} rules loaded (built-in lifecycle alarms included), ${rules.errors.length} refused`);

  let ui: Ui | undefined;
  // Without credentials, the dashboard's page answers 401 with its login form.
  const guard = config.authToken !== undefined ? bearerGuard(config.authToken, { loginPage: (req, res) => ui?.loginPage(req, res) }) : undefined;
  const router = new Router(guard);
  ui = registerUi(router, { authToken: config.authToken });
  registerRest(router, { store, discoverers, collector, intervalMs: config.intervalMs, startedMs: Date.now(), alarms, exports });
  registerPrometheus(router, store, { labelAllowlist: config.prometheusLabels, tail: () => processMetricsText(readSelf(), compactor.enabled ? compactor.done : undefined) + alarms.metricsText() + exports.metricsText() });
  registerAlarms(router, alarms, store);
  // The fleet: every host's containers from the query API the agents remote_write to (src/fleet).
  const fleetSource = config.fleetPrometheus === undefined ? undefined : new FleetSource({ url: config.fleetPrometheus, bearerToken: config.fleetPrometheusBearerToken, timeoutMs: 5000, downAfterMs: config.fleetDownAfterMs });
  registerFleet(router, fleetSource);
  const lifecycle = new LifecycleLog(store);
  collector.onTick(() => lifecycle.observe());
  lifecycle.subscribe((e) => alarms.observe(e));
  // After the lifecycle look, so a tick's removals and OOM kills are acted on in the same evaluation.
  collector.onTick(() => alarms.evaluate(Date.now()));
  // After the evaluation, so each tick's event and the alerts it changed go out together.
  registerStream(router, store, collector, { ...DEFAULT_STREAM_OPTIONS, alerts: () => alertsView(alarms, store) });
  const compat = { store, collector, lifecycle, cgroupVersion: layout.mode === 'v2' ? (2 as const) : (1 as const), intervalMs: config.intervalMs };
  registerDockerCompat(router, {
    ...compat,
    // dockerd's own /info, asked per request (a client waits at most 2 s for it).
    dockerInfo: config.docker ? () => new DockerClient(config.dockerSocket, 2000).get<Record<string, unknown>>('/info') : undefined,
    hostInfo: () => readHostInfoFacts(layout),
  });
  // cAdvisor's series carry each tick's process count, kept over the raw-history window.
  const processes = new ProcessCountLog(config.rawHistoryMs);
  collector.onTick(() => processes.observe(store.list(false)));
  registerCadvisor(router, { ...compat, processes });
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
      // Whatever is still queued stays on disk for the next start.
      exports.stop();
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
