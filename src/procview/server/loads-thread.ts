/**
 * Worker thread of the serving process: runs the LoadTracker timer, since the main thread is
 * blocked reading /dev/fuse. It talks over one MessagePort: "track" in, snapshots out.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import type { Avenrun } from '../files/loadavg.js';
import { LoadTracker } from '../loadtracker.js';

export interface TrackMessage {
  dir: string;
  file: string;
  start: Avenrun;
}

const { port, procRoot } = workerData as { port: MessagePort; procRoot: string };
const tracker = new LoadTracker(procRoot, (loads) => port.postMessage([...loads]));
port.on('message', (m: TrackMessage) => tracker.track(m.dir, m.file, m.start));
tracker.start();
// The timer is unref'd so that it never keeps a process alive; the port keeps this thread up.
