import { Client, Middleware, RetryHandlerOptions } from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials';
import type { TokenCredential } from '@azure/identity';
import { GRAPH_SCOPE, trustedCas } from './credential';
import { graphMiddlewareTrusting, NodeHttpsMessageHandler } from './https';

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
  const authProvider = new TokenCredentialAuthenticationProvider(credential, { scopes: [GRAPH_SCOPE] });
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

  /** The user members of a group (direct members; nested groups are not expanded). */
  async memberUserIds(groupId: string): Promise<string[]> {
    const out: string[] = [];
    let page = (await this.client.api(`/groups/${encodeURIComponent(groupId)}/members`).select('id').get()) as GraphPage<{ id: string; '@odata.type'?: string }>;
    for (;;) {
      for (const m of page.value ?? []) if (!m['@odata.type'] || m['@odata.type'] === '#microsoft.graph.user') out.push(m.id);
      if (!page['@odata.nextLink']) break;
      page = (await this.client.api(page['@odata.nextLink']).get()) as GraphPage<{ id: string; '@odata.type'?: string }>;
    }
    return out;
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
   * Answers the provisioning status (`Success`, `Failure`, `Skipped`, `Warning`) and, when it failed, why.
   */
  async provisionOnDemand(servicePrincipalId: string, jobId: string, subject: ProvisionOnDemandSubject): Promise<ProvisionOnDemandOutcome> {
    const res = (await this.client
      .api(`/servicePrincipals/${encodeURIComponent(servicePrincipalId)}/synchronization/jobs/${encodeURIComponent(jobId)}/provisionOnDemand`)
      .post({ parameters: [{ ruleId: subject.ruleId, subjects: [{ objectId: subject.objectId, objectTypeName: subject.objectTypeName }] }] })) as {
      value?: unknown;
    };
    return parseProvisionOnDemand(res?.value);
  }
}

const MAX_BATCH = 20;

/** Whether an error is a Graph SDK error with this HTTP status. */
function isGraphStatus(err: unknown, status: number): boolean {
  return typeof err === 'object' && err !== null && (err as { statusCode?: unknown }).statusCode === status;
}

/** The `value` of provisionOnDemand's answer: a JSON string holding `[{provisioningSteps, statusInfo}]` (or one object). */
function parseProvisionOnDemand(value: unknown): ProvisionOnDemandOutcome {
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value) as unknown;
    } catch {
      return { status: 'Unknown', reason: value.slice(0, 300) };
    }
  }
  const first: unknown = Array.isArray(parsed) ? parsed[0] : parsed;
  const info = typeof first === 'object' && first !== null ? (first as { statusInfo?: { status?: unknown; reason?: unknown; errorCode?: unknown } }).statusInfo : undefined;
  const status = typeof info?.status === 'string' ? info.status : 'Unknown';
  return {
    status,
    ...(typeof info?.reason === 'string' && info.reason ? { reason: info.reason } : {}),
    ...(typeof info?.errorCode === 'string' && info.errorCode ? { errorCode: info.errorCode } : {}),
  };
}

/** One sub-request of a Graph `$batch`. */
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
