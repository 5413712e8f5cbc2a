/**
 * The planner: a validated request and the tenant profile in, the ordered steps out. Pure: no I/O, same
 * input → same plan. It encodes docs/hybrid-behaviour.md (HB): which side holds the authority, the
 * provisioning order, the shared-mailbox recipe, the pitfalls the approver must read.
 */
import { countryName } from '../requests/countries';
import { childDn } from '../requests/dn';
import {
  isGroupType,
  isMailboxType,
  KINDS,
  recipientTypeOfMailboxType,
  permissionWords,
  type AddressListVisibilityRequest,
  type ForwardingOffRequest,
  type ForwardingSetRequest,
  type CloudManagedRequest,
  type GroupMembersAddRequest,
  type GroupMembersRemoveRequest,
  type MailboxPermissionGrantRequest,
  type MailboxPermissionRevokeRequest,
  type RecipientRef,
  type DistributionGroupRequest,
  type EquipmentMailboxRequest,
  type MailboxTypeRequest,
  type MailContactRequest,
  type MailUserRequest,
  type OffboardingRequest,
  type PrimaryAddressRequest,
  type RecipientRequest,
  type RoomMailboxRequest,
  type SecondaryAddressAddRequest,
  type SecondaryAddressRemoveRequest,
  type SharedMailboxRequest,
  type TargetRecipient,
  type UserMailboxRequest,
} from '../requests/kinds';
import { LIMITS } from '../requests/syntax';
import {
  describeType,
  exchangeAuthority,
  keepsLicence,
  kindRefusal,
  primaryAuthority,
  type ExchangeAttributeMode,
  type Licensing,
  type SyncEngine,
  type TenantProfile,
} from '../requests/tenant-profile';
import { systemOf, type AttributeValues, type DelegateKeys, type LicenceInput, type Step, type StepAction, type StepInputs, type SyncWait } from './steps';

export interface Plan {
  readonly kind: RecipientRequest['kind'];
  /** One line for the card's heading, e.g. "Create the shared mailbox Team Sales (sales@contoso.com)". */
  readonly title: string;
  readonly mode: { readonly exchangeAttributeMode: ExchangeAttributeMode; readonly sync: SyncEngine; readonly licensing: Licensing['mode'] };
  readonly steps: readonly Step[];
  /** Facts the approver should know. */
  readonly notes: readonly string[];
  /** Consequences the approver must weigh (HB pitfalls). */
  readonly warnings: readonly string[];
  /** For change requests: the recipient as validation saw it; the workflow re-checks it before running. */
  readonly basedOn?: TargetRecipient;
}

/** The request cannot be planned in this tenant (its mode refuses it); `reason` says why and what to do. */
export class PlanRefusedError extends Error {
  override readonly name = 'PlanRefusedError';
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** How long waits may take before the step fails (and the request stops with a Retry button). */
export const TIMEOUTS = {
  /** Entra Connect Sync: 30-minute cycle; allow three. */
  connectSyncMinutes: 90,
  /** Entra Cloud Sync on demand: usually seconds. */
  cloudSyncMinutes: 15,
  /** Mailbox provisioning after the licence: minutes; the field test waited over an hour (HB). */
  mailboxMinutes: 180,
} as const;

/** Pitfall wording shown whenever a mailbox becomes cloud-managed (HB "Pitfalls worth a warning"). */
export const CLOUD_MANAGED_WARNING =
  'After IsExchangeCloudManaged=True, edits of Exchange attributes in AD no longer reach Exchange Online, except mail, which still overrides the primary address; AD and Exchange Online can silently diverge.';
const FLIP_ADVICE = 'Microsoft advises switching only after one sync cycle (and ideally 24 hours) has passed since the last on-premises change.';

class Builder {
  readonly steps: Step[] = [];
  readonly notes: string[] = [];
  readonly warnings: string[] = [];

  constructor(readonly profile: TenantProfile) {}

  add<A extends StepAction>(id: string, action: A, input: StepInputs[A], summary: string): void {
    let unique = id;
    for (let n = 2; this.steps.some((s) => s.id === unique); n++) unique = `${id}-${n}`;
    const system = systemOf(action);
    this.steps.push({ id: unique, system, action, input, summary, waits: system === 'wait' } as unknown as Step);
  }

  note(text: string): void {
    if (!this.notes.includes(text)) this.notes.push(text);
  }

  warn(text: string): void {
    if (!this.warnings.includes(text)) this.warnings.push(text);
  }

  syncWait(dn: string, objectType: SyncWait['objectType']): SyncWait {
    return { engine: this.profile.sync, provisionOnDemand: this.profile.sync === 'cloud', dn, objectType };
  }

  get syncTimeout(): number {
    return this.profile.sync === 'cloud' ? TIMEOUTS.cloudSyncMinutes : TIMEOUTS.connectSyncMinutes;
  }

  /** "Wait until Entra Cloud Sync has created the user (on demand; usually seconds)". */
  syncText(done: string): string {
    return this.profile.sync === 'cloud'
      ? `Wait until Entra Cloud Sync has ${done} (on demand; usually seconds)`
      : `Wait until Entra Connect Sync has ${done} (up to 30 minutes)`;
  }
}

// ---------------------------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------------------------

/** The cn of a new object: its display name, cut to AD's 64 characters (whole characters only). */
function cnOf(displayName: string): string {
  if (displayName.length <= LIMITS.cn) return displayName;
  let out = '';
  for (const c of displayName) {
    if (out.length + c.length > LIMITS.cn) break;
    out += c;
  }
  return out.trimEnd();
}

function describeAttributes(a: AttributeValues, keys: readonly string[]): string {
  return keys
    .filter((k) => a[k] !== undefined)
    .map((k) => {
      const v = a[k];
      return `${k} ${Array.isArray(v) ? v.join(', ') : String(v)}`;
    })
    .join(', ');
}

const adMastered = (p: TenantProfile): boolean => p.exchangeAttributeMode === 'ad-mastered';

function licenceInput(upn: string, l: Licensing): LicenceInput {
  return l.mode === 'direct'
    ? { userPrincipalName: upn, via: 'direct', skuId: l.skuId, skuName: l.skuName }
    : { userPrincipalName: upn, via: 'group', groupId: l.groupId, groupName: l.groupName };
}

function licenceName(l: Licensing): string {
  return l.mode === 'direct' ? `the ${l.skuName} licence` : `the licence of the group ${l.groupName}`;
}

/** A new synced user up to its mailbox (HB provisioning order 1–3). */
function newMailboxUser(
  b: Builder,
  o: {
    dn: string;
    parentDn: string;
    cn: string;
    samAccountName: string;
    userPrincipalName: string;
    attributes: AttributeValues;
    accountEnabled: boolean;
    createSummary: string;
    usageLocation: string;
    temporaryLicence: boolean;
  },
): void {
  const p = b.profile;
  b.add('ad.create-user', 'ad.createUser', {
    dn: o.dn, parentDn: o.parentDn, cn: o.cn, samAccountName: o.samAccountName, userPrincipalName: o.userPrincipalName,
    attributes: o.attributes, accountEnabled: o.accountEnabled, password: 'generate', mustChangePassword: o.accountEnabled,
  }, o.createSummary);
  const l = p.licensing;
  if (l.mode === 'group' && l.adGroupDn) {
    // Membership written before the first sync travels with the new user: one sync cycle instead of two.
    b.add('ad.licence-group', 'ad.addGroupMember', { groupDn: l.adGroupDn, memberDn: o.dn },
      `Add the user to the AD licensing group ${l.groupName} (${l.adGroupDn}); the licence follows once sync has carried the membership${o.temporaryLicence ? ' (temporary: removed again below)' : ''}`);
  }
  b.add('sync.await-user', 'sync.awaitUser', { ...b.syncWait(o.dn, 'user'), samAccountName: o.samAccountName, userPrincipalName: o.userPrincipalName, timeoutMinutes: b.syncTimeout },
    b.syncText('created the user'));
  const directLicence = l.mode === 'direct';
  b.add('entra.usage-location', 'entra.ensureUsageLocation', {
    userPrincipalName: o.userPrincipalName, usageLocation: o.usageLocation, onlyIfMissing: false, ...(directLicence ? { confirmedBy: 'entra.assign-licence' } : {}),
  }, `Set the usage location to ${o.usageLocation} (${countryName(o.usageLocation)}) in Entra ID; licences need one`);
  if (!(l.mode === 'group' && l.adGroupDn)) {
    const input = licenceInput(o.userPrincipalName, l);
    const what = l.mode === 'direct' ? `Assign the ${l.skuName} licence` : `Add the user to the licensing group ${l.groupName}, which assigns the Exchange licence`;
    b.add('entra.assign-licence', 'entra.assignLicence', input, o.temporaryLicence ? `${what} for now: the licence creates the mailbox (removed again below)` : what);
  }
  b.add('exo.await-mailbox', 'exo.awaitMailbox', { identity: o.userPrincipalName, timeoutMinutes: TIMEOUTS.mailboxMinutes },
    'Wait for the mailbox (minutes; up to an hour observed)');
  b.note('The licence creates the mailbox, not the mail attribute: nothing exists in Exchange Online until it is assigned.');
}

function removeLicence(b: Builder, upn: string, userDn: string | undefined, why: string): void {
  const l = b.profile.licensing;
  if (l.mode === 'group' && l.adGroupDn) {
    if (userDn === undefined) {
      b.warn(`The licence comes from the AD group ${l.groupName}, but the user has no AD object: remove it by hand.`);
      return;
    }
    b.add('ad.remove-licence-group', 'ad.removeGroupMember', { groupDn: l.adGroupDn, memberDn: userDn },
      `Remove the user from the AD licensing group ${l.groupName}; the licence goes once sync has carried the change (${why})`);
    return;
  }
  const input = licenceInput(upn, l);
  b.add('entra.remove-licence', 'entra.removeLicence', input,
    l.mode === 'direct' ? `Remove the licence (${why})` : `Remove the user from the licensing group ${l.groupName} (${why})`);
}

function setCloudManaged(b: Builder, identity: string, enabled: boolean, subject: string): void {
  b.add('exo.cloud-managed', 'exo.setCloudManaged', { identity, enabled },
    enabled
      ? `Set IsExchangeCloudManaged=True on ${subject}: its Exchange attributes are managed in Exchange Online from now on`
      : `Set IsExchangeCloudManaged=False on ${subject}: AD's Exchange attributes overwrite Exchange Online's at the next sync`);
  if (enabled) b.warn(CLOUD_MANAGED_WARNING);
}

// ---------------------------------------------------------------------------------------------
// Creation kinds
// ---------------------------------------------------------------------------------------------

function planUserMailbox(b: Builder, r: UserMailboxRequest): string {
  const p = b.profile;
  const cn = cnOf(r.displayName);
  const dn = childDn(cn, p.ous.users);
  const identity: Record<string, string> = {
    givenName: r.firstName, sn: r.lastName, displayName: r.displayName,
    ...(r.department !== undefined ? { department: r.department } : {}), ...(r.jobTitle !== undefined ? { title: r.jobTitle } : {}),
  };
  // HB order step 1: create the user and set mail (otherwise EXO uses the UPN); cloud-default: identity only.
  const exchange: Record<string, string | string[]> = adMastered(p) ? { mail: r.primarySmtpAddress, mailNickname: r.alias, proxyAddresses: [`SMTP:${r.primarySmtpAddress}`] } : {};
  const attributes = { ...identity, ...exchange };
  newMailboxUser(b, {
    dn, parentDn: p.ous.users, cn, samAccountName: r.samAccountName, userPrincipalName: r.userPrincipalName, attributes, accountEnabled: true,
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

function planResourceMailbox(b: Builder, r: SharedMailboxRequest | RoomMailboxRequest | EquipmentMailboxRequest): string {
  const p = b.profile;
  const conf = {
    'shared-mailbox': { ou: p.ous.shared, type: 'Shared', word: 'shared mailbox', why: 'shared mailboxes under 50 GB need none' },
    'room-mailbox': { ou: p.ous.rooms, type: 'Room', word: 'room mailbox', why: 'room mailboxes need none unless meeting devices sign in with them' },
    'equipment-mailbox': { ou: p.ous.equipment, type: 'Equipment', word: 'equipment mailbox', why: 'equipment mailboxes need none' },
  }[r.kind];
  const keep = r.kind !== 'shared-mailbox' && keepsLicence(r.kind, p);
  const cn = cnOf(r.displayName);
  const dn = childDn(cn, conf.ou);
  const exchange: Record<string, string | string[]> = adMastered(p) ? { mail: r.primarySmtpAddress, mailNickname: r.alias, proxyAddresses: [`SMTP:${r.primarySmtpAddress}`] } : {};
  // HB shared-mailbox recipe: 1. AD user with mail, disabled; 2. wait for sync; 3. assign an EXO plan and wait for the
  // mailbox; 4. Set-Mailbox -Type Shared (or Room/Equipment); 5. remove the EXO plan.
  newMailboxUser(b, {
    dn, parentDn: conf.ou, cn, samAccountName: r.samAccountName, userPrincipalName: r.userPrincipalName,
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

function planMailUser(b: Builder, r: MailUserRequest): string {
  refusedUnlessAdMastered(b, r.kind);
  const p = b.profile;
  const cn = cnOf(r.displayName);
  const dn = childDn(cn, p.ous.mailUsers);
  // HB: a mail user needs all three of mail, mailNickname and targetAddress; sync carries alias and
  // targetAddress only when mailNickname is set.
  const exchange = { mail: r.externalAddress, mailNickname: r.alias, targetAddress: `SMTP:${r.externalAddress}` };
  const attributes: AttributeValues = {
    givenName: r.firstName, sn: r.lastName, displayName: r.displayName,
    ...(r.company !== undefined ? { company: r.company } : {}), ...(r.department !== undefined ? { department: r.department } : {}),
    ...exchange,
  };
  b.add('ad.create-user', 'ad.createUser', {
    dn, parentDn: p.ous.mailUsers, cn, samAccountName: r.samAccountName, userPrincipalName: r.userPrincipalName,
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

function planContact(b: Builder, r: MailContactRequest): string {
  refusedUnlessAdMastered(b, r.kind);
  const p = b.profile;
  const cn = cnOf(r.displayName);
  const dn = childDn(cn, p.ous.contacts);
  // HB: an AD contact reaches EXO (as MailContact) only when mail is set.
  const exchange = { mail: r.externalAddress, mailNickname: r.alias };
  const attributes: AttributeValues = {
    displayName: r.displayName,
    ...(r.firstName !== undefined ? { givenName: r.firstName } : {}), ...(r.lastName !== undefined ? { sn: r.lastName } : {}),
    ...(r.company !== undefined ? { company: r.company } : {}),
    ...exchange,
  };
  b.add('ad.create-contact', 'ad.createContact', { dn, parentDn: p.ous.contacts, cn, attributes },
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

function planGroup(b: Builder, r: DistributionGroupRequest): string {
  refusedUnlessAdMastered(b, r.kind);
  const p = b.profile;
  const cn = cnOf(r.displayName);
  const dn = childDn(cn, p.ous.groups);
  const exchange = { mail: r.primarySmtpAddress, mailNickname: r.alias, proxyAddresses: [`SMTP:${r.primarySmtpAddress}`] };
  const attributes: AttributeValues = { displayName: r.displayName, ...(r.description !== undefined ? { description: r.description } : {}), ...exchange };
  const kindWord = r.securityEnabled ? 'security' : 'distribution';
  b.add('ad.create-group', 'ad.createGroup', {
    dn, parentDn: p.ous.groups, cn, samAccountName: r.samAccountName, groupType: groupTypeOf(r.scope, r.securityEnabled), scope: r.scope,
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

// ---------------------------------------------------------------------------------------------
// Change kinds
// ---------------------------------------------------------------------------------------------

function exoIdentity(t: TargetRecipient): string {
  return t.exoId ?? t.primarySmtpAddress;
}

function objectTypeOf(t: TargetRecipient): SyncWait['objectType'] {
  return t.type === 'MailContact' ? 'contact' : isGroupType(t.type) ? 'group' : 'user';
}

function requireDn(t: TargetRecipient): string {
  if (t.adDn === undefined) throw new PlanRefusedError(`${t.name} is synced, but Mailroom did not find its AD object; ask again once it is found.`);
  return t.adDn;
}

function awaitAdChange(b: Builder, t: TargetRecipient, expect: StepInputs['exo.awaitRecipient']['expect']): void {
  b.add('exo.await-change', 'exo.awaitRecipient', { identity: exoIdentity(t), expect, sync: b.syncWait(requireDn(t), objectTypeOf(t)), timeoutMinutes: b.syncTimeout },
    b.syncText('carried the change to Exchange Online'));
}

function makeCloudManagedFirst(b: Builder, t: TargetRecipient): void {
  setCloudManaged(b, exoIdentity(t), true, t.name);
  b.note(`${t.name} was still managed from AD; this tenant manages Exchange attributes in Exchange Online, so Mailroom moves it there first. ${FLIP_ADVICE}`);
}

function planPrimary(b: Builder, r: PrimaryAddressRequest): string {
  const t = r.target;
  const a = primaryAuthority(t, b.profile);
  if (a.side === 'refused') throw new PlanRefusedError(a.reason);
  const old = t.primarySmtpAddress;
  if (a.side === 'ad') {
    const dn = requireDn(t);
    // mail and proxyAddresses name the same primary (Entra's proxy calculation takes an SMTP: entry of proxyAddresses
    // before mail: see primaryAuthority).
    const setPrimary = (): void =>
      b.add('ad.set-primary', 'ad.setPrimaryAddress', { dn, mail: r.newAddress, previous: old, rewriteProxyAddresses: a.rewriteProxyAddresses },
        a.rewriteProxyAddresses
          ? `Set mail to ${r.newAddress} on ${dn} and make SMTP:${r.newAddress} the primary in proxyAddresses (the old address stays as smtp:${old})`
          : `Set mail to ${r.newAddress} on ${dn}: AD mail decides the primary address, even for cloud-managed mailboxes`);
    if (t.type === 'MailUser') {
      // A mail user's address is its outside address: mail (with proxyAddresses) and targetAddress.
      setPrimary();
      b.add('ad.set-target', 'ad.setAttributes', { dn, replace: { targetAddress: `SMTP:${r.newAddress}` } }, `Set targetAddress to SMTP:${r.newAddress} on ${dn}`);
      awaitAdChange(b, t, { externalEmailAddress: r.newAddress });
    } else if (t.type === 'MailContact') {
      setPrimary();
      awaitAdChange(b, t, { primarySmtpAddress: r.newAddress });
    } else {
      setPrimary();
      awaitAdChange(b, t, { primarySmtpAddress: r.newAddress, emailAddressesInclude: [`smtp:${old}`] });
      if (t.isExchangeCloudManaged === true) {
        b.warn(`${t.name} is cloud-managed: AD mail still overrides its primary address, so Mailroom changes it in AD (proxyAddresses too, so that both name the same primary); AD's proxyAddresses no longer reach Exchange Online and may now differ from it.`);
      }
    }
    b.note(`The old address ${old} stays as a secondary address, so mail to it still arrives.`);
    return `Make ${r.newAddress} the primary address of ${t.name}`;
  }
  if (a.makeCloudManagedFirst) makeCloudManagedFirst(b, t);
  b.add('exo.set-primary', 'exo.setPrimaryAddress', { identity: exoIdentity(t), recipientType: t.type, address: r.newAddress },
    `Make ${r.newAddress} the primary address of ${t.name} in Exchange Online (the old one stays as a secondary address)`);
  if (a.alignAdMail && t.adDn !== undefined) {
    // HB: AD mail keeps overriding the primary address even when cloud-managed: if AD has one, align it.
    b.add('ad.align-mail', 'ad.setAttributes', { dn: t.adDn, replaceIfPresent: { mail: r.newAddress } },
      `If ${t.adDn} has a mail value in AD, set it to ${r.newAddress} too (AD mail would otherwise override the primary address at the next sync)`);
  }
  return `Make ${r.newAddress} the primary address of ${t.name}`;
}

function planSecondary(b: Builder, r: SecondaryAddressAddRequest | SecondaryAddressRemoveRequest): string {
  const t = r.target;
  const a = exchangeAuthority(t, b.profile);
  if (a.side === 'refused') throw new PlanRefusedError(a.reason);
  const adding = r.kind === 'secondary-address-add';
  const proxy = `smtp:${r.address}`;
  if (a.side === 'ad') {
    const dn = requireDn(t);
    // HB: secondary addresses can be added in AD proxyAddresses (synced) while AD masters the Exchange attributes.
    b.add(adding ? 'ad.add-address' : 'ad.remove-address', 'ad.setAttributes', adding ? { dn, add: { proxyAddresses: [proxy] } } : { dn, remove: { proxyAddresses: [proxy] } },
      `${adding ? 'Add' : 'Remove'} ${proxy} ${adding ? 'to' : 'from'} proxyAddresses of ${dn}`);
    awaitAdChange(b, t, adding ? { emailAddressesInclude: [proxy] } : { emailAddressesExclude: [proxy] });
  } else {
    if (a.makeCloudManagedFirst) makeCloudManagedFirst(b, t);
    // HB: … or in EXO once the mailbox is cloud-managed (-EmailAddresses @{Add=…}).
    b.add(adding ? 'exo.add-address' : 'exo.remove-address', 'exo.setEmailAddresses', { identity: exoIdentity(t), recipientType: t.type, add: adding ? [proxy] : [], remove: adding ? [] : [proxy] },
      `${adding ? 'Add the secondary address' : 'Remove the address'} ${r.address} ${adding ? 'to' : 'from'} ${t.name} in Exchange Online`);
    if (t.isDirSynced && !a.makeCloudManagedFirst) b.note(`${t.name} is cloud-managed: its addresses are changed in Exchange Online; AD's proxyAddresses are left as they are.`);
  }
  return `${adding ? 'Add' : 'Remove'} the address ${r.address} ${adding ? 'to' : 'from'} ${t.name}`;
}

function planCloudManaged(b: Builder, r: CloudManagedRequest): string {
  const t = r.target;
  if (!isMailboxType(t.type) || !t.isDirSynced) throw new PlanRefusedError(`${t.name} is not a synced mailbox; IsExchangeCloudManaged does not apply.`);
  if (!r.enabled && b.profile.exchangeAttributeMode === 'cloud-default') {
    throw new PlanRefusedError('This tenant has the organisation default ExchangeAttributesCloudManagedByDefault on: Mailroom does not hand Exchange attributes back to AD.');
  }
  // HB: it is set only in EXO (Set-Mailbox -IsExchangeCloudManaged); it can be set back to False.
  setCloudManaged(b, exoIdentity(t), r.enabled, t.name);
  if (!r.enabled) {
    b.warn('At the next sync, AD\'s Exchange attributes (proxyAddresses, alias, hiding from address lists …) overwrite what was changed in Exchange Online since: make sure AD holds every address to keep.');
  }
  b.note(FLIP_ADVICE);
  return `${r.enabled ? 'Manage' : 'Stop managing'} the Exchange attributes of ${t.name} in Exchange Online`;
}

function planMailboxType(b: Builder, r: MailboxTypeRequest): string {
  const p = b.profile;
  const t = r.target;
  const id = exoIdentity(t);
  const upn = t.userPrincipalName;
  const needsLicence = r.type === 'Regular' || ((r.type === 'Room' || r.type === 'Equipment') && p.roomsKeepLicence);
  const licensed = t.type === 'UserMailbox' || ((t.type === 'RoomMailbox' || t.type === 'EquipmentMailbox') && p.roomsKeepLicence);
  if (r.adjustLicence && needsLicence && !licensed && upn !== undefined) {
    // Licence first, so that a Regular mailbox is never without one.
    const l = p.licensing;
    b.add('entra.usage-location', 'entra.ensureUsageLocation', { userPrincipalName: upn, usageLocation: p.defaultUsageLocation, onlyIfMissing: true },
      `Set the usage location to ${p.defaultUsageLocation} (${countryName(p.defaultUsageLocation)}) if the user has none (licences need one)`);
    if (l.mode === 'group' && l.adGroupDn) {
      b.add('ad.licence-group', 'ad.addGroupMember', { groupDn: l.adGroupDn, memberDn: requireDn(t) }, `Add the user to the AD licensing group ${l.groupName}; the licence follows after the next sync`);
    } else {
      b.add('entra.assign-licence', 'entra.assignLicence', licenceInput(upn, l), l.mode === 'direct' ? `Assign the ${l.skuName} licence` : `Add the user to the licensing group ${l.groupName}`);
    }
  }
  b.add('exo.set-type', 'exo.setMailboxType', { identity: id, type: r.type }, `Convert the mailbox of ${t.name} to ${r.type}`);
  if (r.adjustLicence && !needsLicence && licensed && upn !== undefined) {
    const why = r.type === 'Shared' ? 'shared mailboxes under 50 GB need none' : `${r.type.toLowerCase()} mailboxes need none`;
    removeLicence(b, upn, t.adDn, why);
  }
  if (!r.adjustLicence) b.note('The licence is left as it is.');
  if (r.type === 'Regular' && t.isDirSynced) b.note('The AD account is left as it is: a person who will sign in needs it enabled with a password.');
  if (r.type === 'Shared' && t.isDirSynced) b.note('The AD account is left as it is; shared mailboxes normally have a disabled account (offboarding does both).');
  if (r.type === 'Shared') b.note('Shared mailboxes over 50 GB, or with an archive, still need a licence.');
  return `Convert the mailbox of ${t.name} from ${describeType(t.type)} to ${recipientTypeOfMailboxType(r.type).replace(/Mailbox$/, '').toLowerCase()} mailbox`;
}

/**
 * Hide a mailbox from (or show it in) address lists where its source of authority says: AD's
 * msExchHideFromAddressLists (then wait for sync) while AD masters the mailbox and has Exchange's schema; else
 * Set-Mailbox -HiddenFromAddressListsEnabled (making it cloud-managed first where AD masters it without the schema,
 * or the tenant manages Exchange attributes in the cloud).
 */
function addressListSteps(b: Builder, t: TargetRecipient, hidden: boolean, recipientType: string): void {
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

function planAddressLists(b: Builder, r: AddressListVisibilityRequest): string {
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

function planForwarding(b: Builder, r: ForwardingSetRequest | ForwardingOffRequest): string {
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
  const copy = r.keepCopy ? 'keeping a copy in the mailbox' : 'without keeping a copy';
  if (r.recipient) {
    const to = r.recipient;
    b.add('exo.forwarding', 'exo.setForwarding', {
      identity, mailboxName: t.name, forwardingAddress: refIdentity(to), forwardingAddressKeys: delegateKeys(to).keys, forwardingSmtpAddress: null, deliverToMailboxAndForward: r.keepCopy,
    }, `Forward the mail of ${t.name} to ${refText(to)}, ${copy}, in Exchange Online (Set-Mailbox -ForwardingAddress -DeliverToMailboxAndForward $${String(r.keepCopy)}; -ForwardingSmtpAddress cleared)`);
  } else {
    const to = r.smtpAddress ?? '';
    b.add('exo.forwarding', 'exo.setForwarding', { identity, mailboxName: t.name, forwardingAddress: null, forwardingSmtpAddress: to, deliverToMailboxAndForward: r.keepCopy },
      `Forward the mail of ${t.name} to the outside address ${to}, ${copy}, in Exchange Online (Set-Mailbox -ForwardingSmtpAddress smtp:${to} -DeliverToMailboxAndForward $${String(r.keepCopy)}; -ForwardingAddress cleared)`);
    b.warn('Exchange Online\'s outbound spam filter policy blocks automatic forwarding to outside addresses by default (AutoForwardingMode Automatic means Off): unless an administrator allows it for this mailbox, the forwarded mail is not delivered and the sender gets a non-delivery report.');
  }
  b.note(FORWARDING_NOTE);
  b.note(r.keepCopy
    ? 'A copy of each message stays in the mailbox (DeliverToMailboxAndForward $true).'
    : 'Messages are only forwarded: none stays in the mailbox (DeliverToMailboxAndForward $false).');
  b.note('Forwarding set here replaces any forwarding the mailbox had; a roll back restores what was there before.');
  return `Forward the mail of ${t.name} to ${r.recipient ? r.recipient.name : (r.smtpAddress ?? '')}`;
}

function planOffboarding(b: Builder, r: OffboardingRequest): string {
  const p = b.profile;
  const t = r.target;
  const id = exoIdentity(t);
  if (r.disableAccount) {
    const dn = requireDn(t);
    b.add('ad.disable-account', 'ad.disableAccount', { dn }, `Disable the AD account ${dn}`);
  }
  if (r.convertToShared) {
    b.add('exo.set-type', 'exo.setMailboxType', { identity: id, type: 'Shared' }, `Convert the mailbox of ${t.name} to Shared (its content stays reachable)`);
  }
  if (r.removeLicence) {
    const upn = t.userPrincipalName;
    if (upn === undefined) throw new PlanRefusedError(`Mailroom does not know the UPN of ${t.name}; it cannot remove the licence.`);
    removeLicence(b, upn, t.adDn, r.convertToShared ? 'shared mailboxes under 50 GB need none' : 'as requested');
    if (!r.convertToShared) b.warn('The mailbox stays a user mailbox without a licence: Exchange Online deletes it after a 30-day grace period.');
    b.note(`Only ${licenceName(p.licensing)} is removed; other licences of the user are not touched.`);
  }
  if (r.hideFromAddressLists) addressListSteps(b, t, true, r.convertToShared ? 'SharedMailbox' : t.type);
  if (r.disableAccount) {
    b.add('sync.await-disabled', 'sync.awaitUser', { ...b.syncWait(requireDn(t), 'user'), ...(t.userPrincipalName ? { userPrincipalName: t.userPrincipalName } : {}), expectAccountEnabled: false, timeoutMinutes: b.syncTimeout },
      b.syncText('carried the disabled account to Entra ID'));
    b.note('Sign-in is blocked once sync has carried the disabled account to Entra ID; sessions already open end when their tokens expire (revoking sessions is not part of this request).');
  }
  return `Offboard ${t.name} (${t.primarySmtpAddress})`;
}

// ---------------------------------------------------------------------------------------------
// Mailbox permissions and group members
// ---------------------------------------------------------------------------------------------

function refIdentity(r: RecipientRef): string {
  return r.exoId ?? r.primarySmtpAddress;
}

function refText(r: RecipientRef): string {
  return `${r.name} (${r.primarySmtpAddress})`;
}

function namesText(refs: readonly RecipientRef[]): string {
  return `${refs.slice(0, 5).map((r) => r.name).join(', ')}${refs.length > 5 ? ` and ${refs.length - 5} more` : ''}`;
}

/** How a recipient may show in Exchange's permission output (User, Trustee, GrantSendOnBehalfTo). */
function delegateKeys(r: RecipientRef): DelegateKeys {
  const keys = [r.name, r.primarySmtpAddress, r.userPrincipalName, r.exoId, r.adDn, r.identity].filter((k): k is string => k !== undefined && k !== '');
  return { name: r.name, keys: [...new Set(keys)] };
}

const EXO_PERMISSION_NOTE =
  'Full access and send as are Exchange Online data: Mailroom writes them there for synced and cloud-only mailboxes alike (AD holds no copy that sync would carry).';

function planPermission(b: Builder, r: MailboxPermissionGrantRequest | MailboxPermissionRevokeRequest): string {
  const p = b.profile;
  const t = r.target;
  const granting = r.kind === 'mailbox-permission-grant';
  const words = permissionWords(r.permission);
  const title = granting ? `Grant ${words} on ${t.name} to ${namesText(r.users)}` : `Revoke ${words} on ${t.name} from ${namesText(r.users)}`;
  const exoSteps = (): void => {
    for (const u of r.users) {
      const autoMapping = granting && r.permission === 'FullAccess' ? (r.autoMapping ?? true) : undefined;
      const input: StepInputs['exo.grantMailboxPermission'] = {
        identity: exoIdentity(t), mailboxName: t.name, permission: r.permission, user: refIdentity(u), userName: u.name, userKeys: delegateKeys(u).keys,
        ...(autoMapping !== undefined ? { autoMapping } : {}),
      };
      const how = r.permission === 'FullAccess'
        ? (granting ? `Add-MailboxPermission -AccessRights FullAccess -AutoMapping $${String(autoMapping ?? true)}` : 'Remove-MailboxPermission -AccessRights FullAccess')
        : r.permission === 'SendAs'
          ? `${granting ? 'Add' : 'Remove'}-RecipientPermission -AccessRights SendAs`
          : `Set-Mailbox -GrantSendOnBehalfTo @{${granting ? 'Add' : 'Remove'}=…}`;
      b.add(granting ? 'exo.grant' : 'exo.revoke', granting ? 'exo.grantMailboxPermission' : 'exo.revokeMailboxPermission', input,
        `${granting ? 'Give' : 'Take'} ${refText(u)} ${words} ${granting ? 'on' : 'away on'} ${t.name} in Exchange Online (${how})`);
    }
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

function planMembers(b: Builder, r: GroupMembersAddRequest | GroupMembersRemoveRequest): string {
  const t = r.target;
  const adding = r.kind === 'group-member-add';
  if (!isGroupType(t.type)) throw new PlanRefusedError(`${t.name} is a ${describeType(t.type)}, not a distribution or mail-enabled security group.`);
  const title = adding ? `Add ${namesText(r.members)} to ${t.name}` : `Remove ${namesText(r.members)} from ${t.name}`;
  if (t.isDirSynced) {
    const groupDn = requireDn(t);
    for (const m of r.members) {
      if (m.adDn === undefined) throw new PlanRefusedError(`${m.name} is not in AD; ${t.name} is synced from AD and can only have AD members.`);
      b.add(adding ? 'ad.add-member' : 'ad.remove-member', adding ? 'ad.addGroupMember' : 'ad.removeGroupMember', { groupDn, memberDn: m.adDn },
        `${adding ? 'Add' : 'Remove'} ${refText(m)} ${adding ? 'to' : 'from'} the AD group ${groupDn} (member)`);
    }
    b.note(`${t.name} is synced from AD: a synced group, membership included, is managed in AD, so Mailroom changes its member attribute there; Exchange Online refuses membership changes to it. Exchange Online shows the change after the next sync${b.profile.sync === 'cloud' ? ' (Entra Cloud Sync: minutes)' : ' (Entra Connect Sync: up to 30 minutes)'}.`);
  } else {
    for (const m of r.members) {
      b.add(adding ? 'exo.add-member' : 'exo.remove-member', adding ? 'exo.addGroupMember' : 'exo.removeGroupMember', { identity: exoIdentity(t), groupName: t.name, member: refIdentity(m), memberName: m.name, memberKeys: delegateKeys(m).keys },
        `${adding ? 'Add' : 'Remove'} ${refText(m)} ${adding ? 'to' : 'from'} ${t.name} in Exchange Online (${adding ? 'Add' : 'Remove'}-DistributionGroupMember)`);
    }
    b.note(`${t.name} is cloud-only: its members are changed in Exchange Online.`);
  }
  b.note(adding ? 'A recipient that is already a member stays as it is.' : 'A recipient that is not a member stays as it is; membership through another group is not touched.');
  return title;
}

// ---------------------------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------------------------

/**
 * The ordered steps for a validated request in this tenant. Throws PlanRefusedError when the tenant's mode
 * refuses the request (validation refuses the same, so this only happens when the profile changed since).
 */
export function plan(request: RecipientRequest, profile: TenantProfile): Plan {
  const b = new Builder(profile);
  const refusal = kindRefusal(request.kind, profile);
  if (refusal) throw new PlanRefusedError(refusal);
  let title: string;
  switch (request.kind) {
    case 'user-mailbox':
      title = planUserMailbox(b, request);
      break;
    case 'shared-mailbox':
    case 'room-mailbox':
    case 'equipment-mailbox':
      title = planResourceMailbox(b, request);
      break;
    case 'mail-user':
      title = planMailUser(b, request);
      break;
    case 'mail-contact':
      title = planContact(b, request);
      break;
    case 'distribution-group':
      title = planGroup(b, request);
      break;
    case 'primary-address':
      title = planPrimary(b, request);
      break;
    case 'secondary-address-add':
    case 'secondary-address-remove':
      title = planSecondary(b, request);
      break;
    case 'cloud-managed':
      title = planCloudManaged(b, request);
      break;
    case 'mailbox-type':
      title = planMailboxType(b, request);
      break;
    case 'offboarding':
      title = planOffboarding(b, request);
      break;
    case 'mailbox-permission-grant':
    case 'mailbox-permission-revoke':
      title = planPermission(b, request);
      break;
    case 'group-member-add':
    case 'group-member-remove':
      title = planMembers(b, request);
      break;
    case 'address-list-visibility':
      title = planAddressLists(b, request);
      break;
    case 'forwarding-set':
    case 'forwarding-off':
      title = planForwarding(b, request);
      break;
  }
  return {
    kind: request.kind,
    title,
    mode: { exchangeAttributeMode: profile.exchangeAttributeMode, sync: profile.sync, licensing: profile.licensing.mode },
    steps: b.steps,
    notes: b.notes,
    warnings: b.warnings,
    ...('target' in request ? { basedOn: request.target } : {}),
  };
}

/** The kind's title, for cards that show a plan. */
export function kindTitle(kind: RecipientRequest['kind']): string {
  return KINDS[kind].title;
}
