/**
 * What the emulator's two filter languages, Exchange's OPATH `-Filter` (`exo-filter.ts`) and Graph's OData
 * `$filter` (`graph-filter.ts`), have alike: a tokeniser driven by each language's token rules, quoted
 * strings with a doubled quote inside, and the `and` / `or` / `not` layer of the grammar. What differs (the
 * tokens themselves, how a connective is spelt, comparisons, functions, errors) stays with each language.
 */

/**
 * The string literal that opens with `quote` at `start` (a doubled quote inside stands for one), and the index
 * just after its closing quote; undefined when the text ends before it is closed.
 */
function readQuoted(src: string, start: number, quote: string): { value: string; end: number } | undefined {
  let value = '';
  for (let i = start + 1; i < src.length; i++) {
    const c = src.charAt(i);
    if (c !== quote) {
      value += c;
    } else if (src.charAt(i + 1) === quote) {
      value += quote;
      i++;
    } else {
      return { value, end: i + 1 };
    }
  }
  return undefined;
}

/** One kind of token: `pattern` (anchored with `^`) is tried on the text from the current position. */
interface TokenRule<T> {
  pattern: RegExp;
  /** The token for `text`, matched at `at` in `src`, or undefined to let the next rule try. */
  token(text: string, at: number, src: string): T | undefined;
}

/** A language's tokens, for {@link tokenize}. */
export interface Lexicon<T> {
  /** The characters that open a string literal; the same character closes it, and doubled inside it stands for itself. */
  quotes: string;
  /** The token of a string literal whose value is `value`, opened at `at`. */
  string(value: string, at: number): T;
  /** The other tokens, tried in this order at each position after white space. */
  rules: TokenRule<T>[];
  /** The error for a string literal left open at `at` in `src` (`unterminated`), or for text at `at` that no rule takes. */
  error(src: string, at: number, unterminated: boolean): Error;
}

/** The tokens of `src`; white space between them is skipped. */
export function tokenize<T>(src: string, lexicon: Lexicon<T>): T[] {
  const out: T[] = [];
  let i = 0;
  scan: while (i < src.length) {
    const c = src.charAt(i);
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (lexicon.quotes.includes(c)) {
      const q = readQuoted(src, i, c);
      if (!q) throw lexicon.error(src, i, true);
      out.push(lexicon.string(q.value, i));
      i = q.end;
      continue;
    }
    const rest = src.slice(i);
    for (const rule of lexicon.rules) {
      const m = rule.pattern.exec(rest);
      const token = m ? rule.token(m[0], i, src) : undefined;
      if (m && token !== undefined) {
        out.push(token);
        i += m[0].length;
        continue scan;
      }
    }
    throw lexicon.error(src, i, false);
  }
  return out;
}

/** `left and right`, `left or right`. */
interface Junction<Leaf> {
  type: 'and' | 'or';
  left: Logical<Leaf>;
  right: Logical<Leaf>;
}

/** `not expr`. */
interface Negation<Leaf> {
  type: 'not';
  expr: Logical<Leaf>;
}

/** An expression of a filter language: its own `Leaf` nodes joined by `and`, `or` and `not`. */
export type Logical<Leaf> = Leaf | Junction<Leaf> | Negation<Leaf>;

/**
 * Parses `or` (loosest), `and`, then a prefix `not`, both binary connectives left-associative, over `primary`
 * (a comparison, a function, or a parenthesised expression, which parses itself by calling this again).
 * `connective(word)` says whether the next token is that connective, and takes it if so.
 */
export function parseConnectives<Leaf>(connective: (word: 'and' | 'or' | 'not') => boolean, primary: () => Logical<Leaf>): Logical<Leaf> {
  const or = (): Logical<Leaf> => {
    let left = and();
    while (connective('or')) left = { type: 'or', left, right: and() };
    return left;
  };
  const and = (): Logical<Leaf> => {
    let left = unary();
    while (connective('and')) left = { type: 'and', left, right: unary() };
    return left;
  };
  const unary = (): Logical<Leaf> => (connective('not') ? { type: 'not', expr: unary() } : primary());
  return or();
}
