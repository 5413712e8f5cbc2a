/**
 * Planning of the kinds that create a recipient: user, shared, room and equipment mailboxes, mail users, mail
 * contacts and distribution groups.
 */
import { childDn } from '../requests/dn';
import type { DistributionGroupRequest, EquipmentMailboxRequest, MailContactRequest, MailUserRequest, RecipientRequest, RoomMailboxRequest, SharedMailboxRequest, UserMailboxRequest } from '../requests/kinds';
import { keepsLicence, kindRefusal, NEW_OBJECT_OU } from '../requests/tenant-profile';
import {
  adMastered, cnOf, delegateKeys, describeAttributes, EXO_PERMISSION_NOTE, licenceName, newMailboxUser, PlanRefusedError, refIdentity, refText, removeLicence, setCloudManaged, type Builder,
} from './plan-builder';
import type { AttributeValues } from './steps';

export function planUserMailbox(b: Builder, r: UserMailboxRequest): string {
  const p = b.profile;
  const cn = r.cn ?? cnOf(r.displayName);
  const ou = p.ous[NEW_OBJECT_OU[r.kind]];
  const dn = childDn(cn, ou);
  const identity: Record<string, string> = {
    givenName: r.firstName, sn: r.lastName, displayName: r.displayName,
    ...(r.department !== undefined ? { department: r.department } : {}), ...(r.jobTitle !== undefined ? { title: r.jobTitle } : {}),
  };
  // HB order step 1: create the user and set mail (otherwise EXO uses the UPN); cloud-default: identity only.
  const exchange: Record<string, string | string[]> = adMastered(p) ? { mail: r.primarySmtpAddress, mailNickname: r.alias, proxyAddresses: [`SMTP:${r.primarySmtpAddress}`] } : {};
  const attributes = { ...identity, ...exchange };
  newMailboxUser(b, {
    dn, parentDn: ou, cn, samAccountName: r.samAccountName, userPrincipalName: r.userPrincipalName, attributes, accountEnabled: true,
    usageLocation: r.usageLocation, temporaryLicence: false,
    createSummary: `Create the AD user ${dn} (sign-in ${r.userPrincipalName}, logon ${r.samAccountName})` +
      (adMastered(p) ? ` with ${describeAttributes(exchange, ['mail', 'mailNickname', 'proxyAddresses'])}` : '; no Exchange attributes in AD (this tenant manages them in Exchange Online)') +
      '; Mailroom generates a first password the person must change',
  });
  cloudSideAddresses(b, r.userPrincipalName, 'UserMailbox', r.primarySmtpAddress, r.alias);
  if (adMastered(p) && p.cloudManageNewMailboxes) setCloudManaged(b, r.userPrincipalName, true, 'the new mailbox');
  // EXO forms the routing address from the alias it first sees: mailNickname (ad-mastered), else the sAMAccountName.
  b.note(`Exchange Online adds ${adMastered(p) ? r.alias : r.samAccountName}@${p.tenantDomain} as a secondary address.`);
  return `Create the user mailbox ${r.displayName} (${r.primarySmtpAddress})`;
}

/** cloud-default: the primary address and alias are set in EXO once the (cloud-managed) mailbox exists. */
function cloudSideAddresses(b: Builder, identity: string, recipientType: string, primary: string, alias: string): void {
  if (adMastered(b.profile)) return;
  b.add('exo.set-primary', 'exo.setPrimaryAddress', { identity, recipientType, address: primary },
    `Make ${primary} the primary address in Exchange Online (until now it is the UPN)`);
  b.add('exo.set-alias', 'exo.setAlias', { identity, recipientType, alias }, `Set the alias to ${alias} in Exchange Online`);
  b.note('The new mailbox is cloud-managed from the start (the organisation default), so its addresses are set in Exchange Online.');
}

export function planResourceMailbox(b: Builder, r: SharedMailboxRequest | RoomMailboxRequest | EquipmentMailboxRequest): string {
  const p = b.profile;
  const conf = {
    'shared-mailbox': { type: 'Shared', word: 'shared mailbox', why: 'shared mailboxes under 50 GB need none' },
    'room-mailbox': { type: 'Room', word: 'room mailbox', why: 'room mailboxes need none unless meeting devices sign in with them' },
    'equipment-mailbox': { type: 'Equipment', word: 'equipment mailbox', why: 'equipment mailboxes need none' },
  }[r.kind];
  const keep = r.kind !== 'shared-mailbox' && keepsLicence(r.kind, p);
  const cn = r.cn ?? cnOf(r.displayName);
  const ou = p.ous[NEW_OBJECT_OU[r.kind]];
  const dn = childDn(cn, ou);
  const exchange: Record<string, string | string[]> = adMastered(p) ? { mail: r.primarySmtpAddress, mailNickname: r.alias, proxyAddresses: [`SMTP:${r.primarySmtpAddress}`] } : {};
  // HB shared-mailbox recipe: 1. AD user with mail, disabled; 2. wait for sync; 3. assign an EXO plan and wait for the
  // mailbox; 4. Set-Mailbox -Type Shared (or Room/Equipment); 5. remove the EXO plan.
  newMailboxUser(b, {
    dn, parentDn: ou, cn, samAccountName: r.samAccountName, userPrincipalName: r.userPrincipalName,
    attributes: { displayName: r.displayName, ...exchange }, accountEnabled: false,
    usageLocation: r.usageLocation ?? p.defaultUsageLocation, temporaryLicence: !keep,
    createSummary: `Create the disabled AD user ${dn}` + (adMastered(p) ? ` with ${describeAttributes(exchange, ['mail', 'mailNickname'])}` : ' (no Exchange attributes in AD: this tenant manages them in Exchange Online)'),
  });
  b.add('exo.set-type', 'exo.setMailboxType', { identity: r.userPrincipalName, type: conf.type as 'Shared' | 'Room' | 'Equipment' }, `Convert the mailbox to ${conf.type}`);
  if (r.kind === 'room-mailbox' && r.capacity !== undefined) {
    b.add('exo.capacity', 'exo.setResourceCapacity', { identity: r.userPrincipalName, capacity: r.capacity }, `Set the room's capacity to ${r.capacity}`);
  }
  cloudSideAddresses(b, r.userPrincipalName, `${conf.type}Mailbox`, r.primarySmtpAddress, r.alias);
  if (!keep) removeLicence(b, r.userPrincipalName, dn, conf.why);
  else b.note(`The ${conf.word} keeps ${licenceName(p.licensing)} (tenant setting: rooms keep their licence).`);
  if (adMastered(p) && p.cloudManageNewMailboxes) setCloudManaged(b, r.userPrincipalName, true, 'the new mailbox');
  b.note(`There is no direct way to create a ${conf.word} from AD: it starts as a user mailbox and is converted; its AD account stays disabled.`);
  if (r.kind === 'shared-mailbox') {
    const members = r.members ?? [];
    for (const m of members) {
      for (const permission of ['FullAccess', 'SendAs'] as const) {
        b.add(permission === 'FullAccess' ? 'exo.grant-full-access' : 'exo.grant-send-as', 'exo.grantMailboxPermission', {
          identity: r.userPrincipalName, mailboxName: r.displayName, permission, user: refIdentity(m), userName: m.name, userKeys: delegateKeys(m).keys,
          ...(permission === 'FullAccess' ? { autoMapping: true } : {}),
        }, permission === 'FullAccess'
          ? `Give ${refText(m)} full access on the new mailbox in Exchange Online (Add-MailboxPermission -AccessRights FullAccess -AutoMapping $true)`
          : `Give ${refText(m)} send as on the new mailbox in Exchange Online (Add-RecipientPermission -AccessRights SendAs)`);
      }
    }
    if (members.length) {
      b.note(`${EXO_PERMISSION_NOTE} Auto-mapping is on (Exchange's default): Outlook adds the mailbox to each member's folder list by itself.`);
    } else {
      b.note('Who may use the mailbox (Full Access, Send As) is not part of this request: give members=… or grant them later (grant full access on …).');
    }
  }
  return `Create the ${conf.word} ${r.displayName} (${r.primarySmtpAddress})`;
}

function refusedUnlessAdMastered(b: Builder, kind: RecipientRequest['kind']): void {
  const refusal = kindRefusal(kind, b.profile);
  if (refusal) throw new PlanRefusedError(refusal);
}

export function planMailUser(b: Builder, r: MailUserRequest): string {
  refusedUnlessAdMastered(b, r.kind);
  const p = b.profile;
  const cn = r.cn ?? cnOf(r.displayName);
  const ou = p.ous[NEW_OBJECT_OU[r.kind]];
  const dn = childDn(cn, ou);
  // HB: a mail user needs all three of mail, mailNickname and targetAddress; sync carries alias and
  // targetAddress only when mailNickname is set.
  const exchange = { mail: r.externalAddress, mailNickname: r.alias, targetAddress: `SMTP:${r.externalAddress}` };
  const attributes: AttributeValues = {
    givenName: r.firstName, sn: r.lastName, displayName: r.displayName,
    ...(r.company !== undefined ? { company: r.company } : {}), ...(r.department !== undefined ? { department: r.department } : {}),
    ...exchange,
  };
  b.add('ad.create-user', 'ad.createUser', {
    dn, parentDn: ou, cn, samAccountName: r.samAccountName, userPrincipalName: r.userPrincipalName,
    attributes, accountEnabled: true, password: 'generate', mustChangePassword: true,
  }, `Create the AD user ${dn} (sign-in ${r.userPrincipalName}, logon ${r.samAccountName}) with ${describeAttributes(exchange, ['mail', 'mailNickname', 'targetAddress'])}; Mailroom generates a first password the person must change`);
  b.add('sync.await-user', 'sync.awaitUser', { ...b.syncWait(dn, 'user'), samAccountName: r.samAccountName, userPrincipalName: r.userPrincipalName, timeoutMinutes: b.syncTimeout },
    b.syncText('created the user'));
  // Exchange Online is asked by the Entra object id the user wait found: Get-Recipient cannot filter on a sign-in
  // name, and a mail user's is not among its addresses.
  b.add('exo.await-recipient', 'exo.awaitRecipient', {
    identity: r.userPrincipalName, expect: { recipientTypeDetails: 'MailUser', externalEmailAddress: r.externalAddress }, entraIdFrom: 'sync.await-user', timeoutMinutes: b.syncTimeout,
  }, `Wait until the mail user shows in Exchange Online with the external address ${r.externalAddress}`);
  b.note('Mail users stay managed in AD: there is no IsExchangeCloudManaged for them, and no licence is needed.');
  b.warn('Set-MailUser in Exchange Online can still overwrite the alias, and sync does not reset it until mailNickname changes in AD: change mail users through Mailroom or in AD only.');
  return `Create the mail user ${r.displayName} (mail goes to ${r.externalAddress})`;
}

export function planContact(b: Builder, r: MailContactRequest): string {
  refusedUnlessAdMastered(b, r.kind);
  const p = b.profile;
  const cn = r.cn ?? cnOf(r.displayName);
  const ou = p.ous[NEW_OBJECT_OU[r.kind]];
  const dn = childDn(cn, ou);
  // HB: an AD contact reaches EXO (as MailContact) only when mail is set.
  const exchange = { mail: r.externalAddress, mailNickname: r.alias };
  const attributes: AttributeValues = {
    displayName: r.displayName,
    ...(r.firstName !== undefined ? { givenName: r.firstName } : {}), ...(r.lastName !== undefined ? { sn: r.lastName } : {}),
    ...(r.company !== undefined ? { company: r.company } : {}),
    ...exchange,
  };
  b.add('ad.create-contact', 'ad.createContact', { dn, parentDn: ou, cn, attributes },
    `Create the AD contact ${dn} with ${describeAttributes(exchange, ['mail', 'mailNickname'])}`);
  b.add('sync.await-contact', 'sync.awaitContact', { ...b.syncWait(dn, 'contact'), mail: r.externalAddress, timeoutMinutes: b.syncTimeout },
    b.syncText('created the contact'));
  b.add('exo.await-recipient', 'exo.awaitRecipient', { identity: r.externalAddress, expect: { recipientTypeDetails: 'MailContact' }, entraIdFrom: 'sync.await-contact', timeoutMinutes: b.syncTimeout },
    'Wait until the contact shows in Exchange Online (MailContact)');
  b.note('Synced contacts can only be changed in AD; Exchange Online refuses (or silently ignores) changes to them.');
  return `Create the mail contact ${r.displayName} (${r.externalAddress})`;
}

/**
 * AD groupType: global 0x2, universal 0x8, security 0x80000000 (as a signed 32-bit integer). The one place it is
 * computed: the `ad.createGroup` executor checks a plan's groupType with it, and the directory writes the number as given.
 */
export function groupTypeOf(scope: 'global' | 'universal', securityEnabled: boolean): number {
  return ((scope === 'global' ? 0x2 : 0x8) | (securityEnabled ? 0x80000000 : 0)) | 0;
}

export function planGroup(b: Builder, r: DistributionGroupRequest): string {
  refusedUnlessAdMastered(b, r.kind);
  const p = b.profile;
  const cn = r.cn ?? cnOf(r.displayName);
  const ou = p.ous[NEW_OBJECT_OU[r.kind]];
  const dn = childDn(cn, ou);
  const exchange = { mail: r.primarySmtpAddress, mailNickname: r.alias, proxyAddresses: [`SMTP:${r.primarySmtpAddress}`] };
  const attributes: AttributeValues = { displayName: r.displayName, ...(r.description !== undefined ? { description: r.description } : {}), ...exchange };
  const kindWord = r.securityEnabled ? 'security' : 'distribution';
  b.add('ad.create-group', 'ad.createGroup', {
    dn, parentDn: ou, cn, samAccountName: r.samAccountName, groupType: groupTypeOf(r.scope, r.securityEnabled), scope: r.scope,
    securityEnabled: r.securityEnabled, attributes, memberDns: r.members.map((m) => m.adDn),
  }, `Create the ${r.scope} ${kindWord} group ${dn} in AD with ${describeAttributes(exchange, ['mail', 'mailNickname'])}` +
    (r.members.length ? ` and ${r.members.length} member${r.members.length === 1 ? '' : 's'}: ${r.members.slice(0, 5).map((m) => m.name).join(', ')}${r.members.length > 5 ? ' …' : ''}` : ''));
  b.add('sync.await-group', 'sync.awaitGroup', { ...b.syncWait(dn, 'group'), samAccountName: r.samAccountName, timeoutMinutes: b.syncTimeout },
    b.syncText('created the group'));
  // HB: every mail-enabled synced group shows as Universal in EXO (global ones too), plus SecurityEnabled.
  const exoType = r.securityEnabled ? 'MailUniversalSecurityGroup' : 'MailUniversalDistributionGroup';
  b.add('exo.await-recipient', 'exo.awaitRecipient', { identity: r.primarySmtpAddress, expect: { recipientTypeDetails: exoType, primarySmtpAddress: r.primarySmtpAddress }, entraIdFrom: 'sync.await-group', timeoutMinutes: b.syncTimeout },
    `Wait until the group shows in Exchange Online as ${r.securityEnabled ? 'Universal, SecurityEnabled' : 'Universal'} (${exoType})`);
  if (r.scope === 'global') b.note('Exchange Online shows the group as Universal although it is global in AD: that is how sync presents every mail-enabled group.');
  b.note('Synced groups, membership included, are managed in AD: later changes go through Mailroom or AD, not Exchange Online.');
  return `Create the ${kindWord} group ${r.displayName} (${r.primarySmtpAddress})`;
}
