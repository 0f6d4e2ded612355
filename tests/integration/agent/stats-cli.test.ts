/**
 * `cstats stats` against the real `docker stats`: same table layout, same containers, same
 * figures where they do not move (idle containers), same JSON keys, --all and arguments.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { docker, IMAGE, parseSize, removeTestContainers, run, sleep, startAgent, waitFor, type AgentProcess } from '../support.js';

function cstats(agent: AgentProcess, ...args: string[]): string {
  return execFileSync(process.execPath, ['bin/cstats.js', 'stats', '--url', agent.url, ...args], { encoding: 'utf8' });
}

/** Splits a table into rows of columns (columns are separated by 3+ spaces, as docker pads). */
function cells(table: string): string[][] {
  return table
    .trimEnd()
    .split('\n')
    .map((l) => l.split(/ {3,}/));
}

describe('cstats stats vs docker stats', () => {
  let agent: AgentProcess;
  before(async () => {
    removeTestContainers();
    run('cstats-t-idle1', ['-m', '32m'], ['sleep', '100000']);
    run('cstats-t-idle2', [], ['sleep', '100000']);
    docker('create', '--name', 'cstats-t-stopped', '--label', 'cstats.test=1', IMAGE, 'sleep', '1');
    agent = await startAgent(['--quiet']);
    await waitFor('containers sampled twice', async () => {
      const list = await agent.get<Array<{ name: string; derived?: { rates: object } }>>('/api/v1/containers');
      return list.filter((c) => c.name.startsWith('cstats-t-idle') && c.derived && Object.keys(c.derived.rates).length > 0).length === 2 || undefined;
    });
    // Let the containers' network settle (IPv6 router solicitations right after start).
    await sleep(2500);
  });
  after(async () => {
    await agent?.stop();
    removeTestContainers();
  });

  test('--no-stream with names: same layout and the same figures for idle containers', () => {
    const names = ['cstats-t-idle1', 'cstats-t-idle2', 'cstats-t-stopped'];
    const theirs = docker('stats', '--no-stream', ...names) + '\n';
    const ours = cstats(agent, '--no-stream', ...names);
    const [th, ...trows] = cells(theirs);
    const [oh, ...orows] = cells(ours);
    assert.deepEqual(oh, th, 'header');
    assert.equal(orows.length, trows.length);
    for (let i = 0; i < trows.length; i++) {
      const [tid, tname, tcpu, tmem, tmemp, tnet, tblk, tpids] = trows[i];
      const [oid, oname, ocpu, omem, omemp, onet, oblk, opids] = orows[i];
      assert.equal(oid, tid);
      assert.equal(oname, tname);
      assert.equal(ocpu, tcpu, `${tname} CPU`);
      // Memory of an idle container moves by a page now and then: the limit must match exactly.
      assert.equal(omem.split(' / ')[1], tmem.split(' / ')[1], `${tname} limit`);
      assert.ok(Math.abs(parseFloat(omemp) - parseFloat(tmemp)) < 0.5, `${tname} MEM %`);
      // Broadcasts on the bridge (other containers' ARP) can land between the two reads; the
      // exact network agreement is proven in docker.test.ts.
      const bytes = (io: string) => io.split(' / ').map(parseSize);
      bytes(onet).forEach((v, j) => assert.ok(Math.abs(v - bytes(tnet)[j]) <= 1000, `${tname} NET I/O ${onet} vs ${tnet}`));
      assert.equal(oblk, tblk, `${tname} BLOCK I/O`);
      assert.equal(opids, tpids, `${tname} PIDS`);
    }
    // Columns are padded exactly as docker's tabwriter pads them.
    const widths = (t: string) => t.split('\n')[0].match(/\S+(?: \S+)*\s*/g)!.map((c) => c.length);
    assert.deepEqual(widths(ours), widths(theirs));
  });

  test('--format json: the same keys and identity fields as docker', () => {
    const theirs = docker('stats', '--no-stream', '--format', 'json', 'cstats-t-idle1');
    const ours = cstats(agent, '--no-stream', '--format', 'json', 'cstats-t-idle1').trim();
    const t = JSON.parse(theirs);
    const o = JSON.parse(ours);
    assert.deepEqual(Object.keys(o), Object.keys(t));
    for (const k of ['ID', 'Name', 'Container', 'PIDs', 'NetIO', 'BlockIO']) assert.equal(o[k], t[k], k);
    assert.equal(o.MemUsage.split(' / ')[1], '32MiB');
  });

  test('without arguments: running containers only; --all adds stopped ones', () => {
    const running = cstats(agent, '--no-stream');
    assert.match(running, /cstats-t-idle1/);
    assert.doesNotMatch(running, /cstats-t-stopped/);
    const all = cstats(agent, '--no-stream', '-a');
    const stoppedRow = all.split('\n').find((l) => l.includes('cstats-t-stopped'))!;
    const theirs = docker('stats', '--no-stream', '-a').split('\n').find((l) => l.includes('cstats-t-stopped'))!;
    // Cell by cell: the padding depends on every row, and the agent also lists other runtimes'
    // containers (the padding itself is compared above, on named containers).
    const cells = (row: string): string[] => row.trim().split(/\s{2,}/);
    assert.deepEqual(cells(stoppedRow), cells(theirs));
  });

  test('unknown container: docker\'s error text and a non-zero exit', () => {
    assert.throws(() => execFileSync(process.execPath, ['bin/cstats.js', 'stats', '--url', agent.url, '--no-stream', 'cstats-t-nope'], { stdio: 'pipe' }), (err: { status: number; stderr: Buffer }) => {
      assert.equal(err.status, 1);
      assert.match(err.stderr.toString(), /No such container: cstats-t-nope/);
      return true;
    });
  });

  test('an agent that is not there: a clear error', () => {
    assert.throws(() => execFileSync(process.execPath, ['bin/cstats.js', 'stats', '--url', 'http://127.0.0.1:1', '--no-stream'], { stdio: 'pipe' }), (err: { stderr: Buffer }) => /cannot reach the cstats agent at http:\/\/127\.0\.0\.1:1/.test(err.stderr.toString()));
  });
});
