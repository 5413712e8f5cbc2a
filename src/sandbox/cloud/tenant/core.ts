/**
 * The state of one simulated tenant and the primitives that keep it consistent.
 */
import { systemClock, type Clock } from '../clock';
import { ExoError, graphNotFound } from '../errors';
import { EMPTY_GUID, immutableIdFromObjectGuid, randomGuid, type IdGenerator } from '../ids';
import { isMailboxType, proxyKey, splitProxy, toAlias, type RecipientTypeDetails } from '../rules';
import type { AnyEntraObject, EntraGroup, EntraUser, ExoRecipient, SkuState, TenantOptions, TenantState } from '../tenant-model';
import { blankToNull } from './ad-values';

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

/**
 * The tenant's state and its indexes, with the primitives every part of the `Tenant` uses (lookups, new and
 * deleted recipients, address uniqueness). The Tenant owns one; the modules beside this file operate on it.
 */
export class TenantCore {
  readonly clock: Clock;
  readonly ids: IdGenerator;
  s: TenantState;
  /** Recipients by Entra object id (kept in step with `s.recipients`). */
  recIndex = new Map<string, ExoRecipient>();
  /** Recipients Exchange Online does not see (yet) as they are: see `holdBackFromExchange` (exchange.ts). */
  exoHeld = new Map<string, { shown: ExoRecipient | null; until: number }>();
  /** Users by object id, by immutable id and by lower-case UPN (kept in step with `s.users`). */
  userIndex = new Map<string, EntraUser>();
  userByImmutable = new Map<string, EntraUser>();
  userByUpn = new Map<string, EntraUser>();

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
  }

  /** Replaces the state with a saved one (a copy) and rebuilds the indexes. */
  load(state: TenantState): void {
    this.s = JSON.parse(JSON.stringify(state)) as TenantState;
    this.recIndex = new Map(this.s.recipients.map((r) => [r.externalDirectoryObjectId, r]));
    for (const u of this.s.users) this.indexUser(u);
  }

  addUser(u: EntraUser): void {
    this.s.users.push(u);
    this.indexUser(u);
  }

  indexUser(u: EntraUser, oldUpn?: string): void {
    this.userIndex.set(u.id, u);
    if (u.onPremisesImmutableId) this.userByImmutable.set(u.onPremisesImmutableId, u);
    if (oldUpn !== undefined) this.userByUpn.delete(oldUpn.toLowerCase());
    this.userByUpn.set(u.userPrincipalName.toLowerCase(), u);
  }

  unindexUser(u: EntraUser): void {
    this.userIndex.delete(u.id);
    if (u.onPremisesImmutableId) this.userByImmutable.delete(u.onPremisesImmutableId);
    this.userByUpn.delete(u.userPrincipalName.toLowerCase());
  }

  /** The `*.onmicrosoft.com` domain. */
  get initialDomain(): string {
    const d = this.s.domains.find((x) => x.isInitial);
    if (!d) throw new Error('tenant has no initial domain');
    return d.name;
  }

  isAcceptedDomain(domain: string): boolean {
    const d = domain.toLowerCase();
    return this.s.domains.some((x) => x.name === d);
  }

  findSku(key: string): SkuState | undefined {
    const k = key.toLowerCase();
    return this.s.skus.find((x) => x.skuId.toLowerCase() === k || x.skuPartNumber.toLowerCase() === k);
  }

  consumedUnits(skuId: string): number {
    return this.s.users.filter((u) => u.licenseAssignmentStates.some((l) => l.skuId === skuId && l.state === 'Active')).length;
  }

  iso(): string {
    return new Date(this.clock.now()).toISOString();
  }

  immutableIdOf(ad: { objectGuid?: string; immutableId?: string }): string {
    if (ad.immutableId) return ad.immutableId;
    if (ad.objectGuid) return immutableIdFromObjectGuid(ad.objectGuid);
    throw new Error('an AD object needs objectGuid or immutableId');
  }

  byImmutableId(immutableId: string): AnyEntraObject | null {
    const u = this.userByImmutable.get(immutableId);
    if (u) return { kind: 'user', obj: u };
    const g = this.s.groups.find((x) => x.onPremisesImmutableId === immutableId);
    if (g) return { kind: 'group', obj: g };
    const c = this.s.contacts.find((x) => x.onPremisesImmutableId === immutableId);
    if (c) return { kind: 'contact', obj: c };
    return null;
  }

  refreshUserMail(user: EntraUser, rec: ExoRecipient | undefined): void {
    if (rec && (isMailboxType(rec.recipientTypeDetails) || rec.recipientTypeDetails === 'MailUser' || rec.recipientTypeDetails === 'GuestMailUser')) {
      user.mail = rec.primarySmtpAddress;
    } else {
      user.mail = blankToNull(user.ad?.mail) ?? (user.userType === 'Guest' ? user.mail : null);
    }
  }

  defaultDomain(): string {
    return (this.s.domains.find((d) => d.isDefault) ?? this.s.domains[0])!.name;
  }

  assertAcceptedDomain(address: string): void {
    const domain = address.split('@')[1] ?? '';
    if (!this.isAcceptedDomain(domain)) {
      throw new ExoError('Argument', `You can't use the domain ${domain} because it's not an accepted domain for your organization.`);
    }
  }

  findUser(key: string): EntraUser | undefined {
    return this.userIndex.get(key) ?? this.userIndex.get(key.toLowerCase()) ?? this.userByUpn.get(key.toLowerCase());
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

  memberIdsOf(g: EntraGroup): string[] {
    if (g.onPremisesSyncEnabled) {
      return g.adMemberImmutableIds.map((im) => this.byImmutableId(im)?.obj.id).filter((x): x is string => x !== undefined);
    }
    return [...g.memberIds];
  }

  /** A group by object id (case-insensitive), or Graph's 404. */
  groupOrNotFound(groupId: string): EntraGroup {
    const g = this.s.groups.find((x) => x.id.toLowerCase() === groupId.toLowerCase());
    if (!g) throw graphNotFound(groupId);
    return g;
  }

  /** The recipient of an Entra object, if it is in EXO. */
  recipientOf(entraId: string): ExoRecipient | undefined {
    return this.recIndex.get(entraId);
  }

  newRecipient(
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
  checkAddressesUnique(rec: ExoRecipient, rollback?: string, previous: readonly string[] = []): void {
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

  deleteRecipient(rec: ExoRecipient): void {
    this.s.recipients = this.s.recipients.filter((r) => r !== rec);
    this.recIndex.delete(rec.externalDirectoryObjectId);
    this.exoHeld.delete(rec.guid);
  }

  deleteEntraObject(found: AnyEntraObject): void {
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
}
