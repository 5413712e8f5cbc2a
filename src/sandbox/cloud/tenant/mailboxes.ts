/**
 * Mailbox provisioning: an Exchange licence queues a mailbox, which is created when it falls due ({@link tick}, run
 * first by every public Tenant method); losing the last Exchange licence starts the grace period.
 */
import {
  calculatedPrimaryAddress,
  initialCloudManaged,
  initialMailboxAddresses,
  isMailboxType,
  licenceRemovalEffect,
  mailboxPrimaryAddress,
  toAlias,
} from '../rules';
import { skuGivesMailbox } from '../skus';
import type { EntraUser } from '../tenant-model';
import { customAttributesFromAd } from './ad-values';
import type { TenantCore } from './core';

/** Carries out work that has fallen due (mailbox provisioning). Called by every public method. */
export function tick(core: TenantCore): void {
  const now = core.clock.now();
  const due = core.s.pendingMailboxes.filter((p) => p.dueAt <= now);
  if (due.length === 0) return;
  core.s.pendingMailboxes = core.s.pendingMailboxes.filter((p) => p.dueAt > now);
  for (const p of due) createMailboxFor(core, p.userId);
}

export function hasExchangePlan(core: TenantCore, u: EntraUser): boolean {
  return u.licenseAssignmentStates.some((l) => {
    if (l.state !== 'Active') return false;
    const sku = core.s.skus.find((s) => s.skuId === l.skuId);
    return sku !== undefined && skuGivesMailbox(sku, l.disabledPlans);
  });
}

export function onExchangeLicenceGained(core: TenantCore, u: EntraUser): void {
  const rec = core.recipientOf(u.id);
  if (rec && isMailboxType(rec.recipientTypeDetails)) {
    rec.licenceRemovedAt = null;
    return;
  }
  if (rec?.recipientTypeDetails === 'GuestMailUser') return;
  if (core.s.pendingMailboxes.some((p) => p.userId === u.id)) return;
  core.s.pendingMailboxes.push({ userId: u.id, dueAt: core.clock.now() + core.s.mailboxProvisioningDelayMs });
}

export function onExchangeLicenceLost(core: TenantCore, u: EntraUser): void {
  core.s.pendingMailboxes = core.s.pendingMailboxes.filter((p) => p.userId !== u.id);
  const rec = core.recipientOf(u.id);
  if (rec && isMailboxType(rec.recipientTypeDetails) && licenceRemovalEffect(rec.recipientTypeDetails) === 'keep-in-grace') {
    rec.licenceRemovedAt = core.iso();
  }
}

function createMailboxFor(core: TenantCore, userId: string): void {
  const u = core.userIndex.get(userId);
  if (!u || !hasExchangePlan(core, u)) return;
  let rec = core.recipientOf(u.id);
  const synced = u.onPremisesSyncEnabled === true;
  if (!rec) rec = core.newRecipient(u.id, 'user', 'User', u.mailNickname, u.mailNickname, u.displayName, synced);
  if (isMailboxType(rec.recipientTypeDetails)) return;
  const ad = u.ad;
  const cloudManaged = synced ? initialCloudManaged(u.cloudManagedByDefaultAtFirstSync) : false;
  const fromAd = synced && !cloudManaged ? (ad?.proxyAddresses ?? []) : [];
  const primary = synced
    ? calculatedPrimaryAddress({ mail: ad?.mail, proxyAddresses: fromAd }, u.userPrincipalName)!
    : mailboxPrimaryAddress(u.mail, u.userPrincipalName);
  const alias = toAlias(u.mailNickname);
  rec.recipientTypeDetails = 'UserMailbox';
  rec.alias = alias;
  rec.emailAddresses = initialMailboxAddresses({
    primary,
    alias,
    initialDomain: core.initialDomain,
    adProxyAddresses: fromAd,
    userPrincipalName: { address: u.userPrincipalName, accepted: core.isAcceptedDomain(u.userPrincipalName.split('@')[1] ?? '') },
  });
  rec.adProxyAddresses = [...fromAd];
  rec.primarySmtpAddress = primary;
  rec.windowsEmailAddress = primary;
  rec.externalEmailAddress = null;
  rec.isExchangeCloudManaged = cloudManaged;
  rec.hiddenFromAddressListsEnabled = synced && !cloudManaged ? ad?.hideFromAddressLists === true : false;
  if (synced && !cloudManaged) rec.customAttributes = customAttributesFromAd(ad?.extensionAttributes);
  rec.exchangeGuid = core.ids();
  rec.whenMailboxCreated = core.iso();
  rec.whenChanged = rec.whenMailboxCreated;
  rec.licenceRemovedAt = null;
  core.refreshUserMail(u, rec);
}
