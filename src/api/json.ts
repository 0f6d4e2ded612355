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
    // Columns of numbers (history answers): V8's own writer writes each number as String() does, NaN as null.
    if (indent === 0) return void out.push(JSON.stringify(Array.from(v)));
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
