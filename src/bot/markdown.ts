/**
 * Adaptive Card markdown: TextBlocks and FactSets render a subset of CommonMark in Teams (links, bold, italic,
 * lists, headings at the start of a line). A value a person typed or a directory returned must read as the text it
 * is, never as markup: `[Approve here](https://evil.example)` stays those characters, not a link.
 *
 * The escape uses CommonMark backslash escapes, which Teams and the Adaptive Cards renderers honour: the text reads
 * the same (`a_b*c` shows as a_b*c). Only characters that can start markup are escaped, so most values pass through
 * unchanged. Code builds a card's markdown only through {@link md}, which escapes what it interpolates.
 */

/** Characters that can open inline markup anywhere: escape, code, emphasis, strikethrough, link text, autolink or HTML. */
const INLINE = /[\\`*_~[\]<]/g;
/** An HTML entity or numeric character reference, which markdown would turn into another character. */
const ENTITY = /&(?=#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{0,31};)/g;
/** A bare web address, which a renderer may turn into a link (GFM autolinks): break the `://` and `www.`. */
const BARE_LINK = /(\b[A-Za-z][A-Za-z0-9+.-]*):(?=\/\/)|\b(www)\.(?=\S)/gi;
/** Block markup at the start of a line: heading, list, quote, table, setext underline, numbered list. */
const LINE_START = /^(?:[#+\-=>|]|(\d{1,9})([.)]))/;

/**
 * Whether a text holds anything {@link escapeLine} or the line split changes: a CR, an inline markup character, `&`,
 * `:` (of a scheme), `www.`, or at the start of a line a blank or block markup.
 */
const NEEDS_ESCAPE = /[\\`*_~[\]<&:\r]|www\.|(?:^|\n)(?:[ \t#+\-=>|]|\d{1,9}[.)])/i;

/** One line (no line break in it), escaped. */
function escapeLine(line: string): string {
  // Leading blanks would make an indented code block (or nothing visible): drop them.
  let s = line.replace(/^[ \t]+/, '');
  s = s.replace(INLINE, '\\$&').replace(ENTITY, '\\&').replace(BARE_LINK, (m, scheme: string | undefined, www: string | undefined) => (scheme !== undefined ? `${scheme}\\:` : `${www ?? ''}\\.`));
  const start = LINE_START.exec(s);
  if (start) s = start[1] !== undefined ? `${start[1]}\\${start[2] ?? ''}${s.slice(start[0].length)}` : `\\${s}`;
  return s;
}

/**
 * A text as Adaptive Card markdown that shows exactly this text: markup characters backslash-escaped, line breaks
 * kept (CR LF and CR become LF), blanks at the start of a line dropped.
 */
export function escapeMarkdown(text: string): string {
  // Most values (names, addresses, plain sentences) hold nothing any rule above acts on: they come back as they are.
  if (!NEEDS_ESCAPE.test(text)) return text;
  return text.split(/\r\n|\r|\n/).map(escapeLine).join('\n');
}

/** Markdown that code wrote (its interpolated values escaped): shown as markup on a card. Make it with {@link md}. */
export class Markdown {
  /** @internal use {@link md} */
  constructor(readonly source: string) {}

  toString(): string {
    return this.source;
  }
}

/** Whether markup text leaves a code span open (an odd number of backticks that are not escaped). */
export function togglesCodeSpan(markup: string): boolean {
  let open = false;
  for (let i = 0; i < markup.length; i++) if (markup[i] === '`' && markup[i - 1] !== '\\') open = !open;
  return open;
}

/** A value placed in markup: escaped, or inside a code span (where escapes show) only its backticks replaced. */
export function markdownValue(value: string, inCodeSpan: boolean): string {
  return inCodeSpan ? value.replace(/`/g, '\u02cb') : escapeMarkdown(value);
}

/**
 * Markdown from a template literal: the literal text is markup as written, every interpolated value is escaped
 * (a {@link Markdown} value is kept as it is). E.g. md`Type **help**; ${name} has no role.`
 */
export function md(strings: TemplateStringsArray, ...values: readonly unknown[]): Markdown {
  let out = strings[0] ?? '';
  let inCode = togglesCodeSpan(out);
  values.forEach((v, i) => {
    const next = strings[i + 1] ?? '';
    out += (v instanceof Markdown ? v.source : markdownValue(String(v), inCode)) + next;
    if (togglesCodeSpan(next)) inCode = !inCode;
  });
  return new Markdown(out);
}

/** A bullet list (one item a line), each item escaped. */
export function bulletList(items: readonly string[]): Markdown {
  return new Markdown(items.map((item) => `- ${escapeMarkdown(item).replace(/\n/g, ' ')}`).join('\n'));
}
