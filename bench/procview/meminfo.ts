/**
 * Reads per second of /proc/meminfo from inside a container, cstats procfs against LXCFS in the
 * same run and the same container: both files are bind-mounted (LXCFS's over /proc/meminfo,
 * ours at /cstats/meminfo) and one node process inside the container (the host's binary and
 * libraries bound read-only) opens, reads to EOF and closes each in turn, in rounds.
 *
 *   node dist/bench/procview/meminfo.js [seconds-per-round=3] [rounds=3] [readers=1]
 *
 * Needs root, dockerd and busybox:local (scripts/testbed.sh) and Debian's lxcfs.
 */
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { ensureLxcfs, LXCFS_DIR } from '../../tests/integration/procview/lxcfs.js';
import { startProcfs } from '../../src/procview/index.js';

const MOUNTPOINT = '/var/lib/cstats-bench/procfs';
const RUN_DIR = '/run/cstats-bench';
const NAME = 'cstats-bench-procview';

const [seconds = 3, rounds = 3, readers = 1] = process.argv.slice(2).map(Number);

/** Runs inside the container: `readers` processes read one file for `seconds`, print the total. */
const INNER = `
const { openSync, readSync, closeSync } = require('fs');
const { fork } = require('child_process');
const [file, seconds, readers, child] = process.argv.slice(2);
if (child) {
  const buf = Buffer.alloc(65536);
  let n = 0, first = '';
  const end = Date.now() + Number(seconds) * 1000;
  while (Date.now() < end) {
    const fd = openSync(file, 'r');
    let got = readSync(fd, buf, 0, buf.length, 0);
    if (n === 0) first = buf.toString('latin1', 0, got).split('\\n')[0];
    while (got > 0) got = readSync(fd, buf, 0, buf.length, null);
    closeSync(fd);
    n++;
  }
  process.send({ n, first });
} else {
  let total = 0, done = 0, first = '';
  for (let i = 0; i < Number(readers); i++) {
    fork(__filename, [file, seconds, readers, 'child'], { execArgv: [] }).on('message', (m) => {
      total += m.n; first = m.first;
      if (++done === Number(readers)) console.log(JSON.stringify({ reads: total, first }));
    });
  }
}`;

function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

async function main(): Promise<void> {
  await ensureLxcfs();
  const procfs = await startProcfs({ mountpoint: MOUNTPOINT, runDir: RUN_DIR });
  execFileSync('docker', ['rm', '-f', NAME], { stdio: 'ignore' });
  docker('run', '-d', '--name', NAME, '-m', '256m',
    '-v', `${realpathSync(process.execPath)}:/usr/local/bin/node:ro`, '-v', '/lib:/lib:ro', '-v', '/lib64:/lib64:ro', '-v', '/usr/lib:/usr/lib:ro',
    '-v', `${LXCFS_DIR}/proc/meminfo:/proc/meminfo:ro`, '-v', `${MOUNTPOINT}/proc/meminfo:/cstats/meminfo:ro`,
    'busybox:local', 'sleep', '3600');
  docker('exec', NAME, 'sh', '-c', `cat > /tmp/bench.js <<'EOF'\n${INNER}\nEOF`);
  const totals = { lxcfs: 0, cstats: 0 };
  const firsts: Record<string, string> = {};
  try {
    for (let r = 0; r < rounds; r++) {
      for (const [label, file] of [['lxcfs', '/proc/meminfo'], ['cstats', '/cstats/meminfo']] as const) {
        const out = JSON.parse(docker('exec', NAME, 'node', '/tmp/bench.js', file, String(seconds), String(readers))) as { reads: number; first: string };
        totals[label] += out.reads;
        firsts[label] = out.first;
        console.log(`round ${r + 1} ${label.padEnd(6)} ${(out.reads / seconds).toFixed(0).padStart(7)} reads/s  (${out.first.replace(/\s+/g, ' ')})`);
      }
    }
  } finally {
    execFileSync('docker', ['rm', '-f', NAME], { stdio: 'ignore' });
    await procfs.stop();
  }
  const lx = totals.lxcfs / (seconds * rounds);
  const cs = totals.cstats / (seconds * rounds);
  console.log(`\n/proc/meminfo from inside a container, ${readers} reader(s), ${rounds} x ${seconds} s each:`);
  console.log(`  lxcfs  ${lx.toFixed(0).padStart(7)} reads/s`);
  console.log(`  cstats ${cs.toFixed(0).padStart(7)} reads/s   (${(cs / lx).toFixed(2)} x lxcfs)`);
}

await main();
