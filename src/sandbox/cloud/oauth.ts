/**
 * Microsoft Entra ID's v2.0 endpoints for app-only sign-in, as MSAL (inside @azure/identity) uses them:
 * OpenID discovery, the token endpoint for client credentials (secret or certificate assertion), and
 * the signing keys. Errors have Entra's JSON shape, which MSAL turns into its ServerError:
 * `error`, `error_description` ("AADSTSnnn: …\r\nTrace ID: …\r\nCorrelation ID: …\r\nTimestamp: …"),
 * `error_codes`, `timestamp`, `trace_id`, `correlation_id`, `error_uri`.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { EmulatorContext } from './context';
import type { EmulatorRequest, EmulatorResponse } from './http';
import { json } from './http';
import { certificateThumbprints, decodeJwt, signJwt, verifyJwtSignature, type JwtPayload } from './jwt';
import type { AppRegistration } from './tenant';
import { DEFAULT_DIRECTORY_ROLES, DIRECTORY_ROLE_TEMPLATE_IDS } from './tenant-model';

export const GRAPH_AUDIENCE = 'https://graph.microsoft.com';
export const EXO_AUDIENCE = 'https://outlook.office365.com';

const RESOURCE_ALIASES: Record<string, string> = {
  'https://graph.microsoft.com': GRAPH_AUDIENCE,
  '00000003-0000-0000-c000-000000000000': GRAPH_AUDIENCE,
  'https://outlook.office365.com': EXO_AUDIENCE,
  'https://outlook.office.com': EXO_AUDIENCE,
  '00000002-0000-0ff1-ce00-000000000000': EXO_AUDIENCE,
};

const TOKEN_LIFETIME_S = 3599;

/** Formats a time as Entra does in error bodies: `2026-01-05 09:00:00Z`. */
function entraTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

function entraError(
  ctx: EmulatorContext,
  req: EmulatorRequest,
  status: number,
  error: string,
  codes: number[],
  text: string,
): EmulatorResponse {
  const now = ctx.realClock.now();
  const traceId = randomUUID();
  const correlationId = req.headers['client-request-id'] ?? randomUUID();
  const timestamp = entraTimestamp(now);
  const first = codes[0] ?? 0;
  return json(
    status,
    {
      error,
      error_description: `AADSTS${first}: ${text}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
      error_codes: codes,
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `${ctx.baseUrl}/error?code=${first}`,
    },
    { 'cache-control': 'no-store, no-cache', pragma: 'no-cache', 'x-ms-request-id': traceId },
  );
}

function unknownTenant(ctx: EmulatorContext, req: EmulatorRequest, tenant: string, error = 'invalid_request'): EmulatorResponse {
  return entraError(
    ctx,
    req,
    400,
    error,
    [90002],
    `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. ` +
      'Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.',
  );
}

/** The openid-configuration document for this tenant. */
function openIdConfiguration(ctx: EmulatorContext): Record<string, unknown> {
  const tid = ctx.tenant.tenantId;
  const b = ctx.baseUrl;
  return {
    token_endpoint: `${b}/${tid}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${b}/${tid}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${b}/${tid}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${b}/oidc/userinfo`,
    authorization_endpoint: `${b}/${tid}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${b}/${tid}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${b}/${tid}/oauth2/v2.0/logout`,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'tid', 'ver', 'at_hash', 'c_hash'],
    kerberos_endpoint: `${b}/${tid}/kerberos`,
    tenant_region_scope: 'EU',
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
    rbac_url: 'https://pas.windows.net',
  };
}

function jwks(ctx: EmulatorContext): Record<string, unknown> {
  const jwk = ctx.signingKey.export({ format: 'jwk' });
  return { keys: [{ kty: 'RSA', use: 'sig', kid: ctx.signingKid, n: jwk.n, e: jwk.e, issuer: `https://sts.windows.net/${ctx.tenant.tenantId}/` }] };
}

/**
 * Handles `/{tenant}/v2.0/.well-known/openid-configuration`, `/{tenant}/oauth2/v2.0/token` and
 * `/{tenant}/discovery/v2.0/keys`. Returns null for other paths.
 */
export function handleOAuth(ctx: EmulatorContext, req: EmulatorRequest): EmulatorResponse | null {
  const m = /^\/([^/]+)\/(v2\.0\/\.well-known\/openid-configuration|oauth2\/v2\.0\/token|discovery\/v2\.0\/keys)$/.exec(req.url.pathname);
  if (!m) return null;
  const tenantKey = decodeURIComponent(m[1] ?? '');
  const what = m[2];
  if (!ctx.tenant.matchesTenant(tenantKey)) {
    return unknownTenant(ctx, req, tenantKey, what === 'oauth2/v2.0/token' ? 'invalid_request' : 'invalid_tenant');
  }
  if (what === 'v2.0/.well-known/openid-configuration') {
    if (req.method !== 'GET') return json(405, { error: 'invalid_request' });
    return json(200, openIdConfiguration(ctx));
  }
  if (what === 'discovery/v2.0/keys') return json(200, jwks(ctx));
  if (req.method !== 'POST') return json(405, { error: 'invalid_request', error_description: 'AADSTS900561: The endpoint only accepts POST requests.' });
  return token(ctx, req, tenantKey);
}

function token(ctx: EmulatorContext, req: EmulatorRequest, tenantKey: string): EmulatorResponse {
  const form = new URLSearchParams(req.body.toString('utf8'));
  const basic = /^Basic\s+(.+)$/i.exec(req.headers['authorization'] ?? '');
  let basicId: string | null = null;
  let basicSecret: string | null = null;
  if (basic?.[1]) {
    const [id, secret] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
    basicId = decodeURIComponent(id ?? '');
    basicSecret = decodeURIComponent(secret ?? '');
  }
  const grantType = form.get('grant_type');
  if (!grantType) {
    return entraError(ctx, req, 400, 'invalid_request', [900144], "The request body must contain the following parameter: 'grant_type'.");
  }
  if (grantType !== 'client_credentials') {
    return entraError(ctx, req, 400, 'unsupported_grant_type', [70003], `The app requested an unsupported grant type '${grantType}'.`);
  }
  const clientId = form.get('client_id') ?? basicId;
  if (!clientId) {
    return entraError(ctx, req, 400, 'invalid_request', [900144], "The request body must contain the following parameter: 'client_id'.");
  }
  const app = ctx.tenant.app(clientId);
  if (!app) {
    return entraError(
      ctx,
      req,
      400,
      'unauthorized_client',
      [700016],
      `Application with identifier '${clientId}' was not found in the directory '${ctx.tenant.displayName}'. This can happen if the application ` +
        'has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your ' +
        'authentication request to the wrong tenant.',
    );
  }
  const scopeParam = form.get('scope');
  if (!scopeParam) {
    return entraError(ctx, req, 400, 'invalid_request', [900144], "The request body must contain the following parameter: 'scope'.");
  }
  const scopes = scopeParam.split(/\s+/).filter((s) => s !== '' && !['openid', 'profile', 'offline_access'].includes(s));
  const scope = scopes[0] ?? '';
  if (scopes.length !== 1 || !scope.endsWith('/.default')) {
    return entraError(
      ctx,
      req,
      400,
      'invalid_scope',
      [1002012],
      `The provided value for scope ${scopeParam} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    );
  }
  const resource = scope.slice(0, -'/.default'.length).replace(/\/$/, '');
  const audience = RESOURCE_ALIASES[resource.toLowerCase()];
  if (!audience) {
    return entraError(
      ctx,
      req,
      400,
      'invalid_resource',
      [500011],
      `The resource principal named ${resource} was not found in the tenant named ${ctx.tenant.displayName}. This can happen if the application ` +
        'has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your ' +
        'authentication request to the wrong tenant.',
    );
  }
  const secret = form.get('client_secret') ?? basicSecret;
  const assertion = form.get('client_assertion');
  let appidacr: '1' | '2';
  if (assertion) {
    const failure = checkClientAssertion(ctx, req, app, tenantKey, assertion, form.get('client_assertion_type'));
    if (failure) return failure;
    appidacr = '2';
  } else if (secret) {
    if (!app.secrets.includes(secret)) {
      return entraError(
        ctx,
        req,
        401,
        'invalid_client',
        [7000215],
        `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`,
      );
    }
    appidacr = '1';
  } else {
    return entraError(
      ctx,
      req,
      401,
      'invalid_client',
      [7000216],
      "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
    );
  }
  const accessToken = issueAccessToken(ctx, app, audience, appidacr);
  return json(
    200,
    { token_type: 'Bearer', expires_in: TOKEN_LIFETIME_S, ext_expires_in: TOKEN_LIFETIME_S, access_token: accessToken },
    { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' },
  );
}

function checkClientAssertion(
  ctx: EmulatorContext,
  req: EmulatorRequest,
  app: AppRegistration,
  tenantKey: string,
  assertion: string,
  assertionType: string | null,
): EmulatorResponse | null {
  if (assertionType !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
    return entraError(
      ctx,
      req,
      400,
      'invalid_request',
      [50027],
      "Invalid JWT token. The 'client_assertion_type' parameter must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.",
    );
  }
  const jwt = decodeJwt(assertion);
  if (!jwt) return entraError(ctx, req, 401, 'invalid_client', [50027], 'JWT token is invalid or malformed.');
  const wantedS256 = typeof jwt.header['x5t#S256'] === 'string' ? jwt.header['x5t#S256'] : null;
  const wantedSha1 = typeof jwt.header.x5t === 'string' ? jwt.header.x5t : null;
  const cert = app.certificates
    .map((pem) => certificateThumbprints(pem))
    .find((t) => (wantedS256 !== null && t.x5tS256 === wantedS256) || (wantedSha1 !== null && t.x5t === wantedSha1));
  const clientThumb = wantedSha1
    ? Buffer.from(wantedSha1, 'base64url').toString('hex').toUpperCase()
    : wantedS256
      ? Buffer.from(wantedS256, 'base64url').toString('hex').toUpperCase()
      : '';
  const keyHint =
    `Thumbprint of key used by client: '${clientThumb}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see ` +
    `configured keys for app Id '${app.clientId}'.`;
  if (!cert) {
    return entraError(ctx, req, 401, 'invalid_client', [700027], `Client assertion contains an invalid signature. [Reason - The key was not found., ${keyHint}]`);
  }
  if (!verifyJwtSignature(jwt, cert.publicKey)) {
    return entraError(
      ctx,
      req,
      401,
      'invalid_client',
      [700027],
      `Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., ${keyHint}]`,
    );
  }
  const p = jwt.payload;
  if (p.iss !== app.clientId || p.sub !== app.clientId) {
    return entraError(ctx, req, 401, 'invalid_client', [700021], "Client assertion application identifier doesn't match 'client_id' parameter.");
  }
  const audiences = [tenantKey, ctx.tenant.tenantId, ...ctx.tenant.acceptedDomains().map((d) => d.name)].map(
    (t) => `${ctx.baseUrl}/${t}/oauth2/v2.0/token`.toLowerCase(),
  );
  const aud = Array.isArray(p.aud) ? p.aud : [p.aud];
  if (!aud.some((a) => typeof a === 'string' && audiences.includes(a.toLowerCase()))) {
    return entraError(ctx, req, 401, 'invalid_client', [70002, 50012], 'Error validating credentials. AADSTS50012: Client assertion audience claim does not match Realm issuer.');
  }
  const now = ctx.realClock.now() / 1000;
  const exp = typeof p.exp === 'number' ? p.exp : 0;
  const nbf = typeof p.nbf === 'number' ? p.nbf : 0;
  const skew = 300;
  if (exp + skew < now || nbf - skew > now) {
    return entraError(
      ctx,
      req,
      401,
      'invalid_client',
      [700024],
      `Client assertion is not within its valid time range. Current time: ${new Date(now * 1000).toISOString()}, assertion valid from ` +
        `${new Date(nbf * 1000).toISOString()}, expiry time of assertion ${new Date(exp * 1000).toISOString()}.`,
    );
  }
  return null;
}

function issueAccessToken(ctx: EmulatorContext, app: AppRegistration, audience: string, appidacr: '1' | '2'): string {
  const now = Math.floor(ctx.realClock.now() / 1000);
  const tid = ctx.tenant.tenantId;
  const payload: JwtPayload = {
    aud: audience,
    iss: `https://sts.windows.net/${tid}/`,
    iat: now,
    nbf: now,
    exp: now + TOKEN_LIFETIME_S,
    app_displayname: app.displayName,
    appid: app.clientId,
    appidacr,
    idp: `https://sts.windows.net/${tid}/`,
    idtyp: 'app',
    oid: app.servicePrincipalId,
    roles: audience === GRAPH_AUDIENCE ? app.graphRoles : app.exchangeRoles,
    sub: app.servicePrincipalId,
    tid,
    uti: Buffer.from(randomUUID()).toString('base64url').slice(0, 22),
    ver: '1.0',
  };
  // The Entra roles of the service principal travel as template ids in `wids`; Exchange Online "configures the session
  // RBAC using the directory role information that's available in the token"
  // (https://learn.microsoft.com/powershell/exchange/app-only-auth-powershell-v2, "How does it work?").
  const wids = (app.directoryRoles ?? DEFAULT_DIRECTORY_ROLES).map((r) => DIRECTORY_ROLE_TEMPLATE_IDS[r]);
  if (wids.length > 0) payload.wids = wids;
  return signJwt({ kid: ctx.signingKid, x5t: ctx.signingKid }, payload, ctx.signingKey);
}

/** The claims of a verified access token. */
export interface AccessClaims {
  appid: string;
  oid: string;
  tid: string;
  aud: string;
  roles: string[];
  /** Template ids of the Entra roles of the service principal. */
  wids: string[];
}

export type TokenCheck = { ok: true; claims: AccessClaims } | { ok: false; reason: 'empty' | 'malformed' | 'signature' | 'expired' | 'audience' | 'tenant' };

/** Verifies a bearer token issued by this emulator for `audience`. */
/**
 * Tokens whose RS256 signature was checked with a signing key, by key: a client sends the same token with every
 * call until it expires, and checking the signature is the costly part of the check. Whether a token's signature
 * holds for a key never changes, so a remembered answer is the same answer; everything else (expiry, audience,
 * tenant) is checked on every call.
 */
const verifiedSignatures = new WeakMap<object, Set<string>>();
const VERIFIED_KEPT = 256;

function signatureHolds(ctx: EmulatorContext, token: string, jwt: NonNullable<ReturnType<typeof decodeJwt>>): boolean {
  let seen = verifiedSignatures.get(ctx.signingKey);
  if (seen?.has(token)) return true;
  if (jwt.header.alg !== 'RS256' || !verifyJwtSignature(jwt, ctx.signingKey)) return false;
  if (!seen) verifiedSignatures.set(ctx.signingKey, (seen = new Set()));
  if (seen.size >= VERIFIED_KEPT) seen.clear();
  seen.add(token);
  return true;
}

export function verifyAccessToken(ctx: EmulatorContext, token: string | null, audience: string): TokenCheck {
  if (!token) return { ok: false, reason: 'empty' };
  const jwt = decodeJwt(token);
  if (!jwt) return { ok: false, reason: 'malformed' };
  if (!signatureHolds(ctx, token, jwt)) return { ok: false, reason: 'signature' };
  const p = jwt.payload;
  const now = ctx.realClock.now() / 1000;
  if (typeof p.exp !== 'number' || p.exp < now) return { ok: false, reason: 'expired' };
  if (p.aud !== audience) return { ok: false, reason: 'audience' };
  if (p.tid !== ctx.tenant.tenantId) return { ok: false, reason: 'tenant' };
  return {
    ok: true,
    claims: {
      appid: String(p.appid),
      oid: String(p.oid),
      tid: String(p.tid),
      aud: String(p.aud),
      roles: Array.isArray(p.roles) ? p.roles.filter((r): r is string => typeof r === 'string') : [],
      wids: Array.isArray(p.wids) ? p.wids.filter((r): r is string => typeof r === 'string') : [],
    },
  };
}

/** A stable key id for the token-signing key (SHA-1 of its public key, base64url). */
export function keyIdFor(publicKeyDer: Buffer): string {
  return createHash('sha1').update(publicKeyDer).digest('base64url');
}
