/**
 * K Server-Sent-Events clients of one URL, counting events and bytes each. Used in its own
 * process by bench/stream/main.ts so that reading costs nothing to the process measured.
 *
 *   node dist/bench/stream/clients.js URL K
 * Prints one JSON line {connected, events[], bytes, closed} on SIGTERM or when stdin closes.
 */
import { request } from 'node:http';

export interface ClientReport {
  connected: number;
  /** Events each client received. */
  events: number[];
  bytes: number;
  /** Streams the server ended. */
  closed: number;
}

const MARK = 'event: tick\n';

function main(): void {
  const [url, k] = process.argv.slice(2);
  const report: ClientReport = { connected: 0, events: [], bytes: 0, closed: 0 };
  for (let i = 0; i < Number(k); i++) {
    report.events.push(0);
    request(url, { agent: false }, (res) => {
      report.connected++;
      res.setEncoding('latin1');
      let tail = '';
      res.on('data', (chunk: string) => {
        report.bytes += chunk.length;
        // Count markers, including one split across two chunks.
        const text = tail + chunk;
        for (let at = text.indexOf(MARK); at >= 0; at = text.indexOf(MARK, at + MARK.length)) report.events[i]++;
        tail = text.slice(-(MARK.length - 1));
      });
      res.on('close', () => report.closed++);
    })
      .on('error', () => report.closed++)
      .end();
  }
  const finish = (): void => {
    process.stdout.write(JSON.stringify(report) + '\n');
    process.exit(0);
  };
  process.on('SIGTERM', finish);
  process.stdin.on('end', finish).resume();
  // Tell the parent every connection is up.
  const ready = setInterval(() => {
    if (report.connected === Number(k)) {
      clearInterval(ready);
      process.stderr.write('ready\n');
    }
  }, 20);
}

main();
