/**
 * Microsoft Graph v1.0 for the simulated tenant: the user, group, licence, `$batch` and Cloud Sync
 * (`provisionOnDemand`) calls Mailroom makes, with Graph's OData error bodies, paging and
 * advanced-query rules.
 */
import { randomUUID } from 'node:crypto';
import type { EmulatorContext, ProvisionOnDemandRequest, ProvisioningStep } from './context';
import { Prng } from './prng';
import { GraphError, graphNotFound } from './errors';
import { checkFilter, evaluateFilter, parseFilter, type FilterSpec } from './graph-filter';
import type { EmulatorRequest, EmulatorResponse } from './http';
import { bearerToken, isRecord, parseJsonBody } from './http';
import { GRAPH_AUDIENCE, verifyAccessToken, type AccessClaims } from './oauth';
import { isMailboxType } from './rules';
import type { EntraContact, EntraGroup, EntraUser, SyncJobState, Tenant } from './tenant';
import { AD2AAD_RULE_ID } from './tenant-model';

const ODATA_JSON = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';
const MAX_BATCH = 20;
const DEFAULT_PAGE = 100;
const MAX_PAGE = 999;

/** One Graph call, from HTTP or from a `$batch` item. */
interface GraphCall {
  method: string;
  /** Path below `/v1.0`, e.g. `/users/abc`. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: unknown;
  claims: AccessClaims;
  /** Set for the sub-requests of a `$batch`. */
  inBatch?: boolean;
}

interface GraphReply {
  status: number;
  headers: Record<string, string>;
  body?: unknown;
}

function graphDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '');
}

/** Graph's error body. */
function graphErrorBody(code: string, message: string, requestId: string, clientRequestId: string, nowMs: number): unknown {
  return { error: { code, message, innerError: { date: graphDate(nowMs), 'request-id': requestId, 'client-request-id': clientRequestId } } };
}

function reply(status: number, body?: unknown, headers: Record<string, string> = {}): GraphReply {
  return { status, headers: body === undefined ? headers : { 'content-type': ODATA_JSON, ...headers }, body };
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

const USER_DEFAULT_SELECT = ['businessPhones', 'displayName', 'givenName', 'jobTitle', 'mail', 'mobilePhone', 'officeLocation', 'preferredLanguage', 'surname', 'userPrincipalName', 'id'];

function userJson(t: Tenant, u: EntraUser, skus = t.skus()): Record<string, unknown> {
  const rec = t.recipientOf(u.id);
  const mailEnabled = rec !== undefined && (isMailboxType(rec.recipientTypeDetails) || rec.recipientTypeDetails === 'MailUser' || rec.recipientTypeDetails === 'GuestMailUser');
  const proxyAddresses = mailEnabled
    ? rec.emailAddresses
    : u.ad?.proxyAddresses && u.ad.proxyAddresses.length > 0
      ? u.ad.proxyAddresses
      : u.mail
        ? [`SMTP:${u.mail}`]
        : [];
  const active = u.licenseAssignmentStates.filter((l) => l.state === 'Active');
  const assignedLicenses: { disabledPlans: string[]; skuId: string }[] = [];
  for (const l of active) if (!assignedLicenses.some((a) => a.skuId === l.skuId)) assignedLicenses.push({ disabledPlans: l.disabledPlans, skuId: l.skuId });
  const assignedPlans = assignedLicenses.flatMap((l) =>
    (skus.find((s) => s.skuId === l.skuId)?.servicePlans ?? [])
      .filter((p) => !l.disabledPlans.includes(p.servicePlanId))
      .map((p) => ({
        assignedDateTime: u.licenseAssignmentStates.find((x) => x.skuId === l.skuId)?.lastUpdatedDateTime ?? u.createdDateTime,
        capabilityStatus: 'Enabled',
        service: p.servicePlanName.startsWith('EXCHANGE') ? 'exchange' : 'other',
        servicePlanId: p.servicePlanId,
      })),
  );
  return {
    id: u.id,
    accountEnabled: u.accountEnabled,
    assignedLicenses,
    assignedPlans,
    businessPhones: u.businessPhones,
    companyName: u.companyName,
    createdDateTime: u.createdDateTime,
    department: u.department,
    displayName: u.displayName,
    employeeId: u.employeeId,
    givenName: u.givenName,
    jobTitle: u.jobTitle,
    licenseAssignmentStates: u.licenseAssignmentStates.map((l) => ({
      assignedByGroup: l.assignedByGroup,
      disabledPlans: l.disabledPlans,
      error: l.error,
      lastUpdatedDateTime: l.lastUpdatedDateTime,
      skuId: l.skuId,
      state: l.state,
    })),
    mail: u.mail,
    mailNickname: u.mailNickname,
    mobilePhone: u.mobilePhone,
    officeLocation: u.officeLocation,
    onPremisesDistinguishedName: u.onPremisesDistinguishedName,
    onPremisesDomainName: u.onPremisesDomainName,
    onPremisesImmutableId: u.onPremisesImmutableId,
    onPremisesLastSyncDateTime: u.onPremisesLastSyncDateTime,
    onPremisesSamAccountName: u.onPremisesSamAccountName,
    onPremisesSecurityIdentifier: u.onPremisesSecurityIdentifier,
    onPremisesSyncEnabled: u.onPremisesSyncEnabled,
    onPremisesUserPrincipalName: u.onPremisesUserPrincipalName,
    otherMails: [],
    preferredLanguage: null,
    proxyAddresses,
    signInSessionsValidFromDateTime: u.signInSessionsValidFromDateTime ?? u.createdDateTime,
    surname: u.surname,
    usageLocation: u.usageLocation,
    userPrincipalName: u.userPrincipalName,
    userType: u.userType,
  };
}

const GROUP_DEFAULT_SELECT = [
  'id', 'createdDateTime', 'description', 'displayName', 'groupTypes', 'mail', 'mailEnabled', 'mailNickname',
  'onPremisesDomainName', 'onPremisesLastSyncDateTime', 'onPremisesSamAccountName', 'onPremisesSecurityIdentifier',
  'onPremisesSyncEnabled', 'proxyAddresses', 'securityEnabled', 'visibility',
];

function groupJson(g: EntraGroup): Record<string, unknown> {
  return {
    id: g.id,
    assignedLicenses: g.assignedLicenses.map((l) => ({ disabledPlans: l.disabledPlans, skuId: l.skuId })),
    createdDateTime: g.createdDateTime,
    description: g.description,
    displayName: g.displayName,
    groupTypes: g.groupTypes,
    mail: g.mail,
    mailEnabled: g.mailEnabled,
    mailNickname: g.mailNickname,
    onPremisesDomainName: g.onPremisesDomainName,
    onPremisesLastSyncDateTime: g.onPremisesLastSyncDateTime,
    onPremisesSamAccountName: g.onPremisesSamAccountName,
    onPremisesSecurityIdentifier: g.onPremisesSecurityIdentifier,
    onPremisesSyncEnabled: g.onPremisesSyncEnabled,
    proxyAddresses: g.proxyAddresses,
    securityEnabled: g.securityEnabled,
    visibility: null,
  };
}

function contactJson(c: EntraContact): Record<string, unknown> {
  return {
    id: c.id,
    companyName: c.companyName,
    department: c.department,
    displayName: c.displayName,
    givenName: c.givenName,
    jobTitle: c.jobTitle,
    mail: c.mail,
    mailNickname: c.mailNickname,
    onPremisesLastSyncDateTime: c.onPremisesLastSyncDateTime,
    onPremisesSyncEnabled: c.onPremisesSyncEnabled,
    proxyAddresses: c.proxyAddresses,
    surname: c.surname,
  };
}

function applySelect(obj: Record<string, unknown>, select: string[] | null, defaults: string[], type: string): Record<string, unknown> {
  const keys = select ?? defaults;
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const real = Object.keys(obj).find((x) => x.toLowerCase() === k.toLowerCase());
    if (!real) throw new GraphError(400, 'BadRequest', `Could not find a property named '${k}' on type 'microsoft.graph.${type}'.`);
    out[real] = obj[real];
  }
  return out;
}

function parseSelect(query: URLSearchParams): string[] | null {
  const s = query.get('$select');
  if (s === null || s.trim() === '') return null;
  return s.split(',').map((x) => x.trim()).filter((x) => x !== '');
}

// ---------------------------------------------------------------------------------------------
// Filter specs (from Graph's "advanced query capabilities" tables)
// ---------------------------------------------------------------------------------------------

const USER_FILTER: FilterSpec = {
  resource: 'User',
  properties: {
    id: { eq: 'default' },
    userPrincipalName: { eq: 'default', startsWith: 'default', endsWith: 'advanced' },
    mail: { eq: 'default', startsWith: 'default', endsWith: 'advanced' },
    mailNickname: { eq: 'default', startsWith: 'default' },
    displayName: { eq: 'default', startsWith: 'default' },
    givenName: { eq: 'default', startsWith: 'default' },
    surname: { eq: 'default', startsWith: 'default' },
    department: { eq: 'default', startsWith: 'default' },
    jobTitle: { eq: 'default' },
    usageLocation: { eq: 'default', startsWith: 'default' },
    accountEnabled: { eq: 'default' },
    userType: { eq: 'default' },
    employeeId: { eq: 'default', startsWith: 'default' },
    companyName: { eq: 'advanced', startsWith: 'advanced' },
    onPremisesSyncEnabled: { eq: 'default' },
    onPremisesUserPrincipalName: { eq: 'default', startsWith: 'default' },
    onPremisesSamAccountName: { eq: 'advanced', startsWith: 'advanced' },
    onPremisesImmutableId: { eq: 'advanced' },
    onPremisesSecurityIdentifier: { eq: 'default' },
    onPremisesDistinguishedName: { eq: 'none' },
    proxyAddresses: { eq: 'none', any: 'default' },
    assignedLicenses: { eq: 'none', any: 'default' },
  },
};

const GROUP_FILTER: FilterSpec = {
  resource: 'Group',
  properties: {
    id: { eq: 'default' },
    displayName: { eq: 'default', startsWith: 'default' },
    mail: { eq: 'default', startsWith: 'default', endsWith: 'advanced' },
    mailNickname: { eq: 'default', startsWith: 'default' },
    mailEnabled: { eq: 'default' },
    securityEnabled: { eq: 'default' },
    onPremisesSyncEnabled: { eq: 'default' },
    onPremisesSamAccountName: { eq: 'advanced', startsWith: 'advanced' },
    onPremisesSecurityIdentifier: { eq: 'default' },
    proxyAddresses: { eq: 'none', any: 'default' },
    groupTypes: { eq: 'none', any: 'default' },
    assignedLicenses: { eq: 'none', any: 'default' },
  },
};

const CONTACT_FILTER: FilterSpec = {
  resource: 'OrgContact',
  properties: {
    id: { eq: 'default' },
    displayName: { eq: 'default', startsWith: 'default' },
    mail: { eq: 'default', startsWith: 'default' },
    mailNickname: { eq: 'default', startsWith: 'default' },
    onPremisesSyncEnabled: { eq: 'default' },
    proxyAddresses: { eq: 'none', any: 'default' },
  },
};

// ---------------------------------------------------------------------------------------------
// Collections: filter, count, page
// ---------------------------------------------------------------------------------------------

function isAdvanced(call: GraphCall): boolean {
  return (call.headers['consistencylevel'] ?? '').toLowerCase() === 'eventual' && (call.query.get('$count') ?? '').toLowerCase() === 'true';
}

function listCollection(
  ctx: EmulatorContext,
  call: GraphCall,
  items: Record<string, unknown>[],
  spec: FilterSpec,
  entitySet: string,
  type: string,
  defaults: string[],
): GraphReply {
  const q = call.query;
  const advanced = isAdvanced(call);
  const eventual = (call.headers['consistencylevel'] ?? '').toLowerCase() === 'eventual';
  if (q.get('$search') !== null && !eventual) {
    throw new GraphError(400, 'Request_UnsupportedQuery', "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'");
  }
  // ConsistencyLevel: eventual reads the separate, eventually consistent index: it may lag behind writes.
  let rows = eventual ? eventualView(ctx, call.path, items) : items;
  const filter = q.get('$filter');
  if (filter !== null && filter.trim() !== '') {
    const ast = parseFilter(filter);
    checkFilter(ast, spec, advanced);
    rows = rows.filter((r) => evaluateFilter(ast, (p) => r[Object.keys(r).find((k) => k.toLowerCase() === p.toLowerCase()) ?? p]));
  }
  const search = q.get('$search');
  if (search !== null) {
    const m = /^"?(?:(\w+):)?([^"]*)"?$/.exec(search.trim());
    const field = m?.[1];
    const term = (m?.[2] ?? '').toLowerCase();
    rows = rows.filter((r) =>
      (field ? [field] : ['displayName', 'mail', 'userPrincipalName']).some((f) => {
        const v = r[f];
        return typeof v === 'string' && v.toLowerCase().includes(term);
      }),
    );
  }
  const orderby = q.get('$orderby');
  if (orderby) {
    if (filter && !advanced) throw new GraphError(400, 'Request_UnsupportedQuery', 'Sorting not supported for current query.');
    const [prop = 'displayName', dir = 'asc'] = orderby.trim().split(/\s+/);
    const text = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '');
    rows = [...rows].sort((a, b) => text(a[prop]).localeCompare(text(b[prop])) * (dir.toLowerCase() === 'desc' ? -1 : 1));
  }
  const topParam = q.get('$top');
  let top = DEFAULT_PAGE;
  if (topParam !== null) {
    top = Number(topParam);
    if (!Number.isInteger(top) || top < 1 || top > MAX_PAGE) {
      throw new GraphError(400, 'Request_BadRequest', `Invalid page size specified: '${topParam}'. Must be between 1 and ${MAX_PAGE} inclusive.`);
    }
  }
  const skip = decodeSkipToken(q.get('$skiptoken'));
  const select = parseSelect(q);
  const page = rows.slice(skip, skip + top).map((r) => applySelect(r, select, defaults, type));
  const body: Record<string, unknown> = {
    '@odata.context': `${ctx.baseUrl}/v1.0/$metadata#${entitySet}${select ? `(${select.join(',')})` : ''}`,
  };
  // Without ConsistencyLevel, Graph silently ignores $count=true on directory objects.
  if ((q.get('$count') ?? '').toLowerCase() === 'true' && (call.headers['consistencylevel'] ?? '').toLowerCase() === 'eventual') {
    body['@odata.count'] = rows.length;
  }
  if (skip + top < rows.length) {
    const next = new URLSearchParams(q);
    next.set('$skiptoken', encodeSkipToken(skip + top));
    body['@odata.nextLink'] = `${ctx.baseUrl}/v1.0${call.path}?${next.toString().replace(/\+/g, '%20')}`;
  }
  body.value = page;
  return reply(200, body);
}

// ---------------------------------------------------------------------------------------------
// Replication lag: the advanced-query index and the usage location
// ---------------------------------------------------------------------------------------------

/** One object as the advanced-query index holds it: what it shows (null: not yet), and writes on their way. */
interface IndexedObject {
  shown: Record<string, unknown> | null;
  /** Versions not shown yet, oldest first, with the time they were written (or first seen). */
  pending: { row: Record<string, unknown>; since: number }[];
  /** When the object was found gone from the directory (it stays in the index for the lag). */
  goneSince?: number;
}

/** Per emulator: the index of each collection path (`/users`, `/groups/{id}/members` …). */
const eventualIndexes = new WeakMap<EmulatorContext, Map<string, Map<string, IndexedObject>>>();

/**
 * What an advanced query (`ConsistencyLevel: eventual`) sees: Graph serves those from a separate index of directory
 * objects ("Advanced query capabilities on Microsoft Entra ID objects": the properties are "indexed in a separate
 * store"), which lags behind writes by up to `advancedQueryLagMs` (tenant clock). A write becomes visible there that
 * long after it was made: new objects count from their createdDateTime, changes from the first query that saw them
 * (the emulator notices changes when it is asked, so a change nobody queried starts its lag late), deletions keep the
 * object for the lag. The first query of a path (or the first after the knob was off) sees the directory as it is.
 */
function eventualView(ctx: EmulatorContext, path: string, items: Record<string, unknown>[]): Record<string, unknown>[] {
  const lag = ctx.knobs.advancedQueryLagMs ?? 0;
  let indexes = eventualIndexes.get(ctx);
  if (lag <= 0) {
    indexes?.clear();
    return items;
  }
  if (!indexes) eventualIndexes.set(ctx, (indexes = new Map<string, Map<string, IndexedObject>>()));
  const now = ctx.tenant.clock.now();
  const key = path.toLowerCase();
  let index = indexes.get(key);
  const baseline = index === undefined;
  if (!index) indexes.set(key, (index = new Map<string, IndexedObject>()));
  const seen = new Set<string>();
  for (const row of items) {
    const id = typeof row.id === 'string' ? row.id.toLowerCase() : JSON.stringify(row);
    seen.add(id);
    const entry = index.get(id);
    if (!entry) {
      const created = typeof row.createdDateTime === 'string' ? Date.parse(row.createdDateTime) : NaN;
      index.set(id, baseline ? { shown: row, pending: [] } : { shown: null, pending: [{ row, since: Number.isNaN(created) ? now : Math.min(created, now) }] });
      continue;
    }
    entry.goneSince = undefined;
    const latest = entry.pending.at(-1)?.row ?? entry.shown;
    if (JSON.stringify(latest) !== JSON.stringify(row)) entry.pending.push({ row, since: now });
  }
  const out: Record<string, unknown>[] = [];
  for (const [id, entry] of index) {
    if (!seen.has(id)) {
      entry.goneSince ??= now;
      if (now - entry.goneSince >= lag) {
        index.delete(id);
        continue;
      }
    }
    while (entry.pending.length > 0 && now - entry.pending[0]!.since >= lag) entry.shown = entry.pending.shift()!.row;
    if (entry.shown) out.push(entry.shown);
  }
  return out;
}

/** Per emulator: when each user's usage location was last changed through Graph (tenant clock). */
const usageLocationWrites = new WeakMap<EmulatorContext, Map<string, number>>();

/** Notes a `PATCH /users/{id}` that changes the usage location. */
function noteUsageLocationWrite(ctx: EmulatorContext, user: EntraUser, patch: Record<string, unknown>): void {
  if (!('usageLocation' in patch) || (ctx.knobs.usageLocationLagMs ?? 0) <= 0) return;
  const next = typeof patch.usageLocation === 'string' ? patch.usageLocation.toUpperCase() : null;
  if (next === (user.usageLocation ?? null)) return;
  let writes = usageLocationWrites.get(ctx);
  if (!writes) usageLocationWrites.set(ctx, (writes = new Map<string, number>()));
  writes.set(user.id.toLowerCase(), ctx.tenant.clock.now());
}

/**
 * assignLicense right after the usage location was set: Entra ID has not replicated it everywhere yet and answers as
 * it does for a user without one. Okta support documents this as intermittent ("Office 365 Provisioning Failed to
 * Push Profile Update Error: HTTP 400 … License assignment cannot be done for user with invalid usage location.",
 * with the usage location set), as does microsoft/Partner-Center-DotNet-Samples#131.
 */
function refuseWhileUsageLocationReplicates(ctx: EmulatorContext, user: EntraUser, adding: boolean): void {
  const lag = ctx.knobs.usageLocationLagMs ?? 0;
  const at = usageLocationWrites.get(ctx)?.get(user.id.toLowerCase());
  if (!adding || lag <= 0 || at === undefined) return;
  if (ctx.tenant.clock.now() - at < lag) {
    throw new GraphError(400, 'Request_BadRequest', 'License assignment cannot be done for user with invalid usage location.');
  }
}

function encodeSkipToken(offset: number): string {
  return Buffer.from(`RFNwdA:${offset}`).toString('base64url');
}

function decodeSkipToken(token: string | null): number {
  if (!token) return 0;
  const m = /^RFNwdA:(\d+)$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (!m) throw new GraphError(400, 'Request_BadRequest', "The value of the '$skiptoken' parameter is invalid.");
  return Number(m[1]);
}

// ---------------------------------------------------------------------------------------------
// Permissions
// ---------------------------------------------------------------------------------------------

// The application permissions each endpoint accepts, from the Permissions table of its API page (least privileged
// first, then the higher privileged ones). A list is any-of; requireAll() takes lists that must all hold.
// Application.ReadWrite.OwnedBy (accepted by the synchronization APIs for an app that owns the service principal) is
// not modelled: the Cloud Sync service principal is Microsoft's, not Mailroom's.

/** https://learn.microsoft.com/graph/api/user-get, user-list: User.Read.All; User.ReadWrite.All, Directory.Read.All, Directory.ReadWrite.All. */
const READ_USERS = ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];
/** https://learn.microsoft.com/graph/api/user-update: User.ReadWrite.All; Directory.ReadWrite.All. */
const WRITE_USERS = ['User.ReadWrite.All', 'Directory.ReadWrite.All'];
/**
 * https://learn.microsoft.com/graph/api/user-revokesigninsessions, Application: User.RevokeSessions.All; User.ReadWrite.All,
 * Directory.ReadWrite.All.
 */
const REVOKE_SESSIONS = ['User.RevokeSessions.All', 'User.ReadWrite.All', 'Directory.ReadWrite.All'];
/** https://learn.microsoft.com/graph/api/user-assignlicense: LicenseAssignment.ReadWrite.All; Directory.ReadWrite.All, User.ReadWrite.All. */
const WRITE_LICENCES = ['LicenseAssignment.ReadWrite.All', 'User.ReadWrite.All', 'Directory.ReadWrite.All'];
/** https://learn.microsoft.com/graph/api/group-list-members (and group-get, group-list): GroupMember.Read.All and the higher ones. */
const READ_GROUPS = ['Group.Read.All', 'Group.ReadWrite.All', 'GroupMember.Read.All', 'GroupMember.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];
/** https://learn.microsoft.com/graph/api/group-post-members (user members): GroupMember.ReadWrite.All; Group.ReadWrite.All, Directory.ReadWrite.All. */
const WRITE_MEMBERS = ['GroupMember.ReadWrite.All', 'Group.ReadWrite.All', 'Directory.ReadWrite.All'];
const WRITE_GROUP_LICENCES = ['LicenseAssignment.ReadWrite.All', 'Group.ReadWrite.All', 'Directory.ReadWrite.All'];
/**
 * https://learn.microsoft.com/graph/api/user-list-memberof, "another user's direct memberships", Application:
 * Directory.Read.All; Directory.ReadWrite.All.
 */
const USER_MEMBER_OF = ['Directory.Read.All', 'Directory.ReadWrite.All'];
/**
 * https://learn.microsoft.com/graph/api/directoryobject-checkmembergroups, "group memberships for a user", Application:
 * User.Read.All and GroupMember.Read.All, User.Read.All and Group.Read.All, Directory.Read.All (the ReadWrite
 * variants include the reads).
 */
const CHECK_MEMBER_GROUPS = [
  ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
  ['GroupMember.Read.All', 'GroupMember.ReadWrite.All', 'Group.Read.All', 'Group.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
];
/**
 * https://learn.microsoft.com/graph/api/subscribedsku-list, Application: LicenseAssignment.Read.All; Directory.Read.All,
 * Directory.ReadWrite.All, Organization.Read.All, Organization.ReadWrite.All (LicenseAssignment.ReadWrite.All is not
 * among them).
 */
const READ_SUBSCRIBED_SKUS = ['LicenseAssignment.Read.All', 'Organization.Read.All', 'Organization.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];
const READ_ORG = ['Organization.Read.All', 'Organization.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All', 'LicenseAssignment.ReadWrite.All'];
/** https://learn.microsoft.com/graph/api/orgcontact-list: OrgContact.Read.All; Directory.Read.All, Directory.ReadWrite.All. */
const READ_CONTACTS = ['OrgContact.Read.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];
/** https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-provisionondemand: Synchronization.ReadWrite.All. */
const SYNC = ['Synchronization.ReadWrite.All'];
/** https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-get: Synchronization.Read.All, Synchronization.ReadWrite.All. */
const READ_SYNC = ['Synchronization.Read.All', 'Synchronization.ReadWrite.All'];
/**
 * https://learn.microsoft.com/graph/api/synchronization-synchronizationschema-get, Application:
 * CustomSecAttributeProvisioning.Read.All; CustomSecAttributeProvisioning.ReadWrite.All, Synchronization.Read.All,
 * Synchronization.ReadWrite.All (and Application.ReadWrite.OwnedBy, not modelled).
 */
const READ_SYNC_SCHEMA = ['CustomSecAttributeProvisioning.Read.All', 'CustomSecAttributeProvisioning.ReadWrite.All', 'Synchronization.Read.All', 'Synchronization.ReadWrite.All'];
/**
 * https://learn.microsoft.com/graph/api/onpremisessyncbehavior-get and onpremisessyncbehavior-update, group, Application:
 * Group-OnPremisesSyncBehavior.ReadWrite.All for reading and for writing ("Higher privileged permissions: Not
 * available": Group.ReadWrite.All and Directory.ReadWrite.All do not include it).
 */
const GROUP_SYNC_BEHAVIOR = ['Group-OnPremisesSyncBehavior.ReadWrite.All'];

/** Graph's answer when the token lacks the permission an endpoint needs. */
function requireRole(call: GraphCall, anyOf: string[]): void {
  requireAll(call, [anyOf]);
}

function requireAll(call: GraphCall, allOf: string[][]): void {
  if (!allOf.every((anyOf) => call.claims.roles.some((r) => anyOf.includes(r)))) {
    throw new GraphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
  }
}

// ---------------------------------------------------------------------------------------------
// Dispatch
// ---------------------------------------------------------------------------------------------

function bodyObject(call: GraphCall): Record<string, unknown> {
  if (!isRecord(call.body)) throw new GraphError(400, 'BadRequest', 'Empty Payload. JSON content expected.');
  return call.body;
}

function licenceList(v: unknown): { skuId: string; disabledPlans?: string[] }[] {
  if (!Array.isArray(v)) return [];
  return v.filter(isRecord).map((x) => ({
    skuId: typeof x.skuId === 'string' ? x.skuId : '',
    disabledPlans: Array.isArray(x.disabledPlans) ? x.disabledPlans.filter((p): p is string => typeof p === 'string') : [],
  }));
}

function findUserOr404(t: Tenant, key: string): EntraUser {
  const u = t.user(key);
  if (!u) throw graphNotFound(key);
  return u;
}

function findGroupOr404(t: Tenant, id: string): EntraGroup {
  const g = t.group(id);
  if (!g) throw graphNotFound(id);
  return g;
}

function directoryObjectJson(t: Tenant, id: string): Record<string, unknown> | null {
  const o = t.directoryObject(id);
  if (!o) return null;
  if (o.kind === 'user') return { '@odata.type': '#microsoft.graph.user', ...userJson(t, o.obj) };
  if (o.kind === 'group') return { '@odata.type': '#microsoft.graph.group', ...groupJson(o.obj) };
  return { '@odata.type': '#microsoft.graph.orgContact', ...contactJson(o.obj) };
}

async function dispatch(ctx: EmulatorContext, call: GraphCall): Promise<GraphReply> {
  const t = ctx.tenant;
  t.tick();
  const p = call.path.replace(/\/+$/, '') || '/';
  const seg = p.split('/').slice(1).map((s) => decodeURIComponent(s));
  const m = call.method;
  const [root, key, sub, subKey, subSub] = seg;
  const meta = `${ctx.baseUrl}/v1.0/$metadata`;

  if (root === '$batch') {
    if (m !== 'POST') return methodNotAllowed();
    if (call.inBatch) throw new GraphError(400, 'BadRequest', 'A batch request cannot contain another $batch request.');
    return batch(ctx, call);
  }
  if (root === 'users') {
    if (key === undefined) {
      if (m !== 'GET') return methodNotAllowed();
      requireRole(call, READ_USERS);
      const skus = t.skus();
      return listCollection(ctx, call, t.users().map((u) => userJson(t, u, skus)), USER_FILTER, 'users', 'user', USER_DEFAULT_SELECT);
    }
    if (sub === undefined) {
      if (m === 'GET') {
        requireRole(call, READ_USERS);
        const u = findUserOr404(t, key);
        const select = parseSelect(call.query);
        return reply(200, { '@odata.context': `${meta}#users${select ? `(${select.join(',')})` : ''}/$entity`, ...applySelect(userJson(t, u), select, USER_DEFAULT_SELECT, 'user') });
      }
      if (m === 'PATCH') {
        requireRole(call, WRITE_USERS);
        const patch = bodyObject(call);
        const before = findUserOr404(t, key);
        t.updateUser(key, patch);
        noteUsageLocationWrite(ctx, before, patch);
        return reply(204);
      }
      return methodNotAllowed();
    }
    if (sub === 'assignLicense' && subKey === undefined) {
      if (m !== 'POST') return methodNotAllowed();
      requireRole(call, WRITE_LICENCES);
      const b = bodyObject(call);
      if (!Array.isArray(b.addLicenses) || !Array.isArray(b.removeLicenses)) {
        throw new GraphError(400, 'Request_BadRequest', "Invalid request: the parameters 'addLicenses' and 'removeLicenses' are required.");
      }
      const remove = b.removeLicenses.filter((x): x is string => typeof x === 'string');
      const target = t.user(key);
      if (target) refuseWhileUsageLocationReplicates(ctx, target, b.addLicenses.length > 0);
      const u = t.assignLicense(key, licenceList(b.addLicenses), remove);
      return reply(200, { '@odata.context': `${meta}#users/$entity`, ...applySelect(userJson(t, u), null, USER_DEFAULT_SELECT, 'user') });
    }
    if (sub === 'reprocessLicenseAssignment' && m === 'POST') {
      requireRole(call, WRITE_LICENCES);
      const u = findUserOr404(t, key);
      return reply(200, { '@odata.context': `${meta}#users/$entity`, ...applySelect(userJson(t, u), null, USER_DEFAULT_SELECT, 'user') });
    }
    if (sub === 'revokeSignInSessions' && subKey === undefined) {
      if (m !== 'POST') return methodNotAllowed();
      requireRole(call, REVOKE_SESSIONS);
      t.revokeSignInSessions(key);
      // The documented answer (a known issue: the API was meant to answer 204).
      return reply(200, { '@odata.context': `${meta}#Edm.Boolean`, value: true });
    }
    if (sub === 'manager') {
      // user-list-manager (GET: READ_USERS), user-post-manager (PUT $ref) and user-delete-manager (DELETE $ref): WRITE_USERS.
      if (subKey === undefined) {
        if (m !== 'GET') return methodNotAllowed();
        requireRole(call, READ_USERS);
        const found = t.managerOf(key);
        if (!found) throw graphNotFound('manager');
        const o = directoryObjectJson(t, found.obj.id)!;
        const select = parseSelect(call.query);
        const defaults = found.kind === 'user' ? USER_DEFAULT_SELECT : Object.keys(contactJson(emptyContact()));
        return reply(200, { '@odata.context': `${meta}#directoryObjects/$entity`, '@odata.type': o['@odata.type'], ...applySelect(o, select, defaults, found.kind === 'user' ? 'user' : 'orgContact') });
      }
      if (subKey === '$ref' && subSub === undefined) {
        if (m === 'PUT') {
          requireRole(call, WRITE_USERS);
          findUserOr404(t, key);
          const ref = bodyObject(call)['@odata.id'];
          const mm = typeof ref === 'string' ? /([0-9a-fA-F-]{36})\/?$/.exec(ref) : null;
          if (!mm?.[1]) throw new GraphError(400, 'Request_BadRequest', `Invalid object identifier '${typeof ref === 'string' ? ref : ''}'.`);
          t.setManager(key, mm[1]);
          return reply(204);
        }
        if (m === 'DELETE') {
          requireRole(call, WRITE_USERS);
          t.removeManager(key);
          return reply(204);
        }
        return methodNotAllowed();
      }
      return segmentNotFound(subKey);
    }
    if (sub === 'memberOf' && subKey === undefined) {
      if (m !== 'GET') return methodNotAllowed();
      requireRole(call, USER_MEMBER_OF);
      const u = findUserOr404(t, key);
      const groups = t.memberOf(u.id).map((g) => ({ '@odata.type': '#microsoft.graph.group', ...groupJson(g) }));
      return listCollection(ctx, { ...call, path: call.path }, groups, GROUP_FILTER, 'directoryObjects', 'group', ['@odata.type', ...GROUP_DEFAULT_SELECT]);
    }
    if (sub === 'checkMemberGroups' && m === 'POST') {
      requireAll(call, CHECK_MEMBER_GROUPS);
      const u = findUserOr404(t, key);
      const b = bodyObject(call);
      const ids = Array.isArray(b.groupIds) ? b.groupIds.filter((x): x is string => typeof x === 'string') : [];
      if (ids.length > 20) throw new GraphError(400, 'Request_BadRequest', 'The number of group ids specified exceeds the maximum of 20.');
      const member = t.transitiveMemberOf(u.id);
      return reply(200, { '@odata.context': `${meta}#Collection(Edm.String)`, value: ids.filter((id) => [...member].some((g) => g.toLowerCase() === id.toLowerCase())) });
    }
    return segmentNotFound(sub ?? '');
  }
  if (root === 'groups') {
    if (key === undefined) {
      if (m !== 'GET') return methodNotAllowed();
      requireRole(call, READ_GROUPS);
      return listCollection(ctx, call, t.groups().map(groupJson), GROUP_FILTER, 'groups', 'group', GROUP_DEFAULT_SELECT);
    }
    if (sub === undefined) {
      if (m !== 'GET') return methodNotAllowed();
      requireRole(call, READ_GROUPS);
      const g = findGroupOr404(t, key);
      const select = parseSelect(call.query);
      return reply(200, { '@odata.context': `${meta}#groups/$entity`, ...applySelect(groupJson(g), select, GROUP_DEFAULT_SELECT, 'group') });
    }
    if (sub === 'members') {
      if (subKey === undefined) {
        if (m !== 'GET') return methodNotAllowed();
        requireRole(call, READ_GROUPS);
        findGroupOr404(t, key);
        const members = t
          .groupMembers(key)
          .map((o) => directoryObjectJson(t, o.obj.id))
          .filter((x): x is Record<string, unknown> => x !== null)
          .map((o) => ({ '@odata.type': o['@odata.type'], id: o.id, displayName: o.displayName, mail: o.mail ?? null, userPrincipalName: o.userPrincipalName ?? null }));
        return listCollection(ctx, call, members, { resource: 'DirectoryObject', properties: { id: { eq: 'default' }, displayName: { eq: 'default', startsWith: 'default' } } }, 'directoryObjects', 'directoryObject', ['@odata.type', 'id', 'displayName', 'mail', 'userPrincipalName']);
      }
      if (subKey === '$ref' && m === 'POST') {
        requireRole(call, WRITE_MEMBERS);
        findGroupOr404(t, key);
        const b = bodyObject(call);
        const ref = typeof b['@odata.id'] === 'string' ? b['@odata.id'] : '';
        const mm = /([0-9a-fA-F-]{36})\/?$/.exec(ref);
        if (!mm?.[1]) throw new GraphError(400, 'Request_BadRequest', "Invalid object identifier ''.");
        t.addGroupMember(key, mm[1]);
        return reply(204);
      }
      if (subKey !== undefined && subSub === '$ref' && m === 'DELETE') {
        requireRole(call, WRITE_MEMBERS);
        t.removeGroupMember(key, subKey);
        return reply(204);
      }
      return methodNotAllowed();
    }
    if (sub === 'onPremisesSyncBehavior' && subKey === undefined) {
      if (m === 'GET') {
        requireRole(call, GROUP_SYNC_BEHAVIOR);
        const g = findGroupOr404(t, key);
        const select = parseSelect(call.query);
        const entity = applySelect({ id: g.id, isCloudManaged: g.isCloudManaged === true }, select, ['id', 'isCloudManaged'], 'onPremisesSyncBehavior');
        return reply(200, { '@odata.context': `${meta}#groups('${g.id}')/onPremisesSyncBehavior${select ? `(${select.join(',')})` : ''}/$entity`, ...entity });
      }
      if (m === 'PATCH') {
        requireRole(call, GROUP_SYNC_BEHAVIOR);
        const g = findGroupOr404(t, key);
        const isCloudManaged = syncBehaviorPatch(bodyObject(call));
        if (isCloudManaged !== undefined) t.setGroupSyncBehavior(g.id, isCloudManaged);
        return reply(204);
      }
      return methodNotAllowed();
    }
    if (sub === 'assignLicense' && m === 'POST') {
      requireRole(call, WRITE_GROUP_LICENCES);
      findGroupOr404(t, key);
      const b = bodyObject(call);
      const remove = Array.isArray(b.removeLicenses) ? b.removeLicenses.filter((x): x is string => typeof x === 'string') : [];
      const g = t.assignGroupLicense(key, licenceList(b.addLicenses), remove);
      return reply(202, { '@odata.context': `${meta}#groups/$entity`, ...groupJson(g) });
    }
    return segmentNotFound(sub);
  }
  if (root === 'contacts') {
    if (m !== 'GET') return methodNotAllowed();
    requireRole(call, READ_CONTACTS);
    if (key === undefined) return listCollection(ctx, call, t.contacts().map(contactJson), CONTACT_FILTER, 'contacts', 'orgContact', Object.keys(contactJson(emptyContact())));
    const c = t.contacts().find((x) => x.id.toLowerCase() === key.toLowerCase());
    if (!c) throw graphNotFound(key);
    return reply(200, { '@odata.context': `${meta}#contacts/$entity`, ...contactJson(c) });
  }
  if (root === 'directoryObjects' && key !== undefined && sub === undefined && m === 'GET') {
    requireRole(call, READ_USERS);
    const o = directoryObjectJson(t, key);
    if (!o) throw graphNotFound(key);
    return reply(200, { '@odata.context': `${meta}#directoryObjects/$entity`, ...o });
  }
  if (root === 'subscribedSkus' && key === undefined) {
    if (m !== 'GET') return methodNotAllowed();
    requireRole(call, READ_SUBSCRIBED_SKUS);
    if (call.query.get('$filter') !== null) throw new GraphError(400, 'Request_UnsupportedQuery', 'Unsupported Query.');
    const value = t.subscribedSkus().map((s) => ({
      accountName: t.displayName,
      accountId: t.tenantId,
      appliesTo: 'User',
      capabilityStatus: 'Enabled',
      consumedUnits: s.consumedUnits,
      id: `${t.tenantId}_${s.skuId}`,
      prepaidUnits: { enabled: s.prepaidUnits, suspended: 0, warning: 0, lockedOut: 0 },
      servicePlans: s.servicePlans.map((p) => ({ servicePlanId: p.servicePlanId, servicePlanName: p.servicePlanName, provisioningStatus: 'Success', appliesTo: 'User' })),
      skuId: s.skuId,
      skuPartNumber: s.skuPartNumber,
      subscriptionIds: [],
    }));
    return reply(200, { '@odata.context': `${meta}#subscribedSkus`, value });
  }
  if (root === 'organization' && key === undefined && m === 'GET') {
    requireRole(call, READ_ORG);
    return reply(200, {
      '@odata.context': `${meta}#organization`,
      value: [
        {
          id: t.tenantId,
          displayName: t.displayName,
          countryLetterCode: t.countryLetterCode,
          onPremisesSyncEnabled: true,
          verifiedDomains: t.acceptedDomains().map((d) => ({
            capabilities: 'Email, OfficeCommunicationsOnline',
            isDefault: d.isDefault,
            isInitial: d.isInitial,
            name: d.name,
            type: 'Managed',
          })),
        },
      ],
    });
  }
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
  return segmentNotFound(root ?? '');
}

/**
 * The body of `PATCH …/onPremisesSyncBehavior`: "supply only the values for properties to update" (isCloudManaged, a
 * Boolean; "Update onPremisesSyncBehavior"), so `{}` changes nothing. Another property is refused as OData refuses a
 * property its type does not define; a value that is not a JSON Boolean with the sandbox's own wording.
 */
function syncBehaviorPatch(b: Record<string, unknown>): boolean | undefined {
  for (const k of Object.keys(b)) {
    if (k === 'isCloudManaged' || k.startsWith('@odata.')) continue;
    throw new GraphError(400, 'BadRequest', `The property '${k}' does not exist on type 'microsoft.graph.onPremisesSyncBehavior'. Make sure to only use property names that are defined by the type or mark the type as open type.`);
  }
  const v = b.isCloudManaged;
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') {
    throw new GraphError(400, 'BadRequest', `Cannot convert the literal '${JSON.stringify(v)}' to the expected type 'Edm.Boolean': isCloudManaged must be true or false. Nothing was changed.`);
  }
  return v;
}

function syncJobNotFound(servicePrincipalId: string, jobId: string): GraphError {
  return new GraphError(404, 'Request_ResourceNotFound', `The synchronization job '${jobId}' does not exist on service principal '${servicePrincipalId}'.`);
}

/**
 * The object mappings of Cloud Sync's AD2AADProvisioning rule: "Object mappings are within the
 * schema.synchronizationRules[0].objectMappings (For now you can assume there's only one Synchronization Rule)", with
 * "Provision Active Directory users" (sourceObjectName `user`, targetObjectName `User`) and "Provision Active Directory
 * inetOrgPersons" (How to programmatically configure cloud sync using MS Graph API). Cloud Sync also synchronizes
 * groups and contacts (What is Microsoft Entra Cloud Sync?); the names of those two mappings are the sandbox's.
 */
const AD2AAD_OBJECT_MAPPINGS: readonly { name: string; sourceObjectName: string; targetObjectName: string }[] = [
  { name: 'Provision Active Directory users', sourceObjectName: 'user', targetObjectName: 'User' },
  { name: 'Provision Active Directory inetOrgPersons', sourceObjectName: 'inetOrgPerson', targetObjectName: 'User' },
  { name: 'Provision Active Directory groups', sourceObjectName: 'group', targetObjectName: 'Group' },
  { name: 'Provision Active Directory contacts', sourceObjectName: 'contact', targetObjectName: 'Contact' },
];

/** The rule id of a job's schema. */
function ruleIdOf(job: SyncJobState): string {
  return job.ruleId ?? AD2AAD_RULE_ID;
}

/**
 * A job's synchronizationSchema (https://learn.microsoft.com/graph/api/resources/synchronization-synchronizationschema):
 * one rule, AD2AADProvisioning, from Active Directory to Azure Active Directory (the shape of job schemas read from
 * tenants: id = the job id, synchronizationRules[0] with editable, id, name, priority, source/targetDirectoryName,
 * metadata, objectMappings). Attribute mappings and directory definitions are left out (empty).
 */
function syncSchemaJson(job: SyncJobState): Record<string, unknown> {
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
function syncJobJson(j: SyncJobState): Record<string, unknown> {
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

function emptyContact(): EntraContact {
  return {
    id: '', displayName: '', givenName: null, surname: null, mail: null, mailNickname: '', companyName: null, department: null,
    jobTitle: null, proxyAddresses: [], onPremisesSyncEnabled: null, onPremisesImmutableId: null, onPremisesLastSyncDateTime: null,
    createdDateTime: '', ad: null,
  };
}

function methodNotAllowed(): GraphReply {
  throw new GraphError(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request target.');
}

function segmentNotFound(segment: string): GraphReply {
  throw new GraphError(400, 'BadRequest', `Resource not found for the segment '${segment}'.`);
}

// ---------------------------------------------------------------------------------------------
// $batch
// ---------------------------------------------------------------------------------------------

async function batch(ctx: EmulatorContext, call: GraphCall): Promise<GraphReply> {
  const b = call.body;
  if (!isRecord(b) || !Array.isArray(b.requests)) {
    throw new GraphError(400, 'BadRequest', 'Invalid batch payload format.');
  }
  const requests = b.requests;
  if (requests.length > MAX_BATCH) {
    throw new GraphError(400, 'BadRequest', `Number of batch requests exceeds the limit of ${MAX_BATCH}.`);
  }
  const ids = new Set<string>();
  for (const r of requests) {
    if (!isRecord(r) || typeof r.id !== 'string' || typeof r.method !== 'string' || typeof r.url !== 'string') {
      throw new GraphError(400, 'BadRequest', "Invalid batch payload format: every request needs 'id', 'method' and 'url'.");
    }
    if (ids.has(r.id)) throw new GraphError(400, 'BadRequest', `Batch request ids must be unique: '${r.id}' is repeated.`);
    if (Array.isArray(r.dependsOn)) {
      for (const d of r.dependsOn) {
        if (typeof d !== 'string' || !ids.has(d)) throw new GraphError(400, 'BadRequest', `Invalid dependency for request Id : ${r.id}`);
      }
    }
    ids.add(r.id);
  }
  const results = new Map<string, GraphReply>();
  const responses: unknown[] = [];
  for (const raw of requests as Record<string, unknown>[]) {
    const id = raw.id as string;
    const headers: Record<string, string> = {};
    if (isRecord(raw.headers)) for (const [k, v] of Object.entries(raw.headers)) if (typeof v === 'string') headers[k.toLowerCase()] = v;
    const deps = Array.isArray(raw.dependsOn) ? (raw.dependsOn as string[]) : [];
    const failedDep = deps.find((d) => {
      const r = results.get(d);
      return !r || r.status < 200 || r.status >= 300;
    });
    let res: GraphReply;
    const throttled = failedDep === undefined ? batchItemThrottle(ctx, headers) : null;
    if (failedDep !== undefined) {
      res = reply(424, graphErrorBody('FailedDependency', 'Failed dependency.', randomUUID(), headers['client-request-id'] ?? randomUUID(), ctx.realClock.now()));
    } else if (throttled) {
      res = throttled;
    } else if (raw.body !== undefined && !headers['content-type']) {
      res = reply(400, graphErrorBody('BadRequest', `Write request id : ${id} does not contain Content-Type header or body.`, randomUUID(), randomUUID(), ctx.realClock.now()));
    } else {
      let url = raw.url as string;
      url = url.replace(/^https?:\/\/[^/]+/i, '');
      if (!url.startsWith('/')) url = `/${url}`;
      url = url.replace(/^\/v1\.0(?=\/|$|\?)/i, '');
      const u = new URL(url, 'https://batch.invalid');
      const sub: GraphCall = { method: (raw.method as string).toUpperCase(), path: u.pathname, query: u.searchParams, headers, body: raw.body, claims: call.claims, inBatch: true };
      res = await runCall(ctx, sub);
    }
    results.set(id, res);
    const item: Record<string, unknown> = { id, status: res.status, headers: batchItemHeaders(res) };
    if (res.body !== undefined) item.body = res.body;
    responses.push(item);
  }
  return reply(200, { responses });
}

/** Per emulator: the generator that picks which `$batch` items are throttled (seeded like the other faults). */
const batchPrngs = new WeakMap<EmulatorContext, { seed: number; prng: Prng }>();

/**
 * A `$batch` item answered 429 (knobs `batchItemFaults`, `batchItemThrottleRate`), or null. "Requests in a batch are
 * evaluated individually against throttling limits and if any request exceeds the limits, it fails with a status of
 * 429 … You should retry each failed request from the batch using the value provided in the retry-after response
 * header from the JSON content" (Microsoft Graph throttling guidance, "Throttling and batching"); the batch itself
 * answers 200, and the SDKs do not retry such items by themselves.
 */
function batchItemThrottle(ctx: EmulatorContext, headers: Record<string, string>): GraphReply | null {
  const k = ctx.knobs;
  let hit = false;
  if ((k.batchItemFaults ?? 0) > 0) {
    k.batchItemFaults = (k.batchItemFaults ?? 0) - 1;
    hit = true;
  } else if ((k.batchItemThrottleRate ?? 0) > 0) {
    const seed = (k.seed ?? 1) + 0x5eed;
    let g = batchPrngs.get(ctx);
    if (!g || g.seed !== seed) batchPrngs.set(ctx, (g = { seed, prng: new Prng(seed) }));
    hit = g.prng.chance(k.batchItemThrottleRate ?? 0);
  }
  if (!hit) return null;
  const requestId = randomUUID();
  return reply(
    429,
    graphErrorBody('TooManyRequests', 'Too many requests. Retry after the interval in the Retry-After header.', requestId, headers['client-request-id'] ?? randomUUID(), ctx.realClock.now()),
    { 'retry-after': String(k.retryAfterSeconds ?? 1), 'request-id': requestId },
  );
}

/**
 * Headers of a `$batch` item, spelled as Graph spells them there ("Content-Type", not "content-type"):
 * the Graph SDK's BatchResponseContent only re-serialises JSON bodies when it finds "Content-Type".
 */
function batchItemHeaders(res: GraphReply): Record<string, string> {
  const out: Record<string, string> = {};
  if (res.body !== undefined) {
    out['Cache-Control'] = 'no-cache';
    out['OData-Version'] = '4.0';
    out['Content-Type'] = res.headers['content-type'] ?? ODATA_JSON;
  }
  if (res.headers['retry-after']) out['Retry-After'] = res.headers['retry-after'];
  if (res.headers['location']) out['Location'] = res.headers['location'];
  return out;
}

// ---------------------------------------------------------------------------------------------
// provisionOnDemand (Entra Cloud Sync)
// ---------------------------------------------------------------------------------------------

async function provisionOnDemand(ctx: EmulatorContext, call: GraphCall, servicePrincipalId: string, jobId: string): Promise<GraphReply> {
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
