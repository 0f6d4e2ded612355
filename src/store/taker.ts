/**
 * The raw history's taker (see shape.ts): takes a sample apart into its shape tokens, leaves and
 * references, and compares its shape with the previous sample's. It is the one place where
 * cstats generates code at run time: each schema's taker is compiled once into straight-line
 * JavaScript, every property read by its literal name, so each read site sees one object layout.
 * Names come from the schemas in sample-schema.ts, never from input.
 *
 * Why not a plain walk along the schema (`o[names[i]]`, one node class, one walk object: the
 * reference implementation in tests/store/taker.test.ts, which checks this one against it): it
 * costs more, in SampleHistory.record's CPU time replayed over the same real Docker samples,
 * alternating the two in one process (bench/history, 6 idle and 2 busy containers, six rounds
 * of 10 replays each, µs a sample):
 *
 *                       plain walk                      generated
 *   idle containers     2.73 3.10 2.84 2.74 2.41        2.09 1.92 2.03 1.90 1.80 2.20
 *   busy containers     4.62 4.09 4.25 4.30             2.68 3.16 2.52 2.82
 *
 * (first rounds left out: still warming up). 0.8 µs more an idle sample and 1.5 µs a busy one,
 * against some 15 µs the agent spends a container-sample in all: more than the 5 % issue 16
 * allows. A record (Kind.Rec), or a part marked `same`, passed again as the same object is taken
 * to hold what it held: samplers never change an object they handed out.
 */
import { ABSENT, END, Kind, NULL, PRESENT, UNDEFINED, type Schema, type Taker } from './shape.js';

const takers = new WeakMap<Schema, Taker>();

/** The taker of a schema, compiled on first use. */
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
