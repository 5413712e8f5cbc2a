/**
 * Existing recipients a request names: the target of a change, lists of identities (users, members) checked and
 * looked up one by one, and how two spellings of one recipient are told to be the same.
 */
import { isMailboxType, type RecipientRef, type TargetRecipient } from './kinds';
import { ask, type FoundRecipient, type Holder, type RecipientCandidate } from './lookup';
import { identityProblem, identityWildcardProblem } from './syntax';
import { show } from './text';
import type { Form, ValidationContext } from './validate-form';

/** At most this many users in one permission request, and members in one membership request. */
export const MAX_PERMISSION_USERS = 50;
export const MAX_MEMBERS_CHANGED = 100;

/** An error lists at most this many of the recipients an identity matched. */
const MAX_LISTED_CANDIDATES = 10;

/** "matches 2 recipients: "Team Sales" (sales@…), "Sales" (sales@…)": each by name and primary address, at most 10. */
export function candidatesText(identity: string, candidates: readonly RecipientCandidate[]): string {
  const listed = [...candidates]
    .sort((a, b) => a.name.localeCompare(b.name) || a.primarySmtpAddress.localeCompare(b.primarySmtpAddress))
    .slice(0, MAX_LISTED_CANDIDATES)
    .map((c) => `${show(c.name, 80)}${c.primarySmtpAddress ? ` (${c.primarySmtpAddress})` : ''}`);
  const more = candidates.length - listed.length;
  if (candidates.length < 2) return `${show(identity)} matches more than one recipient in Exchange Online${listed.length ? `, among them ${listed.join(', ')}` : ''}`;
  return `${show(identity)} matches ${candidates.length} recipients: ${listed.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

export function toTarget(identity: string, f: FoundRecipient): TargetRecipient {
  return {
    identity,
    name: f.name,
    type: f.type,
    primarySmtpAddress: f.primarySmtpAddress,
    isDirSynced: f.isDirSynced,
    isExchangeCloudManaged: f.isExchangeCloudManaged,
    ...(f.adDn !== undefined ? { adDn: f.adDn } : {}),
    ...(f.userPrincipalName !== undefined ? { userPrincipalName: f.userPrincipalName } : {}),
    ...(f.exoId !== undefined ? { exoId: f.exoId } : {}),
  };
}

export function isTarget(h: Holder, t: TargetRecipient): boolean {
  if (h.id !== undefined) {
    const id = h.id.toLowerCase();
    if ([t.adDn, t.exoId].some((x) => x !== undefined && x.toLowerCase() === id)) return true;
  }
  const n = h.name.toLowerCase();
  return [t.name, t.primarySmtpAddress, t.adDn, t.userPrincipalName, t.exoId].some((x) => x !== undefined && x.toLowerCase() === n);
}

export const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/** The identities in a list field: split on commas, semicolons and spaces, each once (case-insensitively). */
export function listOf(text: string | undefined): string[] {
  return text === undefined ? [] : [...new Map(text.split(/[,;\s]+/u).filter((m) => m !== '').map((m) => [m.toLowerCase(), m])).values()];
}

function listed(values: readonly string[], n = 5): string {
  return `${values.slice(0, n).map((m) => show(m)).join(', ')}${values.length > n ? ` and ${values.length - n} more` : ''}`;
}

/** Syntax of a list of identities (count, wildcards, what is not an address or alias); errors on `field`. */
export function checkIdentityList(form: Form, field: string, wanted: readonly string[], max: number, what: string): void {
  if (wanted.length === 0 && !form.isBad(field) && form.typed(field) !== undefined) form.error(field, `${show(form.typed(field) ?? '')} names nobody. Give at least one email address, UPN or alias.`);
  if (wanted.length > max) form.error(field, `${wanted.length} ${what} given; at most ${max} in one request. Make a second request for the rest.`);
  const wildcards = wanted.filter((m) => identityWildcardProblem(m) !== null);
  if (wildcards.length) {
    const chars = [...new Set(wildcards.flatMap((m) => [...m].filter((c) => c === '*' || c === '?')))].map((c) => `"${c}"`).join(' and ');
    form.error(field, `${listed(wildcards)} ${wildcards.length === 1 ? 'contains' : 'contain'} ${chars}, which Exchange reads as a wildcard that can match other recipients. Give each one's exact email address.`);
  }
  const badSyntax = wanted.filter((m) => identityWildcardProblem(m) === null && identityProblem(m) !== null);
  if (badSyntax.length) form.error(field, `${listed(badSyntax)} ${badSyntax.length === 1 ? 'is' : 'are'} not an email address, UPN or alias. Separate them with commas.`);
}

export function refOf(identity: string, f: FoundRecipient): RecipientRef {
  return {
    identity, name: f.name, type: f.type, primarySmtpAddress: f.primarySmtpAddress, isDirSynced: f.isDirSynced,
    ...(f.adDn !== undefined ? { adDn: f.adDn } : {}), ...(f.exoId !== undefined ? { exoId: f.exoId } : {}),
    ...(f.userPrincipalName !== undefined ? { userPrincipalName: f.userPrincipalName } : {}),
  };
}

/** Whether two found recipients are the same object (by AD DN, Exchange id or primary address). */
export function sameRecipient(a: { adDn?: string; exoId?: string; primarySmtpAddress: string }, b: { adDn?: string; exoId?: string; primarySmtpAddress: string }): boolean {
  if (a.exoId !== undefined && b.exoId !== undefined) return same(a.exoId, b.exoId);
  if (a.adDn !== undefined && b.adDn !== undefined) return same(a.adDn, b.adDn);
  return a.primarySmtpAddress !== '' && same(a.primarySmtpAddress, b.primarySmtpAddress);
}

/**
 * Each identity of a list as exactly one recipient (none and several are errors on `field`), each recipient once
 * (two spellings of one recipient count once). Undefined when an error was added.
 */
export async function resolveList(form: Form, ctx: ValidationContext, field: string, wanted: readonly string[], role: string): Promise<RecipientRef[] | undefined> {
  const out: RecipientRef[] = [];
  const missing: string[] = [];
  const before = form.errors.length;
  for (const m of wanted) {
    const match = await ask(`the ${role} ${m}`, () => ctx.lookup.findRecipient(m));
    if (match.found === 'several') {
      form.error(field, `${candidatesText(m, match.candidates)}. Give the exact primary email address of the one you mean.`);
      continue;
    }
    if (match.found === 'none') {
      missing.push(m);
      continue;
    }
    const ref = refOf(m, match.recipient);
    if (!out.some((x) => sameRecipient(x, ref))) out.push(ref);
  }
  if (missing.length) form.error(field, `no recipient found in Exchange Online for ${listed(missing)}. Use their email addresses, UPNs or aliases.`);
  return form.errors.length > before ? undefined : out;
}

/** Who can hold a mailbox permission: a security principal with a recipient (Exchange's rule for -User, -Trustee and -GrantSendOnBehalfTo). */
export const PERMISSION_HOLDER_TYPES = (t: string): boolean => isMailboxType(t) || t === 'MailUser' || t === 'MailUniversalSecurityGroup';
