/**
 * Distinguished names (RFC 4514): the only way Mailroom builds, parses and compares DNs.
 *
 * - Build DNs only through `rdn(type, value)` and `child(parentDn, rdn)`: every value is escaped.
 * - Compare DNs only through `equal` (and `isWithin`, `normalize` for keys of maps and sets): Samba and Windows
 *   return DNs escaped their own way (`f\3Bg\3Dh`, `\#x`, `\ `), and Graph returns them as AD has them, so
 *   comparing DN strings, even lower-cased, is wrong.
 */
import { DirectoryError } from './errors';

/** One attribute type and value of an RDN, with the value unescaped. */
export interface Ava {
  readonly type: string;
  readonly value: string;
  /** The value was written as `#<hex of its BER encoding>`; `value` then holds that text verbatim. */
  readonly ber?: boolean;
}
/** A relative distinguished name: usually one AVA, several for a multi-valued RDN (`CN=a+UID=b`). */
export type Rdn = readonly Ava[];
/** A parsed DN, leaf first (as written). */
export type ParsedDn = readonly Rdn[];

const ATTRIBUTE_TYPE = /^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)*)$/;
/** Characters RFC 4514 escapes anywhere in a value, plus `=` (which Samba escapes too). */
const ALWAYS_ESCAPED = new Set(['"', '+', ',', ';', '<', '>', '\\', '=']);

function invalidDn(message: string, input?: string): DirectoryError {
  return new DirectoryError({
    code: 34,
    kind: 'invalid-dn',
    transient: false,
    outcome: 'unchanged',
    message: input === undefined ? message : `${message} (in "${input}")`,
  });
}

/**
 * Escape one attribute value for a DN string (RFC 4514 section 2.4): `" + , ; < > \ =` anywhere, `#` or a space
 * at the start, a space at the end, NUL and other control characters as `\XX` hex pairs.
 */
export function escapeValue(value: string): string {
  let out = '';
  const chars = Array.from(value);
  chars.forEach((ch, i) => {
    const cp = ch.codePointAt(0) ?? 0;
    if (ALWAYS_ESCAPED.has(ch)) {
      out += `\\${ch}`;
    } else if (cp < 0x20 || cp === 0x7f) {
      out += `\\${cp.toString(16).padStart(2, '0').toUpperCase()}`;
    } else if (i === 0 && (ch === '#' || ch === ' ')) {
      out += `\\${ch}`;
    } else if (i === chars.length - 1 && ch === ' ') {
      out += '\\ ';
    } else {
      out += ch;
    }
  });
  return out;
}

function checkType(type: string, input?: string): string {
  const t = type.trim();
  if (!ATTRIBUTE_TYPE.test(t)) throw invalidDn(`"${type}" is not an attribute type that can name an object`, input);
  return t;
}

/** One escaped RDN, e.g. `rdn('CN', 'Lovelace, Ada')` → `CN=Lovelace\, Ada`. Empty values are refused. */
export function rdn(type: string, value: string): string {
  const t = checkType(type);
  if (value.length === 0) throw invalidDn(`The ${t} of an object cannot be empty`);
  return `${t}=${escapeValue(value)}`;
}

/**
 * The DN of `rdnString` directly below `parentDn`. Both are parsed first, so a value that was not built with
 * `rdn()` (and so could smuggle in a `,OU=x`) is refused instead of changing where the object lands.
 */
export function child(parentDn: string, rdnString: string): string {
  const parsedRdn = parse(rdnString);
  if (parsedRdn.length !== 1) {
    throw invalidDn('An RDN must name exactly one level; build it with dn.rdn(type, value)', rdnString);
  }
  const parent = parse(parentDn);
  return format([...parsedRdn, ...parent]);
}

/** Parse a DN string (RFC 4514, with RFC 2253/1779 leniencies: spaces around separators, quoted values, `;`). */
export function parse(dnString: string): ParsedDn {
  const s = dnString;
  const rdns: Ava[][] = [];
  let i = 0;
  const skipSpaces = (): void => {
    while (s[i] === ' ') i += 1;
  };
  skipSpaces();
  if (i >= s.length) return [];
  let current: Ava[] = [];
  for (;;) {
    skipSpaces();
    const eq = s.indexOf('=', i);
    if (eq < 0) throw invalidDn('Not a distinguished name: an attribute type must be followed by "="', dnString);
    const type = checkType(s.slice(i, eq), dnString);
    i = eq + 1;
    skipSpaces();
    const ber = s[i] === '#';
    const value = readValue();
    current.push(ber ? { type, value, ber } : { type, value });
    if (i >= s.length) {
      rdns.push(current);
      break;
    }
    const sep = s[i];
    i += 1;
    if (sep === '+') continue;
    rdns.push(current);
    current = [];
    if (i >= s.length) throw invalidDn('Not a distinguished name: it ends with a separator', dnString);
  }
  return rdns;

  function readValue(): string {
    if (s[i] === '#') {
      // A BER-encoded value (hexstring). AD never returns one for the names Mailroom uses; keep it verbatim.
      const start = i;
      i += 1;
      while (i < s.length && /[0-9A-Fa-f]/.test(s[i] ?? '')) i += 1;
      const raw = s.slice(start, i);
      skipSpaces();
      expectEndOfValue();
      return raw;
    }
    const bytes: number[] = [];
    const pushText = (text: string): void => {
      for (const b of Buffer.from(text, 'utf8')) bytes.push(b);
    };
    if (s[i] === '"') {
      i += 1;
      for (;;) {
        if (i >= s.length) throw invalidDn('Not a distinguished name: a quoted value is not closed', dnString);
        const ch = s[i] ?? '';
        if (ch === '"') {
          i += 1;
          break;
        }
        if (ch === '\\') {
          i = readEscape(i, bytes);
          continue;
        }
        const cp = s.codePointAt(i) ?? 0;
        const text = String.fromCodePoint(cp);
        pushText(text);
        i += text.length;
      }
      skipSpaces();
      expectEndOfValue();
      return Buffer.from(bytes).toString('utf8');
    }
    // Unquoted value: trailing unescaped spaces are not part of it.
    let keep = 0; // number of bytes up to the last escaped or non-space character
    while (i < s.length) {
      const ch = s[i] ?? '';
      if (ch === ',' || ch === '+' || ch === ';') break;
      if (ch === '\\') {
        i = readEscape(i, bytes);
        keep = bytes.length;
        continue;
      }
      const cp = s.codePointAt(i) ?? 0;
      const text = String.fromCodePoint(cp);
      pushText(text);
      i += text.length;
      if (ch !== ' ') keep = bytes.length;
    }
    return Buffer.from(bytes.slice(0, keep)).toString('utf8');
  }

  function readEscape(at: number, bytes: number[]): number {
    const next = s[at + 1];
    const hex = s.slice(at + 1, at + 3);
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      return at + 3;
    }
    if (next === undefined) throw invalidDn('Not a distinguished name: it ends with a lone "\\"', dnString);
    const cp = s.codePointAt(at + 1) ?? 0;
    const text = String.fromCodePoint(cp);
    for (const b of Buffer.from(text, 'utf8')) bytes.push(b);
    return at + 1 + text.length;
  }

  function expectEndOfValue(): void {
    const ch = s[i];
    if (ch !== undefined && ch !== ',' && ch !== '+' && ch !== ';') {
      throw invalidDn(`Not a distinguished name: unexpected "${ch}" after a value`, dnString);
    }
  }
}

/** The DN as a string, every value escaped by `escapeValue`. */
export function format(parsed: ParsedDn): string {
  return parsed.map((r) => r.map((a) => `${a.type}=${a.ber ? a.value : escapeValue(a.value)}`).join('+')).join(',');
}

function avaKey(a: Ava): string {
  return `${a.type.toLowerCase()}=${a.ber ? a.value.toLowerCase() : escapeValue(a.value.normalize('NFC').toLowerCase())}`;
}

function rdnKey(r: Rdn): string {
  return r.map(avaKey).sort().join('+');
}

/**
 * A comparison key: types and values lower-cased (AD compares names case-insensitively), values escaped one
 * canonical way, multi-valued RDNs sorted. For maps and sets of DNs; never send it to a server.
 */
export function normalize(dnString: string): string {
  return parse(dnString).map(rdnKey).join(',');
}

/**
 * Whether two DN strings name the same object: the one way Mailroom compares DNs. Both are parsed and compared
 * RDN by RDN, so the escaping style (`\4E` and `N`, `\,` and `\2C`), spaces around separators, the order of the
 * values of a multi-valued RDN and the case of attribute types and values do not matter (AD compares names
 * case-insensitively); the values themselves do. Never throws: a string that is not a DN equals only the same text,
 * ignoring case.
 */
export function equal(a: string, b: string): boolean {
  const x = tryParse(a);
  const y = tryParse(b);
  if (!x || !y) return a.toLowerCase() === b.toLowerCase();
  return x.length === y.length && x.every((r, i) => rdnKey(r) === rdnKey(y[i]!));
}

function tryParse(dnString: string): ParsedDn | undefined {
  try {
    return parse(dnString);
  } catch {
    return undefined;
  }
}

/** Whether `dnString` is `ancestor` or lies below it. */
export function isWithin(dnString: string, ancestor: string): boolean {
  const d = parse(dnString).map(rdnKey);
  const a = parse(ancestor).map(rdnKey);
  if (a.length > d.length) return false;
  const offset = d.length - a.length;
  return a.every((k, idx) => d[offset + idx] === k);
}

/** The parent's DN, or undefined for a single-RDN or empty DN. */
export function parent(dnString: string): string | undefined {
  const p = parse(dnString);
  return p.length > 1 ? format(p.slice(1)) : undefined;
}

/** The (unescaped) value of the leaf RDN, e.g. the CN of a user. */
export function leafValue(dnString: string): string {
  const first = parse(dnString)[0]?.[0];
  if (!first) throw invalidDn('An empty DN has no name');
  return first.value;
}

/** How a DN is named in messages: its leaf value and the full DN (the DN alone when it does not parse). */
export function describe(dnString: string): string {
  try {
    return `'${leafValue(dnString)}' (${dnString})`;
  } catch {
    return `'${dnString}'`;
  }
}

/** Whether the string parses as a DN with at least `minLevels` RDNs. */
export function looksLikeDn(value: string, minLevels = 2): boolean {
  try {
    return parse(value).length >= minLevels;
  } catch {
    return false;
  }
}
