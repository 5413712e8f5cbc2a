/**
 * The Mailroom sandbox: a simulated hybrid tenant on this machine. It starts
 * - a real Samba AD domain controller on a loopback address (`./samba`), with OUs for Mailroom,
 * - the cloud emulator (`./cloud`): Entra ID's token endpoint, Microsoft Graph and Exchange Online
 *   InvokeCommand over HTTPS, for the sandbox tenant `SANDBOX_TENANT_ID` with its people,
 * - the sync engine (`./sync`) copying AD to the tenant like Entra Connect Sync or Cloud Sync,
 * and writes `<stateDir>/endpoints.json` (mode 600) so Mailroom and scripts can find them.
 *
 * State lives in `<stateDir>` (default `<rootDir>/.sandbox`): `dc/` (the DC's folder, restarted with its data),
 * `cloud/` (CA, keys, `tenant.db`: the tenant, committed before every answer, so a crash loses no answered write;
 * see cloud/durable.ts). The sync engine keeps nothing: every start begins with a full import, which the tenant's
 * record of each object's last synced AD state makes a no-op for what did not change. `ephemeral: true` keeps
 * nothing (tests).
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MAILROOM_GRAPH_PERMISSIONS } from '../doctor/cloud';
import { projectRoot } from '../paths';
import type { Clock } from './cloud/clock';
import { ensureEmulatorTls } from './cloud/certs';
import type { CloudKnobs } from './cloud/context';
import type { IdGenerator } from './cloud/ids';
import { TenantStore } from './cloud/durable';
import { startCloudEmulator, type CloudEmulator } from './cloud/server';
import { Tenant } from './cloud/tenant';
import { SANDBOX_COLLEAGUES, SANDBOX_MAIL_DOMAIN, SANDBOX_PEOPLE, SANDBOX_TENANT_DOMAIN, SANDBOX_TENANT_ID, type SandboxPerson, type SandboxRole } from './people';
import { adRightsModel, applicableRights } from '../doctor/ad-rights';
import type { OuGroup } from '../requests/tenant-profile';
import { ensureSambaInstalled, startDomainController, type DomainController } from './samba';
import { delegateToServiceAccount, type SandboxDelegation } from './samba/delegation';
import { isProcessAlive, processName, readPidFile, signal, waitForExit } from './samba/process';
import { resolveSandboxKnobs, scaledSandboxDelays, type SandboxKnobs } from './knobs';
import { AdSession } from './sync/directory';
import { SyncEngine, type SyncMode } from './sync/engine';

export { DEFAULT_SANDBOX_KNOBS, sandboxKnobsFrom, SANDBOX_KNOB_VARIABLES, type SandboxKnobs } from './knobs';
export type { SandboxDelegation, ServiceAccount } from './samba/delegation';
export { SyncCycleError, SyncEngine, type OnDemandReport, type SyncMode, type SyncReport } from './sync/engine';

/** What `<stateDir>/endpoints.json` holds: everything a client needs to use the sandbox (its own throwaway secrets). */
export interface SandboxEndpoints {
  tenantId: string;
  /** The tenant's initial `*.onmicrosoft.com` domain. */
  tenantDomain: string;
  /** `https://127.0.0.1:PORT`: @azure/identity's authorityHost (with `disableInstanceDiscovery: true`). */
  authorityHost: string;
  clientId: string;
  clientSecret: string;
  /** PEM file of the CA behind authorityHost, graphUrl and exoUrl. */
  caFile: string;
  /** `https://127.0.0.1:PORT/v1.0` */
  graphUrl: string;
  /** `https://127.0.0.1:PORT/adminapi/beta/<tenantId>/InvokeCommand` */
  exoUrl: string;
  ldap: {
    /** `ldaps://127.0.0.x:636` */
    url: string;
    baseDn: string;
    /** Mailroom's service account (svc-mailroom), with only the rights of the AD rights model on Mailroom's OUs. */
    bindDn: string;
    password: string;
    /** PEM file of the CA that signed the DC's certificate (not the cloud's). */
    caFile: string;
  };
  sync: {
    mode: SyncMode;
    /** The Cloud Sync job for provisionOnDemand; null with Entra Connect Sync (no remote trigger). */
    servicePrincipalId: string | null;
    jobId: string | null;
  };
  skus: { exchangeOnline: string };
  people: Record<SandboxRole, { aadObjectId: string; upn: string; name: string }>;
  /** Mailroom's Teams app in the tenant's app catalog (Graph `GET /appCatalogs/teamsApps`). */
  teams: {
    /** The catalog id (teamsApp.id) to install from: `teamsApp@odata.bind` …/appCatalogs/teamsApps/{appCatalogId}. */
    appCatalogId: string;
    /** The manifest id (teamsApp.externalId): TEAMS_APP_ID of env/.env.sandbox. */
    manifestId: string;
    /** The bot's id in the app package (APP_PACKAGE_BOT_ID of env/.env.sandbox). */
    botId: string;
  };
}

/** DNs of the OUs the sandbox creates in AD for Mailroom. */
export interface MailroomOus {
  root: string;
  users: string;
  shared: string;
  resources: string;
  contacts: string;
  groups: string;
}

export interface SandboxTimings {
  /** From the call until everything ran and endpoints.json was written. */
  totalMs: number;
  /** True when this start created the DC's data (a first start); false when it restarted it. */
  firstStart: boolean;
  /** Start of the DC (template, clone, samba) and of the cloud emulator; they run side by side. */
  dcMs: number;
  cloudMs: number;
  /** OUs, UPN suffix, Mailroom's service account with its delegated rights, and people. */
  provisionMs: number;
  /** The first (full) sync cycle. */
  firstCycleMs: number;
  /** Whether this start had to provision the Samba template (a fresh machine: several seconds more). */
  templateProvisioned: boolean;
}

/** The tenant's clock: the wall clock plus an offset tests can move forward (mailbox delays, rate-limit windows). */
class SandboxClock implements Clock {
  private offset = 0;

  now(): number {
    return Date.now() + this.offset;
  }

  /** Moves the tenant's time forward (never back). Real timers (sync interval, tokens) are not affected. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new Error('the sandbox clock cannot go backwards');
    this.offset += ms;
  }

  get offsetMs(): number {
    return this.offset;
  }
}

export interface Sandbox {
  readonly endpoints: SandboxEndpoints;
  /** Where endpoints.json is (removed at stop). */
  readonly endpointsFile: string;
  readonly stateDir: string;
  readonly ephemeral: boolean;
  readonly knobs: Readonly<SandboxKnobs>;
  readonly dc: DomainController;
  readonly cloud: CloudEmulator;
  readonly sync: SyncEngine;
  /** The tenant behind the emulator (the same object as `cloud.tenant`). */
  readonly tenant: Tenant;
  readonly clock: SandboxClock;
  readonly ous: MailroomOus;
  /**
   * Mailroom's service account and its rights (src/doctor/ad-rights.ts, applied as ACEs on the OUs); endpoints.ldap
   * binds as it. `dc.bindDn` stays the Administrator (tests, the sync engine). Knobs take single rights away.
   */
  readonly delegation: SandboxDelegation;
  readonly timings: SandboxTimings;
  /** Stops sync, the emulator (committing what is left of the tenant unless ephemeral) and the DC; removes endpoints.json. Idempotent. */
  stop(): Promise<void>;
}

export interface StartSandboxOptions {
  /** The project root: the Samba template cache is `<rootDir>/.sandbox/cache`. */
  rootDir: string;
  /** Default `<rootDir>/.sandbox`. Ignored when `ephemeral`. */
  stateDir?: string;
  /** Temporary folders, nothing persisted, everything removed at stop (tests). */
  ephemeral?: boolean;
  knobs?: Partial<SandboxKnobs>;
  /** Progress and sync cycle lines. Default: none. */
  log?: (message: string) => void;
}

const ENDPOINTS_FILE = 'endpoints.json';
/** Holds the pid of the process running the sandbox of a state folder. */
const LOCK_FILE = 'sandbox.pid';

/** Hands out queued ids first (to create the sandbox people with their fixed object ids), then random ones. */
class IdSource {
  private queue: string[] = [];
  readonly generate: IdGenerator = () => this.queue.shift() ?? randomUUID();
  next(id: string): void {
    this.queue = [id];
  }
  clear(): void {
    this.queue = [];
  }
}

/**
 * The Microsoft Graph application permissions of the sandbox's app: exactly what Mailroom asks a tenant for (every
 * entry of MAILROOM_GRAPH_PERMISSIONS, group licensing and Cloud Sync included), so that the whole test run proves
 * the list is enough; plus LicenseAssignment.ReadWrite.All, with which the conformance suite plays the admin who puts
 * a licence on a group (POST /groups/{id}/assignLicense). Exchange: Exchange.ManageAsApp and the Entra role Exchange
 * Administrator (the tenant's defaults).
 */
export const SANDBOX_GRAPH_PERMISSIONS: readonly string[] = [...new Set([...MAILROOM_GRAPH_PERMISSIONS.map((n) => n.permission), 'LicenseAssignment.ReadWrite.All'])];

/** The sandbox app package's manifest id (TEAMS_APP_ID in env/.env.sandbox). */
export const SANDBOX_TEAMS_MANIFEST_ID = '00000000-0000-0000-0000-0000000000a1';
/** The sandbox app package's bot id (APP_PACKAGE_BOT_ID in env/.env.sandbox; the Agents Playground's bot). */
export const SANDBOX_TEAMS_BOT_ID = 'c0ffee00-0000-4000-8000-0000000000b0';

/** The activity types Mailroom's manifest declares (`activities.activityTypes[].type`; none without `activities`). */
export function manifestActivityTypes(rootDir = projectRoot()): string[] {
  const file = path.join(rootDir, 'appPackage', 'manifest.json');
  if (!existsSync(file)) return [];
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as { activities?: { activityTypes?: { type?: unknown }[] } };
  return (manifest.activities?.activityTypes ?? []).map((t) => t.type).filter((t): t is string => typeof t === 'string');
}

/**
 * Publishes Mailroom's Teams app to the sandbox tenant's app catalog (or refreshes it): a stable catalog id derived
 * from the tenant id, externalId = the sandbox manifest id, the bot id of the sandbox app package, the activity types
 * of appPackage/manifest.json, and the sandbox's Entra app as webApplicationInfo.id (the app that sends activity feed
 * notifications must be the one the manifest names there).
 */
export function publishMailroomTeamsApp(tenant: Tenant, clientId: string, rootDir = projectRoot()): { appCatalogId: string; manifestId: string; botId: string } {
  const app = tenant.teams.publishApp({
    id: derivedGuid(`${tenant.tenantId}/teams-app-catalog/mailroom`),
    externalId: SANDBOX_TEAMS_MANIFEST_ID,
    displayName: 'Mailroom (sandbox)',
    distributionMethod: 'organization',
    botId: SANDBOX_TEAMS_BOT_ID,
    webApplicationInfoId: clientId,
    activityTypes: manifestActivityTypes(rootDir),
  });
  return { appCatalogId: app.id, manifestId: app.externalId, botId: SANDBOX_TEAMS_BOT_ID };
}

/** A GUID derived from the tenant id (stable across restarts). */
function derivedGuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  const variant = ((parseInt(h.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The Cloud Sync service principal and job of the sandbox tenant. */
export function cloudSyncJob(tenantId: string): { servicePrincipalId: string; jobId: string } {
  const servicePrincipalId = derivedGuid(`${tenantId}/cloud-sync/service-principal`);
  const config = derivedGuid(`${tenantId}/cloud-sync/configuration`);
  return { servicePrincipalId, jobId: `AD2AADProvisioning.${config.replace(/-/g, '')}.${derivedGuid(`${tenantId}/cloud-sync/job`)}` };
}

export function mailroomOus(baseDn: string): MailroomOus {
  const root = `OU=Mailroom,${baseDn}`;
  return {
    root,
    users: `OU=Users,${root}`,
    shared: `OU=Shared,${root}`,
    resources: `OU=Resources,${root}`,
    contacts: `OU=Contacts,${root}`,
    groups: `OU=Groups,${root}`,
  };
}

/** The OU_* settings Mailroom gets in the sandbox: rooms and equipment share one OU, mail users live with the users. */
export function mailroomOuSettings(ous: MailroomOus): Record<OuGroup, string> {
  return { users: ous.users, shared: ous.shared, rooms: ous.resources, equipment: ous.resources, mailUsers: ous.users, contacts: ous.contacts, groups: ous.groups };
}

function cloudKnobs(k: SandboxKnobs): CloudKnobs {
  const scaled = scaledSandboxDelays(k);
  return {
    latencyMs: scaled.latencyMs,
    throttleRate: k.rate429,
    unavailableRate: k.rate503,
    retryAfterSeconds: k.retryAfterS,
    seed: k.seed,
    mailboxProvisioningDelayMs: scaled.mailboxDelayMs,
    licenceUnits: { EXCHANGESTANDARD: k.exoLicences },
    usageLocationLagMs: scaled.usageLocationLagMs,
    advancedQueryLagMs: scaled.advancedQueryLagMs,
    batchItemThrottleRate: k.batchItemRate429,
  };
}

/**
 * The emulator makes its CA and keys with openssl (~2 s). Ephemeral sandboxes copy them from a cache in
 * `<rootDir>/.sandbox/cache/cloud-tls` (made once, atomically).
 */
async function seedEphemeralTls(rootDir: string, cloudDir: string): Promise<void> {
  const cache = path.join(rootDir, '.sandbox', 'cache', 'cloud-tls');
  if (!existsSync(path.join(cache, 'tls', 'ca.pem'))) {
    await mkdir(path.dirname(cache), { recursive: true });
    const tmp = await mkdtemp(`${cache}.tmp-`);
    try {
      await ensureEmulatorTls(tmp);
      await rename(tmp, cache).catch(async () => rm(tmp, { recursive: true, force: true })); // another process won
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }
  const target = path.join(cloudDir, 'tls');
  await mkdir(target, { recursive: true, mode: 0o700 });
  for (const name of await readdir(path.join(cache, 'tls'))) {
    await copyFile(path.join(cache, 'tls', name), path.join(target, name));
  }
  // ensureEmulatorTls (in startCloudEmulator) renews what is expiring in the copy.
}

/** The saved tenant from `store` (attached to it), or a new one (attached by startCloudEmulator). */
async function loadOrCreateTenant(cloudDir: string, store: TenantStore | null, clock: Clock, ids: IdSource, knobs: SandboxKnobs): Promise<Tenant> {
  const saved = store ? await store.load({ clock, ids: ids.generate }) : null;
  if (saved) {
    const tenant = saved;
    if (tenant.tenantId !== SANDBOX_TENANT_ID) {
      throw new Error(`${store!.file} holds tenant ${tenant.tenantId}, not the sandbox tenant ${SANDBOX_TENANT_ID}. Delete ${cloudDir} to start the cloud side afresh.`);
    }
    tenant.addDomain(SANDBOX_MAIL_DOMAIN);
    const app = tenant.apps()[0];
    if (app) tenant.setAppGrants(app.clientId, { graphRoles: [...SANDBOX_GRAPH_PERMISSIONS] });
    return tenant;
  }
  return new Tenant({
    tenantId: SANDBOX_TENANT_ID,
    displayName: 'Contoso (sandbox)',
    initialDomain: SANDBOX_TENANT_DOMAIN,
    customDomains: [SANDBOX_MAIL_DOMAIN],
    clock,
    ids: ids.generate,
    mailboxProvisioningDelayMs: knobs.mailboxDelayMs,
    countryLetterCode: 'DE',
    skus: [
      { skuPartNumber: 'EXCHANGESTANDARD', units: knobs.exoLicences },
      { skuPartNumber: 'EXCHANGEENTERPRISE', units: 5 },
      { skuPartNumber: 'FLOW_FREE', units: 10_000 },
    ],
    apps: [{ displayName: 'Mailroom (sandbox)', graphRoles: [...SANDBOX_GRAPH_PERMISSIONS] }],
  });
}

/**
 * The tenant API creates users with generated ids only; the people need fixed ones (the Teams Playground
 * acts as them). The tenant takes an injected id generator, so the next id is queued just before each
 * creation and the result is checked.
 */
function ensurePeople(tenant: Tenant, ids: IdSource, people: readonly SandboxPerson[]): number {
  let created = 0;
  for (const p of people) {
    if (tenant.userById(p.aadObjectId)) continue;
    const other = tenant.user(p.upn);
    if (other) {
      throw new Error(`the sandbox tenant has ${p.upn} with object id ${other.id}, not ${p.aadObjectId}; delete the sandbox's cloud state to start afresh`);
    }
    tenant.tick(); // nothing due may take the queued id
    ids.next(p.aadObjectId);
    try {
      const u = tenant.createCloudUser({ userPrincipalName: p.upn, displayName: p.name, mailNickname: p.upn.split('@')[0], usageLocation: 'DE', accountEnabled: true });
      if (u.id !== p.aadObjectId) throw new Error(`could not give ${p.upn} the object id ${p.aadObjectId} (got ${u.id})`);
    } finally {
      ids.clear();
    }
    created += 1;
  }
  return created;
}

async function ensureAdLayout(dc: DomainController, ous: MailroomOus): Promise<number> {
  const session = await AdSession.open({ url: dc.url, baseDn: dc.baseDn, bindDn: dc.bindDn, password: dc.password, caPem: dc.caPem });
  try {
    let created = 0;
    if (await session.ensureOu(ous.root, 'Mailroom: recipients created by the Mailroom bot')) created += 1;
    const children: [string, string][] = [
      [ous.users, 'Mailroom: user mailboxes and mail users'],
      [ous.shared, 'Mailroom: shared mailboxes (disabled accounts)'],
      [ous.resources, 'Mailroom: room and equipment mailboxes'],
      [ous.contacts, 'Mailroom: mail contacts'],
      [ous.groups, 'Mailroom: distribution and mail-enabled security groups'],
    ];
    for (const [dn, description] of children) if (await session.ensureOu(dn, description)) created += 1;
    await session.ensureUpnSuffix(SANDBOX_MAIL_DOMAIN);
    return created;
  } finally {
    await session.close();
  }
}

/**
 * One sandbox per state folder. A lock left by a process that died without stopping (kill -9) is taken over:
 * the samba daemon it left running is stopped and its endpoints.json removed. Returns the release function.
 */
async function claimStateDir(stateDir: string, dcDir: string, log: (message: string) => void): Promise<() => Promise<void>> {
  const lock = path.join(stateDir, LOCK_FILE);
  const owner = await readPidFile(lock);
  if (owner !== undefined) {
    if (owner === process.pid || isProcessAlive(owner)) {
      throw new Error(`another sandbox (process ${owner}) is using ${stateDir}; stop it first (Ctrl-C where it runs, or kill ${owner}).`);
    }
    const pidFile = path.join(dcDir, 'run', 'samba.pid');
    const samba = await readPidFile(pidFile);
    if (samba !== undefined && isProcessAlive(samba) && processName(samba) === 'samba') {
      log(`sandbox: process ${owner} died without stopping its domain controller; stopping samba (pid ${samba})`);
      signal(samba, 'SIGTERM');
      if (!(await waitForExit(samba, 10_000))) {
        signal(samba, 'SIGKILL');
        await waitForExit(samba, 5_000);
      }
    }
    await rm(pidFile, { force: true });
    await rm(path.join(stateDir, ENDPOINTS_FILE), { force: true });
    await rm(lock, { force: true });
  }
  try {
    await writeFile(lock, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new Error(`another sandbox is starting in ${stateDir} right now.`);
    throw err;
  }
  return async () => {
    if ((await readPidFile(lock)) === process.pid) await unlink(lock).catch(() => undefined);
  };
}

async function writeEndpoints(file: string, endpoints: SandboxEndpoints): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(endpoints, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}

/** Starts the sandbox. See {@link StartSandboxOptions} and {@link Sandbox}. */
export async function startSandbox(opts: StartSandboxOptions): Promise<Sandbox> {
  const t0 = Date.now();
  const log = opts.log ?? (() => undefined);
  const knobs = resolveSandboxKnobs(opts.knobs);
  const rootDir = path.resolve(opts.rootDir);
  const ephemeral = opts.ephemeral === true;
  const stateDir = ephemeral ? await mkdtemp(path.join(os.tmpdir(), 'mailroom-sandbox-')) : path.resolve(opts.stateDir ?? path.join(rootDir, '.sandbox'));
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const dcDir = path.join(stateDir, 'dc');
  const cloudDir = path.join(stateDir, 'cloud');
  const cacheDir = path.join(rootDir, '.sandbox', 'cache');
  const firstStart = ephemeral || !existsSync(path.join(dcDir, 'etc', 'smb.conf'));

  const release = ephemeral ? (): Promise<void> => Promise.resolve() : await claimStateDir(stateDir, dcDir, log);
  const clock = new SandboxClock();
  const ids = new IdSource();
  let dc: DomainController | undefined;
  let cloud: CloudEmulator | undefined;
  let sync: SyncEngine | undefined;
  const cleanup = async (): Promise<void> => {
    await sync?.stop().catch(() => undefined);
    await cloud?.stop().catch(() => undefined);
    await dc?.stop().catch(() => undefined);
    if (ephemeral) await rm(stateDir, { recursive: true, force: true });
    await release();
  };

  try {
    let dcMs = 0;
    let cloudMs = 0;
    const startDc = async (): Promise<DomainController> => {
      const t = Date.now();
      const started = await startDomainController(
        ephemeral ? { cacheDir, runDir: path.join(rootDir, '.sandbox', 'run'), log } : { dir: dcDir, cacheDir, log },
      );
      dcMs = Date.now() - t;
      return started;
    };
    const startCloud = async (): Promise<CloudEmulator> => {
      const t = Date.now();
      await mkdir(cloudDir, { recursive: true, mode: 0o700 });
      if (ephemeral) await seedEphemeralTls(rootDir, cloudDir);
      const store = ephemeral ? null : TenantStore.open(cloudDir);
      let started: CloudEmulator;
      try {
        const tenant = await loadOrCreateTenant(cloudDir, store, clock, ids, knobs);
        started = await startCloudEmulator({ tenant, stateDir: cloudDir, knobs: cloudKnobs(knobs), ...(store ? { store } : {}) });
      } catch (err) {
        store?.close();
        throw err;
      }
      cloudMs = Date.now() - t;
      return started;
    };
    const [dcResult, cloudResult] = await Promise.allSettled([startDc(), startCloud()]);
    if (dcResult.status === 'fulfilled') dc = dcResult.value;
    if (cloudResult.status === 'fulfilled') cloud = cloudResult.value;
    if (dcResult.status === 'rejected') throw dcResult.reason;
    if (cloudResult.status === 'rejected') throw cloudResult.reason;
    const theDc = dc!;
    const theCloud = cloud!;
    const tenant = theCloud.tenant;
    log(`sandbox: domain controller ${theDc.url} (${firstStart ? 'new' : 'restarted'}, ${dcMs} ms), cloud ${theCloud.url} (${cloudMs} ms)`);

    const tp = Date.now();
    const ous = mailroomOus(theDc.baseDn);
    const ousCreated = await ensureAdLayout(theDc, ous);
    // Mailroom binds as svc-mailroom with exactly the model's rights (the sandbox's schema has Exchange's attributes).
    const delegation = await delegateToServiceAccount(theDc, await ensureSambaInstalled(), applicableRights(adRightsModel({ ous: mailroomOuSettings(ous) }), true));
    const peopleCreated = ensurePeople(tenant, ids, [...Object.values(SANDBOX_PEOPLE), ...SANDBOX_COLLEAGUES]);
    const provisionMs = Date.now() - tp;
    if (ousCreated + peopleCreated > 0) log(`sandbox: created ${ousCreated} OUs in AD and ${peopleCreated} people in the tenant`);

    const job = cloudSyncJob(tenant.tenantId);
    if (knobs.syncMode === 'cloud') tenant.registerSyncJob(job);
    const engine = new SyncEngine({
      tenant,
      directory: { url: theDc.url, baseDn: theDc.baseDn, bindDn: theDc.bindDn, password: theDc.password, caPem: theDc.caPem },
      mode: knobs.syncMode,
      intervalMs: scaledSandboxDelays(knobs).syncIntervalMs,
      exchangeLagMs: scaledSandboxDelays(knobs).exchangeLagMs,
      cloud: theCloud,
      job: knobs.syncMode === 'cloud' ? job : undefined,
      log,
    });
    sync = engine;
    const tc = Date.now();
    await engine.runCycle({ full: true });
    const firstCycleMs = Date.now() - tc;
    engine.start();

    const teamsApp = publishMailroomTeamsApp(tenant, theCloud.clientId);
    const exchangeSku = tenant.skus().find((s) => s.skuPartNumber === 'EXCHANGESTANDARD');
    if (!exchangeSku) throw new Error('the sandbox tenant has no Exchange Online (Plan 1) SKU');
    const person = (p: SandboxPerson): { aadObjectId: string; upn: string; name: string } => ({ aadObjectId: p.aadObjectId, upn: p.upn, name: p.name });
    const endpoints: SandboxEndpoints = {
      tenantId: theCloud.tenantId,
      tenantDomain: theCloud.tenantDomain,
      authorityHost: theCloud.url,
      clientId: theCloud.clientId,
      clientSecret: theCloud.clientSecret,
      caFile: theCloud.caFile,
      graphUrl: theCloud.graphUrl,
      exoUrl: theCloud.exoUrl,
      ldap: { url: theDc.url, baseDn: theDc.baseDn, bindDn: delegation.account.upn, password: delegation.account.password, caFile: theDc.caFile },
      sync: {
        mode: knobs.syncMode,
        servicePrincipalId: knobs.syncMode === 'cloud' ? job.servicePrincipalId : null,
        jobId: knobs.syncMode === 'cloud' ? job.jobId : null,
      },
      skus: { exchangeOnline: exchangeSku.skuId },
      people: { requester: person(SANDBOX_PEOPLE.requester), approver: person(SANDBOX_PEOPLE.approver), admin: person(SANDBOX_PEOPLE.admin) },
      teams: teamsApp,
    };
    const endpointsFile = path.join(stateDir, ENDPOINTS_FILE);
    await theCloud.saveState(); // the app's secret and the people are on disk before endpoints.json names them
    await writeEndpoints(endpointsFile, endpoints);

    const timings: SandboxTimings = {
      totalMs: Date.now() - t0,
      firstStart,
      dcMs,
      cloudMs,
      provisionMs,
      firstCycleMs,
      templateProvisioned: theDc.template.created,
    };
    log(`sandbox: ready in ${timings.totalMs} ms (${knobs.syncMode === 'cloud' ? 'Entra Cloud Sync' : 'Entra Connect Sync'}, cycle ${knobs.syncIntervalMs > 0 ? `every ${knobs.syncIntervalMs} ms` : 'on request only'})`);

    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        const problems: unknown[] = [];
        const attempt = async (fn: () => Promise<unknown>): Promise<void> => {
          try {
            await fn();
          } catch (err) {
            problems.push(err);
          }
        };
        await attempt(() => engine.stop());
        await attempt(() => theCloud.stop()); // commits what is left to tenant.db unless ephemeral
        await attempt(() => theDc.stop());
        await attempt(() => rm(endpointsFile, { force: true }));
        if (ephemeral) await attempt(() => rm(stateDir, { recursive: true, force: true }));
        await attempt(release);
        if (problems.length === 1) throw problems[0];
        if (problems.length > 1) throw new AggregateError(problems, 'the sandbox did not stop cleanly');
      })();
      return stopping;
    };

    return {
      endpoints,
      endpointsFile,
      stateDir,
      ephemeral,
      knobs: Object.freeze({ ...knobs }),
      dc: theDc,
      cloud: theCloud,
      sync: engine,
      tenant,
      clock,
      ous,
      delegation,
      timings,
      stop,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
