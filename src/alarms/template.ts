/**
 * The part of Prometheus' alert templates (Go text/template with Prometheus' functions) that
 * rules on container metrics use: `{{ $labels.NAME }}`, `{{ .Labels.NAME }}`, `{{ $value }}`,
 * `{{ .Value }}`, `{{ $labels }}`, and the functions humanize, humanizePercentage and
 * printf "%.Nf", called directly or through a pipe. Templates are compiled at load; anything
 * else is refused with the construct named, never printed raw.
 */
type Arg = { kind: 'value' } | { kind: 'label'; name: string } | { kind: 'labels' } | { kind: 'string'; text: string };
interface Action {
  arg: Arg;
  funcs: Array<{ name: 'humanize' | 'humanizePercentage' | 'printf'; format?: string }>;
}
type Part = string | Action;

export interface TemplateData {
  /** The alert's labels as the expression returned them (with `__name__` when it kept one). */
  labels: Readonly<Record<string, string>>;
  value: number;
}

export class TemplateError extends Error {
  override name = 'TemplateError';
}

export type Template = (data: TemplateData) => string;

function parseArg(text: string): Arg {
  if (text === '$value' || text === '.Value') return { kind: 'value' };
  if (text === '$labels' || text === '.Labels') return { kind: 'labels' };
  const m = /^(?:\$labels|\.Labels)\.([a-zA-Z_][a-zA-Z0-9_]*)$/.exec(text);
  if (m) return { kind: 'label', name: m[1] };
  const s = /^"((?:[^"\\]|\\.)*)"$/.exec(text);
  if (s) return { kind: 'string', text: JSON.parse(`"${s[1]}"`) as string };
  throw new TemplateError(`unsupported template argument ${JSON.stringify(text)} (supported: $value, $labels, $labels.NAME, .Value, .Labels.NAME)`);
}

function parseAction(body: string): Action {
  const stages = body.split('|').map((s) => s.trim());
  const first = stages[0].split(/\s+/);
  let action: Action;
  if (first.length === 1) action = { arg: parseArg(first[0]), funcs: [] };
  else if ((first[0] === 'humanize' || first[0] === 'humanizePercentage') && first.length === 2) action = { arg: parseArg(first[1]), funcs: [{ name: first[0] }] };
  else if (first[0] === 'printf') {
    const m = /^printf\s+"(%\.\d+f|%f|%s|%v|%d)"\s+(\S+)$/.exec(stages[0]);
    if (!m) throw new TemplateError(`unsupported printf ${JSON.stringify(stages[0])} (supported: printf "%.Nf" $value)`);
    action = { arg: parseArg(m[2]), funcs: [{ name: 'printf', format: m[1] }] };
  } else throw new TemplateError(`unsupported template action {{ ${body} }}`);
  for (const stage of stages.slice(1)) {
    if (stage !== 'humanize' && stage !== 'humanizePercentage') throw new TemplateError(`unsupported template function ${JSON.stringify(stage)} in a pipeline`);
    action.funcs.push({ name: stage });
  }
  return action;
}

/** Compiles a template; throws TemplateError naming what it cannot do. */
export function compileTemplate(text: string): Template {
  const parts: Part[] = [];
  let at = 0;
  for (;;) {
    const open = text.indexOf('{{', at);
    if (open < 0) {
      parts.push(text.slice(at));
      break;
    }
    const close = text.indexOf('}}', open);
    if (close < 0) throw new TemplateError(`unclosed action starting at position ${open}`);
    let lead = text.slice(at, open);
    let body = text.slice(open + 2, close);
    let next = close + 2;
    // {{- and -}} trim the whitespace beside them, as in text/template.
    if (body.startsWith('- ')) {
      lead = lead.trimEnd();
      body = body.slice(1);
    }
    if (body.endsWith(' -')) {
      body = body.slice(0, -1);
      while (next < text.length && /\s/.test(text[next])) next++;
    }
    parts.push(lead, parseAction(body.trim()));
    at = next;
  }
  return (data) => {
    let out = '';
    for (const p of parts) out += typeof p === 'string' ? p : render(p, data);
    return out;
  };
}

function render(a: Action, data: TemplateData): string {
  let v: number | string;
  switch (a.arg.kind) {
    case 'value':
      v = data.value;
      break;
    case 'label':
      // Prometheus runs templates with missingkey=zero: an absent label prints as "".
      v = data.labels[a.arg.name] ?? '';
      break;
    case 'labels':
      v = `map[${Object.keys(data.labels)
        .filter((k) => k !== '__name__')
        .sort()
        .map((k) => `${k}:${data.labels[k]}`)
        .join(' ')}]`;
      break;
    case 'string':
      v = a.arg.text;
  }
  for (const f of a.funcs) {
    const x = typeof v === 'number' ? v : Number(v);
    if (f.name === 'humanize') v = humanize(x);
    else if (f.name === 'humanizePercentage') v = `${formatG(x * 100, 4)}%`;
    else v = printf(f.format!, v);
  }
  return typeof v === 'number' ? formatGoFloat(v) : v;
}

function printf(format: string, v: number | string): string {
  if (format === '%s' || format === '%v') return typeof v === 'number' ? formatGoFloat(v) : v;
  const x = typeof v === 'number' ? v : Number(v);
  if (format === '%d') return typeof v === 'number' ? `%!d(float64=${formatGoFloat(v)})` : v;
  const digits = format === '%f' ? 6 : Number(/\d+/.exec(format)![0]);
  return Number.isFinite(x) ? x.toFixed(digits) : formatGoFloat(x);
}

function special(v: number): string | undefined {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return undefined;
}

/** Go's %g with the given significant digits (-1: shortest), trailing zeros removed, as strconv formats it. */
function formatG(v: number, precision: number): string {
  const s = special(v);
  if (s) return s;
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const [mant, expText] = (precision < 0 ? v.toExponential() : v.toExponential(precision - 1)).split('e');
  const exp = Number(expText);
  const digits = mant.replace(/^-/, '').replace('.', '').replace(/0+$/, '') || '0';
  const eprec = precision < 0 ? 6 : precision;
  const sign = v < 0 ? '-' : '';
  if (exp < -4 || exp >= eprec) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return `${sign}${digits}${'0'.repeat(exp + 1 - digits.length)}`;
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}

/** How a float64 prints in a Go template ({{ $value }}: fmt's %v). */
export function formatGoFloat(v: number): string {
  return formatG(v, -1);
}

/** Prometheus' humanize: SI prefixes in steps of 1000, four significant digits. */
export function humanize(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return formatG(v, 4);
  const abs = Math.abs(v);
  if (abs >= 1) {
    const prefixes = ['', 'k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'];
    let i = 0;
    while (Math.abs(v) >= 1000 && i < prefixes.length - 1) {
      v /= 1000;
      i++;
    }
    return `${formatG(v, 4)}${prefixes[i]}`;
  }
  const prefixes = ['', 'm', 'u', 'n', 'p', 'f', 'a', 'z', 'y'];
  let i = 0;
  while (Math.abs(v) < 1 && i < prefixes.length - 1) {
    v *= 1000;
    i++;
  }
  return `${formatG(v, 4)}${prefixes[i]}`;
}
