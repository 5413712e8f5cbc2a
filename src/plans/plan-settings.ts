/**
 * Planning of the kinds that change a mailbox's or group's settings: address-list visibility, forwarding, mailbox
 * permissions and group members (their steps are shared with offboarding: plan-offboarding.ts).
 */
import {
  isGroupType, isMailboxType, permissionWords, type AddressListVisibilityRequest, type ForwardingOffRequest, type ForwardingSetRequest, type GroupMembersAddRequest, type GroupMembersRemoveRequest,
  type MailboxPermissionGrantRequest, type MailboxPermissionName, type MailboxPermissionRevokeRequest, type RecipientRef, type TargetRecipient,
} from '../requests/kinds';
import { describeType, exchangeAuthority } from '../requests/tenant-profile';
import {
  awaitAdChange, CLOUD_MANAGED_WARNING, delegateKeys, EXO_PERMISSION_NOTE, exoIdentity, FLIP_ADVICE, makeCloudManagedFirst, PlanRefusedError, refIdentity, refText, requireDn,
  setCloudManaged, type Builder,
} from './plan-builder';
import type { StepInputs } from './steps';

/**
 * Hide a mailbox from (or show it in) address lists where its source of authority says: AD's
 * msExchHideFromAddressLists (then wait for sync) while AD masters the mailbox and has Exchange's schema; else
 * Set-Mailbox -HiddenFromAddressListsEnabled (making it cloud-managed first where AD masters it without the schema,
 * or the tenant manages Exchange attributes in the cloud).
 */
export function addressListSteps(b: Builder, t: TargetRecipient, hidden: boolean, recipientType: string): void {
  const p = b.profile;
  const a = exchangeAuthority(t, p);
  if (a.side === 'refused') throw new PlanRefusedError(a.reason);
  const verb = hidden ? 'Hide' : 'Show';
  const where = hidden ? 'from' : 'in';
  if (a.side === 'ad' && p.adHasExchangeSchema) {
    const dn = requireDn(t);
    const value = hidden ? 'TRUE' : 'FALSE';
    b.add(hidden ? 'ad.hide' : 'ad.show', 'ad.setAttributes', { dn, replace: { msExchHideFromAddressLists: value } }, `Set msExchHideFromAddressLists to ${value} on ${dn} (${hidden ? 'hide from' : 'show in'} address lists)`);
    awaitAdChange(b, t, { hiddenFromAddressListsEnabled: hidden });
    b.note(`${t.name} is synced from AD and not cloud-managed: AD masters its Exchange attributes, hiding from address lists (msExchHideFromAddressLists, shown as HiddenFromAddressListsEnabled) among them, so Mailroom writes it in AD and waits for sync. Exchange Online refuses the change there.`);
    return;
  }
  if (a.side === 'ad') {
    // AD has no Exchange schema (no msExchHideFromAddressLists): the flag can only be set in EXO.
    setCloudManaged(b, exoIdentity(t), true, t.name);
    b.note(`AD has no Exchange schema, so hiding from address lists can only be set in Exchange Online: Mailroom makes the mailbox cloud-managed first. ${FLIP_ADVICE}`);
  } else if (a.makeCloudManagedFirst) {
    makeCloudManagedFirst(b, t);
  } else if (t.isDirSynced) {
    b.note(`${t.name} is cloud-managed: its Exchange attributes, HiddenFromAddressListsEnabled among them, are changed in Exchange Online; AD's msExchHideFromAddressLists is left as it is.`);
  } else {
    b.note(`${t.name} is cloud-only: HiddenFromAddressListsEnabled is changed in Exchange Online.`);
  }
  b.add(hidden ? 'exo.hide' : 'exo.show', 'exo.setHiddenFromAddressLists', { identity: exoIdentity(t), recipientType, hidden },
    `${verb} ${t.name} ${where} address lists in Exchange Online (Set-Mailbox -HiddenFromAddressListsEnabled $${String(hidden)})`);
}

export function planAddressLists(b: Builder, r: AddressListVisibilityRequest): string {
  const t = r.target;
  if (!isMailboxType(t.type)) throw new PlanRefusedError(`${t.name} is a ${describeType(t.type)}, not a mailbox.`);
  addressListSteps(b, t, r.hidden, t.type);
  b.note(r.hidden
    ? 'Mail to the mailbox is still delivered; people just do not find it in the address book (Outlook\'s offline address book follows within a day).'
    : 'The mailbox appears in the address book again (Outlook\'s offline address book follows within a day).');
  return `${r.hidden ? 'Hide' : 'Show'} ${t.name} (${t.primarySmtpAddress}) ${r.hidden ? 'from' : 'in'} address lists`;
}

const FORWARDING_NOTE =
  'Forwarding is Exchange Online\'s own setting (Set-Mailbox -ForwardingAddress / -ForwardingSmtpAddress): Mailroom writes it there for synced and cloud-only mailboxes alike; it needs no cloud-managed switch.';

/** The step that forwards a mailbox's mail to a recipient or an outside address (a warning for the latter). */
export function forwardingStep(b: Builder, t: TargetRecipient, to: { readonly recipient?: RecipientRef; readonly smtpAddress?: string }, keepCopy: boolean): void {
  const identity = exoIdentity(t);
  const copy = keepCopy ? 'keeping a copy in the mailbox' : 'without keeping a copy';
  if (to.recipient) {
    const r = to.recipient;
    b.add('exo.forwarding', 'exo.setForwarding', {
      identity, mailboxName: t.name, forwardingAddress: refIdentity(r), forwardingAddressKeys: delegateKeys(r).keys, forwardingSmtpAddress: null, deliverToMailboxAndForward: keepCopy,
    }, `Forward the mail of ${t.name} to ${refText(r)}, ${copy}, in Exchange Online (Set-Mailbox -ForwardingAddress -DeliverToMailboxAndForward $${String(keepCopy)}; -ForwardingSmtpAddress cleared)`);
    return;
  }
  const address = to.smtpAddress ?? '';
  b.add('exo.forwarding', 'exo.setForwarding', { identity, mailboxName: t.name, forwardingAddress: null, forwardingSmtpAddress: address, deliverToMailboxAndForward: keepCopy },
    `Forward the mail of ${t.name} to the outside address ${address}, ${copy}, in Exchange Online (Set-Mailbox -ForwardingSmtpAddress smtp:${address} -DeliverToMailboxAndForward $${String(keepCopy)}; -ForwardingAddress cleared)`);
  b.warn('Exchange Online\'s outbound spam filter policy blocks automatic forwarding to outside addresses by default (AutoForwardingMode Automatic means Off): unless an administrator allows it for this mailbox, the forwarded mail is not delivered and the sender gets a non-delivery report.');
}

export function planForwarding(b: Builder, r: ForwardingSetRequest | ForwardingOffRequest): string {
  const t = r.target;
  if (!isMailboxType(t.type)) throw new PlanRefusedError(`${t.name} is a ${describeType(t.type)}, not a mailbox.`);
  const identity = exoIdentity(t);
  if (r.kind === 'forwarding-off') {
    b.add('exo.forwarding-off', 'exo.setForwarding', { identity, mailboxName: t.name, forwardingAddress: null, forwardingSmtpAddress: null, deliverToMailboxAndForward: false },
      `Turn off forwarding of ${t.name} in Exchange Online (Set-Mailbox: ForwardingAddress and ForwardingSmtpAddress cleared, DeliverToMailboxAndForward $false)`);
    b.note(FORWARDING_NOTE);
    b.note('Mail stays in the mailbox from now on. Inbox rules that forward mail are the mailbox owner\'s and are not touched.');
    return `Stop forwarding the mail of ${t.name} (${t.primarySmtpAddress})`;
  }
  forwardingStep(b, t, r, r.keepCopy);
  b.note(FORWARDING_NOTE);
  b.note(r.keepCopy
    ? 'A copy of each message stays in the mailbox (DeliverToMailboxAndForward $true).'
    : 'Messages are only forwarded: none stays in the mailbox (DeliverToMailboxAndForward $false).');
  b.note('Forwarding set here replaces any forwarding the mailbox had; a roll back restores what was there before.');
  return `Forward the mail of ${t.name} to ${r.recipient ? r.recipient.name : (r.smtpAddress ?? '')}`;
}

export function namesText(refs: readonly RecipientRef[]): string {
  return `${refs.slice(0, 5).map((r) => r.name).join(', ')}${refs.length > 5 ? ` and ${refs.length - 5} more` : ''}`;
}

/** One permission for one user, given or taken away in Exchange Online. */
export function permissionStep(b: Builder, t: TargetRecipient, u: RecipientRef, permission: MailboxPermissionName, granting: boolean, autoMapping: boolean | undefined): void {
  const words = permissionWords(permission);
  const input: StepInputs['exo.grantMailboxPermission'] = {
    identity: exoIdentity(t), mailboxName: t.name, permission, user: refIdentity(u), userName: u.name, userKeys: delegateKeys(u).keys,
    ...(autoMapping !== undefined ? { autoMapping } : {}),
  };
  const how = permission === 'FullAccess'
    ? (granting ? `Add-MailboxPermission -AccessRights FullAccess -AutoMapping $${String(autoMapping ?? true)}` : 'Remove-MailboxPermission -AccessRights FullAccess')
    : permission === 'SendAs'
      ? `${granting ? 'Add' : 'Remove'}-RecipientPermission -AccessRights SendAs`
      : `Set-Mailbox -GrantSendOnBehalfTo @{${granting ? 'Add' : 'Remove'}=…}`;
  b.add(granting ? 'exo.grant' : 'exo.revoke', granting ? 'exo.grantMailboxPermission' : 'exo.revokeMailboxPermission', input,
    `${granting ? 'Give' : 'Take'} ${refText(u)} ${words} ${granting ? 'on' : 'away on'} ${t.name} in Exchange Online (${how})`);
}

export function planPermission(b: Builder, r: MailboxPermissionGrantRequest | MailboxPermissionRevokeRequest): string {
  const p = b.profile;
  const t = r.target;
  const granting = r.kind === 'mailbox-permission-grant';
  const words = permissionWords(r.permission);
  const title = granting ? `Grant ${words} on ${t.name} to ${namesText(r.users)}` : `Revoke ${words} on ${t.name} from ${namesText(r.users)}`;
  const exoSteps = (): void => {
    for (const u of r.users) permissionStep(b, t, u, r.permission, granting, granting && r.permission === 'FullAccess' ? (r.autoMapping ?? true) : undefined);
  };
  if (r.permission !== 'SendOnBehalf') {
    exoSteps();
    b.note(EXO_PERMISSION_NOTE);
    if (r.permission === 'FullAccess' && granting) {
      b.note((r.autoMapping ?? true)
        ? 'Auto-mapping is on (Exchange\'s default): Outlook adds the mailbox to each user\'s folder list by itself, within an hour or so. It works for users, not for members of a group given the permission.'
        : 'Auto-mapping is off: Outlook does not add the mailbox by itself; each user opens it by hand (File, Open, Other User\'s Folder) or adds it as an account.');
    }
    if (r.permission === 'FullAccess') b.note('Full access lets a user open the mailbox and read, change and delete its mail; it does not let them send as the mailbox.');
    if (r.permission === 'SendAs') b.note('Send as lets a user send mail that appears to come from the mailbox itself; recipients see no sign of the sender.');
    if (!granting) b.note('Someone who does not hold the permission stays as they are; a permission inherited from elsewhere (an admin role, a group) is not touched.');
    return title;
  }
  // GrantSendOnBehalfTo is publicDelegates in AD: AD masters it while it masters the mailbox's Exchange attributes.
  const a = exchangeAuthority(t, p);
  if (a.side === 'refused') throw new PlanRefusedError(a.reason);
  if (a.side === 'ad' && p.adHasExchangeSchema) {
    const dn = requireDn(t);
    const missing = r.users.filter((u) => u.adDn === undefined);
    if (missing.length) throw new PlanRefusedError(`${namesText(missing)} ${missing.length === 1 ? 'is' : 'are'} not in AD, but send on behalf of ${t.name} is kept in AD (publicDelegates), which can only name AD objects.`);
    for (const u of r.users) {
      const delegateDn = u.adDn ?? '';
      b.add(granting ? 'ad.add-delegate' : 'ad.remove-delegate', granting ? 'ad.addPublicDelegate' : 'ad.removePublicDelegate', { dn, delegateDn },
        `${granting ? 'Add' : 'Remove'} ${delegateDn} ${granting ? 'to' : 'from'} publicDelegates of ${dn} (send on behalf for ${u.name})`);
    }
    b.add('exo.await-delegates', 'exo.awaitSendOnBehalf', { identity: exoIdentity(t), delegates: r.users.map(delegateKeys), present: granting, sync: b.syncWait(dn, 'user'), timeoutMinutes: b.syncTimeout },
      b.syncText(`carried send on behalf to Exchange Online (GrantSendOnBehalfTo of ${t.name})`));
    b.note(`${t.name} is synced from AD and not cloud-managed: AD masters its Exchange attributes, send on behalf (publicDelegates, shown as GrantSendOnBehalfTo) among them, so Mailroom writes it in AD and waits for sync. Exchange Online refuses the change there.`);
    return title;
  }
  if (a.side === 'ad') {
    // AD has no Exchange schema (no publicDelegates): send on behalf can only be kept in Exchange Online.
    setCloudManaged(b, exoIdentity(t), true, t.name);
    b.note(`AD has no Exchange schema, so send on behalf (publicDelegates) cannot be kept in AD: Mailroom makes ${t.name} cloud-managed first and writes it in Exchange Online. ${FLIP_ADVICE}`);
    b.warn(CLOUD_MANAGED_WARNING);
  } else if (a.makeCloudManagedFirst) {
    makeCloudManagedFirst(b, t);
  } else if (t.isDirSynced) {
    b.note(`${t.name} is cloud-managed: its Exchange attributes, send on behalf (GrantSendOnBehalfTo) among them, are changed in Exchange Online; AD's publicDelegates are left as they are.`);
  } else {
    b.note(`${t.name} is cloud-only: send on behalf (GrantSendOnBehalfTo) is changed in Exchange Online.`);
  }
  exoSteps();
  b.note('Send on behalf lets a user send mail from the mailbox that shows "on behalf of": recipients see who sent it.');
  return title;
}

/**
 * The step that adds a member to a group or removes one, where the group's members are kept: in AD for a synced group
 * (HB: membership included, it is managed there), with Add-/Remove-DistributionGroupMember for a cloud-only one.
 */
export function memberStep(b: Builder, g: RecipientRef, m: RecipientRef, adding: boolean): void {
  if (g.isDirSynced) {
    if (g.adDn === undefined) throw new PlanRefusedError(`${g.name} is synced, but Mailroom did not find its AD object; ask again once it is found.`);
    if (m.adDn === undefined) throw new PlanRefusedError(`${m.name} is not in AD; ${g.name} is synced from AD and can only have AD members.`);
    b.add(adding ? 'ad.add-member' : 'ad.remove-member', adding ? 'ad.addGroupMember' : 'ad.removeGroupMember', { groupDn: g.adDn, memberDn: m.adDn },
      `${adding ? 'Add' : 'Remove'} ${refText(m)} ${adding ? 'to' : 'from'} the AD group ${g.adDn} (member)`);
    return;
  }
  b.add(adding ? 'exo.add-member' : 'exo.remove-member', adding ? 'exo.addGroupMember' : 'exo.removeGroupMember', { identity: refIdentity(g), groupName: g.name, member: refIdentity(m), memberName: m.name, memberKeys: delegateKeys(m).keys },
    `${adding ? 'Add' : 'Remove'} ${refText(m)} ${adding ? 'to' : 'from'} ${g.name} in Exchange Online (${adding ? 'Add' : 'Remove'}-DistributionGroupMember)`);
}

export function planMembers(b: Builder, r: GroupMembersAddRequest | GroupMembersRemoveRequest): string {
  const t = r.target;
  const adding = r.kind === 'group-member-add';
  if (!isGroupType(t.type)) throw new PlanRefusedError(`${t.name} is a ${describeType(t.type)}, not a distribution or mail-enabled security group.`);
  const title = adding ? `Add ${namesText(r.members)} to ${t.name}` : `Remove ${namesText(r.members)} from ${t.name}`;
  for (const m of r.members) memberStep(b, t, m, adding);
  b.note(t.isDirSynced
    ? `${t.name} is synced from AD: a synced group, membership included, is managed in AD, so Mailroom changes its member attribute there; Exchange Online refuses membership changes to it. Exchange Online shows the change after the next sync${b.profile.sync === 'cloud' ? ' (Entra Cloud Sync: minutes)' : ' (Entra Connect Sync: up to 30 minutes)'}.`
    : `${t.name} is cloud-only: its members are changed in Exchange Online.`);
  b.note(adding ? 'A recipient that is already a member stays as it is.' : 'A recipient that is not a member stays as it is; membership through another group is not touched.');
  return title;
}
