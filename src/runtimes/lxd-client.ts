/**
 * A small client of LXD's (and Incus's) REST API on its unix socket: GET answers with node:http
 * (socketPath), and the event stream, which LXD serves only as a WebSocket (/1.0/events), with
 * `ws` (which also answers LXD's "keepalive" pings).
 */
import { request } from 'node:http';
import WebSocket from 'ws';
import type { EventStream } from './daemon.js';

/** LXD's answer envelope (doc/rest-api.md "Return values"). */
interface Envelope<T> {
  type: 'sync' | 'async' | 'error';
  error_code?: number;
  error?: string;
  metadata: T;
}

export class LxdClient {
  constructor(
    readonly socketPath: string,
    private readonly timeoutMs = 5000,
  ) {}

  /** GET path; the metadata of a "sync" answer, or an error with LXD's message. */
  get<T>(path: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, path, headers: { Host: 'lxd' }, timeout: this.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          let parsed: Envelope<T>;
          try {
            parsed = JSON.parse(body) as Envelope<T>;
          } catch {
            reject(new Error(`${this.socketPath} ${path}: answer is not JSON: ${body.slice(0, 200)}`));
            return;
          }
          if (parsed.type !== 'sync') reject(new Error(`${this.socketPath} ${path}: ${res.statusCode} ${parsed.error ?? parsed.type}`));
          else resolve(parsed.metadata);
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${this.socketPath} ${path}: no answer within ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    });
  }

  /**
   * Opens GET path as a WebSocket and calls onMessage with each text message. `done` resolves
   * when the server closes the stream and rejects when the connection fails.
   */
  websocket(path: string, onMessage: (text: string) => void): EventStream {
    let cancelled = false;
    const ws = new WebSocket(`ws+unix://${this.socketPath}:${path}`, { headers: { Host: 'lxd' }, handshakeTimeout: this.timeoutMs, maxPayload: MAX_MESSAGE_BYTES });
    const done = new Promise<void>((resolve, reject) => {
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (!isBinary) onMessage(data.toString('utf8'));
      });
      ws.on('unexpected-response', (req, res) => {
        res.resume();
        req.destroy();
        reject(new Error(`${this.socketPath} ${path}: ${res.statusCode} instead of a WebSocket upgrade`));
      });
      ws.on('close', () => resolve());
      ws.on('error', (err) => (cancelled ? resolve() : reject(err)));
    });
    const cancel = (): void => {
      cancelled = true;
      ws.terminate();
    };
    return { done, cancel };
  }
}

/** An event is a few hundred bytes: a message this large means the stream is not an event stream. */
const MAX_MESSAGE_BYTES = 16 << 20;
