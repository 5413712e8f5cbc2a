/**
 * Shared helpers for the cloud emulator tests: start an emulator with a test tenant, build the real
 * clients (ClientSecretCredential + Graph client) trusting its CA in-process, and call Exchange's
 * InvokeCommand over plain HTTPS.
 */
import { ClientSecretCredential, type TokenCredential } from '@azure/identity';
import { Client } from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials';
import os from 'node:os';
import path from 'node:path';
import { ManualClock } from '../../src/sandbox/cloud/clock';
import { sequentialGuids } from '../../src/sandbox/cloud/ids';
import { startCloudEmulator, type CloudEmulator, type StartCloudEmulatorOptions } from '../../src/sandbox/cloud/server';
import { Tenant, type AdUserInput, type TenantOptions } from '../../src/sandbox/cloud/tenant';
import { httpsRequest, type HttpResult } from '../harness/sandbox';
import { graphMiddlewareTrusting, type NodeHttpsMessageHandler } from '../../src/sandbox/cloud/trust';

/** One state directory for all cloud tests, so the CA and server certificate are made once. */
export const TEST_STATE_DIR = path.join(os.tmpdir(), 'mailroom-cloud-emulator-test');

export const EXCHANGESTANDARD = '4b9405b0-7788-4568-add1-99614e613b69';
export const FLOW_FREE = 'f30db892-07e9-47e9-837c-80727f46fd3d';

export interface TestCloud {
  cloud: CloudEmulator;
  tenant: Tenant;
  clock: ManualClock;
  credential: ClientSecretCredential;
  graph: Client;
  http: NodeHttpsMessageHandler;
  stop(): Promise<void>;
}

export function credentialFor(cloud: CloudEmulator, secret = cloud.clientSecret, clientId = cloud.clientId, tenant = cloud.tenantId): ClientSecretCredential {
  return new ClientSecretCredential(tenant, clientId, secret, {
    authorityHost: cloud.url,
    disableInstanceDiscovery: true,
    tlsOptions: { ca: cloud.caPem },
  });
}

export function graphClientFor(cloud: CloudEmulator, credential: TokenCredential): { graph: Client; http: NodeHttpsMessageHandler } {
  const auth = new TokenCredentialAuthenticationProvider(credential, { scopes: ['https://graph.microsoft.com/.default'] });
  const { chain, http } = graphMiddlewareTrusting(auth, cloud.caPem);
  const graph = Client.initWithMiddleware({
    middleware: chain,
    baseUrl: `${cloud.url}/`,
    customHosts: new Set([new URL(cloud.url).hostname]),
  });
  return { graph, http };
}

/** Starts an emulator on a fresh tenant driven by a manual clock. */
export async function startTestCloud(
  tenantOptions: TenantOptions = {},
  options: Omit<StartCloudEmulatorOptions, 'tenant'> = {},
): Promise<TestCloud> {
  const clock = new ManualClock();
  const tenant = new Tenant({ clock, ids: sequentialGuids(), tenantId: '7a6b5c4d-0000-4000-8000-00000000abcd', ...tenantOptions });
  const cloud = await startCloudEmulator({ stateDir: TEST_STATE_DIR, ...options, tenant });
  const credential = credentialFor(cloud);
  const { graph, http } = graphClientFor(cloud, credential);
  return {
    cloud,
    tenant,
    clock,
    credential,
    graph,
    http,
    async stop() {
      http.destroy();
      await cloud.stop();
    },
  };
}

export type { HttpResult } from '../harness/sandbox';

/** A plain HTTPS request trusting the emulator's CA. */
export function httpsCall(cloud: CloudEmulator, method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResult> {
  return httpsRequest(cloud.caPem, method, url, body, headers);
}

export interface ExoPage {
  '@odata.context'?: string;
  '@odata.nextLink'?: string;
  value: Record<string, unknown>[];
  '@adminapi.warnings': string[];
}

export interface ExoErrorBody {
  error: { code: string; message: string; details: { code: string; target: string; message: string }[] };
}

/** Exchange Online InvokeCommand, the way the ExchangeOnlineManagement module calls it. */
export class ExoClient {
  constructor(
    private readonly cloud: CloudEmulator,
    private readonly credential: TokenCredential,
  ) {}

  async token(): Promise<string> {
    const t = await this.credential.getToken('https://outlook.office365.com/.default');
    if (!t) throw new Error('no token');
    return t.token;
  }

  async invoke(cmdlet: string, parameters: Record<string, unknown> = {}, options: { pageSize?: number; url?: string } = {}): Promise<HttpResult> {
    const token = await this.token();
    return httpsCall(
      this.cloud,
      'POST',
      options.url ?? this.cloud.exoUrl,
      { CmdletInput: { CmdletName: cmdlet, Parameters: parameters } },
      {
        authorization: `Bearer ${token}`,
        'x-anchormailbox': `APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@${this.cloud.tenantId}`,
        prefer: `odata.maxpagesize=${options.pageSize ?? 1000}`,
        'x-cmdletname': cmdlet,
      },
    );
  }

  /** Runs a cmdlet and follows @odata.nextLink; throws on a non-2xx answer. */
  async run(cmdlet: string, parameters: Record<string, unknown> = {}, pageSize = 1000): Promise<{ values: Record<string, unknown>[]; pages: number; warnings: string[] }> {
    const values: Record<string, unknown>[] = [];
    const warnings: string[] = [];
    let url: string | undefined = undefined;
    let pages = 0;
    do {
      const res = await this.invoke(cmdlet, parameters, { pageSize, url });
      if (res.status < 200 || res.status >= 300) throw new Error(`${cmdlet} failed with ${res.status}: ${res.text}`);
      const page = res.json as ExoPage;
      pages += 1;
      values.push(...page.value);
      warnings.push(...page['@adminapi.warnings']);
      url = page['@odata.nextLink'];
    } while (url);
    return { values, pages, warnings };
  }
}

let guidCounter = 0;

/** An AD user as the sync engine would pass it. */
export function adUser(sam: string, extra: Partial<AdUserInput> = {}): AdUserInput {
  guidCounter += 1;
  return {
    objectGuid: `6f9619ff-8b86-d011-b42d-${guidCounter.toString(16).padStart(12, '0')}`,
    distinguishedName: `CN=${sam},OU=Staff,DC=contoso,DC=com`,
    samAccountName: sam,
    userPrincipalName: `${sam}@contoso.com`,
    accountEnabled: true,
    displayName: sam,
    ...extra,
  };
}
