/**
 * Cloud Sync's synchronization jobs as Graph shows them: the job, its schema (the AD2AADProvisioning rule and its
 * object mappings).
 */
import { GraphError } from '../errors';
import type { SyncJobState } from '../tenant';
import { AD2AAD_RULE_ID } from '../tenant-model';

export function syncJobNotFound(servicePrincipalId: string, jobId: string): GraphError {
  return new GraphError(404, 'Request_ResourceNotFound', `The synchronization job '${jobId}' does not exist on service principal '${servicePrincipalId}'.`);
}

/**
 * The object mappings of Cloud Sync's AD2AADProvisioning rule: "Object mappings are within the
 * schema.synchronizationRules[0].objectMappings (For now you can assume there's only one Synchronization Rule)", with
 * "Provision Active Directory users" (sourceObjectName `user`, targetObjectName `User`) and "Provision Active Directory
 * inetOrgPersons" (How to programmatically configure cloud sync using MS Graph API). Cloud Sync also synchronizes
 * groups and contacts (What is Microsoft Entra Cloud Sync?); the names of those two mappings are the sandbox's.
 */
export const AD2AAD_OBJECT_MAPPINGS: readonly { name: string; sourceObjectName: string; targetObjectName: string }[] = [
  { name: 'Provision Active Directory users', sourceObjectName: 'user', targetObjectName: 'User' },
  { name: 'Provision Active Directory inetOrgPersons', sourceObjectName: 'inetOrgPerson', targetObjectName: 'User' },
  { name: 'Provision Active Directory groups', sourceObjectName: 'group', targetObjectName: 'Group' },
  { name: 'Provision Active Directory contacts', sourceObjectName: 'contact', targetObjectName: 'Contact' },
];

/** The rule id of a job's schema. */
export function ruleIdOf(job: SyncJobState): string {
  return job.ruleId ?? AD2AAD_RULE_ID;
}

/**
 * A job's synchronizationSchema (https://learn.microsoft.com/graph/api/resources/synchronization-synchronizationschema):
 * one rule, AD2AADProvisioning, from Active Directory to Azure Active Directory (the shape of job schemas read from
 * tenants: id = the job id, synchronizationRules[0] with editable, id, name, priority, source/targetDirectoryName,
 * metadata, objectMappings). Attribute mappings and directory definitions are left out (empty).
 */
export function syncSchemaJson(job: SyncJobState): Record<string, unknown> {
  return {
    id: job.jobId,
    version: 'Date:2026-01-01T00:00:00.0000000Z, ActivityId:00000000-0000-0000-0000-000000000000',
    directories: [],
    synchronizationRules: [
      {
        editable: true,
        id: ruleIdOf(job),
        name: 'AD2AADProvisioning',
        priority: 1,
        sourceDirectoryName: 'Active Directory',
        targetDirectoryName: 'Azure Active Directory',
        containerFilter: { includedContainers: [] },
        groupFilter: { includedGroups: [] },
        metadata: [{ key: 'supportsProvisionOnDemand', value: 'true' }],
        objectMappings: AD2AAD_OBJECT_MAPPINGS.map((o) => ({
          enabled: true,
          flowTypes: 'Add,Update,Delete',
          name: o.name,
          scope: null,
          sourceObjectName: o.sourceObjectName,
          targetObjectName: o.targetObjectName,
          attributeMappings: [],
          metadata: [],
        })),
      },
    ],
  };
}

/**
 * A synchronizationJob as Graph answers it (https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-get
 * and the synchronizationStatus / synchronizationQuarantine resource types). Cloud Sync runs every 2 minutes.
 */
export function syncJobJson(j: SyncJobState): Record<string, unknown> {
  const zero = '0001-01-01T00:00:00Z';
  const q = j.quarantine;
  return {
    id: j.jobId,
    templateId: j.templateId,
    schedule: { expiration: null, interval: 'PT2M', state: j.code === 'Paused' || j.code === 'NotConfigured' ? 'Disabled' : 'Active' },
    status: {
      code: j.code,
      countSuccessiveCompleteFailures: j.code === 'Quarantine' ? 1 : 0,
      escrowsPruned: false,
      lastExecution: null,
      lastSuccessfulExecution: null,
      lastSuccessfulExecutionWithExports: null,
      progress: [],
      quarantine: q
        ? {
            currentBegan: q.since,
            nextAttempt: new Date(Date.parse(q.since) + 12 * 3_600_000).toISOString(),
            reason: q.reason,
            seriesBegan: q.since,
            seriesCount: 1,
            error: { code: q.errorCode, message: q.message, tenantActionable: true },
          }
        : null,
      steadyStateFirstAchievedTime: zero,
      steadyStateLastAchievedTime: zero,
      synchronizedEntryCountByType: [],
      troubleshootingUrl: null,
    },
    synchronizationJobSettings: [],
  };
}
