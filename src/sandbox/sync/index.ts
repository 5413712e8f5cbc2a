/**
 * The sandbox's sync engine (Entra Connect Sync / Entra Cloud Sync): AD over LDAPS → the simulated tenant.
 * See engine.ts for the cycle, mapping.ts for the sync scope and attribute mapping.
 */
export {
  SyncCycleError,
  SyncEngine,
  type OnDemandReport,
  type SyncAction,
  type SyncChange,
  type SyncConflict,
  type SyncEngineOptions,
  type SyncJob,
  type SyncMode,
  type SyncObjectError,
  type SyncReport,
} from './engine';
export { AdSession, SYNC_CLASS_FILTER, type DirectoryConnection } from './directory';
export {
  classifyEntry,
  EXCLUDED_SAM_PREFIXES,
  groupScopeOf,
  immutableIdFromGuidBytes,
  outOfScopeReason,
  sidToString,
  toContactInput,
  toGroupInput,
  toUserInput,
  type AdObjectKind,
  type ClassifiedEntry,
  type LdapEntry,
} from './mapping';
