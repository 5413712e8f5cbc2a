/**
 * In-memory model of one hybrid Microsoft 365 tenant: Entra ID (users, groups, contacts, licences,
 * app registrations) and Exchange Online (recipients, accepted domains, organisation config).
 *
 * Two kinds of callers use it:
 * - the **sync engine** (written separately) reads AD and calls {@link Tenant.upsertSyncedUser},
 *   {@link Tenant.upsertSyncedContact}, {@link Tenant.upsertSyncedGroup} and {@link Tenant.removeSynced};
 *   these apply the hybrid rules of `hybrid-behaviour.md` (see `rules.ts`) to decide what reaches EXO;
 * - the **HTTP emulator** (`graph.ts`, `exo.ts`) reads and writes it on behalf of Graph and
 *   InvokeCommand requests.
 *
 * Time comes from an injected {@link Clock}. Work that the real service does later (mailbox
 * provisioning after a licence) is queued with a due time and carried out by {@link Tenant.tick},
 * which every public method calls first; with a delay of 0 a mailbox exists as soon as the licence does.
 *
 * State is plain data (its types, and what a new object looks like, are in `tenant-model.ts`):
 * {@link Tenant.toJSON} / {@link Tenant.fromJSON} save and restore it.
 */
import type { Clock } from './clock';
import { systemClock } from './clock';
import { ExoError, GraphError, graphNotFound, graphSyncedObjectReadOnly } from './errors';
import { EMPTY_GUID, immutableIdFromObjectGuid, isGuid, randomGuid, type IdGenerator } from './ids';
import {
  adMastersExchangeAttributes,
  applyAdProxyAddressesDiff,
  applyPrimaryAddressChange,
  calculatedPrimaryAddress,
  contactReachesExo,
  exoGroupShape,
  groupReachesExo,
  initialCloudManaged,
  initialMailboxAddresses,
  isMailboxType,
  isPrimarySmtp,
  licenceRemovalEffect,
  mailboxPrimaryAddress,
  normaliseProxy,
  primaryOf,
  withUpnAddress,
  proxyKey,
  splitProxy,
  syncedMailNickname,
  toAlias,
  unlicensedSyncedUserType,
  type RecipientTypeDetails,
} from './rules';
import { KNOWN_SKUS, skuGivesMailbox, type SkuDefinition } from './skus';
import {
  DEFAULT_DIRECTORY_ROLES,
  DEFAULT_EXCHANGE_ROLES,
  DEFAULT_GRAPH_ROLES,
  newEntraContact,
  newEntraGroup,
  newEntraUser,
  type AcceptedDomain,
  type AdContactInput,
  type AdGroupInput,
  type AdUserInput,
  type AnyEntraObject,
  type AppRegistration,
  type AppSeed,
  type DirectoryRoleName,
  type EntraContact,
  type EntraGroup,
  type EntraUser,
  type ExoRecipient,
  type LicenceAssignment,
  type SkuSeed,
  type SkuState,
  type SyncJobState,
  type SyncJobStatusCode,
  type SyncOutcome,
  type TenantOptions,
  type TenantState,
} from './tenant-model';

// The types of the Tenant's API, for its callers (the sync engine, the emulator, tests).
export type {
  AdContactInput,
  AdGroupInput,
  AdUserInput,
  AppRegistration,
  AutoReplyState,
  CalendarProcessingChanges,
  DirectoryRoleName,
  EntraContact,
  EntraGroup,
  EntraUser,
  ExoRecipient,
  MailboxAce,
  SyncJobState,
  SyncJobStatusCode,
  SyncOutcome,
  TenantOptions,
  TenantState,
} from './tenant-model';

/** What an app is granted; see {@link Tenant.setAppGrants}. */
export interface AppGrants {
  graphRoles: string[];
  exchangeRoles: string[];
  directoryRoles: DirectoryRoleName[];
  exchangeManagementRoles: string[];
}

/** Raised when a synced object would collide with another one (Entra's AttributeValueMustBeUnique). */
export class SyncConflictError extends Error {
  override readonly name = 'SyncConflictError';
  constructor(
    readonly attribute: string,
    readonly value: string,
    readonly conflictsWith: string,
  ) {
    super(`AttributeValueMustBeUnique: ${attribute} '${value}' is already used by object ${conflictsWith}.`);
  }
}

function norm(v: string | null | undefined): string {
  return (v ?? '').trim().toLowerCase();
}

function blankToNull(v: string | null | undefined): string | null {
  if (v === undefined || v === null) return null;
  const t = v.trim();
  return t === '' ? null : t;
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const x = (a ?? []).map((s) => s.toLowerCase()).sort();
  const y = (b ?? []).map((s) => s.toLowerCase()).sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** `CN=Doe\, Jane,OU=…` → `Doe, Jane`. */
function firstRdnValue(dn: string): string {
  let out = '';
  const eq = dn.indexOf('=');
  for (let i = eq + 1; i < dn.length; i++) {
    const c = dn.charAt(i);
    if (c === '\\') {
      const next = dn.slice(i + 1, i + 3);
      if (/^[0-9a-fA-F]{2}$/.test(next)) {
        out += String.fromCharCode(parseInt(next, 16));
        i += 2;
      } else {
        out += dn.charAt(i + 1);
        i += 1;
      }
    } else if (c === ',' || c === '+') {
      break;
    } else {
      out += c;
    }
  }
  return out.trim();
}

function domainOfDn(dn: string): string | null {
  const parts = [...dn.matchAll(/(?:^|,)\s*DC=([^,]+)/gi)].map((m) => m[1] ?? '');
  return parts.length > 0 ? parts.join('.') : null;
}

/** Entra proxyAddresses of a synced contact or group: AD's, normalised, led by `SMTP:<mail>` when AD names no primary. */
function syncedProxyAddresses(ad: { proxyAddresses?: string[] }, mail: string | null): string[] {
  const list = (ad.proxyAddresses ?? []).map(normaliseProxy);
  if (mail && !list.some(isPrimarySmtp)) list.unshift(`SMTP:${mail}`);
  return list;
}

function customAttributesFromAd(ext: Record<string, string | null | undefined> | undefined): string[] {
  return Array.from({ length: 15 }, (_, i) => blankToNull(ext?.[`extensionAttribute${i + 1}`]) ?? '');
}

/** A new mail user, mail contact or guest: mail to it goes to `external`; `primary` is its one address. */
function forwardTo(rec: ExoRecipient, external: string, primary: string): void {
  rec.externalEmailAddress = `SMTP:${external}`;
  rec.primarySmtpAddress = primary;
  rec.windowsEmailAddress = primary;
  rec.emailAddresses = [`SMTP:${primary}`];
}

/** What a synced contact and a synced group have alike (see Tenant.upsertSyncedMailObject). */
type SyncedMailObject<A> = {
  id: string;
  displayName: string;
  mail: string | null;
  mailNickname: string;
  proxyAddresses: string[];
  onPremisesImmutableId: string | null;
  onPremisesLastSyncDateTime: string | null;
  ad: A | null;
};

/** What differs between the sync of a contact and of a group (see Tenant.upsertSyncedMailObject). */
interface SyncedMailKind<T> {
  kind: 'contact' | 'group';
  /** A new synced object, empty but for its immutable id. */
  create(immutableId: string, now: string): T;
  /** The kind's own Entra attributes from AD (`cn`: the name the DN gives); display name and mail are set already. */
  fromAd(obj: T, cn: string): void;
  /** Whether the object, with this mail, reaches Exchange Online. */
  reachesExo(mail: string | null): boolean;
  /** The type of a new recipient. */
  type: RecipientTypeDetails;
  /** What is particular to the kind on its recipient. */
  shape(rec: ExoRecipient, mail: string): void;
  /** Runs once Exchange is done, before the outcome is read. */
  afterExo?(obj: T): void;
}

/** The simulated tenant. See the file comment for the overall contract. */
export class Tenant {
  readonly clock: Clock;
  private readonly ids: IdGenerator;
  private s: TenantState;
  /** Recipients by Entra object id (kept in step with `s.recipients`). */
  private recIndex = new Map<string, ExoRecipient>();
  /** Recipients Exchange Online does not see (yet) as they are: see {@link holdBackFromExchange}. */
  private exoHeld = new Map<string, { shown: ExoRecipient | null; until: number }>();
  /** Users by object id, by immutable id and by lower-case UPN (kept in step with `s.users`). */
  private userIndex = new Map<string, EntraUser>();
  private userByImmutable = new Map<string, EntraUser>();
  private userByUpn = new Map<string, EntraUser>();

  constructor(options: TenantOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.ids = options.ids ?? randomGuid;
    const initial = (options.initialDomain ?? 'contoso.onmicrosoft.com').toLowerCase();
    const custom = (options.customDomains ?? ['contoso.com']).map((d) => d.toLowerCase());
    const defaultDomain = (options.defaultDomain ?? custom[0] ?? initial).toLowerCase();
    this.s = {
      version: 1,
      tenantId: options.tenantId ?? this.ids(),
      displayName: options.displayName ?? 'Contoso',
      domains: [initial, ...custom].map((name) => ({ name, isInitial: name === initial, isDefault: name === defaultDomain })),
      exchangeAttributesCloudManagedByDefault: options.exchangeAttributesCloudManagedByDefault ?? false,
      mailboxProvisioningDelayMs: options.mailboxProvisioningDelayMs ?? 0,
      countryLetterCode: options.countryLetterCode ?? 'DE',
      apps: [],
      skus: [],
      users: [],
      groups: [],
      contacts: [],
      recipients: [],
      pendingMailboxes: [],
    };
    const skus = options.skus ?? [
      { skuPartNumber: 'EXCHANGESTANDARD', units: 25 },
      { skuPartNumber: 'EXCHANGEENTERPRISE', units: 5 },
      { skuPartNumber: 'FLOW_FREE', units: 10000 },
    ];
    for (const seed of skus) this.addSku(seed);
    for (const app of options.apps ?? [{}]) this.registerApp(app);
  }

  // ===========================================================================================
  // Persistence
  // ===========================================================================================

  /** The whole state as plain JSON-safe data (a copy). */
  toJSON(): TenantState {
    return JSON.parse(JSON.stringify(this.s)) as TenantState;
  }

  /**
   * The state itself, not a copy: for the durable store (durable.ts), which serialises it after every answer and
   * must not pay for a deep copy. Never change it through this.
   */
  liveState(): Readonly<TenantState> {
    return this.s;
  }

  /** Restores a tenant saved with {@link toJSON}. The clock and id generator are not part of the state. */
  static fromJSON(state: TenantState, options: { clock?: Clock; ids?: IdGenerator } = {}): Tenant {
    if (state.version !== 1) throw new Error(`unsupported tenant state version ${String(state.version)}`);
    const t = new Tenant({ clock: options.clock, ids: options.ids, apps: [], skus: [] });
    t.s = JSON.parse(JSON.stringify(state)) as TenantState;
    t.recIndex = new Map(t.s.recipients.map((r) => [r.externalDirectoryObjectId, r]));
    for (const u of t.s.users) t.indexUser(u);
    return t;
  }

  private addUser(u: EntraUser): void {
    this.s.users.push(u);
    this.indexUser(u);
  }

  private indexUser(u: EntraUser, oldUpn?: string): void {
    this.userIndex.set(u.id, u);
    if (u.onPremisesImmutableId) this.userByImmutable.set(u.onPremisesImmutableId, u);
    if (oldUpn !== undefined) this.userByUpn.delete(oldUpn.toLowerCase());
    this.userByUpn.set(u.userPrincipalName.toLowerCase(), u);
  }

  private unindexUser(u: EntraUser): void {
    this.userIndex.delete(u.id);
    if (u.onPremisesImmutableId) this.userByImmutable.delete(u.onPremisesImmutableId);
    this.userByUpn.delete(u.userPrincipalName.toLowerCase());
  }

  // ===========================================================================================
  // Tenant-level facts and configuration
  // ===========================================================================================

  get tenantId(): string {
    return this.s.tenantId;
  }

  get displayName(): string {
    return this.s.displayName;
  }

  /** The `*.onmicrosoft.com` domain. */
  get initialDomain(): string {
    const d = this.s.domains.find((x) => x.isInitial);
    if (!d) throw new Error('tenant has no initial domain');
    return d.name;
  }

  get countryLetterCode(): string {
    return this.s.countryLetterCode;
  }

  acceptedDomains(): AcceptedDomain[] {
    return this.s.domains.map((d) => ({ ...d }));
  }

  /** Adds a verified custom domain (accepted domain in EXO). */
  addDomain(name: string, makeDefault = false): void {
    const n = name.toLowerCase();
    if (!this.s.domains.some((d) => d.name === n)) this.s.domains.push({ name: n, isInitial: false, isDefault: false });
    if (makeDefault) for (const d of this.s.domains) d.isDefault = d.name === n;
  }

  /**
   * Removes a custom domain (Entra verified domain and Exchange accepted domain; the initial domain cannot be
   * removed). When it was the default, the initial domain becomes the default. Returns whether it was the default,
   * for `addDomain(name, wasDefault)` to put it back. Objects that use it keep their addresses (a test knob: Entra
   * would refuse to remove a domain in use).
   */
  removeDomain(name: string): { wasDefault: boolean } {
    const n = name.toLowerCase();
    const d = this.s.domains.find((x) => x.name === n);
    if (!d) throw new Error(`${name} is not a domain of the tenant`);
    if (d.isInitial) throw new Error(`${name} is the initial domain; it cannot be removed`);
    this.s.domains = this.s.domains.filter((x) => x !== d);
    if (d.isDefault) for (const x of this.s.domains) x.isDefault = x.isInitial;
    return { wasDefault: d.isDefault };
  }

  isAcceptedDomain(domain: string): boolean {
    const d = domain.toLowerCase();
    return this.s.domains.some((x) => x.name === d);
  }

  /** Whether a name (tenant id, initial or custom domain) designates this tenant. */
  matchesTenant(key: string): boolean {
    const k = key.toLowerCase();
    return k === this.s.tenantId.toLowerCase() || this.s.domains.some((d) => d.name === k);
  }

  get mailboxProvisioningDelayMs(): number {
    return this.s.mailboxProvisioningDelayMs;
  }

  /** Changes the delay for mailboxes scheduled from now on. */
  set mailboxProvisioningDelayMs(ms: number) {
    this.s.mailboxProvisioningDelayMs = Math.max(0, ms);
  }

  /** EXO `Set-OrganizationConfig -ExchangeAttributesCloudManagedByDefault` (shown as BlockExchangeProvisioningFromOnPremEnabled). */
  get exchangeAttributesCloudManagedByDefault(): boolean {
    return this.s.exchangeAttributesCloudManagedByDefault;
  }

  set exchangeAttributesCloudManagedByDefault(on: boolean) {
    this.s.exchangeAttributesCloudManagedByDefault = on;
  }

  // ===========================================================================================
  // App registrations
  // ===========================================================================================

  /** Registers an app (client credentials). Returns the registration, including a generated secret if none was given. */
  registerApp(seed: AppSeed): AppRegistration {
    const app: AppRegistration = {
      clientId: seed.clientId ?? this.ids(),
      displayName: seed.displayName ?? 'Mailroom',
      servicePrincipalId: this.ids(),
      secrets: [seed.clientSecret ?? `sbx~${this.ids().replace(/-/g, '')}`],
      certificates: seed.certificatePem ? [seed.certificatePem] : [],
      graphRoles: [...(seed.graphRoles ?? DEFAULT_GRAPH_ROLES)],
      exchangeRoles: [...(seed.exchangeRoles ?? DEFAULT_EXCHANGE_ROLES)],
      directoryRoles: [...(seed.directoryRoles ?? DEFAULT_DIRECTORY_ROLES)],
      exchangeManagementRoles: [...(seed.exchangeManagementRoles ?? [])],
    };
    this.s.apps = this.s.apps.filter((a) => a.clientId !== app.clientId);
    this.s.apps.push(app);
    return { ...app };
  }

  /** What an app is granted now (defaults filled in for state saved before a field existed). */
  appGrants(clientId: string): AppGrants {
    const app = this.app(clientId);
    if (!app) throw new Error(`no app ${clientId}`);
    return {
      graphRoles: [...app.graphRoles],
      exchangeRoles: [...app.exchangeRoles],
      directoryRoles: [...(app.directoryRoles ?? DEFAULT_DIRECTORY_ROLES)],
      exchangeManagementRoles: [...(app.exchangeManagementRoles ?? [])],
    };
  }

  /**
   * Changes what an app is granted: Graph and Exchange application permissions (the `roles` of its tokens), the
   * Entra roles of its service principal (the `wids` of its tokens) and the Exchange management roles it holds
   * through role groups. As in Entra ID, tokens issued before keep the claims they carry: a client sees a change of
   * the first three with its next token. Exchange management roles apply to the next request. Returns what was
   * granted before, so that a test can put it back with the same call.
   */
  setAppGrants(clientId: string, change: Partial<AppGrants>): AppGrants {
    const before = this.appGrants(clientId);
    const app = this.app(clientId)!;
    if (change.graphRoles) app.graphRoles = [...change.graphRoles];
    if (change.exchangeRoles) app.exchangeRoles = [...change.exchangeRoles];
    if (change.directoryRoles) app.directoryRoles = [...change.directoryRoles];
    if (change.exchangeManagementRoles) app.exchangeManagementRoles = [...change.exchangeManagementRoles];
    return before;
  }

  // ===========================================================================================
  // Cloud Sync jobs (Graph synchronizationJob)
  // ===========================================================================================

  /** Registers (or finds) a Cloud Sync job of a service principal; a new one is Active. */
  registerSyncJob(job: { servicePrincipalId: string; jobId: string; templateId?: string; ruleId?: string }): SyncJobState {
    this.s.syncJobs ??= [];
    const found = this.findSyncJob(job.servicePrincipalId, job.jobId);
    if (found) return structuredClone(found);
    const state: SyncJobState = {
      servicePrincipalId: job.servicePrincipalId,
      jobId: job.jobId,
      templateId: job.templateId ?? 'AD2AADProvisioning',
      code: 'Active',
      quarantine: null,
      ...(job.ruleId ? { ruleId: job.ruleId } : {}),
    };
    this.s.syncJobs.push(state);
    return structuredClone(state);
  }

  /** The Cloud Sync jobs of a service principal. */
  syncJobs(servicePrincipalId: string): SyncJobState[] {
    return (this.s.syncJobs ?? []).filter((j) => j.servicePrincipalId.toLowerCase() === servicePrincipalId.toLowerCase()).map((j) => structuredClone(j));
  }

  /** A Cloud Sync job, or undefined. */
  syncJob(servicePrincipalId: string, jobId: string): SyncJobState | undefined {
    const j = this.findSyncJob(servicePrincipalId, jobId);
    return j ? structuredClone(j) : undefined;
  }

  /**
   * Sets a job's status code (Active, Paused after a pause or when an admin stopped it, Quarantine with a reason
   * from synchronizationQuarantine's quarantineReason list). Returns the previous state, to restore with
   * `setSyncJobStatus(sp, job, before.code, before.quarantine ?? undefined)`.
   */
  setSyncJobStatus(
    servicePrincipalId: string,
    jobId: string,
    code: SyncJobStatusCode,
    quarantine?: { reason: string; errorCode: string; message: string },
  ): SyncJobState {
    const j = this.findSyncJob(servicePrincipalId, jobId);
    if (!j) throw new Error(`no synchronization job ${jobId} on service principal ${servicePrincipalId}`);
    const before = structuredClone(j);
    j.code = code;
    j.quarantine = code === 'Quarantine' ? { reason: quarantine?.reason ?? 'Unknown', errorCode: quarantine?.errorCode ?? '', message: quarantine?.message ?? '', since: this.iso() } : null;
    return before;
  }

  private findSyncJob(servicePrincipalId: string, jobId: string): SyncJobState | undefined {
    return (this.s.syncJobs ?? []).find((j) => j.servicePrincipalId.toLowerCase() === servicePrincipalId.toLowerCase() && j.jobId.toLowerCase() === jobId.toLowerCase());
  }

  /** Adds a certificate (PEM) to an app, for `client_assertion` sign-in. */
  addAppCertificate(clientId: string, certificatePem: string): void {
    const app = this.s.apps.find((a) => a.clientId === clientId);
    if (!app) throw new Error(`no app ${clientId}`);
    app.certificates.push(certificatePem);
  }

  app(clientId: string): AppRegistration | undefined {
    return this.s.apps.find((a) => a.clientId.toLowerCase() === clientId.toLowerCase());
  }

  apps(): AppRegistration[] {
    return this.s.apps.map((a) => ({ ...a }));
  }

  // ===========================================================================================
  // Licences (SKUs)
  // ===========================================================================================

  /** Adds or replaces a subscribed SKU. */
  addSku(seed: SkuSeed): SkuState {
    const known = KNOWN_SKUS[seed.skuPartNumber];
    const def: SkuDefinition = known ?? {
      skuId: seed.skuId ?? this.ids(),
      skuPartNumber: seed.skuPartNumber,
      servicePlans: seed.servicePlans ?? [],
    };
    const sku: SkuState = {
      skuId: seed.skuId ?? def.skuId,
      skuPartNumber: def.skuPartNumber,
      servicePlans: seed.servicePlans ?? def.servicePlans,
      prepaidUnits: seed.units,
    };
    this.s.skus = this.s.skus.filter((x) => x.skuPartNumber !== sku.skuPartNumber);
    this.s.skus.push(sku);
    return { ...sku };
  }

  /** Sets the purchased units of a SKU (by part number or skuId). Existing assignments are kept. */
  setSkuUnits(skuPartNumberOrId: string, units: number): void {
    const sku = this.findSku(skuPartNumberOrId);
    if (!sku) throw new Error(`no SKU ${skuPartNumberOrId}`);
    sku.prepaidUnits = units;
    this.tick();
    this.reconcileLicences();
  }

  private findSku(key: string): SkuState | undefined {
    const k = key.toLowerCase();
    return this.s.skus.find((x) => x.skuId.toLowerCase() === k || x.skuPartNumber.toLowerCase() === k);
  }

  /** The SKUs with their consumption, as Graph `subscribedSkus` reports them. */
  subscribedSkus(): (SkuState & { consumedUnits: number })[] {
    this.tick();
    return this.s.skus.map((sku) => ({ ...sku, consumedUnits: this.consumedUnits(sku.skuId) }));
  }

  /** The subscribed SKUs without consumption (cheap). */
  skus(): SkuState[] {
    return this.s.skus.map((sku) => structuredClone(sku));
  }

  private consumedUnits(skuId: string): number {
    return this.s.users.filter((u) => u.licenseAssignmentStates.some((l) => l.skuId === skuId && l.state === 'Active')).length;
  }

  // ===========================================================================================
  // Clock-driven work
  // ===========================================================================================

  /** Carries out work that has fallen due (mailbox provisioning). Called by every public method. */
  tick(): void {
    const now = this.clock.now();
    const due = this.s.pendingMailboxes.filter((p) => p.dueAt <= now);
    if (due.length === 0) return;
    this.s.pendingMailboxes = this.s.pendingMailboxes.filter((p) => p.dueAt > now);
    for (const p of due) this.createMailboxFor(p.userId);
  }

  /** When the mailbox of a licensed user will exist (ms since epoch), or null if none is pending. */
  pendingMailboxDueAt(userKey: string): number | null {
    const u = this.user(userKey);
    return this.s.pendingMailboxes.find((p) => p.userId === u?.id)?.dueAt ?? null;
  }

  private iso(): string {
    return new Date(this.clock.now()).toISOString();
  }

  // ===========================================================================================
  // Sync engine API
  // ===========================================================================================

  /**
   * Creates or updates a user synced from AD (matched on its immutable id), and applies what reaches
   * Exchange Online:
   * - Entra: identity attributes always follow AD (UPN, names, department, accountEnabled …);
   *   `usageLocation` only when AD has one;
   * - EXO without a mailbox: `MailUser` if mail + mailNickname + targetAddress are all set, else `User`;
   * - EXO with a mailbox: a change of AD `mail` makes it the primary address (the old one stays as
   *   `smtp:`), even when cloud-managed; other Exchange attributes (mailNickname, proxyAddresses,
   *   msExchHideFromAddressLists, extension attributes) are applied only while the mailbox is not
   *   `IsExchangeCloudManaged`;
   * - users first synced while `ExchangeAttributesCloudManagedByDefault` is on get no Exchange
   *   attributes from AD, and their mailbox starts cloud-managed.
   * A mailbox itself comes only from an Exchange licence (see {@link assignLicense}).
   *
   * AD changes are applied as differences against the last synced state (as sync exports deltas):
   * e.g. an alias changed in EXO with Set-MailUser stays until AD's mailNickname changes.
   *
   * @throws SyncConflictError when the UPN or an address is already used by another object.
   */
  upsertSyncedUser(ad: AdUserInput): SyncOutcome {
    this.tick();
    const immutableId = this.immutableIdOf(ad);
    const notes: string[] = [];
    const upn = this.cloudUpnFor(ad.userPrincipalName);
    if (upn.toLowerCase() !== ad.userPrincipalName.toLowerCase()) {
      notes.push(`UPN suffix of ${ad.userPrincipalName} is not a verified domain; Entra uses ${upn}`);
    }
    let user = this.userByImmutable.get(immutableId);
    const holder = this.userByUpn.get(upn.toLowerCase());
    const clash = holder && holder !== user ? holder : undefined;
    if (clash) throw new SyncConflictError('userPrincipalName', upn, clash.id);
    const created = !user;
    const prev = user?.ad ?? null;
    const now = this.iso();
    if (!user) {
      user = newEntraUser(this.ids(), now, {
        userPrincipalName: upn,
        displayName: '',
        mailNickname: '',
        accountEnabled: ad.accountEnabled,
        onPremisesSyncEnabled: true,
        onPremisesImmutableId: immutableId,
        cloudManagedByDefaultAtFirstSync: this.s.exchangeAttributesCloudManagedByDefault,
      });
      this.addUser(user);
    }
    // Identity attributes: always from AD.
    if (user.userPrincipalName !== upn) {
      const old = user.userPrincipalName;
      user.userPrincipalName = upn;
      this.indexUser(user, old);
    }
    user.displayName = blankToNull(ad.displayName) ?? firstRdnValue(ad.distinguishedName);
    user.givenName = blankToNull(ad.givenName);
    user.surname = blankToNull(ad.surname);
    user.department = blankToNull(ad.department);
    user.jobTitle = blankToNull(ad.jobTitle);
    user.companyName = blankToNull(ad.companyName);
    user.mobilePhone = blankToNull(ad.mobilePhone);
    user.businessPhones = blankToNull(ad.telephoneNumber) ? [ad.telephoneNumber!.trim()] : [];
    user.officeLocation = blankToNull(ad.officeLocation);
    user.employeeId = blankToNull(ad.employeeId);
    user.accountEnabled = ad.accountEnabled;
    user.mailNickname = syncedMailNickname(ad.mailNickname, ad.samAccountName);
    if (blankToNull(ad.usageLocation)) user.usageLocation = ad.usageLocation!.trim().toUpperCase();
    user.onPremisesSamAccountName = ad.samAccountName;
    user.onPremisesDistinguishedName = ad.distinguishedName;
    user.onPremisesUserPrincipalName = ad.userPrincipalName;
    user.onPremisesDomainName = domainOfDn(ad.distinguishedName);
    user.onPremisesSecurityIdentifier = blankToNull(ad.objectSid);
    user.onPremisesLastSyncDateTime = now;

    // Exchange side.
    let rec = this.recipientOf(user.id);
    if (!rec) {
      rec = this.newRecipient(user.id, 'user', 'User', firstRdnValue(ad.distinguishedName), user.mailNickname, user.displayName, true);
    }
    rec.displayName = user.displayName;
    const addressesBefore = [...rec.emailAddresses];
    const blocked = isMailboxType(rec.recipientTypeDetails) ? rec.isExchangeCloudManaged : user.cloudManagedByDefaultAtFirstSync;
    if (isMailboxType(rec.recipientTypeDetails)) {
      this.applyAdToMailbox(rec, user, prev, ad, notes);
    } else {
      const wanted = unlicensedSyncedUserType(ad, blocked);
      if (blocked && created && (blankToNull(ad.targetAddress) || (ad.proxyAddresses ?? []).length > 0)) {
        notes.push('organisation default ExchangeAttributesCloudManagedByDefault is on: Exchange attributes from AD are not applied');
      }
      if (wanted === 'MailUser') this.applyAdToMailUser(rec, prev, ad);
      else this.makePlainUser(rec, ad);
    }
    user.ad = structuredClone(ad);
    this.refreshUserMail(user, rec);
    this.checkAddressesUnique(rec, undefined, addressesBefore);
    // Only a licensing group can change this user's licences here (e.g. it was a pending member).
    if (created && this.s.groups.some((g) => g.assignedLicenses.length > 0 && g.adMemberImmutableIds.includes(immutableId))) {
      this.reconcileLicences();
    }
    this.tick();
    return this.syncOutcome(immutableId, user.id, created, notes);
  }

  /**
   * Creates or updates a contact synced from AD. It reaches EXO (as `MailContact`) only with `mail`.
   * Synced contacts stay mastered in AD: every change is applied in full.
   */
  upsertSyncedContact(ad: AdContactInput): SyncOutcome {
    return this.upsertSyncedMailObject(ad, this.s.contacts, {
      kind: 'contact',
      create: (immutableId, now) =>
        newEntraContact(this.ids(), now, {
          displayName: '',
          mail: null,
          mailNickname: '',
          proxyAddresses: [],
          onPremisesSyncEnabled: true,
          onPremisesImmutableId: immutableId,
        }),
      fromAd: (c, cn) => {
        c.givenName = blankToNull(ad.givenName);
        c.surname = blankToNull(ad.surname);
        c.companyName = blankToNull(ad.companyName);
        c.department = blankToNull(ad.department);
        c.jobTitle = blankToNull(ad.jobTitle);
        c.mailNickname = blankToNull(ad.mailNickname) ?? toAlias(cn);
      },
      reachesExo: contactReachesExo,
      type: 'MailContact',
      shape: (rec, mail) => {
        rec.externalEmailAddress = `SMTP:${splitProxy(blankToNull(ad.targetAddress) ?? mail).address}`;
      },
    });
  }

  /**
   * Creates or updates a group synced from AD, with its members. It reaches EXO only with `mail`, as a
   * `Universal` distribution group or a `Universal, SecurityEnabled` group, whatever its AD scope.
   * Synced groups stay mastered in AD (membership too). Licences assigned to the group in the cloud
   * follow the membership.
   */
  upsertSyncedGroup(ad: AdGroupInput): SyncOutcome {
    const { RecipientTypeDetails: type, GroupType: groupType } = exoGroupShape(ad.securityEnabled);
    const converted = this.s.groups.find((x) => x.onPremisesImmutableId === this.immutableIdOf(ad) && x.isCloudManaged === true);
    if (converted) {
      // "Microsoft Entra Connect Sync respects the conversion and stops synchronizing the object from AD DS" (Group SOA).
      return this.syncOutcome(this.immutableIdOf(ad), converted.id, false, ['the group\'s source of authority is in the cloud (onPremisesSyncBehavior.isCloudManaged): AD changes are not synced']);
    }
    let membersBefore: readonly string[] = [];
    return this.upsertSyncedMailObject(ad, this.s.groups, {
      kind: 'group',
      create: (immutableId, now) =>
        newEntraGroup(this.ids(), now, {
          displayName: '',
          mailNickname: '',
          securityEnabled: ad.securityEnabled,
          onPremisesSyncEnabled: true,
          onPremisesImmutableId: immutableId,
          onPremisesScope: ad.scope,
        }),
      fromAd: (g) => {
        g.onPremisesSyncEnabled = true; // also takes back a group whose source of authority was handed back to AD
        g.description = blankToNull(ad.description);
        g.mailEnabled = g.mail !== null;
        g.mailNickname = syncedMailNickname(ad.mailNickname, ad.samAccountName);
        g.securityEnabled = ad.securityEnabled;
        g.onPremisesSamAccountName = ad.samAccountName;
        g.onPremisesSecurityIdentifier = blankToNull(ad.objectSid);
        g.onPremisesDomainName = domainOfDn(ad.distinguishedName);
        g.onPremisesScope = ad.scope;
        membersBefore = g.adMemberImmutableIds;
        g.adMemberImmutableIds = (ad.members ?? []).map((m) => (isGuid(m.replace(/[{}]/g, '')) ? immutableIdFromObjectGuid(m) : m));
      },
      reachesExo: groupReachesExo,
      type,
      shape: (rec) => {
        rec.recipientTypeDetails = type;
        rec.groupType = groupType;
        rec.isDirSynced = true;
      },
      afterExo: (g) => {
        if (!sameList(membersBefore, g.adMemberImmutableIds) && this.s.groups.some((x) => x.assignedLicenses.length > 0)) {
          this.reconcileLicences();
        }
        this.tick();
      },
    });
  }

  /**
   * The one path of {@link upsertSyncedContact} and {@link upsertSyncedGroup}; `k` says what differs.
   *
   * Entra: the object is found by its immutable id (or created); display name, mail and proxy addresses
   * come from AD as for every mail object, the rest through `k.fromAd`.
   *
   * Exchange: while the object reaches Exchange Online, its recipient (made as `k.type`, named after the
   * DN's `cn`, when missing) takes the alias, name, addresses and address-list visibility from AD, and
   * `k.shape` sets what is particular to the kind; once it does not, a recipient it had is removed.
   */
  private upsertSyncedMailObject<A extends AdContactInput | AdGroupInput, T extends SyncedMailObject<A>>(
    ad: A,
    objects: T[],
    k: SyncedMailKind<T>,
  ): SyncOutcome {
    this.tick();
    const immutableId = this.immutableIdOf(ad);
    const notes: string[] = [];
    const now = this.iso();
    let obj = objects.find((x) => x.onPremisesImmutableId === immutableId);
    const created = !obj;
    if (!obj) {
      obj = k.create(immutableId, now);
      objects.push(obj);
    }
    const cn = firstRdnValue(ad.distinguishedName);
    obj.displayName = blankToNull(ad.displayName) ?? cn;
    obj.mail = blankToNull(ad.mail);
    k.fromAd(obj, cn);
    obj.proxyAddresses = syncedProxyAddresses(ad, obj.mail);
    obj.onPremisesLastSyncDateTime = now;
    obj.ad = structuredClone(ad);

    let rec = this.recipientOf(obj.id);
    if (k.reachesExo(obj.mail)) {
      const mail = obj.mail!;
      // The primary is Entra's calculated one (rules.calculatedPrimaryAddress): an SMTP: entry of proxyAddresses, else mail.
      const primary = calculatedPrimaryAddress(ad) ?? mail;
      if (!rec) rec = this.newRecipient(obj.id, k.kind, k.type, cn, toAlias(obj.mailNickname), obj.displayName, true);
      const addressesBefore = [...rec.emailAddresses];
      k.shape(rec, mail);
      rec.alias = toAlias(obj.mailNickname);
      rec.displayName = obj.displayName;
      rec.primarySmtpAddress = primary;
      rec.windowsEmailAddress = primary;
      rec.emailAddresses = applyAdProxyAddressesDiff([`SMTP:${primary}`], [], ad.proxyAddresses ?? []);
      rec.adProxyAddresses = [...(ad.proxyAddresses ?? [])];
      rec.hiddenFromAddressListsEnabled = ad.hideFromAddressLists === true;
      rec.whenChanged = now;
      this.checkAddressesUnique(rec, undefined, addressesBefore);
    } else if (rec) {
      this.deleteRecipient(rec);
      notes.push(`${k.kind} has no mail: removed from Exchange Online`);
    }
    k.afterExo?.(obj);
    return this.syncOutcome(immutableId, obj.id, created, notes);
  }

  /** What an upsert did; `exo` is read after all its effects. */
  private syncOutcome(immutableId: string, entraId: string, created: boolean, notes: string[]): SyncOutcome {
    return { immutableId, entraId, created, exo: this.recipientOf(entraId)?.recipientTypeDetails ?? null, notes };
  }

  /**
   * Removes a synced object (user, contact or group) that left sync scope or was deleted in AD. Its EXO
   * recipient goes too (a mailbox is gone from Get-Mailbox; the simulator keeps no soft-deleted copy),
   * licences are released and memberships dropped. Returns false if no synced object has this id.
   */
  removeSynced(immutableId: string): boolean {
    this.tick();
    const found = this.byImmutableId(immutableId);
    if (!found) return false;
    // A group whose source of authority moved to the cloud stays when its AD object goes ("You can delete AD DS groups
    // that you no longer need on-premises").
    if (found.kind === 'group' && found.obj.isCloudManaged === true) return false;
    this.deleteEntraObject(found);
    this.reconcileLicences();
    return true;
  }

  /** The immutable ids of all synced objects (to detect AD deletions). */
  syncedImmutableIds(): string[] {
    return [
      ...this.s.users.map((u) => u.onPremisesImmutableId),
      ...this.s.groups.filter((g) => g.isCloudManaged !== true).map((g) => g.onPremisesImmutableId),
      ...this.s.contacts.map((c) => c.onPremisesImmutableId),
    ].filter((x): x is string => x !== null);
  }

  /**
   * What the cloud knows about a synced object, for the sync engine to read back (e.g. Entra Connect
   * reads IsExchangeCloudManaged and stops exporting Exchange attributes).
   */
  syncedObject(immutableId: string): {
    kind: 'user' | 'group' | 'contact';
    entraId: string;
    recipientTypeDetails: RecipientTypeDetails | null;
    isExchangeCloudManaged: boolean;
  } | null {
    this.tick();
    const found = this.byImmutableId(immutableId);
    if (!found) return null;
    const rec = this.recipientOf(found.obj.id);
    return {
      kind: found.kind,
      entraId: found.obj.id,
      recipientTypeDetails: rec?.recipientTypeDetails ?? null,
      isExchangeCloudManaged: rec?.isExchangeCloudManaged ?? false,
    };
  }

  private immutableIdOf(ad: { objectGuid?: string; immutableId?: string }): string {
    if (ad.immutableId) return ad.immutableId;
    if (ad.objectGuid) return immutableIdFromObjectGuid(ad.objectGuid);
    throw new Error('an AD object needs objectGuid or immutableId');
  }

  private byImmutableId(immutableId: string): AnyEntraObject | null {
    const u = this.userByImmutable.get(immutableId);
    if (u) return { kind: 'user', obj: u };
    const g = this.s.groups.find((x) => x.onPremisesImmutableId === immutableId);
    if (g) return { kind: 'group', obj: g };
    const c = this.s.contacts.find((x) => x.onPremisesImmutableId === immutableId);
    if (c) return { kind: 'contact', obj: c };
    return null;
  }

  private cloudUpnFor(adUpn: string): string {
    const at = adUpn.lastIndexOf('@');
    const suffix = at >= 0 ? adUpn.slice(at + 1) : '';
    if (suffix !== '' && this.isAcceptedDomain(suffix)) return adUpn;
    const prefix = at >= 0 ? adUpn.slice(0, at) : adUpn;
    return `${prefix}@${this.initialDomain}`;
  }

  /**
   * AD's changes to a mailbox. The primary is Entra's calculated one (rules.calculatedPrimaryAddress: an `SMTP:` entry
   * of AD proxyAddresses, else mail, else the UPN); it moves when that calculation gives another address, the old one
   * staying as `smtp:` unless AD's proxyAddresses dropped it. While the mailbox is cloud-managed, AD's proxyAddresses no
   * longer reach Exchange and `mail` alone decides (the field test: mail overrides the primary even then). The UPN stays
   * among the addresses (rules.withUpnAddress).
   */
  private applyAdToMailbox(rec: ExoRecipient, user: EntraUser, prev: AdUserInput | null, ad: AdUserInput, notes: string[]): void {
    const now = this.iso();
    const proxiesApply = adMastersExchangeAttributes(rec);
    const primaryFrom = (x: AdUserInput): string => calculatedPrimaryAddress({ mail: x.mail, proxyAddresses: proxiesApply ? x.proxyAddresses : [] }, user.userPrincipalName)!;
    const primary = primaryFrom(ad);
    if ((prev ? norm(primaryFrom(prev)) !== norm(primary) : false) || (proxiesApply && rec.reapplyFromAd && norm(rec.primarySmtpAddress) !== norm(primary))) {
      rec.emailAddresses = applyPrimaryAddressChange(rec.emailAddresses, primary);
      rec.primarySmtpAddress = primary;
      rec.windowsEmailAddress = primary;
      rec.whenChanged = now;
    }
    this.keepUpnAddress(rec, user);
    if (!adMastersExchangeAttributes(rec)) {
      const changed =
        norm(prev?.mailNickname) !== norm(ad.mailNickname) ||
        !sameList(prev?.proxyAddresses, ad.proxyAddresses) ||
        (prev?.hideFromAddressLists ?? false) !== (ad.hideFromAddressLists ?? false) ||
        JSON.stringify(customAttributesFromAd(prev?.extensionAttributes)) !== JSON.stringify(customAttributesFromAd(ad.extensionAttributes));
      if (changed) notes.push('mailbox is IsExchangeCloudManaged: Exchange attributes changed in AD were not applied (AD and EXO now differ)');
      return;
    }
    const full = rec.reapplyFromAd;
    if (full || norm(prev?.mailNickname) !== norm(ad.mailNickname)) rec.alias = toAlias(user.mailNickname);
    if (full || !sameList(prev?.proxyAddresses, ad.proxyAddresses)) {
      rec.emailAddresses = applyAdProxyAddressesDiff(rec.emailAddresses, rec.adProxyAddresses, ad.proxyAddresses ?? []);
      rec.adProxyAddresses = [...(ad.proxyAddresses ?? [])];
      this.keepUpnAddress(rec, user);
    }
    if (full || (prev?.hideFromAddressLists ?? false) !== (ad.hideFromAddressLists ?? false)) {
      rec.hiddenFromAddressListsEnabled = ad.hideFromAddressLists === true;
    }
    const custom = customAttributesFromAd(ad.extensionAttributes);
    if (full || JSON.stringify(customAttributesFromAd(prev?.extensionAttributes)) !== JSON.stringify(custom)) rec.customAttributes = custom;
    // publicDelegates (GrantSendOnBehalfTo) comes from AD while AD masters the mailbox (see sendOnBehalfOf): handing
    // the mailbox back to AD (IsExchangeCloudManaged False) drops what Exchange set.
    if (full && (rec.grantSendOnBehalfTo ?? []).length > 0) rec.grantSendOnBehalfTo = [];
    rec.reapplyFromAd = false;
    rec.whenChanged = now;
  }

  /** A mailbox keeps its UPN among its addresses (rules.withUpnAddress): after a UPN change or an AD proxyAddresses change. */
  private keepUpnAddress(rec: ExoRecipient, user: EntraUser): void {
    const upn = user.userPrincipalName;
    rec.emailAddresses = withUpnAddress(rec.emailAddresses, upn, this.isAcceptedDomain(upn.split('@')[1] ?? ''));
  }

  private applyAdToMailUser(rec: ExoRecipient, prev: AdUserInput | null, ad: AdUserInput): void {
    const now = this.iso();
    // Entra's calculated primary (rules.calculatedPrimaryAddress): an SMTP: entry of proxyAddresses, else mail.
    const mail = calculatedPrimaryAddress(ad)!;
    const target = splitProxy(ad.targetAddress!.trim()).address;
    if (rec.recipientTypeDetails !== 'MailUser') {
      rec.recipientTypeDetails = 'MailUser';
      rec.alias = toAlias(ad.mailNickname!.trim());
      rec.primarySmtpAddress = mail;
      rec.windowsEmailAddress = mail;
      rec.externalEmailAddress = `SMTP:${target}`;
      rec.emailAddresses = applyAdProxyAddressesDiff([`SMTP:${mail}`], [], ad.proxyAddresses ?? []);
      rec.adProxyAddresses = [...(ad.proxyAddresses ?? [])];
      rec.hiddenFromAddressListsEnabled = ad.hideFromAddressLists === true;
      rec.customAttributes = customAttributesFromAd(ad.extensionAttributes);
      rec.whenChanged = now;
      return;
    }
    if (norm(prev?.mailNickname) !== norm(ad.mailNickname)) rec.alias = toAlias(ad.mailNickname!.trim());
    if (norm(prev?.targetAddress) !== norm(ad.targetAddress)) rec.externalEmailAddress = `SMTP:${target}`;
    if (norm(prev ? calculatedPrimaryAddress(prev) : null) !== norm(mail)) {
      rec.emailAddresses = applyPrimaryAddressChange(rec.emailAddresses, mail);
      rec.primarySmtpAddress = mail;
      rec.windowsEmailAddress = mail;
    }
    if (!sameList(prev?.proxyAddresses, ad.proxyAddresses)) {
      rec.emailAddresses = applyAdProxyAddressesDiff(rec.emailAddresses, rec.adProxyAddresses, ad.proxyAddresses ?? []);
      rec.adProxyAddresses = [...(ad.proxyAddresses ?? [])];
    }
    if ((prev?.hideFromAddressLists ?? false) !== (ad.hideFromAddressLists ?? false)) rec.hiddenFromAddressListsEnabled = ad.hideFromAddressLists === true;
    rec.whenChanged = now;
  }

  private makePlainUser(rec: ExoRecipient, ad: AdUserInput): void {
    if (rec.recipientTypeDetails !== 'User') rec.whenChanged = this.iso();
    rec.recipientTypeDetails = 'User';
    rec.alias = toAlias(syncedMailNickname(ad.mailNickname, ad.samAccountName));
    rec.primarySmtpAddress = null;
    rec.windowsEmailAddress = blankToNull(ad.mail);
    rec.emailAddresses = [];
    rec.externalEmailAddress = null;
    rec.adProxyAddresses = [];
  }

  private refreshUserMail(user: EntraUser, rec: ExoRecipient | undefined): void {
    if (rec && (isMailboxType(rec.recipientTypeDetails) || rec.recipientTypeDetails === 'MailUser' || rec.recipientTypeDetails === 'GuestMailUser')) {
      user.mail = rec.primarySmtpAddress;
    } else {
      user.mail = blankToNull(user.ad?.mail) ?? (user.userType === 'Guest' ? user.mail : null);
    }
  }

  // ===========================================================================================
  // Cloud-only objects (created in EXO or by tests)
  // ===========================================================================================

  /**
   * Creates a cloud-only mailbox as EXO `New-Mailbox -Shared|-Room|-Equipment` does: an Entra user
   * (disabled, not synced) and the mailbox at once, without a licence and without IsExchangeCloudManaged.
   */
  createCloudMailbox(input: {
    type: 'SharedMailbox' | 'RoomMailbox' | 'EquipmentMailbox' | 'UserMailbox';
    name: string;
    alias?: string;
    displayName?: string;
    primarySmtpAddress?: string;
  }): ExoRecipient {
    this.tick();
    this.assertNameFree(input.name);
    const alias = toAlias(input.alias ?? input.name);
    const primary = input.primarySmtpAddress ?? `${alias}@${this.defaultDomain()}`;
    this.assertAcceptedDomain(primary);
    const upn = input.primarySmtpAddress ?? `${alias}@${this.initialDomain}`;
    const user = this.newCloudUser({ upn, displayName: input.displayName ?? input.name, mailNickname: alias, accountEnabled: input.type === 'UserMailbox' });
    const rec = this.newRecipient(user.id, 'user', input.type, input.name, alias, user.displayName, false);
    rec.emailAddresses = [`SMTP:${primary}`];
    if (primary.toLowerCase() !== `${alias}@${this.initialDomain}`.toLowerCase()) rec.emailAddresses.push(`smtp:${alias}@${this.initialDomain}`);
    rec.primarySmtpAddress = primary;
    rec.windowsEmailAddress = primary;
    rec.exchangeGuid = this.ids();
    rec.whenMailboxCreated = this.iso();
    this.checkAddressesUnique(rec);
    this.refreshUserMail(user, rec);
    return { ...rec };
  }

  /** Creates a cloud-only mail user as EXO `New-MailUser` does (with an Entra user that can sign in). */
  createCloudMailUser(input: {
    name: string;
    alias?: string;
    displayName?: string;
    externalEmailAddress: string;
    primarySmtpAddress?: string;
    microsoftOnlineServicesId?: string;
  }): ExoRecipient {
    this.tick();
    this.assertNameFree(input.name);
    const alias = toAlias(input.alias ?? input.name);
    const external = splitProxy(input.externalEmailAddress).address;
    const primary = input.primarySmtpAddress ?? external;
    const upn = input.microsoftOnlineServicesId ?? `${alias}@${this.initialDomain}`;
    const user = this.newCloudUser({ upn, displayName: input.displayName ?? input.name, mailNickname: alias, accountEnabled: true });
    const rec = this.newRecipient(user.id, 'user', 'MailUser', input.name, alias, user.displayName, false);
    forwardTo(rec, external, primary);
    this.checkAddressesUnique(rec);
    this.refreshUserMail(user, rec);
    return { ...rec };
  }

  /** Creates a cloud-only mail contact (EXO `New-MailContact`). */
  createCloudMailContact(input: { name: string; alias?: string; displayName?: string; externalEmailAddress: string }): ExoRecipient {
    this.tick();
    const alias = toAlias(input.alias ?? input.name);
    const external = splitProxy(input.externalEmailAddress).address;
    const c = newEntraContact(this.ids(), this.iso(), {
      displayName: input.displayName ?? input.name,
      mail: external,
      mailNickname: alias,
      proxyAddresses: [`SMTP:${external}`],
      onPremisesSyncEnabled: null,
      onPremisesImmutableId: null,
    });
    this.s.contacts.push(c);
    const rec = this.newRecipient(c.id, 'contact', 'MailContact', input.name, alias, c.displayName, false);
    forwardTo(rec, external, external);
    this.checkAddressesUnique(rec);
    return { ...rec };
  }

  /** Adds an invited guest: Entra user of type Guest and an EXO `GuestMailUser`, hidden from address lists. */
  addGuest(input: { mail: string; displayName?: string }): EntraUser {
    this.tick();
    const local = input.mail.replace('@', '_');
    const user = this.newCloudUser({
      upn: `${local}#EXT#@${this.initialDomain}`,
      displayName: input.displayName ?? input.mail,
      mailNickname: toAlias(local),
      accountEnabled: true,
    });
    user.userType = 'Guest';
    user.mail = input.mail;
    const rec = this.newRecipient(user.id, 'user', 'GuestMailUser', toAlias(local), toAlias(local), user.displayName, false);
    forwardTo(rec, input.mail, input.mail);
    rec.hiddenFromAddressListsEnabled = true;
    return { ...user };
  }

  /** Creates a cloud-only user in Entra (no mailbox until licensed). */
  createCloudUser(input: { userPrincipalName: string; displayName: string; mailNickname?: string; usageLocation?: string; accountEnabled?: boolean }): EntraUser {
    this.tick();
    const u = this.newCloudUser({
      upn: input.userPrincipalName,
      displayName: input.displayName,
      mailNickname: input.mailNickname ?? toAlias(input.userPrincipalName.split('@')[0] ?? 'user'),
      accountEnabled: input.accountEnabled ?? true,
    });
    if (input.usageLocation) u.usageLocation = input.usageLocation.toUpperCase();
    this.newRecipient(u.id, 'user', 'User', u.mailNickname, u.mailNickname, u.displayName, false);
    return { ...u };
  }

  /** Creates a cloud-only security or Microsoft 365-less group in Entra (not mail-enabled). */
  createCloudGroup(input: { displayName: string; mailNickname?: string; securityEnabled?: boolean }): EntraGroup {
    this.tick();
    const g = newEntraGroup(this.ids(), this.iso(), {
      displayName: input.displayName,
      mailNickname: input.mailNickname ?? toAlias(input.displayName),
      securityEnabled: input.securityEnabled ?? true,
      onPremisesSyncEnabled: null,
      onPremisesImmutableId: null,
      onPremisesScope: null,
    });
    this.s.groups.push(g);
    return { ...g };
  }

  /**
   * Moves the source of authority of a synced group to the cloud (`isCloudManaged` true) or hands it back to AD
   * (Graph `PATCH /groups/{id}/onPremisesSyncBehavior`; "Configure Group Source of Authority (SOA)",
   * https://learn.microsoft.com/entra/identity/hybrid/how-to-group-source-of-authority-configure). Converted:
   * isCloudManaged true and onPremisesSyncEnabled null ("Status of attributes after you convert SOA"), sync skips the
   * group, it keeps its members, which are then managed in the cloud, and a mail-enabled one is no longer dir-synced in
   * Exchange Online ("You can continue to edit these groups directly in EXO or via Exchange PowerShell modules. These
   * mail objects cannot be managed directly in Microsoft Entra ID or using the MS Graph APIs"). Handed back:
   * isCloudManaged false, onPremisesSyncEnabled stays null "until the sync client takes over the object" (its next upsert).
   * Returns the previous value.
   */
  setGroupSyncBehavior(groupId: string, isCloudManaged: boolean): boolean {
    this.tick();
    const g = this.groupOrNotFound(groupId);
    const before = g.isCloudManaged === true;
    if (g.onPremisesImmutableId === null) {
      // A cloud-native group: "isCloudManaged is set to false" (same table); the sandbox's own wording for a conversion.
      if (isCloudManaged) throw new GraphError(400, 'Request_BadRequest', `The group '${g.id}' is not synchronized from on-premises Active Directory: its source of authority is already the cloud.`);
      return before;
    }
    if (isCloudManaged && !before) {
      g.memberIds = this.memberIdsOf(g);
      g.onPremisesSyncEnabled = null;
      const rec = this.recipientOf(g.id);
      if (rec) {
        rec.isDirSynced = false;
        rec.whenChanged = this.iso();
      }
    }
    g.isCloudManaged = isCloudManaged;
    return before;
  }

  /**
   * Creates a cloud-only distribution group or mail-enabled security group as EXO `New-DistributionGroup` does
   * (https://learn.microsoft.com/powershell/module/exchangepowershell/new-distributiongroup): "The group's scope is
   * always Universal"; without -DisplayName the name is the display name; without -PrimarySmtpAddress the primary is
   * `alias@<default accepted domain>`. In Entra it is a mail-enabled, not synced group whose members are the given
   * Entra object ids.
   */
  createCloudDistributionGroup(input: {
    name: string;
    alias: string;
    displayName?: string;
    primarySmtpAddress?: string;
    security: boolean;
    managedBy?: string[];
    memberIds?: string[];
  }): ExoRecipient {
    this.tick();
    this.assertNameFree(input.name);
    const alias = toAlias(input.alias);
    const primary = input.primarySmtpAddress ?? `${alias}@${this.defaultDomain()}`;
    this.assertAcceptedDomain(primary);
    const shape = exoGroupShape(input.security);
    const g = newEntraGroup(this.ids(), this.iso(), {
      displayName: input.displayName ?? input.name,
      mailNickname: alias,
      securityEnabled: input.security,
      onPremisesSyncEnabled: null,
      onPremisesImmutableId: null,
      onPremisesScope: null,
    });
    g.mail = primary;
    g.mailEnabled = true;
    g.proxyAddresses = [`SMTP:${primary}`];
    g.memberIds = [...new Set(input.memberIds ?? [])];
    const rec = this.newRecipient(g.id, 'group', shape.RecipientTypeDetails, input.name, alias, g.displayName, false);
    rec.groupType = shape.GroupType;
    rec.emailAddresses = [`SMTP:${primary}`];
    rec.primarySmtpAddress = primary;
    rec.windowsEmailAddress = primary;
    rec.managedBy = [...(input.managedBy ?? [])];
    try {
      this.checkAddressesUnique(rec);
    } catch (err) {
      this.deleteRecipient(rec);
      throw err;
    }
    this.s.groups.push(g);
    return structuredClone(rec);
  }

  private newCloudUser(input: { upn: string; displayName: string; mailNickname: string; accountEnabled: boolean }): EntraUser {
    if (this.userByUpn.has(input.upn.toLowerCase())) {
      throw new ExoError('InvalidOperation', `The UserPrincipalName "${input.upn}" is already in use.`);
    }
    const u = newEntraUser(this.ids(), this.iso(), {
      userPrincipalName: input.upn,
      displayName: input.displayName,
      mailNickname: input.mailNickname,
      accountEnabled: input.accountEnabled,
      onPremisesSyncEnabled: null,
      onPremisesImmutableId: null,
      cloudManagedByDefaultAtFirstSync: false,
    });
    this.addUser(u);
    return u;
  }

  /** EXO's New-* refusal of a name another recipient has. */
  private assertNameFree(name: string): void {
    if (this.s.recipients.some((r) => r.name.toLowerCase() === name.toLowerCase())) {
      throw new ExoError('InvalidOperation', `The name "${name}" is being used. Please choose another name.`);
    }
  }

  private defaultDomain(): string {
    return (this.s.domains.find((d) => d.isDefault) ?? this.s.domains[0])!.name;
  }

  private assertAcceptedDomain(address: string): void {
    const domain = address.split('@')[1] ?? '';
    if (!this.isAcceptedDomain(domain)) {
      throw new ExoError('Argument', `You can't use the domain ${domain} because it's not an accepted domain for your organization.`);
    }
  }

  // ===========================================================================================
  // Entra reads (Graph)
  // ===========================================================================================

  /** All users (copies). */
  users(): EntraUser[] {
    this.tick();
    return this.s.users.map((u) => structuredClone(u));
  }

  /** A user by object id or UPN (case-insensitive), or undefined. */
  user(key: string): EntraUser | undefined {
    this.tick();
    const u = this.findUser(key);
    return u ? structuredClone(u) : undefined;
  }

  /** A user by object id without copying (cheap; for read-only use by the emulator). */
  userById(id: string): Readonly<EntraUser> | undefined {
    return this.userIndex.get(id) ?? this.userIndex.get(id.toLowerCase());
  }

  private findUser(key: string): EntraUser | undefined {
    return this.userIndex.get(key) ?? this.userIndex.get(key.toLowerCase()) ?? this.userByUpn.get(key.toLowerCase());
  }

  groups(): EntraGroup[] {
    this.tick();
    return this.s.groups.map((g) => structuredClone(g));
  }

  group(id: string): EntraGroup | undefined {
    this.tick();
    const g = this.s.groups.find((x) => x.id.toLowerCase() === id.toLowerCase());
    return g ? structuredClone(g) : undefined;
  }

  contacts(): EntraContact[] {
    this.tick();
    return this.s.contacts.map((c) => structuredClone(c));
  }

  /** Any directory object by id. */
  directoryObject(id: string): AnyEntraObject | undefined {
    const k = id.toLowerCase();
    const u = this.userIndex.get(id) ?? this.userIndex.get(k);
    if (u) return { kind: 'user', obj: structuredClone(u) };
    const g = this.s.groups.find((x) => x.id.toLowerCase() === k);
    if (g) return { kind: 'group', obj: structuredClone(g) };
    const c = this.s.contacts.find((x) => x.id.toLowerCase() === k);
    if (c) return { kind: 'contact', obj: structuredClone(c) };
    return undefined;
  }

  /** Direct members of a group (resolved; synced members not yet synced are left out). */
  groupMembers(groupId: string): AnyEntraObject[] {
    this.tick();
    const g = this.groupOrNotFound(groupId);
    return this.memberIdsOf(g)
      .map((id) => this.directoryObject(id))
      .filter((x): x is AnyEntraObject => x !== undefined);
  }

  private memberIdsOf(g: EntraGroup): string[] {
    if (g.onPremisesSyncEnabled) {
      return g.adMemberImmutableIds.map((im) => this.byImmutableId(im)?.obj.id).filter((x): x is string => x !== undefined);
    }
    return [...g.memberIds];
  }

  /** Groups an object is a direct member of. */
  memberOf(objectId: string): EntraGroup[] {
    this.tick();
    const id = objectId.toLowerCase();
    return this.s.groups.filter((g) => this.memberIdsOf(g).some((m) => m.toLowerCase() === id)).map((g) => structuredClone(g));
  }

  /** Ids of all groups an object is a member of, directly or through nested groups. */
  transitiveMemberOf(objectId: string): Set<string> {
    const out = new Set<string>();
    const queue = [objectId.toLowerCase()];
    while (queue.length > 0) {
      const cur = queue.shift()!;
      for (const g of this.s.groups) {
        if (out.has(g.id)) continue;
        if (this.memberIdsOf(g).some((m) => m.toLowerCase() === cur)) {
          out.add(g.id);
          queue.push(g.id.toLowerCase());
        }
      }
    }
    return out;
  }

  /**
   * A mailbox's GrantSendOnBehalfTo as Entra object ids: AD's `publicDelegates` (those synced) while AD masters the
   * mailbox's Exchange attributes (rules.adMastersExchangeAttributes), else what Exchange set (Set-Mailbox).
   */
  sendOnBehalfOf(entraId: string): string[] {
    const rec = this.recipientOf(entraId);
    if (!rec) return [];
    if (!adMastersExchangeAttributes(rec)) return [...(rec.grantSendOnBehalfTo ?? [])];
    const refs = this.userIndex.get(entraId)?.ad?.publicDelegates ?? [];
    return refs
      .map((ref) => this.byImmutableId(isGuid(ref.replace(/[{}]/g, '')) ? immutableIdFromObjectGuid(ref) : ref)?.obj.id)
      .filter((id): id is string => id !== undefined);
  }

  /**
   * A user's manager (Graph `GET /users/{id}/manager`): for a synced user the object AD's `manager` names, once it is
   * synced (a reference Entra Connect syncs from AD); for a cloud user the one set with {@link setManager}. Null when
   * there is none or it no longer exists.
   */
  managerOf(userKey: string): AnyEntraObject | null {
    this.tick();
    const u = this.findUser(userKey);
    if (!u) throw graphNotFound(userKey);
    if (u.onPremisesSyncEnabled) {
      const ref = blankToNull(u.ad?.manager);
      if (!ref) return null;
      const found = this.byImmutableId(isGuid(ref.replace(/[{}]/g, '')) ? immutableIdFromObjectGuid(ref) : ref);
      return found ? (this.directoryObject(found.obj.id) ?? null) : null;
    }
    return u.managerId ? (this.directoryObject(u.managerId) ?? null) : null;
  }

  /**
   * Graph `PUT /users/{id}/manager/$ref` (a user or organizational contact). A synced user's manager is mastered in AD
   * (Entra Connect syncs `manager`): refused as Graph refuses AD-mastered properties.
   */
  setManager(userKey: string, managerId: string): void {
    this.tick();
    const u = this.findUser(userKey);
    if (!u) throw graphNotFound(userKey);
    const m = this.directoryObject(managerId);
    if (!m) throw graphNotFound(managerId);
    if (m.kind === 'group') throw new GraphError(400, 'Request_BadRequest', 'A group cannot be the manager of a user: the manager must be a user or an organizational contact.');
    if (m.obj.id === u.id) throw new GraphError(400, 'Request_BadRequest', 'A user cannot be their own manager.');
    if (u.onPremisesSyncEnabled) throw graphSyncedObjectReadOnly();
    u.managerId = m.obj.id;
  }

  /** Graph `DELETE /users/{id}/manager/$ref`. 404 when the user has no manager; refused for synced users (AD masters it). */
  removeManager(userKey: string): void {
    this.tick();
    const u = this.findUser(userKey);
    if (!u) throw graphNotFound(userKey);
    if (u.onPremisesSyncEnabled) throw graphSyncedObjectReadOnly();
    if (!u.managerId) throw graphNotFound('manager');
    u.managerId = null;
  }

  /**
   * Graph `POST /users/{id}/revokeSignInSessions`: resets signInSessionsValidFromDateTime to now (synced users too: it
   * is no AD attribute). Returns the new value.
   */
  revokeSignInSessions(userKey: string): string {
    this.tick();
    const u = this.findUser(userKey);
    if (!u) throw graphNotFound(userKey);
    u.signInSessionsValidFromDateTime = this.iso();
    return u.signInSessionsValidFromDateTime;
  }

  // ===========================================================================================
  // Entra writes (Graph)
  // ===========================================================================================

  /**
   * Graph `PATCH /users/{id}`. Synced users accept only cloud-mastered properties (usageLocation);
   * other properties fail as Graph fails them.
   */
  updateUser(key: string, patch: Record<string, unknown>): void {
    this.tick();
    const u = this.findUser(key);
    if (!u) throw graphNotFound(key);
    const writable = ['usageLocation', 'displayName', 'givenName', 'surname', 'department', 'jobTitle', 'companyName', 'mobilePhone', 'officeLocation', 'accountEnabled', 'mailNickname', 'employeeId', 'businessPhones'];
    const cloudMastered = ['usageLocation'];
    for (const [k, v] of Object.entries(patch)) {
      if (!writable.includes(k)) {
        if (k === 'userPrincipalName' || k === 'mail' || k === 'onPremisesImmutableId') {
          if (u.onPremisesSyncEnabled) throw graphSyncedObjectReadOnly();
        }
        throw new GraphError(400, 'Request_BadRequest', `Property '${k}' is read-only and cannot be set.`);
      }
      if (u.onPremisesSyncEnabled && !cloudMastered.includes(k)) throw graphSyncedObjectReadOnly();
      if (k === 'usageLocation') {
        if (v !== null && (typeof v !== 'string' || !/^[A-Za-z]{2}$/.test(v))) {
          throw new GraphError(400, 'Request_BadRequest', "Invalid value specified for property 'usageLocation' of resource 'User'.");
        }
      }
    }
    for (const [k, v] of Object.entries(patch)) {
      switch (k) {
        case 'usageLocation':
          u.usageLocation = typeof v === 'string' ? v.toUpperCase() : null;
          break;
        case 'accountEnabled':
          u.accountEnabled = v === true;
          break;
        case 'businessPhones':
          u.businessPhones = Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
          break;
        case 'displayName':
        case 'mailNickname':
          if (typeof v === 'string') u[k] = v;
          break;
        default:
          (u as unknown as Record<string, unknown>)[k] = typeof v === 'string' ? v : null;
      }
    }
    const rec = this.recipientOf(u.id);
    if (rec) rec.displayName = u.displayName;
  }

  /**
   * Graph `POST /users/{id}/assignLicense`. Checks, in Graph's order: known SKU, usage location, licence
   * held (for removals), free units. Returns the user.
   */
  assignLicense(
    key: string,
    addLicenses: { skuId: string; disabledPlans?: string[] }[],
    removeLicenses: string[],
  ): EntraUser {
    this.tick();
    const u = this.findUser(key);
    if (!u) throw graphNotFound(key);
    this.assertKnownSkus(addLicenses, removeLicenses);
    if (addLicenses.length > 0 && !u.usageLocation) {
      throw new GraphError(400, 'Request_BadRequest', 'License assignment cannot be done for user with invalid usage location.');
    }
    for (const r of removeLicenses) {
      if (!u.directLicenses.some((d) => d.skuId.toLowerCase() === r.toLowerCase())) {
        throw new GraphError(400, 'Request_BadRequest', 'User does not have a corresponding license.');
      }
    }
    for (const a of addLicenses) {
      const sku = this.findSku(a.skuId)!;
      const holds = u.licenseAssignmentStates.some((l) => l.skuId === sku.skuId && l.state === 'Active');
      if (!holds && this.consumedUnits(sku.skuId) >= sku.prepaidUnits) {
        throw new GraphError(400, 'Request_BadRequest', `Subscription with SKU ${sku.skuId} does not have any available licenses.`);
      }
    }
    u.directLicenses = this.changedLicences(u.directLicenses, addLicenses, removeLicenses);
    this.reconcileLicences();
    this.tick();
    return structuredClone(u);
  }

  /**
   * Graph `POST /groups/{id}/assignLicense` (group-based licensing). Members get the licence; when units
   * run out, the error lands on the member (licenseAssignmentStates: CountViolation), not on the call.
   * Members without usageLocation get the tenant's country, as the real service does.
   */
  assignGroupLicense(groupId: string, addLicenses: { skuId: string; disabledPlans?: string[] }[], removeLicenses: string[]): EntraGroup {
    this.tick();
    const g = this.groupOrNotFound(groupId);
    this.assertKnownSkus(addLicenses, removeLicenses);
    g.assignedLicenses = this.changedLicences(g.assignedLicenses, addLicenses, removeLicenses);
    this.reconcileLicences();
    this.tick();
    return structuredClone(g);
  }

  /** Graph `POST /groups/{id}/members/$ref`. Synced groups refuse (membership is mastered in AD). */
  addGroupMember(groupId: string, memberId: string, via: 'graph' | 'exchange' = 'graph'): void {
    this.tick();
    const g = this.groupOrNotFound(groupId);
    if (g.onPremisesSyncEnabled) throw graphSyncedObjectReadOnly();
    if (via === 'graph') this.assertNotExchangeGroup(g);
    const m = this.directoryObject(memberId);
    if (!m) throw graphNotFound(memberId);
    if (g.memberIds.includes(m.obj.id)) {
      throw new GraphError(400, 'Request_BadRequest', "One or more added object references already exist for the following modified properties: 'members'.");
    }
    g.memberIds.push(m.obj.id);
    this.reconcileLicences();
    this.tick();
  }

  /** Graph `DELETE /groups/{id}/members/{memberId}/$ref`. */
  removeGroupMember(groupId: string, memberId: string, via: 'graph' | 'exchange' = 'graph'): void {
    this.tick();
    const g = this.groupOrNotFound(groupId);
    if (g.onPremisesSyncEnabled) throw graphSyncedObjectReadOnly();
    if (via === 'graph') this.assertNotExchangeGroup(g);
    if (!g.memberIds.some((m) => m.toLowerCase() === memberId.toLowerCase())) throw graphNotFound(memberId);
    g.memberIds = g.memberIds.filter((m) => m.toLowerCase() !== memberId.toLowerCase());
    this.reconcileLicences();
  }

  /**
   * Graph does not change the membership of a distribution group or mail-enabled security group (Exchange masters
   * them): 400 "Cannot Update a mail-enabled security groups and or distribution list.", the answer Graph clients
   * quote and route to Add-DistributionGroupMember on.
   */
  private assertNotExchangeGroup(g: EntraGroup): void {
    if (g.mailEnabled && !g.groupTypes.includes('Unified')) {
      throw new GraphError(400, 'Request_BadRequest', 'Cannot Update a mail-enabled security groups and or distribution list.');
    }
  }

  /** A group by object id (case-insensitive), or Graph's 404. */
  private groupOrNotFound(groupId: string): EntraGroup {
    const g = this.s.groups.find((x) => x.id.toLowerCase() === groupId.toLowerCase());
    if (!g) throw graphNotFound(groupId);
    return g;
  }

  /** Graph's first check of an assignLicense call (user or group): every skuId names a subscribed SKU. */
  private assertKnownSkus(addLicenses: { skuId: string }[], removeLicenses: string[]): void {
    for (const l of [...addLicenses.map((a) => a.skuId), ...removeLicenses]) {
      if (!this.findSku(l) || !isGuid(l)) {
        throw new GraphError(400, 'Request_BadRequest', `License ${l} does not correspond to a valid company License.`);
      }
    }
  }

  /** A user's or group's licence list after an assignLicense call: the removed SKUs gone, each added one (re)placed last. */
  private changedLicences(
    current: { skuId: string; disabledPlans: string[] }[],
    addLicenses: { skuId: string; disabledPlans?: string[] }[],
    removeLicenses: string[],
  ): { skuId: string; disabledPlans: string[] }[] {
    let next = current.filter((d) => !removeLicenses.some((r) => r.toLowerCase() === d.skuId.toLowerCase()));
    for (const a of addLicenses) {
      const sku = this.findSku(a.skuId)!;
      next = next.filter((d) => d.skuId !== sku.skuId);
      next.push({ skuId: sku.skuId, disabledPlans: [...(a.disabledPlans ?? [])] });
    }
    return next;
  }

  /**
   * Recomputes every user's licence states from direct assignments and licensed groups, allocating
   * units in a stable order, then applies the mailbox effects (schedule a mailbox for a newly licensed
   * user; note the removal for a mailbox that lost its last Exchange licence).
   */
  private reconcileLicences(): void {
    const now = this.iso();
    const before = new Map(this.s.users.map((u) => [u.id, this.hasExchangePlan(u)]));
    const groupsOf = new Map<string, EntraGroup[]>();
    for (const g of this.s.groups.filter((x) => x.assignedLicenses.length > 0)) {
      for (const m of this.allUserMembers(g)) groupsOf.set(m, [...(groupsOf.get(m) ?? []), g]);
    }
    const holders = new Map<string, Set<string>>();
    const hold = (skuId: string, userId: string): void => {
      const set = holders.get(skuId) ?? new Set<string>();
      set.add(userId);
      holders.set(skuId, set);
    };
    type Wanted = { skuId: string; disabledPlans: string[]; assignedByGroup: string | null };
    const wanted = new Map<string, Wanted[]>();
    for (const u of this.s.users) {
      const list: Wanted[] = u.directLicenses.map((d) => ({ skuId: d.skuId, disabledPlans: d.disabledPlans, assignedByGroup: null }));
      for (const g of groupsOf.get(u.id) ?? []) {
        for (const l of g.assignedLicenses) list.push({ skuId: l.skuId, disabledPlans: l.disabledPlans, assignedByGroup: g.id });
      }
      wanted.set(u.id, list);
      // Keep units already held through a path that is still wanted.
      for (const w of list) {
        const old = u.licenseAssignmentStates.find((l) => l.skuId === w.skuId && l.assignedByGroup === w.assignedByGroup);
        if ((old && old.state === 'Active') || w.assignedByGroup === null) hold(w.skuId, u.id);
      }
    }
    for (const u of this.s.users) {
      const next: LicenceAssignment[] = [];
      for (const w of wanted.get(u.id) ?? []) {
        const sku = this.s.skus.find((s) => s.skuId === w.skuId);
        const old = u.licenseAssignmentStates.find((l) => l.skuId === w.skuId && l.assignedByGroup === w.assignedByGroup);
        let active = holders.get(w.skuId)?.has(u.id) ?? false;
        if (!active && sku && (holders.get(w.skuId)?.size ?? 0) < sku.prepaidUnits) {
          hold(w.skuId, u.id);
          active = true;
        }
        const state: LicenceAssignment['state'] = active ? 'Active' : 'Error';
        next.push({
          skuId: w.skuId,
          disabledPlans: [...w.disabledPlans],
          assignedByGroup: w.assignedByGroup,
          state,
          error: active ? 'None' : 'CountViolation',
          lastUpdatedDateTime: old && old.state === state ? old.lastUpdatedDateTime : now,
        });
      }
      u.licenseAssignmentStates = next;
      if (!u.usageLocation && next.some((l) => l.assignedByGroup !== null && l.state === 'Active')) {
        u.usageLocation = this.s.countryLetterCode;
      }
    }
    for (const u of this.s.users) {
      const had = before.get(u.id) ?? false;
      const has = this.hasExchangePlan(u);
      if (has && !had) this.onExchangeLicenceGained(u);
      if (!has && had) this.onExchangeLicenceLost(u);
    }
  }

  private allUserMembers(g: EntraGroup, seen = new Set<string>()): string[] {
    if (seen.has(g.id)) return [];
    seen.add(g.id);
    const out: string[] = [];
    for (const id of this.memberIdsOf(g)) {
      if (this.userIndex.has(id)) out.push(id);
      const nested = this.s.groups.find((x) => x.id === id);
      if (nested) out.push(...this.allUserMembers(nested, seen));
    }
    return [...new Set(out)];
  }

  private hasExchangePlan(u: EntraUser): boolean {
    return u.licenseAssignmentStates.some((l) => {
      if (l.state !== 'Active') return false;
      const sku = this.s.skus.find((s) => s.skuId === l.skuId);
      return sku !== undefined && skuGivesMailbox(sku, l.disabledPlans);
    });
  }

  private onExchangeLicenceGained(u: EntraUser): void {
    const rec = this.recipientOf(u.id);
    if (rec && isMailboxType(rec.recipientTypeDetails)) {
      rec.licenceRemovedAt = null;
      return;
    }
    if (rec?.recipientTypeDetails === 'GuestMailUser') return;
    if (this.s.pendingMailboxes.some((p) => p.userId === u.id)) return;
    this.s.pendingMailboxes.push({ userId: u.id, dueAt: this.clock.now() + this.s.mailboxProvisioningDelayMs });
  }

  private onExchangeLicenceLost(u: EntraUser): void {
    this.s.pendingMailboxes = this.s.pendingMailboxes.filter((p) => p.userId !== u.id);
    const rec = this.recipientOf(u.id);
    if (rec && isMailboxType(rec.recipientTypeDetails) && licenceRemovalEffect(rec.recipientTypeDetails) === 'keep-in-grace') {
      rec.licenceRemovedAt = this.iso();
    }
  }

  private createMailboxFor(userId: string): void {
    const u = this.userIndex.get(userId);
    if (!u || !this.hasExchangePlan(u)) return;
    let rec = this.recipientOf(u.id);
    const synced = u.onPremisesSyncEnabled === true;
    if (!rec) rec = this.newRecipient(u.id, 'user', 'User', u.mailNickname, u.mailNickname, u.displayName, synced);
    if (isMailboxType(rec.recipientTypeDetails)) return;
    const ad = u.ad;
    const cloudManaged = synced ? initialCloudManaged(u.cloudManagedByDefaultAtFirstSync) : false;
    const fromAd = synced && !cloudManaged ? (ad?.proxyAddresses ?? []) : [];
    const primary = synced
      ? calculatedPrimaryAddress({ mail: ad?.mail, proxyAddresses: fromAd }, u.userPrincipalName)!
      : mailboxPrimaryAddress(u.mail, u.userPrincipalName);
    const alias = toAlias(u.mailNickname);
    rec.recipientTypeDetails = 'UserMailbox';
    rec.alias = alias;
    rec.emailAddresses = initialMailboxAddresses({
      primary,
      alias,
      initialDomain: this.initialDomain,
      adProxyAddresses: fromAd,
      userPrincipalName: { address: u.userPrincipalName, accepted: this.isAcceptedDomain(u.userPrincipalName.split('@')[1] ?? '') },
    });
    rec.adProxyAddresses = [...fromAd];
    rec.primarySmtpAddress = primary;
    rec.windowsEmailAddress = primary;
    rec.externalEmailAddress = null;
    rec.isExchangeCloudManaged = cloudManaged;
    rec.hiddenFromAddressListsEnabled = synced && !cloudManaged ? ad?.hideFromAddressLists === true : false;
    if (synced && !cloudManaged) rec.customAttributes = customAttributesFromAd(ad?.extensionAttributes);
    rec.exchangeGuid = this.ids();
    rec.whenMailboxCreated = this.iso();
    rec.whenChanged = rec.whenMailboxCreated;
    rec.licenceRemovedAt = null;
    this.refreshUserMail(u, rec);
  }

  // ===========================================================================================
  // Exchange Online
  // ===========================================================================================

  /**
   * All EXO recipients (copies), including plain `User` entries (only Get-User shows those), as Exchange Online sees
   * them: a recipient held back by {@link holdBackFromExchange} is missing (new) or shows its earlier state (changed)
   * until its time has come.
   */
  recipients(): ExoRecipient[] {
    this.tick();
    const now = this.clock.now();
    const out: ExoRecipient[] = [];
    for (const r of this.s.recipients) {
      const held = this.exoHeld.get(r.guid);
      if (held && now < held.until) {
        if (held.shown) out.push(structuredClone(held.shown));
        continue;
      }
      if (held) this.exoHeld.delete(r.guid);
      out.push(structuredClone(r));
    }
    return out;
  }

  /**
   * Exchange Online lags Entra ID: directory changes reach it by a separate sync. The sync engine holds a recipient it
   * just created (`shown` null) or changed (`shown`: the recipient before the change) back from Exchange's view until
   * `untilMs` (tenant clock). A recipient already held keeps its first time; Exchange's own writes (Set-*) end the
   * hold at once. Not saved with the tenant.
   */
  holdBackFromExchange(guid: string, shown: ExoRecipient | null, untilMs: number): void {
    if (this.exoHeld.has(guid) || untilMs <= this.clock.now()) return;
    this.exoHeld.set(guid, { shown: shown ? structuredClone(shown) : null, until: untilMs });
  }

  /** The recipient of an Entra object, if it is in EXO. */
  recipientOf(entraId: string): ExoRecipient | undefined {
    return this.recIndex.get(entraId);
  }

  /** A copy of a recipient by its EXO guid. */
  recipient(guid: string): ExoRecipient | undefined {
    const r = this.s.recipients.find((x) => x.guid === guid);
    return r ? structuredClone(r) : undefined;
  }

  /**
   * Applies changes to a recipient on behalf of an EXO Set-* cmdlet (the caller has already checked
   * write permissions with `rules.exoWriteRefusal`). Address changes keep PrimarySmtpAddress,
   * WindowsEmailAddress and EmailAddresses consistent and check uniqueness across the tenant.
   * Returns true if anything changed.
   */
  updateRecipient(
    guid: string,
    change: {
      emailAddresses?: string[];
      windowsEmailAddress?: string;
      primarySmtpAddress?: string;
      alias?: string;
      hiddenFromAddressListsEnabled?: boolean;
      isExchangeCloudManaged?: boolean;
      recipientTypeDetails?: RecipientTypeDetails;
      customAttributes?: Record<number, string>;
      exchangeGuid?: string;
      externalEmailAddress?: string;
      displayName?: string;
      resourceCapacity?: number | null;
      managedBy?: string[];
    } & Pick<
      ExoRecipient,
      | 'mailboxPermissions'
      | 'sendAs'
      | 'grantSendOnBehalfTo'
      | 'forwardingAddress'
      | 'forwardingSmtpAddress'
      | 'deliverToMailboxAndForward'
      | 'messageCopyForSentAsEnabled'
      | 'messageCopyForSendOnBehalfEnabled'
      | 'calendarProcessing'
      | 'autoReply'
    >,
  ): boolean {
    this.tick();
    const rec = this.s.recipients.find((x) => x.guid === guid);
    if (!rec) throw new Error(`no recipient ${guid}`);
    const before = JSON.stringify(rec);
    if (change.resourceCapacity !== undefined) rec.resourceCapacity = change.resourceCapacity;
    if (change.managedBy !== undefined) rec.managedBy = [...change.managedBy];
    // Exchange Online's own mailbox settings (whether a synced mailbox may take them is the cmdlet's check, rules.ts).
    if (change.mailboxPermissions !== undefined) rec.mailboxPermissions = structuredClone(change.mailboxPermissions);
    if (change.sendAs !== undefined) rec.sendAs = [...change.sendAs];
    if (change.grantSendOnBehalfTo !== undefined) rec.grantSendOnBehalfTo = [...change.grantSendOnBehalfTo];
    if (change.forwardingAddress !== undefined) rec.forwardingAddress = change.forwardingAddress;
    if (change.forwardingSmtpAddress !== undefined) rec.forwardingSmtpAddress = change.forwardingSmtpAddress;
    if (change.deliverToMailboxAndForward !== undefined) rec.deliverToMailboxAndForward = change.deliverToMailboxAndForward;
    if (change.messageCopyForSentAsEnabled !== undefined) rec.messageCopyForSentAsEnabled = change.messageCopyForSentAsEnabled;
    if (change.messageCopyForSendOnBehalfEnabled !== undefined) rec.messageCopyForSendOnBehalfEnabled = change.messageCopyForSendOnBehalfEnabled;
    if (change.calendarProcessing !== undefined) rec.calendarProcessing = structuredClone(change.calendarProcessing);
    if (change.autoReply !== undefined) rec.autoReply = { ...change.autoReply };
    const isMailbox = isMailboxType(rec.recipientTypeDetails);
    if (change.emailAddresses !== undefined) {
      const list = change.emailAddresses.map(normaliseProxy);
      const primaries = list.filter(isPrimarySmtp);
      if (primaries.length > 1) {
        throw new ExoError('Argument', `The e-mail address list contains more than one primary SMTP address: ${primaries.join(', ')}.`);
      }
      const dedup: string[] = [];
      for (const p of list) if (!dedup.some((d) => proxyKey(d) === proxyKey(p))) dedup.push(p);
      let next = dedup;
      if (primaries.length === 0) {
        const current = rec.primarySmtpAddress;
        if (current && next.some((p) => proxyKey(p) === proxyKey(`smtp:${current}`))) {
          next = next.map((p) => (proxyKey(p) === proxyKey(`smtp:${current}`) ? `SMTP:${current}` : p));
        } else {
          throw new ExoError('InvalidOperation', 'The primary SMTP address must be in the e-mail address list. Set a new primary address before removing the current one.');
        }
      }
      if (isMailbox || rec.recipientTypeDetails === 'MailUniversalDistributionGroup' || rec.recipientTypeDetails === 'MailUniversalSecurityGroup') {
        for (const p of next.filter((x) => splitProxy(x).prefix.toLowerCase() === 'smtp')) this.assertAcceptedDomain(splitProxy(p).address);
      }
      rec.emailAddresses = next;
      rec.primarySmtpAddress = primaryOf(next);
      rec.windowsEmailAddress = rec.primarySmtpAddress;
    }
    const newPrimary = change.primarySmtpAddress ?? change.windowsEmailAddress;
    if (newPrimary !== undefined) {
      if (isMailbox) this.assertAcceptedDomain(newPrimary);
      rec.emailAddresses = applyPrimaryAddressChange(rec.emailAddresses, newPrimary);
      rec.primarySmtpAddress = newPrimary;
      rec.windowsEmailAddress = newPrimary;
    }
    if (change.alias !== undefined) rec.alias = toAlias(change.alias);
    if (change.hiddenFromAddressListsEnabled !== undefined) rec.hiddenFromAddressListsEnabled = change.hiddenFromAddressListsEnabled;
    if (change.isExchangeCloudManaged !== undefined) {
      if (rec.isExchangeCloudManaged && !change.isExchangeCloudManaged) rec.reapplyFromAd = true;
      if (!rec.isExchangeCloudManaged && change.isExchangeCloudManaged) {
        rec.reapplyFromAd = false;
        // Exchange keeps the values AD last gave it and masters them from now on.
        if (rec.isDirSynced && isMailboxType(rec.recipientTypeDetails) && change.grantSendOnBehalfTo === undefined) rec.grantSendOnBehalfTo = this.sendOnBehalfOf(rec.externalDirectoryObjectId);
      }
      rec.isExchangeCloudManaged = change.isExchangeCloudManaged;
    }
    if (change.recipientTypeDetails !== undefined) {
      rec.recipientTypeDetails = change.recipientTypeDetails;
      // Shared, room and equipment mailboxes need no licence: no grace period to track.
      if (change.recipientTypeDetails !== 'UserMailbox') rec.licenceRemovedAt = null;
    }
    if (change.customAttributes) {
      for (const [i, v] of Object.entries(change.customAttributes)) rec.customAttributes[Number(i) - 1] = v;
    }
    if (change.exchangeGuid !== undefined) rec.exchangeGuid = change.exchangeGuid;
    if (change.externalEmailAddress !== undefined) rec.externalEmailAddress = `SMTP:${splitProxy(change.externalEmailAddress).address}`;
    if (change.displayName !== undefined) rec.displayName = change.displayName;
    const changed = JSON.stringify(rec) !== before;
    this.exoHeld.delete(rec.guid); // Exchange sees its own writes (and with them what sync brought meanwhile)
    if (changed) {
      this.checkAddressesUnique(rec, before, (JSON.parse(before) as ExoRecipient).emailAddresses);
      rec.whenChanged = this.iso();
      const u = this.userIndex.get(rec.externalDirectoryObjectId);
      if (u) this.refreshUserMail(u, rec);
      const g = rec.objectKind === 'group' && !rec.isDirSynced ? this.s.groups.find((x) => x.id === rec.externalDirectoryObjectId) : undefined;
      if (g) {
        // A cloud group's Entra mail and proxyAddresses are Exchange's (Exchange masters mail-enabled groups).
        g.mail = rec.primarySmtpAddress;
        g.proxyAddresses = [...rec.emailAddresses];
        g.displayName = rec.displayName;
      }
    }
    return changed;
  }

  private newRecipient(
    entraId: string,
    objectKind: ExoRecipient['objectKind'],
    type: RecipientTypeDetails,
    wantedName: string,
    alias: string,
    displayName: string,
    isDirSynced: boolean,
  ): ExoRecipient {
    let name = wantedName || alias;
    for (let n = 2; this.s.recipients.some((r) => r.name.toLowerCase() === name.toLowerCase()); n++) name = `${wantedName}${n}`;
    const now = this.iso();
    const rec: ExoRecipient = {
      guid: this.ids(),
      externalDirectoryObjectId: entraId,
      objectKind,
      recipientTypeDetails: type,
      name,
      alias: toAlias(alias),
      displayName,
      primarySmtpAddress: null,
      windowsEmailAddress: null,
      emailAddresses: [],
      externalEmailAddress: null,
      hiddenFromAddressListsEnabled: false,
      isDirSynced,
      isExchangeCloudManaged: false,
      exchangeGuid: EMPTY_GUID,
      groupType: null,
      customAttributes: Array.from({ length: 15 }, () => ''),
      adProxyAddresses: [],
      reapplyFromAd: false,
      licenceRemovedAt: null,
      whenMailboxCreated: null,
      whenCreated: now,
      whenChanged: now,
    };
    this.s.recipients.push(rec);
    this.recIndex.set(entraId, rec);
    return rec;
  }

  /**
   * Refuses an address that another recipient already has. Only addresses not in `previous` (the
   * recipient's SMTP addresses before the change) are checked, so an unchanged object costs nothing.
   * On failure the recipient is restored from `rollback` (a JSON snapshot) when given.
   */
  private checkAddressesUnique(rec: ExoRecipient, rollback?: string, previous: readonly string[] = []): void {
    const isSmtp = (p: string): boolean => splitProxy(p).prefix.toLowerCase() === 'smtp';
    const before = new Set(previous.filter(isSmtp).map((p) => proxyKey(p)));
    const added = rec.emailAddresses.filter(isSmtp).map((p) => proxyKey(p)).filter((k) => !before.has(k));
    if (added.length === 0) return;
    for (const other of this.s.recipients) {
      if (other === rec) continue;
      const dup = added.find((k) => other.emailAddresses.some((p) => isSmtp(p) && proxyKey(p) === k));
      if (dup) {
        const proxy = rec.emailAddresses.find((p) => proxyKey(p) === dup)!;
        if (rollback) Object.assign(rec, JSON.parse(rollback) as ExoRecipient);
        if (!rollback && rec.isDirSynced) {
          throw new SyncConflictError('proxyAddresses', proxy, other.externalDirectoryObjectId);
        }
        throw new ExoError(
          'ProxyAddressExists',
          `The proxy address "${proxy}" is already being used by the proxy addresses or LegacyExchangeDN of "${other.name}". Please choose another proxy address.`,
        );
      }
    }
  }

  private deleteRecipient(rec: ExoRecipient): void {
    this.s.recipients = this.s.recipients.filter((r) => r !== rec);
    this.recIndex.delete(rec.externalDirectoryObjectId);
    this.exoHeld.delete(rec.guid);
  }

  private deleteEntraObject(found: AnyEntraObject): void {
    const id = found.obj.id;
    const rec = this.recipientOf(id);
    if (rec) this.deleteRecipient(rec);
    this.s.pendingMailboxes = this.s.pendingMailboxes.filter((p) => p.userId !== id);
    if (found.kind === 'user') {
      this.s.users = this.s.users.filter((u) => u.id !== id);
      this.unindexUser(found.obj);
    }
    if (found.kind === 'group') this.s.groups = this.s.groups.filter((g) => g.id !== id);
    if (found.kind === 'contact') this.s.contacts = this.s.contacts.filter((c) => c.id !== id);
    for (const g of this.s.groups) g.memberIds = g.memberIds.filter((m) => m !== id);
  }

  /** Deletes a cloud-only recipient and its Entra object (EXO Remove-Mailbox/Remove-MailUser/Remove-MailContact). */
  removeCloudRecipient(guid: string): void {
    this.tick();
    const rec = this.s.recipients.find((r) => r.guid === guid);
    if (!rec) return;
    const id = rec.externalDirectoryObjectId;
    const u = this.userIndex.get(id);
    const g = this.s.groups.find((x) => x.id === id);
    const c = this.s.contacts.find((x) => x.id === id);
    if (u) this.deleteEntraObject({ kind: 'user', obj: u });
    else if (g) this.deleteEntraObject({ kind: 'group', obj: g });
    else if (c) this.deleteEntraObject({ kind: 'contact', obj: c });
    else this.deleteRecipient(rec);
    this.reconcileLicences();
  }
}
