/**
 * One FUSE connection: turns each request read from /dev/fuse into exactly one reply (or none,
 * for the opcodes the kernel expects none for), over a read-only filesystem. `dispatch` is pure
 * apart from the filesystem it calls, so it is unit- and fuzz-tested without a kernel; `serve`
 * is the blocking loop that runs in its own thread.
 */
import { constants as fsConstants, readSync, writeSync } from 'node:fs';
import { constants } from 'node:os';
import {
  decodeAccess,
  decodeFh,
  decodeInit,
  decodeName,
  decodeOpen,
  decodeRead,
  decodeRequest,
  decodeXattrSize,
  encodeAttrOut,
  encodeDirents,
  encodeEntryOut,
  encodeInitMajorOnly,
  encodeInitOut,
  encodeNotifyGrowSize,
  encodeOpenOut,
  encodeReply,
  encodeStatfsOut,
  encodeXattrSizeOut,
  FOPEN_DIRECT_IO,
  FUSE_KERNEL_VERSION,
  MalformedHeader,
  MalformedRequest,
  MAX_WRITE,
  negotiate,
  NO_REPLY_OPS,
  Op,
  WRITE_OPS,
  type Attr,
  type DirEntry,
  type Negotiated,
  type Request,
  type RequestHeader,
} from './protocol.js';

const E = constants.errno;

/** Who asked: the FUSE header's uid, gid and pid (a thread id in the mounter's pid namespace). */
export interface CallerIds {
  pid: number;
  uid: number;
  gid: number;
}

/** A read-only tree of directories and generated files. Errors are positive errno values. */
export interface ReadOnlyFs {
  readonly nodeCount: number;
  getattr(nodeid: bigint): Attr | undefined;
  lookup(parent: bigint, name: string): { nodeid: bigint; attr: Attr } | number;
  readdir(nodeid: bigint): DirEntry[] | number;
  /** Opens a file for reading; returns a file handle or an errno. */
  open(nodeid: bigint, flags: number, caller: CallerIds): bigint | number;
  /** Reads from an open file; the handle may be unknown (opened by a previous server process). */
  read(nodeid: bigint, fh: bigint, offset: bigint, size: number, caller: CallerIds): Buffer | number;
  release(fh: bigint): void;
}

/** The i_size given to an opened file for splice reads: more than any generated file. */
const SPLICE_SIZE = 1n << 24n;

/** Attributes and entries are stable: the tree never changes shape. */
const VALID_SEC = 60n;
const O_ACCMODE = 3;

export class FuseDispatcher {
  /** Set once INIT is answered (or handed over by the server process that answered it). */
  negotiated: Negotiated | undefined;
  destroyed = false;
  /** Notifications to write before the reply `dispatch` returned (see OPEN). */
  readonly notifications: Buffer[] = [];

  constructor(
    private readonly fs: ReadOnlyFs,
    negotiated?: Negotiated,
    private readonly onInit?: (n: Negotiated) => void,
  ) {
    this.negotiated = negotiated;
  }

  /**
   * Handles one message of `n` bytes. Returns the reply to write, or undefined when the kernel
   * expects none. Never throws: a request that cannot be decoded is answered EINVAL when its
   * header could be read, and dropped when it could not.
   */
  dispatch(buf: Buffer, n: number): Buffer | undefined {
    let req: Request;
    try {
      req = decodeRequest(buf, n);
    } catch (err) {
      if (err instanceof MalformedHeader && !NO_REPLY_OPS.has(err.header.opcode)) {
        return encodeReply(err.header.unique, E.EINVAL);
      }
      return undefined;
    }
    const h = req.header;
    if (NO_REPLY_OPS.has(h.opcode)) return undefined;
    try {
      return this.answer(h, req.body);
    } catch (err) {
      return encodeReply(h.unique, err instanceof MalformedRequest ? E.EINVAL : E.EIO);
    }
  }

  private answer(h: RequestHeader, body: Buffer): Buffer {
    const ok = (payload?: Buffer): Buffer => encodeReply(h.unique, 0, payload);
    const fail = (errno: number): Buffer => encodeReply(h.unique, errno);
    if (h.opcode === Op.INIT) return this.init(h, body);
    const n = this.negotiated;
    if (!n) return fail(E.EIO);
    if (WRITE_OPS.has(h.opcode)) return fail(E.EROFS);
    const caller: CallerIds = { pid: h.pid, uid: h.uid, gid: h.gid };
    switch (h.opcode) {
      case Op.LOOKUP: {
        const found = this.fs.lookup(h.nodeid, decodeName(body));
        if (typeof found === 'number') return fail(found);
        return ok(encodeEntryOut(found.nodeid, found.attr, VALID_SEC, n.minor));
      }
      case Op.GETATTR: {
        const attr = this.fs.getattr(h.nodeid);
        return attr ? ok(encodeAttrOut(attr, VALID_SEC, n.minor)) : fail(E.ENOENT);
      }
      case Op.OPEN: {
        const flags = decodeOpen(body);
        if ((flags & O_ACCMODE) !== 0) return fail(E.EACCES);
        const fh = this.fs.open(h.nodeid, flags, caller);
        if (typeof fh === 'number') return fail(fh);
        // Linux up to 6.18 splices (sendfile, as busybox cat uses) even FOPEN_DIRECT_IO files
        // through the page cache, bounded by i_size: with size 0 that is an empty file. Grow
        // i_size before the open completes; the first short read shrinks it to the content.
        if (n.minor >= 15) this.notifications.push(encodeNotifyGrowSize(h.nodeid, SPLICE_SIZE));
        return ok(encodeOpenOut(fh, FOPEN_DIRECT_IO));
      }
      case Op.READ: {
        const r = decodeRead(body);
        const data = this.fs.read(h.nodeid, r.fh, r.offset, r.size, caller);
        return typeof data === 'number' ? fail(data) : ok(data);
      }
      case Op.RELEASE:
        this.fs.release(decodeFh(body));
        return ok();
      case Op.OPENDIR: {
        const entries = this.fs.readdir(h.nodeid);
        return typeof entries === 'number' ? fail(entries) : ok(encodeOpenOut(0n, 0));
      }
      case Op.READDIR:
      case Op.READDIRPLUS: {
        const r = decodeRead(body);
        const entries = this.fs.readdir(h.nodeid);
        if (typeof entries === 'number') return fail(entries);
        return ok(encodeDirents(entries, r.offset, r.size, h.opcode === Op.READDIRPLUS, VALID_SEC, n.minor));
      }
      case Op.RELEASEDIR:
      case Op.FLUSH:
      case Op.FSYNC:
      case Op.FSYNCDIR:
      case Op.SYNCFS:
        return ok();
      case Op.STATFS:
        return ok(encodeStatfsOut(this.fs.nodeCount, n.minor));
      case Op.ACCESS: {
        const mask = decodeAccess(body);
        if (this.fs.getattr(h.nodeid) === undefined) return fail(E.ENOENT);
        return fail(mask & fsConstants.W_OK ? E.EROFS : 0);
      }
      case Op.GETXATTR:
        decodeName(body, 8);
        return fail(E.ENODATA);
      case Op.LISTXATTR:
        return decodeXattrSize(body) === 0 ? ok(encodeXattrSizeOut(0)) : ok();
      case Op.READLINK:
        return fail(E.EINVAL);
      case Op.DESTROY:
        this.destroyed = true;
        return ok();
      default:
        return fail(E.ENOSYS);
    }
  }

  private init(h: RequestHeader, body: Buffer): Buffer {
    const init = decodeInit(body);
    if (init.major < FUSE_KERNEL_VERSION) return encodeReply(h.unique, E.EPROTO);
    // A newer major: answer with ours alone and the kernel falls back (fuse.h, "Version negotiation").
    if (init.major > FUSE_KERNEL_VERSION) return encodeReply(h.unique, 0, encodeInitMajorOnly());
    const n = negotiate(init);
    this.negotiated = n;
    this.onInit?.(n);
    return encodeReply(h.unique, 0, encodeInitOut(n));
  }
}

/** Big enough for any request the kernel may send given our max_write, and for SETXATTR values. */
export const REQUEST_BUFFER_SIZE = 128 * 1024 + MAX_WRITE + 4096;

/** Why `serve` returned. */
export type ServeEnd = 'unmounted' | 'destroyed';

/**
 * Reads requests from the /dev/fuse descriptor and answers them until the connection ends.
 * Blocks the calling thread: run it in a worker thread (or a process) of its own.
 */
export function serve(fd: number, dispatcher: FuseDispatcher): ServeEnd {
  const buf = Buffer.allocUnsafe(REQUEST_BUFFER_SIZE);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // ENOENT: the request was interrupted while being read; EINTR/EAGAIN: just again.
      if (code === 'EINTR' || code === 'EAGAIN' || code === 'ENOENT') continue;
      if (code === 'ENODEV') return 'unmounted';
      throw err;
    }
    const reply = dispatcher.dispatch(buf, n);
    for (const note of dispatcher.notifications.splice(0)) writeReply(fd, note);
    if (reply) writeReply(fd, reply);
    if (dispatcher.destroyed) return 'destroyed';
  }
}

/**
 * ENOENT on write means the request is gone (interrupted, or resent after FUSE_NOTIFY_RESEND and
 * answered elsewhere); ENODEV means the filesystem was unmounted. Neither is ours to report.
 */
export function writeReply(fd: number, reply: Buffer): void {
  try {
    writeSync(fd, reply);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENODEV') throw err;
  }
}
