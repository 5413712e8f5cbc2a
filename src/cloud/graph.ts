import { Client, Middleware, RetryHandlerOptions, type AuthenticationProvider } from '@microsoft/microsoft-graph-client';
import type { TokenCredential } from '@azure/identity';
import { GRAPH_SCOPE, trustedCas } from './credential';
import { graphMiddlewareTrusting, NodeHttpsMessageHandler } from './https';

/**
 * The Graph client's access tokens, from Mailroom's credential. Not the SDK's TokenCredentialAuthenticationProvider:
 * that one builds an Error (capturing its stack) on every call, in case the call fails.
 */
export class CredentialAuthProvider implements AuthenticationProvider {
  constructor(private readonly credential: TokenCredential) {}

  async getAccessToken(): Promise<string> {
    const token = await this.credential.getToken(GRAPH_SCOPE);
    if (!token?.token) throw new Error('Mailroom got no access token for Microsoft Graph from its credential; nothing was sent to Graph.');
    return token.token;
  }
}

export interface GraphClientHandle {
  readonly client: Client;
  /** Closes keep-alive connections (only when an extra CA is trusted; otherwise there is nothing to close). */
  close(): void;
}

/**
 * Microsoft Graph through the official SDK with its own auth, retry (Retry-After) and redirect middleware.
 * With an extra CA (private PKI, the sandbox) the chain ends in a node:https sender that trusts it.
 */
export function createGraphClient(graphUrl: string, credential: TokenCredential, extraCaPem?: string | Buffer, retry?: RetryHandlerOptions): GraphClientHandle {
  const url = new URL(graphUrl);
  const version = url.pathname.replace(/^\/+|\/+$/g, '') || 'v1.0';
  const baseUrl = `${url.protocol}//${url.host}/`;
  const authProvider = new CredentialAuthProvider(credential);
  const customHosts = new Set([url.hostname]);
  const ca = trustedCas(extraCaPem);
  if (!ca) {
    const client = Client.initWithMiddleware({ authProvider, baseUrl, defaultVersion: version, customHosts });
    return { client, close: () => undefined };
  }
  const { chain, http }: { chain: Middleware[]; http: NodeHttpsMessageHandler } = graphMiddlewareTrusting(authProvider, ca, retry);
  const client = Client.initWithMiddleware({ middleware: chain, baseUrl, defaultVersion: version, customHosts });
  return { client, close: () => http.destroy() };
}

/** The Graph operations Mailroom needs: roles, licences, the provisioning executors and the sync waiters. */
export class GraphDirectory {
  constructor(private readonly client: Client) {}

  /** Which of the given groups the user is a transitive member of (POST /users/{id}/checkMemberGroups). */
  async memberGroups(userAadObjectId: string, groupIds: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < groupIds.length; i += 20) {
      const res = (await this.client
        .api(`/users/${encodeURIComponent(userAadObjectId)}/checkMemberGroups`)
        .post({ groupIds: groupIds.slice(i, i + 20) })) as { value?: string[] };
      out.push(...(res.value ?? []));
    }
    return out;
  }

  /** The users of a group, nested groups included (GET /groups/{id}/transitiveMembers/microsoft.graph.user). */
  async memberUserIds(groupId: string): Promise<string[]> {
    const out: string[] = [];
    let page = (await this.client.api(`/groups/${encodeURIComponent(groupId)}/transitiveMembers/microsoft.graph.user`).select('id').get()) as GraphPage<{ id: string }>;
    for (;;) {
      for (const m of page.value ?? []) out.push(m.id);
      if (!page['@odata.nextLink']) break;
      page = (await this.client.api(page['@odata.nextLink']).get()) as GraphPage<{ id: string }>;
    }
    return out;
  }

  /** A user's manager (GET /users/{id}/manager) when it is a user; null when there is none (404) or it is a contact. */
  async manager(userId: string): Promise<{ id: string; displayName: string } | null> {
    try {
      const m = (await this.client.api(`/users/${encodeURIComponent(userId)}/manager`).get()) as { id: string; displayName?: string | null; '@odata.type'?: string };
      if (m['@odata.type'] && m['@odata.type'] !== '#microsoft.graph.user') return null;
      return { id: m.id, displayName: m.displayName ?? m.id };
    } catch (err) {
      if (isGraphStatus(err, 404)) return null;
      throw err;
    }
  }

  /**
   * Installs the app (its id in the organisation's app catalog) for a user (POST /users/{id}/teamwork/installedApps):
   * `installed`, or `already` when it was installed before (409 Conflict).
   */
  async installAppForUser(userId: string, catalogAppId: string): Promise<'installed' | 'already'> {
    try {
      await this.client.api(`/users/${encodeURIComponent(userId)}/teamwork/installedApps`).post({ 'teamsApp@odata.bind': `https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/${encodeURIComponent(catalogAppId)}` });
      return 'installed';
    } catch (err) {
      if (isGraphStatus(err, 409)) return 'already';
      throw err;
    }
  }

  /** The chat between the user and the installed app (its installation found by catalog id); null when it is not installed. */
  async appChatId(userId: string, catalogAppId: string): Promise<string | null> {
    const page = (await this.client
      .api(`/users/${encodeURIComponent(userId)}/teamwork/installedApps`)
      .expand('teamsApp')
      .filter(`teamsApp/id eq '${catalogAppId.replace(/'/g, "''")}'`)
      .get()) as GraphPage<{ id: string }>;
    const installation = page.value?.[0];
    if (!installation) return null;
    const chat = (await this.client.api(`/users/${encodeURIComponent(userId)}/teamwork/installedApps/${encodeURIComponent(installation.id)}/chat`).get()) as { id: string };
    return chat.id;
  }

  /** Puts a notification in the user's Teams activity feed (POST /users/{id}/teamwork/sendActivityNotification). */
  async sendActivityNotification(userId: string, n: { topic: string; webUrl: string; activityType: string; preview: string; parameters: Readonly<Record<string, string>> }): Promise<void> {
    await this.client.api(`/users/${encodeURIComponent(userId)}/teamwork/sendActivityNotification`).post({
      topic: { source: 'text', value: n.topic, webUrl: n.webUrl },
      activityType: n.activityType,
      previewText: { content: n.preview },
      templateParameters: Object.entries(n.parameters).map(([name, value]) => ({ name, value })),
    });
  }

  /** GET /subscribedSkus: the tenant's licences with their service plans and unit counts. */
  async subscribedSkus(): Promise<SubscribedSku[]> {
    const res = (await this.client.api('/subscribedSkus').get()) as GraphPage<SubscribedSku>;
    return res.value ?? [];
  }

  // ------------------------------------------------------------------------------------------- provisioning

  /** GET /users/{id or UPN}?$select=…: the user, or null when Entra ID answers 404. */
  async user<T = Record<string, unknown>>(idOrUpn: string, select: readonly string[]): Promise<T | null> {
    try {
      return (await this.client.api(`/users/${encodeURIComponent(idOrUpn)}`).select([...select]).get()) as T;
    } catch (err) {
      if (isGraphStatus(err, 404)) return null;
      throw err;
    }
  }

  /**
   * Users matching an OData `$filter`, as an advanced query (`ConsistencyLevel: eventual` and `$count=true`),
   * which filters on properties such as onPremisesSamAccountName need; every page is read.
   */
  async usersByFilter<T = Record<string, unknown>>(filter: string, select: readonly string[]): Promise<T[]> {
    const out: T[] = [];
    let page = (await this.client
      .api('/users')
      .header('ConsistencyLevel', 'eventual')
      .count(true)
      .filter(filter)
      .select([...select])
      .top(999)
      .get()) as GraphPage<T>;
    for (;;) {
      out.push(...(page.value ?? []));
      const next = page['@odata.nextLink'];
      if (!next) return out;
      page = (await this.client.api(next).header('ConsistencyLevel', 'eventual').get()) as GraphPage<T>;
    }
  }

  /** PATCH /users/{id} {usageLocation}: the two-letter country licences are assigned for. */
  async setUsageLocation(userId: string, usageLocation: string): Promise<void> {
    await this.client.api(`/users/${encodeURIComponent(userId)}`).patch({ usageLocation });
  }

  /** POST /users/{id}/assignLicense: adds the given SKUs (no plan disabled) and removes others. */
  async assignLicense(userId: string, addSkuIds: readonly string[], removeSkuIds: readonly string[]): Promise<void> {
    await this.client.api(`/users/${encodeURIComponent(userId)}/assignLicense`).post({
      addLicenses: addSkuIds.map((skuId) => ({ skuId, disabledPlans: [] })),
      removeLicenses: [...removeSkuIds],
    });
  }

  /** POST /users/{id}/revokeSignInSessions: refresh tokens and session cookies issued before now stop working. */
  async revokeSignInSessions(userId: string): Promise<void> {
    await this.client.api(`/users/${encodeURIComponent(userId)}/revokeSignInSessions`).post({});
  }

  /** POST /groups/{id}/members/$ref: makes a directory object a direct member of a (cloud) group. */
  async addGroupMember(groupId: string, memberId: string): Promise<void> {
    await this.client
      .api(`/groups/${encodeURIComponent(groupId)}/members/$ref`)
      .post({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${encodeURIComponent(memberId)}` });
  }

  /** DELETE /groups/{id}/members/{memberId}/$ref. */
  async removeGroupMember(groupId: string, memberId: string): Promise<void> {
    await this.client.api(`/groups/${encodeURIComponent(groupId)}/members/${encodeURIComponent(memberId)}/$ref`).delete();
  }

  /** The ids of the groups (and roles, units) a user is a direct member of (GET /users/{id}/memberOf). */
  async memberOfIds(userId: string): Promise<string[]> {
    const out: string[] = [];
    let page = (await this.client.api(`/users/${encodeURIComponent(userId)}/memberOf`).select('id').top(999).get()) as GraphPage<{ id: string }>;
    for (;;) {
      for (const m of page.value ?? []) out.push(m.id);
      const next = page['@odata.nextLink'];
      if (!next) return out;
      page = (await this.client.api(next).get()) as GraphPage<{ id: string }>;
    }
  }

  /**
   * The groups a user is a direct member of, with their names and whether AD masters them
   * (GET /users/{id}/memberOf, groups only; directory roles and administrative units are left out).
   */
  async memberOfGroups(userId: string): Promise<GraphGroupMembership[]> {
    const out: GraphGroupMembership[] = [];
    type Row = { id: string; '@odata.type'?: string; displayName?: string | null; mail?: string | null; onPremisesSyncEnabled?: boolean | null };
    let page = (await this.client.api(`/users/${encodeURIComponent(userId)}/memberOf`).select(['id', 'displayName', 'mail', 'onPremisesSyncEnabled']).top(999).get()) as GraphPage<Row>;
    for (;;) {
      for (const m of page.value ?? []) {
        if (m['@odata.type'] && m['@odata.type'] !== '#microsoft.graph.group') continue;
        out.push({ id: m.id, displayName: m.displayName ?? '', mail: m.mail ?? null, onPremisesSyncEnabled: m.onPremisesSyncEnabled === true });
      }
      const next = page['@odata.nextLink'];
      if (!next) return out;
      page = (await this.client.api(next).get()) as GraphPage<Row>;
    }
  }

  /**
   * POST /$batch with at most 20 sub-requests; answers in the order asked (a sub-request's own failure,
   * 429 included, is its `status`, not a throw). URLs are relative to the version, e.g. `/users?$filter=…`.
   */
  async batch(requests: readonly GraphBatchRequest[]): Promise<GraphBatchResponse[]> {
    if (requests.length === 0) return [];
    if (requests.length > MAX_BATCH) throw new Error(`a Graph $batch takes at most ${MAX_BATCH} requests, not ${requests.length}`);
    const body = {
      requests: requests.map((r) => ({
        id: r.id,
        method: r.method,
        url: r.url,
        ...(r.headers ? { headers: { ...r.headers } } : {}),
        ...(r.body !== undefined ? { body: r.body, headers: { 'Content-Type': 'application/json', ...(r.headers ?? {}) } } : {}),
      })),
    };
    const res = (await this.client.api('/$batch').post(body)) as { responses?: GraphBatchResponse[] };
    const byId = new Map((res.responses ?? []).map((r) => [String(r.id), r]));
    return requests.map((r) => byId.get(r.id) ?? { id: r.id, status: 0, headers: {}, body: { error: { code: 'MissingBatchResponse', message: 'Graph did not answer this sub-request.' } } });
  }

  /**
   * Entra Cloud Sync on demand: POST /servicePrincipals/{id}/synchronization/jobs/{jobId}/provisionOnDemand for one AD
   * object (its distinguished name). Graph allows 5 calls per 10 s per job; a 429 is thrown like any Graph error.
   * Answers the provisioning result (`Success`, `Failure`, `Skipped`, `Warning`) and, when it was not a success, why.
   */
  async provisionOnDemand(servicePrincipalId: string, jobId: string, subject: ProvisionOnDemandSubject): Promise<ProvisionOnDemandOutcome> {
    const res = (await this.client
      .api(`/servicePrincipals/${encodeURIComponent(servicePrincipalId)}/synchronization/jobs/${encodeURIComponent(jobId)}/provisionOnDemand`)
      .post({ parameters: [{ ruleId: subject.ruleId, subjects: [{ objectId: subject.objectId, objectTypeName: subject.objectTypeName }] }] })) as {
      key?: unknown;
      value?: unknown;
    };
    return parseProvisionOnDemand(res?.key, res?.value);
  }

  /**
   * The synchronization rules of a job's schema (GET /servicePrincipals/{id}/synchronization/jobs/{jobId}/schema):
   * provisionOnDemand's `ruleId` must be one of them ("This rule ID is defined in the schema for a given
   * synchronization job"). Each rule with the object types it maps (`sourceObjectName` of its enabled object mappings).
   */
  async synchronizationRules(servicePrincipalId: string, jobId: string): Promise<SynchronizationRule[]> {
    const res = (await this.client
      .api(`/servicePrincipals/${encodeURIComponent(servicePrincipalId)}/synchronization/jobs/${encodeURIComponent(jobId)}/schema`)
      .get()) as { synchronizationRules?: unknown };
    const rules = Array.isArray(res?.synchronizationRules) ? (res.synchronizationRules as unknown[]) : [];
    const out: SynchronizationRule[] = [];
    for (const r of rules) {
      if (typeof r !== 'object' || r === null) continue;
      const rule = r as { id?: unknown; sourceDirectoryName?: unknown; targetDirectoryName?: unknown; objectMappings?: unknown };
      if (typeof rule.id !== 'string' || rule.id === '') continue;
      const mappings = Array.isArray(rule.objectMappings) ? (rule.objectMappings as { sourceObjectName?: unknown; enabled?: unknown }[]) : [];
      out.push({
        id: rule.id,
        sourceDirectoryName: typeof rule.sourceDirectoryName === 'string' ? rule.sourceDirectoryName : '',
        targetDirectoryName: typeof rule.targetDirectoryName === 'string' ? rule.targetDirectoryName : '',
        sourceObjectNames: mappings.filter((m) => m && m.enabled !== false && typeof m.sourceObjectName === 'string').map((m) => m.sourceObjectName as string),
      });
    }
    return out;
  }
}

const MAX_BATCH = 20;

/** Whether an error is a Graph SDK error with this HTTP status. */
function isGraphStatus(err: unknown, status: number): boolean {
  return typeof err === 'object' && err !== null && (err as { statusCode?: unknown }).statusCode === status;
}

/** JSON text (or an object already parsed) as an object, else null. */
function jsonObject(v: unknown): Record<string, unknown> | null {
  let parsed: unknown = v;
  if (typeof v === 'string') {
    try {
      parsed = JSON.parse(v) as unknown;
    } catch {
      return null;
    }
  }
  if (Array.isArray(parsed)) parsed = parsed[0];
  return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : null;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * provisionOnDemand's answer, a stringKeyStringValuePair whose `key` and `value` are JSON text: `key` holds the
 * result, `{"result":"Success","details":{}}` (a skip or failure: `details.errorCode`, `details.errorMessage`), and
 * `value` the provisioning record (`statusInfo`, `provisioningSteps` …; `{}` for a group). The result is read from
 * `key`; only when it has none does the record's `statusInfo.status` count. Nothing readable: `Unknown`, never a success.
 */
export function parseProvisionOnDemand(key: unknown, value: unknown): ProvisionOnDemandOutcome {
  const k = jsonObject(key);
  const record = jsonObject(value);
  const info = record && typeof record.statusInfo === 'object' && record.statusInfo !== null ? (record.statusInfo as Record<string, unknown>) : null;
  const details = k && typeof k.details === 'object' && k.details !== null ? (k.details as Record<string, unknown>) : {};
  const status = text(k?.result) ?? text(info?.status) ?? 'Unknown';
  const reason = text(details.errorMessage) ?? text(info?.reason) ?? (status === 'Unknown' && typeof key === 'string' ? key.slice(0, 300) : undefined);
  const errorCode = text(details.errorCode) ?? text(info?.errorCode);
  return { status, ...(reason ? { reason } : {}), ...(errorCode ? { errorCode } : {}) };
}

/** One sub-request of a Graph `$batch`. */
/** A group a user is a direct member of (GraphDirectory.memberOfGroups). */
export interface GraphGroupMembership {
  readonly id: string;
  readonly displayName: string;
  readonly mail: string | null;
  /** Synced from AD (AD masters its members). */
  readonly onPremisesSyncEnabled: boolean;
}

export interface GraphBatchRequest {
  readonly id: string;
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Relative to the version: `/users?$filter=…`. */
  readonly url: string;
  /** e.g. `{ ConsistencyLevel: 'eventual' }` for advanced queries (each sub-request needs its own). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

export interface GraphBatchResponse {
  readonly id: string;
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

/** What provisionOnDemand is asked to sync: the AD object's DN, its type and the job's rule. */
export interface ProvisionOnDemandSubject {
  readonly ruleId: string;
  readonly objectId: string;
  readonly objectTypeName: 'user' | 'group' | 'contact';
}

/** A rule of a synchronization job's schema, with the object types its object mappings provision. */
export interface SynchronizationRule {
  readonly id: string;
  readonly sourceDirectoryName: string;
  readonly targetDirectoryName: string;
  /** e.g. `user`, `inetOrgPerson`, `group`, `contact` for Cloud Sync's AD2AADProvisioning rule. */
  readonly sourceObjectNames: readonly string[];
}

export interface ProvisionOnDemandOutcome {
  /** `Success`, `Failure`, `Skipped`, `Warning`, or `Unknown` when the answer could not be read. */
  readonly status: string;
  readonly reason?: string;
  readonly errorCode?: string;
}

interface GraphPage<T> {
  value?: T[];
  '@odata.nextLink'?: string;
}

export interface SubscribedSku {
  skuId: string;
  skuPartNumber: string;
  prepaidUnits?: { enabled?: number };
  consumedUnits?: number;
  servicePlans?: { servicePlanName: string }[];
}
