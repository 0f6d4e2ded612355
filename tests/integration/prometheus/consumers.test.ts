/**
 * What people run on cAdvisor's series, run on the agent's: Debian's Prometheus scrapes a real
 * agent every second with
 *   - the Kubernetes monitoring mixin's container_* recording rules (k8s.rules) and its
 *     CPUThrottlingHigh alert, copied from kubernetes-monitoring/kubernetes-mixin
 *     rules/apps.libsonnet and alerts/resource_alerts.libsonnet, rendered with the mixin's
 *     defaults (cadvisorSelector job="cadvisor", clusterLabel cluster, cpuThrottlingPercent 25);
 *   - the panel queries of dockprom's "Docker Containers" Grafana dashboard
 *     (stefanprodan/dockprom grafana/provisioning/dashboards/docker_containers.json), whose
 *     host panels divide by node_exporter's CPU count: Debian's prometheus-node-exporter runs too.
 * The containers are a Kubernetes pod laid out as the kubelet lays it out on Docker (dockershim,
 * cri-dockerd): a sandbox ("POD") container under /kubepods/burstable/pod<uid>, its containers in
 * the same cgroup parent and the sandbox's network namespace, with the kubelet's
 * io.kubernetes.* labels. The mixin's rules join on kube_pod_info from kube-state-metrics, which
 * needs an API server: a stand-in in this test serves that one series as kube-state-metrics
 * writes it (the only part that is not real).
 * Every query returns series, and the values agree with the agent's own figures and the known
 * loads: CPU cores of a --cpus 0.5 loop, working set of a 32 MiB fill, bytes of a 4 MiB download.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { docker, freePort, mean, removeTestContainers, run, sleep, startAgent, waitFor, type AgentProcess } from '../support.js';

const UID = '5e1d17b0-17b0-4c5e-9a17-0000000017b0';
const POD = 'web-0';
const NAMESPACE = 'cs17b';
const NODE = 'cs17b-node';
const PARENT = `/kubepods/burstable/pod${UID}`;
const MiB = 2 ** 20;

/** Docker's names for a pod's containers, as the kubelet gives them (k8s_<container>_<pod>_<namespace>_<uid>_<attempt>), prefixed for this test. */
const dockerName = (container: string) => `cs17b-k8s_${container}_${POD}_${NAMESPACE}_${UID}_0`;
const kubeletLabels = (container: string) => [
  ['io.kubernetes.pod.name', POD],
  ['io.kubernetes.pod.namespace', NAMESPACE],
  ['io.kubernetes.pod.uid', UID],
  ['io.kubernetes.container.name', container],
  ['io.kubernetes.docker.type', container === 'POD' ? 'podsandbox' : 'container'],
].flatMap(([k, v]) => ['--label', `${k}=${v}`]);

// ---- kubernetes-mixin rules/apps.libsonnet, group k8s.rules: the container_* recording rules.
const SUM_IRATE = 'node_namespace_pod_container:container_cpu_usage_seconds_total:sum_irate';
const POD_NODE = 'topk by(namespace, pod) (1,\n    max by(namespace, pod, node) (kube_pod_info{node!=""})\n  )';
const RECORDING: Record<string, string> = {
  [SUM_IRATE]: `sum by (cluster, namespace, pod, container) (
  irate(container_cpu_usage_seconds_total{job="cadvisor", image!=""}[5m])
) * on (cluster, namespace, pod) group_left(node) topk by (cluster, namespace, pod) (
  1, max by(cluster, namespace, pod, node) (kube_pod_info{node!=""})
)`,
  ...Object.fromEntries(
    ['container_memory_working_set_bytes', 'container_memory_rss', 'container_memory_cache', 'container_memory_swap'].map((m) => [
      `node_namespace_pod_container:${m}`,
      `${m}{job="cadvisor", image!=""}\n* on (namespace, pod) group_left(node) ${POD_NODE}`,
    ]),
  ),
};

// ---- kubernetes-mixin alerts/resource_alerts.libsonnet, group kubernetes-resources.
const THROTTLING = `sum(increase(container_cpu_cfs_throttled_periods_total{container!="", }[5m])) by (container, pod, namespace)
  /
sum(increase(container_cpu_cfs_periods_total{}[5m])) by (container, pod, namespace)
  > ( 25 / 100 )`;

// ---- dockprom "Docker Containers" dashboard: every panel query on cAdvisor's series.
const GROUP = 'container_label_org_label_schema_group=""';
const DASHBOARD: Record<string, string> = {
  'CPU Load': 'sum(rate(container_cpu_user_seconds_total{image!=""}[1m])) / count(node_cpu_seconds_total{mode="user"}) * 100',
  'CPU Cores': 'machine_cpu_cores',
  'Used Memory': 'sum(container_memory_usage_bytes{image!=""})',
  'Used Storage': 'sum(container_fs_usage_bytes)',
  'Running Containers': 'scalar(count(container_memory_usage_bytes{image!=""}) > 0)',
  'Container CPU Usage': `sum by (name) (rate(container_cpu_usage_seconds_total{image!="",${GROUP}}[1m])) / scalar(count(node_cpu_seconds_total{mode="user"})) * 100`,
  'Container Memory Usage': `sum by (name)(container_memory_usage_bytes{image!="",${GROUP}})`,
  'Container Cached Memory Usage': `sum by (name) (container_memory_cache{image!="",${GROUP}})`,
  'Container Network Input': `sum by (name) (rate(container_network_receive_bytes_total{image!="",${GROUP}}[1m]))`,
  'Container Network Output': `sum by (name) (rate(container_network_transmit_bytes_total{image!="",${GROUP}}[1m]))`,
};

function rulesYaml(): string {
  const block = (text: string, indent: string) => text.split('\n').map((l) => indent + l).join('\n');
  return [
    'groups:',
    '  - name: k8s.rules',
    '    rules:',
    ...Object.entries(RECORDING).flatMap(([record, expr]) => [`      - record: ${record}`, '        expr: |', block(expr, '          ')]),
    '  - name: kubernetes-resources',
    '    rules:',
    '      - alert: CPUThrottlingHigh',
    '        expr: |',
    block(THROTTLING, '          '),
    "        for: 15m",
    '        labels: { severity: info }',
    '',
  ].join('\n');
}

/** kube-state-metrics' kube_pod_info for the pod (the stand-in: no API server here). */
function kubeStateMetrics(podIp: string): string {
  return [
    '# HELP kube_pod_info Information about pod.',
    '# TYPE kube_pod_info gauge',
    `kube_pod_info{namespace="${NAMESPACE}",pod="${POD}",uid="${UID}",host_ip="127.0.0.1",pod_ip="${podIp}",node="${NODE}",created_by_kind="StatefulSet",created_by_name="web",priority_class="",host_network="false"} 1`,
    '',
  ].join('\n');
}

type Vector = Array<{ metric: Record<string, string>; value: [number, string] }>;

describe('cAdvisor consumers on the agent: kubernetes-mixin rules and alert, dockprom dashboard', () => {
  let agent: AgentProcess;
  const ids: Record<string, string> = {};
  let podIp = '';
  let dir = '';
  let promPort = 0;
  let prom: ChildProcess | undefined;
  let nodeExporter: ChildProcess | undefined;
  let ksm: Server | undefined;
  let promLog = '';
  let scrapedSinceMs = 0;

  const query = async (q: string): Promise<Vector> => {
    const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as { status: string; data: { resultType: string; result: Vector | [number, string] } };
    if (body.status !== 'success') throw new Error(`${q}: ${JSON.stringify(body)}`);
    // A scalar (the "Running Containers" panel) as one series without labels.
    return body.data.resultType === 'scalar' ? [{ metric: {}, value: body.data.result as [number, string] }] : (body.data.result as Vector);
  };
  const of = (v: Vector, container: string) => v.find((s) => s.metric.container === container || s.metric.name === dockerName(container));

  before(async () => {
    removeTestContainers();
    ids.POD = run(dockerName('POD'), ['--cgroup-parent', PARENT, ...kubeletLabels('POD')], ['sleep', '100000']);
    const inPod = (c: string, args: string[]) => ['--cgroup-parent', PARENT, '--network', `container:${ids.POD}`, ...kubeletLabels(c), ...args];
    ids.loop = run(dockerName('loop'), inPod('loop', ['--cpus', '0.5']), ['sh', '-c', 'while :; do :; done']);
    // Throttled in nearly every period whatever else the host runs: the alert's sure case.
    ids.spin = run(dockerName('spin'), inPod('spin', ['--cpus', '0.1']), ['sh', '-c', 'while :; do :; done']);
    // 32 MiB in a tmpfs: shared memory, charged to the group and never inactive file cache.
    ids.fill = run(dockerName('fill'), inPod('fill', ['-m', '128m', '--tmpfs', '/fill:size=64m']), ['sh', '-c', 'dd if=/dev/zero of=/fill/blob bs=1M count=32 2>/dev/null; exec sleep 100000']);
    ids.web = run(dockerName('web'), inPod('web', []), ['sh', '-c', 'mkdir -p /www && dd if=/dev/zero of=/www/blob bs=1M count=4 2>/dev/null && exec busybox httpd -f -p 8080 -h /www']);
    podIp = docker('inspect', '-f', '{{.NetworkSettings.IPAddress}}', ids.POD);
    assert.match(podIp, /^\d+\.\d+\.\d+\.\d+$/);

    agent = await startAgent(['--quiet']);
    const ksmPort = await freePort();
    ksm = createServer((_, res) => res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(kubeStateMetrics(podIp)));
    await new Promise<void>((r) => ksm!.listen(ksmPort, '127.0.0.1', r));
    const nodePort = await freePort();
    nodeExporter = spawn('prometheus-node-exporter', [`--web.listen-address=127.0.0.1:${nodePort}`], { stdio: 'ignore' });

    dir = mkdtempSync(`${tmpdir()}/cs17b-prometheus-`);
    writeFileSync(`${dir}/rules.yml`, rulesYaml());
    const check = spawnSync('promtool', ['check', 'rules', `${dir}/rules.yml`], { encoding: 'utf8' });
    assert.equal(check.status, 0, `promtool check rules: ${check.stdout}${check.stderr}`);
    const job = (name: string, port: number) => [`  - job_name: ${name}`, '    static_configs:', `      - targets: ['127.0.0.1:${port}']`];
    writeFileSync(
      `${dir}/prometheus.yml`,
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'rule_files: [rules.yml]',
        'scrape_configs:',
        ...job('cadvisor', Number(new URL(agent.url).port)),
        ...job('node-exporter', nodePort),
        ...job('kube-state-metrics', ksmPort),
        '',
      ].join('\n'),
    );
    promPort = await freePort();
    prom = spawn('prometheus', [`--config.file=${dir}/prometheus.yml`, `--storage.tsdb.path=${dir}/data`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    prom.stdout!.on('data', (c) => (promLog += c));
    prom.stderr!.on('data', (c) => (promLog += c));
    await waitFor('Prometheus ready', () => fetch(`http://127.0.0.1:${promPort}/-/ready`).then((r) => r.ok), 30_000, 250);
    await waitFor('all three targets up', async () => {
      const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/targets`);
      const targets = ((await res.json()) as { data: { activeTargets: Array<{ health: string }> } }).data.activeTargets;
      return targets.length === 3 && targets.every((t) => t.health === 'up') ? true : undefined;
    }, 30_000, 250);
    scrapedSinceMs = Date.now();
    // Enough one-second scrapes for rate() and irate(), and the loop's counters well under way.
    await sleep(12_000);
  });
  after(async () => {
    prom?.kill('SIGTERM');
    nodeExporter?.kill('SIGTERM');
    ksm?.close();
    await agent?.stop();
    if (prom && prom.exitCode === null) await new Promise((r) => prom!.once('exit', r));
    removeTestContainers();
    // The pod's cgroup parent Docker made in each hierarchy (the kubepods levels stay if others use them).
    for (const rel of [PARENT, '/kubepods/burstable', '/kubepods']) spawnSync('sh', ['-c', `rmdir /sys/fs/cgroup/*${rel} 2>/dev/null`]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('every mixin recording rule has a series for each of the pod\'s containers, joined to its node', async () => {
    // On failure, say whether the scrapes failed (a 1 s interval leaves a 1 s scrape timeout) or the containers were gone.
    const targets = await fetch(`http://127.0.0.1:${promPort}/api/v1/targets`).then((r) => r.json());
    const running = docker('ps', '--filter', `name=${dockerName('')}`, '--format', '{{.Names}}');
    for (const record of Object.keys(RECORDING)) {
      const v = await query(record);
      if (v.length === 0) assert.fail(`${record}: no series; targets ${JSON.stringify(targets.data.activeTargets.map((t: { labels: { job: string }; health: string; lastError: string }) => [t.labels.job, t.health, t.lastError]))}; pod containers running:\n${running}`);
      for (const c of ['POD', 'loop', 'spin', 'fill', 'web']) {
        const s = of(v, c);
        assert.ok(s, `${record}: no series for container ${c}: ${JSON.stringify(v)}\n${promLog.slice(-2000)}`);
        assert.equal(s.metric.node, NODE, record);
        assert.equal(s.metric.namespace, NAMESPACE, record);
        assert.equal(s.metric.pod, POD, record);
      }
    }
  });

  test('sum_irate of the --cpus 0.5 loop agrees with the agent\'s CPU cores over the same seconds', async () => {
    const [v, h] = await Promise.all([query(SUM_IRATE), agent.get<{ series: { cpu_cores: number[] } }>(`/api/v1/containers/${ids.loop}/history?metrics=cpu_cores&since=4s`)]);
    const cores = Number(of(v, 'loop')!.value[1]);
    const agentCores = mean(h.series.cpu_cores);
    console.log(`consumers: ${SUM_IRATE}{container="loop"} = ${cores.toFixed(3)}; the agent's cpu_cores over the last 4 s ${agentCores.toFixed(3)}`);
    assert.ok(Math.abs(cores - agentCores) < 0.1, `Prometheus ${cores} vs agent ${agentCores}`);
    // At most the quota; less when the shared host starves it (the agreement above is what counts).
    assert.ok(cores > 0.1 && cores <= 0.56, `a --cpus 0.5 loop: ${cores} cores`);
    assert.ok(Number(of(v, 'fill')!.value[1]) < 0.05, 'the sleeping fill container uses next to no CPU');
  });

  test('working set of the 32 MiB fill: the mixin rule, the agent and the known size agree', async () => {
    const [v, h] = await Promise.all([
      query('node_namespace_pod_container:container_memory_working_set_bytes'),
      agent.get<{ series: { memory_working_set_bytes: number[] } }>(`/api/v1/containers/${ids.fill}/history?metrics=memory_working_set_bytes&since=3s`),
    ]);
    const ws = Number(of(v, 'fill')!.value[1]);
    const agentWs = h.series.memory_working_set_bytes[h.series.memory_working_set_bytes.length - 1];
    console.log(`consumers: working set of the fill ${(ws / MiB).toFixed(2)} MiB in Prometheus, ${(agentWs / MiB).toFixed(2)} MiB from the agent`);
    assert.ok(Math.abs(ws - agentWs) <= 256 * 1024, `Prometheus ${ws} vs agent ${agentWs}`);
    assert.ok(ws >= 32 * MiB && ws < 36 * MiB, `${ws} bytes for a 32 MiB fill`);
  });

  test('CPUThrottlingHigh is pending for the --cpus 0.1 spinner, and for exactly the containers throttled in over 25 % of periods', async () => {
    const alerts = await waitFor('the alert pending for the spinner', async () => {
      const v = await query('ALERTS{alertname="CPUThrottlingHigh"}');
      return v.some((a) => a.metric.container === 'spin') ? v : undefined;
    }, 20_000, 500);
    for (const a of alerts) assert.deepEqual([a.metric.pod, a.metric.namespace, a.metric.alertstate], [POD, NAMESPACE, 'pending'], JSON.stringify(a.metric));
    const shares = await query(THROTTLING.replace(/\s*>\s*\( 25 \/ 100 \)$/, ''));
    const spin = Number(of(shares, 'spin')!.value[1]);
    console.log(`consumers: throttled share of periods ${shares.map((s) => `${s.metric.container} ${Number(s.value[1]).toFixed(2)}`).join(', ')}`);
    assert.ok(spin > 0.8 && spin <= 1, `the spinner was throttled in ${spin} of its periods`);
    // The sleeping containers have no quota, hence no periods and no share; the alert's set is the set above 25 %.
    assert.deepEqual(
      alerts.map((a) => a.metric.container).sort(),
      shares.filter((s) => Number(s.value[1]) > 0.25).map((s) => s.metric.container).sort(),
    );
  });

  test('every dockprom panel query returns series; CPU and memory agree with the agent, network with a known 4 MiB download', async () => {
    const before = await query(`container_network_transmit_bytes_total{name="${dockerName('web')}"}`);
    const agentBefore = await agent.get<any>(`/api/v1/containers/${ids.web}`);
    docker('run', '--rm', '--label', 'cstats.test=1', 'busybox:local', 'busybox', 'wget', '-q', '-O', '/dev/null', `http://${podIp}:8080/blob`);
    // Counters settle, the agent samples, Prometheus scrapes.
    await sleep(3500);
    const after = await query(`container_network_transmit_bytes_total{name="${dockerName('web')}"}`);
    const agentAfter = await agent.get<any>(`/api/v1/containers/${ids.web}`);
    const tx = (d: any) => d.sample.network.reduce((sum: number, i: { name: string; txBytes: number }) => sum + (i.name === 'lo' ? 0 : i.txBytes), 0);
    const promSent = Number(after[0].value[1]) - Number(before[0].value[1]);
    const agentSent = tx(agentAfter) - tx(agentBefore);
    console.log(`consumers: the pod sent ${promSent} bytes for a 4 MiB download in Prometheus, ${agentSent} by the agent's counters`);
    assert.ok(promSent >= 4 * MiB && promSent < 4.5 * MiB, `${promSent} bytes sent for 4 MiB of payload`);
    assert.ok(Math.abs(promSent - agentSent) < 2048, `Prometheus ${promSent} vs agent ${agentSent}`);

    for (const [panel, q] of Object.entries(DASHBOARD)) {
      const v = await query(q);
      assert.ok(v.length > 0 && v.every((s) => Number.isFinite(Number(s.value[1]))), `${panel}: ${q} returned ${JSON.stringify(v)}`);
    }
    // The panels' rate(...[1m]) divides by the whole minute: with less of it scraped, it reads low.
    await sleep(Math.max(0, scrapedSinceMs + 65_000 - Date.now()));
    const cpus = Number((await query('count(node_cpu_seconds_total{mode="user"})'))[0].value[1]);
    assert.equal(Number((await query(DASHBOARD['CPU Cores']))[0].value[1]), cpus, 'machine_cpu_cores is the CPU count node_exporter sees');
    const cpuPanel = Number(of(await query(DASHBOARD['Container CPU Usage']), 'loop')!.value[1]);
    // The panel's rate() spans the last minute: the agent's figures over the same minute.
    const h = await agent.get<{ series: { cpu_percent: number[] } }>(`/api/v1/containers/${ids.loop}/history?metrics=cpu_percent&since=60s`);
    // The panel is % of the whole machine; the agent's (docker stats') % is of one CPU.
    const agentMachinePct = mean(h.series.cpu_percent) / cpus;
    console.log(`consumers: dockprom "Container CPU Usage" of the loop ${cpuPanel.toFixed(2)} %, the agent's ${agentMachinePct.toFixed(2)} % of ${cpus} CPUs`);
    assert.ok(Math.abs(cpuPanel - agentMachinePct) < 2, `panel ${cpuPanel} vs agent ${agentMachinePct}`);
    const memPanel = Number(of(await query(DASHBOARD['Container Memory Usage']), 'fill')!.value[1]);
    const fill = await agent.get<any>(`/api/v1/containers/${ids.fill}`);
    assert.ok(Math.abs(memPanel - Number(fill.sample.memory.usageBytes)) <= 256 * 1024, `usage ${memPanel} vs agent ${fill.sample.memory.usageBytes}`);
    const netPanel = of(await query(DASHBOARD['Container Network Output']), 'web');
    assert.ok(netPanel && Number(netPanel.value[1]) > 0, 'the download shows in the output panel');
  });
});
