/**
 * Entra ID changes made through Graph: user properties, manager, sign-in sessions, group membership and the source of
 * authority of synced groups.
 */
import { GraphError, graphNotFound, graphSyncedObjectReadOnly } from '../errors';
import { immutableIdFromObjectGuid, isGuid } from '../ids';
import type { AnyEntraObject, EntraGroup } from '../tenant-model';
import { blankToNull } from './ad-values';
import type { TenantCore } from './core';
import { tick } from './mailboxes';
import { reconcileLicences } from './licensing';

/**
 * Moves the source of authority of a synced group to the cloud (`isCloudManaged` true) or hands it back to AD
 * (Graph `PATCH /groups/{id}/onPremisesSyncBehavior`; "Configure Group Source of Authority (SOA)",
 * https://learn.microsoft.com/entra/identity/hybrid/how-to-group-source-of-authority-configure). Converted:
 * isCloudManaged true and onPremisesSyncEnabled null ("Status of attributes after you convert SOA"), sync skips the
 * group, it keeps its members, which are then managed in the cloud, and a mail-enabled one is no longer dir-synced in
 * Exchange Online ("You can continue to edit these groups directly in EXO or via Exchange PowerShell modules. These
 * mail objects cannot be managed directly in Microsoft Entra ID or using the MS Graph APIs"). Handed back:
 * isCloudManaged false, onPremisesSyncEnabled stays null "until the sync client takes over the object" (its next upsert).
 * Returns the previous value.
 */
export function setGroupSyncBehavior(core: TenantCore, groupId: string, isCloudManaged: boolean): boolean {
  tick(core);
  const g = core.groupOrNotFound(groupId);
  const before = g.isCloudManaged === true;
  if (g.onPremisesImmutableId === null) {
    // A cloud-native group: "isCloudManaged is set to false" (same table); the sandbox's own wording for a conversion.
    if (isCloudManaged) throw new GraphError(400, 'Request_BadRequest', `The group '${g.id}' is not synchronized from on-premises Active Directory: its source of authority is already the cloud.`);
    return before;
  }
  if (isCloudManaged && !before) {
    g.memberIds = core.memberIdsOf(g);
    g.onPremisesSyncEnabled = null;
    const rec = core.recipientOf(g.id);
    if (rec) {
      rec.isDirSynced = false;
      rec.whenChanged = core.iso();
    }
  }
  g.isCloudManaged = isCloudManaged;
  return before;
}

/**
 * A user's manager (Graph `GET /users/{id}/manager`): for a synced user the object AD's `manager` names, once it is
 * synced (a reference Entra Connect syncs from AD); for a cloud user the one set with {@link setManager}. Null when
 * there is none or it no longer exists.
 */
export function managerOf(core: TenantCore, userKey: string): AnyEntraObject | null {
  tick(core);
  const u = core.findUser(userKey);
  if (!u) throw graphNotFound(userKey);
  if (u.onPremisesSyncEnabled) {
    const ref = blankToNull(u.ad?.manager);
    if (!ref) return null;
    const found = core.byImmutableId(isGuid(ref.replace(/[{}]/g, '')) ? immutableIdFromObjectGuid(ref) : ref);
    return found ? (core.directoryObject(found.obj.id) ?? null) : null;
  }
  return u.managerId ? (core.directoryObject(u.managerId) ?? null) : null;
}

/**
 * The owner of a synced group, as AD's `managedBy` names it (a reference Entra Connect syncs), once that object is
 * synced; empty when AD names none or it is not (yet) in the tenant.
 */
export function syncedGroupOwners(core: TenantCore, groupId: string): AnyEntraObject[] {
  const g = core.groupOrNotFound(groupId);
  const ref = blankToNull(g.ad?.managedBy);
  if (!g.onPremisesSyncEnabled || !ref) return [];
  const found = core.byImmutableId(isGuid(ref.replace(/[{}]/g, '')) ? immutableIdFromObjectGuid(ref) : ref);
  const owner = found ? core.directoryObject(found.obj.id) : undefined;
  return owner ? [owner] : [];
}

/**
 * Graph `PUT /users/{id}/manager/$ref` (a user or organizational contact). A synced user's manager is mastered in AD
 * (Entra Connect syncs `manager`): refused as Graph refuses AD-mastered properties.
 */
export function setManager(core: TenantCore, userKey: string, managerId: string): void {
  tick(core);
  const u = core.findUser(userKey);
  if (!u) throw graphNotFound(userKey);
  const m = core.directoryObject(managerId);
  if (!m) throw graphNotFound(managerId);
  if (m.kind === 'group') throw new GraphError(400, 'Request_BadRequest', 'A group cannot be the manager of a user: the manager must be a user or an organizational contact.');
  if (m.obj.id === u.id) throw new GraphError(400, 'Request_BadRequest', 'A user cannot be their own manager.');
  if (u.onPremisesSyncEnabled) throw graphSyncedObjectReadOnly();
  u.managerId = m.obj.id;
}

/** Graph `DELETE /users/{id}/manager/$ref`. 404 when the user has no manager; refused for synced users (AD masters it). */
export function removeManager(core: TenantCore, userKey: string): void {
  tick(core);
  const u = core.findUser(userKey);
  if (!u) throw graphNotFound(userKey);
  if (u.onPremisesSyncEnabled) throw graphSyncedObjectReadOnly();
  if (!u.managerId) throw graphNotFound('manager');
  u.managerId = null;
}

/**
 * Graph `POST /users/{id}/revokeSignInSessions`: resets signInSessionsValidFromDateTime to now (synced users too: it
 * is no AD attribute). Returns the new value.
 */
export function revokeSignInSessions(core: TenantCore, userKey: string): string {
  tick(core);
  const u = core.findUser(userKey);
  if (!u) throw graphNotFound(userKey);
  u.signInSessionsValidFromDateTime = core.iso();
  return u.signInSessionsValidFromDateTime;
}

/**
 * Graph `PATCH /users/{id}`. Synced users accept only cloud-mastered properties (usageLocation);
 * other properties fail as Graph fails them.
 */
export function updateUser(core: TenantCore, key: string, patch: Record<string, unknown>): void {
  tick(core);
  const u = core.findUser(key);
  if (!u) throw graphNotFound(key);
  const writable = ['usageLocation', 'displayName', 'givenName', 'surname', 'department', 'jobTitle', 'companyName', 'mobilePhone', 'officeLocation', 'accountEnabled', 'mailNickname', 'employeeId', 'businessPhones'];
  const cloudMastered = ['usageLocation'];
  for (const [k, v] of Object.entries(patch)) {
    if (!writable.includes(k)) {
      if (k === 'userPrincipalName' || k === 'mail' || k === 'onPremisesImmutableId') {
        if (u.onPremisesSyncEnabled) throw graphSyncedObjectReadOnly();
      }
      throw new GraphError(400, 'Request_BadRequest', `Property '${k}' is read-only and cannot be set.`);
    }
    if (u.onPremisesSyncEnabled && !cloudMastered.includes(k)) throw graphSyncedObjectReadOnly();
    if (k === 'usageLocation') {
      if (v !== null && (typeof v !== 'string' || !/^[A-Za-z]{2}$/.test(v))) {
        throw new GraphError(400, 'Request_BadRequest', "Invalid value specified for property 'usageLocation' of resource 'User'.");
      }
    }
  }
  for (const [k, v] of Object.entries(patch)) {
    switch (k) {
      case 'usageLocation':
        u.usageLocation = typeof v === 'string' ? v.toUpperCase() : null;
        break;
      case 'accountEnabled':
        u.accountEnabled = v === true;
        break;
      case 'businessPhones':
        u.businessPhones = Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
        break;
      case 'displayName':
      case 'mailNickname':
        if (typeof v === 'string') u[k] = v;
        break;
      default:
        (u as unknown as Record<string, unknown>)[k] = typeof v === 'string' ? v : null;
    }
  }
  const rec = core.recipientOf(u.id);
  if (rec) rec.displayName = u.displayName;
}

/** Graph `POST /groups/{id}/members/$ref`. Synced groups refuse (membership is mastered in AD). */
export function addGroupMember(core: TenantCore, groupId: string, memberId: string, via: 'graph' | 'exchange' = 'graph'): void {
  tick(core);
  const g = core.groupOrNotFound(groupId);
  if (g.onPremisesSyncEnabled) throw graphSyncedObjectReadOnly();
  if (via === 'graph') assertNotExchangeGroup(g);
  const m = core.directoryObject(memberId);
  if (!m) throw graphNotFound(memberId);
  if (g.memberIds.includes(m.obj.id)) {
    throw new GraphError(400, 'Request_BadRequest', "One or more added object references already exist for the following modified properties: 'members'.");
  }
  g.memberIds.push(m.obj.id);
  reconcileLicences(core);
  tick(core);
}

/** Graph `DELETE /groups/{id}/members/{memberId}/$ref`. */
export function removeGroupMember(core: TenantCore, groupId: string, memberId: string, via: 'graph' | 'exchange' = 'graph'): void {
  tick(core);
  const g = core.groupOrNotFound(groupId);
  if (g.onPremisesSyncEnabled) throw graphSyncedObjectReadOnly();
  if (via === 'graph') assertNotExchangeGroup(g);
  if (!g.memberIds.some((m) => m.toLowerCase() === memberId.toLowerCase())) throw graphNotFound(memberId);
  g.memberIds = g.memberIds.filter((m) => m.toLowerCase() !== memberId.toLowerCase());
  reconcileLicences(core);
}

/**
 * Graph does not change the membership of a distribution group or mail-enabled security group (Exchange masters
 * them): 400 "Cannot Update a mail-enabled security groups and or distribution list.", the answer Graph clients
 * quote and route to Add-DistributionGroupMember on.
 */
function assertNotExchangeGroup(g: EntraGroup): void {
  if (g.mailEnabled && !g.groupTypes.includes('Unified')) {
    throw new GraphError(400, 'Request_BadRequest', 'Cannot Update a mail-enabled security groups and or distribution list.');
  }
}
