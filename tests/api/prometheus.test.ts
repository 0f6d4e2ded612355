import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { request } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { LabelRenderer, METRIC_NAMES, MetricsEndpoint, machineLabels, registerPrometheus, renderMetrics, weightToShares } from '../../src/api/prometheus.js';
import { escapeLabelValue, nsToSeconds, renderLabels, sanitizeLabelName, scaledDecimal, usToSeconds } from '../../src/api/prometheus-text.js';
import { Router, startServer } from '../../src/api/http.js';
import { Store } from '../../src/store/store.js';
import { ID_A, ID_B, T, U64_MAX, containerInfo, fixtureCgroup, fixtureStore, hostSample, iface, put, sampleOf } from './support.js';

const A = `container_label_com_example_team="pay\\"ments\\\\eu\\nwest",id="/docker/${ID_A}",image="nginx:1.25",name="web"`;
const B = `id="/docker/${ID_B}",image="busybox:local",name="big"`;

function render(store: Store, allow: string[] = ['com.example.team']): string {
  return renderMetrics(store, new LabelRenderer(allow)).body.toString();
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

describe('exposition primitives', () => {
  it('scales ns and µs to exact decimal seconds', () => {
    assert.equal(nsToSeconds(0n), '0');
    assert.equal(nsToSeconds(1n), '0.000000001');
    assert.equal(nsToSeconds(1_000_000_000n), '1');
    assert.equal(nsToSeconds(1_629_238_032n), '1.629238032');
    assert.equal(nsToSeconds(1_500_000_000n), '1.5');
    // 2^64-1 ns: a float64 would print 18446744073.709553.
    assert.equal(nsToSeconds(U64_MAX), '18446744073.709551615');
    assert.equal(usToSeconds(U64_MAX), '18446744073709.551615');
    assert.equal(scaledDecimal(123n, 0), '123');
  });

  it('escapes label values: backslash, double quote, line feed, nothing else', () => {
    assert.equal(escapeLabelValue('plain/value:1.0'), 'plain/value:1.0');
    assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
    assert.equal(escapeLabelValue('tab\there ü'), 'tab\there ü');
  });

  it('sanitizes label names as cAdvisor and leaves empty values out', () => {
    assert.equal(sanitizeLabelName('com.docker.compose/project-name'), 'com_docker_compose_project_name');
    assert.equal(renderLabels([['a', ''], ['b', 'x'], ['c', '']]), 'b="x"');
  });

  it('converts cgroup v2 cpu.weight to shares as cAdvisor does', () => {
    assert.equal(weightToShares(1n), 2n);
    assert.equal(weightToShares(100n), 2597n);
    assert.equal(weightToShares(10000n), 262144n);
  });
});

describe('renderMetrics', () => {
  const text = render(fixtureStore());
  const all = lines(text);

  it('writes the fixture cgroup (kernel 6.18, v1) in cAdvisor names and units, exactly', () => {
    for (const expected of [
      `container_cpu_usage_seconds_total{${A},cpu="total"} 1.779436977`,
      `container_cpu_user_seconds_total{${A}} 1.28`,
      `container_cpu_system_seconds_total{${A}} 0.49`,
      `container_cpu_cfs_periods_total{${A}} 36`,
      `container_cpu_cfs_throttled_periods_total{${A}} 35`,
      `container_cpu_cfs_throttled_seconds_total{${A}} 1.629238032`,
      `container_spec_cpu_period{${A}} 100000`,
      `container_spec_cpu_quota{${A}} 50000`,
      `container_spec_cpu_shares{${A}} 512`,
      `container_memory_usage_bytes{${A}} 253952`,
      // usage − total_inactive_file
      `container_memory_working_set_bytes{${A}} 245760`,
      `container_memory_cache{${A}} 8192`,
      `container_memory_rss{${A}} 0`,
      `container_memory_max_usage_bytes{${A}} 67108864`,
      `container_memory_failcnt{${A}} 151`,
      `container_memory_file_dirty_bytes{${A}} 8192`,
      `container_memory_workingset_refault_file_total{${A}} 40`,
      `container_memory_failures_total{${A},failure_type="pgfault",scope="container"} 10074`,
      `container_memory_failures_total{${A},failure_type="pgmajfault",scope="hierarchy"} 2`,
      `container_oom_events_total{${A}} 1`,
      `container_spec_memory_limit_bytes{${A}} 67108864`,
      `container_spec_memory_swap_limit_bytes{${A}} 134217728`,
      `container_fs_reads_bytes_total{${A},device="/dev/vda"} 8552448`,
      `container_fs_writes_bytes_total{${A},device="/dev/vda"} 8388608`,
      `container_fs_reads_total{${A},device="/dev/vda"} 55`,
      `container_fs_writes_total{${A},device="/dev/vda"} 8`,
      `container_blkio_device_usage_total{${A},device="/dev/vda",major="254",minor="0",operation="Read"} 8552448`,
      `container_fs_limit_bytes{${A},device="/dev/vda1"} 21003583488`,
      `container_threads{${A}} 0`,
      `container_threads_max{${A}} 100`,
      `container_network_receive_bytes_total{${A},interface="eth0"} 1000`,
      `container_network_transmit_errors_total{${A},interface="eth0"} 1006`,
      `container_creation_time_seconds{${A}} 1700000000`,
      `container_start_time_seconds{${A}} 1700000001`,
      `container_last_seen{${A}} 1700000100`,
      'machine_cpu_cores 2',
      'machine_memory_bytes 8323743744',
    ]) {
      assert.ok(all.includes(expected), `missing line: ${expected}`);
    }
  });

  it('renders counters past 2^53 with every digit', () => {
    assert.ok(all.includes(`container_cpu_usage_seconds_total{${B},cpu="total"} 18446744073.709551615`));
    assert.ok(all.includes(`container_cpu_user_seconds_total{${B}} 9007199.254740993`));
    assert.ok(all.includes(`container_network_receive_bytes_total{${B},interface="eth0"} 18446744073709551608`));
    assert.ok(all.includes(`container_network_transmit_packets_dropped_total{${B},interface="eth0"} 18446744073709551615`));
  });

  it('follows cAdvisor: no loopback interface, no volume filesystems, no CFS series without a quota, no stopped containers', () => {
    assert.ok(!text.includes('interface="lo"'));
    assert.ok(!text.includes('/dev/vdb'));
    assert.ok(!all.some((l) => l.startsWith('container_cpu_cfs_periods_total{') && l.includes(ID_B)));
    assert.ok(!text.includes('name="gone"'));
  });

  it('writes each family once: HELP and TYPE, then its series, families in name order', () => {
    const families: string[] = [];
    let current = '';
    for (const l of all) {
      if (l.startsWith('# HELP ')) {
        current = l.split(' ')[2];
        families.push(current);
        continue;
      }
      if (l.startsWith('# TYPE ')) {
        assert.match(l, new RegExp(`^# TYPE ${current} (counter|gauge|untyped)$`));
        continue;
      }
      assert.equal(l.split(/[{ ]/)[0], current, `series outside its family: ${l}`);
    }
    assert.deepEqual(families, [...new Set(families)].sort());
    assert.ok(families.every((f) => METRIC_NAMES.includes(f)));
    // Counters end in _total, except cAdvisor's failcnt, which is therefore untyped.
    assert.ok(all.filter((l) => l.startsWith('# TYPE ') && l.endsWith(' counter')).every((l) => l.split(' ')[2].endsWith('_total')));
  });

  it('carries no sample timestamps', () => {
    for (const l of all.filter((x) => !x.startsWith('#'))) {
      const tail = l.includes('}') ? l.slice(l.lastIndexOf('}') + 1) : l.slice(l.indexOf(' '));
      assert.match(tail, /^ \S+$/, l);
    }
  });

  it('exports container labels only through the allowlist', () => {
    const none = render(fixtureStore(), []);
    assert.ok(!none.includes('container_label_'));
    assert.ok(!text.includes('do-not-export'));
    const both = render(fixtureStore(), ['secret', 'com.example.team']);
    assert.ok(both.includes('container_label_secret="do-not-export"'));
  });

  it('adds pod, namespace and container for Kubernetes containers, sorted with the other labels', () => {
    const store = new Store(10, 60_000);
    const info = containerInfo(ID_A, 'k8s_app_web-0_shop_uid_0', {
      pod: { name: 'web-0', namespace: 'shop', uid: 'uid', container: 'app', sandbox: false },
    });
    put(store, info, sampleOf({ memory: { usageBytes: 42n } }, T));
    const out = render(store, []);
    assert.ok(
      out.includes(`container_memory_usage_bytes{container="app",id="/docker/${ID_A}",image="busybox:local",name="k8s_app_web-0_shop_uid_0",namespace="shop",pod="web-0"} 42`),
      out,
    );
  });

  it('writes an empty exposition before the first tick', () => {
    assert.equal(render(new Store(10, 60_000)), '');
  });
});

describe('layer usage, processes and the machine identity', () => {
  const identity = { machineId: '3d1219c7c4c5404aaa1f6d2a48adfda4', systemUuid: '', bootId: '142d2da4-8efb-4f99-bc32-a1bce85c5067' };
  const rootfs = { mountpoint: '/var/lib/docker/overlay2/x/diff', device: '/dev/vda', fsType: 'ext4', role: 'rootfs' as const, totalBytes: 270_553_174_016n, freeBytes: 1n, availableBytes: 1n, usedBytes: 1n, inodes: 1n, inodesFree: 1n };
  const cgroupDir = mkdtempSync(`${tmpdir()}/cstats-prom-cg-`);
  mkdirSync(`${cgroupDir}/child`);
  writeFileSync(`${cgroupDir}/cgroup.procs`, '16664\n16692\n');
  writeFileSync(`${cgroupDir}/child/cgroup.procs`, '16693\n');
  after(() => rmSync(cgroupDir, { recursive: true, force: true }));

  /** A: a walked layer (8 MiB + 8 KiB, 20 KiB more with its log) and a cgroup of 3 processes; B: neither. */
  function store(): Store {
    const s = new Store(10, 60_000);
    const layerUsage = { baseBytes: 8_396_800n, totalBytes: 8_417_280n, inodes: 2n, measuredMs: T };
    // Tasks in the samples: more than one, so cgroup.procs is read.
    const cgroup = { ...fixtureCgroup(), pids: { current: 4n, limit: 100n } };
    put(s, containerInfo(ID_A, 'web', { cgroup: { version: 2, path: `/docker/${ID_A}`, dir: cgroupDir } }), sampleOf(cgroup, T, { filesystems: [rootfs], layerUsage }));
    put(s, containerInfo(ID_B, 'big', { cgroup: { version: 2, path: `/docker/${ID_B}`, dir: `${cgroupDir}/gone` } }), sampleOf(cgroup, T, { filesystems: [rootfs] }));
    s.recordHost(hostSample(T));
    return s;
  }
  const a = `id="/docker/${ID_A}",image="busybox:local",name="web"`;
  const b = `id="/docker/${ID_B}",image="busybox:local",name="big"`;

  it('container_fs_usage_bytes and the inodes: cAdvisor\'s total usage and the layer\'s inode count on its device, only once walked', () => {
    const out = lines(render(store(), []));
    assert.ok(out.includes(`container_fs_usage_bytes{${a},device="/dev/vda"} 8417280`));
    assert.ok(out.includes('# TYPE container_fs_usage_bytes gauge'));
    // The inodes the walk counted, not the filesystem's (1 here); cAdvisor never sets the free count.
    assert.ok(out.includes(`container_fs_inodes_total{${a},device="/dev/vda"} 2`));
    assert.ok(out.includes('# TYPE container_fs_inodes_total untyped'));
    assert.ok(out.includes(`container_fs_inodes_free{${a},device="/dev/vda"} 0`));
    for (const name of ['container_fs_usage_bytes', 'container_fs_inodes_total', 'container_fs_inodes_free']) assert.ok(!out.some((l) => l.startsWith(`${name}{${b}`)), name);
  });

  it('container_processes from the counts of the render; machine series with cAdvisor\'s identity labels', () => {
    const out = lines(renderMetrics(store(), new LabelRenderer([]), undefined, { processes: new Map([[ID_A, 3n]]), machine: machineLabels(identity), hardware: { numPhysicalCores: 4, numSockets: 2 } }).body.toString());
    assert.ok(out.includes(`container_processes{${a}} 3`));
    assert.ok(!out.some((l) => l.startsWith(`container_processes{${b}`)));
    // The empty system_uuid is left out, which Prometheus reads as the empty value cAdvisor writes.
    assert.ok(out.includes('machine_cpu_cores{boot_id="142d2da4-8efb-4f99-bc32-a1bce85c5067",machine_id="3d1219c7c4c5404aaa1f6d2a48adfda4"} 2'));
    assert.ok(out.includes('machine_memory_bytes{boot_id="142d2da4-8efb-4f99-bc32-a1bce85c5067",machine_id="3d1219c7c4c5404aaa1f6d2a48adfda4"} 8323743744'));
    assert.ok(out.includes('machine_cpu_physical_cores{boot_id="142d2da4-8efb-4f99-bc32-a1bce85c5067",machine_id="3d1219c7c4c5404aaa1f6d2a48adfda4"} 4'));
    assert.ok(out.includes('machine_cpu_sockets{boot_id="142d2da4-8efb-4f99-bc32-a1bce85c5067",machine_id="3d1219c7c4c5404aaa1f6d2a48adfda4"} 2'));
    assert.equal(machineLabels({ machineId: 'm', systemUuid: 'u', bootId: 'b' }).toString(), 'boot_id="b",machine_id="m",system_uuid="u"');
  });

  it('physical cores and sockets the host does not tell: their families are left out, not 0', () => {
    const out = lines(renderMetrics(store(), new LabelRenderer([]), undefined, { machine: machineLabels(identity), hardware: { numPhysicalCores: undefined, numSockets: undefined } }).body.toString());
    assert.ok(out.some((l) => l.startsWith('machine_cpu_cores{')));
    assert.ok(!out.some((l) => l.includes('machine_cpu_physical_cores') || l.includes('machine_cpu_sockets')), out.filter((l) => l.startsWith('machine_')).join('\n'));
  });

  it('the endpoint reads each container\'s cgroup.procs tree for the render', async () => {
    const endpoint = new MetricsEndpoint(store(), { labelAllowlist: [], machine: identity });
    const out = lines((await endpoint.current()).body.toString());
    assert.ok(out.includes(`container_processes{${a}} 3`), out.filter((l) => l.startsWith('container_processes')).join('\n'));
    assert.ok(!out.some((l) => l.startsWith(`container_processes{${b}`)), 'a cgroup that is gone: no series');
    assert.ok(out.some((l) => l.startsWith('machine_cpu_cores{boot_id="142d2da4')));
  });
});

describe('MetricsEndpoint', () => {
  it('renders once per tick, however many scrapes wait for it', async () => {
    const store = fixtureStore();
    const endpoint = new MetricsEndpoint(store, { labelAllowlist: [] });
    const [first, same] = await Promise.all([endpoint.current(), endpoint.current()]);
    assert.equal(same, first);
    assert.equal(await endpoint.current(), first);
    store.recordHost(hostSample(T + 1000));
    assert.notEqual(await endpoint.current(), first);
  });

  it('never rewrites a body that a slow client is still being sent', async () => {
    // Large enough that most of the body waits in the process, past the kernel's socket buffers.
    const store = new Store(4, 60_000);
    for (let i = 0; i < 4000; i++) {
      const id = i.toString(16).padStart(64, '0');
      put(store, containerInfo(id, `c${i}`), sampleOf({ cpu: { usageNs: BigInt(i) }, memory: { usageBytes: BigInt(i) } }, T, { network: [iface('eth0', BigInt(i))] }));
    }
    store.recordHost(hostSample(T));
    const router = new Router();
    registerPrometheus(router, store, { labelAllowlist: [] });
    const server = await startServer(router, '127.0.0.1:0');
    const port = (server.address() as AddressInfo).port;
    const fetchBody = async () => Buffer.from(await (await fetch(`http://127.0.0.1:${port}/metrics`)).arrayBuffer());
    try {
      const expected = await fetchBody();
      assert.ok(expected.length > 8 << 20, `body of ${expected.length} bytes`);
      const slow = connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      slow.on('data', (c: Buffer) => chunks.push(c));
      slow.pause();
      slow.write('GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      await new Promise((r) => setTimeout(r, 300));
      // Ticks in which every line moves (a container leaves), each rendered by another scrape.
      for (let k = 0; k < 4; k++) {
        store.markRemoved(k.toString(16).padStart(64, '0'), T);
        store.recordHost(hostSample(T + 1000 * (k + 1)));
        const b = await fetchBody();
        assert.ok(!b.includes(`name="c${k}"`));
      }
      const done = new Promise((r) => slow.once('end', r));
      slow.resume();
      await done;
      const response = Buffer.concat(chunks);
      const body = response.subarray(response.indexOf('\r\n\r\n') + 4);
      assert.equal(body.length, expected.length);
      assert.ok(body.equals(expected), 'the slow client got the body of its tick, intact');
    } finally {
      server.close();
    }
  });

  it('serves text/plain version 0.0.4, gzip when asked, and the same body either way', async () => {
    const store = fixtureStore();
    const router = new Router();
    const machine = { machineId: 'm', systemUuid: 'u', bootId: 'b' };
    const hardware = { numPhysicalCores: 4, numSockets: 2 };
    registerPrometheus(router, store, { labelAllowlist: ['com.example.team'], machine, hardware });
    const server = await startServer(router, '127.0.0.1:0');
    const port = (server.address() as AddressInfo).port;
    const get = (headers: Record<string, string>) =>
      new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
        request({ port, path: '/metrics', headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
        })
          .on('error', reject)
          .end();
      });
    try {
      const plain = await get({});
      assert.equal(plain.status, 200);
      assert.equal(plain.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
      assert.equal(plain.headers['content-encoding'], undefined);
      // The fixture cgroup has no task: no process, counted without a read; B has no pids figures.
      const processes = new Map([[ID_A, 0n]]);
      assert.equal(plain.body.toString(), renderMetrics(store, new LabelRenderer(['com.example.team']), undefined, { processes, machine: machineLabels(machine), hardware }).body.toString());
      const gz = await get({ 'Accept-Encoding': 'deflate, gzip;q=0.8' });
      assert.equal(gz.headers['content-encoding'], 'gzip');
      assert.equal(Number(gz.headers['content-length']), gz.body.length);
      assert.ok(gz.body.length < plain.body.length / 4, `gzip ${gz.body.length} of ${plain.body.length}`);
      assert.equal(gunzipSync(gz.body).toString(), plain.body.toString());
      const refused = await get({ 'Accept-Encoding': 'gzip;q=0, identity' });
      assert.equal(refused.headers['content-encoding'], undefined);
    } finally {
      server.close();
    }
  });
});
