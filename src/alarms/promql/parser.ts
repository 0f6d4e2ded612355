/**
 * The part of PromQL that alerting rules on container metrics use, parsed into a small tree.
 * Grammar and precedence as Prometheus' promql/parser (generated_parser.y): `or` < `and`,
 * `unless` < comparisons < `+ -` < `* / %` < unary minus < `^` (right-associative).
 * Anything outside the subset (subqueries, `@`, `group_left`, functions not listed in FUNCTIONS,
 * aggregations not listed in AGGREGATIONS) is a parse error that names the construct, so a rule
 * that cannot be evaluated is refused at load rather than evaluated wrongly.
 */
import { parseGoDuration } from './duration.js';

export type MatchOp = '=' | '!=' | '=~' | '!~';
export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
  /** Anchored, as Prometheus anchors label regexes. */
  re?: RegExp;
}

export type BinOp = '+' | '-' | '*' | '/' | '%' | '^' | '==' | '!=' | '>' | '<' | '>=' | '<=' | 'and' | 'or' | 'unless';

export interface VectorMatching {
  /** on(...) when true, ignoring(...) when false; absent: match on all labels but the name. */
  on: boolean;
  labels: string[];
}

export type Expr =
  | { kind: 'number'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'selector'; name?: string; matchers: Matcher[]; offsetMs: number }
  | { kind: 'range'; selector: Extract<Expr, { kind: 'selector' }>; rangeMs: number }
  | { kind: 'call'; func: string; args: Expr[] }
  | { kind: 'aggregate'; op: string; expr: Expr; grouping?: { without: boolean; labels: string[] } }
  | { kind: 'binary'; op: BinOp; lhs: Expr; rhs: Expr; bool: boolean; matching?: VectorMatching }
  | { kind: 'unary'; expr: Expr }
  | { kind: 'paren'; expr: Expr };

export type ValueType = 'scalar' | 'vector' | 'matrix' | 'string';

/** Functions supported, with their argument types and result type. */
export const FUNCTIONS: Record<string, { args: ValueType[]; optional?: number; returns: ValueType }> = {
  rate: { args: ['matrix'], returns: 'vector' },
  irate: { args: ['matrix'], returns: 'vector' },
  increase: { args: ['matrix'], returns: 'vector' },
  delta: { args: ['matrix'], returns: 'vector' },
  idelta: { args: ['matrix'], returns: 'vector' },
  changes: { args: ['matrix'], returns: 'vector' },
  resets: { args: ['matrix'], returns: 'vector' },
  avg_over_time: { args: ['matrix'], returns: 'vector' },
  min_over_time: { args: ['matrix'], returns: 'vector' },
  max_over_time: { args: ['matrix'], returns: 'vector' },
  sum_over_time: { args: ['matrix'], returns: 'vector' },
  count_over_time: { args: ['matrix'], returns: 'vector' },
  last_over_time: { args: ['matrix'], returns: 'vector' },
  present_over_time: { args: ['matrix'], returns: 'vector' },
  abs: { args: ['vector'], returns: 'vector' },
  ceil: { args: ['vector'], returns: 'vector' },
  floor: { args: ['vector'], returns: 'vector' },
  clamp_min: { args: ['vector', 'scalar'], returns: 'vector' },
  clamp_max: { args: ['vector', 'scalar'], returns: 'vector' },
  time: { args: [], returns: 'scalar' },
  vector: { args: ['scalar'], returns: 'vector' },
  scalar: { args: ['vector'], returns: 'scalar' },
};

export const AGGREGATIONS = new Set(['sum', 'avg', 'min', 'max', 'count', 'group']);

/** Aggregations and functions PromQL has that this subset refuses, for a precise message. */
const KNOWN_UNSUPPORTED = new Set(['topk', 'bottomk', 'quantile', 'count_values', 'stddev', 'stdvar', 'absent', 'absent_over_time', 'histogram_quantile', 'predict_linear', 'deriv', 'holt_winters', 'label_replace', 'label_join', 'sort', 'sort_desc', 'round', 'exp', 'ln', 'log2', 'log10', 'sqrt', 'timestamp', 'quantile_over_time', 'stddev_over_time', 'stdvar_over_time', 'day_of_week', 'hour', 'minute', 'month', 'year', 'days_in_month', 'day_of_month', 'sgn', 'clamp']);

export class PromQLError extends Error {
  override name = 'PromQLError';
}

type Tok = { t: 'num'; v: number; text: string } | { t: 'str'; v: string } | { t: 'id'; v: string } | { t: 'dur'; v: number; text: string } | { t: 'op'; v: string } | { t: 'eof' };

const OPS = ['=~', '!~', '!=', '==', '>=', '<=', '(', ')', '{', '}', '[', ']', ',', '=', '>', '<', '+', '-', '*', '/', '%', '^', ':', '@'];

function lex(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      let s = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\' && c !== '`') {
          const n = src[j + 1];
          s += n === 'n' ? '\n' : n === 't' ? '\t' : n;
          j += 2;
        } else s += src[j++];
      }
      if (j >= src.length) throw new PromQLError(`unterminated string starting at position ${i}`);
      out.push({ t: 'str', v: s });
      i = j + 1;
      continue;
    }
    // A duration (5m, 1h30m) or a number (1, 1.5, 1e3, 0x1f).
    const dur = /^(\d+(ms|s|m|h|d|w|y))+/.exec(src.slice(i));
    if (dur && !/^[\w.]/.test(src.slice(i + dur[0].length))) {
      out.push({ t: 'dur', v: parseGoDuration(dur[0]), text: dur[0] });
      i += dur[0].length;
      continue;
    }
    const num = /^(0x[0-9a-fA-F]+|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)/.exec(src.slice(i));
    if (num) {
      out.push({ t: 'num', v: Number(num[0]), text: num[0] });
      i += num[0].length;
      continue;
    }
    const id = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(src.slice(i));
    if (id) {
      out.push({ t: 'id', v: id[0] });
      i += id[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new PromQLError(`unexpected character ${JSON.stringify(c)} at position ${i}`);
    out.push({ t: 'op', v: op });
    i += op.length;
  }
  out.push({ t: 'eof' });
  return out;
}

const COMPARISONS = new Set(['==', '!=', '>', '<', '>=', '<=']);
/** Binary operator levels, loosest first. */
const LEVELS: string[][] = [['or'], ['and', 'unless'], ['==', '!=', '>', '<', '>=', '<='], ['+', '-'], ['*', '/', '%']];

class Parser {
  private pos = 0;
  constructor(private readonly toks: Tok[]) {}

  private peek(): Tok {
    return this.toks[this.pos];
  }
  private next(): Tok {
    return this.toks[this.pos++];
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return t.t === 'op' && t.v === v;
  }
  private isWord(v: string): boolean {
    const t = this.peek();
    return t.t === 'id' && t.v.toLowerCase() === v;
  }
  private expect(v: string): void {
    const t = this.next();
    if (!(t.t === 'op' && t.v === v)) throw new PromQLError(`expected "${v}", got ${describe(t)}`);
  }

  parse(): Expr {
    const e = this.binary(0);
    if (this.peek().t !== 'eof') throw new PromQLError(`unexpected ${describe(this.peek())} after the expression`);
    return e;
  }

  private binaryOpAt(level: number): string | undefined {
    const t = this.peek();
    const ops = LEVELS[level];
    if (t.t === 'op' && ops.includes(t.v)) return t.v;
    if (t.t === 'id' && ops.includes(t.v.toLowerCase())) return t.v.toLowerCase();
    return undefined;
  }

  private binary(level: number): Expr {
    if (level === LEVELS.length) return this.unary();
    let lhs = this.binary(level + 1);
    for (let op = this.binaryOpAt(level); op !== undefined; op = this.binaryOpAt(level)) {
      this.next();
      let bool = false;
      if (this.isWord('bool')) {
        if (!COMPARISONS.has(op)) throw new PromQLError(`bool modifier can only be used on comparison operators, not "${op}"`);
        this.next();
        bool = true;
      }
      const matching = this.matching();
      const rhs = this.binary(level + 1);
      lhs = this.checkBinary({ kind: 'binary', op: op as BinOp, lhs, rhs, bool, matching });
    }
    return lhs;
  }

  private matching(): VectorMatching | undefined {
    if (!this.isWord('on') && !this.isWord('ignoring')) return undefined;
    const on = (this.next() as { v: string }).v.toLowerCase() === 'on';
    const labels = this.labelList();
    if (this.isWord('group_left') || this.isWord('group_right')) {
      throw new PromQLError(`${(this.peek() as { v: string }).v} (many-to-one matching) is not supported`);
    }
    return { on, labels };
  }

  private checkBinary(e: Extract<Expr, { kind: 'binary' }>): Expr {
    const l = typeOf(e.lhs);
    const r = typeOf(e.rhs);
    if (l === 'string' || r === 'string' || l === 'matrix' || r === 'matrix') {
      throw new PromQLError(`binary expression must contain only scalar and instant vector types, got ${l} ${e.op} ${r}`);
    }
    if (['and', 'or', 'unless'].includes(e.op) && (l !== 'vector' || r !== 'vector')) throw new PromQLError(`set operator "${e.op}" not allowed in binary scalar expression`);
    if (COMPARISONS.has(e.op) && l === 'scalar' && r === 'scalar' && !e.bool) throw new PromQLError('comparisons between scalars must use BOOL modifier');
    if (e.matching && (l !== 'vector' || r !== 'vector')) throw new PromQLError('vector matching only allowed between instant vectors');
    return e;
  }

  private unary(): Expr {
    if (this.isOp('-') || this.isOp('+')) {
      const neg = (this.next() as { v: string }).v === '-';
      const expr = this.unary();
      const t = typeOf(expr);
      if (t !== 'scalar' && t !== 'vector') throw new PromQLError(`unary expression only allowed on expressions of type scalar or instant vector, got ${t}`);
      if (!neg) return expr;
      return expr.kind === 'number' ? { kind: 'number', value: -expr.value } : { kind: 'unary', expr };
    }
    return this.power();
  }

  private power(): Expr {
    const lhs = this.postfix(this.primary());
    if (this.isOp('^')) {
      this.next();
      const rhs = this.unary(); // right-associative, and binds tighter than a unary minus on its left
      return this.checkBinary({ kind: 'binary', op: '^', lhs, rhs, bool: false });
    }
    return lhs;
  }

  /** `[range]`, `offset` and the constructs this subset refuses after a primary expression. */
  private postfix(e: Expr): Expr {
    for (;;) {
      if (this.isOp('[')) {
        this.next();
        const d = this.next();
        if (d.t !== 'dur') throw new PromQLError(`expected a duration in brackets, got ${describe(d)}`);
        // `[5m:1m]`: the lexer reads ":1m" as a name (names may start with a colon).
        const after = this.peek();
        if ((after.t === 'op' && after.v === ':') || (after.t === 'id' && after.v.startsWith(':'))) throw new PromQLError('subqueries are not supported');
        this.expect(']');
        if (e.kind !== 'selector') throw new PromQLError('ranges only allowed for vector selectors');
        e = { kind: 'range', selector: e, rangeMs: d.v };
      } else if (this.isWord('offset')) {
        this.next();
        let sign = 1;
        if (this.isOp('-')) {
          this.next();
          sign = -1;
        }
        const d = this.next();
        if (d.t !== 'dur') throw new PromQLError(`expected a duration after offset, got ${describe(d)}`);
        const sel = e.kind === 'range' ? e.selector : e.kind === 'selector' ? e : undefined;
        if (!sel) throw new PromQLError('offset modifier must be preceded by an instant vector selector or range vector selector');
        sel.offsetMs = sign * d.v;
      } else if (this.isOp('@')) {
        throw new PromQLError('the @ modifier is not supported');
      } else return e;
    }
  }

  private primary(): Expr {
    const t = this.next();
    if (t.t === 'num') return { kind: 'number', value: t.v };
    if (t.t === 'dur') {
      // A bare integer lexes as a duration only with a unit, so this is e.g. "5m" where a number was expected.
      throw new PromQLError(`unexpected duration "${t.text}"`);
    }
    if (t.t === 'str') return { kind: 'string', value: t.v };
    if (t.t === 'op' && t.v === '(') {
      const expr = this.binary(0);
      this.expect(')');
      return { kind: 'paren', expr };
    }
    if (t.t === 'op' && t.v === '{') return this.selector(undefined);
    if (t.t === 'id') {
      const lower = t.v.toLowerCase();
      if (lower === 'inf' || lower === 'nan') return { kind: 'number', value: lower === 'inf' ? Infinity : NaN };
      if (AGGREGATIONS.has(lower) && (this.isOp('(') || this.isWord('by') || this.isWord('without'))) return this.aggregate(lower);
      if (this.isOp('(')) return this.call(t.v);
      if (this.isOp('{')) {
        this.next();
        return this.selector(t.v);
      }
      return { kind: 'selector', name: t.v, matchers: [], offsetMs: 0 };
    }
    throw new PromQLError(`unexpected ${describe(t)}`);
  }

  private selector(name: string | undefined): Expr {
    const matchers: Matcher[] = [];
    while (!this.isOp('}')) {
      const l = this.next();
      if (l.t !== 'id') throw new PromQLError(`expected a label name in the selector, got ${describe(l)}`);
      const op = this.next();
      if (op.t !== 'op' || !['=', '!=', '=~', '!~'].includes(op.v)) throw new PromQLError(`expected a label matching operator after "${l.v}", got ${describe(op)}`);
      const v = this.next();
      if (v.t !== 'str') throw new PromQLError(`expected a string value for label "${l.v}", got ${describe(v)}`);
      matchers.push(makeMatcher(l.v, op.v as MatchOp, v.v));
      if (this.isOp(',')) this.next();
      else if (!this.isOp('}')) throw new PromQLError(`expected "," or "}" in the selector, got ${describe(this.peek())}`);
    }
    this.expect('}');
    const nameMatcher = matchers.find((m) => m.name === '__name__');
    if (name !== undefined && nameMatcher) throw new PromQLError(`metric name must not be set twice: "${name}" and ${nameMatcher.value}`);
    if (name === undefined && matchers.every((m) => matches(m, ''))) {
      throw new PromQLError('vector selector must contain at least one non-empty matcher');
    }
    return { kind: 'selector', name, matchers, offsetMs: 0 };
  }

  private labelList(): string[] {
    this.expect('(');
    const labels: string[] = [];
    while (!this.isOp(')')) {
      const t = this.next();
      if (t.t !== 'id') throw new PromQLError(`expected a label name in the grouping, got ${describe(t)}`);
      labels.push(t.v);
      if (this.isOp(',')) this.next();
      else if (!this.isOp(')')) throw new PromQLError(`expected "," or ")" in the grouping, got ${describe(this.peek())}`);
    }
    this.expect(')');
    return labels;
  }

  private grouping(): { without: boolean; labels: string[] } | undefined {
    if (!this.isWord('by') && !this.isWord('without')) return undefined;
    const without = (this.next() as { v: string }).v.toLowerCase() === 'without';
    return { without, labels: this.labelList() };
  }

  private aggregate(op: string): Expr {
    let grouping = this.grouping();
    this.expect('(');
    const expr = this.binary(0);
    if (this.isOp(',')) throw new PromQLError(`aggregation "${op}" takes no parameter`);
    this.expect(')');
    const after = this.grouping();
    if (grouping && after) throw new PromQLError(`aggregation "${op}" has two groupings`);
    grouping ??= after;
    if (typeOf(expr) !== 'vector') throw new PromQLError(`expected type instant vector in aggregation expression, got ${typeOf(expr)}`);
    return { kind: 'aggregate', op, expr, grouping };
  }

  private call(name: string): Expr {
    const spec = FUNCTIONS[name];
    if (!spec) {
      if (KNOWN_UNSUPPORTED.has(name)) throw new PromQLError(`function "${name}" is not supported by cstats' rule engine`);
      throw new PromQLError(`unknown function with name "${name}"`);
    }
    this.expect('(');
    const args: Expr[] = [];
    while (!this.isOp(')')) {
      args.push(this.binary(0));
      if (this.isOp(',')) this.next();
      else if (!this.isOp(')')) throw new PromQLError(`expected "," or ")" in the arguments of ${name}, got ${describe(this.peek())}`);
    }
    this.expect(')');
    if (args.length !== spec.args.length) throw new PromQLError(`expected ${spec.args.length} argument(s) in call to "${name}", got ${args.length}`);
    spec.args.forEach((want, i) => {
      const got = typeOf(args[i]);
      if (got !== want) throw new PromQLError(`expected type ${typeName(want)} in call to function "${name}", got ${typeName(got)}`);
    });
    return { kind: 'call', func: name, args };
  }
}

function typeName(t: ValueType): string {
  return t === 'vector' ? 'instant vector' : t === 'matrix' ? 'range vector' : t;
}

function describe(t: Tok): string {
  switch (t.t) {
    case 'eof':
      return 'end of input';
    case 'num':
      return `number "${t.text}"`;
    case 'dur':
      return `duration "${t.text}"`;
    case 'str':
      return `string ${JSON.stringify(t.v)}`;
    default:
      return `"${t.v}"`;
  }
}

export function makeMatcher(name: string, op: MatchOp, value: string): Matcher {
  if (op === '=~' || op === '!~') {
    try {
      return { name, op, value, re: new RegExp(`^(?:${value})$`, 's') };
    } catch (err) {
      throw new PromQLError(`invalid regular expression for label "${name}": ${(err as Error).message}`);
    }
  }
  return { name, op, value };
}

/** Whether a label value ("" for an absent label, as in Prometheus) satisfies a matcher. */
export function matches(m: Matcher, value: string): boolean {
  switch (m.op) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return m.re!.test(value);
    case '!~':
      return !m.re!.test(value);
  }
}

export function typeOf(e: Expr): ValueType {
  switch (e.kind) {
    case 'number':
      return 'scalar';
    case 'string':
      return 'string';
    case 'selector':
      return 'vector';
    case 'range':
      return 'matrix';
    case 'call':
      return FUNCTIONS[e.func].returns;
    case 'aggregate':
      return 'vector';
    case 'unary':
    case 'paren':
      return typeOf(e.expr);
    case 'binary':
      return typeOf(e.lhs) === 'scalar' && typeOf(e.rhs) === 'scalar' ? 'scalar' : 'vector';
  }
}

/** Parses a PromQL expression of the supported subset; throws PromQLError with the reason. */
export function parsePromQL(src: string): Expr {
  return new Parser(lex(src)).parse();
}

/** Every metric name an expression selects (undefined for a selector without one), for the ingest filter. */
export function selectedNames(e: Expr, out = new Set<string | undefined>()): Set<string | undefined> {
  switch (e.kind) {
    case 'selector':
      out.add(e.name);
      break;
    case 'range':
      selectedNames(e.selector, out);
      break;
    case 'call':
      e.args.forEach((a) => selectedNames(a, out));
      break;
    case 'aggregate':
    case 'unary':
    case 'paren':
      selectedNames(e.expr, out);
      break;
    case 'binary':
      selectedNames(e.lhs, out);
      selectedNames(e.rhs, out);
      break;
  }
  return out;
}

/** The longest stretch of history an expression reads back from its evaluation time, ms (lookback included). */
export function lookbackOf(e: Expr, lookbackMs: number): number {
  switch (e.kind) {
    case 'selector':
      return lookbackMs + Math.max(0, e.offsetMs);
    case 'range':
      return e.rangeMs + Math.max(0, e.selector.offsetMs);
    case 'call':
      return Math.max(0, ...e.args.map((a) => lookbackOf(a, lookbackMs)));
    case 'aggregate':
    case 'unary':
    case 'paren':
      return lookbackOf(e.expr, lookbackMs);
    case 'binary':
      return Math.max(lookbackOf(e.lhs, lookbackMs), lookbackOf(e.rhs, lookbackMs));
    default:
      return 0;
  }
}
