/**
 * Helpers of the hybrid-behaviour conformance suite (`test/sandbox/conformance/`): every rule of
 * `hybrid-behaviour.md` is proven end to end against a sandbox — AD objects are written to Samba over LDAPS,
 * sync runs (a Connect Sync cycle or Graph's provisionOnDemand), and the outcome is read back only through
 * Microsoft Graph and Exchange Online over HTTPS (EXO through Mailroom's production {@link ExoClient}) or
 * through LDAP. Nothing here reads the tenant's state (one set-up step in mail-users.test.ts, inviting a guest, goes
 * through the tenant's API because the emulator has no Graph POST /invitations).
 *
 * - {@link ConformanceSuite.open} gives one suite its own OU, LDAP connection and cloud clients; names from
 *   {@link ConformanceSuite.name} are unique in the run, so suites never collide in a shared sandbox.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Attribute, Change, type Client } from 'ldapts';
import { createCloudClients, ExoCommandError, type CloudClients, type ExoClient } from '../../src/cloud';
import { projectRoot } from '../../src/paths';
import { startSandbox, type Sandbox, type SandboxKnobs, type SyncReport } from '../../src/sandbox';
import { SANDBOX_MAIL_DOMAIN } from '../../src/sandbox/people';
import { onGlobalTeardown } from './root-hooks';
import { createSandboxOu, graphCall, openSandboxLdap, type HttpResult, type SandboxOuOptions } from './sandbox';
import type { TestOu } from './samba';

/** The sandbox's verified custom domain: UPN suffix and mail domain of the suite's objects. */
export const MAIL_DOMAIN = SANDBOX_MAIL_DOMAIN;

/** userAccountControl: NORMAL_ACCOUNT (512), plus ACCOUNTDISABLE (2) for 514. */
export const UAC_ENABLED = 512;
export const UAC_DISABLED = 514;

/** AD groupType bits. */
export const GROUP_GLOBAL = 0x2;
export const GROUP_UNIVERSAL = 0x8;
export const GROUP_SECURITY = 0x80000000;

// -------------------------------------------------------------------------------------------------
// What Graph and EXO answer (only the properties the suite reads)
// -------------------------------------------------------------------------------------------------

export interface GraphUser {
  id: string;
  userPrincipalName: string;
  mail: string | null;
  mailNickname: string;
  accountEnabled: boolean;
  usageLocation: string | null;
  assignedLicenses: { skuId: string; disabledPlans: string[] }[];
  onPremisesSyncEnabled: boolean | null;
  onPremisesImmutableId: string | null;
  onPremisesSamAccountName: string | null;
  proxyAddresses: string[];
}

export interface GraphGroup {
  id: string;
  displayName: string;
  mail: string | null;
  mailEnabled: boolean;
  securityEnabled: boolean;
  onPremisesSyncEnabled: boolean | null;
}

export interface GraphError {
  error: { code: string; message: string };
}

export interface ExoRecipientRow {
  Identity: string;
  Name: string;
  Alias: string;
  DisplayName: string;
  RecipientType: string;
  RecipientTypeDetails: string;
  PrimarySmtpAddress: string;
  WindowsEmailAddress: string;
  EmailAddresses: string[];
  HiddenFromAddressListsEnabled: boolean;
  IsDirSynced: boolean;
  ExternalDirectoryObjectId: string;
  ExternalEmailAddress?: string;
  CustomAttribute1?: string;
}

export interface ExoMailbox extends ExoRecipientRow {
  UserPrincipalName: string;
  IsExchangeCloudManaged: boolean;
  ExchangeGuid: string;
  IsShared: boolean;
  IsResource: boolean;
  ResourceType: string | null;
  AccountDisabled: boolean;
  SKUAssigned: boolean;
}

export interface ExoMailUser extends ExoRecipientRow {
  ExternalEmailAddress: string;
  ExchangeGuid: string;
  UserPrincipalName: string;
}

export interface ExoUser {
  Name: string;
  UserPrincipalName: string;
  RecipientTypeDetails: string;
  WindowsEmailAddress: string;
  IsDirSynced: boolean;
  AccountDisabled: boolean;
}

export interface ExoGroup {
  Name: string;
  GroupType: string;
  RecipientTypeDetails: string;
  WindowsEmailAddress: string;
  IsDirSynced: boolean;
  Members?: string[];
}

// -------------------------------------------------------------------------------------------------
// LDAP changes
// -------------------------------------------------------------------------------------------------

export const replace = (type: string, values: string[]): Change => new Change({ operation: 'replace', modification: new Attribute({ type, values }) });
export const add = (type: string, values: string[]): Change => new Change({ operation: 'add', modification: new Attribute({ type, values }) });
export const remove = (type: string, values: string[] = []): Change => new Change({ operation: 'delete', modification: new Attribute({ type, values }) });

/** Exchange-side AD attributes of a user (those that exist without the Exchange schema, plus the hide flag the sandbox adds). */
export interface AdUserAttributes {
  mail?: string;
  mailNickname?: string;
  targetAddress?: string;
  proxyAddresses?: string[];
  msExchHideFromAddressLists?: boolean;
  displayName?: string;
  /** ACCOUNTDISABLE: a shared/room/equipment mailbox's account. */
  disabled?: boolean;
}

/** The knobs of the run's shared sandbox (see getSharedSandbox): Cloud Sync, cycles only when asked, mailboxes at once, no faults. */
export const CONFORMANCE_KNOBS: Partial<SandboxKnobs> = { syncMode: 'cloud', syncIntervalMs: 0, mailboxDelayMs: 0, latencyMs: 0, rate429: 0, rate503: 0 };

let conformanceSandbox: Promise<Sandbox> | undefined;

/**
 * The sandbox the conformance files share, started on first use and stopped after all suites: an ephemeral
 * sandbox with the same knobs as the run's shared one (getSharedSandbox), but its own. The conformance files run
 * about a hundred sync cycles, and test/sandbox/sync.test.ts reads the shared engine's history, which keeps only
 * the last 50 reports (it expects `history[0]` to be the start's full import and counts reports to prove "no cycle
 * ran"); sharing the engine makes those two tests fail whenever the conformance files run first. Once sync.test.ts
 * no longer depends on the history's length, this can return getSharedSandbox() instead.
 */
export function getConformanceSandbox(): Promise<Sandbox> {
  conformanceSandbox ??= startSandbox({ rootDir: projectRoot(), ephemeral: true, knobs: CONFORMANCE_KNOBS }).then(
    (sandbox) => {
      onGlobalTeardown('conformance sandbox', () => sandbox.stop());
      return sandbox;
    },
    (err: unknown) => {
      conformanceSandbox = undefined;
      throw err;
    },
  );
  return conformanceSandbox;
}

/** One per process: names made by different suites of the same run never collide. */
const RUN = randomBytes(2).toString('hex');
let counter = 0;

/** Whether a promise failed with an EXO error; returns it (asserts that it failed). */
export async function exoError(p: Promise<unknown>): Promise<ExoCommandError> {
  const outcome = await p.then(
    (value) => ({ ok: true as const, value }),
    (err: unknown) => ({ ok: false as const, err }),
  );
  if (outcome.ok) assert.fail(`expected Exchange Online to refuse, but it answered ${JSON.stringify(outcome.value).slice(0, 400)}`);
  assert.ok(outcome.err instanceof ExoCommandError, `expected an ExoCommandError, got ${String(outcome.err)}`);
  return outcome.err;
}

/** One suite's view of a sandbox: its OU, an LDAP connection, Graph (HTTP) and Mailroom's EXO client. */
/** A person a suite makes in AD: CN and sAMAccountName `name`, sign-in `upn`, a different address `mail`. */
export interface SuitePerson {
  readonly name: string;
  readonly upn: string;
  readonly mail: string;
}

/** People of one run: `key` + `suffix` as the name, `<name>@contoso.example` to sign in, `<key>.<suffix>@contoso.example` as mail. */
export function suitePeople(suffix: string): (key: string) => SuitePerson {
  return (key) => ({ name: `${key}${suffix}`, upn: `${key}${suffix}@${MAIL_DOMAIN}`, mail: `${key}.${suffix}@${MAIL_DOMAIN}` });
}

/** The kinds of cloud-only objects a suite makes, and the cmdlet that removes each. */
export type CloudObjectKind = 'mailbox' | 'mail-user' | 'contact' | 'group';
const REMOVE_CMDLET: Record<CloudObjectKind, string> = { mailbox: 'Remove-Mailbox', 'mail-user': 'Remove-MailUser', contact: 'Remove-MailContact', group: 'Remove-DistributionGroup' };

export class ConformanceSuite {
  private constructor(
    readonly sandbox: Sandbox,
    readonly ou: TestOu,
    readonly ldap: Client,
    private readonly clients: CloudClients,
  ) {}

  /** Cloud-only objects the suite made in Exchange Online, removed by close() (the OU's cleanup cannot reach them). */
  private readonly cloudObjects: { readonly kind: CloudObjectKind; readonly identity: string }[] = [];

  /**
   * Creates the suite's OU (unique name) and opens its connections. Close it in after(). `delegated`: Mailroom's
   * service account gets its rights on the OU too (suites whose Mailroom changes objects made here).
   */
  static async open(sandbox: Sandbox, label: string, options: SandboxOuOptions = {}): Promise<ConformanceSuite> {
    const ou = await createSandboxOu(sandbox, label, options);
    const ldap = await openSandboxLdap(sandbox);
    const e = sandbox.endpoints;
    const clients = createCloudClients(
      { credentialType: 'ClientCredentials', tenantId: e.tenantId, authorityHost: e.authorityHost, clientId: e.clientId, clientSecret: e.clientSecret, clientCertificatePath: undefined, graphUrl: e.graphUrl, exoUrl: e.exoUrl },
      e.caFile,
    );
    return new ConformanceSuite(sandbox, ou, ldap, clients);
  }

  /** Mailroom's production Exchange Online client, configured from endpoints.json only. */
  get exo(): ExoClient {
    return this.clients.exo;
  }

  /** The tenant's `*.onmicrosoft.com` domain. */
  get tenantDomain(): string {
    return this.sandbox.endpoints.tenantDomain;
  }

  get exchangeSku(): string {
    return this.sandbox.endpoints.skus.exchangeOnline;
  }

  /** Unbinds, closes the clients, deletes the OU and runs a cycle so the tenant forgets the suite's objects. */
  async close(): Promise<void> {
    for (const { kind, identity } of this.cloudObjects.splice(0)) {
      const params = kind === 'group' ? { Identity: identity, BypassSecurityGroupManagerCheck: true } : { Identity: identity };
      await this.exo.invoke(REMOVE_CMDLET[kind], params).catch(() => undefined);
    }
    await this.ldap.unbind().catch(() => undefined);
    this.clients.close();
    await this.ou.cleanup();
    await this.sandbox.sync.runCycle();
  }

  /** Remembers a cloud-only object the suite made (by any identity Exchange Online accepts), for close() to remove. */
  removeAtClose(kind: CloudObjectKind, identity: string): void {
    this.cloudObjects.push({ kind, identity });
  }

  /** A sAMAccountName-safe name unique in the run (≤ 20 characters with a prefix of ≤ 10). */
  name(prefix: string): string {
    counter += 1;
    const n = `${prefix}${RUN}${counter.toString(36)}`;
    assert.ok(n.length <= 20, `name ${n} is longer than AD's 20-character sAMAccountName limit`);
    return n;
  }

  /** `name@contoso.example` */
  upn(name: string): string {
    return `${name}@${MAIL_DOMAIN}`;
  }

  dn(name: string): string {
    return `CN=${name},${this.ou.dn}`;
  }

  // ----------------------------------------------------------------------------------------------- AD

  /** Adds a user in the suite's OU (sAMAccountName = CN = name, UPN name@contoso.example). Returns the DN. */
  async addUser(name: string, attrs: AdUserAttributes = {}): Promise<string> {
    const dn = this.dn(name);
    const entry: Record<string, string | string[]> = {
      objectClass: ['top', 'person', 'organizationalPerson', 'user'],
      sAMAccountName: name,
      userPrincipalName: this.upn(name),
      userAccountControl: String(attrs.disabled ? UAC_DISABLED : UAC_ENABLED),
      displayName: attrs.displayName ?? name,
    };
    if (attrs.mail !== undefined) entry.mail = attrs.mail;
    if (attrs.mailNickname !== undefined) entry.mailNickname = attrs.mailNickname;
    if (attrs.targetAddress !== undefined) entry.targetAddress = attrs.targetAddress;
    if (attrs.proxyAddresses !== undefined) entry.proxyAddresses = attrs.proxyAddresses;
    if (attrs.msExchHideFromAddressLists !== undefined) entry.msExchHideFromAddressLists = attrs.msExchHideFromAddressLists ? 'TRUE' : 'FALSE';
    await this.ldap.add(dn, entry);
    return dn;
  }

  /** Adds a contact in the suite's OU. Returns the DN. */
  async addContact(name: string, attrs: { mail?: string; displayName?: string; adminDescription?: string } = {}): Promise<string> {
    const dn = this.dn(name);
    const entry: Record<string, string | string[]> = { objectClass: ['top', 'person', 'organizationalPerson', 'contact'], displayName: attrs.displayName ?? name };
    if (attrs.mail !== undefined) entry.mail = attrs.mail;
    if (attrs.adminDescription !== undefined) entry.adminDescription = attrs.adminDescription;
    await this.ldap.add(dn, entry);
    return dn;
  }

  /** Adds a group (scope and type as AD's groupType) in the suite's OU. Returns the DN. */
  async addGroup(name: string, attrs: { scope: 'global' | 'universal'; security: boolean; mail?: string; members?: string[] }): Promise<string> {
    const dn = this.dn(name);
    const groupType = ((attrs.scope === 'global' ? GROUP_GLOBAL : GROUP_UNIVERSAL) | (attrs.security ? GROUP_SECURITY : 0)) >> 0; // signed 32-bit, as AD stores it
    const entry: Record<string, string | string[]> = { objectClass: ['top', 'group'], sAMAccountName: name, groupType: String(groupType) };
    if (attrs.mail !== undefined) entry.mail = attrs.mail;
    if (attrs.members && attrs.members.length > 0) entry.member = attrs.members;
    await this.ldap.add(dn, entry);
    return dn;
  }

  async modify(dn: string, ...changes: Change[]): Promise<void> {
    await this.ldap.modify(dn, changes);
  }

  /** One AD attribute as LDAP returns it now (strings), or [] when absent. */
  async readAd(dn: string, attribute: string): Promise<string[]> {
    const { searchEntries } = await this.ldap.search(dn, { scope: 'base', attributes: [attribute] });
    const v = searchEntries[0]?.[attribute];
    if (v === undefined) return [];
    const list = Array.isArray(v) ? v : [v];
    return list.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : x));
  }

  /** DNs of every AD object (whole domain) whose mail or proxyAddresses carry `address`. */
  async findInAd(address: string): Promise<string[]> {
    const esc = address.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
    const { searchEntries } = await this.ldap.search(this.sandbox.dc.baseDn, {
      scope: 'sub',
      filter: `(|(mail=${esc})(proxyAddresses=smtp:${esc}))`,
      attributes: ['distinguishedName'],
    });
    return searchEntries.map((e) => e.dn);
  }

  // ----------------------------------------------------------------------------------------------- sync

  /** One Connect Sync–style delta cycle (or a full import). */
  sync(full = false): Promise<SyncReport> {
    return this.sandbox.sync.runCycle({ full });
  }

  // ----------------------------------------------------------------------------------------------- Graph

  graph<T = unknown>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResult<T>> {
    return graphCall<T>(this.sandbox, method, path, body, headers);
  }

  /** GET /users/{upn}: the Entra user, or null on 404. */
  async graphUser(upn: string): Promise<GraphUser | null> {
    const select = 'id,userPrincipalName,mail,mailNickname,accountEnabled,usageLocation,assignedLicenses,onPremisesSyncEnabled,onPremisesImmutableId,onPremisesSamAccountName,proxyAddresses';
    const res = await this.graph<GraphUser>('GET', `/users/${encodeURIComponent(upn)}?$select=${select}`);
    if (res.status === 404) return null;
    assert.equal(res.status, 200, res.text);
    return res.json;
  }

  /** The Entra user (asserting it exists). */
  async mustGraphUser(upn: string): Promise<GraphUser> {
    const u = await this.graphUser(upn);
    assert.ok(u, `Entra ID has no user ${upn}`);
    return u;
  }

  /** Groups with this on-premises sAMAccountName (an advanced query: ConsistencyLevel + $count). */
  async graphGroupsBySam(sam: string): Promise<GraphGroup[]> {
    const filter = encodeURIComponent(`onPremisesSamAccountName eq '${sam.replace(/'/g, "''")}'`);
    const res = await this.graph<{ value: GraphGroup[] }>('GET', `/groups?$filter=${filter}&$count=true`, undefined, { ConsistencyLevel: 'eventual' });
    assert.equal(res.status, 200, res.text);
    return res.json.value;
  }

  /** PATCH usageLocation (a cloud-mastered property, writable on synced users). */
  async setUsageLocation(userId: string, usageLocation = 'DE'): Promise<void> {
    const res = await this.graph('PATCH', `/users/${userId}`, { usageLocation });
    assert.equal(res.status, 204, res.text);
  }

  /** POST /users/{id}/assignLicense with the Exchange Online (Plan 1) SKU; the raw answer. */
  assignExchangeLicence(userId: string, remove = false): Promise<HttpResult<GraphUser & GraphError>> {
    const body = remove ? { addLicenses: [], removeLicenses: [this.exchangeSku] } : { addLicenses: [{ skuId: this.exchangeSku, disabledPlans: [] }], removeLicenses: [] };
    return this.graph<GraphUser & GraphError>('POST', `/users/${userId}/assignLicense`, body);
  }

  /** usageLocation first, then the Exchange Online licence (both asserted). */
  async licence(upn: string): Promise<GraphUser> {
    const u = await this.mustGraphUser(upn);
    if (!u.usageLocation) await this.setUsageLocation(u.id);
    const res = await this.assignExchangeLicence(u.id);
    assert.equal(res.status, 200, res.text);
    return res.json;
  }

  /** Adds `p` in AD with its mail as the primary address (displayName "<name> Person"); returns the DN. Not synced yet. */
  addPerson(p: SuitePerson): Promise<string> {
    return this.addUser(p.name, { displayName: `${p.name} Person`, mail: p.mail, mailNickname: p.name, proxyAddresses: [`SMTP:${p.mail}`] });
  }

  /** A licensed, synced user's mailbox: an AD user with mail = its UPN, synced, then licensed (delay 0). */
  async syncedMailbox(prefix: string, attrs: AdUserAttributes = {}): Promise<{ name: string; dn: string; mail: string }> {
    const name = this.name(prefix);
    const mail = this.upn(name);
    const dn = await this.addUser(name, { mail, ...attrs });
    await this.sync();
    await this.licence(mail);
    return { name, dn, mail };
  }

  async unlicence(upn: string): Promise<void> {
    const u = await this.mustGraphUser(upn);
    const res = await this.assignExchangeLicence(u.id, true);
    assert.equal(res.status, 200, res.text);
  }

  // ----------------------------------------------------------------------------------------------- EXO

  /** One result of a Get-* cmdlet by identity, or null when EXO answers "couldn't be found". */
  async exoGet<T>(cmdlet: string, identity: string): Promise<T | null> {
    try {
      const { value } = await this.exo.invoke<T>(cmdlet, { Identity: identity });
      assert.equal(value.length, 1, `${cmdlet} ${identity} returned ${value.length} objects`);
      return value[0]!;
    } catch (err) {
      if (err instanceof ExoCommandError && err.notFound) return null;
      throw err;
    }
  }

  /** Get-Mailbox, asserting the mailbox exists. */
  async mailbox(identity: string): Promise<ExoMailbox> {
    const m = await this.exoGet<ExoMailbox>('Get-Mailbox', identity);
    assert.ok(m, `Get-Mailbox ${identity}: no mailbox`);
    return m;
  }

  /** Runs a Set-* cmdlet and returns its warnings. */
  async exoSet(cmdlet: string, parameters: Record<string, unknown>): Promise<string[]> {
    const { warnings } = await this.exo.invoke(cmdlet, parameters);
    return warnings;
  }
}
