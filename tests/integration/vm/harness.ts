/**
 * Runs a shell command inside a real cgroup v2 kernel. QEMU (TCG: software emulation, no KVM
 * needed) boots the newest /boot/vmlinuz-*-cloud-amd64 with an initramfs holding static busybox,
 * node and the compiled project (scripts/vm/build-initramfs.sh; its /init is scripts/vm/init).
 *
 *   import { runInVm } from '../vm/harness.js';       // from a test in tests/integration/<x>/
 *   const r = await runInVm({ command: 'node dist/tests/integration/x/probe.js' });
 *   assert.equal(r.exitCode, 0, r.output);
 *
 * Inside the VM: `command` is a script for busybox `sh`, run as root with cwd /cstats (dist/ and
 * package.json of this tree), PATH=/bin (busybox applets and node), HOME=/root, stdin /dev/null.
 * cgroup2 is mounted on /sys/fs/cgroup with +cpuset +cpu +io +memory +pids in the root's
 * cgroup.subtree_control; /tmp is a tmpfs; lo is up; `cpus` vCPUs (default 2, so per-CPU
 * figures are visible). stdout and stderr come back merged and byte-exact in `output`: they
 * travel on a second serial port that carries nothing else, while kernel messages (OOM kills,
 * warnings) go to the console, returned as `console`. The resolved `exitCode` is the command's
 * (128+N when killed by signal N); the promise rejects, with the whole console log, when the VM
 * cannot start, times out or ends without the result markers. Every run boots a fresh VM.
 *
 * Needs `npm run build` first: the image holds dist/ as it is. It is rebuilt when dist/,
 * package.json, scripts/vm/ or node change, and cached in $TMPDIR/cstats-vm/ (reused across
 * calls and processes). Host packages: qemu-system-x86 linux-image-cloud-amd64 busybox-static
 * cpio binutils runc (the image holds runc too, for agent-v2.test.ts's container).
 *
 * By hand, for a shell in the VM (Ctrl-A X quits):
 *   scripts/vm/build-initramfs.sh /tmp/vm.cpio.gz && qemu-system-x86_64 -accel tcg -cpu max \
 *     -m 2048 -smp 2 -nographic -no-reboot -kernel /boot/vmlinuz-<newest>-cloud-amd64 \
 *     -initrd /tmp/vm.cpio.gz -append 'console=ttyS0 quiet'
 *
 * Measured on the 2-core development host (TCG, -smp 2): image 39 MB (gzip -1 of 94 MB, of which
 * node is 86 MB stripped), built in about 4 s; runc (8.8 MB, with libseccomp) made it 45 MB. Host idle: a run of `node -e 0; node -e 0` takes
 * 5.4 s end to end, boot to the command about 3.5 s, node starts in 0.8 s the first time (its
 * pages are touched for the first time) and 0.3 s after. Host loaded (load average 4 to 7):
 * boot 6 to 13 s, first node start 1.2 to 2.1 s. CFS quotas hold under TCG: a busy loop under
 * cpu.max "50000 100000" measured 49.9 to 51.1% of wall time (smoke.test.ts).
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  accessSync,
  appendFileSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export interface VmOptions {
  /** Script for busybox sh, run in /cstats. */
  command: string;
  /** Whole run, boot included. Default 120 000. */
  timeoutMs?: number;
  /** Guest RAM. Default 2048. */
  memoryMiB?: number;
  /** vCPUs. Default 2. */
  cpus?: number;
}

export interface VmResult {
  /** stdout and stderr of the command, merged, exactly as written. */
  output: string;
  exitCode: number;
  /** From starting QEMU to the command starting. */
  bootMs: number;
  /** The serial console: firmware, kernel messages, /init's own lines. */
  console: string;
}

/** The project root, seen from dist/tests/integration/vm/harness.js. */
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const BUILD_SCRIPT = join(ROOT, 'scripts/vm/build-initramfs.sh');
const CACHE_DIR = join(tmpdir(), 'cstats-vm');
/** Cached images of other trees unused for this long are deleted. */
const CACHE_MAX_AGE_MS = 3_600_000;
const QEMU = 'qemu-system-x86_64';

/** A run that failed: its message holds everything; the parts are kept apart for a caller that prints less. */
export class VmRunError extends Error {
  constructor(
    readonly why: string,
    /** The serial console, as VmResult.console. */
    readonly console: string,
    /** What the command wrote before the run ended, as far as it got. */
    readonly output: string,
  ) {
    super(`${why}\n--- console ---\n${console}\n--- command output (ttyS1) ---\n${output}`);
    this.name = 'VmRunError';
  }
}

const images = new Map<string, Promise<string>>();

export async function runInVm(opts: VmOptions): Promise<VmResult> {
  const timeoutMs = positiveInt(opts.timeoutMs ?? 120_000, 'timeoutMs');
  const memoryMiB = positiveInt(opts.memoryMiB ?? 2048, 'memoryMiB');
  const cpus = positiveInt(opts.cpus ?? 2, 'cpus');
  const qemu = findQemu();
  const kernel = newestKernel();
  const image = await initramfs();

  const runDir = mkdtempSync(join(tmpdir(), 'cstats-vm-run-'));
  try {
    const id = randomBytes(8).toString('hex');
    const initrd = join(runDir, 'initrd');
    const resultFile = join(runDir, 'result');
    copyFileSync(image, initrd);
    // The kernel unpacks concatenated archives in order; an uncompressed one must start on a
    // 4-byte boundary, and NUL bytes between archives are skipped.
    appendFileSync(initrd, Buffer.alloc((4 - (statSync(initrd).size % 4)) % 4));
    appendFileSync(
      initrd,
      newcArchive([
        { name: 'cstats-vm', mode: 0o40755 },
        { name: 'cstats-vm/command', mode: 0o100644, data: Buffer.from(opts.command) },
        { name: 'cstats-vm/id', mode: 0o100644, data: Buffer.from(id) },
      ]),
    );
    // -nodefaults (no NIC option ROM, no VGA), -cpu max and mitigations=off each take about a
    // second off a run under TCG.
    const args = [
      '-accel', 'tcg', '-cpu', 'max', '-m', String(memoryMiB), '-smp', String(cpus),
      '-nodefaults', '-nographic', '-no-reboot', '-monitor', 'none',
      '-serial', 'stdio', '-serial', `file:${resultFile}`,
      '-kernel', kernel, '-initrd', initrd,
      '-append', 'console=ttyS0 quiet panic=-1 mitigations=off',
    ];
    const { log, bootMs, timedOut } = await boot(qemu, args, `CSTATS-VM-RUN ${id}`, timeoutMs);
    const result = existsSync(resultFile) ? readFileSync(resultFile, 'utf8') : '';
    const fail = (why: string): Error => new VmRunError(why, log, result);
    if (timedOut) throw fail(`VM run timed out after ${timeoutMs} ms`);
    const parsed = parseResult(result, id);
    if (!parsed || bootMs === undefined) throw fail('VM ended without the CSTATS-VM result markers');
    return { ...parsed, bootMs, console: log };
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
}

/** `CSTATS-VM-BEGIN id\n<output>\nCSTATS-VM-END id <code>\n`, as scripts/vm/init writes it. */
function parseResult(text: string, id: string): { output: string; exitCode: number } | undefined {
  const begin = `CSTATS-VM-BEGIN ${id}\n`;
  const start = text.indexOf(begin);
  const end = text.lastIndexOf(`\nCSTATS-VM-END ${id} `);
  if (start < 0 || end < start + begin.length) return undefined;
  const code = /^(\d+)\n/.exec(text.slice(end + `\nCSTATS-VM-END ${id} `.length));
  if (!code) return undefined;
  return { output: text.slice(start + begin.length, end), exitCode: Number(code[1]) };
}

/** Runs QEMU to its end or the deadline; notes when `runLine` shows on the console. */
function boot(
  qemu: string,
  args: string[],
  runLine: string,
  timeoutMs: number,
): Promise<{ log: string; bootMs: number | undefined; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    let bootMs: number | undefined;
    let timedOut = false;
    const collect = (chunk: string): void => {
      log += chunk;
      if (bootMs === undefined && log.includes(runLine)) bootMs = performance.now() - started;
    };
    child.stdout.setEncoding('utf8').on('data', collect);
    child.stderr.setEncoding('utf8').on('data', collect);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${qemu}: ${err.message}`));
    });
    child.on('close', () => {
      clearTimeout(timer);
      resolve({ log, bootMs, timedOut });
    });
  });
}

interface CpioEntry {
  name: string;
  mode: number;
  data?: Buffer;
}

/** An uncompressed cpio archive in the "newc" format the kernel unpacks (owner root, mtime 0). */
function newcArchive(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let size = 0;
  const push = (b: Buffer): void => {
    parts.push(b);
    size += b.length;
  };
  const pad4 = (): void => push(Buffer.alloc((4 - (size % 4)) % 4));
  const all = [...entries, { name: 'TRAILER!!!', mode: 0 }];
  all.forEach((e, i) => {
    const data = e.data ?? Buffer.alloc(0);
    const name = Buffer.from(`${e.name}\0`);
    // magic, then ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor
    // namesize check as 8 hex digits each.
    const fields = [i + 1, e.mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, name.length, 0];
    push(Buffer.from(`070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}`));
    push(name);
    pad4();
    push(data);
    pad4();
  });
  return Buffer.concat(parts, size);
}

/** The image for the current dist/, built once per content and kept on disk. */
function initramfs(): Promise<string> {
  const key = imageKey();
  let image = images.get(key);
  if (!image) {
    image = buildImage(key);
    images.set(key, image);
    image.catch(() => images.delete(key));
  }
  return image;
}

async function buildImage(key: string): Promise<string> {
  mkdirSync(CACHE_DIR, { recursive: true });
  const file = join(CACHE_DIR, `initramfs-${key}.cpio.gz`);
  if (existsSync(file)) {
    const now = new Date();
    utimesSync(file, now, now);
  } else {
    try {
      await promisify(execFile)('bash', [BUILD_SCRIPT, file], { maxBuffer: 16 << 20 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`building the VM initramfs failed: ${e.stderr || e.message}`);
    }
  }
  pruneCache(file);
  return file;
}

function pruneCache(keep: string): void {
  const cutoff = Date.now() - CACHE_MAX_AGE_MS;
  for (const name of readdirSync(CACHE_DIR)) {
    const path = join(CACHE_DIR, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (path !== keep && stat && stat.mtimeMs < cutoff) rmSync(path, { force: true });
  }
}

/** A hash of everything the image is built from. */
function imageKey(): string {
  const hash = createHash('sha256');
  if (!existsSync(join(ROOT, 'dist'))) throw new Error(`${ROOT}dist is missing: run npm run build`);
  const add = (rel: string): void => {
    const path = join(ROOT, rel);
    if (statSync(path).isDirectory()) {
      for (const name of readdirSync(path).sort()) add(join(rel, name));
    } else {
      hash.update(`${rel}\0`).update(readFileSync(path)).update('\0');
    }
  };
  ['dist', 'package.json', 'scripts/vm'].forEach(add);
  hash.update(`${process.execPath}\0${process.version}`);
  return hash.digest('hex').slice(0, 24);
}

function findQemu(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const path = join(dir, QEMU);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not in this directory
    }
  }
  throw new Error(`${QEMU} is not installed (apt-get install qemu-system-x86)`);
}

/** The newest /boot/vmlinuz-*-cloud-amd64: that flavour has cgroup v2, CFS bandwidth, PSI. */
function newestKernel(): string {
  const names = existsSync('/boot') ? readdirSync('/boot').filter((n) => /^vmlinuz-.+-cloud-amd64$/.test(n)) : [];
  if (names.length === 0) {
    throw new Error('no /boot/vmlinuz-*-cloud-amd64 (apt-get install linux-image-cloud-amd64)');
  }
  names.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const path = join('/boot', names[names.length - 1]);
  try {
    accessSync(path, constants.R_OK);
  } catch {
    throw new Error(`${path} is not readable by this user`);
  }
  return path;
}

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value <= 0) throw new Error(`runInVm: ${name} must be a positive integer, got ${value}`);
  return value;
}
