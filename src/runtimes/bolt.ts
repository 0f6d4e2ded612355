/**
 * A read-only reader of BoltDB files (go.etcd.io/bbolt), the format podman up to 4.x keeps its
 * container and pod list in (libpod/bolt_state.db). Pure: the file's bytes in, buckets out.
 *
 * The format: fixed-size pages; pages 0 and 1 are meta pages, and the valid one (magic, version,
 * FNV-1a checksum) with the higher transaction id names the root bucket's page. A page is a
 * branch (keys and child page ids) or a leaf (keys and values, or keys and nested buckets).
 * A nested bucket's value is its header (root page id, sequence); a root of 0 means the bucket
 * is "inline": its single leaf page follows the header inside the value. A page of more than
 * one page size says so in its `overflow` count. All integers are little-endian.
 *
 * A writer never changes pages a reader of the previous transaction can reach until that
 * transaction is released; a reader that takes the whole file in one read sees either the old
 * meta or the new one, and the pages it names. A file caught mid-way (a page torn by a write
 * that raced the read) fails a check here with a BoltError: read it again later.
 */

const MAGIC = 0xed0cdaed;
const VERSION = 2;
const PAGE_HEADER = 16;
const BRANCH = 0x01;
const LEAF = 0x02;
const META = 0x04;
const BUCKET_LEAF_FLAG = 0x01;
const ELEMENT = 16;
const BUCKET_HEADER = 16;

export class BoltError extends Error {
  constructor(file: string, msg: string) {
    super(`${file}: ${msg}`);
    this.name = 'BoltError';
  }
}

/** A bucket: its plain keys' values, and its nested buckets. */
export interface BoltBucket {
  values: Map<string, Buffer>;
  buckets: Map<string, BoltBucket>;
}

/** FNV-1a, 64 bits, over the meta fields before the checksum (bbolt's meta.sum64). */
function fnv1a64(buf: Buffer, from: number, to: number): bigint {
  let h = 0xcbf29ce484222325n;
  for (let i = from; i < to; i++) {
    h ^= BigInt(buf[i]);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}

interface Meta {
  pageSize: number;
  rootPage: bigint;
  txid: bigint;
}

/** The meta at byte `off` (a page's start), or undefined when it does not check out. */
function metaAt(buf: Buffer, off: number): Meta | undefined {
  if (buf.length < off + PAGE_HEADER + 64) return undefined;
  if ((buf.readUInt16LE(off + 8) & META) === 0) return undefined;
  const m = off + PAGE_HEADER;
  if (buf.readUInt32LE(m) !== MAGIC || buf.readUInt32LE(m + 4) !== VERSION) return undefined;
  // magic, version, pageSize, flags (4 × u32), root bucket (root u64, sequence u64), freelist, pgid, txid (u64 each), checksum.
  if (fnv1a64(buf, m, m + 56) !== buf.readBigUInt64LE(m + 56)) return undefined;
  return { pageSize: buf.readUInt32LE(m + 8), rootPage: buf.readBigUInt64LE(m + 16), txid: buf.readBigUInt64LE(m + 48) };
}

/** Reads the whole database: the root bucket with every nested bucket. */
export function readBolt(buf: Buffer, file = 'bolt database'): BoltBucket {
  const first = metaAt(buf, 0);
  // The second meta is on page 1, one page size in: the first page tells how big a page is.
  const pageSize = first?.pageSize ?? 4096;
  const second = metaAt(buf, pageSize);
  const meta = first && second ? (second.txid > first.txid ? second : first) : (first ?? second);
  if (!meta) throw new BoltError(file, 'no valid meta page (not a bolt database, or torn)');
  const pageOffset = (id: bigint): number => {
    const off = Number(id) * meta.pageSize;
    if (id < 2n || off + PAGE_HEADER > buf.length) throw new BoltError(file, `page ${id} lies outside the file (${buf.length} bytes)`);
    return off;
  };
  return readBucketAt(buf, buf, pageOffset(meta.rootPage), pageOffset, file, 0);
}

const MAX_DEPTH = 64;

/**
 * Walks the tree whose root page starts at byte `off` of `page`: the whole file `buf`, or an
 * inline bucket's value.
 */
function readBucketAt(buf: Buffer, page: Buffer, off: number, pageOffset: (id: bigint) => number, file: string, depth: number): BoltBucket {
  const bucket: BoltBucket = { values: new Map(), buckets: new Map() };
  const visit = (b: Buffer, pageStart: number, level: number): void => {
    if (level > MAX_DEPTH) throw new BoltError(file, 'tree deeper than any real database (a cycle?)');
    const flags = b.readUInt16LE(pageStart + 8);
    const count = b.readUInt16LE(pageStart + 10);
    const elems = pageStart + PAGE_HEADER;
    if (elems + count * ELEMENT > b.length) throw new BoltError(file, `page at byte ${pageStart} holds more elements than fit`);
    for (let i = 0; i < count; i++) {
      const e = elems + i * ELEMENT;
      if (flags & BRANCH) {
        // branchPageElement: pos u32, ksize u32, pgid u64.
        visit(buf, pageOffset(b.readBigUInt64LE(e + 8)), level + 1);
      } else if (flags & LEAF) {
        // leafPageElement: flags u32, pos u32, ksize u32, vsize u32; pos counts from the element.
        const kStart = e + b.readUInt32LE(e + 4);
        const kEnd = kStart + b.readUInt32LE(e + 8);
        const vEnd = kEnd + b.readUInt32LE(e + 12);
        if (vEnd > b.length) throw new BoltError(file, `element ${i} of the page at byte ${pageStart} runs past its page`);
        const key = b.toString('utf8', kStart, kEnd);
        const value = b.subarray(kEnd, vEnd);
        if (b.readUInt32LE(e) & BUCKET_LEAF_FLAG) bucket.buckets.set(key, nestedBucket(value));
        else bucket.values.set(key, value);
      } else {
        throw new BoltError(file, `page at byte ${pageStart} is neither branch nor leaf (flags ${flags})`);
      }
    }
  };
  const nestedBucket = (value: Buffer): BoltBucket => {
    if (value.length < BUCKET_HEADER) throw new BoltError(file, 'bucket header cut short');
    const root = value.readBigUInt64LE(0);
    if (depth >= MAX_DEPTH) throw new BoltError(file, 'buckets nested deeper than any real database');
    if (root === 0n) return readBucketAt(buf, value, BUCKET_HEADER, pageOffset, file, depth + 1);
    return readBucketAt(buf, buf, pageOffset(root), pageOffset, file, depth + 1);
  };
  visit(page, off, 0);
  return bucket;
}
