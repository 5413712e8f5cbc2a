/**
 * The naming policy: templates such as `{first}.{last}`, `{f}{last}` or `{first}{l}` form the alias, the UPN
 * prefix and the sAMAccountName of a new object from its names (transliterated, lower case, cut to the
 * limit). Values the requester left empty are filled from the policy and, when taken, get a number
 * (`ada.lovelace2`, `ada.lovelace3` … the number kept within the limit); values the requester typed are
 * never changed here (validation reports them when taken).
 */
import { ask, type Holder, type NameQuery, type RecipientLookup } from './lookup';
import { nameToken } from './transliterate';

export interface NamingTemplates {
  /** Alias (mailNickname) of people (user mailboxes, mail users). The primary address uses the alias. */
  readonly alias: string;
  /** UPN prefix of people; the suffix comes from the tenant profile. */
  readonly upnPrefix: string;
  /** sAMAccountName of people. */
  readonly samAccountName: string;
  /** Alias of shared/room/equipment mailboxes, contacts and groups (`{name}` = their display name). */
  readonly resourceAlias: string;
  /** sAMAccountName of shared/room/equipment mailboxes and groups. */
  readonly resourceSamAccountName: string;
}

export const DEFAULT_NAMING: NamingTemplates = {
  alias: '{first}.{last}',
  upnPrefix: '{first}.{last}',
  samAccountName: '{f}{last}',
  resourceAlias: '{name}',
  resourceSamAccountName: '{name}',
};

/** `{first}`, `{last}`: the whole name; `{f}`, `{l}`: its first letter; `{name}`: a display name. */
export type TemplateToken = 'first' | 'last' | 'f' | 'l' | 'name';

const PERSON_TOKENS: readonly TemplateToken[] = ['first', 'last', 'f', 'l'];
const RESOURCE_TOKENS: readonly TemplateToken[] = ['name'];

/** Why a template cannot be used, or null. Person templates use first/last tokens, resource templates {name}. */
export function templateProblem(template: string, forResources: boolean): string | null {
  const allowed = forResources ? RESOURCE_TOKENS : PERSON_TOKENS;
  const tokens = [...template.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1] ?? '');
  if (tokens.length === 0) return `"${template}" has no {token}; use ${allowed.map((t) => `{${t}}`).join(', ')}`;
  const unknown = tokens.filter((t) => !(allowed as readonly string[]).includes(t));
  if (unknown.length) return `"${template}" uses ${unknown.map((t) => `{${t}}`).join(', ')}; allowed here: ${allowed.map((t) => `{${t}}`).join(', ')}`;
  const literal = template.replace(/\{[^{}]*\}/g, '');
  if (/[^a-z0-9._-]/.test(literal)) return `"${template}" has text other than a-z, 0-9, . - _ outside the tokens`;
  return null;
}

export interface NameParts {
  readonly first?: string;
  readonly last?: string;
  readonly name?: string;
}

/** Applies a template; returns '' when the names have no Latin letters or digits to build from. */
export function applyTemplate(template: string, parts: NameParts): string {
  const first = nameToken(parts.first ?? '');
  const last = nameToken(parts.last ?? '');
  const name = nameToken(parts.name ?? '');
  const value: Record<TemplateToken, string> = { first, last, f: first.slice(0, 1), l: last.slice(0, 1), name };
  return template
    .replace(/\{([^{}]*)\}/g, (_, t: string) => value[t as TemplateToken] ?? '')
    .replace(/\.{2,}/g, '.')
    .replace(/^[._-]+|[._-]+$/g, '');
}

/**
 * `base` with collision number `n` (1 = no number), cut so that the whole stays within `limit`; a period
 * left at the end by the cut is dropped (neither an alias nor a sAMAccountName may end with one).
 * Empty when nothing of the base is left.
 */
export function withSuffix(base: string, n: number, limit: number): string {
  const suffix = n <= 1 ? '' : String(n);
  const cut = base.slice(0, Math.max(0, limit - suffix.length)).replace(/\.+$/g, '');
  return cut === '' ? '' : cut + suffix;
}

export type NameSlot = 'alias' | 'samAccountName' | 'userPrincipalName' | 'emailAddress';

/** One value to derive: `base` is the name (for UPN and address: the part before the @). */
export interface Derivation {
  readonly slot: NameSlot;
  readonly base: string;
  readonly limit: number;
  /** For userPrincipalName and emailAddress. */
  readonly domain?: string;
}

export function valueFor(d: Derivation, n: number): string {
  const v = withSuffix(d.base, n, d.limit);
  return d.domain === undefined ? v : `${v}@${d.domain}`;
}

/** The largest collision number tried before giving up. */
export const MAX_SUFFIX = 99;

const SLOT_CHECK: Record<NameSlot, string> = { alias: 'alias', samAccountName: 'logon name', userPrincipalName: 'UPN', emailAddress: 'address' };

/** Adds the values of slots to one query (a UPN is asked for as an address too: Entra keeps them unique together). */
function addToQuery(q: NameQuery & { addresses: string[] }, slot: NameSlot, value: string): void {
  switch (slot) {
    case 'alias':
      q.alias = value;
      return;
    case 'samAccountName':
      q.samAccountName = value;
      return;
    case 'userPrincipalName':
      q.userPrincipalName = value;
      if (!q.addresses.some((a) => a.toLowerCase() === value.toLowerCase())) q.addresses.push(value);
      return;
    case 'emailAddress':
      if (!q.addresses.some((a) => a.toLowerCase() === value.toLowerCase())) q.addresses.push(value);
  }
}

/** Every holder of any of these slot values, asked in one look-up. */
async function holdersOfAll(lookup: RecipientLookup, values: readonly { slot: NameSlot; value: string }[]): Promise<Holder[]> {
  const q: NameQuery & { addresses: string[] } = { addresses: [] };
  for (const v of values) addToQuery(q, v.slot, v.value);
  const check = values.map((v) => `the ${SLOT_CHECK[v.slot]} ${v.value}`).join(', ');
  return ask(`whether ${check} ${values.length > 1 ? 'are' : 'is'} taken`, () => lookup.whoHas(q));
}

/** Every holder of a value in a slot (for the UPN: also objects that have it as an address). */
export function holdersOf(lookup: RecipientLookup, slot: NameSlot, value: string): Promise<Holder[]> {
  return holdersOfAll(lookup, [{ slot, value }]);
}

export type DerivationResult =
  | { readonly ok: true; readonly values: Partial<Record<NameSlot, string>>; readonly suffix: number }
  | { readonly ok: false; readonly slot: NameSlot; readonly tried: string };

/**
 * Picks the smallest collision number n (1 = none) for which every derived value is free, so that the values
 * of one object keep the same number (alias ada.lovelace2, address ada.lovelace2@…, sAMAccountName alovelace2).
 */
export async function deriveFree(lookup: RecipientLookup, derivations: readonly Derivation[]): Promise<DerivationResult> {
  const values: Partial<Record<NameSlot, string>> = {};
  if (derivations.length === 0) return { ok: true, values, suffix: 1 };
  // One look-up per number answers for every derived value at once.
  for (let n = 1; n <= MAX_SUFFIX; n++) {
    const candidates = derivations.map((d) => ({ slot: d.slot, value: valueFor(d, n) }));
    if ((await holdersOfAll(lookup, candidates)).length === 0) {
      for (const c of candidates) values[c.slot] = c.value;
      return { ok: true, values, suffix: n };
    }
  }
  // Every number is taken: name the first value of the last number that someone holds (asked one by one, once).
  for (const d of derivations) {
    const tried = valueFor(d, MAX_SUFFIX);
    if ((await holdersOf(lookup, d.slot, tried)).length > 0) return { ok: false, slot: d.slot, tried };
  }
  const lastOne = derivations[derivations.length - 1]!;
  return { ok: false, slot: lastOne.slot, tried: valueFor(lastOne, MAX_SUFFIX) };
}

