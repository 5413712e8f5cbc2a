/**
 * A small OPATH (`-Filter`) parser for the Exchange Get-* cmdlets: `Prop -eq 'v'`, `-ne`, `-like`,
 * `-notlike`, `-and`, `-or`, `-not`, parentheses, `$true`/`$false`/`$null`.
 *
 * Which properties a cmdlet filters on is Microsoft's list, "Filterable properties for the Filter parameter on
 * Exchange cmdlets" (https://learn.microsoft.com/powershell/exchange/filter-properties, MicrosoftDocs/office-docs-powershell
 * exchange/docs-conceptual/filter-properties.md, ms.date 06/19/2026): "A property is filterable only on the cmdlets
 * listed in its section. Using it on a cmdlet that isn't listed returns a 'not a recognized filterable property'
 * error, even when that cmdlet returns the same objects." {@link FILTERABLE} holds, for the properties the emulator
 * renders, the cmdlets of that list. So `UserPrincipalName` filters Get-Mailbox, Get-MailUser and Get-User but not
 * Get-Recipient, `WindowsEmailAddress` not Get-Recipient either, and `IsExchangeCloudManaged` nothing (the field test
 * found `Get-Mailbox -Filter 'IsExchangeCloudManaged -eq $true'` did not work).
 */
import { ExoError } from './errors';
import { parseConnectives, tokenize, type Lexicon, type Logical } from './filter-lex';

type Value = string | boolean | null | number;

type OpathNode = Logical<{ type: 'cmp'; op: 'eq' | 'ne' | 'like' | 'notlike'; prop: string; value: Value }>;

/** The Get-* cmdlets the emulator serves with -Filter. */
export type FilterCmdlet = 'Get-Recipient' | 'Get-Mailbox' | 'Get-MailUser' | 'Get-User' | 'Get-MailContact' | 'Get-Contact' | 'Get-DistributionGroup' | 'Get-Group';

const R = 'Get-Recipient';
const MBX = 'Get-Mailbox';
const MU = 'Get-MailUser';
const U = 'Get-User';
const MC = 'Get-MailContact';
const C = 'Get-Contact';
const DG = 'Get-DistributionGroup';
const G = 'Get-Group';
const ALL: readonly FilterCmdlet[] = [R, MBX, MU, U, MC, C, DG, G];
/** The "mail-enabled" cmdlets of Alias, PrimarySmtpAddress, EmailAddresses, HiddenFromAddressListsEnabled, CustomAttributeN. */
const MAIL: readonly FilterCmdlet[] = [R, MBX, MU, MC, DG];

/** Property → the served cmdlets whose -Filter takes it (Microsoft's list, restricted to the cmdlets served here). */
const FILTERABLE: Readonly<Record<string, readonly FilterCmdlet[]>> = {
  Alias: MAIL,
  Name: ALL,
  DisplayName: ALL,
  DistinguishedName: ALL,
  Guid: ALL,
  PrimarySmtpAddress: MAIL,
  EmailAddresses: MAIL,
  WindowsEmailAddress: [MBX, MU, U, MC, C, DG, G],
  ExternalEmailAddress: [R, MU, MC],
  RecipientType: ALL,
  RecipientTypeDetails: ALL,
  ExternalDirectoryObjectId: [R, MBX, MU, U, MC, DG],
  HiddenFromAddressListsEnabled: MAIL,
  IsDirSynced: ALL,
  UserPrincipalName: [MBX, MU, U],
  ExchangeGuid: [R, MBX, MU],
  FirstName: [R, U, C],
  LastName: [R, U, C],
  Department: [R, U, C],
  Title: [R, U, C],
  Company: [R, U, C],
  IsShared: [MBX],
  IsResource: [MBX],
  ResourceCapacity: [MBX],
  ResourceType: [R, MBX],
  UsageLocation: [R, MBX, MU],
  SKUAssigned: [R, MBX, MU, U],
  LitigationHoldEnabled: [R, MBX, MU],
  ForwardingSmtpAddress: [MBX],
  // "Members": Get-DistributionGroup, Get-Group and Get-Recipient, by a member's DN (not an output property here)
  Members: [R, DG, G],
  ...Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`CustomAttribute${i + 1}`, MAIL])),
};

/** The properties `cmdlet` filters on (of those the emulator renders), as Exchange lists them in its error. */
export function filterableProperties(cmdlet: FilterCmdlet): string[] {
  return Object.keys(FILTERABLE).filter((p) => FILTERABLE[p]!.includes(cmdlet));
}

/**
 * Exchange's answer to a property the cmdlet does not filter on, as quoted from Exchange Online in Microsoft Q&A
 * 179546 ("Cannot bind parameter 'Filter' to the target. Exception setting "Filter": ""False" is not a recognized
 * filterable property. Valid property names are: …"). The real list names every filterable property of the cmdlet;
 * this one names those the emulator simulates.
 */
function notFilterable(prop: string, cmdlet: FilterCmdlet): ExoError {
  return new ExoError(
    'ParameterBinding',
    `Cannot bind parameter 'Filter' to the target. Exception setting "Filter": ""${prop}" is not a recognized filterable property. ` +
      `Valid property names are: ${filterableProperties(cmdlet).join(', ')}."`,
  );
}

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

/**
 * Parses an OPATH filter for `cmdlet`; throws Exchange's "Invalid filter syntax" binding error, or its "not a
 * recognized filterable property" error for a property `cmdlet` does not filter on.
 */
export function parseOpath(src: string, cmdlet: FilterCmdlet): OpathNode {
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
    const prop = Object.keys(FILTERABLE).find((f) => f.toLowerCase() === t.v.toLowerCase());
    if (!prop || !FILTERABLE[prop]!.includes(cmdlet)) throw notFilterable(t.v, cmdlet);
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
    // Multi-valued (EmailAddresses): a match when any element matches. Microsoft's filter-properties page
    // (EmailAddresses): "When you use a complete email address, you don't need to account for the smtp: prefix. If
    // you use wildcards, you do. For example, if "EmailAddresses -eq 'lila@fabrikam.com'" returns a match,
    // "EmailAddresses -like 'lila*'" doesn't return a match, but "EmailAddresses -like 'smtp:lila*'" returns a match."
    const hit = actual.some((a) => {
      const s = String(a);
      const bare = s.includes(':') ? s.slice(s.indexOf(':') + 1) : s;
      if (op === 'eq' || op === 'ne') return typeof value === 'string' && (s.toLowerCase() === value.toLowerCase() || bare.toLowerCase() === value.toLowerCase());
      return typeof value === 'string' && like(s, value);
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

/**
 * Evaluates a parsed filter against an object of rendered cmdlet properties. A filterable property the emulator did
 * not render for this object is refused rather than read as empty (that would make a filter silently miss).
 */
export function evaluateOpath(node: OpathNode, props: Record<string, unknown>): boolean {
  switch (node.type) {
    case 'and':
      return evaluateOpath(node.left, props) && evaluateOpath(node.right, props);
    case 'or':
      return evaluateOpath(node.left, props) || evaluateOpath(node.right, props);
    case 'not':
      return !evaluateOpath(node.expr, props);
    case 'cmp':
      if (!(node.prop in props)) {
        throw new ExoError('Argument', `The Mailroom sandbox does not simulate the property '${node.prop}' of this recipient, so it cannot filter on it.`);
      }
      return matchOne(props[node.prop], node.op, node.value);
  }
}
