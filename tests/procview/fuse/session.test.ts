import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { constants } from 'node:os';
import { test } from 'node:test';
import { Op, UNIQUE_RESEND } from '../../../src/procview/fuse/protocol.js';
import { FuseDispatcher } from '../../../src/procview/fuse/session.js';
import { ProcFs } from '../../../src/procview/procfs.js';
import { initBody, readBody, request, u32 } from './wire.js';

const E = constants.errno;

/** A dispatcher over the real tree whose files say who asked. */
function setup(): { d: FuseDispatcher; send: (op: number, body: Buffer, opts?: Parameters<typeof request>[2]) => Buffer | undefined } {
  const fs = new ProcFs((kind, pid) => `${kind} for ${pid}\n`);
  const d = new FuseDispatcher(fs);
  const send = (op: number, body: Buffer, opts?: Parameters<typeof request>[2]): Buffer | undefined => {
    const b = request(op, body, opts);
    return d.dispatch(b, b.length);
  };
  return { d, send };
}

const errorOf = (reply: Buffer | undefined): number => Math.abs((reply as Buffer).readInt32LE(4));
const payload = (reply: Buffer | undefined): Buffer => (reply as Buffer).subarray(16);
const name = (s: string): Buffer => Buffer.from(`${s}\0`);

test('requests before INIT fail with EIO; INIT answers 7.40', () => {
  const { send } = setup();
  assert.equal(errorOf(send(Op.GETATTR, Buffer.alloc(16))), E.EIO);
  const init = send(Op.INIT, initBody());
  assert.equal(errorOf(init), 0);
  assert.equal(payload(init).readUInt32LE(4), 40);
  assert.equal(errorOf(send(Op.GETATTR, Buffer.alloc(16))), 0);
});

test('lookup, open, read at offsets, release: content is generated per caller at offset 0', () => {
  const { d, send } = setup();
  send(Op.INIT, initBody());
  const proc = payload(send(Op.LOOKUP, name('proc')));
  assert.equal(proc.readBigUInt64LE(0), 2n);
  const meminfo = payload(send(Op.LOOKUP, name('meminfo'), { nodeid: 2n }));
  assert.equal(meminfo.readBigUInt64LE(0), 3n);
  const open = payload(send(Op.OPEN, u32(fsc.O_RDONLY, 0), { nodeid: 3n }));
  const fh = open.readBigUInt64LE(0);
  assert.equal(open.readUInt32LE(8), 1); // FOPEN_DIRECT_IO
  // Before the reply: a one-byte FUSE_NOTIFY_STORE at 16 MiB - 1 that grows i_size for splice.
  const [note] = d.notifications.splice(0);
  assert.deepEqual([note.readUInt32LE(0), note.readInt32LE(4), note.readBigUInt64LE(8)], [16 + 25, 4, 0n]);
  assert.deepEqual([note.readBigUInt64LE(16), note.readBigUInt64LE(24), note.readUInt32LE(32)], [3n, (1n << 24n) - 1n, 1]);
  assert.equal(payload(send(Op.READ, readBody(fh, 0n, 4096), { nodeid: 3n, pid: 42 })).toString(), 'meminfo for 42\n');
  // Later offsets come from the same generation, whoever reads them.
  assert.equal(payload(send(Op.READ, readBody(fh, 8n, 3), { nodeid: 3n, pid: 99 })).toString(), 'for');
  assert.equal(payload(send(Op.READ, readBody(fh, 15n, 4096), { nodeid: 3n })).length, 0);
  assert.equal(payload(send(Op.READ, readBody(fh, 2n ** 64n - 1n, 4096), { nodeid: 3n })).length, 0);
  assert.equal(payload(send(Op.READ, readBody(fh, 0n, 0), { nodeid: 3n })).length, 0);
  assert.equal(errorOf(send(Op.RELEASE, readBody(fh, 0n, 0), { nodeid: 3n })), 0);
  // A handle from an earlier server process is adopted: content is generated for it.
  assert.equal(payload(send(Op.READ, readBody(123n, 5n, 4096), { nodeid: 3n, pid: 7 })).toString(), 'fo for 7\n');
});

test('read-only: writes EROFS, write opens EACCES, W_OK EROFS, unknown paths ENOENT, unknown ops ENOSYS', () => {
  const { send } = setup();
  send(Op.INIT, initBody());
  for (const op of [Op.WRITE, Op.SETATTR, Op.CREATE, Op.MKDIR, Op.UNLINK, Op.RENAME, Op.SETXATTR, Op.MKNOD, Op.SYMLINK, Op.LINK]) {
    assert.equal(errorOf(send(op, Buffer.alloc(64), { nodeid: 3n })), E.EROFS, `opcode ${op}`);
  }
  assert.equal(errorOf(send(Op.OPEN, u32(fsc.O_WRONLY, 0), { nodeid: 3n })), E.EACCES);
  assert.equal(errorOf(send(Op.OPEN, u32(fsc.O_RDWR, 0), { nodeid: 3n })), E.EACCES);
  assert.equal(errorOf(send(Op.ACCESS, u32(fsc.W_OK, 0), { nodeid: 3n })), E.EROFS);
  assert.equal(errorOf(send(Op.ACCESS, u32(4, 0), { nodeid: 3n })), 0);
  assert.equal(errorOf(send(Op.LOOKUP, name('nope'), { nodeid: 2n })), E.ENOENT);
  assert.equal(errorOf(send(Op.LOOKUP, name('x'), { nodeid: 3n })), E.ENOTDIR);
  assert.equal(errorOf(send(Op.GETATTR, Buffer.alloc(16), { nodeid: 999n })), E.ENOENT);
  assert.equal(errorOf(send(Op.OPEN, u32(0, 0), { nodeid: 2n })), E.EISDIR);
  assert.equal(errorOf(send(Op.OPENDIR, u32(0, 0), { nodeid: 3n })), E.ENOTDIR);
  assert.equal(errorOf(send(Op.GETXATTR, Buffer.concat([u32(0, 0), name('user.x')]), { nodeid: 3n })), E.ENODATA);
  assert.equal(payload(send(Op.LISTXATTR, u32(0, 0), { nodeid: 3n })).readUInt32LE(0), 0);
  assert.equal(errorOf(send(Op.IOCTL, Buffer.alloc(32), { nodeid: 3n })), E.ENOSYS);
  assert.equal(errorOf(send(9999, Buffer.alloc(8))), E.ENOSYS);
  assert.equal(send(Op.FORGET, Buffer.alloc(8), { nodeid: 3n }), undefined);
  assert.equal(send(Op.BATCH_FORGET, Buffer.alloc(8)), undefined);
  assert.equal(send(Op.INTERRUPT, Buffer.alloc(8)), undefined);
});

test('readdir lists the tree; STATFS counts the nodes', () => {
  const { send } = setup();
  send(Op.INIT, initBody());
  const list = payload(send(Op.READDIR, readBody(0n, 0n, 4096), { nodeid: 2n }));
  const names: string[] = [];
  for (let at = 0; at < list.length; ) {
    const len = list.readUInt32LE(at + 16);
    names.push(list.toString('utf8', at + 24, at + 24 + len));
    at += (24 + len + 7) & ~7;
  }
  assert.deepEqual(names, ['.', '..', 'meminfo', 'cpuinfo', 'stat', 'uptime', 'loadavg', 'diskstats', 'swaps']);
  assert.equal(payload(send(Op.STATFS, Buffer.alloc(0))).readBigUInt64LE(24), 14n);
});

test('a resent request is answered with its resend-marked unique', () => {
  const { send } = setup();
  send(Op.INIT, initBody());
  const reply = send(Op.GETATTR, Buffer.alloc(16), { unique: UNIQUE_RESEND | 77n });
  assert.equal((reply as Buffer).readBigUInt64LE(8), UNIQUE_RESEND | 77n);
});

test('fuzz: random, truncated and oversized requests never throw and never get a mis-sized reply', () => {
  const { d, send } = setup();
  send(Op.INIT, initBody());
  const ops = [...Object.values(Op), 0, 4096, 0xffffffff];
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let i = 0; i < 20000; i++) {
    let buf: Buffer;
    const kind = rand(4);
    if (kind === 0) {
      buf = randomBytes(rand(200));
    } else {
      buf = request(ops[rand(ops.length)], randomBytes(rand(kind === 3 ? 5000 : 80)), {
        nodeid: BigInt(rand(20)),
        unique: BigInt(i + 1),
      });
      if (kind === 2) buf.writeUInt32LE(rand(2) ? buf.length + rand(100) + 1 : rand(buf.length), 0); // lying length
      if (kind === 3) buf.writeUInt16LE(rand(65536), 36); // extension length
    }
    const n = rand(10) === 0 ? rand(buf.length + 1) : buf.length; // sometimes truncated
    const reply = d.dispatch(buf, n);
    if (!reply) continue;
    assert.equal(reply.readUInt32LE(0), reply.length);
    assert.ok(reply.readInt32LE(4) <= 0);
    if (n >= 40) assert.equal(reply.readBigUInt64LE(8), buf.readBigUInt64LE(8));
  }
});
