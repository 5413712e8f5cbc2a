/**
 * Shared state of one running emulator: the tenant, the token-signing key, the knobs and hooks.
 */
import type { KeyObject } from 'node:crypto';
import type { Clock } from './clock';
import type { Tenant } from './tenant';

/** One subject of a provisionOnDemand call. */
export interface ProvisionOnDemandRequest {
  /** The AD distinguished name sent as `subjects[].objectId`. */
  objectId: string;
  objectTypeName: string;
  ruleId: string;
  servicePrincipalId: string;
  jobId: string;
}

export interface ProvisioningStep {
  name: string;
  type: 'Import' | 'Scoping' | 'Matching' | 'Processing' | 'ReferenceResolution' | 'Export';
  status: 'Success' | 'Warning' | 'Failure' | 'Skipped';
  description: string;
  details?: Record<string, string>;
}

/** What the sync engine reports back for one provisionOnDemand call. */
export interface ProvisionOnDemandResult {
  status: 'Success' | 'Failure' | 'Skipped' | 'Warning';
  /** Shown as `statusInfo.reason`/`errorCode` on failure. */
  reason?: string;
  errorCode?: string;
  /** Default: Import/Scoping/Matching/Processing/Export steps with the overall status. */
  steps?: ProvisioningStep[];
  /** The record's `action`: Create, Update, Delete or Other. Default Update (Other when skipped). */
  action?: 'Create' | 'Update' | 'Delete' | 'Other';
}

/**
 * Called for `POST /servicePrincipals/{id}/synchronization/jobs/{jobId}/provisionOnDemand`: the sync
 * engine syncs the AD object `dn` at once. Return nothing for plain success; throw to report failure.
 */
export type ProvisionOnDemandHook = (
  dn: string,
  request: ProvisionOnDemandRequest,
) => ProvisionOnDemandResult | void | Promise<ProvisionOnDemandResult | void>;

/** Knobs of the emulator. All optional; defaults give a fast, fault-free tenant. */
export interface CloudKnobs {
  /** Delay added before every answer (ms). Default 0. */
  latencyMs?: number;
  /** Share (0..1) of Graph/EXO requests answered 429 with Retry-After. Default 0. */
  throttleRate?: number;
  /** Share (0..1) of Graph/EXO requests answered 503 with Retry-After. Default 0. */
  unavailableRate?: number;
  /** Retry-After (seconds) on injected 429/503. Default 1. */
  retryAfterSeconds?: number;
  /** Seed of the PRNG that picks which requests fail. Default 1. */
  seed?: number;
  /** Which endpoints the rates apply to. Default graph and exo. */
  faultScope?: FaultScope[];
  /** Mailbox provisioning delay after an Exchange licence (ms); applied to the tenant. */
  mailboxProvisioningDelayMs?: number;
  /** Purchased units per SKU part number (or skuId); applied to the tenant. */
  licenceUnits?: Record<string, number>;
  /** provisionOnDemand rate limit per job. Default 5 requests per 10 000 ms. */
  provisionOnDemandLimit?: { requests: number; windowMs: number };
  /**
   * Set-MailContact on a synced contact: `error` (default; the write-scope error) or `silent` (reports
   * success and changes nothing — the other variant the field test saw).
   */
  syncedContactWrites?: 'error' | 'silent';
  /**
   * Replication lag of a user's usage location (ms, tenant clock): a licence assigned within this time of a
   * `PATCH /users/{id}` that set it fails with "License assignment cannot be done for user with invalid usage
   * location." Default 0.
   */
  usageLocationLagMs?: number;
  /** How far advanced queries (`ConsistencyLevel: eventual`) lag behind writes (ms, tenant clock). Default 0. */
  advancedQueryLagMs?: number;
  /** Share (0..1) of Graph `$batch` items answered 429 with Retry-After inside the 200. Default 0. */
  batchItemThrottleRate?: number;
  /** The next this many Graph `$batch` items are answered 429 with Retry-After (counts down). Default 0. */
  batchItemFaults?: number;
}

export type FaultScope = 'graph' | 'exo' | 'token';

export interface EmulatorContext {
  tenant: Tenant;
  /** `https://127.0.0.1:PORT` (no trailing slash). */
  baseUrl: string;
  signingKey: KeyObject;
  signingKid: string;
  /** Real time, for token lifetimes and client assertions (which MSAL stamps with real time). */
  realClock: Clock;
  knobs: Required<Pick<CloudKnobs, 'provisionOnDemandLimit' | 'syncedContactWrites'>> & CloudKnobs;
  provisionOnDemand: ProvisionOnDemandHook | null;
  /** Recent provisionOnDemand calls per job (tenant-clock ms). */
  podCalls: Map<string, number[]>;
  /** Host name used in Exchange "couldn't be found on '…'" messages. */
  exoServerName: string;
}
