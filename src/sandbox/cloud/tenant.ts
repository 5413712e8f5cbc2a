/**
 * In-memory model of one hybrid Microsoft 365 tenant: Entra ID (users, groups, contacts, licences,
 * app registrations) and Exchange Online (recipients, accepted domains, organisation config).
 *
 * Two kinds of callers use it:
 * - the **sync engine** (written separately) reads AD and calls {@link Tenant.upsertSyncedUser},
 *   {@link Tenant.upsertSyncedContact}, {@link Tenant.upsertSyncedGroup} and {@link Tenant.removeSynced};
 *   these apply the hybrid rules of `hybrid-behaviour.md` (see `rules.ts`) to decide what reaches EXO;
 * - the **HTTP emulator** (`graph/`, `exo/`) reads and writes it on behalf of Graph and
 *   InvokeCommand requests.
 *
 * Time comes from an injected {@link Clock}. Work that the real service does later (mailbox
 * provisioning after a licence) is queued with a due time and carried out by {@link Tenant.tick},
 * which every public method calls first; with a delay of 0 a mailbox exists as soon as the licence does.
 *
 * State is plain data (its types, and what a new object looks like, are in `tenant-model.ts`):
 * {@link Tenant.toJSON} / {@link Tenant.fromJSON} save and restore it.
 *
 * This class is the API; the work is done in `tenant/`: `core.ts` holds the state, its indexes and the primitives
 * that keep it consistent, and one module per job operates on it (`sync-users.ts`, `sync-contacts-groups.ts`,
 * `sync-scope.ts`, `licensing.ts`, `mailboxes.ts`, `cloud-objects.ts`, `entra.ts`, `exchange.ts`, `apps.ts`).
 */
import type { Clock } from './clock';
import type { IdGenerator } from './ids';
import type {
  AcceptedDomain,
  AdContactInput,
  AdGroupInput,
  AdUserInput,
  AnyEntraObject,
  AppRegistration,
  AppSeed,
  EntraContact,
  EntraGroup,
  EntraUser,
  ExoRecipient,
  SkuSeed,
  SkuState,
  SyncJobState,
  SyncJobStatusCode,
  SyncOutcome,
  TenantOptions,
  TenantState,
} from './tenant-model';
import { TenantCore } from './tenant/core';
import * as appRegistry from './tenant/apps';
import * as mailboxes from './tenant/mailboxes';
import * as licensing from './tenant/licensing';
import * as syncScope from './tenant/sync-scope';
import * as syncUsers from './tenant/sync-users';
import * as syncContactsGroups from './tenant/sync-contacts-groups';
import * as cloudObjects from './tenant/cloud-objects';
import * as entra from './tenant/entra';
import * as exchange from './tenant/exchange';
import { TenantTeams } from './tenant/teams';
import type { AppGrants } from './tenant/apps';
import type { SyncedObjectInfo } from './tenant/sync-scope';
import type { CloudDistributionGroupInput, CloudGroupInput, CloudMailboxInput, CloudMailContactInput, CloudMailUserInput, CloudUserInput, GuestInput } from './tenant/cloud-objects';
import type { RecipientUpdate } from './tenant/exchange';

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
export { SyncConflictError } from './tenant/core';
export type { AppGrants } from './tenant/apps';
export type { TenantTeams, TeamsBotConfig, TeamsAppSeed, BotEventDelivery } from './tenant/teams';
export type { TeamsCatalogApp, TeamsUserInstallation, ActivityNotificationRecord } from './tenant-model';

/** The simulated tenant. See the file comment for the overall contract. */
export class Tenant {
  readonly clock: Clock;
  /** The state and its indexes, which the modules under `tenant/` operate on. */
  private readonly core: TenantCore;
  /**
   * Microsoft Teams: the app catalog, personal-scope installations and their chats, accepted activity feed
   * notifications (`teams.activityNotifications(userId?)`), and where the bot is (`teams.configure(…)`).
   */
  readonly teams: TenantTeams;

  constructor(options: TenantOptions = {}) {
    this.core = new TenantCore(options);
    this.teams = new TenantTeams(this.core);
    this.clock = this.core.clock;
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
    return JSON.parse(JSON.stringify(this.core.s)) as TenantState;
  }

  /**
   * The state itself, not a copy: for the durable store (durable.ts), which serialises it after every answer and
   * must not pay for a deep copy. Never change it through this.
   */
  liveState(): Readonly<TenantState> {
    return this.core.s;
  }

  /** Restores a tenant saved with {@link toJSON}. The clock and id generator are not part of the state. */
  static fromJSON(state: TenantState, options: { clock?: Clock; ids?: IdGenerator } = {}): Tenant {
    if (state.version !== 1) throw new Error(`unsupported tenant state version ${String(state.version)}`);
    const t = new Tenant({ clock: options.clock, ids: options.ids, apps: [], skus: [] });
    t.core.load(state);
    return t;
  }

  // ===========================================================================================
  // Tenant-level facts and configuration
  // ===========================================================================================

  get tenantId(): string {
    return this.core.s.tenantId;
  }

  get displayName(): string {
    return this.core.s.displayName;
  }

  /** The `*.onmicrosoft.com` domain. */
  get initialDomain(): string {
    return this.core.initialDomain;
  }

  get countryLetterCode(): string {
    return this.core.s.countryLetterCode;
  }

  acceptedDomains(): AcceptedDomain[] {
    return this.core.s.domains.map((d) => ({ ...d }));
  }

  /** Adds a verified custom domain (accepted domain in EXO). */
  addDomain(name: string, makeDefault = false): void {
    const n = name.toLowerCase();
    if (!this.core.s.domains.some((d) => d.name === n)) this.core.s.domains.push({ name: n, isInitial: false, isDefault: false });
    if (makeDefault) for (const d of this.core.s.domains) d.isDefault = d.name === n;
  }

  /**
   * Removes a custom domain (Entra verified domain and Exchange accepted domain; the initial domain cannot be
   * removed). When it was the default, the initial domain becomes the default. Returns whether it was the default,
   * for `addDomain(name, wasDefault)` to put it back. Objects that use it keep their addresses (a test knob: Entra
   * would refuse to remove a domain in use).
   */
  removeDomain(name: string): { wasDefault: boolean } {
    const n = name.toLowerCase();
    const d = this.core.s.domains.find((x) => x.name === n);
    if (!d) throw new Error(`${name} is not a domain of the tenant`);
    if (d.isInitial) throw new Error(`${name} is the initial domain; it cannot be removed`);
    this.core.s.domains = this.core.s.domains.filter((x) => x !== d);
    if (d.isDefault) for (const x of this.core.s.domains) x.isDefault = x.isInitial;
    return { wasDefault: d.isDefault };
  }

  isAcceptedDomain(domain: string): boolean {
    return this.core.isAcceptedDomain(domain);
  }

  /** Whether a name (tenant id, initial or custom domain) designates this tenant. */
  matchesTenant(key: string): boolean {
    const k = key.toLowerCase();
    return k === this.core.s.tenantId.toLowerCase() || this.core.s.domains.some((d) => d.name === k);
  }

  get mailboxProvisioningDelayMs(): number {
    return this.core.s.mailboxProvisioningDelayMs;
  }

  /** Changes the delay for mailboxes scheduled from now on. */
  set mailboxProvisioningDelayMs(ms: number) {
    this.core.s.mailboxProvisioningDelayMs = Math.max(0, ms);
  }

  /** EXO `Set-OrganizationConfig -ExchangeAttributesCloudManagedByDefault` (shown as BlockExchangeProvisioningFromOnPremEnabled). */
  get exchangeAttributesCloudManagedByDefault(): boolean {
    return this.core.s.exchangeAttributesCloudManagedByDefault;
  }

  set exchangeAttributesCloudManagedByDefault(on: boolean) {
    this.core.s.exchangeAttributesCloudManagedByDefault = on;
  }

  // ===========================================================================================
  // App registrations
  // ===========================================================================================

  /** Registers an app (client credentials). Returns the registration, including a generated secret if none was given. */
  registerApp(seed: AppSeed): AppRegistration {
    return appRegistry.registerApp(this.core, seed);
  }

  /** What an app is granted now (defaults filled in for state saved before a field existed). */
  appGrants(clientId: string): AppGrants {
    return appRegistry.appGrants(this.core, clientId);
  }

  /** Changes what an app is granted; returns what it had before. See {@link appRegistry.setAppGrants}. */
  setAppGrants(clientId: string, change: Partial<AppGrants>): AppGrants {
    return appRegistry.setAppGrants(this.core, clientId, change);
  }

  // ===========================================================================================
  // Cloud Sync jobs (Graph synchronizationJob)
  // ===========================================================================================

  /** Registers (or finds) a Cloud Sync job of a service principal; a new one is Active. */
  registerSyncJob(job: { servicePrincipalId: string; jobId: string; templateId?: string; ruleId?: string }): SyncJobState {
    return appRegistry.registerSyncJob(this.core, job);
  }

  /** The Cloud Sync jobs of a service principal. */
  syncJobs(servicePrincipalId: string): SyncJobState[] {
    return appRegistry.syncJobs(this.core, servicePrincipalId);
  }

  /** A Cloud Sync job, or undefined. */
  syncJob(servicePrincipalId: string, jobId: string): SyncJobState | undefined {
    return appRegistry.syncJob(this.core, servicePrincipalId, jobId);
  }

  /** Sets a job's status code (Active, Paused, Quarantine with a reason); returns the previous state. See {@link appRegistry.setSyncJobStatus}. */
  setSyncJobStatus(
    servicePrincipalId: string,
    jobId: string,
    code: SyncJobStatusCode,
    quarantine?: { reason: string; errorCode: string; message: string },
  ): SyncJobState {
    return appRegistry.setSyncJobStatus(this.core, servicePrincipalId, jobId, code, quarantine);
  }

  /** Adds a certificate (PEM) to an app, for `client_assertion` sign-in. */
  addAppCertificate(clientId: string, certificatePem: string): void {
    appRegistry.addAppCertificate(this.core, clientId, certificatePem);
  }

  app(clientId: string): AppRegistration | undefined {
    return appRegistry.findApp(this.core, clientId);
  }

  apps(): AppRegistration[] {
    return appRegistry.apps(this.core);
  }

  // ===========================================================================================
  // Licences (SKUs)
  // ===========================================================================================

  /** Adds or replaces a subscribed SKU. */
  addSku(seed: SkuSeed): SkuState {
    return licensing.addSku(this.core, seed);
  }

  /** Sets the purchased units of a SKU (by part number or skuId). Existing assignments are kept. */
  setSkuUnits(skuPartNumberOrId: string, units: number): void {
    licensing.setSkuUnits(this.core, skuPartNumberOrId, units);
  }

  /** The SKUs with their consumption, as Graph `subscribedSkus` reports them. */
  subscribedSkus(): (SkuState & { consumedUnits: number })[] {
    return licensing.subscribedSkus(this.core);
  }

  /** The subscribed SKUs without consumption (cheap). */
  skus(): SkuState[] {
    return licensing.skus(this.core);
  }

  // ===========================================================================================
  // Clock-driven work
  // ===========================================================================================

  /** Carries out work that has fallen due (mailbox provisioning). Called by every public method. */
  tick(): void {
    mailboxes.tick(this.core);
  }

  /** When the mailbox of a licensed user will exist (ms since epoch), or null if none is pending. */
  pendingMailboxDueAt(userKey: string): number | null {
    const u = this.user(userKey);
    return this.core.s.pendingMailboxes.find((p) => p.userId === u?.id)?.dueAt ?? null;
  }

  // ===========================================================================================
  // Sync engine API
  // ===========================================================================================

  /** Creates or updates a user synced from AD and applies what reaches Exchange Online. See {@link syncUsers.upsertSyncedUser}. */
  upsertSyncedUser(ad: AdUserInput): SyncOutcome {
    return syncUsers.upsertSyncedUser(this.core, ad);
  }

  /** Creates or updates a contact synced from AD. See {@link syncContactsGroups.upsertSyncedContact}. */
  upsertSyncedContact(ad: AdContactInput): SyncOutcome {
    return syncContactsGroups.upsertSyncedContact(this.core, ad);
  }

  /** Creates or updates a group synced from AD, with its members. See {@link syncContactsGroups.upsertSyncedGroup}. */
  upsertSyncedGroup(ad: AdGroupInput): SyncOutcome {
    return syncContactsGroups.upsertSyncedGroup(this.core, ad);
  }

  /** Removes a synced object that left sync scope or was deleted in AD. See {@link syncScope.removeSynced}. */
  removeSynced(immutableId: string): boolean {
    return syncScope.removeSynced(this.core, immutableId);
  }

  /** The immutable ids of all synced objects (to detect AD deletions). */
  syncedImmutableIds(): string[] {
    return syncScope.syncedImmutableIds(this.core);
  }

  /** What the cloud knows about a synced object, for the sync engine to read back. See {@link syncScope.syncedObject}. */
  syncedObject(immutableId: string): SyncedObjectInfo | null {
    return syncScope.syncedObject(this.core, immutableId);
  }

  // ===========================================================================================
  // Cloud-only objects (created in EXO or by tests)
  // ===========================================================================================

  /** Creates a cloud-only mailbox as EXO `New-Mailbox -Shared|-Room|-Equipment` does. See {@link cloudObjects.createCloudMailbox}. */
  createCloudMailbox(input: CloudMailboxInput): ExoRecipient {
    return cloudObjects.createCloudMailbox(this.core, input);
  }

  /** Creates a cloud-only mail user as EXO `New-MailUser` does (with an Entra user that can sign in). */
  createCloudMailUser(input: CloudMailUserInput): ExoRecipient {
    return cloudObjects.createCloudMailUser(this.core, input);
  }

  /** Creates a cloud-only mail contact (EXO `New-MailContact`). */
  createCloudMailContact(input: CloudMailContactInput): ExoRecipient {
    return cloudObjects.createCloudMailContact(this.core, input);
  }

  /** Adds an invited guest: Entra user of type Guest and an EXO `GuestMailUser`, hidden from address lists. */
  addGuest(input: GuestInput): EntraUser {
    return cloudObjects.addGuest(this.core, input);
  }

  /** Creates a cloud-only user in Entra (no mailbox until licensed). */
  createCloudUser(input: CloudUserInput): EntraUser {
    return cloudObjects.createCloudUser(this.core, input);
  }

  /** Creates a cloud-only security or Microsoft 365-less group in Entra (not mail-enabled). */
  createCloudGroup(input: CloudGroupInput): EntraGroup {
    return cloudObjects.createCloudGroup(this.core, input);
  }

  /** Moves the source of authority of a synced group to the cloud or hands it back to AD; returns the previous value. See {@link entra.setGroupSyncBehavior}. */
  setGroupSyncBehavior(groupId: string, isCloudManaged: boolean): boolean {
    return entra.setGroupSyncBehavior(this.core, groupId, isCloudManaged);
  }

  /** Creates a cloud-only distribution group or mail-enabled security group as EXO `New-DistributionGroup` does. See {@link cloudObjects.createCloudDistributionGroup}. */
  createCloudDistributionGroup(input: CloudDistributionGroupInput): ExoRecipient {
    return cloudObjects.createCloudDistributionGroup(this.core, input);
  }

  // ===========================================================================================
  // Entra reads (Graph)
  // ===========================================================================================

  /** All users (copies). */
  users(): EntraUser[] {
    mailboxes.tick(this.core);
    return this.core.s.users.map((u) => structuredClone(u));
  }

  /** All users without copies, for read-only use within one call (a Graph list reads them all to answer with a page). */
  usersView(): readonly Readonly<EntraUser>[] {
    mailboxes.tick(this.core);
    return this.core.s.users;
  }

  /** A user by object id or UPN (case-insensitive), or undefined. */
  user(key: string): EntraUser | undefined {
    mailboxes.tick(this.core);
    const u = this.core.findUser(key);
    return u ? structuredClone(u) : undefined;
  }

  /** A user by object id without copying (cheap; for read-only use by the emulator). */
  userById(id: string): Readonly<EntraUser> | undefined {
    return this.core.userIndex.get(id) ?? this.core.userIndex.get(id.toLowerCase());
  }

  groups(): EntraGroup[] {
    mailboxes.tick(this.core);
    return this.core.s.groups.map((g) => structuredClone(g));
  }

  group(id: string): EntraGroup | undefined {
    mailboxes.tick(this.core);
    const g = this.core.s.groups.find((x) => x.id.toLowerCase() === id.toLowerCase());
    return g ? structuredClone(g) : undefined;
  }

  contacts(): EntraContact[] {
    mailboxes.tick(this.core);
    return this.core.s.contacts.map((c) => structuredClone(c));
  }

  /** Any directory object by id. */
  directoryObject(id: string): AnyEntraObject | undefined {
    return this.core.directoryObject(id);
  }

  /** Direct members of a group (resolved; synced members not yet synced are left out). */
  groupMembers(groupId: string): AnyEntraObject[] {
    mailboxes.tick(this.core);
    const g = this.core.groupOrNotFound(groupId);
    return this.core.memberIdsOf(g)
      .map((id) => this.core.directoryObject(id))
      .filter((x): x is AnyEntraObject => x !== undefined);
  }

  /**
   * Members of a group directly or through nested groups (Graph `transitiveMembers`): each object once, nested groups
   * included, in breadth-first order. Synced groups nest through AD's `member`, cloud groups through their members.
   */
  transitiveMembers(groupId: string): AnyEntraObject[] {
    mailboxes.tick(this.core);
    const root = this.core.groupOrNotFound(groupId);
    const seen = new Set<string>([root.id.toLowerCase()]);
    const out: AnyEntraObject[] = [];
    const queue = [root];
    while (queue.length > 0) {
      const g = queue.shift()!;
      for (const id of this.core.memberIdsOf(g)) {
        if (seen.has(id.toLowerCase())) continue;
        seen.add(id.toLowerCase());
        const o = this.core.directoryObject(id);
        if (!o) continue;
        out.push(o);
        if (o.kind === 'group') queue.push(o.obj);
      }
    }
    return out;
  }

  /** Groups an object is a direct member of. */
  memberOf(objectId: string): EntraGroup[] {
    mailboxes.tick(this.core);
    const id = objectId.toLowerCase();
    return this.core.s.groups.filter((g) => this.core.memberIdsOf(g).some((m) => m.toLowerCase() === id)).map((g) => structuredClone(g));
  }

  /** Ids of all groups an object is a member of, directly or through nested groups. */
  transitiveMemberOf(objectId: string): Set<string> {
    const out = new Set<string>();
    const queue = [objectId.toLowerCase()];
    while (queue.length > 0) {
      const cur = queue.shift()!;
      for (const g of this.core.s.groups) {
        if (out.has(g.id)) continue;
        if (this.core.memberIdsOf(g).some((m) => m.toLowerCase() === cur)) {
          out.add(g.id);
          queue.push(g.id.toLowerCase());
        }
      }
    }
    return out;
  }

  /** A mailbox's GrantSendOnBehalfTo as Entra object ids. See {@link exchange.sendOnBehalfOf}. */
  sendOnBehalfOf(entraId: string): string[] {
    return exchange.sendOnBehalfOf(this.core, entraId);
  }

  /** The owner AD's `managedBy` names for a synced group. See {@link entra.syncedGroupOwners}. */
  syncedGroupOwners(groupId: string): AnyEntraObject[] {
    return entra.syncedGroupOwners(this.core, groupId);
  }

  /** A user's manager (Graph `GET /users/{id}/manager`). See {@link entra.managerOf}. */
  managerOf(userKey: string): AnyEntraObject | null {
    return entra.managerOf(this.core, userKey);
  }

  /** Graph `PUT /users/{id}/manager/$ref`. See {@link entra.setManager}. */
  setManager(userKey: string, managerId: string): void {
    entra.setManager(this.core, userKey, managerId);
  }

  /** Graph `DELETE /users/{id}/manager/$ref`. 404 when the user has no manager; refused for synced users (AD masters it). */
  removeManager(userKey: string): void {
    entra.removeManager(this.core, userKey);
  }

  /** Graph `POST /users/{id}/revokeSignInSessions`; returns the new signInSessionsValidFromDateTime. See {@link entra.revokeSignInSessions}. */
  revokeSignInSessions(userKey: string): string {
    return entra.revokeSignInSessions(this.core, userKey);
  }

  // ===========================================================================================
  // Entra writes (Graph)
  // ===========================================================================================

  /** Graph `PATCH /users/{id}`. See {@link entra.updateUser}. */
  updateUser(key: string, patch: Record<string, unknown>): void {
    entra.updateUser(this.core, key, patch);
  }

  /** Graph `POST /users/{id}/assignLicense`; returns the user. See {@link licensing.assignLicense}. */
  assignLicense(
    key: string,
    addLicenses: { skuId: string; disabledPlans?: string[] }[],
    removeLicenses: string[],
  ): EntraUser {
    return licensing.assignLicense(this.core, key, addLicenses, removeLicenses);
  }

  /** Graph `POST /groups/{id}/assignLicense` (group-based licensing). See {@link licensing.assignGroupLicense}. */
  assignGroupLicense(groupId: string, addLicenses: { skuId: string; disabledPlans?: string[] }[], removeLicenses: string[]): EntraGroup {
    return licensing.assignGroupLicense(this.core, groupId, addLicenses, removeLicenses);
  }

  /** Graph `POST /groups/{id}/members/$ref`. Synced groups refuse (membership is mastered in AD). */
  addGroupMember(groupId: string, memberId: string, via: 'graph' | 'exchange' = 'graph'): void {
    entra.addGroupMember(this.core, groupId, memberId, via);
  }

  /** Graph `DELETE /groups/{id}/members/{memberId}/$ref`. */
  removeGroupMember(groupId: string, memberId: string, via: 'graph' | 'exchange' = 'graph'): void {
    entra.removeGroupMember(this.core, groupId, memberId, via);
  }

  // ===========================================================================================
  // Exchange Online
  // ===========================================================================================

  /** All EXO recipients (copies) as Exchange Online sees them. See {@link exchange.recipients}. */
  recipients(): ExoRecipient[] {
    return exchange.recipients(this.core);
  }

  /** The same recipients without copies, for read-only use within one call. See {@link exchange.recipientsView}. */
  recipientsView(): readonly Readonly<ExoRecipient>[] {
    return exchange.recipientsView(this.core);
  }

  /** Holds a recipient back from Exchange Online's view until `untilMs`. See {@link exchange.holdBackFromExchange}. */
  holdBackFromExchange(guid: string, shown: ExoRecipient | null, untilMs: number): void {
    exchange.holdBackFromExchange(this.core, guid, shown, untilMs);
  }

  /** The recipient of an Entra object, if it is in EXO. */
  recipientOf(entraId: string): ExoRecipient | undefined {
    return this.core.recipientOf(entraId);
  }

  /** A copy of a recipient by its EXO guid. */
  recipient(guid: string): ExoRecipient | undefined {
    const r = this.core.s.recipients.find((x) => x.guid === guid);
    return r ? structuredClone(r) : undefined;
  }

  /** Applies changes to a recipient on behalf of an EXO Set-* cmdlet; returns whether anything changed. See {@link exchange.updateRecipient}. */
  updateRecipient(guid: string, change: RecipientUpdate): boolean {
    return exchange.updateRecipient(this.core, guid, change);
  }

  /** Deletes a cloud-only recipient and its Entra object (EXO Remove-Mailbox/Remove-MailUser/Remove-MailContact). */
  removeCloudRecipient(guid: string): void {
    exchange.removeCloudRecipient(this.core, guid);
  }
}
