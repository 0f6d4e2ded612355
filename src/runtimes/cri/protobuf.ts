/**
 * The few protocol buffer rules the CRI answers need, by field number: varints, length-delimited
 * fields (strings, nested messages, map entries) and skipping what is not asked for (64- and
 * 32-bit fixed fields). A decoded message is a map from field number to its raw values in order;
 * the accessors below turn those into strings, numbers, messages and maps. Int64 values stay
 * bigint (a CRI timestamp is nanoseconds, beyond 2^53).
 */

export class ProtobufError extends Error {
  override name = 'ProtobufError';
}

export type Field = bigint | Buffer;
export type Message = Map<number, Field[]>;

function readVarint(buf: Buffer, pos: number): [bigint, number] {
  let value = 0n;
  for (let shift = 0n; shift < 70n; shift += 7n) {
    if (pos >= buf.length) throw new ProtobufError('varint runs past the end of the message');
    const b = buf[pos++];
    value |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [value & 0xffffffffffffffffn, pos];
  }
  throw new ProtobufError('varint longer than 10 bytes');
}

/** Splits one message into its fields. */
export function decode(buf: Buffer): Message {
  const out: Message = new Map();
  let pos = 0;
  while (pos < buf.length) {
    const [tag, next] = readVarint(buf, pos);
    pos = next;
    const field = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    let value: Field;
    if (wire === 0) {
      [value, pos] = readVarint(buf, pos);
    } else if (wire === 2) {
      const [len, start] = readVarint(buf, pos);
      const end = start + Number(len);
      if (end > buf.length) throw new ProtobufError(`field ${field} claims ${len} bytes, ${buf.length - start} are left`);
      value = buf.subarray(start, end);
      pos = end;
    } else if (wire === 1 || wire === 5) {
      pos += wire === 1 ? 8 : 4; // fixed64 / fixed32: not used by the fields read here
      if (pos > buf.length) throw new ProtobufError(`fixed field ${field} runs past the end`);
      continue;
    } else {
      throw new ProtobufError(`field ${field} has wire type ${wire}, which proto3 does not use`);
    }
    const list = out.get(field);
    if (list) list.push(value);
    else out.set(field, [value]);
  }
  return out;
}

function last(m: Message, field: number): Field | undefined {
  const list = m.get(field);
  return list?.[list.length - 1];
}

export function str(m: Message, field: number): string {
  const v = last(m, field);
  return Buffer.isBuffer(v) ? v.toString('utf8') : '';
}

export function int(m: Message, field: number): bigint {
  const v = last(m, field);
  return typeof v === 'bigint' ? v : 0n;
}

export function msg(m: Message, field: number): Message {
  const v = last(m, field);
  return Buffer.isBuffer(v) ? decode(v) : new Map();
}

export function msgs(m: Message, field: number): Message[] {
  return (m.get(field) ?? []).filter(Buffer.isBuffer).map((b) => decode(b));
}

/** A map<string, string> field: repeated entries of key (1) and value (2). */
export function strMap(m: Message, field: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of msgs(m, field)) out[str(e, 1)] = str(e, 2);
  return out;
}

function varint(n: bigint): Buffer {
  const bytes: number[] = [];
  let v = n;
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    bytes.push(b);
  } while (v > 0n);
  return Buffer.from(bytes);
}

/** Encodes a message of string, boolean and nested-message fields (what requests here need). */
export function encode(fields: [number, string | boolean | Buffer][]): Buffer {
  const parts: Buffer[] = [];
  for (const [field, value] of fields) {
    if (typeof value === 'boolean') {
      if (value) parts.push(varint(BigInt(field << 3)), varint(1n));
      continue;
    }
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    parts.push(varint(BigInt((field << 3) | 2)), varint(BigInt(bytes.length)), bytes);
  }
  return Buffer.concat(parts);
}
