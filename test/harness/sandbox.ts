/**
 * The test run's sandbox: one ephemeral hybrid tenant (Samba AD DC + cloud emulator + sync engine) shared by
 * every suite, started on first use and stopped after all suites (onGlobalTeardown).
 *
 * - Sync runs only when asked (interval 0): create or change objects in AD, then `await sandbox.sync.runCycle()`
 *   (or call Graph's provisionOnDemand through {@link graphCall}); assert through Graph, EXO or LDAP.
 * - Mailboxes appear as soon as a licence is assigned (mailbox delay 0). To test delays, set
 *   `sandbox.cloud.setKnobs({ mailboxProvisioningDelayMs })` and move the tenant's time with
 *   `sandbox.clock.advance(ms)` instead of sleeping; put the knob back afterwards.
 * - Mode `cloud` (Entra Cloud Sync). provisionOnDemand allows 5 calls per 10 s per job, counted on the tenant's
 *   clock: a suite that hits the limit calls {@link resetProvisionOnDemandLimit} when done.
 * - Isolation: each suite creates its own OU with {@link createSandboxOu} and deletes it at the end (the next
 *   cycle then removes its objects from the tenant). Never change the tenant's people, the Mailroom OUs or
 *   organisation-wide settings without restoring them.
 * - A full cycle removes every synced object AD does not have in scope: objects put into the tenant with
 *   `tenant.upsertSyncedUser` directly (not through AD) do not survive `runCycle({ full: true })`.
 */
import { ClientSecretCredential } from '@azure/identity';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { Client } from 'ldapts';
import { projectRoot } from '../../src/paths';
import { startSandbox, type Sandbox, type SandboxEndpoints } from '../../src/sandbox';
import { AD2AAD_RULE_ID } from '../../src/sandbox/cloud/tenant-model';
import { onGlobalTeardown } from './root-hooks';
import { createTestOu, openLdapClient, type TestOu } from './samba';

let shared: Promise<Sandbox> | undefined;

/**
 * The shared sandbox (ephemeral, Cloud Sync, sync interval 0, mailbox delay 0), started on the first call.
 * Give the calling before() hook a long timeout: a fresh machine provisions the Samba template first (~10 s).
 */
export function getSharedSandbox(): Promise<Sandbox> {
  shared ??= startSandbox({
    rootDir: projectRoot(),
    ephemeral: true,
    knobs: { syncMode: 'cloud', syncIntervalMs: 0, mailboxDelayMs: 0, latencyMs: 0, rate429: 0, rate503: 0 },
  }).then(
    (sandbox) => {
      onGlobalTeardown('sandbox', () => sandbox.stop());
      return sandbox;
    },
    (err: unknown) => {
      shared = undefined; // let a later suite try again (and report its own error)
      throw err;
    },
  );
  return shared;
}

export interface SandboxOuOptions {
  /**
   * Give Mailroom's service account the rights it has on Mailroom's OUs on this OU too (every class), as an admin
   * delegates an extra OU: for suites whose Mailroom changes or deletes objects the suite put here. Mailroom binds as
   * that account, so without it AD refuses (insufficient access).
   */
  readonly delegated?: boolean;
}

/** A uniquely named OU directly below the domain for one suite; `cleanup()` deletes it with its contents. */
export async function createSandboxOu(sandbox: Sandbox, name: string, options: SandboxOuOptions = {}): Promise<TestOu> {
  const ou = await createTestOu(sandbox.dc, name);
  if (options.delegated) {
    try {
      await sandbox.delegation.delegateOu(ou.dn);
    } catch (err) {
      await ou.cleanup();
      throw err;
    }
  }
  return ou;
}

/** An ldapts client bound as the sandbox's administrator over LDAPS (CA verified, timeouts set). Unbind it. */
export function openSandboxLdap(sandbox: Sandbox): Promise<Client> {
  return openLdapClient(sandbox.dc);
}

/** A ClientSecretCredential built only from endpoints.json's values, as Mailroom builds it. */
export function credentialFromEndpoints(endpoints: SandboxEndpoints): ClientSecretCredential {
  return new ClientSecretCredential(endpoints.tenantId, endpoints.clientId, endpoints.clientSecret, {
    authorityHost: endpoints.authorityHost,
    disableInstanceDiscovery: true,
    tlsOptions: { ca: readFileSync(endpoints.caFile, 'utf8') },
  });
}

const credentials = new WeakMap<SandboxEndpoints, ClientSecretCredential>();

function credentialOf(endpoints: SandboxEndpoints): ClientSecretCredential {
  let c = credentials.get(endpoints);
  if (!c) {
    c = credentialFromEndpoints(endpoints);
    credentials.set(endpoints, c);
  }
  return c;
}

export interface HttpResult<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The parsed JSON body, or undefined. */
  json: T;
}

/** One HTTPS request trusting the sandbox cloud's CA. */
export function httpsRequest<T = unknown>(
  caPem: string,
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<HttpResult<T>> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = request(
      url,
      {
        method,
        ca: caPem,
        timeout: 30_000,
        headers: {
          ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown = undefined;
          try {
            json = text === '' ? undefined : (JSON.parse(text) as unknown);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: json as T });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/**
 * A Graph call with an app token: `path` is relative to graphUrl (e.g. `/users?$filter=…`). Add
 * `{ ConsistencyLevel: 'eventual' }` for advanced queries.
 */
export async function graphCall<T = unknown>(
  sandbox: Sandbox,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<HttpResult<T>> {
  const token = await credentialOf(sandbox.endpoints).getToken('https://graph.microsoft.com/.default');
  return httpsRequest<T>(sandbox.cloud.caPem, method, `${sandbox.endpoints.graphUrl}${path}`, body, { authorization: `Bearer ${token.token}`, ...headers });
}

/** Exchange Online InvokeCommand with an app token (one page). */
export async function exoCall<T = unknown>(sandbox: Sandbox, cmdlet: string, parameters: Record<string, unknown> = {}): Promise<HttpResult<T>> {
  const token = await credentialOf(sandbox.endpoints).getToken('https://outlook.office365.com/.default');
  return httpsRequest<T>(
    sandbox.cloud.caPem,
    'POST',
    sandbox.endpoints.exoUrl,
    { CmdletInput: { CmdletName: cmdlet, Parameters: parameters } },
    {
      authorization: `Bearer ${token.token}`,
      'x-anchormailbox': `APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@${sandbox.endpoints.tenantId}`,
      prefer: 'odata.maxpagesize=1000',
    },
  );
}

/**
 * The body of Graph's provisionOnDemand for one AD object, with the rule of the sandbox job's schema (`GET
 * …/jobs/{jobId}/schema`: synchronizationRules[0].id, the id Microsoft's Cloud Sync example shows).
 */
export function provisionOnDemandBody(dn: string, objectTypeName: 'user' | 'group' | 'contact' = 'user', ruleId: string = AD2AAD_RULE_ID): unknown {
  return { parameters: [{ ruleId, subjects: [{ objectId: dn, objectTypeName }] }] };
}

/** provisionOnDemand's answer: `key` and `value` are JSON text (key: `{result, details}`; value: the provisioning record, `{}` for a group). */
export interface OnDemandAnswer {
  key: { result: string; details: { errorCode?: string; errorMessage?: string } };
  value: {
    statusInfo?: { status: string; errorCode?: string | null; reason?: string | null };
    provisioningSteps?: { name: string; status: string; description?: string }[];
    action?: string;
  };
}

/** Parses a 200 answer of provisionOnDemand (asserting the status and that key and value are JSON strings). */
export function onDemandAnswer(res: HttpResult): OnDemandAnswer {
  if (res.status !== 200) throw new Error(`provisionOnDemand answered ${res.status}: ${res.text}`);
  const body = res.json as { key: unknown; value: unknown };
  if (typeof body.key !== 'string' || typeof body.value !== 'string') throw new Error(`key and value must be JSON strings: ${res.text}`);
  return { key: JSON.parse(body.key) as OnDemandAnswer['key'], value: JSON.parse(body.value) as OnDemandAnswer['value'] };
}

/** POST …/synchronization/jobs/{jobId}/provisionOnDemand with the sandbox's Cloud Sync job. */
export function provisionOnDemand(sandbox: Sandbox, dn: string, objectTypeName: 'user' | 'group' | 'contact' = 'user'): Promise<HttpResult> {
  const { servicePrincipalId, jobId } = sandbox.endpoints.sync;
  if (!servicePrincipalId || !jobId) throw new Error('the sandbox runs Entra Connect Sync: there is no provisionOnDemand');
  return graphCall(sandbox, 'POST', `/servicePrincipals/${servicePrincipalId}/synchronization/jobs/${encodeURIComponent(jobId)}/provisionOnDemand`, provisionOnDemandBody(dn, objectTypeName));
}

/** Moves the tenant's clock past provisionOnDemand's rate-limit window (10 s), so later suites start fresh. */
export function resetProvisionOnDemandLimit(sandbox: Sandbox): void {
  sandbox.clock.advance(10_001);
}

// -------------------------------------------------------------------------------------------------
// Taking a right away from the sandbox's app (or the tenant's health) and giving it back. Each returns the function
// that restores what was there; call it in `finally`/`after`: other suites share the sandbox. Entra puts permissions
// and roles into tokens, so a change of Graph permissions or of the Entra role shows only to a new credential.
// -------------------------------------------------------------------------------------------------

function sandboxApp(sandbox: Sandbox): string {
  return sandbox.endpoints.clientId;
}

/** Takes Graph application permissions away from the sandbox's app. */
export function revokeGraphPermissions(sandbox: Sandbox, permissions: readonly string[]): () => void {
  const before = sandbox.tenant.appGrants(sandboxApp(sandbox));
  sandbox.tenant.setAppGrants(sandboxApp(sandbox), { graphRoles: before.graphRoles.filter((r) => !permissions.includes(r)) });
  return () => void sandbox.tenant.setAppGrants(sandboxApp(sandbox), { graphRoles: before.graphRoles });
}

/** Takes away the app's Exchange access: its Entra role (Exchange Administrator) and any Exchange management roles; with `manageAsApp`, the Exchange.ManageAsApp permission too. */
export function revokeExchangeRoles(sandbox: Sandbox, options: { manageAsApp?: boolean } = {}): () => void {
  const before = sandbox.tenant.appGrants(sandboxApp(sandbox));
  sandbox.tenant.setAppGrants(sandboxApp(sandbox), {
    directoryRoles: [],
    exchangeManagementRoles: [],
    ...(options.manageAsApp ? { exchangeRoles: before.exchangeRoles.filter((r) => r !== 'Exchange.ManageAsApp') } : {}),
  });
  return () => void sandbox.tenant.setAppGrants(sandboxApp(sandbox), before);
}

/** Sets the status of the sandbox's Cloud Sync job (Paused, Quarantine …). */
export function setSyncJobStatus(sandbox: Sandbox, code: 'Active' | 'Paused' | 'Quarantine' | 'NotRun', quarantine?: { reason: string; errorCode: string; message: string }): () => void {
  const { servicePrincipalId, jobId } = sandbox.endpoints.sync;
  if (!servicePrincipalId || !jobId) throw new Error('the sandbox runs Entra Connect Sync: it has no Cloud Sync job');
  const before = sandbox.tenant.setSyncJobStatus(servicePrincipalId, jobId, code, quarantine);
  return () => void sandbox.tenant.setSyncJobStatus(servicePrincipalId, jobId, before.code, before.quarantine ?? undefined);
}

/**
 * Sets a SKU's purchased units to `units(sku)` (no change when it gives undefined); returns the undo (the purchased
 * units as they were).
 */
function setSkuUnitsFor(sandbox: Sandbox, skuId: string, units: (sku: { prepaidUnits: number; consumedUnits: number }) => number | undefined): () => void {
  const sku = sandbox.tenant.subscribedSkus().find((s) => s.skuId === skuId);
  if (!sku) throw new Error(`the sandbox tenant has no SKU ${skuId}`);
  const to = units(sku);
  if (to === undefined) return () => undefined;
  sandbox.tenant.setSkuUnits(skuId, to);
  return () => sandbox.tenant.setSkuUnits(skuId, sku.prepaidUnits);
}

/** Leaves no free unit of a SKU (default: the Exchange Online (Plan 1) SKU): purchased units = consumed units. */
export function useUpLicences(sandbox: Sandbox, skuId = sandbox.endpoints.skus.exchangeOnline): () => void {
  return setSkuUnitsFor(sandbox, skuId, (sku) => sku.consumedUnits);
}

/**
 * Makes sure at least `free` units of a SKU (default: the Exchange Online (Plan 1) SKU) are free in the shared tenant,
 * buying more when earlier suites' users hold them; returns the undo (the purchased units as they were).
 */
export function ensureFreeLicences(sandbox: Sandbox, free: number, skuId = sandbox.endpoints.skus.exchangeOnline): () => void {
  return setSkuUnitsFor(sandbox, skuId, (sku) => (sku.prepaidUnits - sku.consumedUnits >= free ? undefined : sku.consumedUnits + free));
}

/** Removes an accepted (verified) domain from the tenant. */
export function removeAcceptedDomain(sandbox: Sandbox, domain: string): () => void {
  const { wasDefault } = sandbox.tenant.removeDomain(domain);
  return () => sandbox.tenant.addDomain(domain, wasDefault);
}
