/** Builds raw FUSE requests as the kernel writes them, for the protocol tests. */
import { IN_HEADER_SIZE } from '../../../src/procview/fuse/protocol.js';

export function request(opcode: number, body: Buffer, opts: { unique?: bigint; nodeid?: bigint; pid?: number } = {}): Buffer {
  const b = Buffer.alloc(IN_HEADER_SIZE + body.length);
  b.writeUInt32LE(b.length, 0);
  b.writeUInt32LE(opcode, 4);
  b.writeBigUInt64LE(opts.unique ?? 7n, 8);
  b.writeBigUInt64LE(opts.nodeid ?? 1n, 16);
  b.writeUInt32LE(opts.pid ?? 1234, 32);
  body.copy(b, IN_HEADER_SIZE);
  return b;
}

export function initBody(major = 7, minor = 45): Buffer {
  const b = Buffer.alloc(64);
  b.writeUInt32LE(major, 0);
  b.writeUInt32LE(minor, 4);
  b.writeUInt32LE(131072, 8);
  return b;
}

export function readBody(fh: bigint, offset: bigint, size: number): Buffer {
  const b = Buffer.alloc(40);
  b.writeBigUInt64LE(fh, 0);
  b.writeBigUInt64LE(offset, 8);
  b.writeUInt32LE(size, 16);
  return b;
}

export function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeUInt32LE(v, i * 4));
  return b;
}
