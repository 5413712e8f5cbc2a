/**
 * Contacts and groups synced from AD, through one path for both mail objects.
 */
import { immutableIdFromObjectGuid, isGuid } from '../ids';
import {
  applyAdProxyAddressesDiff,
  calculatedPrimaryAddress,
  contactReachesExo,
  exoGroupShape,
  groupReachesExo,
  splitProxy,
  syncedMailNickname,
  toAlias,
  type RecipientTypeDetails,
} from '../rules';
import { newEntraContact, newEntraGroup, type AdContactInput, type AdGroupInput, type ExoRecipient, type SyncOutcome } from '../tenant-model';
import { blankToNull, domainOfDn, firstRdnValue, sameList, syncedProxyAddresses } from './ad-values';
import type { TenantCore } from './core';
import { tick } from './mailboxes';
import { reconcileLicences } from './licensing';
import { syncOutcome } from './sync-scope';

/** What a synced contact and a synced group have alike (see Tenant.upsertSyncedMailObject). */
type SyncedMailObject<A> = {
  id: string;
  displayName: string;
  mail: string | null;
  mailNickname: string;
  proxyAddresses: string[];
  onPremisesImmutableId: string | null;
  onPremisesLastSyncDateTime: string | null;
  ad: A | null;
};

/** What differs between the sync of a contact and of a group (see Tenant.upsertSyncedMailObject). */
interface SyncedMailKind<T> {
  kind: 'contact' | 'group';
  /** A new synced object, empty but for its immutable id. */
  create(immutableId: string, now: string): T;
  /** The kind's own Entra attributes from AD (`cn`: the name the DN gives); display name and mail are set already. */
  fromAd(obj: T, cn: string): void;
  /** Whether the object, with this mail, reaches Exchange Online. */
  reachesExo(mail: string | null): boolean;
  /** The type of a new recipient. */
  type: RecipientTypeDetails;
  /** What is particular to the kind on its recipient. */
  shape(rec: ExoRecipient, mail: string): void;
  /** Runs once Exchange is done, before the outcome is read. */
  afterExo?(obj: T): void;
}


/**
 * Creates or updates a contact synced from AD. It reaches EXO (as `MailContact`) only with `mail`.
 * Synced contacts stay mastered in AD: every change is applied in full.
 */
export function upsertSyncedContact(core: TenantCore, ad: AdContactInput): SyncOutcome {
  return upsertSyncedMailObject(core, ad, core.s.contacts, {
    kind: 'contact',
    create: (immutableId, now) =>
      newEntraContact(core.ids(), now, {
        displayName: '',
        mail: null,
        mailNickname: '',
        proxyAddresses: [],
        onPremisesSyncEnabled: true,
        onPremisesImmutableId: immutableId,
      }),
    fromAd: (c, cn) => {
      c.givenName = blankToNull(ad.givenName);
      c.surname = blankToNull(ad.surname);
      c.companyName = blankToNull(ad.companyName);
      c.department = blankToNull(ad.department);
      c.jobTitle = blankToNull(ad.jobTitle);
      c.mailNickname = blankToNull(ad.mailNickname) ?? toAlias(cn);
    },
    reachesExo: contactReachesExo,
    type: 'MailContact',
    shape: (rec, mail) => {
      rec.externalEmailAddress = `SMTP:${splitProxy(blankToNull(ad.targetAddress) ?? mail).address}`;
    },
  });
}

/**
 * Creates or updates a group synced from AD, with its members. It reaches EXO only with `mail`, as a
 * `Universal` distribution group or a `Universal, SecurityEnabled` group, whatever its AD scope.
 * Synced groups stay mastered in AD (membership too). Licences assigned to the group in the cloud
 * follow the membership.
 */
export function upsertSyncedGroup(core: TenantCore, ad: AdGroupInput): SyncOutcome {
  const { RecipientTypeDetails: type, GroupType: groupType } = exoGroupShape(ad.securityEnabled);
  const converted = core.s.groups.find((x) => x.onPremisesImmutableId === core.immutableIdOf(ad) && x.isCloudManaged === true);
  if (converted) {
    // "Microsoft Entra Connect Sync respects the conversion and stops synchronizing the object from AD DS" (Group SOA).
    return syncOutcome(core, core.immutableIdOf(ad), converted.id, false, ['the group\'s source of authority is in the cloud (onPremisesSyncBehavior.isCloudManaged): AD changes are not synced']);
  }
  let membersBefore: readonly string[] = [];
  return upsertSyncedMailObject(core, ad, core.s.groups, {
    kind: 'group',
    create: (immutableId, now) =>
      newEntraGroup(core.ids(), now, {
        displayName: '',
        mailNickname: '',
        securityEnabled: ad.securityEnabled,
        onPremisesSyncEnabled: true,
        onPremisesImmutableId: immutableId,
        onPremisesScope: ad.scope,
      }),
    fromAd: (g) => {
      g.onPremisesSyncEnabled = true; // also takes back a group whose source of authority was handed back to AD
      g.description = blankToNull(ad.description);
      g.mailEnabled = g.mail !== null;
      g.mailNickname = syncedMailNickname(ad.mailNickname, ad.samAccountName);
      g.securityEnabled = ad.securityEnabled;
      g.onPremisesSamAccountName = ad.samAccountName;
      g.onPremisesSecurityIdentifier = blankToNull(ad.objectSid);
      g.onPremisesDomainName = domainOfDn(ad.distinguishedName);
      g.onPremisesScope = ad.scope;
      membersBefore = g.adMemberImmutableIds;
      g.adMemberImmutableIds = (ad.members ?? []).map((m) => (isGuid(m.replace(/[{}]/g, '')) ? immutableIdFromObjectGuid(m) : m));
    },
    reachesExo: groupReachesExo,
    type,
    shape: (rec) => {
      rec.recipientTypeDetails = type;
      rec.groupType = groupType;
      rec.isDirSynced = true;
    },
    afterExo: (g) => {
      if (!sameList(membersBefore, g.adMemberImmutableIds) && core.s.groups.some((x) => x.assignedLicenses.length > 0)) {
        reconcileLicences(core);
      }
      tick(core);
    },
  });
}

/**
 * The one path of {@link upsertSyncedContact} and {@link upsertSyncedGroup}; `k` says what differs.
 *
 * Entra: the object is found by its immutable id (or created); display name, mail and proxy addresses
 * come from AD as for every mail object, the rest through `k.fromAd`.
 *
 * Exchange: while the object reaches Exchange Online, its recipient (made as `k.type`, named after the
 * DN's `cn`, when missing) takes the alias, name, addresses and address-list visibility from AD, and
 * `k.shape` sets what is particular to the kind; once it does not, a recipient it had is removed.
 */
function upsertSyncedMailObject<A extends AdContactInput | AdGroupInput, T extends SyncedMailObject<A>>(
  core: TenantCore,
  ad: A,
  objects: T[],
  k: SyncedMailKind<T>,
): SyncOutcome {
  tick(core);
  const immutableId = core.immutableIdOf(ad);
  const notes: string[] = [];
  const now = core.iso();
  let obj = objects.find((x) => x.onPremisesImmutableId === immutableId);
  const created = !obj;
  if (!obj) {
    obj = k.create(immutableId, now);
    objects.push(obj);
  }
  const cn = firstRdnValue(ad.distinguishedName);
  obj.displayName = blankToNull(ad.displayName) ?? cn;
  obj.mail = blankToNull(ad.mail);
  k.fromAd(obj, cn);
  obj.proxyAddresses = syncedProxyAddresses(ad, obj.mail);
  obj.onPremisesLastSyncDateTime = now;
  obj.ad = structuredClone(ad);

  let rec = core.recipientOf(obj.id);
  if (k.reachesExo(obj.mail)) {
    const mail = obj.mail!;
    // The primary is Entra's calculated one (rules.calculatedPrimaryAddress): an SMTP: entry of proxyAddresses, else mail.
    const primary = calculatedPrimaryAddress(ad) ?? mail;
    if (!rec) rec = core.newRecipient(obj.id, k.kind, k.type, cn, toAlias(obj.mailNickname), obj.displayName, true);
    const addressesBefore = [...rec.emailAddresses];
    k.shape(rec, mail);
    rec.alias = toAlias(obj.mailNickname);
    rec.displayName = obj.displayName;
    rec.primarySmtpAddress = primary;
    rec.windowsEmailAddress = primary;
    rec.emailAddresses = applyAdProxyAddressesDiff([`SMTP:${primary}`], [], ad.proxyAddresses ?? []);
    rec.adProxyAddresses = [...(ad.proxyAddresses ?? [])];
    rec.hiddenFromAddressListsEnabled = ad.hideFromAddressLists === true;
    rec.whenChanged = now;
    core.checkAddressesUnique(rec, undefined, addressesBefore);
  } else if (rec) {
    core.deleteRecipient(rec);
    notes.push(`${k.kind} has no mail: removed from Exchange Online`);
  }
  k.afterExo?.(obj);
  return syncOutcome(core, immutableId, obj.id, created, notes);
}
