/**
 * Planning of an offboarding: on the leave date (a wait until then) or at once, each switch a step the approver sees,
 * in the order that keeps the mailbox reachable: the account disabled and signed out, the mailbox converted to shared,
 * full access for the manager (or a named person), automatic reply and forwarding, out of its mail-enabled groups (the
 * list kept with the request, so a roll back puts the person back), hidden from address lists, and the licence removed
 * only after the conversion.
 */
import type { OffboardingRequest } from '../requests/kinds';
import { exoIdentity, licenceName, PlanRefusedError, refText, removeLicence, requireDn, type Builder } from './plan-builder';
import { autoReplyStep } from './plan-mailbox-settings';
import { addressListSteps, forwardingStep, memberStep, namesText, permissionStep } from './plan-settings';

export function planOffboarding(b: Builder, r: OffboardingRequest): string {
  const p = b.profile;
  const t = r.target;
  const id = exoIdentity(t);
  if (r.when) {
    b.add('wait.leave-date', 'wait.untilTime', { at: r.when.iso, what: `the leave date of ${t.name}` }, `Wait until the leave date, ${r.when.text}; nothing is changed before then`);
    b.note(`Approved now, carried out on ${r.when.text}: until then the request waits (a cancel stops it; nothing has been changed).`);
  }
  if (r.disableAccount) {
    const dn = requireDn(t);
    b.add('ad.disable-account', 'ad.disableAccount', { dn }, `Disable the AD account ${dn}`);
  }
  if (r.revokeSessions) {
    const upn = t.userPrincipalName;
    if (upn === undefined) throw new PlanRefusedError(`Mailroom does not know the UPN of ${t.name}; it cannot revoke the sign-in sessions.`);
    b.add('entra.revoke-sessions', 'entra.revokeSessions', { userPrincipalName: upn },
      `Sign ${upn} out everywhere: revoke the refresh tokens and browser sessions in Entra ID (revokeSignInSessions)`);
    b.note('Revoking the sessions ends sign-ins that were already open within minutes; access tokens already issued stay valid until they expire (about an hour).');
  }
  if (r.convertToShared) {
    b.add('exo.set-type', 'exo.setMailboxType', { identity: id, type: 'Shared' }, `Convert the mailbox of ${t.name} to Shared (its content stays reachable)`);
  }
  if (r.fullAccessFor) {
    permissionStep(b, t, r.fullAccessFor.person, 'FullAccess', true, true);
    b.note(r.fullAccessFor.as === 'manager'
      ? `${r.fullAccessFor.person.name} is the manager AD names for ${t.name}; they get full access with auto-mapping (Outlook shows the mailbox by itself).`
      : `${refText(r.fullAccessFor.person)} gets full access with auto-mapping (Outlook shows the mailbox by itself).`);
  } else if (r.managerMissing) {
    b.warn(r.managerMissing);
  }
  if (r.autoReply !== undefined) autoReplyStep(b, t, { enabled: true, message: r.autoReply, externalAudience: 'All' });
  if (r.forwarding) {
    forwardingStep(b, t, r.forwarding, true);
    b.note('Forwarding keeps a copy of each message in the mailbox, where whoever has full access finds it.');
  }
  if (r.removeFromGroups.length) {
    for (const g of r.removeFromGroups) memberStep(b, g, t, false);
    b.note(`${t.name} is removed from ${r.removeFromGroups.length === 1 ? 'one group' : `${r.removeFromGroups.length} groups`} (${namesText(r.removeFromGroups)}); the list is kept with this request, and a roll back puts ${t.name} back in each.`);
    b.note('Groups joined after this request was filed, and membership through other groups, are not in this plan.');
  }
  if (r.hideFromAddressLists) addressListSteps(b, t, true, r.convertToShared ? 'SharedMailbox' : t.type);
  if (r.removeLicence) {
    const upn = t.userPrincipalName;
    if (upn === undefined) throw new PlanRefusedError(`Mailroom does not know the UPN of ${t.name}; it cannot remove the licence.`);
    removeLicence(b, upn, t.adDn, r.convertToShared ? 'after the conversion: shared mailboxes under 50 GB need none' : 'as requested');
    if (!r.convertToShared) b.warn('The mailbox stays a user mailbox without a licence: Exchange Online deletes it after a 30-day grace period.');
    b.note(`Only ${licenceName(p.licensing)} is removed; other licences of the user are not touched.`);
  }
  if (r.disableAccount) {
    b.add('sync.await-disabled', 'sync.awaitUser', { ...b.syncWait(requireDn(t), 'user'), ...(t.userPrincipalName ? { userPrincipalName: t.userPrincipalName } : {}), expectAccountEnabled: false, timeoutMinutes: b.syncTimeout },
      b.syncText('carried the disabled account to Entra ID'));
    b.note(r.revokeSessions
      ? 'New sign-ins are blocked once sync has carried the disabled account to Entra ID.'
      : 'Sign-in is blocked once sync has carried the disabled account to Entra ID; sessions already open end when their tokens expire (revoking sessions is switched off).');
  }
  b.note('A roll back enables the account again, converts the mailbox back to a user mailbox with its licence, takes the full access away, and puts the automatic reply, forwarding, groups and address lists back as they were; revoked sessions stay revoked.');
  return `Offboard ${t.name} (${t.primarySmtpAddress})${r.when ? ` on ${r.when.text}` : ''}`;
}
