/**
 * gRPC over a unix socket with node:http2: unary calls and server streams. A gRPC message on the
 * wire is a 5-byte prefix (compressed flag, big-endian length) and the protobuf bytes; the call's
 * outcome is the `grpc-status` trailer (or header, for an immediate error), 0 being success.
 */
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { connect as netConnect } from 'node:net';

export class GrpcError extends Error {
  constructor(
    readonly method: string,
    readonly code: number | undefined,
    message: string,
  ) {
    super(`${method}: ${message}`);
    this.name = 'GrpcError';
  }
}

/** gRPC status codes used here. */
export const GRPC_NOT_FOUND = 5;
export const GRPC_UNIMPLEMENTED = 12;

/** Largest message accepted: a listing of thousands of containers stays far below it. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

function frame(body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** Splits the bytes received so far into whole messages; returns what is left over. */
function unframe(buf: Buffer, method: string, onMessage: (m: Buffer) => void): Buffer {
  let rest = buf;
  while (rest.length >= 5) {
    if (rest[0] !== 0) throw new GrpcError(method, undefined, 'compressed message (not asked for)');
    const len = rest.readUInt32BE(1);
    if (len > MAX_MESSAGE_BYTES) throw new GrpcError(method, undefined, `message of ${len} bytes exceeds ${MAX_MESSAGE_BYTES}`);
    if (rest.length < 5 + len) break;
    onMessage(rest.subarray(5, 5 + len));
    rest = rest.subarray(5 + len);
  }
  return rest;
}

export class GrpcClient {
  private session?: ClientHttp2Session;

  constructor(
    readonly socketPath: string,
    private readonly timeoutMs = 10_000,
  ) {}

  private open(): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const session = connect('http://localhost', { createConnection: () => netConnect(this.socketPath) });
    session.on('error', () => {}); // surfaced on the streams; a broken session is replaced on the next call
    session.on('close', () => {
      if (this.session === session) this.session = undefined;
    });
    this.session = session;
    return session;
  }

  close(): void {
    this.session?.destroy();
    this.session = undefined;
  }

  private start(method: string, body: Buffer): ClientHttp2Stream {
    const stream = this.open().request({
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: method,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    stream.end(frame(body));
    return stream;
  }

  /** One request, one answer. `method` is "/package.Service/Method". */
  unary(method: string, body: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const answers: Buffer[] = [];
      const stream = this.start(method, body);
      stream.setTimeout(this.timeoutMs, () => stream.close(constants.NGHTTP2_CANCEL));
      this.follow(stream, method, (m) => answers.push(m), (err) => {
        if (err) reject(err);
        else if (answers.length !== 1) reject(new GrpcError(method, undefined, `expected one answer, got ${answers.length}`));
        else resolve(answers[0]);
      });
    });
  }

  /** A server stream: `onMessage` for each message; the returned `cancel` ends it; `done` settles when it ends. */
  serverStream(method: string, body: Buffer, onMessage: (m: Buffer) => void): { cancel: () => void; done: Promise<void> } {
    const stream = this.start(method, body);
    const done = new Promise<void>((resolve, reject) => this.follow(stream, method, onMessage, (err) => (err ? reject(err) : resolve())));
    return { cancel: () => stream.close(constants.NGHTTP2_CANCEL), done };
  }

  private follow(stream: ClientHttp2Stream, method: string, onMessage: (m: Buffer) => void, end: (err?: Error) => void): void {
    let pending: Buffer = Buffer.alloc(0);
    let status: number | undefined;
    let message = '';
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      end(err);
    };
    const takeStatus = (h: Record<string, unknown>): void => {
      if (h['grpc-status'] !== undefined) status = Number(h['grpc-status']);
      if (h['grpc-message'] !== undefined) message = decodeURIComponent(String(h['grpc-message']));
    };
    stream.on('response', (h) => {
      const http = Number(h[constants.HTTP2_HEADER_STATUS]);
      if (http !== 200) finish(new GrpcError(method, undefined, `HTTP status ${http} (not a gRPC server?)`));
      takeStatus(h);
    });
    stream.on('trailers', takeStatus);
    stream.on('data', (chunk: Buffer) => {
      try {
        pending = unframe(pending.length ? Buffer.concat([pending, chunk]) : chunk, method, onMessage);
      } catch (err) {
        finish(err as Error);
        stream.close(constants.NGHTTP2_CANCEL);
      }
    });
    stream.on('error', (err) => finish(new GrpcError(method, undefined, err.message)));
    stream.on('close', () => {
      if (status === undefined) finish(new GrpcError(method, undefined, stream.rstCode === constants.NGHTTP2_CANCEL ? 'cancelled or timed out' : 'stream closed without a status'));
      else if (status !== 0) finish(new GrpcError(method, status, message || `status ${status}`));
      else finish();
    });
  }
}
