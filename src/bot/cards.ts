import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Template } from 'adaptivecards-templating';
import { Attachment, CardFactory } from 'botbuilder';
import { Markdown, markdownValue, togglesCodeSpan } from './markdown';

/** Card templates live in `cards/<name>.json`; data is bound with adaptivecards-templating. */
export type CardName = 'welcome' | 'help' | 'notice' | 'request-form' | 'kind-picker' | 'bulk-form' | 'request-approval' | 'request-status' | 'request-rollback' | 'request-list' | 'audit-trail' | 'recipient' | 'recipient-list' | 'batch-preview' | 'batch-plan' | 'batch-approval' | 'batch-progress';

export interface NoticeData {
  title: string;
  /** Plain text (shown as it is), or markdown that code wrote with `md`. */
  text: string | Markdown;
  tone?: 'info' | 'good' | 'warning' | 'error';
  facts?: { title: string; value: string }[];
}

type Json = Record<string, unknown>;

// Markers around the parts of a markdown text that are markup as written: the template's own text and `md` values.
// Everything else in a markdown text (every bound value) is escaped when the card is rendered. Data never carries
// the markers: a marker character in a value (someone may type one) is encoded as ESC and a stand-in while the card is
// expanded and decoded at the end, so a value cannot pass itself off as markup and still comes back as typed.
const RAW_OPEN = '\uE000';
const RAW_CLOSE = '\uE001';
const MARKERS = /[\uE000\uE001]/g;
const ESC = '\uE002';
/** U+E000, U+E001 and ESC itself in a value become ESC followed by U+E003, U+E004 or U+E005. */
const ENCODE = /[\uE000-\uE002]/g;
const ENCODED = /\uE002([\uE003-\uE005])/g;
const encode = (s: string): string => s.replace(ENCODE, (c) => ESC + String.fromCharCode(c.charCodeAt(0) + 3));
const decode = (s: string): string => s.replace(ENCODED, (_, c: string) => String.fromCharCode(c.charCodeAt(0) - 3));

/** The parts of an interpolated template string: literal text and `${…}` bindings (braces and quotes matched). */
function splitBindings(s: string): { literal: boolean; text: string }[] {
  const parts: { literal: boolean; text: string }[] = [];
  let i = 0;
  let literal = '';
  while (i < s.length) {
    const start = s.indexOf('${', i);
    if (start < 0) break;
    let depth = 0;
    let quote = '';
    let end = -1;
    for (let j = start + 1; j < s.length; j++) {
      const c = s[j];
      if (quote) {
        if (c === quote) quote = '';
      } else if (c === "'" || c === '"') quote = c;
      else if (c === '{') depth++;
      else if (c === '}' && --depth === 0) {
        end = j;
        break;
      }
    }
    if (end < 0) break; // not a binding the templating engine would read either: leave the rest as text
    literal += s.slice(i, start);
    if (literal) parts.push({ literal: true, text: literal });
    literal = '';
    parts.push({ literal: false, text: s.slice(start, end + 1) });
    i = end + 1;
  }
  literal += s.slice(i);
  if (literal) parts.push({ literal: true, text: literal });
  return parts;
}

/** A markdown text of a template with its literal parts marked as markup (its bindings stay unmarked). */
function markLiterals(s: string): string {
  return splitBindings(s)
    .map((p) => (p.literal ? `${RAW_OPEN}${p.text}${RAW_CLOSE}` : p.text))
    .join('');
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Calls `fn` on every markdown text of a card: a TextBlock's `text`, a FactSet fact's `title` and `value` (what Teams
 * renders as markdown). Input labels, choices, values, placeholders and action data are plain text and not visited.
 */
function eachMarkdownText(node: unknown, fn: (text: string) => string): void {
  if (Array.isArray(node)) return node.forEach((n) => eachMarkdownText(n, fn));
  if (!isObject(node)) return;
  if (node.type === 'TextBlock' && typeof node.text === 'string') node.text = fn(node.text);
  if (node.type === 'FactSet' && Array.isArray(node.facts)) {
    for (const f of node.facts) {
      if (!isObject(f)) continue;
      if (typeof f.title === 'string') f.title = fn(f.title);
      if (typeof f.value === 'string') f.value = fn(f.value);
    }
  }
  for (const v of Object.values(node)) eachMarkdownText(v, fn);
}

/** Any of the private-use characters the markers and their encoding use. */
const PRIVATE = /[\uE000-\uE002]/;

/** Sets a property as its own, whatever its name (`__proto__` included: an assignment would set the prototype). */
function put(o: Json, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
  else o[key] = value;
}

/** A copy of the data with marker characters encoded in every string and each `md` value marked as markup. */
function prepareData(v: unknown): unknown {
  if (typeof v === 'string') return PRIVATE.test(v) ? encode(v) : v;
  if (v instanceof Markdown) return `${RAW_OPEN}${encode(v.source)}${RAW_CLOSE}`;
  if (Array.isArray(v)) return v.map(prepareData);
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    const out: Json = {};
    for (const k of Object.keys(v)) put(out, k, prepareData((v as Json)[k]));
    return out;
  }
  return v;
}

/**
 * An expanded markdown text as it goes to Teams: marked parts as they are, everything else escaped (inside a code
 * span of the markup, where escapes do not work, only backticks are replaced).
 */
function finishMarkdown(s: string): string {
  let out = '';
  let inCode = false;
  let i = 0;
  while (i < s.length) {
    const open = s.indexOf(RAW_OPEN, i);
    const value = s.slice(i, open < 0 ? s.length : open).replace(MARKERS, '');
    out += markdownValue(value, inCode);
    if (open < 0) break;
    const close = s.indexOf(RAW_CLOSE, open + 1);
    const raw = s.slice(open + 1, close < 0 ? s.length : close).replace(MARKERS, '');
    if (togglesCodeSpan(raw)) inCode = !inCode;
    out += raw;
    if (close < 0) break;
    i = close + 1;
  }
  return out;
}

/**
 * Every string of the expanded card without markers (an `md` value bound to a plain-text property shows its source),
 * changed in place: the expanded card is this render's own (the templating engine built it from the template and a
 * copy of the data).
 */
function stripMarkers(v: unknown): unknown {
  if (typeof v === 'string') return PRIVATE.test(v) ? decode(v.replace(MARKERS, '')) : v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = stripMarkers(v[i]);
    return v;
  }
  if (isObject(v)) {
    for (const k of Object.keys(v)) put(v, k, stripMarkers(v[k]));
    return v;
  }
  return v;
}

/** Freezes a card (plain JSON: objects and arrays) and everything in it. */
function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    for (const x of Array.isArray(v) ? (v as unknown[]) : Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/** How many expanded cards are kept, and the longest data (as JSON) whose card is kept. */
const RENDERED_KEPT = 256;
const RENDERED_KEY_MAX = 16_384;
/**
 * Cards of one request or batch as it stands (its version, its times, its counts): their data hardly ever comes twice,
 * so keeping them would only cost the key and memory. A caller that shows one to several people renders it once.
 */
const NOT_KEPT: ReadonlySet<CardName> = new Set<CardName>(['request-approval', 'request-status', 'request-rollback', 'batch-approval', 'batch-progress']);

/**
 * Expands the card templates. Every value bound into a markdown text (TextBlock text, fact title and value) is
 * escaped for Adaptive Card markdown here, in one place: a template's own text stays markup, a value (a name, a
 * field, an error, whatever its source) always reads as the text it is. Plain-text properties get values as they are.
 */
export class CardRenderer {
  private readonly cache = new Map<CardName, Template>();
  /** Expanded cards, deep-frozen, by template and data (insertion order = least recently used first). */
  private readonly rendered = new Map<string, Readonly<Record<string, unknown>>>();

  constructor(private readonly cardsDir: string) {}

  private template(name: CardName): Template {
    let t = this.cache.get(name);
    if (!t) {
      const json = JSON.parse(readFileSync(path.join(this.cardsDir, `${name}.json`), 'utf8')) as object;
      eachMarkdownText(json, markLiterals);
      t = new Template(json);
      this.cache.set(name, t);
    }
    return t;
  }

  /**
   * Expands a template to card JSON. Expanding is the costly part of a turn (adaptive-expressions evaluates every
   * binding), and many cards are the same for the same data (help for a set of roles, an empty form, a notice): the
   * last {@link RENDERED_KEPT} expansions of data up to {@link RENDERED_KEY_MAX} characters are kept (not those of
   * {@link NOT_KEPT}). A kept card is deep-frozen and shared by every caller: a caller that wants another card makes
   * one (spread, `structuredClone`), and a change in place throws instead of reaching the next caller.
   */
  render(name: CardName, data: object): Readonly<Record<string, unknown>> {
    if (NOT_KEPT.has(name)) return this.expand(name, data);
    const key = `${name}\u0000${JSON.stringify(data)}`;
    if (key.length > RENDERED_KEY_MAX) return this.expand(name, data);
    const kept = this.rendered.get(key);
    if (kept !== undefined) {
      // most recently used last
      this.rendered.delete(key);
      this.rendered.set(key, kept);
      return kept;
    }
    const done = deepFreeze(this.expand(name, data));
    this.rendered.set(key, done);
    if (this.rendered.size > RENDERED_KEPT) this.rendered.delete(this.rendered.keys().next().value as string);
    return done;
  }

  private expand(name: CardName, data: object): Record<string, unknown> {
    const card = this.template(name).expand({ $root: prepareData(data) }) as unknown;
    eachMarkdownText(card, finishMarkdown);
    return stripMarkers(card) as Record<string, unknown>;
  }

  attachment(name: CardName, data: object): Attachment {
    return CardFactory.adaptiveCard(this.render(name, data));
  }

  notice(data: NoticeData): Attachment {
    return this.attachment('notice', { tone: 'info', facts: [], ...data });
  }
}
