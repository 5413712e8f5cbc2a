/**
 * App registrations (client credentials, granted roles, certificates) and the Cloud Sync jobs of service principals.
 */
import {
  DEFAULT_DIRECTORY_ROLES,
  DEFAULT_EXCHANGE_ROLES,
  DEFAULT_GRAPH_ROLES,
  type AppRegistration,
  type AppSeed,
  type DirectoryRoleName,
  type SyncJobState,
  type SyncJobStatusCode,
} from '../tenant-model';
import type { TenantCore } from './core';

/** What an app is granted; see {@link setAppGrants}. */
export interface AppGrants {
  graphRoles: string[];
  exchangeRoles: string[];
  directoryRoles: DirectoryRoleName[];
  exchangeManagementRoles: string[];
}

/** Registers an app (client credentials). Returns the registration, including a generated secret if none was given. */
export function registerApp(core: TenantCore, seed: AppSeed): AppRegistration {
  const app: AppRegistration = {
    clientId: seed.clientId ?? core.ids(),
    displayName: seed.displayName ?? 'Mailroom',
    servicePrincipalId: core.ids(),
    secrets: [seed.clientSecret ?? `sbx~${core.ids().replace(/-/g, '')}`],
    certificates: seed.certificatePem ? [seed.certificatePem] : [],
    graphRoles: [...(seed.graphRoles ?? DEFAULT_GRAPH_ROLES)],
    exchangeRoles: [...(seed.exchangeRoles ?? DEFAULT_EXCHANGE_ROLES)],
    directoryRoles: [...(seed.directoryRoles ?? DEFAULT_DIRECTORY_ROLES)],
    exchangeManagementRoles: [...(seed.exchangeManagementRoles ?? [])],
  };
  core.s.apps = core.s.apps.filter((a) => a.clientId !== app.clientId);
  core.s.apps.push(app);
  return { ...app };
}

/** What an app is granted now (defaults filled in for state saved before a field existed). */
export function appGrants(core: TenantCore, clientId: string): AppGrants {
  const app = findApp(core, clientId);
  if (!app) throw new Error(`no app ${clientId}`);
  return {
    graphRoles: [...app.graphRoles],
    exchangeRoles: [...app.exchangeRoles],
    directoryRoles: [...(app.directoryRoles ?? DEFAULT_DIRECTORY_ROLES)],
    exchangeManagementRoles: [...(app.exchangeManagementRoles ?? [])],
  };
}

/**
 * Changes what an app is granted: Graph and Exchange application permissions (the `roles` of its tokens), the
 * Entra roles of its service principal (the `wids` of its tokens) and the Exchange management roles it holds
 * through role groups. As in Entra ID, tokens issued before keep the claims they carry: a client sees a change of
 * the first three with its next token. Exchange management roles apply to the next request. Returns what was
 * granted before, so that a test can put it back with the same call.
 */
export function setAppGrants(core: TenantCore, clientId: string, change: Partial<AppGrants>): AppGrants {
  const before = appGrants(core, clientId);
  const app = findApp(core, clientId)!;
  if (change.graphRoles) app.graphRoles = [...change.graphRoles];
  if (change.exchangeRoles) app.exchangeRoles = [...change.exchangeRoles];
  if (change.directoryRoles) app.directoryRoles = [...change.directoryRoles];
  if (change.exchangeManagementRoles) app.exchangeManagementRoles = [...change.exchangeManagementRoles];
  return before;
}

/** Registers (or finds) a Cloud Sync job of a service principal; a new one is Active. */
export function registerSyncJob(core: TenantCore, job: { servicePrincipalId: string; jobId: string; templateId?: string; ruleId?: string }): SyncJobState {
  core.s.syncJobs ??= [];
  const found = findSyncJob(core, job.servicePrincipalId, job.jobId);
  if (found) return structuredClone(found);
  const state: SyncJobState = {
    servicePrincipalId: job.servicePrincipalId,
    jobId: job.jobId,
    templateId: job.templateId ?? 'AD2AADProvisioning',
    code: 'Active',
    quarantine: null,
    ...(job.ruleId ? { ruleId: job.ruleId } : {}),
  };
  core.s.syncJobs.push(state);
  return structuredClone(state);
}

/** The Cloud Sync jobs of a service principal. */
export function syncJobs(core: TenantCore, servicePrincipalId: string): SyncJobState[] {
  return (core.s.syncJobs ?? []).filter((j) => j.servicePrincipalId.toLowerCase() === servicePrincipalId.toLowerCase()).map((j) => structuredClone(j));
}

/** A Cloud Sync job, or undefined. */
export function syncJob(core: TenantCore, servicePrincipalId: string, jobId: string): SyncJobState | undefined {
  const j = findSyncJob(core, servicePrincipalId, jobId);
  return j ? structuredClone(j) : undefined;
}

/**
 * Sets a job's status code (Active, Paused after a pause or when an admin stopped it, Quarantine with a reason
 * from synchronizationQuarantine's quarantineReason list). Returns the previous state, to restore with
 * `setSyncJobStatus(sp, job, before.code, before.quarantine ?? undefined)`.
 */
export function setSyncJobStatus(
  core: TenantCore,
  servicePrincipalId: string,
  jobId: string,
  code: SyncJobStatusCode,
  quarantine?: { reason: string; errorCode: string; message: string },
): SyncJobState {
  const j = findSyncJob(core, servicePrincipalId, jobId);
  if (!j) throw new Error(`no synchronization job ${jobId} on service principal ${servicePrincipalId}`);
  const before = structuredClone(j);
  j.code = code;
  j.quarantine = code === 'Quarantine' ? { reason: quarantine?.reason ?? 'Unknown', errorCode: quarantine?.errorCode ?? '', message: quarantine?.message ?? '', since: core.iso() } : null;
  return before;
}

function findSyncJob(core: TenantCore, servicePrincipalId: string, jobId: string): SyncJobState | undefined {
  return (core.s.syncJobs ?? []).find((j) => j.servicePrincipalId.toLowerCase() === servicePrincipalId.toLowerCase() && j.jobId.toLowerCase() === jobId.toLowerCase());
}

/** Adds a certificate (PEM) to an app, for `client_assertion` sign-in. */
export function addAppCertificate(core: TenantCore, clientId: string, certificatePem: string): void {
  const app = core.s.apps.find((a) => a.clientId === clientId);
  if (!app) throw new Error(`no app ${clientId}`);
  app.certificates.push(certificatePem);
}

export function findApp(core: TenantCore, clientId: string): AppRegistration | undefined {
  return core.s.apps.find((a) => a.clientId.toLowerCase() === clientId.toLowerCase());
}

export function apps(core: TenantCore): AppRegistration[] {
  return core.s.apps.map((a) => ({ ...a }));
}
