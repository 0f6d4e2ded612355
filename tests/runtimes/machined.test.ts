/**
 * systemd-machined's machine files, as systemd 252 writes them to /run/systemd/machines, in a
 * directory of the test's own (no machined runs on the test machines), with a real process as
 * the leader: its cgroup is found from /proc/<pid>/cgroup as for any runtime.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { MachinedDiscoverer, parseMachineFile } from '../../src/runtimes/machined.js';
import { idFromPath } from '../../src/runtimes/classify.js';
import { locationFromPid, readHostLayout } from '../../src/runtimes/layout.js';
import { createLogger } from '../../src/log.js';

const dir = mkdtempSync(`${tmpdir()}/cs15-machines-`);
const leader = spawn('sleep', ['600'], { stdio: 'ignore' });
after(() => {
  leader.kill();
  rmSync(dir, { recursive: true, force: true });
});

const file = (name: string, cls: string, pid: number) =>
  `# This is private data. Do not parse.\nNAME=${name}\nSCOPE=machine-${name}.scope\nSERVICE=nspawn\nROOT=/var/lib/machines/${name}\nID=a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5\nLEADER=${pid}\nCLASS=${cls}\nREALTIME=1796400000123456\nMONOTONIC=12345678\nNETIF=7\n`;

test('machine files: KEY=VALUE, comments skipped', () => {
  const f = parseMachineFile(file('web', 'container', 42));
  assert.equal(f.get('NAME'), 'web');
  assert.equal(f.get('LEADER'), '42');
  assert.equal(f.has('# This is private data. Do not parse.'), false);
});

test('containers by machine name, with the leader\'s cgroup; VMs and machines whose leader is gone are not', async () => {
  const layout = readHostLayout();
  const locate = (pid: number) => locationFromPid(layout, pid);
  writeFileSync(`${dir}/web`, file('web', 'container', leader.pid!));
  writeFileSync(`${dir}/vm1`, file('vm1', 'vm', leader.pid!));
  writeFileSync(`${dir}/gone`, file('gone', 'container', 2 ** 22 + 1));
  symlinkSync('web', `${dir}/unit:machine-web.scope`);
  const d = new MachinedDiscoverer(locate, createLogger(() => {}), dir);
  let changes = 0;
  d.onChange = () => changes++;
  await d.start();
  try {
    const list = d.containers();
    assert.deepEqual(list.map((c) => c.name), ['web']);
    const web = list[0];
    const cgroup = locate(leader.pid!)!;
    assert.deepEqual(web.cgroup, cgroup);
    assert.equal(web.id, idFromPath(cgroup.path));
    assert.equal(web.runtime, 'nspawn');
    assert.equal(web.pid, leader.pid);
    assert.equal(web.image, '/var/lib/machines/web');
    assert.equal(web.createdMs, 1796400000123);
    assert.deepEqual(d.health().up, true);

    // A machine registered later is seen from inotify, well before the periodic reload.
    const before = changes;
    writeFileSync(`${dir}/db`, file('db', 'container', leader.pid!));
    const t0 = Date.now();
    while (changes === before && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(d.containers().map((c) => c.name).sort(), ['db', 'web']);
  } finally {
    d.stop();
  }
});

test('no machined: no machines, and nothing wrong', async () => {
  const d = new MachinedDiscoverer(() => undefined, createLogger(() => {}), `${dir}/absent`);
  await d.start();
  d.stop();
  assert.deepEqual(d.containers(), []);
  assert.equal(d.health().up, true);
  assert.match(d.health().detail, /not running/);
});
