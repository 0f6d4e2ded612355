/**
 * A sample taken apart into three parts, and put back together: its leaves (every bigint and
 * number, in a fixed order), its shape (which optional fields exist and whether they are
 * undefined or null, array lengths, record keys, Map keys, strings) and its references (parts
 * kept as the very objects given, e.g. filesystems that are re-read on a slower cadence and
 * passed again unchanged). A schema says which is which. From one sample to the next the shape
 * almost never changes, so the history stores it once and encodes only the leaves.
 */

export const enum Kind {
  Big,
  Num,
  Str,
  Ref,
  Obj,
  List,
  Rec,
  Map,
}

/**
 * `same`: the sampler hands out this part again as the very object it gave before when its
 * figures did not change (see taker.ts), so the object stands for its content. Records always
 * are: memory.stat's record is one parse while the file's content stands still.
 */
export type Schema =
  | { kind: Kind.Big | Kind.Num | Kind.Str | Kind.Ref }
  | { kind: Kind.Obj; names: readonly string[]; fields: readonly Schema[]; same?: true }
  | { kind: Kind.List; item: Schema; same?: true }
  | { kind: Kind.Rec | Kind.Map; item: Schema };

export const big: Schema = { kind: Kind.Big };
export const num: Schema = { kind: Kind.Num };
export const str: Schema = { kind: Kind.Str };
/** Kept by reference, compared by identity. */
export const ref: Schema = { kind: Kind.Ref };
export const list = (item: Schema): Schema => ({ kind: Kind.List, item });
/** An object with any string keys (memory.stat's record). */
export const rec = (item: Schema): Schema => ({ kind: Kind.Rec, item });
export const map = (item: Schema): Schema => ({ kind: Kind.Map, item });
/** An object with known fields: every field of T must be named (the compiler checks). */
export function obj<T>(fields: { [K in keyof T]-?: Schema }): Schema {
  const names = Object.keys(fields);
  return { kind: Kind.Obj, names, fields: names.map((n) => (fields as Record<string, Schema>)[n]) };
}

function holdsRef(s: Schema): boolean {
  if (s.kind === Kind.Ref) return true;
  if (s.kind === Kind.Obj) return s.fields.some(holdsRef);
  return 'item' in s && holdsRef(s.item);
}

/**
 * An object or list the sampler passes again as the same object while its figures stand still
 * (not one inside a list: each place in the schema remembers one object). It may hold no
 * reference (Ref), which the taker would not carry over.
 */
export function same(s: Schema): Schema {
  if ((s.kind !== Kind.Obj && s.kind !== Kind.List) || holdsRef(s)) throw new Error('same(): an object or list without references');
  return { ...s, same: true };
}

/** Shape tokens for a value that is not there, and the end of a record's keys; any other token (a number, a string) is structure. */
export const ABSENT = -1;
export const UNDEFINED = -2;
export const NULL = -3;
export const PRESENT = -4;
export const END = -5;

export type Leaf = bigint | number;

/**
 * What a sample was taken apart into: scratch that every history of a schema shares (a record
 * is taken apart and encoded in one synchronous call), so a container keeps none of it.
 */
export class Parts {
  /** The shape's tokens; `shapeChanged` tells whether they differ from the previous sample's. */
  readonly tokens: unknown[] = [];
  tokenCount = 0;
  shapeChanged = false;
  readonly leaves: Leaf[] = [];
  leafCount = 0;
  readonly refs: unknown[] = [];
  refCount = 0;
}

/** What one series keeps from one take to the next for the parts that stand for their content (see taker.ts). */
export class TakeMemory {
  /** Values taken so far. */
  takes = 0;
  /** Per such part in the schema: the object taken last, at which take, where its tokens and leaves went. */
  readonly lastRecords: { record: unknown; take: number; token: number; leaf: number; tokens: number; leaves: number }[] = [];
}

/**
 * Takes a value apart into `p`, comparing its shape with `base` (the previous value's tokens);
 * `previousLeaves` are the previous value's leaves.
 */
export type Taker = (p: Parts, value: unknown, base: readonly unknown[], previousLeaves: readonly Leaf[], memory: TakeMemory) => void;

/** Puts a value back together from its shape tokens, leaves and references. */
export function rebuild(schema: Schema, tokens: readonly unknown[], leaves: readonly Leaf[], refs: readonly unknown[]): unknown {
  let t = 0;
  let l = 0;
  let r = 0;
  const get = (s: Schema): unknown => {
    const tok = tokens[t++];
    if (tok === UNDEFINED) return undefined;
    if (tok === NULL) return null;
    switch (s.kind) {
      case Kind.Big:
      case Kind.Num:
        return leaves[l++];
      case Kind.Str:
        return tok;
      case Kind.Ref:
        return refs[r++];
      case Kind.Obj: {
        const o: Record<string, unknown> = {};
        for (let i = 0; i < s.names.length; i++) {
          if (tokens[t] === ABSENT) t++;
          else o[s.names[i]] = get(s.fields[i]);
        }
        return o;
      }
      case Kind.List: {
        const a: unknown[] = [];
        for (let i = 0; i < (tok as number); i++) a.push(get(s.item));
        return a;
      }
      case Kind.Rec: {
        const o: Record<string, unknown> = {};
        while (tokens[t] !== END) {
          if (t >= tokens.length) throw new RangeError('shape ends inside a record');
          const key = tokens[t++] as string;
          o[key] = get(s.item);
        }
        t++;
        return o;
      }
      case Kind.Map: {
        const m = new Map<unknown, unknown>();
        for (let i = 0; i < (tok as number); i++) {
          const key = tokens[t++];
          m.set(key, get(s.item));
        }
        return m;
      }
    }
  };
  return get(schema);
}
