/**
 * The doctor's cloud checks: can Mailroom's app get tokens, does it hold the application permissions the code calls
 * for, does Exchange Online let it run Mailroom's cmdlets, is the Cloud Sync job running, are licences free, and are
 * Mailroom's mail domains accepted. One line each, ✔ or ✖ with what to do.
 *
 * The checks sign in afresh (their own credential and clients, closed after the last check): Entra ID puts an app's
 * permissions and roles into its tokens, so a running Mailroom's cached token would show what was granted up to an
 * hour ago, not what is granted now.
 */
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { TokenCredential } from '@azure/identity';
import type { Client } from '@microsoft/microsoft-graph-client';
import { createCredential, EXCHANGE_SCOPE, GRAPH_SCOPE, trustedCas } from '../cloud/credential';
import { ExoClient } from '../cloud/exo';
import { createGraphClient, type SubscribedSku } from '../cloud/graph';
import type { CloudConfig, ProfileSettings } from '../config/config';
import { skuName } from '../requests/tenant-profile';
import { fail, pass, type Check, type CheckLine } from './report';

// =============================================================================================
// What Mailroom needs from Microsoft Graph
// =============================================================================================

/** One application permission Mailroom needs, with the Graph calls that need it. */
export interface GraphPermissionNeed {
  /** The least-privileged application permission that covers the calls below. */
  readonly permission: string;
  /** The permissions Graph accepts for all of these calls (the first is `permission`), from the APIs' Permissions tables. */
  readonly satisfiedBy: readonly string[];
  /**
   * When Mailroom needs it: always, with Entra Cloud Sync (provision on demand), with a licensing group, or when it
   * reaches approvers who never opened it (TEAMS_APP_CATALOG_ID set).
   */
  readonly when: 'always' | 'cloud-sync' | 'group-licensing' | 'teams-reach';
  /** The Graph calls (as in src/cloud/graph.ts and the executors' $batch URLs), what for, and the documented permissions. */
  readonly apis: readonly { readonly call: string; readonly usedFor: string; readonly doc: string }[];
}

const GRAPH_API = 'https://learn.microsoft.com/graph/api';

/**
 * Every Microsoft Graph application permission Mailroom needs, least privileged first. Derived from the calls in
 * src/cloud/graph.ts (GraphDirectory) and the workflow's `$batch` look-ups (src/workflow/executors/graph-batch.ts), each
 * checked against the Permissions table of its API page:
 *
 * - GET /users/{id}, GET /users?$filter: User.Read.All, covered by User.ReadWrite.All, which PATCH /users/{id} needs;
 *   POST /users/{id}/assignLicense's least privileged permission is LicenseAssignment.ReadWrite.All, but it accepts
 *   User.ReadWrite.All, so Mailroom asks for no more.
 * - POST /users/{id}/checkMemberGroups needs "User.Read.All and GroupMember.Read.All" (or Directory.Read.All).
 * - GET /subscribedSkus takes LicenseAssignment.Read.All (LicenseAssignment.ReadWrite.All is not in its table).
 * - provisionOnDemand's least privileged application permission, Application.ReadWrite.OwnedBy, only works for an app
 *   that owns the service principal; the Cloud Sync service principal is not Mailroom's, so it needs
 *   Synchronization.ReadWrite.All.
 * - GET /users/{id}/memberOf (licensing-group read-back) takes only Directory.Read.All or Directory.ReadWrite.All.
 */
export const MAILROOM_GRAPH_PERMISSIONS: readonly GraphPermissionNeed[] = [
  {
    permission: 'User.ReadWrite.All',
    satisfiedBy: ['User.ReadWrite.All', 'Directory.ReadWrite.All'],
    when: 'always',
    apis: [
      { call: 'PATCH /users/{id}', usedFor: 'set the usage location a licence needs', doc: `${GRAPH_API}/user-update` },
      { call: 'POST /users/{id}/assignLicense', usedFor: 'assign and remove licences', doc: `${GRAPH_API}/user-assignlicense` },
      { call: 'GET /users/{id}, GET /users?$filter=… ($batch)', usedFor: 'find users and wait for them to sync', doc: `${GRAPH_API}/user-get` },
      { call: 'POST /users/{id}/checkMemberGroups', usedFor: 'check roles and approvers given as groups (with GroupMember.Read.All)', doc: `${GRAPH_API}/directoryobject-checkmembergroups` },
      { call: 'GET /users/{id}/manager', usedFor: "find a requester's manager, who approves where the policy says so", doc: `${GRAPH_API}/user-list-manager` },
      { call: 'POST /users/{id}/revokeSignInSessions', usedFor: 'offboarding: sign the person out everywhere (its least privileged permission, User.RevokeSessions.All, is covered)', doc: `${GRAPH_API}/user-revokesigninsessions` },
    ],
  },
  {
    permission: 'GroupMember.Read.All',
    satisfiedBy: ['GroupMember.Read.All', 'GroupMember.ReadWrite.All', 'Group.Read.All', 'Group.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
    when: 'always',
    apis: [
      { call: 'POST /users/{id}/checkMemberGroups', usedFor: 'check roles and approvers given as groups (with User.Read.All)', doc: `${GRAPH_API}/directoryobject-checkmembergroups` },
      { call: 'GET /groups/{id}/transitiveMembers/microsoft.graph.user', usedFor: 'notify the members of approver groups, nested groups included', doc: `${GRAPH_API}/group-list-transitivemembers` },
      { call: 'GET /groups?$filter=… ($batch)', usedFor: 'wait for new groups to sync', doc: `${GRAPH_API}/group-list` },
    ],
  },
  {
    permission: 'OrgContact.Read.All',
    satisfiedBy: ['OrgContact.Read.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
    when: 'always',
    apis: [{ call: 'GET /contacts?$filter=… ($batch)', usedFor: 'wait for new mail contacts to sync', doc: `${GRAPH_API}/orgcontact-list` }],
  },
  {
    permission: 'LicenseAssignment.Read.All',
    satisfiedBy: ['LicenseAssignment.Read.All', 'Organization.Read.All', 'Organization.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
    when: 'always',
    apis: [{ call: 'GET /subscribedSkus', usedFor: 'find the Exchange Online licence and its free units', doc: `${GRAPH_API}/subscribedsku-list` }],
  },
  {
    permission: 'Synchronization.ReadWrite.All',
    satisfiedBy: ['Synchronization.ReadWrite.All'],
    when: 'cloud-sync',
    apis: [
      { call: 'POST /servicePrincipals/{id}/synchronization/jobs/{jobId}/provisionOnDemand', usedFor: 'sync a new object at once (Entra Cloud Sync)', doc: `${GRAPH_API}/synchronization-synchronizationjob-provisionondemand` },
      { call: 'GET /servicePrincipals/{id}/synchronization/jobs/{jobId}/schema', usedFor: "find the synchronization rule provisionOnDemand names (the job's schema)", doc: `${GRAPH_API}/synchronization-synchronizationschema-get` },
      { call: 'GET /servicePrincipals/{id}/synchronization/jobs/{jobId}', usedFor: "read the Cloud Sync job's status (the doctor)", doc: `${GRAPH_API}/synchronization-synchronizationjob-get` },
    ],
  },
  {
    permission: 'GroupMember.ReadWrite.All',
    satisfiedBy: ['GroupMember.ReadWrite.All', 'Group.ReadWrite.All', 'Directory.ReadWrite.All'],
    when: 'group-licensing',
    apis: [
      { call: 'POST /groups/{id}/members/$ref, DELETE /groups/{id}/members/{memberId}/$ref', usedFor: 'add users to and remove them from the licensing group', doc: `${GRAPH_API}/group-post-members` },
      { call: 'GET /groups/{id}', usedFor: "read the licensing group (the doctor)", doc: `${GRAPH_API}/group-get` },
    ],
  },
  {
    permission: 'TeamsAppInstallation.ReadWriteSelfForUser.All',
    satisfiedBy: ['TeamsAppInstallation.ReadWriteSelfForUser.All', 'TeamsAppInstallation.ReadWriteForUser.All', 'TeamsAppInstallation.ReadWriteAndConsentSelfForUser.All', 'TeamsAppInstallation.ReadWriteAndConsentForUser.All'],
    when: 'teams-reach',
    apis: [
      { call: 'POST /users/{id}/teamwork/installedApps', usedFor: 'install Mailroom for an approver who never opened it', doc: `${GRAPH_API}/userteamwork-post-installedapps` },
      { call: 'GET /users/{id}/teamwork/installedApps/{id}/chat', usedFor: "find the approver's chat with Mailroom, to send the card there", doc: `${GRAPH_API}/userscopeteamsappinstallation-get-chat` },
    ],
  },
  {
    permission: 'TeamsActivity.Send',
    satisfiedBy: ['TeamsActivity.Send'],
    when: 'teams-reach',
    apis: [{ call: 'POST /users/{id}/teamwork/sendActivityNotification', usedFor: "put an approval in the approver's activity feed", doc: `${GRAPH_API}/userteamwork-sendactivitynotification` }],
  },
  {
    permission: 'Directory.Read.All',
    satisfiedBy: ['Directory.Read.All', 'Directory.ReadWrite.All'],
    when: 'group-licensing',
    apis: [{ call: 'GET /users/{id}/memberOf', usedFor: "read back a user's licensing-group membership", doc: `${GRAPH_API}/user-list-memberof` }],
  },
];

/** Which of the needs apply to this configuration. */
export function graphPermissionsNeeded(profile: ProfileSettings, teamsReach = false): GraphPermissionNeed[] {
  const cloudSync = syncEngineOf(profile) === 'cloud';
  const groupLicensing = profile.licensing?.mode === 'group';
  return MAILROOM_GRAPH_PERMISSIONS.filter(
    (n) => n.when === 'always' || (n.when === 'cloud-sync' && cloudSync) || (n.when === 'group-licensing' && groupLicensing) || (n.when === 'teams-reach' && teamsReach),
  );
}

/** The sync engine as the tenant profile decides it: configured, else Cloud Sync when a job is configured, else Connect Sync. */
function syncEngineOf(profile: ProfileSettings): 'cloud' | 'connect' {
  return profile.sync ?? (profile.syncServicePrincipalId && profile.syncJobId ? 'cloud' : 'connect');
}

// =============================================================================================
// The checks
// =============================================================================================

export interface CloudDoctorDeps {
  readonly cloud: CloudConfig;
  readonly profile: ProfileSettings;
  /** Mailroom installs itself for approvers who never opened it (TEAMS_APP_CATALOG_ID): the Teams permissions are checked too. */
  readonly teamsReach?: boolean;
  /** PEM file of an extra CA to trust (EXTRA_CA_FILE), e.g. the sandbox's. */
  readonly extraCaFile?: string;
  /** Instead of the one made from `cloud` (tests). */
  readonly credential?: TokenCredential;
}

const ENTRA = 'Microsoft Entra ID';
const GRAPH = 'Microsoft Graph';
const EXO = 'Exchange Online';
const SYNC = 'Directory sync';
const LICENCES = 'Licences';

/** Exchange Online service plans: a SKU with one of them gives a mailbox (as in src/requests/tenant-profile.ts). */
const EXCHANGE_SERVICE_PLANS = ['EXCHANGE_S_STANDARD', 'EXCHANGE_S_ENTERPRISE', 'EXCHANGE_S_DESKLESS', 'EXCHANGE_S_ESSENTIALS'];
const SKU_PREFERENCE = ['EXCHANGESTANDARD', 'EXCHANGEESSENTIALS', 'EXCHANGEENTERPRISE', 'EXCHANGEDESKLESS'];

const APP_ONLY_DOC = 'https://learn.microsoft.com/powershell/exchange/app-only-auth-powershell-v2';

/** The Exchange read cmdlets the check runs (harmless; Mailroom calls each of them). */
const EXO_READS: readonly { cmdlet: string; parameters: Record<string, unknown> }[] = [
  { cmdlet: 'Get-OrganizationConfig', parameters: {} },
  { cmdlet: 'Get-Recipient', parameters: { ResultSize: 1 } },
  { cmdlet: 'Get-User', parameters: { ResultSize: 1 } },
  { cmdlet: 'Get-Mailbox', parameters: { ResultSize: 1 } },
];

interface Token {
  readonly ok: true;
  readonly claims: { appid: string; oid: string; tid: string; roles: string[] };
}
type TokenResult = Token | { readonly ok: false; readonly error: unknown };

/** The checks' own sign-in and clients, made on first use and closed after the last check. */
class CloudSession {
  private credential: TokenCredential | undefined;
  private tokens = new Map<string, Promise<TokenResult>>();
  private graphHandle: { client: Client; close(): void } | undefined;
  private exoClient: ExoClient | undefined;
  readonly ca: Buffer | undefined;

  constructor(private readonly deps: CloudDoctorDeps) {
    this.ca = deps.extraCaFile ? readFileSync(deps.extraCaFile) : undefined;
  }

  private cred(): TokenCredential {
    this.credential ??= this.deps.credential ?? createCredential(this.deps.cloud, this.ca);
    return this.credential;
  }

  token(scope: string): Promise<TokenResult> {
    let t = this.tokens.get(scope);
    if (!t) {
      t = (async (): Promise<TokenResult> => {
        try {
          const got = await this.cred().getToken(scope);
          if (!got) return { ok: false, error: new Error('the credential returned no token') };
          return { ok: true, claims: readClaims(got.token) };
        } catch (error) {
          return { ok: false, error };
        }
      })();
      this.tokens.set(scope, t);
    }
    return t;
  }

  graph(): Client {
    this.graphHandle ??= createGraphClient(this.deps.cloud.graphUrl, this.cred(), this.ca);
    return this.graphHandle.client;
  }

  exo(): ExoClient {
    this.exoClient ??= new ExoClient({ url: this.deps.cloud.exoUrl, tenantId: this.deps.cloud.tenantId, credential: this.cred(), extraCaPem: this.ca, attempts: 2, maxWaitMs: 5_000 });
    return this.exoClient;
  }

  close(): void {
    this.graphHandle?.close();
    this.exoClient?.close();
    this.graphHandle = undefined;
    this.exoClient = undefined;
    this.credential = undefined;
    this.tokens.clear();
  }
}

/** The claims of an access token, read without checking its signature (the doctor only reads what it was granted). */
function readClaims(token: string): Token['claims'] {
  const part = token.split('.')[1] ?? '';
  let payload: Record<string, unknown> = {};
  try {
    payload = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    // not a JWT: no claims
  }
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  return {
    appid: str(payload.appid) || str(payload.azp),
    oid: str(payload.oid),
    tid: str(payload.tid),
    roles: Array.isArray(payload.roles) ? payload.roles.filter((r): r is string => typeof r === 'string') : [],
  };
}

/**
 * The cloud checks, in the order an admin fixes things: sign-in, Graph permissions, Exchange Online, directory sync,
 * licences, accepted domains. Each runs its own calls; the last one closes the shared sign-in.
 */
export function cloudChecks(deps: CloudDoctorDeps): Check[] {
  const session = new CloudSession(deps);
  const checks: Check[] = [
    { area: ENTRA, name: 'token for Microsoft Graph', run: () => graphTokenLines(session, deps) },
    { area: GRAPH, name: 'application permissions', run: () => graphPermissionLines(session, deps) },
    { area: EXO, name: 'Exchange.ManageAsApp', run: () => manageAsAppLines(session, deps) },
    { area: EXO, name: "Mailroom's read cmdlets", run: () => exoCmdletLines(session) },
    { area: SYNC, name: 'sync job', run: () => syncLines(session, deps) },
    { area: LICENCES, name: 'Exchange Online licences', run: () => licenceLines(session, deps) },
    { area: EXO, name: 'accepted domains', run: () => domainLines(session, deps) },
  ];
  const last = checks[checks.length - 1]!;
  checks[checks.length - 1] = {
    ...last,
    run: async () => {
      try {
        return await last.run();
      } finally {
        session.close();
      }
    },
  };
  return checks;
}

// ---------------------------------------------------------------------------------------------
// Sign-in
// ---------------------------------------------------------------------------------------------

function errorText(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  // MSAL's messages carry trace and correlation ids and a timestamp on further lines: the first sentence is the point
  return m.split(/\r?\n|Trace ID:/)[0]!.trim().slice(0, 400);
}

/**
 * MSAL reports any failure to read the authority's OpenID configuration as `endpoints_resolution_error`, an unknown
 * tenant as well as an unreachable host. Asking for the document directly tells them apart: Entra answers an unknown
 * tenant with 400 and AADSTS90002.
 */
function probeAuthority(cloud: CloudConfig, ca: Buffer | undefined): Promise<{ reachable: boolean; text: string }> {
  const url = `${cloud.authorityHost.replace(/\/+$/, '')}/${encodeURIComponent(cloud.tenantId)}/v2.0/.well-known/openid-configuration`;
  return new Promise((resolve) => {
    try {
      const req = httpsRequest(url, { method: 'GET', timeout: 10_000, ...(ca ? { ca: trustedCas(ca) } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ reachable: true, text: `HTTP ${res.statusCode ?? 0} ${Buffer.concat(chunks).toString('utf8').slice(0, 2000)}` }));
        res.on('error', (err) => resolve({ reachable: false, text: err.message }));
      });
      req.on('timeout', () => req.destroy(new Error(`${url} did not answer in time`)));
      req.on('error', (err) => resolve({ reachable: false, text: `${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}` }));
      req.end();
    } catch (err) {
      resolve({ reachable: false, text: err instanceof Error ? err.message : String(err) });
    }
  });
}

/** What to do about a failed sign-in, by Entra's AADSTS code or the kind of network failure. */
export function tokenAdvice(err: unknown, cloud: CloudConfig, probe?: { reachable: boolean; text: string }): string {
  const text = `${err instanceof Error ? `${err.name} ${err.message} ${(err as { code?: string }).code ?? ''}` : String(err)} ${probe?.text ?? ''}`;
  if (probe && !probe.reachable) {
    return `Mailroom could not reach the sign-in authority ${cloud.authorityHost}: check AUTHORITY_HOST (https://login.microsoftonline.com for Microsoft's global cloud), DNS, proxy and firewall; behind a TLS-inspecting proxy or with a private CA, set EXTRA_CA_FILE.`;
  }
  const how = cloud.clientCertificatePath ? 'certificate' : 'secret';
  if (/AADSTS7000215/.test(text)) {
    return "CLIENT_SECRET is wrong: use the secret's Value (shown once, when it was made), not its Secret ID. If it is lost, add a new one under App registrations → the app → Certificates & secrets.";
  }
  if (/AADSTS7000222/.test(text)) return 'The client secret has expired: add a new one under App registrations → the app → Certificates & secrets and put its Value in CLIENT_SECRET.';
  if (/AADSTS700027|AADSTS700024|AADSTS700021|AADSTS50012/.test(text)) {
    return `Entra ID did not accept the client certificate (${/AADSTS700024/.test(text) ? "this machine's clock is off" : 'its key is not one of the app\'s'}): upload the public part of CLIENT_CERTIFICATE_PATH under App registrations → the app → Certificates & secrets → Certificates${/AADSTS700024/.test(text) ? ", and set this machine's clock right" : ''}.`;
  }
  if (/AADSTS700016/.test(text)) {
    return `Entra ID has no app ${cloud.clientId} in tenant ${cloud.tenantId}: check CLIENT_ID (the app's "Application (client) ID") and TENANT_ID (the "Directory (tenant) ID"), both on the app's Overview page.`;
  }
  if (/AADSTS90002|AADSTS900023|AADSTS90013/.test(text)) return `Tenant ${cloud.tenantId} does not exist at ${cloud.authorityHost}: check TENANT_ID (the "Directory (tenant) ID") and AUTHORITY_HOST.`;
  if (/ENOENT|EACCES/.test(text) && cloud.clientCertificatePath) return `CLIENT_CERTIFICATE_PATH (${cloud.clientCertificatePath}) cannot be read: it must be a PEM file with the private key and the certificate, readable by Mailroom.`;
  if (/endpoints_resolution_error|ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|self[- ]signed|unable to verify|certificate/i.test(text)) {
    return `Mailroom could not reach the sign-in authority ${cloud.authorityHost}: check AUTHORITY_HOST (https://login.microsoftonline.com for Microsoft's global cloud), DNS, proxy and firewall; behind a TLS-inspecting proxy or with a private CA, set EXTRA_CA_FILE.`;
  }
  return `Fix what the message names (the app's ${how}, CLIENT_ID, TENANT_ID or AUTHORITY_HOST), then run the doctor again.`;
}

async function graphTokenLines(session: CloudSession, deps: CloudDoctorDeps): Promise<CheckLine[]> {
  const t = await session.token(GRAPH_SCOPE);
  const how = deps.cloud.clientCertificatePath ? 'its certificate' : 'its client secret';
  if (!t.ok) {
    let probe: { reachable: boolean; text: string } | undefined;
    let found = '';
    if (/endpoints_resolution_error/.test(errorText(t.error))) {
      probe = await probeAuthority(deps.cloud, session.ca);
      const aadsts = /AADSTS\d+:[^"\\]*/.exec(probe.text)?.[0];
      found = probe.reachable ? ` The authority answers: ${aadsts ?? probe.text.slice(0, 200)}` : ` The authority did not answer: ${probe.text.trim()}`;
    }
    return [fail(ENTRA, 'token for Microsoft Graph', `App ${deps.cloud.clientId} could not sign in to tenant ${deps.cloud.tenantId} with ${how}: ${errorText(t.error)}.${found}`, tokenAdvice(t.error, deps.cloud, probe))];
  }
  return [pass(ENTRA, 'token for Microsoft Graph', `App ${t.claims.appid || deps.cloud.clientId} signs in to tenant ${t.claims.tid || deps.cloud.tenantId} with ${how}.`)];
}

const NO_TOKEN = 'Get the sign-in working first (the token line above).';

// ---------------------------------------------------------------------------------------------
// Graph application permissions
// ---------------------------------------------------------------------------------------------

async function graphPermissionLines(session: CloudSession, deps: CloudDoctorDeps): Promise<CheckLine[]> {
  const t = await session.token(GRAPH_SCOPE);
  if (!t.ok) return [fail(GRAPH, 'application permissions', 'Not checked: Mailroom could not get a token for Microsoft Graph.', NO_TOKEN)];
  const roles = t.claims.roles;
  return graphPermissionsNeeded(deps.profile, deps.teamsReach === true).map((need) => {
    const name = `application permission ${need.permission}`;
    const what = need.apis.map((a) => a.usedFor).join('; ');
    const via = need.satisfiedBy.find((p) => roles.includes(p));
    if (via) return pass(GRAPH, name, via === need.permission ? `Granted; Mailroom needs it to ${what}.` : `Granted through ${via} (more than Mailroom needs); Mailroom needs it to ${what}.`);
    const note =
      need.when === 'cloud-sync'
        ? ' Without it, provision on demand is refused: grant it, or set SYNC_MODE=connect and let waits follow the sync cycle.'
        : need.when === 'group-licensing'
          ? ' Mailroom needs it because LICENSING names a licensing group.'
          : '';
    return fail(
      GRAPH,
      name,
      `Not granted: the token's roles are ${roles.length ? roles.join(', ') : 'none'}. Mailroom needs it to ${what}; Graph refuses those calls with 403 Authorization_RequestDenied.`,
      `In the Microsoft Entra admin centre: App registrations → the app → API permissions → Add a permission → Microsoft Graph → Application permissions → ${need.permission}, then "Grant admin consent". See ${need.apis[0]!.doc}.${note}`,
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Exchange Online
// ---------------------------------------------------------------------------------------------

async function manageAsAppLines(session: CloudSession, deps: CloudDoctorDeps): Promise<CheckLine[]> {
  const name = 'application permission Exchange.ManageAsApp';
  const t = await session.token(EXCHANGE_SCOPE);
  if (!t.ok) {
    if (!(await session.token(GRAPH_SCOPE)).ok) return [fail(EXO, name, 'Not checked: Mailroom could not sign in (see the token line above).', NO_TOKEN)];
    return [fail(EXO, name, `No token for Exchange Online (${EXCHANGE_SCOPE}): ${errorText(t.error)}`, tokenAdvice(t.error, deps.cloud))];
  }
  if (t.claims.roles.includes('Exchange.ManageAsApp')) return [pass(EXO, name, 'Granted: the app may call Exchange Online as itself.')];
  return [
    fail(
      EXO,
      name,
      `Not granted: the Exchange Online token's roles are ${t.claims.roles.length ? t.claims.roles.join(', ') : 'none'}. Without it Exchange Online refuses every cmdlet.`,
      `In the Microsoft Entra admin centre: App registrations → the app → API permissions → Add a permission → APIs my organization uses → Office 365 Exchange Online → Application permissions → Exchange.ManageAsApp, then "Grant admin consent" (${APP_ONLY_DOC}, Step 2).`,
    ),
  ];
}

interface ExoFailure {
  status: number;
  detail: string;
}

function asExoFailure(err: unknown): ExoFailure | null {
  if (typeof err !== 'object' || err === null) return null;
  const e = err as { status?: unknown; detail?: unknown };
  return typeof e.status === 'number' && typeof e.detail === 'string' ? { status: e.status, detail: e.detail } : null;
}

const EXO_ROLE_ADVICE =
  'Give the app an Exchange role: in the Microsoft Entra admin centre, Roles and administrators → Exchange Administrator (or Exchange Recipient Administrator) → Add assignments → the app; ' +
  `or, narrower, put its Exchange service principal into a role group limited to Mailroom's recipients: \`npm run doctor -- --print-exo-rbac\` prints the commands (${APP_ONLY_DOC}, Step 5).`;

async function exoCmdletLines(session: CloudSession): Promise<CheckLine[]> {
  const name = "Mailroom's read cmdlets answer";
  const t = await session.token(EXCHANGE_SCOPE);
  if (!t.ok) return [fail(EXO, name, 'Not checked: Mailroom could not get a token for Exchange Online.', NO_TOKEN)];
  const refused: string[] = [];
  let other: { cmdlet: string; err: unknown } | undefined;
  let org = '';
  for (const { cmdlet, parameters } of EXO_READS) {
    try {
      const res = await session.exo().invoke<{ Name?: string; DisplayName?: string }>(cmdlet, parameters);
      if (cmdlet === 'Get-OrganizationConfig') org = res.value[0]?.DisplayName ?? res.value[0]?.Name ?? '';
    } catch (err) {
      const x = asExoFailure(err);
      if (x?.status === 401 && /not allowed to call/i.test(x.detail)) refused.push(cmdlet);
      else {
        other = { cmdlet, err };
        break;
      }
    }
  }
  const cmdlets = EXO_READS.map((r) => r.cmdlet).join(', ');
  if (other) {
    const x = asExoFailure(other.err);
    const advice =
      x?.status === 403
        ? `Exchange Online refused the app (HTTP 403): grant it Exchange.ManageAsApp (see the line above) and an Exchange role. ${EXO_ROLE_ADVICE}`
        : x?.status === 401
          ? 'Exchange Online did not accept the token (HTTP 401 without a message): check EXO_URL (https://outlook.office365.com/adminapi/beta/<tenant id>/InvokeCommand) and TENANT_ID.'
          : x?.status === 404
            ? 'Exchange Online does not know the tenant in EXO_URL: it must end in /adminapi/beta/<tenant id or initial domain>/InvokeCommand.'
            : 'Check EXO_URL, proxy and firewall; when Exchange Online answers again, run the doctor again.';
    return [fail(EXO, name, `${other.cmdlet} failed: ${errorText(other.err)}`, advice)];
  }
  if (refused.length > 0) {
    return [
      fail(
        EXO,
        name,
        `Exchange Online answered 401 "User is not allowed to call …" for ${refused.join(', ')}: the app has no Exchange role that includes ${refused.length === 1 ? 'it' : 'them'}.`,
        EXO_ROLE_ADVICE,
      ),
    ];
  }
  return [pass(EXO, name, `${cmdlets} answer${org ? ` (organisation ${org})` : ''}. Set-* cmdlets are not tried (they would change recipients); \`--print-exo-rbac\` lists the roles they need.`)];
}

// ---------------------------------------------------------------------------------------------
// Directory sync
// ---------------------------------------------------------------------------------------------

interface SyncJobJson {
  id?: string;
  status?: { code?: string; quarantine?: { reason?: string; error?: { code?: string; message?: string } | null } | null };
}

function graphStatus(err: unknown): { status: number; code: string; message: string } | null {
  if (typeof err !== 'object' || err === null) return null;
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown };
  return typeof e.statusCode === 'number' ? { status: e.statusCode, code: typeof e.code === 'string' ? e.code : '', message: typeof e.message === 'string' ? e.message : '' } : null;
}

function graphFailureLine(area: string, name: string, doing: string, err: unknown, permission: string): CheckLine {
  const g = graphStatus(err);
  if (g?.status === 403) {
    return fail(area, name, `Graph refused to ${doing} (403 ${g.code || 'Authorization_RequestDenied'}).`, `The app lacks ${permission} (see the Microsoft Graph lines above); grant it, then run the doctor again.`);
  }
  return fail(area, name, `Could not ${doing}: ${errorText(err)}`, 'Check GRAPH_URL, proxy and firewall; when Graph answers again, run the doctor again.');
}

async function syncLines(session: CloudSession, deps: CloudDoctorDeps): Promise<CheckLine[]> {
  const p = deps.profile;
  if (syncEngineOf(p) === 'connect') {
    return [
      pass(
        SYNC,
        'Entra Connect Sync',
        `${p.sync === 'connect' ? 'Configured' : 'Assumed (no Cloud Sync job configured)'}: Mailroom cannot trigger it, so its waits follow the sync server's cycle (every 30 minutes by default; Start-ADSyncSyncCycle -PolicyType Delta on the server runs one at once).`,
      ),
    ];
  }
  const name = 'Cloud Sync job';
  if (!p.syncServicePrincipalId || !p.syncJobId) {
    return [
      fail(
        SYNC,
        name,
        'SYNC_MODE=cloud, but SYNC_SERVICE_PRINCIPAL_ID and SYNC_JOB_ID are not both set: Mailroom cannot ask for provision on demand.',
        'Set them to the Cloud Sync configuration\'s service principal (its object id) and job (an id starting "AD2AADProvisioning."): Get-MgServicePrincipalSynchronizationJob lists the jobs of a service principal. Or set SYNC_MODE=connect.',
      ),
    ];
  }
  const t = await session.token(GRAPH_SCOPE);
  if (!t.ok) return [fail(SYNC, name, 'Not checked: Mailroom could not get a token for Microsoft Graph.', NO_TOKEN)];
  let job: SyncJobJson;
  try {
    job = (await session.graph().api(`/servicePrincipals/${encodeURIComponent(p.syncServicePrincipalId)}/synchronization/jobs/${encodeURIComponent(p.syncJobId)}`).get()) as SyncJobJson;
  } catch (err) {
    if (graphStatus(err)?.status === 404) {
      return [fail(SYNC, name, `Graph has no synchronization job ${p.syncJobId} on service principal ${p.syncServicePrincipalId}.`, 'Check SYNC_SERVICE_PRINCIPAL_ID and SYNC_JOB_ID (Get-MgServicePrincipalSynchronizationJob -ServicePrincipalId <id> lists the jobs).')];
    }
    return [graphFailureLine(SYNC, name, 'read the Cloud Sync job', err, 'Synchronization.ReadWrite.All')];
  }
  const code = job.status?.code ?? 'unknown';
  const pod = t.claims.roles.includes('Synchronization.ReadWrite.All');
  if (code === 'Active') {
    if (!pod) return [fail(SYNC, name, `Job ${p.syncJobId} is Active, but provision on demand is not allowed: the app lacks Synchronization.ReadWrite.All.`, 'Grant Synchronization.ReadWrite.All (see the Microsoft Graph lines above), or set SYNC_MODE=connect.')];
    return [pass(SYNC, name, `Job ${p.syncJobId} is Active; provision on demand is allowed (Synchronization.ReadWrite.All, 5 calls per 10 s per job).`)];
  }
  if (code === 'Quarantine') {
    const q = job.status?.quarantine;
    const why = [q?.reason, q?.error?.code, q?.error?.message].filter((x) => x).join(': ');
    return [
      fail(
        SYNC,
        name,
        `Job ${p.syncJobId} is in quarantine${why ? ` (${why})` : ''}: nothing reaches Entra ID, so Mailroom's waits time out.`,
        'Fix the cause shown (Entra admin centre → Entra Connect → Cloud Sync → the configuration → its status and provisioning logs), then restart the job, which clears the quarantine (POST …/synchronization/jobs/{jobId}/start, https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-start).',
      ),
    ];
  }
  if (code === 'Paused') {
    return [
      fail(
        SYNC,
        name,
        `Job ${p.syncJobId} is paused: nothing reaches Entra ID, so Mailroom's waits time out.`,
        'Start it again: Entra admin centre → Entra Connect → Cloud Sync → the configuration → Enable, or POST …/synchronization/jobs/{jobId}/start (https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-start).',
      ),
    ];
  }
  return [fail(SYNC, name, `Job ${p.syncJobId} has status ${code}: it does not sync.`, 'Finish its configuration and enable it in the Entra admin centre (Entra Connect → Cloud Sync), then run the doctor again.')];
}

// ---------------------------------------------------------------------------------------------
// Licences
// ---------------------------------------------------------------------------------------------

function givesMailbox(s: SubscribedSku): boolean {
  return (s.servicePlans ?? []).some((p) => EXCHANGE_SERVICE_PLANS.includes(p.servicePlanName.toUpperCase()));
}

function units(s: SubscribedSku): { enabled: number; consumed: number; free: number } {
  const enabled = s.prepaidUnits?.enabled ?? 0;
  const consumed = s.consumedUnits ?? 0;
  return { enabled, consumed, free: enabled - consumed };
}

const BUY_MORE = 'Buy more in the Microsoft 365 admin centre (Billing → Your products) or remove licences nobody uses; until then every new mailbox stops at its licence step.';

async function licenceLines(session: CloudSession, deps: CloudDoctorDeps): Promise<CheckLine[]> {
  const t = await session.token(GRAPH_SCOPE);
  const lic = deps.profile.licensing;
  const name = lic?.mode === 'group' ? `licensing group ${lic.groupName}` : 'Exchange Online licence';
  if (!t.ok) return [fail(LICENCES, name, 'Not checked: Mailroom could not get a token for Microsoft Graph.', NO_TOKEN)];
  let skus: SubscribedSku[];
  try {
    skus = ((await session.graph().api('/subscribedSkus').get()) as { value?: SubscribedSku[] }).value ?? [];
  } catch (err) {
    return [graphFailureLine(LICENCES, name, 'list the subscriptions (GET /subscribedSkus)', err, 'LicenseAssignment.Read.All')];
  }
  const exchange = skus.filter(givesMailbox);
  const list = exchange.map((s) => `${s.skuPartNumber} (${units(s).free} free)`).join(', ') || 'none';
  if (lic?.mode === 'group') {
    let group: { displayName?: string; assignedLicenses?: { skuId: string }[] };
    try {
      group = (await session.graph().api(`/groups/${encodeURIComponent(lic.groupId)}`).select(['id', 'displayName', 'assignedLicenses']).get()) as typeof group;
    } catch (err) {
      if (graphStatus(err)?.status === 404) return [fail(LICENCES, name, `Entra ID has no group ${lic.groupId}.`, 'Check LICENSING (group:<group object id>:<name>): the group must exist in Entra ID and carry the Exchange Online licence.')];
      return [graphFailureLine(LICENCES, name, `read the licensing group ${lic.groupId}`, err, 'GroupMember.Read.All')];
    }
    const given = exchange.filter((s) => (group.assignedLicenses ?? []).some((l) => l.skuId.toLowerCase() === s.skuId.toLowerCase()));
    if (given.length === 0) {
      return [fail(LICENCES, name, `Group ${group.displayName ?? lic.groupName} gives no Exchange Online licence (subscriptions with Exchange Online: ${list}).`, "Assign an Exchange Online licence to the group (Entra admin centre → Groups → the group → Licenses), or change LICENSING.")];
    }
    const free = given.filter((s) => units(s).free > 0);
    if (free.length === 0) {
      return [fail(LICENCES, name, `Group ${group.displayName ?? lic.groupName} gives ${given.map((s) => skuName(s.skuPartNumber)).join(', ')}, but no unit is free (${given.map((s) => `${units(s).consumed} of ${units(s).enabled} used`).join(', ')}).`, BUY_MORE)];
    }
    return [pass(LICENCES, name, `Group ${group.displayName ?? lic.groupName} gives ${free.map((s) => `${skuName(s.skuPartNumber)} (${units(s).free} of ${units(s).enabled} free)`).join(', ')}.`)];
  }
  let sku: SubscribedSku | undefined;
  if (lic?.mode === 'direct') {
    const wanted = lic.sku.toLowerCase();
    sku = skus.find((s) => s.skuId.toLowerCase() === wanted || s.skuPartNumber.toLowerCase() === wanted);
    if (!sku) return [fail(LICENCES, name, `The configured licence ${lic.sku} is not among the tenant's subscriptions (with Exchange Online: ${list}).`, 'Set LICENSING=direct:<SKU part number or id> to one of those, or buy the licence.')];
    if (!givesMailbox(sku)) return [fail(LICENCES, name, `The configured licence ${sku.skuPartNumber} includes no Exchange Online plan, so it creates no mailbox (with Exchange Online: ${list}).`, 'Set LICENSING=direct:<SKU> to a subscription with Exchange Online.')];
  } else {
    const ranked = [...exchange].sort((a, b) => rank(a) - rank(b));
    sku = ranked.find((s) => units(s).free > 0) ?? ranked[0];
    if (!sku) return [fail(LICENCES, name, 'No subscription of the tenant includes Exchange Online, so Mailroom cannot create mailboxes.', 'Buy Exchange Online (Plan 1) or a suite that includes it, or configure LICENSING.')];
  }
  const u = units(sku);
  if (u.free <= 0) return [fail(LICENCES, name, `${skuName(sku.skuPartNumber)} (${sku.skuPartNumber}) has no free unit: ${u.consumed} of ${u.enabled} are used.`, BUY_MORE)];
  return [pass(LICENCES, name, `${skuName(sku.skuPartNumber)} (${sku.skuPartNumber}): ${u.free} of ${u.enabled} free${lic ? '' : ' (chosen by Mailroom: no LICENSING configured)'}.`)];
}

function rank(s: SubscribedSku): number {
  const i = SKU_PREFERENCE.indexOf(s.skuPartNumber.toUpperCase());
  return i < 0 ? 99 : i;
}

// ---------------------------------------------------------------------------------------------
// Accepted domains
// ---------------------------------------------------------------------------------------------

async function domainLines(session: CloudSession, deps: CloudDoctorDeps): Promise<CheckLine[]> {
  const name = "accepted domains include Mailroom's";
  const t = await session.token(EXCHANGE_SCOPE);
  if (!t.ok) return [fail(EXO, name, 'Not checked: Mailroom could not get a token for Exchange Online.', NO_TOKEN)];
  let domains: { name: string; isDefault: boolean }[];
  try {
    const res = await session.exo().invoke<{ DomainName?: string; Name?: string; Default?: boolean }>('Get-AcceptedDomain');
    domains = res.value.map((d) => ({ name: String(d.DomainName ?? d.Name ?? '').toLowerCase(), isDefault: d.Default === true })).filter((d) => d.name);
  } catch (err) {
    const x = asExoFailure(err);
    if (x?.status === 401 && /not allowed to call/i.test(x.detail)) return [fail(EXO, name, 'Exchange Online answered 401 "User is not allowed to call Get-AcceptedDomain".', EXO_ROLE_ADVICE)];
    return [fail(EXO, name, `Get-AcceptedDomain failed: ${errorText(err)}`, 'See the Exchange Online lines above.')];
  }
  const names = domains.map((d) => d.name);
  const wanted: { domain: string; setting: string; why: string }[] = [];
  const p = deps.profile;
  if (p.mailDomain) wanted.push({ domain: p.mailDomain.toLowerCase(), setting: 'MAIL_DOMAIN', why: 'new primary addresses' });
  if (p.upnSuffix && p.upnSuffix.toLowerCase() !== p.mailDomain?.toLowerCase()) wanted.push({ domain: p.upnSuffix.toLowerCase(), setting: 'UPN_SUFFIX', why: 'new sign-in names' });
  const missing = wanted.filter((w) => !names.includes(w.domain));
  const def = domains.find((d) => d.isDefault);
  if (!p.mailDomain && !def) {
    missing.push({ domain: '(a default domain)', setting: 'MAIL_DOMAIN', why: 'new primary addresses' });
  }
  if (missing.length > 0) {
    return [
      fail(
        EXO,
        name,
        `${missing.map((m) => `${m.domain} (${m.setting}, for ${m.why})`).join(' and ')} ${missing.length === 1 ? 'is' : 'are'} not among the accepted domains: ${names.join(', ') || 'none'}.`,
        `Add and verify the domain in the Microsoft 365 admin centre (Settings → Domains); Exchange Online then accepts mail for it. Or set ${missing.map((m) => m.setting).join(' and ')} to one of the accepted domains.`,
      ),
    ];
  }
  const used = wanted.length > 0 ? wanted.map((w) => `${w.domain} (${w.setting})`).join(', ') : `${def!.name} (the default accepted domain; MAIL_DOMAIN is not set)`;
  return [pass(EXO, name, `${used} ${wanted.length > 1 ? 'are' : 'is'} accepted.`)];
}
