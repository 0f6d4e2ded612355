/**
 * The FUSE kernel protocol (include/uapi/linux/fuse.h), as far as a read-only filesystem needs
 * it: request decoding and reply encoding, pure functions over Buffers. Nothing here does I/O.
 *
 * Every request starts with fuse_in_header (40 bytes); every reply with fuse_out_header (16
 * bytes). Struct sizes depend on the negotiated minor version; the compat sizes are kept where
 * the kernel still accepts them.
 */

export const FUSE_KERNEL_VERSION = 7;
/** 7.40 added FUSE_NOTIFY_RESEND, which restart transparency relies on. */
export const OUR_MINOR = 40;
export const ROOT_ID = 1n;

export const IN_HEADER_SIZE = 40;
export const OUT_HEADER_SIZE = 16;
/** The kernel refuses reads into smaller buffers (FUSE_MIN_READ_BUFFER). */
export const MIN_READ_BUFFER = 8192;

export const Op = {
  LOOKUP: 1,
  FORGET: 2,
  GETATTR: 3,
  SETATTR: 4,
  READLINK: 5,
  SYMLINK: 6,
  MKNOD: 8,
  MKDIR: 9,
  UNLINK: 10,
  RMDIR: 11,
  RENAME: 12,
  LINK: 13,
  OPEN: 14,
  READ: 15,
  WRITE: 16,
  STATFS: 17,
  RELEASE: 18,
  FSYNC: 20,
  SETXATTR: 21,
  GETXATTR: 22,
  LISTXATTR: 23,
  REMOVEXATTR: 24,
  FLUSH: 25,
  INIT: 26,
  OPENDIR: 27,
  READDIR: 28,
  RELEASEDIR: 29,
  FSYNCDIR: 30,
  GETLK: 31,
  SETLK: 32,
  SETLKW: 33,
  ACCESS: 34,
  CREATE: 35,
  INTERRUPT: 36,
  BMAP: 37,
  DESTROY: 38,
  IOCTL: 39,
  POLL: 40,
  NOTIFY_REPLY: 41,
  BATCH_FORGET: 42,
  FALLOCATE: 43,
  READDIRPLUS: 44,
  RENAME2: 45,
  LSEEK: 46,
  COPY_FILE_RANGE: 47,
  SETUPMAPPING: 48,
  REMOVEMAPPING: 49,
  SYNCFS: 50,
  TMPFILE: 51,
  STATX: 52,
  COPY_FILE_RANGE_64: 53,
} as const;

/** Opcodes that would modify the filesystem: all answered EROFS. */
export const WRITE_OPS: ReadonlySet<number> = new Set([
  Op.SETATTR,
  Op.SYMLINK,
  Op.MKNOD,
  Op.MKDIR,
  Op.UNLINK,
  Op.RMDIR,
  Op.RENAME,
  Op.LINK,
  Op.WRITE,
  Op.SETXATTR,
  Op.REMOVEXATTR,
  Op.CREATE,
  Op.FALLOCATE,
  Op.RENAME2,
  Op.COPY_FILE_RANGE,
  Op.TMPFILE,
  Op.COPY_FILE_RANGE_64,
]);

/** Requests the kernel expects no reply to. */
export const NO_REPLY_OPS: ReadonlySet<number> = new Set([Op.FORGET, Op.BATCH_FORGET, Op.INTERRUPT, Op.NOTIFY_REPLY]);

export const NotifyCode = { STORE: 4, RESEND: 7 } as const;

/** The high bit of `unique` marks a request the kernel resent after FUSE_NOTIFY_RESEND. */
export const UNIQUE_RESEND = 1n << 63n;

export const FOPEN_DIRECT_IO = 1 << 0;
export const FUSE_MAX_PAGES = 1 << 22;
export const FUSE_PARALLEL_DIROPS = 1 << 18;

export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const DT_DIR = 4;
export const DT_REG = 8;

export class MalformedRequest extends Error {
  constructor(detail: string) {
    super(`malformed FUSE request: ${detail}`);
    this.name = 'MalformedRequest';
  }
}

export interface RequestHeader {
  len: number;
  opcode: number;
  unique: bigint;
  nodeid: bigint;
  uid: number;
  gid: number;
  /** The calling thread, in the pid namespace of whoever mounted: the key to per-container answers. */
  pid: number;
}

export interface Request {
  header: RequestHeader;
  /** Bytes after the header, exactly header.len - 40 of them (extensions excluded). */
  body: Buffer;
}

/** A request whose header was readable but whose framing is wrong: it can still be answered. */
export class MalformedHeader extends MalformedRequest {
  constructor(
    readonly header: RequestHeader,
    detail: string,
  ) {
    super(detail);
  }
}

/**
 * Splits one message read from /dev/fuse. Throws MalformedRequest when the bytes cannot be a
 * request: too short, or a length field that disagrees with what was read. The header is
 * returned on the error (when it could be read) so the caller can still answer it.
 */
export function decodeRequest(buf: Buffer, n: number): Request {
  if (n < IN_HEADER_SIZE) throw new MalformedRequest(`${n} bytes, shorter than the header`);
  const header: RequestHeader = {
    len: buf.readUInt32LE(0),
    opcode: buf.readUInt32LE(4),
    unique: buf.readBigUInt64LE(8),
    nodeid: buf.readBigUInt64LE(16),
    uid: buf.readUInt32LE(24),
    gid: buf.readUInt32LE(28),
    pid: buf.readUInt32LE(32),
  };
  const totalExtlen = buf.readUInt16LE(36) * 8;
  if (header.len !== n) throw new MalformedHeader(header, `length field ${header.len} but ${n} bytes read`);
  if (IN_HEADER_SIZE + totalExtlen > n) throw new MalformedHeader(header, `extensions (${totalExtlen} bytes) overrun`);
  return { header, body: buf.subarray(IN_HEADER_SIZE, n - totalExtlen) };
}

function need(body: Buffer, size: number, what: string): void {
  if (body.length < size) throw new MalformedRequest(`${what}: ${body.length} bytes, need ${size}`);
}

/** A NUL-terminated name (LOOKUP, GETXATTR after its fixed part). */
export function decodeName(body: Buffer, offset = 0): string {
  const end = body.indexOf(0, offset);
  if (end < 0) throw new MalformedRequest('name without terminating NUL');
  return body.toString('utf8', offset, end);
}

export interface InitIn {
  major: number;
  minor: number;
  maxReadahead: number;
  flags: number;
}

export function decodeInit(body: Buffer): InitIn {
  need(body, 8, 'INIT');
  const major = body.readUInt32LE(0);
  const minor = body.readUInt32LE(4);
  // fuse_init_in grew max_readahead and flags in 7.6.
  const hasFlags = body.length >= 16;
  return {
    major,
    minor,
    maxReadahead: hasFlags ? body.readUInt32LE(8) : 0,
    flags: hasFlags ? body.readUInt32LE(12) : 0,
  };
}

export interface ReadIn {
  fh: bigint;
  offset: bigint;
  size: number;
}

/** fuse_read_in (READ, READDIR, READDIRPLUS): fh, offset, size come first in every version. */
export function decodeRead(body: Buffer): ReadIn {
  need(body, 20, 'READ');
  return { fh: body.readBigUInt64LE(0), offset: body.readBigUInt64LE(8), size: body.readUInt32LE(16) };
}

/** The leading u32 of a request body of at least `size` bytes. */
function leadingU32(body: Buffer, size: number, what: string): number {
  need(body, size, what);
  return body.readUInt32LE(0);
}

/** fuse_open_in: the open(2) flags. */
export const decodeOpen = (body: Buffer): number => leadingU32(body, 4, 'OPEN');

/** fuse_access_in: the access(2) mask. */
export const decodeAccess = (body: Buffer): number => leadingU32(body, 4, 'ACCESS');

/** fuse_getxattr_in (GETXATTR, LISTXATTR): the caller's buffer size; 0 asks for the size. */
export const decodeXattrSize = (body: Buffer): number => leadingU32(body, 8, 'xattr');

/** fuse_release_in / fuse_flush_in: the file handle. */
export function decodeFh(body: Buffer): bigint {
  need(body, 8, 'file handle');
  return body.readBigUInt64LE(0);
}

// ---- replies -----------------------------------------------------------------------------------

/** A reply: header plus payload in one buffer, so one write(2) sends it whole. */
export function encodeReply(unique: bigint, error: number, payload?: Buffer): Buffer {
  const len = OUT_HEADER_SIZE + (error === 0 && payload ? payload.length : 0);
  const out = Buffer.alloc(len);
  out.writeUInt32LE(len, 0);
  out.writeInt32LE(error === 0 ? 0 : -Math.abs(error), 4);
  out.writeBigUInt64LE(unique, 8);
  if (error === 0 && payload) payload.copy(out, OUT_HEADER_SIZE);
  return out;
}

/** An unsolicited notification: unique 0, the code in the error field. */
export function encodeNotify(code: number, payload?: Buffer): Buffer {
  const len = OUT_HEADER_SIZE + (payload?.length ?? 0);
  const out = Buffer.alloc(len);
  out.writeUInt32LE(len, 0);
  out.writeInt32LE(code, 4);
  out.writeBigUInt64LE(0n, 8);
  payload?.copy(out, OUT_HEADER_SIZE);
  return out;
}

/** What the server settled on in INIT; later struct sizes follow `minor`. */
/**
 * fuse_notify_store_out storing one byte at `size - 1`: grows the kernel's i_size of `nodeid` to
 * `size` (a store of no data leaves i_size alone: fuse_write_update_attr wants written > 0).
 */
export function encodeNotifyGrowSize(nodeid: bigint, size: bigint): Buffer {
  const b = Buffer.alloc(25);
  b.writeBigUInt64LE(nodeid, 0);
  b.writeBigUInt64LE(size - 1n, 8);
  b.writeUInt32LE(1, 16);
  b[24] = 0x0a;
  return encodeNotify(NotifyCode.STORE, b);
}

export interface Negotiated {
  major: number;
  minor: number;
  maxReadahead: number;
  flags: number;
}

export const MAX_WRITE = 4096;

export function negotiate(init: InitIn): Negotiated {
  const minor = Math.min(init.minor, OUR_MINOR);
  const flags = init.flags & (FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES);
  return { major: FUSE_KERNEL_VERSION, minor, maxReadahead: init.maxReadahead, flags };
}

/** fuse_init_out: 8 bytes before 7.5, 24 bytes before 7.23, 64 bytes since. */
export function encodeInitOut(n: Negotiated): Buffer {
  const size = n.minor < 5 ? 8 : n.minor < 23 ? 24 : 64;
  const b = Buffer.alloc(size);
  b.writeUInt32LE(n.major, 0);
  b.writeUInt32LE(n.minor, 4);
  if (size >= 24) {
    b.writeUInt32LE(n.maxReadahead, 8);
    b.writeUInt32LE(n.flags, 12);
    b.writeUInt16LE(16, 16); // max_background
    b.writeUInt16LE(12, 18); // congestion_threshold
    b.writeUInt32LE(MAX_WRITE, 20);
  }
  if (size >= 64) {
    b.writeUInt32LE(1, 24); // time_gran (ns)
    b.writeUInt16LE(32, 28); // max_pages: 128 KiB reads, used only with FUSE_MAX_PAGES
  }
  return b;
}

/** The major-version mismatch answer: our major alone, the kernel then re-sends INIT. */
export function encodeInitMajorOnly(): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(FUSE_KERNEL_VERSION, 0);
  b.writeUInt32LE(OUR_MINOR, 4);
  return b;
}

export interface Attr {
  ino: bigint;
  size: bigint;
  mode: number;
  nlink: number;
  /** Seconds since the epoch, for atime, mtime and ctime alike. */
  timeSec: bigint;
}

const ATTR_SIZE = 88;

function writeAttr(b: Buffer, at: number, a: Attr, minor: number): void {
  b.writeBigUInt64LE(a.ino, at);
  b.writeBigUInt64LE(a.size, at + 8);
  b.writeBigUInt64LE((a.size + 511n) / 512n, at + 16);
  b.writeBigUInt64LE(a.timeSec, at + 24);
  b.writeBigUInt64LE(a.timeSec, at + 32);
  b.writeBigUInt64LE(a.timeSec, at + 40);
  // atimensec, mtimensec, ctimensec stay 0 (at + 48 .. 60)
  b.writeUInt32LE(a.mode, at + 60);
  b.writeUInt32LE(a.nlink, at + 64);
  // uid, gid, rdev stay 0 (root)
  if (minor >= 9) b.writeUInt32LE(4096, at + 80); // blksize, added in 7.9
}

/** fuse_attr_out: 96 bytes before 7.9 (no blksize/padding), 104 since. */
export function encodeAttrOut(a: Attr, validSec: bigint, minor: number): Buffer {
  const b = Buffer.alloc(minor < 9 ? 96 : 16 + ATTR_SIZE);
  b.writeBigUInt64LE(validSec, 0);
  writeAttr(b, 16, a, minor);
  return b;
}

const ENTRY_SIZE = 40 + ATTR_SIZE;

function writeEntry(b: Buffer, at: number, nodeid: bigint, a: Attr, validSec: bigint, minor: number): void {
  b.writeBigUInt64LE(nodeid, at);
  b.writeBigUInt64LE(0n, at + 8); // generation: node ids are never reused
  b.writeBigUInt64LE(validSec, at + 16);
  b.writeBigUInt64LE(validSec, at + 24);
  writeAttr(b, at + 40, a, minor);
}

/** fuse_entry_out: 120 bytes before 7.9, 128 since. */
export function encodeEntryOut(nodeid: bigint, a: Attr, validSec: bigint, minor: number): Buffer {
  const b = Buffer.alloc(minor < 9 ? 120 : ENTRY_SIZE);
  writeEntry(b, 0, nodeid, a, validSec, minor);
  return b;
}

export function encodeOpenOut(fh: bigint, openFlags: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(fh, 0);
  b.writeUInt32LE(openFlags, 8);
  return b;
}

/** fuse_statfs_out: 48 bytes before 7.4 (no frsize), 80 since. */
export function encodeStatfsOut(files: number, minor: number): Buffer {
  const b = Buffer.alloc(minor < 4 ? 48 : 80);
  // blocks, bfree, bavail = 0: nothing to store here
  b.writeBigUInt64LE(BigInt(files), 24);
  b.writeUInt32LE(4096, 40); // bsize
  b.writeUInt32LE(255, 44); // namelen
  if (minor >= 4) b.writeUInt32LE(4096, 48); // frsize
  return b;
}

/** fuse_getxattr_out: the size the caller would need (always 0 here). */
export function encodeXattrSizeOut(size: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(size, 0);
  return b;
}

export interface DirEntry {
  name: string;
  nodeid: bigint;
  type: number;
  attr?: Attr;
}

const align8 = (n: number): number => (n + 7) & ~7;

/**
 * READDIR / READDIRPLUS payload: entries from index `offset` on, as many as fit in `size`.
 * Each entry's `off` is the index of the next one, which is what the kernel hands back.
 * For READDIRPLUS, "." and ".." carry nodeid 0 so the kernel takes no lookup reference.
 */
export function encodeDirents(
  entries: readonly DirEntry[],
  offset: bigint,
  size: number,
  plus: boolean,
  validSec: bigint,
  minor: number,
): Buffer {
  const parts: Buffer[] = [];
  let used = 0;
  for (let i = offset < BigInt(entries.length) ? Number(offset) : entries.length; i < entries.length; i++) {
    const e = entries[i];
    const name = Buffer.from(e.name, 'utf8');
    const direntLen = align8(24 + name.length);
    const len = (plus ? ENTRY_SIZE : 0) + direntLen;
    if (used + len > size) break;
    const b = Buffer.alloc(len);
    let at = 0;
    if (plus) {
      const dot = e.name === '.' || e.name === '..';
      if (!dot && e.attr) writeEntry(b, 0, e.nodeid, e.attr, validSec, minor);
      at = ENTRY_SIZE;
    }
    b.writeBigUInt64LE(e.nodeid, at);
    b.writeBigUInt64LE(BigInt(i + 1), at + 8);
    b.writeUInt32LE(name.length, at + 16);
    b.writeUInt32LE(e.type, at + 20);
    name.copy(b, at + 24);
    parts.push(b);
    used += len;
  }
  return Buffer.concat(parts, used);
}
