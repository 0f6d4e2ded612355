/**
 * The generated taker (src/store/taker.ts) against a plain walk along the schema written here
 * as its reference: the same tokens, leaves, references and shape changes, take after take,
 * for values that go through every kind of schema node, absent and undefined and null fields,
 * lists growing and shrinking, and parts passed again as the same objects (copied from the
 * previous take) or as new objects of the same content.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ABSENT, END, Kind, NULL, PRESENT, Parts, TakeMemory, UNDEFINED, big, list, map, num, obj, rec, ref, same, str, type Leaf, type Schema, type Taker } from '../../src/store/shape.js';
import { takerOf } from '../../src/store/taker.js';

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

/** The reference taker: a plain walk of the value along the schema. */
function plainTakerOf(schema: Schema): Taker {
  const root = prepare(schema);
  return (p, v0, base, previousLeaves, memory) => {
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
}

interface Value {
  id: string;
  n?: bigint;
  x: number | null;
  tags?: string[];
  stat: Record<string, bigint>;
  cpu: { user: bigint; system: bigint };
  ifaces: { name: string; rx: bigint }[];
  byName: Map<string, { v: number }>;
  fs?: unknown;
}

const SCHEMA: Schema = obj<Value>({
  id: str,
  n: big,
  x: num,
  tags: list(str),
  stat: rec(big),
  cpu: same(obj<Value['cpu']>({ user: big, system: big })),
  ifaces: same(list(obj<Value['ifaces'][number]>({ name: str, rx: big }))),
  byName: map(obj<{ v: number }>({ v: num })),
  fs: ref,
});

/** 60 values, each built from the previous one: some parts the same objects, some new. */
function values(): Value[] {
  const out: Value[] = [];
  const fs = { mount: '/' };
  let prev: Value = { id: 'a', n: 1n, x: 0.5, tags: ['t'], stat: { cache: 1n, rss: 2n }, cpu: { user: 1n, system: 2n }, ifaces: [{ name: 'eth0', rx: 5n }], byName: new Map([['k', { v: 1 }]]), fs };
  for (let i = 0; i < 60; i++) {
    const v: Value = { ...prev, byName: new Map(prev.byName) };
    if (i % 3 === 0) v.cpu = { user: prev.cpu.user + BigInt(i), system: prev.cpu.system };
    if (i % 5 === 0) v.stat = { ...prev.stat, rss: prev.stat.rss + 1n };
    if (i % 7 === 0) v.stat = { ...v.stat, [`k${i}`]: BigInt(i) };
    if (i % 4 === 0) v.ifaces = i % 8 === 0 ? [...prev.ifaces, { name: `veth${i}`, rx: 2n ** 60n }] : prev.ifaces.slice(1);
    if (i % 6 === 0) v.ifaces = prev.ifaces.map((f) => ({ ...f })); // the same content, new objects
    if (i % 9 === 0) delete v.n;
    else if (i % 9 === 1) v.n = undefined;
    else v.n = BigInt(i) * 1000n;
    v.x = i % 11 === 0 ? null : i / 3;
    if (i % 13 === 0) v.tags = undefined;
    else if (i % 13 === 1) v.tags = ['a', 'b'];
    if (i % 10 === 0) v.byName.set(`m${i}`, { v: i });
    if (i % 17 === 0) v.fs = { mount: '/data' };
    out.push(v);
    prev = v;
  }
  return out;
}

/** Takes every value in turn as a history does, each against the previous one's tokens and leaves. */
function takeAll(take: Taker, vals: readonly Value[]) {
  const p = new Parts();
  const memory = new TakeMemory();
  let base: unknown[] = [];
  let leaves: Leaf[] = [];
  return vals.map((v) => {
    take(p, v, base, leaves, memory);
    const out = { tokens: p.tokens.slice(0, p.tokenCount), leaves: p.leaves.slice(0, p.leafCount), refs: p.refs.slice(0, p.refCount), changed: p.shapeChanged };
    base = out.tokens;
    leaves = out.leaves;
    return out;
  });
}

test('the generated taker takes every value apart as the plain walk does', () => {
  const vals = values();
  const generated = takeAll(takerOf(SCHEMA), vals);
  const plain = takeAll(plainTakerOf(SCHEMA), vals);
  assert.equal(generated.length, 60);
  for (let i = 0; i < vals.length; i++) assert.deepEqual(generated[i], plain[i], `value ${i}`);
  // The values do move: shapes change (fields come and go, lists grow) and leaves with them.
  assert.ok(generated.filter((g) => g.changed).length >= 10);
  assert.ok(generated.some((g) => g.leaves.includes(2n ** 60n)));
  assert.ok(generated.some((g) => g.tokens.includes(ABSENT)) && generated.some((g) => g.tokens.includes(UNDEFINED)) && generated.some((g) => g.tokens.includes(NULL)));
});
