/**
 * Validation of the kinds that change a mailbox's or group's settings: mailbox permissions, group members,
 * forwarding and address-list visibility. The target has been looked up (validate-change.ts).
 */
import { REQUEST_FIELD, isGroupType, isMailboxType, type MailboxPermissionName, type RecipientRequest, type TargetRecipient } from './kinds';
import { ask } from './lookup';
import { domainOf, identityProblem, identityWildcardProblem, smtpAddressProblem } from './syntax';
import { describeType, exchangeAuthority } from './tenant-profile';
import { show } from './text';
import { acceptedDomains } from './validate-checks';
import type { Form, ValidationContext } from './validate-form';
import { candidatesText, PERMISSION_HOLDER_TYPES, refOf, resolveList, sameRecipient } from './validate-recipients';

export async function validatePermission(kind: 'mailbox-permission-grant' | 'mailbox-permission-revoke', form: Form, ctx: ValidationContext, target: TargetRecipient, wanted: readonly string[]): Promise<RecipientRequest | undefined> {
  const what = `${target.name} (${describeType(target.type)})`;
  const perm = form.choice('permission') as MailboxPermissionName | undefined;
  if (!isMailboxType(target.type)) {
    form.error('identity', `${what} is not a mailbox; mailbox permissions are given on user, shared, room and equipment mailboxes.`);
    return undefined;
  }
  if (perm === undefined) return undefined;
  const users = await resolveList(form, ctx, 'users', wanted, 'user');
  if (!users) return undefined;
  const self = users.filter((u) => sameRecipient(u, target));
  if (self.length) form.error('users', `${show(self[0]?.identity ?? target.name)} is the mailbox ${target.name} itself; a mailbox needs no permission on itself.`);
  const wrong = users.filter((u) => !PERMISSION_HOLDER_TYPES(u.type));
  if (wrong.length) {
    form.error('users', `${wrong.slice(0, 5).map((u) => `${u.name} (${describeType(u.type)})`).join(', ')} cannot hold mailbox permissions: only mailboxes, mail users and mail-enabled security groups can. For a distribution group, give a mail-enabled security group instead.`);
  }
  if (form.errors.length) return undefined;
  if (perm === 'SendOnBehalf') {
    // Where GrantSendOnBehalfTo is written: AD publicDelegates (DNs) while AD masters the mailbox's Exchange attributes.
    const a = exchangeAuthority(target, ctx.profile);
    if (a.side === 'refused') {
      form.error(REQUEST_FIELD, a.reason);
      return undefined;
    }
    if (a.side === 'ad' && ctx.profile.adHasExchangeSchema) {
      const notInAd = users.filter((u) => !u.isDirSynced || u.adDn === undefined);
      if (notInAd.length) {
        form.error('users', `${notInAd.slice(0, 5).map((u) => `${u.name} (${u.primarySmtpAddress})`).join(', ')} ${notInAd.length === 1 ? 'is' : 'are'} not in AD (cloud-only), but send on behalf of ${target.name} is kept in AD (publicDelegates, synced), which can only name AD objects. Make ${target.name} cloud-managed first (cloud-managed ${target.primarySmtpAddress} on), or give AD users.`);
        return undefined;
      }
    }
  }
  if (kind === 'mailbox-permission-grant') {
    return { kind, target, permission: perm, users, ...(perm === 'FullAccess' ? { autoMapping: form.toggle('autoMapping') } : {}) };
  }
  return { kind, target, permission: perm, users };
}

export async function validateMembers(kind: 'group-member-add' | 'group-member-remove', form: Form, ctx: ValidationContext, target: TargetRecipient, wanted: readonly string[]): Promise<RecipientRequest | undefined> {
  const what = `${target.name} (${describeType(target.type)})`;
  if (!isGroupType(target.type)) {
    form.error('identity', `${what} is not a distribution or mail-enabled security group; Mailroom changes the members of those only.${target.type === 'GroupMailbox' ? ' The members of a Microsoft 365 group are managed in Entra ID, Outlook or Teams.' : ''}`);
    return undefined;
  }
  const members = await resolveList(form, ctx, 'members', wanted, 'member');
  if (!members) return undefined;
  const self = members.filter((m) => sameRecipient(m, target));
  if (self.length) {
    form.error('members', `${show(self[0]?.identity ?? target.name)} is the group ${target.name} itself; a group cannot be its own member.`);
    return undefined;
  }
  if (target.isDirSynced) {
    if (target.adDn === undefined) {
      form.error('identity', `${target.name} is synced from AD, but Mailroom did not find its AD object; ask again once it is found.`);
      return undefined;
    }
    // HB: a synced group, membership included, is managed in AD: its members must be AD objects.
    const cloudOnly = members.filter((m) => !m.isDirSynced || m.adDn === undefined);
    if (cloudOnly.length) {
      form.error('members', `${cloudOnly.slice(0, 5).map((m) => `${m.name} (${m.primarySmtpAddress})`).join(', ')} ${cloudOnly.length === 1 ? 'is' : 'are'} not in AD (cloud-only); ${target.name} is synced from AD, where its members are kept, and AD can only hold AD objects as members.`);
      return undefined;
    }
  }
  return { kind, target, members };
}

/** Recipients Exchange forwards to with -ForwardingAddress (mail-enabled recipients). */
const FORWARDING_TYPES = (t: string): boolean => isMailboxType(t) || t === 'MailUser' || t === 'MailContact' || isGroupType(t);

/**
 * Where the mail goes: a recipient of this organisation (exactly one; not the mailbox itself), or an outside address
 * (valid syntax, not in an accepted domain, no recipient has it).
 */
export async function validateForwardTo(form: Form, ctx: ValidationContext, target: TargetRecipient): Promise<RecipientRequest | undefined> {
  const keepCopy = form.toggle('keepCopy');
  const to = form.get('forwardTo');
  if (to === undefined) return undefined;
  if (identityWildcardProblem(to) !== null) {
    form.error('forwardTo', `${show(to)} contains a wildcard ("*" or "?"), which could match other recipients. Give the exact email address.`);
    return undefined;
  }
  if (identityProblem(to) !== null) {
    form.error('forwardTo', `${show(to)} is not an email address, UPN or alias. Give one recipient or one outside address.`);
    return undefined;
  }
  const match = await ask(`the recipient ${to}`, () => ctx.lookup.findRecipient(to));
  if (match.found === 'several') {
    form.error('forwardTo', `${candidatesText(to, match.candidates)}. Give the exact primary email address of the one you mean.`);
    return undefined;
  }
  if (match.found === 'one') {
    const ref = refOf(to, match.recipient);
    if (sameRecipient(ref, target)) {
      form.error('forwardTo', `${show(to)} is the mailbox ${target.name} itself; mail would loop. Give another recipient.`);
      return undefined;
    }
    if (!FORWARDING_TYPES(ref.type)) {
      form.error('forwardTo', `${ref.name} (${describeType(ref.type)}) cannot receive forwarded mail. Give a mailbox, mail user, contact or group.`);
      return undefined;
    }
    return { kind: 'forwarding-set', target, recipient: ref, keepCopy };
  }
  const problem = smtpAddressProblem(to);
  if (problem) {
    form.error('forwardTo', `no recipient ${show(to)} was found in Exchange Online, and as an outside address ${show(to)} ${problem}. Give a recipient's email address, UPN or alias, or an outside address.`);
    return undefined;
  }
  const domains = await acceptedDomains(ctx);
  if (domains.has(domainOf(to))) {
    form.error('forwardTo', `no recipient has ${show(to)}, which is in ${domainOf(to)}, one of this tenant's own domains. Give an existing recipient, or an outside address.`);
    return undefined;
  }
  return { kind: 'forwarding-set', target, smtpAddress: to.toLowerCase(), keepCopy };
}

/** Forwarding on or off: only a mailbox forwards its mail. */
export async function validateForwarding(kind: 'forwarding-set' | 'forwarding-off', form: Form, ctx: ValidationContext, target: TargetRecipient): Promise<RecipientRequest | undefined> {
  const what = `${target.name} (${describeType(target.type)})`;
  if (!isMailboxType(target.type)) {
    form.error('identity', `${what} is not a mailbox; only mailboxes forward their mail.`);
    return undefined;
  }
  if (kind === 'forwarding-off') return { kind, target };
  return validateForwardTo(form, ctx, target);
}

/** Hide a mailbox from address lists or show it again, where its source of authority allows. */
export function validateAddressListVisibility(kind: 'address-list-visibility', form: Form, ctx: ValidationContext, target: TargetRecipient): RecipientRequest | undefined {
  const what = `${target.name} (${describeType(target.type)})`;
  const state = form.choice('visibility');
  if (state === undefined) return undefined;
  if (!isMailboxType(target.type)) {
    form.error('identity', `${what} is not a mailbox; Mailroom hides and shows user, shared, room and equipment mailboxes.`);
    return undefined;
  }
  const authority = exchangeAuthority(target, ctx.profile);
  if (authority.side === 'refused') {
    form.error(REQUEST_FIELD, authority.reason);
    return undefined;
  }
  return { kind, target, hidden: state === 'hidden' };
}
