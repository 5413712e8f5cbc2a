/**
 * What every kind's planning shares: the Builder that collects steps, notes and warnings, the refusal error, the
 * timeouts, and the step helpers more than one kind family uses (new mailbox user, licences, cloud-managed, the
 * target's identity and AD object, sync waits, delegates).
 */
import { cutName } from '../requests/dn';
import { countryName } from '../requests/countries';
import { isGroupType, type RecipientRef, type TargetRecipient } from '../requests/kinds';
import { LIMITS } from '../requests/syntax';
import type { Licensing, TenantProfile } from '../requests/tenant-profile';
import { systemOf, type AttributeValues, type DelegateKeys, type LicenceInput, type Step, type StepAction, type StepInputs, type SyncWait } from './steps';

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
export const FLIP_ADVICE = 'Microsoft advises switching only after one sync cycle (and ideally 24 hours) has passed since the last on-premises change.';

export class Builder {
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

/** The cn of a new object: its display name, cut to AD's 64 characters (whole characters only). */
export function cnOf(displayName: string): string {
  return cutName(displayName, LIMITS.cn);
}

export function describeAttributes(a: AttributeValues, keys: readonly string[]): string {
  return keys
    .filter((k) => a[k] !== undefined)
    .map((k) => {
      const v = a[k];
      return `${k} ${Array.isArray(v) ? v.join(', ') : String(v)}`;
    })
    .join(', ');
}

export const adMastered = (p: TenantProfile): boolean => p.exchangeAttributeMode === 'ad-mastered';

export function licenceInput(upn: string, l: Licensing): LicenceInput {
  return l.mode === 'direct'
    ? { userPrincipalName: upn, via: 'direct', skuId: l.skuId, skuName: l.skuName }
    : { userPrincipalName: upn, via: 'group', groupId: l.groupId, groupName: l.groupName };
}

export function licenceName(l: Licensing): string {
  return l.mode === 'direct' ? `the ${l.skuName} licence` : `the licence of the group ${l.groupName}`;
}

/** A new synced user up to its mailbox (HB provisioning order 1–3). */
export function newMailboxUser(
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
  // An enabled account is awaited as enabled: a sync cycle may read the user between its LDAP add (disabled) and the
  // enable, and the mailbox would then show the account disabled until the next cycle.
  b.add('sync.await-user', 'sync.awaitUser', { ...b.syncWait(o.dn, 'user'), samAccountName: o.samAccountName, userPrincipalName: o.userPrincipalName, ...(o.accountEnabled ? { expectAccountEnabled: true } : {}), timeoutMinutes: b.syncTimeout },
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

export function removeLicence(b: Builder, upn: string, userDn: string | undefined, why: string): void {
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

export function setCloudManaged(b: Builder, identity: string, enabled: boolean, subject: string): void {
  b.add('exo.cloud-managed', 'exo.setCloudManaged', { identity, enabled },
    enabled
      ? `Set IsExchangeCloudManaged=True on ${subject}: its Exchange attributes are managed in Exchange Online from now on`
      : `Set IsExchangeCloudManaged=False on ${subject}: AD's Exchange attributes overwrite Exchange Online's at the next sync`);
  if (enabled) b.warn(CLOUD_MANAGED_WARNING);
}

export function exoIdentity(t: TargetRecipient): string {
  return t.exoId ?? t.primarySmtpAddress;
}

function objectTypeOf(t: TargetRecipient): SyncWait['objectType'] {
  return t.type === 'MailContact' ? 'contact' : isGroupType(t.type) ? 'group' : 'user';
}

export function requireDn(t: TargetRecipient): string {
  if (t.adDn === undefined) throw new PlanRefusedError(`${t.name} is synced, but Mailroom did not find its AD object; ask again once it is found.`);
  return t.adDn;
}

export function awaitAdChange(b: Builder, t: TargetRecipient, expect: StepInputs['exo.awaitRecipient']['expect']): void {
  b.add('exo.await-change', 'exo.awaitRecipient', { identity: exoIdentity(t), expect, sync: b.syncWait(requireDn(t), objectTypeOf(t)), timeoutMinutes: b.syncTimeout },
    b.syncText('carried the change to Exchange Online'));
}

export function makeCloudManagedFirst(b: Builder, t: TargetRecipient): void {
  setCloudManaged(b, exoIdentity(t), true, t.name);
  b.note(`${t.name} was still managed from AD; this tenant manages Exchange attributes in Exchange Online, so Mailroom moves it there first. ${FLIP_ADVICE}`);
}

export function refIdentity(r: RecipientRef): string {
  return r.exoId ?? r.primarySmtpAddress;
}

export function refText(r: RecipientRef): string {
  return `${r.name} (${r.primarySmtpAddress})`;
}

/** How a recipient may show in Exchange's permission output (User, Trustee, GrantSendOnBehalfTo). */
export function delegateKeys(r: RecipientRef): DelegateKeys {
  const keys = [r.name, r.primarySmtpAddress, r.userPrincipalName, r.exoId, r.adDn, r.identity].filter((k): k is string => k !== undefined && k !== '');
  return { name: r.name, keys: [...new Set(keys)] };
}

export const EXO_PERMISSION_NOTE =
  'Full access and send as are Exchange Online data: Mailroom writes them there for synced and cloud-only mailboxes alike (AD holds no copy that sync would carry).';
