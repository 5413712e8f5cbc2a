/**
 * Exchange Online's recipients: its (lagging) view of them, Set-* changes, removal of cloud-only recipients and
 * GrantSendOnBehalfTo.
 */
import { ExoError } from '../errors';
import { immutableIdFromObjectGuid, isGuid } from '../ids';
import {
  adMastersExchangeAttributes,
  applyPrimaryAddressChange,
  isMailboxType,
  isPrimarySmtp,
  normaliseProxy,
  primaryOf,
  proxyKey,
  splitProxy,
  toAlias,
  type RecipientTypeDetails,
} from '../rules';
import type { ExoRecipient } from '../tenant-model';
import type { TenantCore } from './core';
import { tick } from './mailboxes';
import { reconcileLicences } from './licensing';

/** What an EXO Set-* cmdlet may change on a recipient (see {@link updateRecipient}). */
export type RecipientUpdate = {
  emailAddresses?: string[];
  windowsEmailAddress?: string;
  primarySmtpAddress?: string;
  alias?: string;
  hiddenFromAddressListsEnabled?: boolean;
  isExchangeCloudManaged?: boolean;
  recipientTypeDetails?: RecipientTypeDetails;
  customAttributes?: Record<number, string>;
  exchangeGuid?: string;
  externalEmailAddress?: string;
  displayName?: string;
  resourceCapacity?: number | null;
  managedBy?: string[];
} & Pick<
  ExoRecipient,
  | 'mailboxPermissions'
  | 'sendAs'
  | 'grantSendOnBehalfTo'
  | 'forwardingAddress'
  | 'forwardingSmtpAddress'
  | 'deliverToMailboxAndForward'
  | 'messageCopyForSentAsEnabled'
  | 'messageCopyForSendOnBehalfEnabled'
  | 'calendarProcessing'
  | 'autoReply'
>;

/**
 * A mailbox's GrantSendOnBehalfTo as Entra object ids: AD's `publicDelegates` (those synced) while AD masters the
 * mailbox's Exchange attributes (rules.adMastersExchangeAttributes), else what Exchange set (Set-Mailbox).
 */
export function sendOnBehalfOf(core: TenantCore, entraId: string): string[] {
  const rec = core.recipientOf(entraId);
  if (!rec) return [];
  if (!adMastersExchangeAttributes(rec)) return [...(rec.grantSendOnBehalfTo ?? [])];
  const refs = core.userIndex.get(entraId)?.ad?.publicDelegates ?? [];
  return refs
    .map((ref) => core.byImmutableId(isGuid(ref.replace(/[{}]/g, '')) ? immutableIdFromObjectGuid(ref) : ref)?.obj.id)
    .filter((id): id is string => id !== undefined);
}

/**
 * All EXO recipients (copies), including plain `User` entries (only Get-User shows those), as Exchange Online sees
 * them: a recipient held back by {@link holdBackFromExchange} is missing (new) or shows its earlier state (changed)
 * until its time has come.
 */
export function recipients(core: TenantCore): ExoRecipient[] {
  return recipientsView(core).map((r) => structuredClone(r));
}

/**
 * The recipients as {@link recipients} shows them, without copying: for read-only use within one call (a Get-* query
 * reads hundreds of recipients to answer with a few; copying them all cost more than the query).
 */
export function recipientsView(core: TenantCore): readonly Readonly<ExoRecipient>[] {
  tick(core);
  const now = core.clock.now();
  const out: Readonly<ExoRecipient>[] = [];
  for (const r of core.s.recipients) {
    const held = core.exoHeld.get(r.guid);
    if (held && now < held.until) {
      if (held.shown) out.push(held.shown);
      continue;
    }
    if (held) core.exoHeld.delete(r.guid);
    out.push(r);
  }
  return out;
}

/**
 * Exchange Online lags Entra ID: directory changes reach it by a separate sync. The sync engine holds a recipient it
 * just created (`shown` null) or changed (`shown`: the recipient before the change) back from Exchange's view until
 * `untilMs` (tenant clock). A recipient already held keeps its first time; Exchange's own writes (Set-*) end the
 * hold at once. Not saved with the tenant.
 */
export function holdBackFromExchange(core: TenantCore, guid: string, shown: ExoRecipient | null, untilMs: number): void {
  if (core.exoHeld.has(guid) || untilMs <= core.clock.now()) return;
  core.exoHeld.set(guid, { shown: shown ? structuredClone(shown) : null, until: untilMs });
}

/**
 * Applies changes to a recipient on behalf of an EXO Set-* cmdlet (the caller has already checked
 * write permissions with `rules.exoWriteRefusal`). Address changes keep PrimarySmtpAddress,
 * WindowsEmailAddress and EmailAddresses consistent and check uniqueness across the tenant.
 * Returns true if anything changed.
 */
export function updateRecipient(core: TenantCore, guid: string, change: RecipientUpdate): boolean {
  tick(core);
  const rec = core.s.recipients.find((x) => x.guid === guid);
  if (!rec) throw new Error(`no recipient ${guid}`);
  const before = JSON.stringify(rec);
  if (change.resourceCapacity !== undefined) rec.resourceCapacity = change.resourceCapacity;
  if (change.managedBy !== undefined) rec.managedBy = [...change.managedBy];
  // Exchange Online's own mailbox settings (whether a synced mailbox may take them is the cmdlet's check, rules.ts).
  if (change.mailboxPermissions !== undefined) rec.mailboxPermissions = structuredClone(change.mailboxPermissions);
  if (change.sendAs !== undefined) rec.sendAs = [...change.sendAs];
  if (change.grantSendOnBehalfTo !== undefined) rec.grantSendOnBehalfTo = [...change.grantSendOnBehalfTo];
  if (change.forwardingAddress !== undefined) rec.forwardingAddress = change.forwardingAddress;
  if (change.forwardingSmtpAddress !== undefined) rec.forwardingSmtpAddress = change.forwardingSmtpAddress;
  if (change.deliverToMailboxAndForward !== undefined) rec.deliverToMailboxAndForward = change.deliverToMailboxAndForward;
  if (change.messageCopyForSentAsEnabled !== undefined) rec.messageCopyForSentAsEnabled = change.messageCopyForSentAsEnabled;
  if (change.messageCopyForSendOnBehalfEnabled !== undefined) rec.messageCopyForSendOnBehalfEnabled = change.messageCopyForSendOnBehalfEnabled;
  if (change.calendarProcessing !== undefined) rec.calendarProcessing = structuredClone(change.calendarProcessing);
  if (change.autoReply !== undefined) rec.autoReply = { ...change.autoReply };
  const isMailbox = isMailboxType(rec.recipientTypeDetails);
  if (change.emailAddresses !== undefined) {
    const list = change.emailAddresses.map(normaliseProxy);
    const primaries = list.filter(isPrimarySmtp);
    if (primaries.length > 1) {
      throw new ExoError('Argument', `The e-mail address list contains more than one primary SMTP address: ${primaries.join(', ')}.`);
    }
    const dedup: string[] = [];
    for (const p of list) if (!dedup.some((d) => proxyKey(d) === proxyKey(p))) dedup.push(p);
    let next = dedup;
    if (primaries.length === 0) {
      const current = rec.primarySmtpAddress;
      if (current && next.some((p) => proxyKey(p) === proxyKey(`smtp:${current}`))) {
        next = next.map((p) => (proxyKey(p) === proxyKey(`smtp:${current}`) ? `SMTP:${current}` : p));
      } else {
        throw new ExoError('InvalidOperation', 'The primary SMTP address must be in the e-mail address list. Set a new primary address before removing the current one.');
      }
    }
    if (isMailbox || rec.recipientTypeDetails === 'MailUniversalDistributionGroup' || rec.recipientTypeDetails === 'MailUniversalSecurityGroup') {
      for (const p of next.filter((x) => splitProxy(x).prefix.toLowerCase() === 'smtp')) core.assertAcceptedDomain(splitProxy(p).address);
    }
    rec.emailAddresses = next;
    rec.primarySmtpAddress = primaryOf(next);
    rec.windowsEmailAddress = rec.primarySmtpAddress;
  }
  const newPrimary = change.primarySmtpAddress ?? change.windowsEmailAddress;
  if (newPrimary !== undefined) {
    if (isMailbox) core.assertAcceptedDomain(newPrimary);
    rec.emailAddresses = applyPrimaryAddressChange(rec.emailAddresses, newPrimary);
    rec.primarySmtpAddress = newPrimary;
    rec.windowsEmailAddress = newPrimary;
  }
  if (change.alias !== undefined) rec.alias = toAlias(change.alias);
  if (change.hiddenFromAddressListsEnabled !== undefined) rec.hiddenFromAddressListsEnabled = change.hiddenFromAddressListsEnabled;
  if (change.isExchangeCloudManaged !== undefined) {
    if (rec.isExchangeCloudManaged && !change.isExchangeCloudManaged) rec.reapplyFromAd = true;
    if (!rec.isExchangeCloudManaged && change.isExchangeCloudManaged) {
      rec.reapplyFromAd = false;
      // Exchange keeps the values AD last gave it and masters them from now on.
      if (rec.isDirSynced && isMailboxType(rec.recipientTypeDetails) && change.grantSendOnBehalfTo === undefined) rec.grantSendOnBehalfTo = sendOnBehalfOf(core, rec.externalDirectoryObjectId);
    }
    rec.isExchangeCloudManaged = change.isExchangeCloudManaged;
  }
  if (change.recipientTypeDetails !== undefined) {
    rec.recipientTypeDetails = change.recipientTypeDetails;
    // Shared, room and equipment mailboxes need no licence: no grace period to track.
    if (change.recipientTypeDetails !== 'UserMailbox') rec.licenceRemovedAt = null;
  }
  if (change.customAttributes) {
    for (const [i, v] of Object.entries(change.customAttributes)) rec.customAttributes[Number(i) - 1] = v;
  }
  if (change.exchangeGuid !== undefined) rec.exchangeGuid = change.exchangeGuid;
  if (change.externalEmailAddress !== undefined) rec.externalEmailAddress = `SMTP:${splitProxy(change.externalEmailAddress).address}`;
  if (change.displayName !== undefined) rec.displayName = change.displayName;
  const changed = JSON.stringify(rec) !== before;
  core.exoHeld.delete(rec.guid); // Exchange sees its own writes (and with them what sync brought meanwhile)
  if (changed) {
    core.checkAddressesUnique(rec, before, (JSON.parse(before) as ExoRecipient).emailAddresses);
    rec.whenChanged = core.iso();
    const u = core.userIndex.get(rec.externalDirectoryObjectId);
    if (u) core.refreshUserMail(u, rec);
    const g = rec.objectKind === 'group' && !rec.isDirSynced ? core.s.groups.find((x) => x.id === rec.externalDirectoryObjectId) : undefined;
    if (g) {
      // A cloud group's Entra mail and proxyAddresses are Exchange's (Exchange masters mail-enabled groups).
      g.mail = rec.primarySmtpAddress;
      g.proxyAddresses = [...rec.emailAddresses];
      g.displayName = rec.displayName;
    }
  }
  return changed;
}

/** Deletes a cloud-only recipient and its Entra object (EXO Remove-Mailbox/Remove-MailUser/Remove-MailContact). */
export function removeCloudRecipient(core: TenantCore, guid: string): void {
  tick(core);
  const rec = core.s.recipients.find((r) => r.guid === guid);
  if (!rec) return;
  const id = rec.externalDirectoryObjectId;
  const u = core.userIndex.get(id);
  const g = core.s.groups.find((x) => x.id === id);
  const c = core.s.contacts.find((x) => x.id === id);
  if (u) core.deleteEntraObject({ kind: 'user', obj: u });
  else if (g) core.deleteEntraObject({ kind: 'group', obj: g });
  else if (c) core.deleteEntraObject({ kind: 'contact', obj: c });
  else core.deleteRecipient(rec);
  reconcileLicences(core);
}
