/**
 * `/servicePrincipals/{id}/synchronization/jobs…`: the jobs, a job's schema, and provisionOnDemand.
 */
import { methodNotAllowed, reply, type GraphReply, type Route } from './call';
import { READ_SYNC, READ_SYNC_SCHEMA, requireRole, SYNC } from './permissions';
import { provisionOnDemand } from './provision-on-demand';
import { syncJobJson, syncJobNotFound, syncSchemaJson } from './sync-schema';

/** Routes `/servicePrincipals/{id}/synchronization/jobs…`; null for another path. */
export async function syncJobsRoute(r: Route): Promise<GraphReply | null> {
  const { ctx, call, t, m, seg, root, key, sub, subKey, meta } = r;
  if (root === 'servicePrincipals' && key !== undefined && sub === 'synchronization' && subKey === 'jobs' && seg[5] === 'schema' && seg.length === 6 && seg[4]) {
    if (m !== 'GET') return methodNotAllowed();
    requireRole(call, READ_SYNC_SCHEMA);
    const job = t.syncJob(key, seg[4]);
    if (!job) throw syncJobNotFound(key, seg[4]);
    return reply(200, { '@odata.context': `${meta}#servicePrincipals('${key}')/synchronization/jobs('${job.jobId}')/schema/$entity`, ...syncSchemaJson(job) });
  }
  if (root === 'servicePrincipals' && key !== undefined && sub === 'synchronization' && subKey === 'jobs' && seg[5] === 'provisionOnDemand' && seg[4]) {
    if (m !== 'POST') return methodNotAllowed();
    requireRole(call, SYNC);
    return provisionOnDemand(ctx, call, key, seg[4]);
  }
  if (root === 'servicePrincipals' && key !== undefined && sub === 'synchronization' && subKey === 'jobs' && seg.length <= 5) {
    if (m !== 'GET') return methodNotAllowed();
    requireRole(call, READ_SYNC);
    const jobId = seg[4];
    if (jobId === undefined) {
      const value = t.syncJobs(key).map(syncJobJson);
      return reply(200, { '@odata.context': `${meta}#servicePrincipals('${key}')/synchronization/jobs`, value });
    }
    const job = t.syncJob(key, jobId);
    if (!job) throw syncJobNotFound(key, jobId);
    return reply(200, { '@odata.context': `${meta}#servicePrincipals('${key}')/synchronization/jobs/$entity`, ...syncJobJson(job) });
  }
  return null;
}
