/**
 * Validation of the kinds that create a recipient: user, shared, room and equipment mailboxes, mail users, mail
 * contacts and distribution groups.
 */
import type { DistributionGroupRequest, GroupMember, RecipientRef, RecipientRequest } from './kinds';
import { ask } from './lookup';
import { applyTemplate } from './naming';
import { LIMITS, identityProblem, identityWildcardProblem } from './syntax';
import { describeType, NEW_OBJECT_OU, type TenantProfile } from './tenant-profile';
import { show } from './text';
import { acceptedDomains, checkAddress, checkAliasSyntax, checkSamSyntax, checkUpnSyntax, whoText } from './validate-checks';
import type { Form, ValidationContext } from './validate-form';
import { settleCn, settleNames, upnPrefixFrom } from './validate-names';
import { candidatesText, checkIdentityList, listOf, MAX_PERMISSION_USERS, PERMISSION_HOLDER_TYPES, resolveList, same } from './validate-recipients';

/** At most this many initial members in one request. */
const MAX_INITIAL_MEMBERS = 100;

function usageLocationOf(form: Form, profile: TenantProfile, needed: boolean): string | undefined {
  const v = form.choice('usageLocation');
  if (v) return v;
  if (!needed || form.isBad('usageLocation')) return undefined;
  if (profile.defaultUsageLocation) return profile.defaultUsageLocation;
  form.error('usageLocation', 'is required for the licence. Use a two-letter ISO country code such as DE, GB, US.');
  return undefined;
}

export async function validatePerson(kind: 'user-mailbox' | 'mail-user', form: Form, ctx: ValidationContext): Promise<RecipientRequest | undefined> {
  const p = ctx.profile;
  const domains = await acceptedDomains(ctx);
  const firstName = form.get('firstName');
  const lastName = form.get('lastName');
  const displayName = form.get('displayName') ?? (firstName !== undefined && lastName !== undefined ? `${firstName} ${lastName}` : undefined);
  const alias = checkAliasSyntax(form);
  const sam = checkSamSyntax(form, LIMITS.samAccountName);
  const upn = checkUpnSyntax(form, domains, p.upnSuffix);
  const email = kind === 'user-mailbox' ? checkAddress(form, 'emailAddress', domains, true) : undefined;
  const external = kind === 'mail-user' ? checkAddress(form, 'externalAddress', domains, false) : undefined;
  const usageLocation = kind === 'user-mailbox' ? usageLocationOf(form, p, true) : undefined;
  if (firstName === undefined || lastName === undefined || form.errors.length) return undefined;

  if (external !== undefined) {
    const holders = await ask(`whether the address ${external} is taken`, () => ctx.lookup.whoHas({ address: external }));
    if (holders.length) form.error('externalAddress', `${show(external)} is already used by ${whoText(holders)}. Mail to it already reaches that recipient.`);
  }
  const from = `${firstName} ${lastName}`;
  const names = await settleNames(form, ctx, {
    alias: { ...(alias !== undefined ? { typed: alias } : {}), base: applyTemplate(p.naming.alias, { first: firstName, last: lastName }), baseFrom: from },
    samAccountName: { ...(sam !== undefined ? { typed: sam } : {}), base: applyTemplate(p.naming.samAccountName, { first: firstName, last: lastName }), baseFrom: from, limit: LIMITS.samAccountName },
    userPrincipalName: { ...(upn !== undefined ? { typed: upn } : {}), base: applyTemplate(p.naming.upnPrefix, { first: firstName, last: lastName }), baseFrom: from },
    emailAddress: kind === 'user-mailbox' ? (email !== undefined ? { typed: email } : {}) : null,
  });
  if (!names || form.errors.length || displayName === undefined) return undefined;
  const { alias: a, samAccountName: s, userPrincipalName: u, emailAddress: e } = names;
  if (a === undefined || s === undefined || u === undefined) return undefined;
  const cn = await settleCn(form, ctx, displayName, p.ous[NEW_OBJECT_OU[kind]], s);
  if (!cn) return undefined;
  const department = form.get('department');
  if (kind === 'user-mailbox') {
    if (e === undefined || usageLocation === undefined) return undefined;
    const jobTitle = form.get('jobTitle');
    return {
      kind, firstName, lastName, displayName, ...cn, alias: a, samAccountName: s, userPrincipalName: u, primarySmtpAddress: e, usageLocation,
      ...(department !== undefined ? { department } : {}), ...(jobTitle !== undefined ? { jobTitle } : {}),
    };
  }
  if (external === undefined) return undefined;
  const company = form.get('company');
  return {
    kind, firstName, lastName, displayName, ...cn, alias: a, samAccountName: s, userPrincipalName: u, externalAddress: external,
    ...(department !== undefined ? { department } : {}), ...(company !== undefined ? { company } : {}),
  };
}

export async function validateResourceMailbox(kind: 'shared-mailbox' | 'room-mailbox' | 'equipment-mailbox', form: Form, ctx: ValidationContext): Promise<RecipientRequest | undefined> {
  const p = ctx.profile;
  const domains = await acceptedDomains(ctx);
  const displayName = form.get('displayName');
  const alias = checkAliasSyntax(form);
  const sam = checkSamSyntax(form, LIMITS.samAccountName);
  const upn = checkUpnSyntax(form, domains, p.upnSuffix);
  const email = checkAddress(form, 'emailAddress', domains, true);
  const usageLocation = kind === 'shared-mailbox' ? undefined : usageLocationOf(form, p, p.roomsKeepLicence);
  const capacity = kind === 'room-mailbox' ? form.number('capacity') : undefined;
  const wanted = kind === 'shared-mailbox' ? listOf(form.get('members')) : [];
  if (kind === 'shared-mailbox') checkIdentityList(form, 'members', wanted, MAX_PERMISSION_USERS, 'members');
  if (displayName === undefined || form.errors.length) return undefined;
  let members: RecipientRef[] = [];
  if (wanted.length) {
    // The members get full access and send as on the new mailbox: each must be able to hold a permission.
    const found = await resolveList(form, ctx, 'members', wanted, 'member');
    if (!found) return undefined;
    const wrong = found.filter((u) => !PERMISSION_HOLDER_TYPES(u.type));
    if (wrong.length) {
      form.error('members', `${wrong.slice(0, 5).map((u) => `${u.name} (${describeType(u.type)})`).join(', ')} cannot hold mailbox permissions: only mailboxes, mail users and mail-enabled security groups can.`);
      return undefined;
    }
    members = found;
  }

  const aliasBase = applyTemplate(p.naming.resourceAlias, { name: displayName });
  const names = await settleNames(form, ctx, {
    alias: { ...(alias !== undefined ? { typed: alias } : {}), base: aliasBase, baseFrom: displayName },
    samAccountName: { ...(sam !== undefined ? { typed: sam } : {}), base: applyTemplate(p.naming.resourceSamAccountName, { name: displayName }), baseFrom: displayName, limit: LIMITS.samAccountName },
    // Resource mailboxes sign in nowhere: their UPN follows the alias (as far as a UPN allows its characters).
    userPrincipalName: { ...(upn !== undefined ? { typed: upn } : {}), base: upnPrefixFrom(alias) || aliasBase, baseFrom: displayName },
    emailAddress: email !== undefined ? { typed: email } : {},
  });
  if (!names || form.errors.length) return undefined;
  const { alias: a, samAccountName: s, userPrincipalName: u, emailAddress: e } = names;
  if (a === undefined || s === undefined || u === undefined || e === undefined) return undefined;
  const cn = await settleCn(form, ctx, displayName, p.ous[NEW_OBJECT_OU[kind]], s);
  if (!cn) return undefined;
  const common = { displayName, ...cn, alias: a, samAccountName: s, userPrincipalName: u, primarySmtpAddress: e, ...(usageLocation !== undefined ? { usageLocation } : {}) };
  if (kind === 'room-mailbox') return { kind, ...common, ...(capacity !== undefined ? { capacity } : {}) };
  if (kind === 'shared-mailbox') return { kind, ...common, ...(members.length ? { members } : {}) };
  return { kind, ...common };
}

export async function validateContact(form: Form, ctx: ValidationContext): Promise<RecipientRequest | undefined> {
  const p = ctx.profile;
  const domains = await acceptedDomains(ctx);
  const displayName = form.get('displayName');
  const alias = checkAliasSyntax(form);
  const external = checkAddress(form, 'externalAddress', domains, false);
  if (displayName === undefined || external === undefined || form.errors.length) return undefined;
  const holders = await ask(`whether the address ${external} is taken`, () => ctx.lookup.whoHas({ address: external }));
  if (holders.length) {
    form.error('externalAddress', `${show(external)} is already used by ${whoText(holders)}. Mail to it already reaches that recipient.`);
    return undefined;
  }
  const names = await settleNames(form, ctx, {
    alias: { ...(alias !== undefined ? { typed: alias } : {}), base: applyTemplate(p.naming.resourceAlias, { name: displayName }), baseFrom: displayName },
    samAccountName: null,
    userPrincipalName: null,
    emailAddress: null,
  });
  if (!names?.alias || form.errors.length) return undefined;
  const cn = await settleCn(form, ctx, displayName, p.ous[NEW_OBJECT_OU['mail-contact']], names.alias);
  if (!cn) return undefined;
  const firstName = form.get('firstName');
  const lastName = form.get('lastName');
  const company = form.get('company');
  return {
    kind: 'mail-contact', displayName, ...cn, alias: names.alias, externalAddress: external,
    ...(firstName !== undefined ? { firstName } : {}), ...(lastName !== undefined ? { lastName } : {}), ...(company !== undefined ? { company } : {}),
  };
}

export async function validateGroup(form: Form, ctx: ValidationContext): Promise<RecipientRequest | undefined> {
  const p = ctx.profile;
  const domains = await acceptedDomains(ctx);
  const displayName = form.get('displayName');
  const alias = checkAliasSyntax(form);
  const sam = checkSamSyntax(form, LIMITS.groupSamAccountName);
  const email = checkAddress(form, 'emailAddress', domains, true);
  const scope = form.choice('scope') === 'global' ? 'global' : 'universal';
  const securityEnabled = form.toggle('securityEnabled');
  const description = form.get('description');
  const memberText = form.get('members');
  const wanted = memberText === undefined ? [] : [...new Map(memberText.split(/[,;\s]+/u).filter((m) => m !== '').map((m) => [m.toLowerCase(), m])).values()];
  if (wanted.length > MAX_INITIAL_MEMBERS) form.error('members', `${wanted.length} members given; at most ${MAX_INITIAL_MEMBERS} in one request. Add the rest in AD later.`);
  const wildcards = wanted.filter((m) => identityWildcardProblem(m) !== null);
  if (wildcards.length) {
    const chars = [...new Set(wildcards.flatMap((m) => [...m].filter((c) => c === '*' || c === '?')))].map((c) => `"${c}"`).join(' and ');
    form.error('members', `${wildcards.slice(0, 5).map((m) => show(m)).join(', ')}${wildcards.length > 5 ? ` and ${wildcards.length - 5} more` : ''} ${wildcards.length === 1 ? 'contains' : 'contain'} ${chars}, which Exchange reads as a wildcard that can match other recipients. Give each member's exact email address.`);
  }
  const badSyntax = wanted.filter((m) => identityWildcardProblem(m) === null && identityProblem(m) !== null);
  if (badSyntax.length) form.error('members', `${badSyntax.slice(0, 5).map((m) => show(m)).join(', ')} ${badSyntax.length === 1 ? 'is' : 'are'} not an email address or alias. Separate members with commas.`);
  if (displayName === undefined || form.errors.length) return undefined;

  const members: GroupMember[] = [];
  const missing: string[] = [];
  const cloudOnly: string[] = [];
  for (const m of wanted) {
    const match = await ask(`the member ${m}`, () => ctx.lookup.findRecipient(m));
    if (match.found === 'several') {
      form.error('members', `${candidatesText(m, match.candidates)}. Give the exact primary email address of the one you mean.`);
      continue;
    }
    const found = match.found === 'one' ? match.recipient : null;
    if (!found) missing.push(m);
    else if (!found.isDirSynced || found.adDn === undefined) cloudOnly.push(`${m} (${found.name})`);
    else if (!members.some((x) => same(x.adDn, found.adDn ?? ''))) members.push({ identity: m, name: found.name, adDn: found.adDn });
  }
  if (missing.length) form.error('members', `no recipient found for ${missing.slice(0, 5).map((m) => show(m)).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}. Use their email addresses.`);
  // HB: synced groups are managed in AD, membership too: members must be AD objects.
  if (cloudOnly.length) form.error('members', `${cloudOnly.slice(0, 5).join(', ')} ${cloudOnly.length === 1 ? 'is' : 'are'} not in AD (cloud-only); a group made in AD can only have AD members.`);

  const aliasBase = applyTemplate(p.naming.resourceAlias, { name: displayName });
  const names = await settleNames(form, ctx, {
    alias: { ...(alias !== undefined ? { typed: alias } : {}), base: aliasBase, baseFrom: displayName },
    samAccountName: { ...(sam !== undefined ? { typed: sam } : {}), base: applyTemplate(p.naming.resourceSamAccountName, { name: displayName }), baseFrom: displayName, limit: LIMITS.groupSamAccountName },
    userPrincipalName: null,
    emailAddress: email !== undefined ? { typed: email } : {},
  });
  if (!names || form.errors.length) return undefined;
  const { alias: a, samAccountName: s, emailAddress: e } = names;
  if (a === undefined || s === undefined || e === undefined) return undefined;
  const cn = await settleCn(form, ctx, displayName, p.ous[NEW_OBJECT_OU['distribution-group']], s);
  if (!cn) return undefined;
  const request: DistributionGroupRequest = {
    kind: 'distribution-group', displayName, ...cn, alias: a, samAccountName: s, primarySmtpAddress: e, scope, securityEnabled, members,
    ...(description !== undefined ? { description } : {}),
  };
  return request;
}
