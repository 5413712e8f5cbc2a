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

/** The Graph operations Mailroom needs; more arrive with the provisioning executors. */
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
