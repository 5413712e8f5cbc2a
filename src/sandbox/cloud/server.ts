/**
 * The cloud emulator: one HTTPS server that answers as Microsoft Entra ID (token endpoint), Microsoft
 * Graph (`/v1.0`) and Exchange Online (`/adminapi/beta/{tenant}/InvokeCommand`) for one simulated
 * tenant, so that Mailroom's production clients (@azure/identity, @microsoft/microsoft-graph-client,
 * plain HTTPS) run unchanged against it.
 *
 * ```ts
 * const cloud = await startCloudEmulator({ stateDir: '.sandbox/cloud' });
 * const cred = new ClientSecretCredential(cloud.tenantId, cloud.clientId, cloud.clientSecret, {
 *   authorityHost: cloud.url, disableInstanceDiscovery: true, tlsOptions: { ca: cloud.caPem },
 * });
 * ```
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ensureEmulatorTls } from './certs';
import { systemClock } from './clock';
import type { CloudKnobs, EmulatorContext, FaultScope, ProvisionOnDemandHook } from './context';
import { GroupCommit, TenantStore } from './durable';
import { exoFault, handleExo } from './exo';
import { graphFault, handleGraph } from './graph';
import { json, readRequest, type EmulatorRequest, type EmulatorResponse } from './http';
import { handleOAuth, keyIdFor } from './oauth';
import { Prng } from './prng';
import { Tenant, type TenantOptions } from './tenant';

export interface StartCloudEmulatorOptions {
  /** A tenant to serve, or options for a new one. Default: the saved tenant in `stateDir` if `persist`, else a new default tenant. */
  tenant?: Tenant | TenantOptions;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Where the CA, server certificate, signing key (and with `persist` the tenant) are kept. Default `.sandbox/cloud`. */
  stateDir?: string;
  knobs?: CloudKnobs;
  /**
   * Keep the tenant durably in `stateDir/tenant.db` (durable.ts): loaded at start when no tenant is given, and
   * every change committed (fsynced) before the answer that follows it leaves, so a crash loses no answered write.
   */
  persist?: boolean;
  /** The durable store of `tenant` (the caller opened and loaded it); implies `persist`. Closed at stop. */
  store?: TenantStore;
  /** The sync engine's handler for Graph provisionOnDemand calls. */
  onProvisionOnDemand?: ProvisionOnDemandHook;
  /** Host name in Exchange "couldn't be found on '…'" messages. */
  exoServerName?: string;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  status: number;
  at: number;
}

export interface CloudEmulator {
  /** `https://127.0.0.1:PORT` — the authorityHost for @azure/identity and the Graph client's baseUrl. */
  url: string;
  /** Graph base, `${url}/v1.0`. */
  graphUrl: string;
  /** The InvokeCommand URL for this tenant (by tenant id). */
  exoUrl: string;
  /** PEM file and text of the CA that signed the server certificate. */
  caFile: string;
  caPem: string;
  tenantId: string;
  /** The initial `*.onmicrosoft.com` domain. */
  tenantDomain: string;
  /** The default app registration. */
  clientId: string;
  clientSecret: string;
  tenant: Tenant;
  /** Recent requests (newest last, at most 500), for tests. */
  readonly requests: readonly RequestLogEntry[];
  /** Changes knobs at run time. */
  setKnobs(knobs: Partial<CloudKnobs>): void;
  /** Answers the next `count` requests in `scope` with `status` (429 or 503) and Retry-After. */
  injectFaults(fault: { status: 429 | 503; count: number; scope?: FaultScope | 'any'; retryAfterSeconds?: number }): void;
  /** Registers (or clears) the sync engine's provisionOnDemand handler. */
  setProvisionOnDemandHook(hook: ProvisionOnDemandHook | null): void;
  /** With `persist`: commits what changed in-process (sync, tests) now; answers commit on their own. */
  saveState(): Promise<void>;
  /** The durable store (with `persist`), else null. */
  readonly durable: TenantStore | null;
  stop(): Promise<void>;
}

export const DEFAULT_STATE_DIR = path.join('.sandbox', 'cloud');

async function loadTenant(options: StartCloudEmulatorOptions, store: TenantStore | null): Promise<Tenant> {
  if (options.tenant instanceof Tenant) {
    store?.attach(options.tenant);
    return options.tenant;
  }
  const loaded = options.tenant === undefined && store ? await store.load() : null;
  if (loaded) return loaded;
  const tenant = new Tenant(options.tenant ?? {});
  store?.attach(tenant);
  return tenant;
}

function applyTenantKnobs(tenant: Tenant, knobs: Partial<CloudKnobs>): void {
  if (knobs.mailboxProvisioningDelayMs !== undefined) tenant.mailboxProvisioningDelayMs = knobs.mailboxProvisioningDelayMs;
  for (const [sku, units] of Object.entries(knobs.licenceUnits ?? {})) tenant.setSkuUnits(sku, units);
}

function scopeOf(pathname: string): FaultScope | null {
  if (/^\/v1\.0(\/|$)/i.test(pathname)) return 'graph';
  if (/^\/adminapi\//i.test(pathname)) return 'exo';
  if (/\/oauth2\/v2\.0\/token$/.test(pathname)) return 'token';
  return null;
}

/** Starts the emulator. See {@link StartCloudEmulatorOptions} and {@link CloudEmulator}. */
export async function startCloudEmulator(options: StartCloudEmulatorOptions = {}): Promise<CloudEmulator> {
  const stateDir = path.resolve(options.stateDir ?? DEFAULT_STATE_DIR);
  await mkdir(stateDir, { recursive: true });
  const tls = await ensureEmulatorTls(stateDir);
  const store = options.store ?? (options.persist ? TenantStore.open(stateDir) : null);
  const tenant = await loadTenant(options, store);
  const commits = store ? new GroupCommit(store) : null;
  const knobs: CloudKnobs = { ...(options.knobs ?? {}) };
  applyTenantKnobs(tenant, knobs);
  const signingKey = createPrivateKey(tls.tokenSigningKeyPem);
  const publicDer = createPublicKey(signingKey).export({ type: 'spki', format: 'der' });

  let prng = new Prng(knobs.seed ?? 1);
  const scripted: { status: 429 | 503; remaining: number; scope: FaultScope | 'any'; retryAfter: number | undefined }[] = [];
  const log: RequestLogEntry[] = [];

  const ctx: EmulatorContext = {
    tenant,
    baseUrl: '',
    signingKey,
    signingKid: keyIdFor(publicDer),
    realClock: systemClock,
    knobs: {
      ...knobs,
      provisionOnDemandLimit: knobs.provisionOnDemandLimit ?? { requests: 5, windowMs: 10_000 },
      syncedContactWrites: knobs.syncedContactWrites ?? 'error',
    },
    provisionOnDemand: options.onProvisionOnDemand ?? null,
    podCalls: new Map(),
    exoServerName: options.exoServerName ?? 'SBXPR01A001DC01.SBXPR01A001.PROD.OUTLOOK.COM',
  };

  const pickFault = (req: EmulatorRequest): EmulatorResponse | null => {
    const scope = scopeOf(req.url.pathname);
    if (!scope) return null;
    const retryAfterDefault = ctx.knobs.retryAfterSeconds ?? 1;
    const s = scripted.find((f) => f.remaining > 0 && (f.scope === 'any' || f.scope === scope));
    let status: 429 | 503 | null = null;
    let retryAfter = retryAfterDefault;
    if (s) {
      s.remaining -= 1;
      status = s.status;
      retryAfter = s.retryAfter ?? retryAfterDefault;
    } else if ((ctx.knobs.faultScope ?? ['graph', 'exo']).includes(scope)) {
      if (prng.chance(ctx.knobs.throttleRate ?? 0)) status = 429;
      else if (prng.chance(ctx.knobs.unavailableRate ?? 0)) status = 503;
    }
    if (status === null) return null;
    if (scope === 'graph') return graphFault(ctx, req, status, retryAfter);
    if (scope === 'exo') return exoFault(status, retryAfter);
    return json(status, { error: 'temporarily_unavailable', error_description: 'AADSTS90033: A transient error has occurred. Please try again.', error_codes: [90033] }, { 'retry-after': String(retryAfter) });
  };

  const route = async (req: EmulatorRequest): Promise<EmulatorResponse> => {
    const fault = pickFault(req);
    if (fault) return fault;
    const p = req.url.pathname;
    if (/^\/v1\.0(\/|$)/i.test(p)) return handleGraph(ctx, req);
    if (/^\/adminapi\//i.test(p)) return handleExo(ctx, req);
    const oauth = handleOAuth(ctx, req);
    if (oauth) return oauth;
    return json(404, { error: { code: 'NotFound', message: `The Mailroom cloud emulator has no route for ${req.method} ${p}.` } });
  };

  const server: Server = createServer({ key: tls.keyPem, cert: tls.certPem }, (req, res) => {
    const started = Date.now();
    void (async () => {
      let out: EmulatorResponse;
      let method = req.method ?? 'GET';
      let pathname = req.url ?? '/';
      try {
        const er = await readRequest(req, ctx.baseUrl);
        method = er.method;
        pathname = er.url.pathname;
        const latency = ctx.knobs.latencyMs ?? 0;
        if (latency > 0) await new Promise((r) => setTimeout(r, latency));
        out = await route(er);
      } catch (err) {
        out = json(500, { error: { code: 'InternalServerError', message: err instanceof Error ? err.message : String(err) } });
      }
      // Nothing leaves before it is on disk: the write this request made, and whatever it read (a sync cycle's or a
      // due mailbox's change) — one commit per event-loop turn for all the answers ready in it.
      if (commits) {
        try {
          await commits.commit();
        } catch (err) {
          out = json(503, { error: { code: 'ServiceUnavailable', message: `The emulator could not save its state: ${err instanceof Error ? err.message : String(err)}` } }, { 'retry-after': '1' });
        }
      }
      log.push({ method, path: pathname, status: out.status, at: started });
      if (log.length > 500) log.splice(0, log.length - 500);
      const payload =
        out.body === undefined ? undefined : typeof out.body === 'string' || Buffer.isBuffer(out.body) ? out.body : JSON.stringify(out.body);
      res.writeHead(out.status, { ...out.headers, ...(payload !== undefined ? { 'content-length': String(Buffer.byteLength(payload)) } : {}) });
      res.end(payload);
    })();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  ctx.baseUrl = `https://${host}:${addr.port}`;
  const app = tenant.apps()[0];
  if (!app) throw new Error('the tenant has no app registration');

  const saveState = async (): Promise<void> => {
    await commits?.commit();
  };

  return {
    url: ctx.baseUrl,
    graphUrl: `${ctx.baseUrl}/v1.0`,
    exoUrl: `${ctx.baseUrl}/adminapi/beta/${tenant.tenantId}/InvokeCommand`,
    caFile: tls.caFile,
    caPem: tls.caPem,
    tenantId: tenant.tenantId,
    tenantDomain: tenant.initialDomain,
    clientId: app.clientId,
    clientSecret: app.secrets[0] ?? '',
    tenant,
    get requests() {
      return log;
    },
    setKnobs(k: Partial<CloudKnobs>): void {
      Object.assign(ctx.knobs, k);
      if (k.seed !== undefined) prng = new Prng(k.seed);
      applyTenantKnobs(tenant, k);
    },
    injectFaults(f): void {
      scripted.push({ status: f.status, remaining: f.count, scope: f.scope ?? 'any', retryAfter: f.retryAfterSeconds });
    },
    setProvisionOnDemandHook(hook): void {
      ctx.provisionOnDemand = hook;
    },
    saveState,
    durable: store,
    async stop(): Promise<void> {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      store?.close(); // commits what is left
    },
  };
}
