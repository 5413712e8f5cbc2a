/**
 * What the sync engine reads back (synced objects, their immutable ids, an upsert's outcome) and the removal of a
 * synced object that left sync scope.
 */
import type { RecipientTypeDetails } from '../rules';
import type { SyncOutcome } from '../tenant-model';
import type { TenantCore } from './core';
import { tick } from './mailboxes';
import { reconcileLicences } from './licensing';

/** What the cloud knows about a synced object (see {@link syncedObject}). */
export interface SyncedObjectInfo {
  kind: 'user' | 'group' | 'contact';
  entraId: string;
  recipientTypeDetails: RecipientTypeDetails | null;
  isExchangeCloudManaged: boolean;
}

/** What an upsert did; `exo` is read after all its effects. */
export function syncOutcome(core: TenantCore, immutableId: string, entraId: string, created: boolean, notes: string[]): SyncOutcome {
  return { immutableId, entraId, created, exo: core.recipientOf(entraId)?.recipientTypeDetails ?? null, notes };
}

/**
 * Removes a synced object (user, contact or group) that left sync scope or was deleted in AD. Its EXO
 * recipient goes too (a mailbox is gone from Get-Mailbox; the simulator keeps no soft-deleted copy),
 * licences are released and memberships dropped. Returns false if no synced object has this id.
 */
export function removeSynced(core: TenantCore, immutableId: string): boolean {
  tick(core);
  const found = core.byImmutableId(immutableId);
  if (!found) return false;
  // A group whose source of authority moved to the cloud stays when its AD object goes ("You can delete AD DS groups
  // that you no longer need on-premises").
  if (found.kind === 'group' && found.obj.isCloudManaged === true) return false;
  core.deleteEntraObject(found);
  reconcileLicences(core);
  return true;
}

/** The immutable ids of all synced objects (to detect AD deletions). */
export function syncedImmutableIds(core: TenantCore): string[] {
  return [
    ...core.s.users.map((u) => u.onPremisesImmutableId),
    ...core.s.groups.filter((g) => g.isCloudManaged !== true).map((g) => g.onPremisesImmutableId),
    ...core.s.contacts.map((c) => c.onPremisesImmutableId),
  ].filter((x): x is string => x !== null);
}

/**
 * What the cloud knows about a synced object, for the sync engine to read back (e.g. Entra Connect
 * reads IsExchangeCloudManaged and stops exporting Exchange attributes).
 */
export function syncedObject(core: TenantCore, immutableId: string): SyncedObjectInfo | null {
  tick(core);
  const found = core.byImmutableId(immutableId);
  if (!found) return null;
  const rec = core.recipientOf(found.obj.id);
  return {
    kind: found.kind,
    entraId: found.obj.id,
    recipientTypeDetails: rec?.recipientTypeDetails ?? null,
    isExchangeCloudManaged: rec?.isExchangeCloudManaged ?? false,
  };
}
