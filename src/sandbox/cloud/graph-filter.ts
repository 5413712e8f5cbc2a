/**
 * A small OData `$filter` parser and evaluator for Microsoft Graph directory objects, with Graph's
 * distinction between queries that work by default and those that need the "advanced query"
 * parameters (`ConsistencyLevel: eventual` header and `$count=true`).
 *
 * Supported: `eq`, `ne`, `in`, `not`, `and`, `or`, parentheses, `startswith(p,'x')`,
 * `endswith(p,'x')`, and `any` lambdas (`proxyAddresses/any(x:x eq 'smtp:a@b')`,
 * `assignedLicenses/any(x:x/skuId eq <guid>)`).
 */
import { GraphError } from './errors';
import { parseConnectives, tokenize, type Lexicon, type Logical } from './filter-lex';

type Literal = string | number | boolean | null;

type FilterNode = Logical<
  | { type: 'cmp'; op: 'eq' | 'ne' | 'ge' | 'le' | 'gt' | 'lt'; prop: string; value: Literal }
  | { type: 'in'; prop: string; values: Literal[] }
  | { type: 'fn'; name: 'startswith' | 'endswith'; prop: string; value: string }
  | { type: 'any'; prop: string; variable: string; body: FilterNode }
>;

type Token =
  | { t: 'ident'; v: string }
  | { t: 'string'; v: string }
  | { t: 'number'; v: number }
  | { t: 'guid'; v: string }
  | { t: 'punct'; v: '(' | ')' | ',' | ':' };

function syntaxError(message: string): GraphError {
  return new GraphError(400, 'BadRequest', message);
}

/** OData's tokens: punctuation, strings in single quotes, GUIDs, numbers, and identifiers (names, keywords, paths such as `x/skuId`). */
const ODATA_TOKENS: Lexicon<Token> = {
  quotes: "'",
  string: (v) => ({ t: 'string', v }),
  rules: [
    { pattern: /^[(),:]/, token: (text) => ({ t: 'punct', v: text as '(' | ')' | ',' | ':' }) },
    { pattern: /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/, token: (text) => ({ t: 'guid', v: text }) },
    // A number run into letters (`12ab`) is no number.
    { pattern: /^-?\d+(\.\d+)?/, token: (text, at, src) => (/[A-Za-z_]/.test(src.charAt(at + text.length)) ? undefined : { t: 'number', v: Number(text) }) },
    { pattern: /^[A-Za-z_$][A-Za-z0-9_$./]*/, token: (text) => ({ t: 'ident', v: text }) },
  ],
  error: (src, at, unterminated) =>
    syntaxError(unterminated ? `Syntax error: unterminated string literal in '${src}'.` : `Syntax error at position ${at} in '${src}'.`),
};

class Parser {
  private pos = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly source: string,
  ) {}

  parse(): FilterNode {
    const n = this.expr();
    if (this.pos < this.tokens.length) throw syntaxError(`Syntax error at position ${this.pos} in '${this.source}'.`);
    return n;
  }

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  /** Takes the next token if it is the keyword `word` (any case). */
  private takeKeyword(word: string): boolean {
    const t = this.peek();
    if (t?.t !== 'ident' || t.v.toLowerCase() !== word) return false;
    this.pos++;
    return true;
  }

  private expectPunct(v: string): void {
    const t = this.tokens[this.pos++];
    if (t?.t !== 'punct' || t.v !== v) throw syntaxError(`Syntax error: '${v}' expected in '${this.source}'.`);
  }

  private expr(): FilterNode {
    return parseConnectives((word) => this.takeKeyword(word), () => this.primary());
  }

  private literal(): Literal {
    const t = this.tokens[this.pos++];
    if (!t) throw syntaxError(`Syntax error: value expected in '${this.source}'.`);
    if (t.t === 'string' || t.t === 'number' || t.t === 'guid') return t.v;
    if (t.t === 'ident') {
      const w = t.v.toLowerCase();
      if (w === 'true') return true;
      if (w === 'false') return false;
      if (w === 'null') return null;
    }
    throw syntaxError(`Syntax error: value expected in '${this.source}'.`);
  }

  private primary(): FilterNode {
    const t = this.peek();
    if (t?.t === 'punct' && t.v === '(') {
      this.pos++;
      const n = this.expr();
      this.expectPunct(')');
      return n;
    }
    if (t?.t !== 'ident') throw syntaxError(`Syntax error at position ${this.pos} in '${this.source}'.`);
    this.pos++;
    const word = t.v;
    const lower = word.toLowerCase();
    if ((lower === 'startswith' || lower === 'endswith') && this.peek()?.t === 'punct') {
      this.expectPunct('(');
      const p = this.tokens[this.pos++];
      if (p?.t !== 'ident') throw syntaxError(`Syntax error: property expected in '${this.source}'.`);
      this.expectPunct(',');
      const v = this.literal();
      this.expectPunct(')');
      if (typeof v !== 'string') throw syntaxError(`${lower} needs a string value.`);
      return { type: 'fn', name: lower, prop: p.v, value: v };
    }
    const anyMatch = /^(.+)\/any$/i.exec(word);
    if (anyMatch) {
      this.expectPunct('(');
      const variable = this.tokens[this.pos++];
      if (variable?.t !== 'ident') throw syntaxError(`Syntax error: lambda variable expected in '${this.source}'.`);
      this.expectPunct(':');
      const body = this.expr();
      this.expectPunct(')');
      return { type: 'any', prop: anyMatch[1] ?? '', variable: variable.v, body };
    }
    const op = this.tokens[this.pos++];
    if (op?.t !== 'ident') throw syntaxError(`Syntax error: operator expected after '${word}' in '${this.source}'.`);
    const o = op.v.toLowerCase();
    if (o === 'in') {
      this.expectPunct('(');
      const values: Literal[] = [this.literal()];
      while (this.peek()?.t === 'punct' && (this.peek() as { v: string }).v === ',') {
        this.pos++;
        values.push(this.literal());
      }
      this.expectPunct(')');
      return { type: 'in', prop: word, values };
    }
    if (o === 'eq' || o === 'ne' || o === 'ge' || o === 'le' || o === 'gt' || o === 'lt') {
      return { type: 'cmp', op: o, prop: word, value: this.literal() };
    }
    throw syntaxError(`Syntax error: unknown operator '${op.v}' in '${this.source}'.`);
  }
}

export function parseFilter(source: string): FilterNode {
  return new Parser(tokenize(source, ODATA_TOKENS), source).parse();
}

/** How a property supports an operator: by default, only in advanced queries, or not at all. */
type Support = 'default' | 'advanced' | 'none';

interface PropertySupport {
  /** eq and in. */
  eq: Support;
  startsWith?: Support;
  endsWith?: Support;
  /** Collections filtered with any(). */
  any?: Support;
}

export interface FilterSpec {
  /** `User`, `Group` … as in Graph's error messages. */
  resource: string;
  properties: Record<string, PropertySupport>;
}

function unsupportedClause(prop: string, resource: string): GraphError {
  return new GraphError(400, 'Request_UnsupportedQuery', `Unsupported or invalid query filter clause specified for property '${prop}' of resource '${resource}'.`);
}

function advancedOperator(op: string): GraphError {
  return new GraphError(
    400,
    'Request_UnsupportedQuery',
    `Operator '${op}' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ` +
      'ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information',
  );
}

/**
 * Checks a filter against what the resource supports. Throws Graph's errors: an unknown property,
 * an unsupported clause, or an advanced-only clause without the advanced query parameters.
 */
export function checkFilter(node: FilterNode, spec: FilterSpec, advanced: boolean): void {
  const lookup = (prop: string): PropertySupport => {
    const key = Object.keys(spec.properties).find((k) => k.toLowerCase() === prop.toLowerCase());
    if (!key) {
      throw new GraphError(400, 'Request_BadRequest', `Could not find a property named '${prop}' on type 'microsoft.graph.${spec.resource.toLowerCase()}'.`);
    }
    return spec.properties[key]!;
  };
  const need = (support: Support | undefined, prop: string, op: string, operatorLevel: boolean): void => {
    if (support === undefined || support === 'none') throw unsupportedClause(prop, spec.resource);
    if (support === 'advanced' && !advanced) throw operatorLevel ? advancedOperator(op) : unsupportedClause(prop, spec.resource);
  };
  const walk = (n: FilterNode): void => {
    switch (n.type) {
      case 'and':
      case 'or':
        walk(n.left);
        walk(n.right);
        return;
      case 'not':
        if (!advanced) throw advancedOperator('Not');
        walk(n.expr);
        return;
      case 'cmp': {
        const s = lookup(n.prop);
        if (n.op === 'ne') {
          need(s.eq === 'none' ? 'none' : 'advanced', n.prop, 'Ne', true);
        } else if (n.op === 'eq') {
          need(s.eq, n.prop, 'Eq', false);
        } else {
          need(s.eq === 'none' ? 'none' : 'advanced', n.prop, n.op, false);
        }
        return;
      }
      case 'in':
        need(lookup(n.prop).eq, n.prop, 'In', false);
        return;
      case 'fn': {
        const s = lookup(n.prop);
        if (n.name === 'startswith') need(s.startsWith, n.prop, 'StartsWith', false);
        else need(s.endsWith, n.prop, 'EndsWith', true);
        return;
      }
      case 'any':
        // The lambda body refers to the collection's items, not to properties of the resource.
        need(lookup(n.prop).any, n.prop, 'Any', false);
        return;
    }
  };
  walk(node);
}

function eqValue(a: unknown, b: Literal): boolean {
  if (b === null) return a === null || a === undefined;
  if (typeof a === 'string' && typeof b === 'string') return a.toLowerCase() === b.toLowerCase();
  return a === b;
}

function compare(a: unknown, b: Literal): number | null {
  if (typeof a === 'string' && typeof b === 'string') return a.toLowerCase().localeCompare(b.toLowerCase());
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return null;
}

/** Evaluates a filter against an object; property paths use `/` (e.g. `x/skuId` inside a lambda). */
export function evaluateFilter(node: FilterNode, get: (prop: string) => unknown): boolean {
  switch (node.type) {
    case 'and':
      return evaluateFilter(node.left, get) && evaluateFilter(node.right, get);
    case 'or':
      return evaluateFilter(node.left, get) || evaluateFilter(node.right, get);
    case 'not':
      return !evaluateFilter(node.expr, get);
    case 'cmp': {
      const v = get(node.prop);
      if (node.op === 'eq') return eqValue(v, node.value);
      if (node.op === 'ne') return !eqValue(v, node.value);
      const c = compare(v, node.value);
      if (c === null) return false;
      return node.op === 'ge' ? c >= 0 : node.op === 'le' ? c <= 0 : node.op === 'gt' ? c > 0 : c < 0;
    }
    case 'in': {
      const v = get(node.prop);
      return node.values.some((x) => eqValue(v, x));
    }
    case 'fn': {
      const v = get(node.prop);
      if (typeof v !== 'string') return false;
      return node.name === 'startswith' ? v.toLowerCase().startsWith(node.value.toLowerCase()) : v.toLowerCase().endsWith(node.value.toLowerCase());
    }
    case 'any': {
      const coll = get(node.prop);
      if (!Array.isArray(coll)) return false;
      return coll.some((item) =>
        evaluateFilter(node.body, (p) => {
          if (p === node.variable) return item;
          if (p.startsWith(`${node.variable}/`)) {
            const sub = p.slice(node.variable.length + 1);
            return typeof item === 'object' && item !== null ? (item as Record<string, unknown>)[sub] : undefined;
          }
          return get(p);
        }),
      );
    }
  }
}

/**
 * The string values (lower case) one of which `prop` must equal for `node` to hold, when the filter says so plainly
 * (`prop eq 'a'`, `prop in ('a','b')`, either side of an `and`, every side of an `or`); undefined when it does not.
 * A collection may then look only at the objects holding one of them before evaluating the whole filter: the
 * answer is the same, found without rendering every object.
 */
export function requiredValues(node: FilterNode, prop: string): Set<string> | undefined {
  const lower = prop.toLowerCase();
  const strings = (values: readonly Literal[]): Set<string> | undefined =>
    values.every((v): v is string => typeof v === 'string') ? new Set(values.map((v) => v.toLowerCase())) : undefined;
  switch (node.type) {
    case 'cmp':
      return node.op === 'eq' && node.prop.toLowerCase() === lower ? strings([node.value]) : undefined;
    case 'in':
      return node.prop.toLowerCase() === lower ? strings(node.values) : undefined;
    case 'and':
      return requiredValues(node.left, prop) ?? requiredValues(node.right, prop);
    case 'or': {
      const left = requiredValues(node.left, prop);
      const right = left && requiredValues(node.right, prop);
      return left && right ? new Set([...left, ...right]) : undefined;
    }
    default:
      return undefined;
  }
}
