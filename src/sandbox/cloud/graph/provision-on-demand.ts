/**
 * `POST /servicePrincipals/{id}/synchronization/jobs/{jobId}/provisionOnDemand` (Entra Cloud Sync): the per-job rate
 * limit, the request's rule and object type, and the answer built from what the attached sync engine reports.
 */
import { randomUUID } from 'node:crypto';
import type { EmulatorContext, ProvisionOnDemandRequest, ProvisioningStep } from '../context';
import { GraphError } from '../errors';
import { isRecord } from '../http';
import { bodyObject, reply, type GraphCall, type GraphReply } from './call';
import { AD2AAD_OBJECT_MAPPINGS, ruleIdOf, syncJobNotFound } from './sync-schema';

export async function provisionOnDemand(ctx: EmulatorContext, call: GraphCall, servicePrincipalId: string, jobId: string): Promise<GraphReply> {
  if (!ctx.provisionOnDemand) {
    throw new GraphError(404, 'Request_ResourceNotFound', `The synchronization job '${jobId}' does not exist: no sync engine is attached to the sandbox tenant.`);
  }
  const job = ctx.tenant.syncJob(servicePrincipalId, jobId);
  if (!job) throw syncJobNotFound(servicePrincipalId, jobId);
  const { requests: limit, windowMs } = ctx.knobs.provisionOnDemandLimit;
  const now = ctx.tenant.clock.now();
  const key = `${servicePrincipalId}/${jobId}`.toLowerCase();
  const recent = (ctx.podCalls.get(key) ?? []).filter((t) => t > now - windowMs);
  if (recent.length >= limit) {
    const retryAfter = Math.max(1, Math.ceil((recent[0]! + windowMs - now) / 1000));
    ctx.podCalls.set(key, recent);
    throw new GraphError(
      429,
      'TooManyRequests',
      `Too many requests: provisionOnDemand allows ${limit} requests per ${windowMs / 1000} seconds for a job. Retry after ${retryAfter} seconds.`,
      { 'retry-after': String(retryAfter) },
    );
  }
  recent.push(now);
  ctx.podCalls.set(key, recent);
  const b = bodyObject(call);
  const params = Array.isArray(b.parameters) ? b.parameters.filter(isRecord) : [];
  const first = params[0];
  const subjects = first && Array.isArray(first.subjects) ? first.subjects.filter(isRecord) : [];
  const subject = subjects[0];
  if (!first || !subject || typeof subject.objectId !== 'string' || subject.objectId === '') {
    throw new GraphError(400, 'BadRequest', "The request needs 'parameters' with one subject (objectId and objectTypeName).");
  }
  // "ruleId: The identifier of the synchronizationRule to be applied. This rule ID is defined in the schema for a
  // given synchronization job or template." (synchronizationJobApplicationParameters). Graph's answer to another rule
  // is quoted in microsoftgraph/microsoft-graph-docs-contrib#4247.
  const ruleId = typeof first.ruleId === 'string' ? first.ruleId : '';
  if (ruleId.toLowerCase() !== ruleIdOf(job).toLowerCase()) {
    throw new GraphError(
      400,
      'RequestParameterInvalid',
      `The request identified this synchronization job: ${job.jobId}.  The request also identified this synchronization rule: ${ruleId}.  However, the job does not include the rule.`,
    );
  }
  // "objectTypeName: … user for synchronizing between Active Directory and Azure AD" (synchronizationJobSubject): the
  // type must be a source object of the rule's object mappings, spelled as there (`user`, not `User`).
  const objectTypeName = typeof subject.objectTypeName === 'string' ? subject.objectTypeName : '';
  const mapping = AD2AAD_OBJECT_MAPPINGS.find((o) => o.sourceObjectName === objectTypeName);
  if (!mapping) {
    throw new GraphError(
      400,
      'RequestParameterInvalid',
      `The request identified this synchronization rule: ${ruleId}.  However, the rule has no object mapping for the object type '${objectTypeName}' (it maps ${AD2AAD_OBJECT_MAPPINGS.map((o) => o.sourceObjectName).join(', ')}).`,
    );
  }
  const request: ProvisionOnDemandRequest = { objectId: subject.objectId, objectTypeName, ruleId, servicePrincipalId, jobId };
  const started = new Date(ctx.realClock.now()).toISOString();
  let status: 'Success' | 'Failure' | 'Skipped' | 'Warning' = 'Success';
  let reason: string | null = null;
  let errorCode: string | null = null;
  let steps: ProvisioningStep[] | undefined;
  let action: string | undefined;
  try {
    const result = await ctx.provisionOnDemand(request.objectId, request);
    if (result) {
      status = result.status;
      reason = result.reason ?? null;
      errorCode = result.errorCode ?? null;
      steps = result.steps;
      action = result.action;
    }
  } catch (err) {
    status = 'Failure';
    reason = err instanceof Error ? err.message : String(err);
    errorCode = 'SandboxSyncEngineError';
  }
  const ts = new Date(ctx.realClock.now()).toISOString();
  const stepStatus = status === 'Skipped' ? 'Skipped' : status === 'Failure' ? 'Failure' : 'Success';
  const defaultSteps: ProvisioningStep[] = [
    { name: 'EntryImport', type: 'Import', status: 'Success', description: `Retrieved ${request.objectId} from Active Directory` },
    { name: 'EntryScoping', type: 'Scoping', status: stepStatus === 'Skipped' ? 'Skipped' : 'Success', description: 'The object is in scope of the configuration.' },
    { name: 'EntryMatching', type: 'Matching', status: 'Success', description: 'Matched the object in Microsoft Entra ID by its source anchor.' },
    { name: 'EntrySynchronization', type: 'Processing', status: stepStatus, description: reason ?? 'Determined the changes to export.' },
    { name: 'EntryExport', type: 'Export', status: stepStatus, description: status === 'Failure' ? `Export failed: ${reason ?? ''}` : 'Exported the object to Microsoft Entra ID.' },
  ];
  // The answer is a stringKeyStringValuePair whose key and value are JSON text: `key` holds the result and its
  // details ({"result":"Success","details":{}}; a skip or failure names errorCode and errorMessage), `value` one
  // provisioning record (provisioningSteps, statusInfo, …) — and "{}" for a group. Example 2 ("Sync on-demand from
  // Active Directory to Microsoft Entra ID (Microsoft Entra Cloud Sync)") and Example 3 (a group) of
  // https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-provisionondemand.
  const details = status === 'Success' ? {} : { ...(errorCode ? { errorCode } : {}), errorMessage: reason ?? '' };
  const record = {
    action: action ?? (status === 'Skipped' ? 'Other' : 'Update'),
    changeId: randomUUID(),
    startTime: started,
    endTime: ts,
    modifiedProperties: [],
    provisioningSteps: (steps ?? defaultSteps).map((s) => ({ ...s, timestamp: ts, details: s.details ?? {} })),
    reportableIdentifier: request.objectId,
    sourceIdentity: { id: request.objectId, type: objectTypeName },
    sourceSystem: { name: 'Active Directory' },
    statusInfo: { status, errorCode, reason, additionalDetails: null, errorCategory: status === 'Failure' ? 'NonServiceFailure' : null, recommendedAction: null },
    targetIdentity: { type: mapping.targetObjectName },
    targetSystem: { name: 'Azure Active Directory' },
  };
  return reply(200, {
    '@odata.context': 'https://syncfabric.windowsazure.com/api/$metadata#microsoft.synchronization.stringKeyStringValuePair',
    key: JSON.stringify({ result: status, details }),
    value: objectTypeName === 'group' ? '{}' : JSON.stringify(record),
  });
}
