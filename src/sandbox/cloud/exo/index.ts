/**
 * Exchange Online's admin REST endpoint, `POST /adminapi/beta/{tenantId|domain}/InvokeCommand`, as the
 * ExchangeOnlineManagement v3 module uses it: body `{"CmdletInput":{"CmdletName","Parameters"}}`,
 * answer `{"@odata.context","value":[…],"@odata.nextLink"?,"@adminapi.warnings":[…]}`, paging by
 * re-POSTing the same body to `@odata.nextLink`, errors as
 * `{"error":{"code","message","details":[{"code","target","message":"<id>|<ExceptionType>|<text>"}],"innererror":…}}`.
 *
 * The cmdlets keep to the hybrid rules (see `rules.ts`): Exchange attributes of synced objects are
 * refused unless the mailbox is IsExchangeCloudManaged, mail users take -Alias and -ExchangeGuid but
 * not custom attributes, synced contacts and groups refuse everything.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { EmulatorContext } from '../context';
import { ExoError } from '../errors';
import { mayBypassGroupManagerCheck, mayRunCmdlet, notAllowedBody } from '../exo-authz';
import type { EmulatorRequest, EmulatorResponse } from '../http';
import { bearerToken, isRecord, json, parseJsonBody } from '../http';
import { EXO_AUDIENCE, verifyAccessToken } from '../oauth';
import { AUTO_REPLY_CMDLETS } from './auto-reply';
import { CALENDAR_CMDLETS } from './calendar';
import { GROUP_CMDLETS } from './groups';
import { ORGANIZATION_CMDLETS } from './organization';
import { bindParameters, type Caller, type Cmdlet } from './params';
import { PERMISSION_CMDLETS } from './permissions';
import { RECIPIENT_CMDLETS } from './recipients';

const DEFAULT_PAGE = 1000;

/** Every cmdlet the endpoint serves, by name. */
const CMDLETS: Record<string, Cmdlet> = {
  ...RECIPIENT_CMDLETS,
  ...ORGANIZATION_CMDLETS,
  ...GROUP_CMDLETS,
  ...PERMISSION_CMDLETS,
  ...CALENDAR_CMDLETS,
  ...AUTO_REPLY_CMDLETS,
};

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

/**
 * A cmdlet failure as Exchange answers it. `details[].code` is `Client` for an unknown identity (the live 404 body
 * quoted in the README's table) and `Context` otherwise (the live 400 bodies quoted by InvokeCommand clients);
 * `innererror.internalexception` carries the exception as OData writes an inner error (`message`, `type`; the OData
 * JSON name is all lower case, clients read it as `internalException`).
 */
function exoErrorResponse(err: ExoError, requestId: string): EmulatorResponse {
  return json(
    err.status,
    {
      error: {
        code: err.code,
        message: 'Error executing cmdlet',
        details: [{ code: err.kind === 'NotFound' ? 'Client' : 'Context', target: '', message: err.detail }],
        innererror: {
          message: 'Error executing cmdlet',
          type: 'Microsoft.Exchange.Admin.OData.Core.ODataServiceException',
          internalexception: { message: err.message, type: err.exceptionType },
        },
      },
    },
    { 'request-id': requestId },
  );
}

function pageSize(headers: Record<string, string>): number {
  const m = /odata\.maxpagesize\s*=\s*(\d+)/i.exec(headers['prefer'] ?? '');
  const n = m ? Number(m[1]) : DEFAULT_PAGE;
  return n > 0 ? n : DEFAULT_PAGE;
}

function skipTokenFor(offset: number, bodyHash: string): string {
  return Buffer.from(JSON.stringify({ o: offset, h: bodyHash })).toString('base64url');
}

function readSkipToken(token: string | null, bodyHash: string): number {
  if (!token) return 0;
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { o?: unknown; h?: unknown };
    if (typeof v.o === 'number' && v.h === bodyHash) return v.o;
  } catch {
    // fall through
  }
  throw new ExoError('Argument', 'The skip token is not valid for this request. Re-send the same request body to the @odata.nextLink URL.');
}

/** Handles `POST /adminapi/beta/{tenant}/InvokeCommand`. */
export function handleExo(ctx: EmulatorContext, req: EmulatorRequest): EmulatorResponse {
  const requestId = randomUUID();
  const m = /^\/adminapi\/beta\/([^/]+)\/InvokeCommand$/i.exec(req.url.pathname);
  if (!m) return json(404, { error: { code: 'NotFound', message: `No route for '${req.url.pathname}'.` } });
  const tenantSeg = decodeURIComponent(m[1] ?? '');
  if (req.method !== 'POST') return json(405, { error: { code: 'MethodNotAllowed', message: 'InvokeCommand only accepts POST.' } });
  const check = verifyAccessToken(ctx, bearerToken(req.headers), EXO_AUDIENCE);
  if (!check.ok) {
    return {
      status: 401,
      headers: {
        'www-authenticate': `Bearer client_id="00000002-0000-0ff1-ce00-000000000000", trusted_issuers="00000001-0000-0000-c000-000000000000@*", token_types="app_asserted_user_v1 service_asserted_app_v1", authorization_uri="${ctx.baseUrl}/common/oauth2/authorize", error="invalid_token"`,
        'request-id': requestId,
      },
      body: '',
    };
  }
  if (!ctx.tenant.matchesTenant(tenantSeg)) {
    return json(404, { error: { code: 'NotFound', message: `The tenant '${tenantSeg}' was not found.` } }, { 'request-id': requestId });
  }
  if (!check.claims.roles.includes('Exchange.ManageAsApp')) {
    return json(
      403,
      { error: { code: 'Forbidden', message: "The application does not have the 'Exchange.ManageAsApp' permission; grant it and an Exchange administrator role to the app." } },
      { 'request-id': requestId },
    );
  }
  let body: unknown;
  try {
    body = parseJsonBody(req);
  } catch {
    return json(400, { error: { code: 'BadRequest', message: 'The request body is not valid JSON.' } }, { 'request-id': requestId });
  }
  const input = isRecord(body) && isRecord(body.CmdletInput) ? body.CmdletInput : null;
  const cmdletName = input && typeof input.CmdletName === 'string' ? input.CmdletName : null;
  if (!input || !cmdletName) {
    return json(400, { error: { code: 'BadRequest', message: "The request body needs 'CmdletInput' with 'CmdletName'." } }, { 'request-id': requestId });
  }
  const name = Object.keys(CMDLETS).find((k) => k.toLowerCase() === cmdletName.toLowerCase());
  if (!name) {
    // Exchange answers an unknown cmdlet with 403 and no usable body.
    return { status: 403, headers: { 'request-id': requestId }, body: '' };
  }
  const spec = CMDLETS[name]!;
  const app = ctx.tenant.app(check.claims.appid);
  const caller: Caller = { mayBypassGroupManagerCheck: mayBypassGroupManagerCheck(check.claims.wids, app?.exchangeManagementRoles ?? []) };
  if (!mayRunCmdlet(check.claims.wids, app?.exchangeManagementRoles ?? [], name)) {
    return json(401, notAllowedBody(name), { 'request-id': requestId });
  }
  const bodyHash = createHash('sha256').update(JSON.stringify(input)).digest('base64url').slice(0, 22);
  try {
    const params = bindParameters(spec, isRecord(input.Parameters) ? input.Parameters : {});
    const result = spec.run(ctx, params, caller);
    const size = pageSize(req.headers);
    const offset = readSkipToken(req.url.searchParams.get('$skiptoken'), bodyHash);
    const page = result.values.slice(offset, offset + size);
    const out: Record<string, unknown> = {
      '@odata.context': `${ctx.baseUrl}/adminapi/beta/${tenantSeg}/$metadata#Collection(Exchange.GenericHashTable)`,
    };
    if (offset + size < result.values.length) {
      out['@odata.nextLink'] = `${ctx.baseUrl}/adminapi/beta/${encodeURIComponent(tenantSeg)}/InvokeCommand?%24skiptoken=${skipTokenFor(offset + size, bodyHash)}`;
    }
    out.value = page;
    out['@adminapi.warnings'] = result.warnings;
    return json(200, out, { 'request-id': requestId });
  } catch (err) {
    if (err instanceof ExoError) return exoErrorResponse(err, requestId);
    const e = err instanceof Error ? err : new Error(String(err));
    return json(500, { error: { code: 'InternalServerError', message: 'Error executing cmdlet', details: [{ code: 'Server', target: '', message: `|System.Exception|${e.message}` }] } }, { 'request-id': requestId });
  }
}

/** EXO's answer to an injected fault (429 or 503) with Retry-After. */
export function exoFault(status: 429 | 503, retryAfter: number): EmulatorResponse {
  const message =
    status === 429
      ? 'The request was throttled: the maximum number of concurrent requests per tenant was exceeded. Retry after the interval in the Retry-After header.'
      : 'The service is temporarily unavailable. Retry after the interval in the Retry-After header.';
  return json(status, { error: { code: status === 429 ? 'TooManyRequests' : 'ServiceUnavailable', message } }, { 'retry-after': String(retryAfter) });
}
