/**
 * The engine's series are /metrics' series: every container series of the exposition rendered
 * from a store appears in the engine's series store with the same name, labels and value (label
 * values needing escapes included), and derived cstats_* gauges carry the container's labels.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureStore, ID_A } from '../api/support.js';
import { LabelRenderer, renderMetrics } from '../../src/api/prometheus.js';
import { SeriesDB, labelsKey } from '../../src/alarms/promql/series.js';
import { Ingest } from '../../src/alarms/ingest.js';
import { parsePromQL } from '../../src/alarms/promql/parser.js';

test('ingest: the cAdvisor series of /metrics, same labels and values; cstats_* with container labels', () => {
  const store = fixtureStore();
  const allow = ['com.example.team'];
  const body = renderMetrics(store, new LabelRenderer(allow)).body.toString('utf8');
  const db = new SeriesDB();
  const ingest = new Ingest(db, allow);
  ingest.want(new Set([undefined]));
  ingest.tick(store, Date.now());
  let compared = 0;
  for (const line of body.split('\n')) {
    if (!line.startsWith('container_') || line.startsWith('container_processes')) continue;
    // The exposition line, read back with the engine's own selector parser.
    const m = /^(.*) (\S+)$/.exec(line)!;
    const sel = parsePromQL(m[1]);
    assert.equal(sel.kind, 'selector');
    if (sel.kind !== 'selector') continue;
    const labels: Record<string, string> = { __name__: sel.name! };
    for (const x of sel.matchers) labels[x.name] = x.value;
    const found = [...db.all()].find((s) => s.key === labelsKey(labels));
    assert.ok(found, `missing in the engine: ${line}`);
    assert.equal(found!.vs[found!.end - 1], Number(m[2]), line);
    compared++;
  }
  assert.ok(compared > 50, `compared ${compared} series`);
  const sel = parsePromQL('cstats_memory_usage_bytes{name="web"}');
  assert.equal(sel.kind, 'selector');
  const web = sel.kind === 'selector' ? db.select(sel.name, sel.matchers) : [];
  assert.equal(web.length, 1);
  assert.equal(web[0].labels.container_label_com_example_team, 'pay"ments\\eu\nwest');
  assert.equal(web[0].labels.id, store.get(ID_A)!.info.cgroup.path);
  assert.equal(web[0].vs[web[0].end - 1], store.get(ID_A)!.derived!.memoryUsageBytes);
});
