/**
 * The Mailroom sandbox's cloud side: a simulated hybrid tenant (Entra ID + Exchange Online) and an
 * HTTPS emulator serving it over Microsoft's wire protocols. See `tenant.ts` for the state API the
 * sync engine drives and `server.ts` for the emulator.
 */
export { ManualClock, systemClock, type Clock } from './clock';
export type { CloudKnobs, FaultScope, ProvisionOnDemandHook, ProvisionOnDemandRequest, ProvisionOnDemandResult, ProvisioningStep } from './context';
export { createClientCertificate, ensureEmulatorTls } from './certs';
export { ExoError, GraphError } from './errors';
export { immutableIdFromObjectGuid, objectGuidFromImmutableId, sequentialGuids } from './ids';
export * as rules from './rules';
export { KNOWN_SKUS } from './skus';
export { startCloudEmulator, DEFAULT_STATE_DIR, type CloudEmulator, type StartCloudEmulatorOptions } from './server';
export {
  SyncConflictError,
  Tenant,
  type AdContactInput,
  type AdGroupInput,
  type AdUserInput,
  type SyncOutcome,
  type TenantOptions,
  type TenantState,
} from './tenant';
export { graphMiddlewareTrusting, NodeHttpsMessageHandler } from './trust';
