/**
 * Worker thread of the serving process: runs the LoadTracker timer, since the main thread is
 * blocked reading /dev/fuse. It posts every pass's averages over one MessagePort.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { LoadTracker } from '../loadtracker.js';

export interface LoadsThreadData {
  port: MessagePort;
  procRoot: string;
  /** The hierarchy whose directories name the cgroups, and its thread list file. */
  root: string;
  file: string;
}

const { port, procRoot, root, file } = workerData as LoadsThreadData;
const tracker = new LoadTracker(procRoot, root, file, (loads) => port.postMessage([...loads]));
tracker.start();
