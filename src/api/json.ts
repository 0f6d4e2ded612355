/**
 * JSON with exact 64-bit integers: bigint values are written as plain JSON numbers with every
 * digit (JSON.stringify refuses bigint, and Number() would round above 2^53). Non-finite floats
 * become null. Map objects are written as objects; an object with a toJSON method as what it returns;
 * a Float64Array as an array.
 */
export function toJson(value: unknown, indent = 0): string {
  const out: string[] = [];
  write(value, out, indent, '');
  return out.join('');
}

function write(v: unknown, out: string[], indent: number, pad: string): void {
  switch (typeof v) {
    case 'bigint':
      out.push(v.toString());
      return;
    case 'number':
      out.push(Number.isFinite(v) ? String(v) : 'null');
      return;
    case 'string':
      out.push(JSON.stringify(v));
      return;
    case 'boolean':
      out.push(v ? 'true' : 'false');
      return;
    case 'undefined':
    case 'function':
    case 'symbol':
      out.push('null');
      return;
  }
  if (v === null) {
    out.push('null');
    return;
  }
  const inner = indent > 0 ? pad + ' '.repeat(indent) : '';
  const nl = indent > 0 ? '\n' : '';
  const colon = indent > 0 ? ': ' : ':';
  if (v instanceof Float64Array) {
    if (indent === 0) return void out.push(numbersJson(v));
    v = Array.from(v);
  }
  if (Array.isArray(v)) {
    if (v.length === 0) return void out.push('[]');
    out.push('[', nl);
    v.forEach((item, i) => {
      if (i > 0) out.push(',', nl);
      out.push(inner);
      write(item, out, indent, inner);
    });
    out.push(nl, pad, ']');
    return;
  }
  // As JSON.stringify: an object that says how it is written (toJSON) is written so.
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return write((v as { toJSON(): unknown }).toJSON(), out, indent, pad);
  const entries = v instanceof Map ? [...v.entries()].map(([k, x]) => [String(k), x] as const) : Object.entries(v as object);
  const kept = entries.filter(([, x]) => x !== undefined && typeof x !== 'function');
  if (kept.length === 0) return void out.push('{}');
  out.push('{', nl);
  kept.forEach(([k, x], i) => {
    if (i > 0) out.push(',', nl);
    out.push(inner, JSON.stringify(k), colon);
    write(x, out, indent, inner);
  });
  out.push(nl, pad, '}');
}

/** Runs of NaN at least this long are written at once rather than number by number. */
const NULL_RUN = 32;

/**
 * A column of numbers (a history answer's): V8's own writer writes each number as String() does,
 * NaN and infinities as null; long runs of NaN (nothing sampled) are written at once.
 */
function numbersJson(v: Float64Array): string {
  const parts: string[] = [];
  let from = 0;
  for (let i = 0; i < v.length; ) {
    if (!Number.isNaN(v[i])) {
      i++;
      continue;
    }
    let end = i + 1;
    while (end < v.length && Number.isNaN(v[end])) end++;
    if (end - i >= NULL_RUN) {
      if (i > from) parts.push(JSON.stringify(plain(v, from, i)).slice(1, -1));
      parts.push('null,'.repeat(end - i - 1) + 'null');
      from = end;
    }
    i = end;
  }
  if (from === 0) return JSON.stringify(plain(v, 0, v.length));
  if (from < v.length) parts.push(JSON.stringify(plain(v, from, v.length)).slice(1, -1));
  return `[${parts.join(',')}]`;
}

/** The numbers from `from` to `to` as an array of doubles (a loop of push makes it faster than Array.from). */
function plain(v: Float64Array, from: number, to: number): number[] {
  const a: number[] = [];
  for (let i = from; i < to; i++) a.push(v[i]);
  return a;
}
