/**
 * A small OPATH (`-Filter`) parser for the Exchange Get-* cmdlets: `Prop -eq 'v'`, `-ne`, `-like`,
 * `-notlike`, `-and`, `-or`, `-not`, parentheses, `$true`/`$false`/`$null`. Only the properties in
 * {@link FILTERABLE} can be filtered, as in Exchange Online; `IsExchangeCloudManaged` is not one of
 * them (the field test found `Get-Mailbox -Filter 'IsExchangeCloudManaged -eq $true'` did not work).
 */
import { ExoError } from './errors';
import { parseConnectives, tokenize, type Lexicon, type Logical } from './filter-lex';

type Value = string | boolean | null | number;

type OpathNode = Logical<{ type: 'cmp'; op: 'eq' | 'ne' | 'like' | 'notlike'; prop: string; value: Value }>;

const FILTERABLE: readonly string[] = [
  'Alias',
  'Name',
  'DisplayName',
  'PrimarySmtpAddress',
  'EmailAddresses',
  'WindowsEmailAddress',
  'ExternalEmailAddress',
  'RecipientType',
  'RecipientTypeDetails',
  'ExternalDirectoryObjectId',
  'HiddenFromAddressListsEnabled',
  'IsDirSynced',
  'UserPrincipalName',
  'Guid',
  'ExchangeGuid',
  ...Array.from({ length: 15 }, (_, i) => `CustomAttribute${i + 1}`),
];

function invalid(filter: string, position: number): ExoError {
  return new ExoError(
    'ParameterBinding',
    `Cannot bind parameter 'Filter' to the target. Exception setting "Filter": "Invalid filter syntax. For a description of the filter ` +
      `parameter syntax see the command help.\n"${filter}" at position ${position + 1}."`,
  );
}

type Tok = { k: 'word' | 'op' | 'str' | 'var' | 'num' | 'lp' | 'rp'; v: string; at: number };

/**
 * OPATH's tokens: parentheses, strings in single or double quotes, operators (`-eq`, `-and` …, lower-cased
 * without the dash), variables (`$true` …, lower-cased without the `$`), numbers, and bare words (property
 * names and unquoted values such as `a@b.com`).
 */
const OPATH_TOKENS: Lexicon<Tok> = {
  quotes: `'"`,
  string: (v, at) => ({ k: 'str', v, at }),
  rules: [
    { pattern: /^[()]/, token: (text, at) => ({ k: text === '(' ? 'lp' : 'rp', v: text, at }) },
    { pattern: /^-[A-Za-z]+/, token: (text, at) => ({ k: 'op', v: text.slice(1).toLowerCase(), at }) },
    { pattern: /^\$[A-Za-z]+/, token: (text, at) => ({ k: 'var', v: text.slice(1).toLowerCase(), at }) },
    { pattern: /^[A-Za-z0-9_.@{}][A-Za-z0-9_.@{}-]*/, token: (text, at) => ({ k: /^\d+$/.test(text) ? 'num' : 'word', v: text, at }) },
  ],
  error: (src, at) => invalid(src, at),
};

/** Parses an OPATH filter; throws Exchange's "Invalid filter syntax" binding error. */
export function parseOpath(src: string): OpathNode {
  const toks = tokenize(src, OPATH_TOKENS);
  let p = 0;
  const connective = (word: string): boolean => {
    const t = toks[p];
    if (t?.k !== 'op' || t.v !== word) return false;
    p++;
    return true;
  };
  const expr = (): OpathNode => parseConnectives(connective, primary);
  const primary = (): OpathNode => {
    const t = toks[p++];
    if (!t) throw invalid(src, src.length);
    if (t.k === 'lp') {
      const n = expr();
      if (toks[p++]?.k !== 'rp') throw invalid(src, toks[p - 1]?.at ?? src.length);
      return n;
    }
    if (t.k !== 'word') throw invalid(src, t.at);
    const prop = FILTERABLE.find((f) => f.toLowerCase() === t.v.toLowerCase());
    if (!prop) throw invalid(src, t.at);
    const op = toks[p++];
    if (!op || op.k !== 'op' || !['eq', 'ne', 'like', 'notlike'].includes(op.v)) throw invalid(src, op?.at ?? src.length);
    const val = toks[p++];
    if (!val) throw invalid(src, src.length);
    let value: Value;
    if (val.k === 'str' || val.k === 'word') value = val.v;
    else if (val.k === 'num') value = Number(val.v);
    else if (val.k === 'var' && (val.v === 'true' || val.v === 'false')) value = val.v === 'true';
    else if (val.k === 'var' && val.v === 'null') value = null;
    else throw invalid(src, val.at);
    return { type: 'cmp', op: op.v as 'eq' | 'ne' | 'like' | 'notlike', prop, value };
  };
  const node = expr();
  if (p < toks.length) throw invalid(src, toks[p]?.at ?? src.length);
  return node;
}

function like(value: string, pattern: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i');
  return re.test(value);
}

function matchOne(actual: unknown, op: 'eq' | 'ne' | 'like' | 'notlike', value: Value): boolean {
  if (Array.isArray(actual)) {
    // Multi-valued (EmailAddresses): eq/like match any element; address values may omit the prefix.
    const hit = actual.some((a) => {
      const s = String(a);
      const bare = s.includes(':') ? s.slice(s.indexOf(':') + 1) : s;
      if (op === 'eq' || op === 'ne') return typeof value === 'string' && (s.toLowerCase() === value.toLowerCase() || bare.toLowerCase() === value.toLowerCase());
      return typeof value === 'string' && (like(s, value) || like(bare, value));
    });
    return op === 'ne' || op === 'notlike' ? !hit : hit;
  }
  let eq: boolean;
  if (op === 'like' || op === 'notlike') eq = typeof value === 'string' && typeof actual === 'string' && like(actual, value);
  else if (value === null) eq = actual === null || actual === undefined || actual === '';
  else if (typeof value === 'string' && typeof actual === 'string') eq = actual.toLowerCase() === value.toLowerCase();
  else if (typeof value === 'string' && typeof actual === 'boolean') eq = String(actual).toLowerCase() === value.toLowerCase();
  else eq = actual === value;
  return op === 'ne' || op === 'notlike' ? !eq : eq;
}

/** Evaluates a parsed filter against an object of rendered cmdlet properties. */
export function evaluateOpath(node: OpathNode, props: Record<string, unknown>): boolean {
  switch (node.type) {
    case 'and':
      return evaluateOpath(node.left, props) && evaluateOpath(node.right, props);
    case 'or':
      return evaluateOpath(node.left, props) || evaluateOpath(node.right, props);
    case 'not':
      return !evaluateOpath(node.expr, props);
    case 'cmp':
      return matchOne(props[node.prop], node.op, node.value);
  }
}
