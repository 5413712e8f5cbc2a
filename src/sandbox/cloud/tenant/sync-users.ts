/**
 * Users synced from AD: their Entra attributes and what reaches Exchange Online (mailbox, mail user or plain user).
 */
import {
  adMastersExchangeAttributes,
  applyAdProxyAddressesDiff,
  applyPrimaryAddressChange,
  calculatedPrimaryAddress,
  isMailboxType,
  splitProxy,
  syncedMailNickname,
  toAlias,
  unlicensedSyncedUserType,
  withUpnAddress,
} from '../rules';
import { newEntraUser, type AdUserInput, type EntraUser, type ExoRecipient, type SyncOutcome } from '../tenant-model';
import { blankToNull, customAttributesFromAd, domainOfDn, firstRdnValue, norm, sameList } from './ad-values';
import { SyncConflictError, type TenantCore } from './core';
import { tick } from './mailboxes';
import { reconcileLicences } from './licensing';
import { syncOutcome } from './sync-scope';

/**
 * Creates or updates a user synced from AD (matched on its immutable id), and applies what reaches
 * Exchange Online:
 * - Entra: identity attributes always follow AD (UPN, names, department, accountEnabled …);
 *   `usageLocation` only when AD has one;
 * - EXO without a mailbox: `MailUser` if mail + mailNickname + targetAddress are all set, else `User`;
 * - EXO with a mailbox: a change of AD `mail` makes it the primary address (the old one stays as
 *   `smtp:`), even when cloud-managed; other Exchange attributes (mailNickname, proxyAddresses,
 *   msExchHideFromAddressLists, extension attributes) are applied only while the mailbox is not
 *   `IsExchangeCloudManaged`;
 * - users first synced while `ExchangeAttributesCloudManagedByDefault` is on get no Exchange
 *   attributes from AD, and their mailbox starts cloud-managed.
 * A mailbox itself comes only from an Exchange licence (see `assignLicense`, licensing.ts).
 *
 * AD changes are applied as differences against the last synced state (as sync exports deltas):
 * e.g. an alias changed in EXO with Set-MailUser stays until AD's mailNickname changes.
 *
 * @throws SyncConflictError when the UPN or an address is already used by another object.
 */
export function upsertSyncedUser(core: TenantCore, ad: AdUserInput): SyncOutcome {
  tick(core);
  const immutableId = core.immutableIdOf(ad);
  const notes: string[] = [];
  const upn = cloudUpnFor(core, ad.userPrincipalName);
  if (upn.toLowerCase() !== ad.userPrincipalName.toLowerCase()) {
    notes.push(`UPN suffix of ${ad.userPrincipalName} is not a verified domain; Entra uses ${upn}`);
  }
  let user = core.userByImmutable.get(immutableId);
  const holder = core.userByUpn.get(upn.toLowerCase());
  const clash = holder && holder !== user ? holder : undefined;
  if (clash) throw new SyncConflictError('userPrincipalName', upn, clash.id);
  const created = !user;
  const prev = user?.ad ?? null;
  const now = core.iso();
  if (!user) {
    user = newEntraUser(core.ids(), now, {
      userPrincipalName: upn,
      displayName: '',
      mailNickname: '',
      accountEnabled: ad.accountEnabled,
      onPremisesSyncEnabled: true,
      onPremisesImmutableId: immutableId,
      cloudManagedByDefaultAtFirstSync: core.s.exchangeAttributesCloudManagedByDefault,
    });
    core.addUser(user);
  }
  // Identity attributes: always from AD.
  if (user.userPrincipalName !== upn) {
    const old = user.userPrincipalName;
    user.userPrincipalName = upn;
    core.indexUser(user, old);
  }
  user.displayName = blankToNull(ad.displayName) ?? firstRdnValue(ad.distinguishedName);
  user.givenName = blankToNull(ad.givenName);
  user.surname = blankToNull(ad.surname);
  user.department = blankToNull(ad.department);
  user.jobTitle = blankToNull(ad.jobTitle);
  user.companyName = blankToNull(ad.companyName);
  user.mobilePhone = blankToNull(ad.mobilePhone);
  user.businessPhones = blankToNull(ad.telephoneNumber) ? [ad.telephoneNumber!.trim()] : [];
  user.officeLocation = blankToNull(ad.officeLocation);
  user.employeeId = blankToNull(ad.employeeId);
  user.accountEnabled = ad.accountEnabled;
  user.mailNickname = syncedMailNickname(ad.mailNickname, ad.samAccountName);
  if (blankToNull(ad.usageLocation)) user.usageLocation = ad.usageLocation!.trim().toUpperCase();
  user.onPremisesSamAccountName = ad.samAccountName;
  user.onPremisesDistinguishedName = ad.distinguishedName;
  user.onPremisesUserPrincipalName = ad.userPrincipalName;
  user.onPremisesDomainName = domainOfDn(ad.distinguishedName);
  user.onPremisesSecurityIdentifier = blankToNull(ad.objectSid);
  user.onPremisesLastSyncDateTime = now;

  // Exchange side.
  let rec = core.recipientOf(user.id);
  if (!rec) {
    rec = core.newRecipient(user.id, 'user', 'User', firstRdnValue(ad.distinguishedName), user.mailNickname, user.displayName, true);
  }
  rec.displayName = user.displayName;
  const addressesBefore = [...rec.emailAddresses];
  const blocked = isMailboxType(rec.recipientTypeDetails) ? rec.isExchangeCloudManaged : user.cloudManagedByDefaultAtFirstSync;
  if (isMailboxType(rec.recipientTypeDetails)) {
    applyAdToMailbox(core, rec, user, prev, ad, notes);
  } else {
    const wanted = unlicensedSyncedUserType(ad, blocked);
    if (blocked && created && (blankToNull(ad.targetAddress) || (ad.proxyAddresses ?? []).length > 0)) {
      notes.push('organisation default ExchangeAttributesCloudManagedByDefault is on: Exchange attributes from AD are not applied');
    }
    if (wanted === 'MailUser') applyAdToMailUser(core, rec, prev, ad);
    else makePlainUser(core, rec, ad);
  }
  user.ad = structuredClone(ad);
  core.refreshUserMail(user, rec);
  core.checkAddressesUnique(rec, undefined, addressesBefore);
  // Only a licensing group can change this user's licences here (e.g. it was a pending member).
  if (created && core.s.groups.some((g) => g.assignedLicenses.length > 0 && g.adMemberImmutableIds.includes(immutableId))) {
    reconcileLicences(core);
  }
  tick(core);
  return syncOutcome(core, immutableId, user.id, created, notes);
}

function cloudUpnFor(core: TenantCore, adUpn: string): string {
  const at = adUpn.lastIndexOf('@');
  const suffix = at >= 0 ? adUpn.slice(at + 1) : '';
  if (suffix !== '' && core.isAcceptedDomain(suffix)) return adUpn;
  const prefix = at >= 0 ? adUpn.slice(0, at) : adUpn;
  return `${prefix}@${core.initialDomain}`;
}

/**
 * AD's changes to a mailbox. The primary is Entra's calculated one (rules.calculatedPrimaryAddress: an `SMTP:` entry
 * of AD proxyAddresses, else mail, else the UPN); it moves when that calculation gives another address, the old one
 * staying as `smtp:` unless AD's proxyAddresses dropped it. While the mailbox is cloud-managed, AD's proxyAddresses no
 * longer reach Exchange and `mail` alone decides (the field test: mail overrides the primary even then). The UPN stays
 * among the addresses (rules.withUpnAddress).
 */
function applyAdToMailbox(core: TenantCore, rec: ExoRecipient, user: EntraUser, prev: AdUserInput | null, ad: AdUserInput, notes: string[]): void {
  const now = core.iso();
  const proxiesApply = adMastersExchangeAttributes(rec);
  const primaryFrom = (x: AdUserInput): string => calculatedPrimaryAddress({ mail: x.mail, proxyAddresses: proxiesApply ? x.proxyAddresses : [] }, user.userPrincipalName)!;
  const primary = primaryFrom(ad);
  if ((prev ? norm(primaryFrom(prev)) !== norm(primary) : false) || (proxiesApply && rec.reapplyFromAd && norm(rec.primarySmtpAddress) !== norm(primary))) {
    rec.emailAddresses = applyPrimaryAddressChange(rec.emailAddresses, primary);
    rec.primarySmtpAddress = primary;
    rec.windowsEmailAddress = primary;
    rec.whenChanged = now;
  }
  keepUpnAddress(core, rec, user);
  if (!adMastersExchangeAttributes(rec)) {
    const changed =
      norm(prev?.mailNickname) !== norm(ad.mailNickname) ||
      !sameList(prev?.proxyAddresses, ad.proxyAddresses) ||
      (prev?.hideFromAddressLists ?? false) !== (ad.hideFromAddressLists ?? false) ||
      JSON.stringify(customAttributesFromAd(prev?.extensionAttributes)) !== JSON.stringify(customAttributesFromAd(ad.extensionAttributes));
    if (changed) notes.push('mailbox is IsExchangeCloudManaged: Exchange attributes changed in AD were not applied (AD and EXO now differ)');
    return;
  }
  const full = rec.reapplyFromAd;
  if (full || norm(prev?.mailNickname) !== norm(ad.mailNickname)) rec.alias = toAlias(user.mailNickname);
  if (full || !sameList(prev?.proxyAddresses, ad.proxyAddresses)) {
    rec.emailAddresses = applyAdProxyAddressesDiff(rec.emailAddresses, rec.adProxyAddresses, ad.proxyAddresses ?? []);
    rec.adProxyAddresses = [...(ad.proxyAddresses ?? [])];
    keepUpnAddress(core, rec, user);
  }
  if (full || (prev?.hideFromAddressLists ?? false) !== (ad.hideFromAddressLists ?? false)) {
    rec.hiddenFromAddressListsEnabled = ad.hideFromAddressLists === true;
  }
  const custom = customAttributesFromAd(ad.extensionAttributes);
  if (full || JSON.stringify(customAttributesFromAd(prev?.extensionAttributes)) !== JSON.stringify(custom)) rec.customAttributes = custom;
  // publicDelegates (GrantSendOnBehalfTo) comes from AD while AD masters the mailbox (see sendOnBehalfOf): handing
  // the mailbox back to AD (IsExchangeCloudManaged False) drops what Exchange set.
  if (full && (rec.grantSendOnBehalfTo ?? []).length > 0) rec.grantSendOnBehalfTo = [];
  rec.reapplyFromAd = false;
  rec.whenChanged = now;
}

/** A mailbox keeps its UPN among its addresses (rules.withUpnAddress): after a UPN change or an AD proxyAddresses change. */
function keepUpnAddress(core: TenantCore, rec: ExoRecipient, user: EntraUser): void {
  const upn = user.userPrincipalName;
  rec.emailAddresses = withUpnAddress(rec.emailAddresses, upn, core.isAcceptedDomain(upn.split('@')[1] ?? ''));
}

function applyAdToMailUser(core: TenantCore, rec: ExoRecipient, prev: AdUserInput | null, ad: AdUserInput): void {
  const now = core.iso();
  // Entra's calculated primary (rules.calculatedPrimaryAddress): an SMTP: entry of proxyAddresses, else mail.
  const mail = calculatedPrimaryAddress(ad)!;
  const target = splitProxy(ad.targetAddress!.trim()).address;
  if (rec.recipientTypeDetails !== 'MailUser') {
    rec.recipientTypeDetails = 'MailUser';
    rec.alias = toAlias(ad.mailNickname!.trim());
    rec.primarySmtpAddress = mail;
    rec.windowsEmailAddress = mail;
    rec.externalEmailAddress = `SMTP:${target}`;
    rec.emailAddresses = applyAdProxyAddressesDiff([`SMTP:${mail}`], [], ad.proxyAddresses ?? []);
    rec.adProxyAddresses = [...(ad.proxyAddresses ?? [])];
    rec.hiddenFromAddressListsEnabled = ad.hideFromAddressLists === true;
    rec.customAttributes = customAttributesFromAd(ad.extensionAttributes);
    rec.whenChanged = now;
    return;
  }
  if (norm(prev?.mailNickname) !== norm(ad.mailNickname)) rec.alias = toAlias(ad.mailNickname!.trim());
  if (norm(prev?.targetAddress) !== norm(ad.targetAddress)) rec.externalEmailAddress = `SMTP:${target}`;
  if (norm(prev ? calculatedPrimaryAddress(prev) : null) !== norm(mail)) {
    rec.emailAddresses = applyPrimaryAddressChange(rec.emailAddresses, mail);
    rec.primarySmtpAddress = mail;
    rec.windowsEmailAddress = mail;
  }
  if (!sameList(prev?.proxyAddresses, ad.proxyAddresses)) {
    rec.emailAddresses = applyAdProxyAddressesDiff(rec.emailAddresses, rec.adProxyAddresses, ad.proxyAddresses ?? []);
    rec.adProxyAddresses = [...(ad.proxyAddresses ?? [])];
  }
  if ((prev?.hideFromAddressLists ?? false) !== (ad.hideFromAddressLists ?? false)) rec.hiddenFromAddressListsEnabled = ad.hideFromAddressLists === true;
  rec.whenChanged = now;
}

function makePlainUser(core: TenantCore, rec: ExoRecipient, ad: AdUserInput): void {
  if (rec.recipientTypeDetails !== 'User') rec.whenChanged = core.iso();
  rec.recipientTypeDetails = 'User';
  rec.alias = toAlias(syncedMailNickname(ad.mailNickname, ad.samAccountName));
  rec.primarySmtpAddress = null;
  rec.windowsEmailAddress = blankToNull(ad.mail);
  rec.emailAddresses = [];
  rec.externalEmailAddress = null;
  rec.adProxyAddresses = [];
}
