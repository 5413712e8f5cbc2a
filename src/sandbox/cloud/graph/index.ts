/**
 * Microsoft Graph v1.0 for the simulated tenant: the user, group, licence, `$batch`, Cloud Sync
 * (`provisionOnDemand`) and Teams (app catalog, installed apps, activity feed) calls Mailroom makes, with Graph's
 * OData error bodies, paging and advanced-query rules.
 */
import { randomUUID } from 'node:crypto';
import type { EmulatorContext } from '../context';
import { GraphError } from '../errors';
import type { EmulatorRequest, EmulatorResponse } from '../http';
import { bearerToken, parseJsonBody } from '../http';
import { GRAPH_AUDIENCE, verifyAccessToken } from '../oauth';
import { batch } from './batch';
import { graphErrorBody, methodNotAllowed, ODATA_JSON, reply, segmentNotFound, type GraphCall, type GraphReply, type Route } from './call';
import { directoryObjectsRoute } from './directory-objects';
import { groupsRoute } from './groups';
import { organizationRoute } from './organization';
import { syncJobsRoute } from './sync-jobs';
import { appCatalogsRoute, teamworkRoute } from './teamwork';
import { usersRoute } from './users';

async function dispatch(ctx: EmulatorContext, call: GraphCall): Promise<GraphReply> {
  const t = ctx.tenant;
  t.tick();
  const p = call.path.replace(/\/+$/, '') || '/';
  const seg = p.split('/').slice(1).map((s) => decodeURIComponent(s));
  const m = call.method;
  const [root, key, sub, subKey, subSub] = seg;
  const meta = `${ctx.baseUrl}/v1.0/$metadata`;
  const r: Route = { ctx, call, t, m, seg, root, key, sub, subKey, subSub, meta };
  if (root === '$batch') {
    if (m !== 'POST') return methodNotAllowed();
    if (call.inBatch) throw new GraphError(400, 'BadRequest', 'A batch request cannot contain another $batch request.');
    return batch(ctx, call, runCall);
  }
  if (root === 'users' && key !== undefined && sub === 'teamwork') return teamworkRoute(r);
  if (root === 'users') return usersRoute(r);
  if (root === 'groups') return groupsRoute(r);
  return directoryObjectsRoute(r) ?? organizationRoute(r) ?? appCatalogsRoute(r) ?? (await syncJobsRoute(r)) ?? segmentNotFound(root ?? '');
}

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

/** Runs one call and turns thrown errors into Graph error replies. */
async function runCall(ctx: EmulatorContext, call: GraphCall): Promise<GraphReply> {
  const requestId = randomUUID();
  const clientRequestId = call.headers['client-request-id'] ?? randomUUID();
  let res: GraphReply;
  try {
    res = await dispatch(ctx, call);
  } catch (err) {
    if (err instanceof GraphError) {
      res = reply(err.status, graphErrorBody(err.code, err.message, requestId, clientRequestId, ctx.realClock.now()), err.headers);
    } else {
      res = reply(500, graphErrorBody('InternalServerError', err instanceof Error ? err.message : String(err), requestId, clientRequestId, ctx.realClock.now()));
    }
  }
  res.headers = { ...res.headers, 'request-id': requestId, 'client-request-id': clientRequestId };
  return res;
}

/** Handles an HTTP request under `/v1.0`. */
export async function handleGraph(ctx: EmulatorContext, req: EmulatorRequest): Promise<EmulatorResponse> {
  const requestId = randomUUID();
  const clientRequestId = req.headers['client-request-id'] ?? randomUUID();
  const fail = (status: number, code: string, message: string, headers: Record<string, string> = {}): EmulatorResponse => ({
    status,
    headers: { 'content-type': ODATA_JSON, 'request-id': requestId, 'client-request-id': clientRequestId, ...headers },
    body: graphErrorBody(code, message, requestId, clientRequestId, ctx.realClock.now()),
  });
  const check = verifyAccessToken(ctx, bearerToken(req.headers), GRAPH_AUDIENCE);
  if (!check.ok) {
    const messages: Record<typeof check.reason, string> = {
      empty: 'Access token is empty.',
      malformed: 'IDX14100: JWT is not well formed, there are no dots (.).',
      signature: 'Access token validation failure. Invalid signature.',
      expired: 'Lifetime validation failed, the token is expired.',
      audience: 'Access token validation failure. Invalid audience.',
      tenant: 'Access token validation failure. Invalid issuer.',
    };
    return fail(401, 'InvalidAuthenticationToken', messages[check.reason], { 'www-authenticate': 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"' });
  }
  let body: unknown;
  try {
    body = parseJsonBody(req);
  } catch {
    return fail(400, 'BadRequest', 'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.');
  }
  const path = req.url.pathname.replace(/^\/v1\.0/i, '') || '/';
  const res = await runCall(ctx, { method: req.method, path, query: req.url.searchParams, headers: req.headers, body, claims: check.claims });
  return { status: res.status, headers: res.headers, body: res.body };
}

/** Graph's answer to an injected fault (429 or 503) with Retry-After. */
export function graphFault(ctx: EmulatorContext, req: EmulatorRequest, status: 429 | 503, retryAfter: number): EmulatorResponse {
  const requestId = randomUUID();
  const clientRequestId = req.headers['client-request-id'] ?? randomUUID();
  const [code, message] = status === 429 ? ['TooManyRequests', 'Too many requests. Retry after the interval in the Retry-After header.'] : ['ServiceUnavailable', 'Service unavailable. Retry after the interval in the Retry-After header.'];
  return {
    status,
    headers: { 'content-type': ODATA_JSON, 'retry-after': String(retryAfter), 'request-id': requestId, 'client-request-id': clientRequestId },
    body: graphErrorBody(code, message, requestId, clientRequestId, ctx.realClock.now()),
  };
}
