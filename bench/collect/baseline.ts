/**
 * The reference loops: plain Node that reads a fixed list of kernel files every interval and
 * does nothing else (no parsing, no storing). Their CPU time is the floor a Node collector of
 * the same files can reach.
 *   keepopen        open each file once; each time pread from offset 0 until a read returns 0
 *                   (two reads per file)
 *   keepopen-1read  the same with one pread per file: a cgroup or proc file (seq_file) hands
 *                   over all its content in one read when it is shorter than a page
 *   reopen          open, read until 0, close, every time
 *
 * Usage: node baseline.js keepopen|keepopen-1read|reopen INTERVAL_MS FILE_LIST
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export const BASELINE_MODES = ['keepopen', 'keepopen-1read', 'reopen'] as const;
export type BaselineMode = (typeof BASELINE_MODES)[number];

const buf = Buffer.allocUnsafe(64 * 1024);

/** Reads the whole file from offset 0 into text, until a read returns 0 (files over 64 KiB are cut). */
export function readAt0(fd: number): string {
  let total = 0;
  for (;;) {
    const n = readSync(fd, buf, total, buf.length - total, total);
    total += n;
    if (n === 0 || total === buf.length) return buf.toString('latin1', 0, total);
  }
}

export function readOnce(fd: number): string {
  return buf.toString('latin1', 0, readSync(fd, buf, 0, buf.length, 0));
}

function readerFor(mode: BaselineMode): (path: string) => string {
  const fds = new Map<string, number>();
  const kept = (path: string): number => {
    let fd = fds.get(path);
    if (fd === undefined) {
      fd = openSync(path, 'r');
      fds.set(path, fd);
    }
    return fd;
  };
  switch (mode) {
    case 'keepopen':
      return (path) => readAt0(kept(path));
    case 'keepopen-1read':
      return (path) => readOnce(kept(path));
    case 'reopen':
      return (path) => {
        const fd = openSync(path, 'r');
        try {
          return readAt0(fd);
        } finally {
          closeSync(fd);
        }
      };
  }
}

function main(mode: BaselineMode, intervalMs: number, listFile: string): void {
  const paths = readFileSync(listFile, 'utf8').split('\n').filter((l) => l !== '');
  const read = readerFor(mode);
  let bytes = 0;
  let failures = 0;
  const tick = (): void => {
    for (const p of paths) {
      try {
        bytes += read(p).length;
      } catch {
        failures++; // a file that went away: counted, not fatal
      }
    }
  };
  const t0 = Date.now();
  let n = 0;
  const loop = (): void => {
    tick();
    n = Math.max(n + 1, Math.ceil((Date.now() - t0) / intervalMs));
    setTimeout(loop, Math.max(0, t0 + n * intervalMs - Date.now()));
  };
  loop();
  process.on('SIGTERM', () => {
    process.stderr.write(`baseline ${mode}: ${paths.length} files, ${bytes} bytes read, ${failures} failed reads\n`);
    process.exit(0);
  });
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [mode, interval, listFile] = process.argv.slice(2);
  if (!BASELINE_MODES.includes(mode as BaselineMode) || !(Number(interval) > 0) || !listFile) {
    process.stderr.write(`usage: baseline.js ${BASELINE_MODES.join('|')} INTERVAL_MS FILE_LIST\n`);
    process.exit(2);
  }
  main(mode as BaselineMode, Number(interval), listFile);
}
