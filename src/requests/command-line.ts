/**
 * The one-line command: `new mailbox first=Ada last=Lovelace`, `new shared mailbox name="Team Sales" alias=sales`,
 * `cloud-managed ada@contoso.com on`, `convert ada@contoso.com to shared` …
 *
 * The result is `{ kind, values }` with the SAME raw-values shape the form card submits (field id → string),
 * so one validator serves both. Keys are case-insensitive and have aliases (first/firstname/given); values
 * may be quoted ("…", '…', and the typographic quotes Teams' autocorrect produces) with \" and \\ escapes.
 */
import { COMMAND_FIELD, KIND_FIELD, KINDS, KIND_IDS, type FieldDef, type FieldError, type KindDef, type KindId } from './kinds';
import { closest, show } from './text';

export type ParseResult =
  | { readonly ok: true; readonly kind: KindId; readonly values: Record<string, string> }
  | { readonly ok: false; readonly kind?: KindId; readonly errors: FieldError[] };

const WS = /\s/u;
/** At most this many errors are reported for one command (the rest are counted). */
const MAX_ERRORS = 10;
/** Opening quote → the characters that close it. */
const QUOTES: Readonly<Record<string, string>> = { '"': '"', "'": "'", '“': '”“', '„': '“”', '”': '”', '‘': '’', '«': '»' };

function isQuote(c: string | undefined): boolean {
  return c !== undefined && Object.prototype.hasOwnProperty.call(QUOTES, c);
}

interface Token {
  /** The key of `key=value`, as typed. */
  readonly key?: string;
  readonly value: string;
  readonly quoted: boolean;
  readonly raw: string;
}

type Tokenized = { tokens: Token[] } | { error: string };

function readQuoted(s: string, i: number): { value: string; end: number } | { error: string } {
  const open = s[i] ?? '';
  const close = QUOTES[open] ?? '"';
  const escapes = open === '"' || open === "'";
  let value = '';
  let j = i + 1;
  while (j < s.length) {
    const c = s[j] ?? '';
    if (escapes && c === '\\' && (s[j + 1] === open || s[j + 1] === '\\')) {
      value += s[j + 1];
      j += 2;
      continue;
    }
    if (close.includes(c)) {
      const after = s[j + 1];
      if (after !== undefined && !WS.test(after)) return { error: `Put a space after the closing quote of ${show(value)}.` };
      return { value, end: j + 1 };
    }
    value += c;
    j++;
  }
  return { error: `The quote before ${show(value)} is not closed. Put a ${close[0] ?? '"'} at the end of the value.` };
}

function tokenize(s: string): Tokenized {
  const tokens: Token[] = [];
  let i = 0;
  while (i < s.length) {
    if (WS.test(s[i] ?? '')) {
      i++;
      continue;
    }
    const start = i;
    if (isQuote(s[i])) {
      const q = readQuoted(s, i);
      if ('error' in q) return q;
      tokens.push({ value: q.value, quoted: true, raw: s.slice(start, q.end) });
      i = q.end;
      continue;
    }
    let j = i;
    while (j < s.length && !WS.test(s[j] ?? '') && s[j] !== '=') j++;
    if (s[j] === '=' && j > i) {
      const key = s.slice(i, j);
      j++;
      if (isQuote(s[j])) {
        const q = readQuoted(s, j);
        if ('error' in q) return q;
        tokens.push({ key, value: q.value, quoted: true, raw: s.slice(start, q.end) });
        i = q.end;
        continue;
      }
      let k = j;
      while (k < s.length && !WS.test(s[k] ?? '')) k++;
      tokens.push({ key, value: s.slice(j, k), quoted: false, raw: s.slice(start, k) });
      i = k;
      continue;
    }
    while (j < s.length && !WS.test(s[j] ?? '')) j++;
    tokens.push({ value: s.slice(i, j), quoted: false, raw: s.slice(start, j) });
    i = j;
  }
  return { tokens };
}

/** Command keys of a field: its aliases and its id, lower case. */
export function keysOf(field: FieldDef): string[] {
  return [...new Set([...field.keys, field.id.toLowerCase()])];
}

/** The canonical command key of each field of a kind, in schema order. */
function commandKeys(kind: KindId): string[] {
  return KINDS[kind].fields.map((f) => f.keys[0] ?? f.id.toLowerCase());
}

function fieldByKey(def: KindDef, key: string): FieldDef | undefined {
  const k = key.toLowerCase();
  return def.fields.find((f) => keysOf(f).includes(k));
}

/** Every phrase with its kind, longest first. */
const PHRASES: readonly { words: string[]; kind: KindId }[] = KIND_IDS.flatMap((kind) =>
  KINDS[kind].command.phrases.map((p) => ({ words: p.split(' '), kind })),
).sort((a, b) => b.words.length - a.words.length);

function kindList(filter?: (def: KindDef) => boolean): string {
  return KIND_IDS.map((k) => KINDS[k])
    .filter((d) => !filter || filter(d))
    .map((d) => d.command.phrases[0] ?? d.id)
    .join(', ');
}

export function parseCommand(text: string): ParseResult {
  const t = tokenize(text);
  if ('error' in t) return { ok: false, errors: [{ field: COMMAND_FIELD, message: t.error }] };
  const tokens = t.tokens;
  const words = tokens.map((x) => (x.key === undefined && !x.quoted ? x.value.toLowerCase() : null));

  const match = PHRASES.find((p) => p.words.every((w, i) => words[i] === w));
  if (!match) {
    const first = words[0];
    if (first === 'new') {
      const said = words[1];
      const options = kindList((d) => d.creates);
      return {
        ok: false,
        errors: [{ field: KIND_FIELD, message: said ? `There is no kind "new ${said}". Say which kind: ${options}.` : `Say which kind to create: ${options}.` }],
      };
    }
    const guess = first ? closest(first, [...new Set(PHRASES.map((p) => p.words[0] ?? ''))]) : undefined;
    const head = tokens.slice(0, 2).map((x) => x.raw).join(' ');
    return {
      ok: false,
      errors: [{
        field: KIND_FIELD,
        message: `${head ? `${show(head)} is not a request Mailroom knows.` : 'The command is empty.'}${guess ? ` Did you mean "${guess}"?` : ''} Requests: ${kindList()}.`,
      }],
    };
  }

  const kind = match.kind;
  const def = KINDS[kind];
  const values: Record<string, string> = {};
  const errors: FieldError[] = [];
  const setOnce = (field: FieldDef, value: string, as: string): void => {
    if (Object.prototype.hasOwnProperty.call(values, field.id)) {
      errors.push({ field: field.id, message: `${field.label} is given twice (${as}). Give it once.` });
      return;
    }
    values[field.id] = value;
  };

  const implied = def.command.implies?.[match.words.join(' ')] ?? {};
  for (const [id, v] of Object.entries(implied)) values[id] = v;

  const slots = def.command.positional;
  let slot = 0;
  /** The field of a `rest` slot that takes the positional values that follow, until the next slot's word. */
  let rest: FieldDef | undefined;
  /** A key=value list that ends with a comma goes on with the next values: `bookers=ada@contoso.com, grace@contoso.com`. */
  let listGoesOn: FieldDef | undefined;
  for (const tok of tokens.slice(match.words.length)) {
    if (listGoesOn && tok.key === undefined && values[listGoesOn.id] !== undefined) {
      values[listGoesOn.id] = `${values[listGoesOn.id]} ${tok.value}`;
      if (!tok.value.endsWith(',')) listGoesOn = undefined;
      continue;
    }
    listGoesOn = undefined;
    if (tok.key !== undefined) {
      const field = fieldByKey(def, tok.key);
      if (!field) {
        const accepted = commandKeys(kind);
        const guess = closest(tok.key, def.fields.flatMap(keysOf));
        const guessField = guess ? fieldByKey(def, guess) : undefined;
        errors.push({
          field: COMMAND_FIELD,
          message: `Unknown key ${show(tok.key)} for "${def.command.phrases[0] ?? kind}".${guessField ? ` Did you mean ${guessField.keys[0] ?? guess}?` : ''} Accepted keys: ${accepted.join(', ')}.`,
        });
        continue;
      }
      const before = errors.length;
      setOnce(field, tok.value, `${tok.key}=`);
      if (errors.length === before && !tok.quoted && tok.value.endsWith(',')) listGoesOn = field;
      continue;
    }
    if (rest) {
      const next = slots[slot];
      if (next !== undefined && 'word' in next && !tok.quoted && tok.value.toLowerCase() === next.word) {
        slot++;
        rest = undefined;
        continue;
      }
      values[rest.id] = `${values[rest.id] ?? ''} ${tok.value}`;
      continue;
    }
    // A positional value: skip optional words ("to") that do not match.
    let placed = false;
    while (slot < slots.length) {
      const s = slots[slot];
      slot++;
      if (s === undefined) break;
      if ('word' in s) {
        if (!tok.quoted && tok.value.toLowerCase() === s.word) {
          placed = true;
          break;
        }
        continue;
      }
      const field = def.fields.find((f) => f.id === s.field);
      if (field) {
        const before = errors.length;
        setOnce(field, tok.value, 'by position');
        if (s.rest && errors.length === before) rest = field;
        placed = true;
      }
      break;
    }
    if (!placed) {
      errors.push({
        field: COMMAND_FIELD,
        message: `Unexpected ${show(tok.raw)}. Give values as key=value (quote values with spaces), e.g. ${def.command.example}. Accepted keys: ${commandKeys(kind).join(', ')}.`,
      });
    }
  }
  if (errors.length > MAX_ERRORS) {
    const more = errors.length - MAX_ERRORS;
    errors.splice(MAX_ERRORS, more, { field: COMMAND_FIELD, message: `… and ${more} more problem${more === 1 ? '' : 's'} in the command.` });
  }
  if (errors.length) return { ok: false, kind, errors };
  return { ok: true, kind, values };
}

function quote(v: string): string {
  const needs = v === '' || /[\s"'“”„‘’«»\\=]/u.test(v);
  return needs ? `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : v;
}

/** The command line that parses back to exactly these values (canonical phrase, canonical keys). */
export function formatCommand(kind: KindId, values: Readonly<Record<string, string | undefined>>): string {
  const def = KINDS[kind];
  // A phrase that stands for some of the values (`grant full access`) says them; the canonical phrase says none.
  const has = (id: string): boolean => Object.prototype.hasOwnProperty.call(values, id) && values[id] !== undefined;
  const phrase = def.command.phrases.find((p) => {
    const implied = Object.entries(def.command.implies?.[p] ?? {});
    return implied.length > 0 && implied.every(([id, v]) => has(id) && values[id] === v);
  });
  const said = new Set(Object.keys(phrase !== undefined ? (def.command.implies?.[phrase] ?? {}) : {}));
  const parts = [phrase ?? def.command.phrases[0] ?? kind];
  for (const f of def.fields) {
    if (!Object.prototype.hasOwnProperty.call(values, f.id) || said.has(f.id)) continue;
    const v = values[f.id];
    if (v === undefined) continue;
    parts.push(`${f.keys[0] ?? f.id.toLowerCase()}=${quote(v)}`);
  }
  return parts.join(' ');
}
