/**
 * Validation of the kinds that change an existing recipient: the target is looked up first, then the kind's own
 * rules apply (addresses, cloud-managed, mailbox type, offboarding here; mailbox settings in validate-settings.ts).
 */
import { REQUEST_FIELD, isGroupType, isMailboxType, recipientTypeOfMailboxType, type KindId, type MailboxTypeName, type RecipientRequest } from './kinds';
import { ask } from './lookup';
import { domainOf, identityProblem } from './syntax';
import { describeType, exchangeAuthority, primaryAuthority } from './tenant-profile';
import { show } from './text';
import { acceptedDomains, checkAddress, domainsOf, whoText } from './validate-checks';
import type { Form, ValidationContext } from './validate-form';
import { candidatesText, checkIdentityList, isTarget, listOf, MAX_MEMBERS_CHANGED, MAX_PERMISSION_USERS, same, toTarget } from './validate-recipients';
import { EVERYONE, validateAutoReply, validateBooking } from './validate-mailbox-settings';
import { validateOffboarding } from './validate-offboarding';
import { validateAddressListVisibility, validateForwarding, validateMembers, validatePermission } from './validate-settings';

const ADDRESS_TARGET_TYPES = (t: string): boolean => isMailboxType(t) || isGroupType(t) || t === 'MailUser' || t === 'MailContact';

export async function validateChange(kind: KindId, form: Form, ctx: ValidationContext): Promise<RecipientRequest | undefined> {
  const p = ctx.profile;
  const typedIdentity = form.get('identity');
  let identity: string | undefined;
  if (typedIdentity !== undefined) {
    const problem = identityProblem(typedIdentity);
    if (problem) form.error('identity', `${show(typedIdentity)} ${problem}. Use the recipient's email address, e.g. ada.lovelace@${p.mailDomain}.`);
    else identity = typedIdentity;
  }
  const listField = kind === 'mailbox-permission-grant' || kind === 'mailbox-permission-revoke' ? 'users' : kind === 'group-member-add' || kind === 'group-member-remove' ? 'members' : kind === 'booking' && !EVERYONE(form.get('bookers') ?? 'everyone') ? 'bookers' : undefined;
  const wanted = listField ? listOf(form.get(listField)) : [];
  if (listField) checkIdentityList(form, listField, wanted, listField === 'members' ? MAX_MEMBERS_CHANGED : MAX_PERMISSION_USERS, listField);
  const needsDomains = kind === 'primary-address' || kind === 'secondary-address-add' || kind === 'secondary-address-remove';
  const domains = needsDomains ? await acceptedDomains(ctx) : domainsOf([]);
  // Syntax first (tenant membership of the domain is decided once the target's type is known).
  const addressField = kind === 'primary-address' ? 'newAddress' : 'address';
  const address = needsDomains ? checkAddress(form, addressField, domains, null) : undefined;
  if (identity === undefined || form.errors.length) return undefined;

  const match = await ask(`the recipient ${identity}`, () => ctx.lookup.findRecipient(identity));
  if (match.found === 'none') {
    form.error('identity', `no recipient ${show(identity)} was found in Exchange Online. Use the primary email address, the UPN or the alias.`);
    return undefined;
  }
  if (match.found === 'several') {
    form.error('identity', `${candidatesText(identity, match.candidates)}. Use the exact primary email address of the one you mean.`);
    return undefined;
  }
  const target = toTarget(identity, match.recipient);
  const what = `${target.name} (${describeType(target.type)})`;

  switch (kind) {
    case 'primary-address':
    case 'secondary-address-add':
    case 'secondary-address-remove': {
      if (!ADDRESS_TARGET_TYPES(target.type)) {
        form.error('identity', `${what} has no email addresses Mailroom manages. Give a mailbox, mail user, contact or group.`);
        return undefined;
      }
      const authority = kind === 'primary-address' ? primaryAuthority(target, p) : exchangeAuthority(target, p);
      if (authority.side === 'refused') {
        form.error(REQUEST_FIELD, authority.reason);
        return undefined;
      }
      if (address === undefined) return undefined;
      const external = target.type === 'MailUser' || target.type === 'MailContact';
      if (kind === 'primary-address') {
        // Mailboxes and groups: an address of ours. Mail users and contacts: their outside address.
        if (!external && !domains.has(domainOf(address))) {
          form.error('newAddress', `${show(address)} is in ${domainOf(address)}, which is not an accepted domain of this tenant. Use one of: ${domains.names()}.`);
          return undefined;
        }
        if (external && domains.has(domainOf(address))) {
          form.error('newAddress', `${show(address)} is one of this tenant's own domains; ${what} forwards to an outside address. Give the new outside address.`);
          return undefined;
        }
        if (address === target.primarySmtpAddress) {
          form.error('newAddress', `${show(address)} is already the primary address of ${target.name}.`);
          return undefined;
        }
        const holders = await ask(`whether the address ${address} is taken`, () => ctx.lookup.whoHas({ address }));
        const others = holders.filter((h) => !isTarget(h, target));
        if (others.length) {
          form.error('newAddress', `${show(address)} is already used by ${whoText(others)}. Remove it there first, or choose another.`);
          return undefined;
        }
        return { kind, target, newAddress: address };
      }
      if (same(address, target.primarySmtpAddress)) {
        form.error('address', kind === 'secondary-address-add'
          ? `${show(address)} is already the primary address of ${target.name}.`
          : `${show(address)} is the primary address of ${target.name}; make another address primary first (change primary).`);
        return undefined;
      }
      const holders = await ask(`who has the address ${address}`, () => ctx.lookup.whoHas({ address }));
      const mine = holders.some((h) => isTarget(h, target));
      const others = holders.filter((h) => !isTarget(h, target));
      if (kind === 'secondary-address-add') {
        if (!domains.has(domainOf(address))) {
          form.error('address', `${show(address)} is in ${domainOf(address)}, which is not an accepted domain of this tenant. Use one of: ${domains.names()}.`);
          return undefined;
        }
        if (mine) form.error('address', `${target.name} already has ${show(address)}.`);
        else if (others.length) form.error('address', `${show(address)} is already used by ${whoText(others)}. Remove it there first.`);
        return form.errors.length ? undefined : { kind, target, address };
      }
      if (!mine) {
        form.error('address', others.length ? `${show(address)} belongs to ${whoText(others)}, not to ${target.name}.` : `${target.name} has no address ${show(address)}; nothing to remove.`);
        return undefined;
      }
      return { kind, target, address };
    }
    case 'cloud-managed': {
      const state = form.choice('state');
      if (state === undefined) return undefined;
      const enabled = state === 'on';
      if (!isMailboxType(target.type)) {
        form.error('identity', `${what}: there is no IsExchangeCloudManaged for it (only user, shared, room and equipment mailboxes have it); it stays managed in AD. Groups and contacts can move to the cloud as whole objects (object-level source of authority).`);
        return undefined;
      }
      if (!target.isDirSynced) {
        form.error('identity', `${what} is cloud-only: its Exchange attributes are always managed in Exchange Online.`);
        return undefined;
      }
      if ((target.isExchangeCloudManaged ?? false) === enabled) {
        form.error('state', `${target.name} is already ${enabled ? '' : 'not '}cloud-managed.`);
        return undefined;
      }
      if (!enabled && p.exchangeAttributeMode === 'cloud-default') {
        form.error(REQUEST_FIELD, `This tenant has the organisation default ExchangeAttributesCloudManagedByDefault on: Mailroom does not hand Exchange attributes back to AD, where it writes none. Turning it off for ${target.name} would mix the two modes, which Microsoft does not support.`);
        return undefined;
      }
      return { kind, target, enabled };
    }
    case 'mailbox-type': {
      const type = form.choice('type') as MailboxTypeName | undefined;
      if (type === undefined) return undefined;
      if (!isMailboxType(target.type)) {
        form.error('identity', `${what} is not a mailbox; only mailboxes can be converted.`);
        return undefined;
      }
      if (recipientTypeOfMailboxType(type) === target.type) {
        form.error('type', `${target.name} is already a ${describeType(target.type)}.`);
        return undefined;
      }
      const adjustLicence = form.toggle('adjustLicence');
      if (adjustLicence && target.userPrincipalName === undefined) {
        form.error('identity', `Mailroom could not tell the sign-in name (UPN) of ${target.name}, which the licence change needs. Switch off "Adjust the licence", or try again later.`);
        return undefined;
      }
      return { kind, target, type, adjustLicence };
    }
    case 'offboarding':
      return validateOffboarding(form, ctx, target);
    case 'booking':
      return validateBooking(form, ctx, target, wanted);
    case 'auto-reply':
      return validateAutoReply(form, ctx, target);
    case 'mailbox-permission-grant':
    case 'mailbox-permission-revoke':
      return validatePermission(kind, form, ctx, target, wanted);
    case 'group-member-add':
    case 'group-member-remove':
      return validateMembers(kind, form, ctx, target, wanted);
    case 'forwarding-set':
    case 'forwarding-off':
      return validateForwarding(kind, form, ctx, target);
    case 'address-list-visibility':
      return validateAddressListVisibility(kind, form, ctx, target);
    default:
      form.error(REQUEST_FIELD, `${kind} is not a change request.`);
      return undefined;
  }
}
