/**
 * Small text helpers shared by the request modules: finding characters that must never reach AD, Exchange
 * or a card (control, invisible and direction-changing characters, broken UTF-16), and showing a value a
 * person typed inside an error message without letting it break or flood the message.
 */

/** C0 and C1 control characters and DEL. */
function isControl(code: number): boolean {
  return code <= 0x1f || (code >= 0x7f && code <= 0x9f);
}

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (isControl(s.charCodeAt(i))) return true;
  return false;
}

/**
 * Characters that are invisible or reorder text: zero-width characters, bidirectional overrides and
 * isolates (they can make an approval card show a different name than the one that will be created),
 * the BOM, line/paragraph separators and the non-characters U+FFFE/U+FFFF.
 */
const INVISIBLE = /[\u00ad\u200b-\u200f\u202a-\u202e\u2028\u2029\u2060-\u2064\u2066-\u2069\ufeff\ufffe\uffff]/u;

/** Private-use characters: no standard glyph, so a message names them by code (\ue000) rather than showing nothing. */
const PRIVATE_USE = /\p{Co}/u;

/** True when the string contains a UTF-16 surrogate that is not part of a pair. */
function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return true;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return true;
    }
  }
  return false;
}

/** Why a value cannot be used at all, or null. Checked for every field before its own rules. */
export function unusableCharacters(s: string): string | null {
  if (hasLoneSurrogate(s)) return 'contains a broken character (invalid UTF-16)';
  if (hasControl(s)) return 'contains a control character (such as a line break or tab)';
  if (INVISIBLE.test(s)) return 'contains an invisible or text-direction character';
  return null;
}

/**
 * A value as it should appear inside an error message: quoted, control characters escaped, and cut to
 * `max` characters so that a huge input cannot flood a card.
 */
export function show(value: string, max = 40): string {
  const chars = [...value];
  const cut = chars.length > max ? chars.slice(0, max).join('') + '…' : value;
  let escaped = '';
  for (const c of cut) {
    const code = c.codePointAt(0) ?? 0;
    if (c.length === 1 && code >= 0xd800 && code <= 0xdfff) escaped += '\ufffd';
    else if (isControl(code) || INVISIBLE.test(c) || PRIVATE_USE.test(c)) escaped += code === 0x0a ? '\\n' : code === 0x09 ? '\\t' : `\\u${code.toString(16).padStart(4, '0')}`;
    else escaped += c;
  }
  return `"${escaped}"`;
}

/** Length as Active Directory and Exchange count it (UTF-16 code units; never less than the characters). */
export function lengthOf(s: string): number {
  return s.length;
}

/** Edit distance (insert, delete, substitute, swap of neighbours) for "did you mean". */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      d[i * cols + j] = v;
    }
  }
  return at(a.length, b.length);
}

/** The closest candidate within a small distance, for "did you mean …?". */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: { c: string; d: number } | undefined;
  const w = word.toLowerCase();
  if (w.length > 64) return undefined;
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d <= Math.max(1, Math.floor(c.length / 3)) && (!best || d < best.d)) best = { c, d };
  }
  return best?.c;
}
