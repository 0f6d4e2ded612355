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

/**
 * A schema made ready for the walk: every node is one class, so each read the walk makes of a
 * node sees one object layout. `site` numbers the parts that stand for their content (records,
 * and parts marked `same`), -1 for the others.
 */
class Node {
  constructor(
    readonly kind: Kind,
    readonly names: readonly string[],
    readonly fields: readonly Node[],
    readonly item: Node | null,
    readonly site: number,
  ) {}
}

function prepare(schema: Schema): Node {
  let sites = 0;
  const node = (s: Schema): Node => {
    switch (s.kind) {
      case Kind.Obj:
        return new Node(s.kind, s.names, s.fields.map(node), null, s.same ? sites++ : -1);
      case Kind.List:
        return new Node(s.kind, [], [], node(s.item), s.same ? sites++ : -1);
      case Kind.Rec:
        return new Node(s.kind, [], [], node(s.item), sites++);
      case Kind.Map:
        return new Node(s.kind, [], [], node(s.item), -1);
      default:
        return new Node(s.kind, [], [], null, -1);
    }
  };
  return node(schema);
}

/**
 * One take in progress: where the next token, leaf and reference go, and whether the shape
 * differs from the previous value's so far. Takes are synchronous and never nested, so one walk
 * serves them all.
 */
class Walk {
  tokens: unknown[] = [];
  leaves: Leaf[] = [];
  refs: unknown[] = [];
  base: readonly unknown[] = [];
  previousLeaves: readonly Leaf[] = [];
  lastRecords: TakeMemory['lastRecords'] = [];
  take = 0;
  t = 0;
  l = 0;
  r = 0;
  changed = false;

  token(x: unknown): void {
    if (this.base[this.t] !== x) this.changed = true;
    this.tokens[this.t++] = x;
  }

  value(n: Node, v: unknown): void {
    if (v === undefined) this.token(UNDEFINED);
    else if (v === null) this.token(NULL);
    else if (n.site >= 0) this.remembered(n, v);
    else this.body(n, v);
  }

  /**
   * The same object at the same place in the previous take: its tokens and leaves are the
   * previous ones, copied instead of taken again.
   */
  remembered(n: Node, v: unknown): void {
    let m = this.lastRecords[n.site];
    if (m !== undefined && m.record === v && m.take === this.take - 1 && m.token === this.t && m.leaf === this.l) {
      for (let j = 0; j < m.tokens; j++, this.t++) this.tokens[this.t] = this.base[this.t];
      for (let j = 0; j < m.leaves; j++, this.l++) this.leaves[this.l] = this.previousLeaves[this.l];
      m.take = this.take;
      return;
    }
    if (m === undefined) m = this.lastRecords[n.site] = { record: null, take: 0, token: 0, leaf: 0, tokens: 0, leaves: 0 };
    m.record = v;
    m.take = this.take;
    m.token = this.t;
    m.leaf = this.l;
    this.body(n, v);
    m.tokens = this.t - m.token;
    m.leaves = this.l - m.leaf;
  }

  body(n: Node, v: unknown): void {
    switch (n.kind) {
      case Kind.Big:
      case Kind.Num:
        this.token(PRESENT);
        this.leaves[this.l++] = v as Leaf;
        return;
      case Kind.Str:
        this.token(v);
        return;
      case Kind.Ref:
        this.token(PRESENT);
        this.refs[this.r++] = v;
        return;
      case Kind.Obj: {
        this.token(PRESENT);
        const o = v as Record<string, unknown>;
        for (let i = 0; i < n.names.length; i++) {
          const x = o[n.names[i]];
          if (x === undefined && !Object.hasOwn(o, n.names[i])) this.token(ABSENT);
          else this.value(n.fields[i], x);
        }
        return;
      }
      case Kind.List: {
        const a = v as readonly unknown[];
        this.token(a.length);
        for (let i = 0; i < a.length; i++) this.value(n.item!, a[i]);
        return;
      }
      case Kind.Rec: {
        this.token(PRESENT);
        const o = v as Record<string, unknown>;
        for (const k in o) {
          this.token(k);
          this.value(n.item!, o[k]);
        }
        this.token(END);
        return;
      }
      case Kind.Map: {
        const m = v as ReadonlyMap<unknown, unknown>;
        this.token(m.size);
        for (const [k, x] of m) {
          this.token(k);
          this.value(n.item!, x);
        }
        return;
      }
    }
  }
}

const walk = new Walk();
const NOTHING: readonly never[] = [];
const NO_RECORDS: TakeMemory['lastRecords'] = [];
const takers = new WeakMap<Schema, Taker>();

/**
 * The taker of a schema: a walk of the value along the schema. A record (Kind.Rec), or a part
 * marked `same`, passed again as the same object is taken to hold what it held: samplers never
 * change an object they handed out.
 */
export function takerOf(schema: Schema): Taker {
  let taker = takers.get(schema);
  if (!taker) {
    const root = prepare(schema);
    taker = (p, v0, base, previousLeaves, memory) => {
      const w = walk;
      w.tokens = p.tokens;
      w.leaves = p.leaves;
      w.refs = p.refs;
      w.base = base;
      w.previousLeaves = previousLeaves;
      w.lastRecords = memory.lastRecords;
      w.take = ++memory.takes;
      w.t = w.l = w.r = 0;
      w.changed = false;
      w.value(root, v0);
      p.tokenCount = w.t;
      p.leafCount = w.l;
      p.refCount = w.r;
      p.shapeChanged = w.changed || w.t !== base.length;
      // Holds on to no series between takes (a removed container's would stay alive).
      w.base = w.previousLeaves = NOTHING;
      w.lastRecords = NO_RECORDS;
    };
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
