/**
 * Syntax rules for the names and addresses Mailroom writes: Windows Active Directory's rules (not Samba's,
 * which accepts e.g. sAMAccountName over 20 characters, see docs/samba-ad.md "Where Samba is more lenient"),
 * Entra ID's for the UPN, and Exchange Online's for the alias and SMTP addresses.
 *
 * Each check returns null when the value is fine, or the reason in words a person understands; the caller
 * puts the field label in front and adds an example. Values are assumed to be trimmed and free of control
 * characters (see text.ts), but the checks stay safe for any string.
 */
import { nameToken } from './transliterate';
import { lengthOf, show } from './text';

export const LIMITS = {
  /** Windows: sAMAccountName of users (the pre-Windows 2000 logon name) has at most 20 characters. */
  samAccountName: 20,
  /** Mailroom's own limit for the sAMAccountName of groups (Windows allows 256; many tools break above 64). */
  groupSamAccountName: 64,
  /** Exchange alias (mailNickname). */
  alias: 64,
  /** Entra ID: the part of the UPN before the @. */
  upnPrefix: 64,
  /** Entra ID: the whole UPN (64 + @ + 48). */
  upn: 113,
  /** RFC 5321 local part. */
  localPart: 64,
  /** RFC 5321 path (256) minus the angle brackets. */
  address: 254,
  /** AD displayName. */
  displayName: 256,
  /** AD cn (the RDN of the object). */
  cn: 64,
  givenName: 64,
  sn: 64,
  department: 64,
  title: 128,
  company: 64,
  description: 1024,
} as const;

/** Characters Windows refuses in a sAMAccountName. */
const SAM_FORBIDDEN = '"/\\[]:;|=,+*?<>';

export function samAccountNameProblem(v: string, limit: number = LIMITS.samAccountName): string | null {
  if (v === '') return 'is empty';
  const bad = [...new Set([...v].filter((c) => SAM_FORBIDDEN.includes(c)))];
  if (bad.length) return `contains ${bad.map((c) => `"${c}"`).join(' ')}, which Windows does not allow (none of " / \\ [ ] : ; | = , + * ? < >)`;
  if (lengthOf(v) > limit) return `is ${lengthOf(v)} characters long; Windows allows at most ${limit}`;
  if (v.endsWith('.')) return 'ends with a period, which Windows does not allow';
  if (/^[.\s]+$/u.test(v)) return 'consists only of periods and spaces';
  return null;
}

const ALIAS_CHAR = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]$/;

/** The accepted set in words, for messages. */
export const ALIAS_RULE = "Use letters, digits and . - _ (Exchange also accepts ! # $ % & ' * + / = ? ^ ` { | } ~)";

export function aliasProblem(v: string, limit: number = LIMITS.alias): string | null {
  if (v === '') return 'is empty';
  if (/\s/u.test(v)) return 'contains a space';
  const bad = [...new Set([...v].filter((c) => !ALIAS_CHAR.test(c)))];
  if (bad.length) return `contains ${bad.slice(0, 3).map((c) => show(c)).join(' ')}`;
  if (lengthOf(v) > limit) return `is ${lengthOf(v)} characters long; at most ${limit}`;
  if (v.startsWith('.') || v.endsWith('.')) return 'starts or ends with a period';
  if (v.includes('..')) return 'has two periods in a row';
  return null;
}

/** A safe example built from what was typed ("Ada Lövelace" → "ada.loevelace"), or null. */
export function exampleFrom(v: string, limit: number): string | null {
  const t = nameToken(v.trim().replace(/\s+/gu, '.'), { keepDots: true }).slice(0, limit).replace(/[.\-_]+$/u, '');
  return t === '' ? null : t;
}

/** DNS domain name (ASCII; IDNs in their xn-- form), at least two labels, a letter TLD. */
export function domainProblem(d: string): string | null {
  if (d === '') return 'has no domain';
  if (lengthOf(d) > 253) return 'has a domain longer than 253 characters';
  const labels = d.split('.');
  if (labels.length < 2) return `has the domain ${show(d)}, which is not a full domain name (e.g. contoso.com)`;
  for (const l of labels) {
    if (l === '') return `has the domain ${show(d)} with an empty part (two periods in a row, or a period at an end)`;
    if (l.length > 63) return 'has a domain part longer than 63 characters';
    if (!/^[A-Za-z0-9-]+$/.test(l)) return `has the domain ${show(d)} with characters other than letters, digits and hyphens`;
    if (l.startsWith('-') || l.endsWith('-')) return `has the domain ${show(d)} with a part that starts or ends with a hyphen`;
  }
  const tld = labels[labels.length - 1] ?? '';
  if (!/^([A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$/.test(tld)) return `has the domain ${show(d)} with an invalid top-level part`;
  return null;
}

/**
 * An SMTP address as Exchange Online accepts it for a recipient: `local@domain`, the local part a dot-atom
 * of RFC 5322 (the same characters as an alias), no quoted local parts or IP literals.
 */
export function smtpAddressProblem(v: string): string | null {
  if (v === '') return 'is empty';
  if (/\s/u.test(v)) return 'contains a space';
  if (lengthOf(v) > LIMITS.address) return `is ${lengthOf(v)} characters long; at most ${LIMITS.address}`;
  const at = v.lastIndexOf('@');
  if (at < 0) return 'has no @';
  if (v.indexOf('@') !== at) return 'has more than one @';
  const local = v.slice(0, at);
  const domain = v.slice(at + 1);
  if (local === '') return 'has nothing before the @';
  if (lengthOf(local) > LIMITS.localPart) return `has ${lengthOf(local)} characters before the @; at most ${LIMITS.localPart}`;
  const bad = [...new Set([...local].filter((c) => !ALIAS_CHAR.test(c)))];
  if (bad.length) return `contains ${bad.slice(0, 3).map((c) => show(c)).join(' ')} before the @`;
  if (local.startsWith('.') || local.endsWith('.') || local.includes('..')) return 'has a period at the start or end of the part before the @, or two in a row';
  return domainProblem(domain);
}

export function isSmtpAddress(v: string): boolean {
  return smtpAddressProblem(v) === null;
}

/** Characters Entra ID accepts in the part of a UPN before the @. */
const UPN_CHAR = /^[A-Za-z0-9'.\-_!#^~]$/;

/** UPN syntax as Entra ID accepts it: `prefix@suffix`, prefix ≤ 64 of letters, digits and ' . - _ ! # ^ ~. */
export function upnProblem(v: string): string | null {
  if (v === '') return 'is empty';
  if (/\s/u.test(v)) return 'contains a space';
  if (lengthOf(v) > LIMITS.upn) return `is ${lengthOf(v)} characters long; at most ${LIMITS.upn}`;
  const at = v.indexOf('@');
  if (at < 0) return 'has no @ (a UPN looks like ada.lovelace@contoso.com)';
  if (v.lastIndexOf('@') !== at) return 'has more than one @';
  const prefix = v.slice(0, at);
  if (prefix === '') return 'has nothing before the @';
  if (lengthOf(prefix) > LIMITS.upnPrefix) return `has ${lengthOf(prefix)} characters before the @; at most ${LIMITS.upnPrefix}`;
  const bad = [...new Set([...prefix].filter((c) => !UPN_CHAR.test(c)))];
  if (bad.length) return `contains ${bad.slice(0, 3).map((c) => show(c)).join(' ')} before the @ (allowed: letters, digits and ' . - _ ! # ^ ~)`;
  if (prefix.startsWith('.') || prefix.endsWith('.') || prefix.includes('..')) return 'has a period at the start or end of the part before the @, or two in a row';
  return domainProblem(v.slice(at + 1));
}

export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

/** Characters Exchange Online reads as wildcards in an identity (`-Identity 'ada*'` finds every match). */
const IDENTITY_WILDCARDS = ['*', '?'];

/**
 * Why an identity holds a wildcard, or null: an identity must name one recipient exactly, and a wildcard could
 * match another one (even where an address may hold the character, Mailroom does not look up by it).
 */
export function identityWildcardProblem(v: string): string | null {
  const found = IDENTITY_WILDCARDS.filter((c) => v.includes(c));
  if (!found.length) return null;
  return `contains ${found.map((c) => `"${c}"`).join(' and ')}, which Exchange reads as a wildcard that can match other recipients`;
}

/** Identity of an existing recipient as typed: an SMTP address / UPN, or an alias; no wildcards. */
export function identityProblem(v: string): string | null {
  if (v === '') return 'is empty';
  const wildcard = identityWildcardProblem(v);
  if (wildcard) return wildcard;
  if (v.includes('@')) return smtpAddressProblem(v);
  return aliasProblem(v, 256);
}

