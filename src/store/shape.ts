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
 * figures did not change (see the taker), so the object stands for its content. Records always
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
const ABSENT = -1;
const UNDEFINED = -2;
const NULL = -3;
const PRESENT = -4;
const END = -5;

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

/** What one series keeps from one take to the next for the parts that stand for their content (see `remembered` below). */
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

const takers = new WeakMap<Schema, Taker>();

/**
 * The taker of a schema, compiled once into straight-line JavaScript: every property is read
 * by its literal name, so each read site sees one object layout. A generic walk reading
 * `o[names[i]]` took 1.8 µs a container sample (megamorphic reads), this takes a fraction.
 * Names come from the schemas in this folder, never from input. A record (Kind.Rec), or a part
 * marked `same`, passed again as the same object is taken to hold what it held: samplers never
 * change an object they handed out.
 */
export function takerOf(schema: Schema): Taker {
  let taker = takers.get(schema);
  if (!taker) {
    let vars = 0;
    let records = 0;
    const tok = (x: string) => `if (base[t] !== ${x}) changed = true; tokens[t++] = ${x};`;
    const value = (s: Schema, v: string): string => `if (${v} === undefined) { ${tok(String(UNDEFINED))} } else if (${v} === null) { ${tok(String(NULL))} } else { ${body(s, v)} }`;
    // The same object at the same place in the previous take: its tokens and leaves are the
    // previous ones, copied instead of taken again.
    const remembered = (v: string, inner: string): string => {
      const m = `m${++vars}`;
      const site = records++;
      return `let ${m} = lastRecords[${site}];
if (${m} !== undefined && ${m}.record === ${v} && ${m}.take === take - 1 && ${m}.token === t && ${m}.leaf === l) {
  for (let j = 0; j < ${m}.tokens; j++, t++) tokens[t] = base[t];
  for (let j = 0; j < ${m}.leaves; j++, l++) leaves[l] = previousLeaves[l];
  ${m}.take = take;
}
else {
  if (${m} === undefined) ${m} = lastRecords[${site}] = { record: null, take: 0, token: 0, leaf: 0, tokens: 0, leaves: 0 };
  ${m}.record = ${v}; ${m}.take = take; ${m}.token = t; ${m}.leaf = l;
  ${inner}
  ${m}.tokens = t - ${m}.token; ${m}.leaves = l - ${m}.leaf;
}`;
    };
    const body = (s: Schema, v: string): string => {
      switch (s.kind) {
        case Kind.Big:
        case Kind.Num:
          return `${tok(String(PRESENT))} leaves[l++] = ${v};`;
        case Kind.Str:
          return tok(v);
        case Kind.Ref:
          return `${tok(String(PRESENT))} refs[r++] = ${v};`;
        case Kind.Obj: {
          const fields = s.names
            .map((name, i) => {
              const x = `v${++vars}`;
              const key = JSON.stringify(name);
              return `const ${x} = ${v}[${key}]; if (${x} === undefined && !Object.hasOwn(${v}, ${key})) { ${tok(String(ABSENT))} } else { ${value(s.fields[i], x)} }`;
            })
            .join('\n');
          return s.same ? remembered(v, tok(String(PRESENT)) + fields) : tok(String(PRESENT)) + fields;
        }
        case Kind.List: {
          const i = `i${++vars}`;
          const x = `v${++vars}`;
          const items = `${tok(`${v}.length`)} for (let ${i} = 0; ${i} < ${v}.length; ${i}++) { const ${x} = ${v}[${i}]; ${value(s.item, x)} }`;
          return s.same ? remembered(v, items) : items;
        }
        case Kind.Rec: {
          const k = `k${++vars}`;
          const x = `v${++vars}`;
          return remembered(v, `${tok(String(PRESENT))} for (const ${k} in ${v}) { ${tok(k)} const ${x} = ${v}[${k}]; ${value(s.item, x)} } ${tok(String(END))}`);
        }
        case Kind.Map: {
          const k = `k${++vars}`;
          const x = `v${++vars}`;
          return `${tok(`${v}.size`)} for (const [${k}, ${x}] of ${v}) { ${tok(k)} ${value(s.item, x)} }`;
        }
      }
    };
    const code = `const tokens = p.tokens, leaves = p.leaves, refs = p.refs, lastRecords = memory.lastRecords;
let t = 0, l = 0, r = 0, changed = false;
const take = ++memory.takes;
${value(schema, 'v0')}
if (t !== base.length) changed = true;
p.tokenCount = t; p.leafCount = l; p.refCount = r; p.shapeChanged = changed;`;
    taker = new Function('p', 'v0', 'base', 'previousLeaves', 'memory', code) as Taker;
    takers.set(schema, taker);
  }
  return taker;
}

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
