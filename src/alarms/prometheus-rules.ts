/**
 * Front end 1: Prometheus alerting rule groups (the `groups:` of a Prometheus rule file),
 * compiled to RuleSpecs. Each rule is validated on its own: a rule with a syntax error, an
 * unknown function, a metric the agent does not expose or a template it cannot render is
 * refused with the group, the rule's name and the reason, and the others load.
 */
import { parsePromQL, selectedNames, typeOf, type Expr } from './promql/parser.js';
import { parseGoDuration } from './promql/duration.js';
import { compileTemplate, type Template } from './template.js';
import type { RuleSpec } from './rule.js';

export class RuleError extends Error {
  override name = 'RuleError';
}

/** What a loaded file or request yields: the rules that compiled and one message per refused rule. */
export interface Compiled<T> {
  rules: T[];
  errors: string[];
}

const RULE_KEYS = new Set(['alert', 'record', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations']);
const GROUP_KEYS = new Set(['name', 'interval', 'rules', 'limit']);

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

export function durationField(raw: unknown, what: string): number {
  if (raw === undefined) return 0;
  if (typeof raw !== 'string') throw new RuleError(`${what}: expected a duration such as "5m", got ${JSON.stringify(raw)}`);
  try {
    return parseGoDuration(raw);
  } catch (err) {
    throw new RuleError(`${what}: ${(err as Error).message}`);
  }
}

export function templates(raw: unknown, what: string): Record<string, Template> {
  if (raw === undefined) return {};
  if (!isObject(raw)) throw new RuleError(`${what}: expected a map of names to strings`);
  const out: Record<string, Template> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k)) throw new RuleError(`${what}: invalid name ${JSON.stringify(k)}`);
    if (typeof v !== 'string') throw new RuleError(`${what}.${k}: expected a string, got ${JSON.stringify(v)}`);
    try {
      out[k] = compileTemplate(v);
    } catch (err) {
      throw new RuleError(`${what}.${k}: ${(err as Error).message}`);
    }
  }
  return out;
}

/** Parses an expression and checks every metric it selects is one the engine is fed. */
export function compileExpr(text: unknown, knownMetric: (name: string) => boolean): Expr {
  if (typeof text !== 'string' || text.trim() === '') throw new RuleError('expr: expected a PromQL expression');
  let expr: Expr;
  try {
    expr = parsePromQL(text);
  } catch (err) {
    throw new RuleError(`expr: ${(err as Error).message}`);
  }
  const t = typeOf(expr);
  if (t !== 'vector' && t !== 'scalar') throw new RuleError(`expr: an alerting rule needs an instant vector or scalar, got ${t}`);
  for (const name of selectedNames(expr)) {
    if (name !== undefined && !knownMetric(name)) throw new RuleError(`expr: unknown metric "${name}": the agent does not expose it`);
  }
  return expr;
}

function compileRule(raw: unknown, group: string, index: number, knownMetric: (name: string) => boolean): RuleSpec {
  if (!isObject(raw)) throw new RuleError(`group "${group}", rule ${index + 1}: expected a map`);
  const name = raw.alert;
  if (raw.record !== undefined) throw new RuleError(`group "${group}", recording rule "${String(raw.record)}": recording rules are not supported, only alerting rules`);
  if (typeof name !== 'string' || !/^[a-zA-Z_][a-zA-Z0-9_:]*$/.test(name)) throw new RuleError(`group "${group}", rule ${index + 1}: "alert" must be a valid metric name, got ${JSON.stringify(name)}`);
  const where = `group "${group}", rule "${name}"`;
  try {
    for (const k of Object.keys(raw)) if (!RULE_KEYS.has(k)) throw new RuleError(`unknown field "${k}"`);
    return {
      name,
      group,
      source: 'prometheus',
      exprText: String(raw.expr),
      expr: compileExpr(raw.expr, knownMetric),
      forMs: durationField(raw.for, 'for'),
      keepFiringForMs: durationField(raw.keep_firing_for, 'keep_firing_for'),
      labels: templates(raw.labels, 'labels'),
      annotations: templates(raw.annotations, 'annotations'),
    };
  } catch (err) {
    throw new RuleError(`${where}: ${(err as Error).message}`);
  }
}

/** Compiles the `groups:` of a Prometheus rule file. */
export function compileGroups(raw: unknown, knownMetric: (name: string) => boolean): Compiled<RuleSpec> {
  const out: Compiled<RuleSpec> = { rules: [], errors: [] };
  if (!Array.isArray(raw)) {
    out.errors.push('groups: expected a list of rule groups');
    return out;
  }
  const names = new Set<string>();
  raw.forEach((g, gi) => {
    if (!isObject(g) || typeof g.name !== 'string' || g.name === '') {
      out.errors.push(`group ${gi + 1}: expected a map with a non-empty "name"`);
      return;
    }
    if (names.has(g.name)) {
      out.errors.push(`group "${g.name}": the name is repeated; its second definition is refused`);
      return;
    }
    names.add(g.name);
    const unknown = Object.keys(g).filter((k) => !GROUP_KEYS.has(k));
    if (unknown.length > 0) out.errors.push(`group "${g.name}": unknown field(s) ${unknown.join(', ')}`);
    if (!Array.isArray(g.rules)) {
      out.errors.push(`group "${g.name}": "rules" must be a list`);
      return;
    }
    g.rules.forEach((r, ri) => {
      try {
        out.rules.push(compileRule(r, g.name as string, ri, knownMetric));
      } catch (err) {
        out.errors.push((err as Error).message);
      }
    });
  });
  return out;
}
