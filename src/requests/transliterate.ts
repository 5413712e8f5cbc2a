/**
 * Transliteration for names that become aliases, logon names and addresses: German umlauts as two letters
 * (ä→ae, ö→oe, ü→ue, ß→ss), a few letters that have no decomposition (ø, ł, đ, þ, æ, œ …), every other
 * accent stripped; apostrophes and spaces removed; lower case; only a-z, 0-9, hyphen, underscore and
 * (optionally) periods kept.
 */

const SPECIAL: Readonly<Record<string, string>> = {
  ä: 'ae', ö: 'oe', ü: 'ue', Ä: 'ae', Ö: 'oe', Ü: 'ue', ß: 'ss', ẞ: 'ss',
  æ: 'ae', Æ: 'ae', œ: 'oe', Œ: 'oe', ø: 'o', Ø: 'o', ł: 'l', Ł: 'l', đ: 'd', Đ: 'd', ð: 'd', Ð: 'd',
  þ: 'th', Þ: 'th', ı: 'i', ŀ: 'l', Ŀ: 'l', ħ: 'h', Ħ: 'h', ŧ: 't', Ŧ: 't', ŋ: 'n', Ŋ: 'n', ĸ: 'k',
};

/** Latin transliteration of free text, keeping spaces and punctuation (lower case). */
export function transliterate(s: string): string {
  let out = '';
  for (const c of s.normalize('NFC')) out += SPECIAL[c] ?? c;
  return out
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase();
}

/**
 * A name as a token for templates: "Ada Lövelace" → "adaloevelace", "O'Brien" → "obrien",
 * "Jean-Luc" → "jean-luc". With `keepDots`, periods stay (collapsed, never at an end).
 */
export function nameToken(s: string, options: { keepDots?: boolean } = {}): string {
  const allowed = options.keepDots ? /[^a-z0-9._-]/g : /[^a-z0-9_-]/g;
  return transliterate(s)
    .replace(/['’‘`´\s]/gu, '')
    .replace(allowed, '')
    .replace(/\.{2,}/g, '.')
    .replace(/^[.\-_]+|[.\-_]+$/g, '');
}
