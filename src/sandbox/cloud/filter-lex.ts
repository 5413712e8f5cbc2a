/**
 * What the emulator's two filter languages, Exchange's OPATH `-Filter` (`exo-filter.ts`) and Graph's OData
 * `$filter` (`graph-filter.ts`), lex alike.
 */

/**
 * The string literal that opens with `quote` at `start` (a doubled quote inside stands for one), and the index
 * just after its closing quote; undefined when the text ends before it is closed.
 */
export function readQuoted(src: string, start: number, quote: string): { value: string; end: number } | undefined {
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
