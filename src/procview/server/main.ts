/**
 * The serving process. fd 3 is the /dev/fuse connection, inherited from the holder (holder.ts),
 * which restarts this process whenever it exits and owns the mount. The main thread blocks in
 * read(2) on the device and answers each request in turn; load averages are kept by a worker
 * thread, read here without waiting (receiveMessageOnPort). Nothing of the agent runs here, so
 * a FUSE request never waits on the agent's sampling loop, nor the loop on a request.
 *
 * Protocol with the holder: "ready" on stdout once serving; the INIT negotiation is written to
 * `initFile` so that a replacement process can serve the same connection without a new INIT.
 */
import { readFileSync } from 'node:fs';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { detectLayout } from '../../kernel/cgroup/hierarchy.js';
import { parseMountInfo } from '../../kernel/proc/mountinfo.js';
import { ContentSource, type LoadSource } from '../content.js';
import type { Avenrun } from '../files/loadavg.js';
import { FuseDispatcher, serve } from '../fuse/session.js';
import { ProcFs } from '../procfs.js';
import { EXIT_CONNECTION_GONE, FUSE_FD, writeRunFile, type ServerConfig } from './config.js';
import type { LoadsThreadData } from './loads-thread.js';
import { taskHierarchy } from '../caller.js';

/** The averages the worker thread posted last; read without waiting. */
class ThreadLoads implements LoadSource {
  private loads = new Map<string, Avenrun>();

  constructor(private readonly port: MessagePort) {}

  get(key: string): Avenrun | undefined {
    for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) {
      this.loads = new Map(m.message as [string, Avenrun][]);
    }
    return this.loads.get(key);
  }
}

function main(): void {
  const config = JSON.parse(process.env.CSTATS_PROCFS_SERVER ?? '{}') as ServerConfig;
  const layout = detectLayout(parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8')));
  const { port1, port2 } = new MessageChannel();
  const loadsThread = new Worker(new URL('./loads-thread.js', import.meta.url), {
    workerData: { port: port2, procRoot: config.procRoot, ...taskHierarchy(layout) } satisfies LoadsThreadData,
    transferList: [port2],
  });
  loadsThread.on('error', (err) => console.error('procfs: load tracker failed:', err));
  let lastError = 0;
  const content = new ContentSource({
    env: {
      procRoot: config.procRoot,
      cpuOnlineFile: config.cpuOnlineFile,
      layout,
    },
    cfsCpus: config.cfsCpus,
    loads: new ThreadLoads(port1),
    onError: (err) => {
      const now = Date.now();
      if (now - lastError < 10_000) return;
      lastError = now;
      console.error('procfs:', err instanceof Error ? err.message : err);
    },
  });
  const fs = new ProcFs((kind, pid) => content.render(kind, pid));
  const dispatcher = new FuseDispatcher(fs, config.negotiated, (n) => writeRunFile(config.initFile, n));
  process.stdout.write('ready\n');
  const end = serve(FUSE_FD, dispatcher);
  console.error(`procfs: connection ${end}`);
  process.exit(EXIT_CONNECTION_GONE);
}

main();
