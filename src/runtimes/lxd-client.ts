/**
 * A small client of LXD's (and Incus's) REST API on its unix socket, node:http with socketPath:
 * GET answers, and the event stream, which LXD serves only as a WebSocket (/1.0/events). The
 * WebSocket side is the little RFC 6455 a reader needs: the upgrade, unmasked frames from the
 * server (text messages, possibly in fragments), a pong for each ping, a close for a close.
 */
import { request, type IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
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
    let socket: Socket | undefined;
    let cancelled = false;
    const req = request({
      socketPath: this.socketPath,
      path,
      headers: {
        Host: 'lxd',
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
      },
    });
    const done = new Promise<void>((resolve, reject) => {
      req.on('error', (err) => (cancelled ? resolve() : reject(err)));
      req.on('response', (res: IncomingMessage) => {
        res.resume();
        reject(new Error(`${this.socketPath} ${path}: ${res.statusCode} instead of a WebSocket upgrade`));
      });
      req.on('upgrade', (_res: IncomingMessage, s: Socket, head: Buffer) => {
        socket = s;
        if (cancelled) s.destroy();
        const frames = new FrameReader((opcode, payload) => {
          if (opcode === OP_TEXT) onMessage(payload.toString('utf8'));
          else if (opcode === OP_PING) s.write(clientFrame(OP_PONG, payload));
          else if (opcode === OP_CLOSE) s.end(clientFrame(OP_CLOSE, payload.subarray(0, 2)));
        });
        s.on('data', (chunk: Buffer) => {
          try {
            frames.push(chunk);
          } catch (err) {
            s.destroy(err as Error);
          }
        });
        s.on('close', () => resolve());
        s.on('error', (err) => (cancelled ? resolve() : reject(err)));
        if (head.length > 0) s.emit('data', head);
      });
    });
    req.end();
    const cancel = (): void => {
      cancelled = true;
      req.destroy();
      socket?.destroy();
    };
    return { done, cancel };
  }
}

const OP_CONTINUATION = 0;
const OP_TEXT = 1;
const OP_CLOSE = 8;
const OP_PING = 9;
const OP_PONG = 10;
/** An event is a few hundred bytes: a frame this large means the stream is not an event stream. */
const MAX_FRAME_BYTES = 16 << 20;

/**
 * Splits a WebSocket byte stream into messages: header (FIN and opcode; mask bit and a 7-bit
 * length, 126 for a 16-bit and 127 for a 64-bit length after it; a 4-byte mask key when masked),
 * then the payload. Fragments (opcode 0 after a first frame without FIN) are joined; control
 * frames may come between them and are delivered at once.
 */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private fragmentOpcode = 0;

  constructor(private readonly onFrame: (opcode: number, payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      const frame = this.next();
      if (!frame) return;
      const { fin, opcode, payload } = frame;
      if (opcode >= OP_CLOSE) this.onFrame(opcode, payload);
      else {
        if (opcode !== OP_CONTINUATION) this.fragmentOpcode = opcode;
        this.fragments.push(payload);
        if (fin) {
          const whole = Buffer.concat(this.fragments);
          this.fragments = [];
          this.onFrame(this.fragmentOpcode, whole);
        }
      }
    }
  }

  private next(): { fin: boolean; opcode: number; payload: Buffer } | undefined {
    const b = this.pending;
    if (b.length < 2) return undefined;
    const masked = (b[1] & 0x80) !== 0;
    let length = b[1] & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (b.length < 4) return undefined;
      length = b.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (b.length < 10) return undefined;
      const big = b.readBigUInt64BE(2);
      if (big > BigInt(MAX_FRAME_BYTES)) throw new Error(`WebSocket frame of ${big} bytes: more than an event stream sends`);
      length = Number(big);
      offset = 10;
    }
    const maskAt = offset;
    if (masked) offset += 4;
    if (b.length < offset + length) return undefined;
    const payload = Buffer.from(b.subarray(offset, offset + length));
    if (masked) for (let i = 0; i < payload.length; i++) payload[i] ^= b[maskAt + (i & 3)];
    this.pending = b.subarray(offset + length);
    return { fin: (b[0] & 0x80) !== 0, opcode: b[0] & 0x0f, payload };
  }
}

/** A frame from client to server: final, and masked, as RFC 6455 5.3 requires of clients. */
export function clientFrame(opcode: number, payload: Buffer): Buffer {
  // Control frames carry at most 125 bytes, all this client ever sends.
  const key = randomBytes(4);
  const out = Buffer.alloc(6 + payload.length);
  out[0] = 0x80 | opcode;
  out[1] = 0x80 | payload.length;
  key.copy(out, 2);
  for (let i = 0; i < payload.length; i++) out[6 + i] = payload[i] ^ key[i & 3];
  return out;
}
