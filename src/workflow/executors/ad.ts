/**
 * The Active Directory step executors: every `ad.*` action of a plan, each idempotent (look, act only if the
 * desired state is missing, report). They talk to AD through `AdDirectoryPort`, the part of the directory
 * adapter they use (`DirectoryClient` fits it), and keep generated passwords in the `SecretVault`.
 *
 * Objects Mailroom creates carry `description` = "Created by Mailroom for R-12" (unless the plan sets a
 * description itself), written in the same LDAP add as the object. A step run again after a crash recognises
 * its own object by that stamp and its names, and reports it as done; any other object holding the DN, the
 * logon name, the sign-in name, the alias or an address stops the step with an error naming it.
 *
 * Passwords: `ad.createUser` generates one with the domain's policy, stores it in the vault (enabled accounts
 * only) before the account is created, so a crash after AD has the account never leaves an enabled account whose
 * password nobody has; it never appears in results, errors or logs.
 */
import type {
  AttributeValue,
  ChangeOutcome,
  CreatedObject,
  DirectoryObject,
  NewContact,
  NewGroup,
  NewUser,
  ObjectKind,
  Secret,
  ValuesChange,
  WhoHasMatch,
  WhoHasQuery,
} from '../../directory';
import { createdByStamp, type AttributeValues, type StepInputs } from '../../plans';
import { StepError, type SecretVault, type StepContext, type StepExecutor, type StepOutcome, type StepResult } from './types';

/** The directory operations the AD executors use (`DirectoryClient` implements them). */
export interface AdDirectoryPort {
  /** The object at a DN, or null. */
  get(dn: string): Promise<DirectoryObject | null>;
  /** Every object holding one of the given names or addresses (case-insensitive, as AD compares). */
  whoHas(query: WhoHasQuery): Promise<WhoHasMatch[]>;
  createUser(user: NewUser): Promise<CreatedObject>;
  createContact(contact: NewContact): Promise<CreatedObject>;
  createGroup(group: NewGroup): Promise<CreatedObject>;
  /** One LDAP modify replacing the given attributes (`null`, '' or [] clears one). */
  setAttributes(dn: string, changes: Readonly<Record<string, AttributeValue | null>>): Promise<void>;
  addValues(dn: string, attribute: string, add: readonly string[]): Promise<ValuesChange>;
  removeValues(dn: string, attribute: string, remove: readonly string[]): Promise<ValuesChange>;
  addGroupMembers(groupDn: string, memberDns: readonly string[]): Promise<ValuesChange>;
  removeGroupMembers(groupDn: string, memberDns: readonly string[]): Promise<ValuesChange>;
  disableAccount(dn: string): Promise<{ changed: boolean }>;
  /** Delete an object (roll back); `absent` when there was nothing to delete. */
  delete(dn: string): Promise<'deleted' | 'absent'>;
  enableAccount(dn: string): Promise<{ changed: boolean }>;
  setPassword(dn: string, password: Secret, options?: { mustChange?: boolean }): Promise<void>;
  /** A random password meeting the domain's policy and avoiding the account's names. */
  generatePassword(account?: { samAccountName?: string; displayName?: string; givenName?: string; sn?: string }): Promise<Secret>;
}

export interface AdExecutorDeps {
  readonly directory: AdDirectoryPort;
  readonly vault: SecretVault;
}

export type AdAction =
  | 'ad.createUser'
  | 'ad.createContact'
  | 'ad.createGroup'
  | 'ad.setAttributes'
  | 'ad.setPrimaryAddress'
  | 'ad.disableAccount'
  | 'ad.addGroupMember'
  | 'ad.removeGroupMember'
  | 'ad.deleteObject';

/** The stamp Mailroom writes into `description` of the objects it creates (defined with the rollback planner). */
export { createdByStamp };

/**
 * The vault entry (per request) holding the first password of the user the request created, to be revealed once:
 * `vault.takeOnce(requestId, INITIAL_PASSWORD_ENTRY)`. One per request (no request kind creates two users); the
 * step's result names it as `vaultEntry` as well.
 */
export const INITIAL_PASSWORD_ENTRY = 'initial-password';

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/** The shape of the directory adapter's DirectoryError (matched structurally: the workflow depends on the port only). */
interface DirectoryFailure extends Error {
  readonly kind: string;
  readonly transient: boolean;
  readonly outcome: ChangeOutcome;
  readonly code?: number;
  readonly dn?: string;
  readonly serverMessage?: string;
}

function isDirectoryFailure(err: unknown): err is DirectoryFailure {
  if (!(err instanceof Error)) return false;
  const e = err as Partial<DirectoryFailure>;
  return typeof e.kind === 'string' && typeof e.transient === 'boolean' && (e.outcome === 'unchanged' || e.outcome === 'unknown' || e.outcome === 'partial');
}

/**
 * A StepError for anything an AD step threw. Transient: the adapter's transient kinds (busy, unavailable,
 * timeouts, connection lost), any write whose outcome is unknown (the retry looks first, so it is safe), and a
 * closed client (this instance is shutting down; another picks the step up). Everything else is permanent, with
 * the adapter's message, which says what failed and what was not changed.
 */
export function toStepError(err: unknown, doing: string): StepError {
  if (err instanceof StepError) return err;
  if (isDirectoryFailure(err)) {
    const transient = err.transient || err.outcome === 'unknown' || err.kind === 'closed';
    const detail: StepResult = { directoryError: err.kind, outcome: err.outcome };
    if (err.code !== undefined) detail.ldapCode = err.code;
    if (err.dn !== undefined) detail.dn = err.dn;
    if (err.serverMessage !== undefined) detail.serverMessage = err.serverMessage;
    return new StepError(err.message, transient, undefined, detail);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new StepError(`Mailroom could not ${doing}: ${message}. This is a fault in Mailroom; it is not known what was changed in AD, so look before pressing Retry.`, false, undefined, {
    error: err instanceof Error ? err.name : typeof err,
  });
}

function missing(dn: string, what: string): StepError {
  return new StepError(`${upperFirst(what)} ${quoted(dn)} does not exist in Active Directory (it may have been deleted, moved or renamed); nothing was changed.`, false, undefined, { dn });
}

/** A plan that asks for something an executor must not do (a bug in the planner, not in AD). */
function badPlan(message: string): StepError {
  return new StepError(`${message} This is a fault in Mailroom's plan; nothing was changed in AD.`, false);
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

function upperFirst(s: string): string {
  return s.length ? s[0]!.toUpperCase() + s.slice(1) : s;
}

function quoted(s: string): string {
  return `'${s}'`;
}

/** Case-insensitive, accent-sensitive equality (how AD compares names and addresses). */
function sameText(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a === b || a.localeCompare(b, 'en', { sensitivity: 'accent' }) === 0;
}

function list(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  return (typeof value === 'string' ? [value] : [...value]).filter((v) => v !== '');
}

/** Exact, order-insensitive equality of two value lists (a case change is a change worth writing). */
function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const x = [...a].sort();
  const y = [...b].sort();
  return x.every((v, i) => v === y[i]);
}

const KIND_WORDS: Record<ObjectKind, string> = {
  user: 'the user',
  contact: 'the contact',
  group: 'the group',
  computer: 'the computer',
  'organizational-unit': 'the OU',
  other: 'the object',
};

function describeObject(o: { readonly objectClass: ObjectKind; readonly dn: string; readonly displayName?: string; readonly cn?: string; readonly samAccountName?: string }): string {
  const name = o.displayName ?? o.cn;
  const logon = o.samAccountName ? `, logon name ${quoted(o.samAccountName)}` : '';
  return `${KIND_WORDS[o.objectClass]}${name ? ` ${quoted(name)}` : ''} (${o.dn}${logon})`;
}

const FIELD_WORDS: Record<string, string> = {
  samAccountName: 'logon name (sAMAccountName)',
  userPrincipalName: 'sign-in name (userPrincipalName)',
  alias: 'alias (mailNickname)',
  address: 'address',
};

/** Attributes an executor sets itself: a plan that puts them into `attributes` is refused. */
const RESERVED = new Set([
  'objectclass', 'cn', 'name', 'distinguishedname', 'objectguid', 'objectsid', 'samaccountname', 'userprincipalname', 'unicodepwd', 'userpassword',
  'useraccountcontrol', 'pwdlastset', 'grouptype', 'member',
]);

/** Split planned attributes into the adapter's named fields and `extra`; refuses attributes the executor owns. */
function splitAttributes(attributes: AttributeValues, named: readonly string[]): { named: Record<string, string | string[]>; extra: Record<string, string | string[]> } {
  const namedOut: Record<string, string | string[]> = {};
  const extra: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (RESERVED.has(key.toLowerCase())) throw badPlan(`The plan sets '${key}' among the attributes of a new object, but the step sets it itself.`);
    const field = named.find((n) => n.toLowerCase() === key.toLowerCase());
    const v = typeof value === 'string' ? value : [...value];
    if (field) namedOut[field] = v;
    else extra[key] = v;
  }
  return { named: namedOut, extra };
}

/** A single-valued named field from planned attributes. */
function single(named: Record<string, string | string[]>, field: string): string | undefined {
  const v = named[field];
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (v.length > 1) throw badPlan(`The plan gives '${field}' ${v.length} values, but it holds one.`);
  return v[0] === '' ? undefined : v[0];
}

function multi(named: Record<string, string | string[]>, field: string): string[] | undefined {
  const v = named[field];
  return v === undefined ? undefined : list(v);
}

/** The SMTP addresses (without prefix) among proxyAddresses values. */
function smtpAddresses(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    const m = /^smtp:(.+)$/i.exec(v);
    if (m?.[1]) out.push(m[1]);
  }
  return out;
}

/** The facts of an object for results (JSON, no secrets). */
function facts(o: DirectoryObject): StepResult {
  const r: StepResult = { dn: o.dn, objectGuid: o.objectGuid, objectClass: o.objectClass };
  if (o.samAccountName !== undefined) r.samAccountName = o.samAccountName;
  if (o.userPrincipalName !== undefined) r.userPrincipalName = o.userPrincipalName;
  return r;
}

/** The values written when an object is created, for the audit log (never the password). */
function writtenValues(values: Readonly<Record<string, AttributeValue | undefined>>): StepResult {
  const out: StepResult = {};
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = Array.isArray(v) ? [...(v as readonly string[])] : v;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Look first: is the object there, is it ours, who else holds its names?
// ---------------------------------------------------------------------------------------------

interface Identity {
  /** What the step creates, e.g. `the user 'Ada Lovelace'`. */
  readonly what: string;
  readonly dn: string;
  readonly parentDn: string;
  readonly kind: ObjectKind;
  readonly samAccountName?: string;
  readonly userPrincipalName?: string;
  readonly alias?: string;
  /** mail and the smtp: proxy addresses. */
  readonly addresses: readonly string[];
  /** What `description` must say for the object to be this step's own. */
  readonly description: string;
  readonly reference: string;
}

type Look =
  | { readonly found: 'absent' }
  /** `moved`: found by its names elsewhere than at the planned DN (moved or renamed since). */
  | { readonly found: 'ours'; readonly object: DirectoryObject; readonly moved: boolean };

function isOurs(o: DirectoryObject, id: Identity): boolean {
  return (
    o.objectClass === id.kind &&
    o.description === id.description &&
    (id.samAccountName === undefined || sameText(o.samAccountName, id.samAccountName)) &&
    (id.userPrincipalName === undefined || sameText(o.userPrincipalName, id.userPrincipalName))
  );
}

function notOurs(id: Identity): string {
  return id.description === createdByStamp(id.reference)
    ? `which Mailroom did not create for ${id.reference}`
    : `which is not the one this step creates`;
}

/**
 * Look for the object this step creates: absent, or present and ours (at its DN, or moved elsewhere). Throws a
 * permanent StepError when a different object holds the DN or one of the names or addresses.
 */
async function look(directory: AdDirectoryPort, id: Identity): Promise<Look> {
  const atDn = await directory.get(id.dn);
  if (atDn) {
    if (isOurs(atDn, id)) return { found: 'ours', object: atDn, moved: false };
    throw new StepError(
      `Active Directory already has an object named ${quoted(atDn.cn ?? id.dn)} in '${id.parentDn}': ${describeObject(atDn)}, ${notOurs(id)}; nothing was created. ` +
        'Rename or remove that object in AD and press Retry, or cancel this request.',
      false,
      undefined,
      { conflict: 'dn', holder: atDn.dn, holderGuid: atDn.objectGuid },
    );
  }
  const queries: WhoHasQuery[] = [];
  const first: { -readonly [K in keyof WhoHasQuery]: WhoHasQuery[K] } = {};
  if (id.samAccountName !== undefined) first.samAccountName = id.samAccountName;
  if (id.userPrincipalName !== undefined) first.userPrincipalName = id.userPrincipalName;
  if (id.alias !== undefined) first.alias = id.alias;
  const addresses = id.addresses.filter((a, i) => id.addresses.findIndex((b) => sameText(a, b)) === i);
  if (addresses[0] !== undefined) first.address = addresses[0];
  if (Object.keys(first).length) queries.push(first);
  for (const address of addresses.slice(1)) queries.push({ address });
  const holders = new Map<string, WhoHasMatch>();
  for (const q of queries) {
    for (const m of await directory.whoHas(q)) {
      const known = holders.get(m.dn.toLowerCase());
      holders.set(m.dn.toLowerCase(), known ? { ...known, matches: [...known.matches, ...m.matches] } : m);
    }
  }
  const conflicts: { holder: WhoHasMatch; object: DirectoryObject | null }[] = [];
  for (const holder of holders.values()) {
    const object = await directory.get(holder.dn);
    // Ours, but no longer at its DN (moved or renamed after a crash): the step's work is done.
    if (object && isOurs(object, id)) return { found: 'ours', object, moved: true };
    conflicts.push({ holder, object });
  }
  if (conflicts.length === 0) return { found: 'absent' };
  const parts = conflicts.map(({ holder, object }) => {
    const fields = [...new Set(holder.matches.map((m) => `the ${FIELD_WORDS[m.field] ?? m.field} ${quoted(m.value)}`))];
    const who = object ? describeObject(object) : `${KIND_WORDS[holder.objectClass]} ${quoted(holder.name)} (${holder.dn})`;
    return `${fields.join(' and ')} ${fields.length > 1 ? 'are' : 'is'} already used by ${who}`;
  });
  throw new StepError(
    `Mailroom did not create ${id.what}: ${parts.join('; ')}; nothing was created. Free the name in AD (or cancel this request and ask again with another) and press Retry.`,
    false,
    undefined,
    { conflict: 'name', holders: conflicts.map((c) => c.holder.dn) },
  );
}

// ---------------------------------------------------------------------------------------------
// The executors
// ---------------------------------------------------------------------------------------------

class AdExecutors {
  constructor(private readonly deps: AdExecutorDeps) {}

  private get directory(): AdDirectoryPort {
    return this.deps.directory;
  }

  // ---- ad.createUser --------------------------------------------------------------------------------------------

  async createUser(input: StepInputs['ad.createUser'], ctx: StepContext): Promise<StepOutcome> {
    const { named, extra } = splitAttributes(input.attributes, ['givenName', 'sn', 'displayName', 'department', 'title', 'description', 'mail', 'mailNickname', 'proxyAddresses', 'targetAddress']);
    const description = single(named, 'description') ?? createdByStamp(ctx.reference);
    const displayName = single(named, 'displayName') ?? input.cn;
    const mail = single(named, 'mail');
    const proxyAddresses = multi(named, 'proxyAddresses');
    const id: Identity = {
      what: `the user ${quoted(displayName)}`,
      dn: input.dn,
      parentDn: input.parentDn,
      kind: 'user',
      samAccountName: input.samAccountName,
      userPrincipalName: input.userPrincipalName,
      ...(single(named, 'mailNickname') !== undefined ? { alias: single(named, 'mailNickname') } : {}),
      addresses: [...(mail ? [mail] : []), ...smtpAddresses(proxyAddresses ?? [])],
      description,
      reference: ctx.reference,
    };
    const found = await look(this.directory, id);
    if (found.found === 'ours') return this.#existingUser(found, input, ctx);

    const entry = INITIAL_PASSWORD_ENTRY;
    const givenName = single(named, 'givenName');
    const sn = single(named, 'sn');
    const password = await this.directory.generatePassword({ samAccountName: input.samAccountName, displayName, ...(givenName ? { givenName } : {}), ...(sn ? { sn } : {}) });
    // Kept before AD has the account: a crash after the create must not leave an enabled account whose password nobody has.
    if (input.accountEnabled) await this.#keep(ctx, entry, password, 'nothing was created in AD');
    const user: NewUser = {
      parentDn: input.parentDn,
      cn: input.cn,
      samAccountName: input.samAccountName,
      userPrincipalName: input.userPrincipalName,
      displayName,
      description,
      ...(givenName !== undefined ? { givenName } : {}),
      ...(sn !== undefined ? { sn } : {}),
      ...(single(named, 'department') !== undefined ? { department: single(named, 'department') } : {}),
      ...(single(named, 'title') !== undefined ? { title: single(named, 'title') } : {}),
      ...(mail !== undefined ? { mail } : {}),
      ...(single(named, 'mailNickname') !== undefined ? { mailNickname: single(named, 'mailNickname') } : {}),
      ...(proxyAddresses !== undefined ? { proxyAddresses } : {}),
      ...(single(named, 'targetAddress') !== undefined ? { targetAddress: single(named, 'targetAddress') } : {}),
      extra,
      enabled: input.accountEnabled,
      password,
      mustChangePassword: input.mustChangePassword,
    };
    let created: CreatedObject;
    try {
      created = await this.directory.createUser(user);
    } catch (err) {
      // Nothing was created: the stored password belongs to no account.
      if (input.accountEnabled && isDirectoryFailure(err) && err.outcome === 'unchanged') await this.#discard(ctx, entry);
      if (isDirectoryFailure(err) && err.kind === 'already-exists') {
        // Someone took the name between the look and the create: say who (or find it is ours after all).
        const again = await look(this.directory, id);
        if (again.found === 'ours') return this.#existingUser(again, input, ctx);
      }
      throw err;
    }
    const result: StepResult = {
      dn: created.dn,
      objectGuid: created.objectGuid,
      samAccountName: input.samAccountName,
      userPrincipalName: input.userPrincipalName,
      accountEnabled: input.accountEnabled,
      mustChangeAtSignIn: input.mustChangePassword,
      // What a roll back needs: this step made the object, and the stamp it carries.
      created: true,
      stamp: description,
      attributes: writtenValues({
        ...input.attributes,
        cn: input.cn,
        sAMAccountName: input.samAccountName,
        userPrincipalName: input.userPrincipalName,
        displayName,
        description,
        userAccountControl: input.accountEnabled ? 512 : 514,
      }),
    };
    if (input.accountEnabled) result.vaultEntry = entry;
    ctx.log.info('ad: created the user', { dn: created.dn, objectGuid: created.objectGuid, reference: ctx.reference, accountEnabled: input.accountEnabled });
    return { kind: 'done', changed: true, result };
  }

  /** The user exists and is ours: finish what a crashed attempt left half done, else report it. */
  async #existingUser(found: Extract<Look, { found: 'ours' }>, input: StepInputs['ad.createUser'], ctx: StepContext): Promise<StepOutcome> {
    const o = found.object;
    const result: StepResult = { ...facts(o), accountEnabled: input.accountEnabled, mustChangeAtSignIn: input.mustChangePassword, ...createdBy(o, ctx) };
    if (found.moved) result.plannedDn = input.dn;
    let changed = false;
    if (input.accountEnabled && o.enabled === false) {
      // The add happened but the password and enabling did not (connection lost mid-create): do them now with a new
      // password, stored first. DirectoryClient enables only after the password was set, so an enabled account
      // of ours already has the password a previous attempt stored.
      const entry = INITIAL_PASSWORD_ENTRY;
      const password = await this.directory.generatePassword({
        samAccountName: input.samAccountName,
        displayName: o.displayName ?? input.cn,
        ...(o.givenName !== undefined ? { givenName: o.givenName } : {}),
        ...(o.sn !== undefined ? { sn: o.sn } : {}),
      });
      await this.#keep(ctx, entry, password, `the account ${o.dn} exists but is still disabled and has no password Mailroom knows`);
      await this.directory.setPassword(o.dn, password, { mustChange: input.mustChangePassword });
      await this.directory.enableAccount(o.dn);
      result.completed = 'new first password generated and set, account enabled';
      changed = true;
      ctx.log.info('ad: completed a half-created user', { dn: o.dn, objectGuid: o.objectGuid, reference: ctx.reference });
    } else if (!input.accountEnabled && o.enabled === true) {
      await this.directory.disableAccount(o.dn);
      result.completed = 'account disabled';
      changed = true;
    }
    if (input.accountEnabled) result.vaultEntry = INITIAL_PASSWORD_ENTRY;
    if (!changed) ctx.log.info('ad: the user already exists (created by this step before)', { dn: o.dn, objectGuid: o.objectGuid, reference: ctx.reference });
    return { kind: 'done', changed, result };
  }

  async #keep(ctx: StepContext, entry: string, password: Secret, unchanged: string): Promise<void> {
    try {
      await this.deps.vault.put(ctx.requestId, entry, password.reveal());
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new StepError(`Mailroom could not keep the new password for the requester (${why}); ${unchanged}. Mailroom will try again.`, true, undefined, { vault: 'put failed' });
    }
  }

  async #discard(ctx: StepContext, entry: string): Promise<void> {
    try {
      await this.deps.vault.takeOnce(ctx.requestId, entry);
    } catch (err) {
      ctx.log.warn('ad: could not discard an unused password from the vault', { entry, error: err instanceof Error ? err.message : String(err) });
    }
  }

  // ---- ad.createContact -----------------------------------------------------------------------------------------

  async createContact(input: StepInputs['ad.createContact'], ctx: StepContext): Promise<StepOutcome> {
    const { named, extra } = splitAttributes(input.attributes, ['displayName', 'givenName', 'sn', 'description', 'mail', 'mailNickname', 'proxyAddresses', 'targetAddress']);
    const description = single(named, 'description') ?? createdByStamp(ctx.reference);
    const displayName = single(named, 'displayName');
    const mail = single(named, 'mail');
    const proxyAddresses = multi(named, 'proxyAddresses');
    const alias = single(named, 'mailNickname');
    const id: Identity = {
      what: `the contact ${quoted(displayName ?? input.cn)}`,
      dn: input.dn,
      parentDn: input.parentDn,
      kind: 'contact',
      ...(alias !== undefined ? { alias } : {}),
      addresses: [...(mail ? [mail] : []), ...smtpAddresses(proxyAddresses ?? [])],
      description,
      reference: ctx.reference,
    };
    const contact: NewContact = {
      parentDn: input.parentDn,
      cn: input.cn,
      description,
      ...(displayName !== undefined ? { displayName } : {}),
      ...(single(named, 'givenName') !== undefined ? { givenName: single(named, 'givenName') } : {}),
      ...(single(named, 'sn') !== undefined ? { sn: single(named, 'sn') } : {}),
      ...(mail !== undefined ? { mail } : {}),
      ...(alias !== undefined ? { mailNickname: alias } : {}),
      ...(proxyAddresses !== undefined ? { proxyAddresses } : {}),
      ...(single(named, 'targetAddress') !== undefined ? { targetAddress: single(named, 'targetAddress') } : {}),
      extra,
    };
    return this.#createOnce(id, ctx, () => this.directory.createContact(contact), { ...input.attributes, cn: input.cn, description });
  }

  // ---- ad.createGroup -------------------------------------------------------------------------------------------

  async createGroup(input: StepInputs['ad.createGroup'], ctx: StepContext): Promise<StepOutcome> {
    const { named, extra } = splitAttributes(input.attributes, ['displayName', 'description', 'mail', 'mailNickname', 'proxyAddresses']);
    const wantType = (input.scope === 'global' ? 0x2 : 0x8) | (input.securityEnabled ? 0x80000000 : 0) | 0;
    if (wantType !== (input.groupType | 0)) {
      throw badPlan(`The plan's groupType ${input.groupType} does not match a ${input.scope} ${input.securityEnabled ? 'security' : 'distribution'} group (${wantType}).`);
    }
    const description = single(named, 'description') ?? createdByStamp(ctx.reference);
    const displayName = single(named, 'displayName');
    const mail = single(named, 'mail');
    const proxyAddresses = multi(named, 'proxyAddresses');
    const alias = single(named, 'mailNickname');
    const id: Identity = {
      what: `the group ${quoted(displayName ?? input.cn)}`,
      dn: input.dn,
      parentDn: input.parentDn,
      kind: 'group',
      samAccountName: input.samAccountName,
      ...(alias !== undefined ? { alias } : {}),
      addresses: [...(mail ? [mail] : []), ...smtpAddresses(proxyAddresses ?? [])],
      description,
      reference: ctx.reference,
    };
    const group: NewGroup = {
      parentDn: input.parentDn,
      cn: input.cn,
      samAccountName: input.samAccountName,
      scope: input.scope,
      securityEnabled: input.securityEnabled,
      description,
      ...(displayName !== undefined ? { displayName } : {}),
      ...(mail !== undefined ? { mail } : {}),
      ...(alias !== undefined ? { mailNickname: alias } : {}),
      ...(proxyAddresses !== undefined ? { proxyAddresses } : {}),
      members: input.memberDns,
      extra,
    };
    const written = { ...input.attributes, cn: input.cn, sAMAccountName: input.samAccountName, groupType: wantType, description, member: input.memberDns };
    return this.#createOnce(id, ctx, () => this.directory.createGroup(group), written, async (o) => {
      // The members were written in the same add; if someone removed one since, put it back.
      if (input.memberDns.length === 0) return {};
      const change = await this.directory.addGroupMembers(o.dn, input.memberDns);
      return change.changed.length ? { membersAdded: [...change.changed] } : {};
    });
  }

  /** Look, create if absent, report: contacts and groups (one LDAP add each, so nothing can be half-created). */
  async #createOnce(
    id: Identity,
    ctx: StepContext,
    create: () => Promise<CreatedObject>,
    written: Readonly<Record<string, AttributeValue | undefined>>,
    converge?: (o: DirectoryObject) => Promise<StepResult>,
  ): Promise<StepOutcome> {
    let found = await look(this.directory, id);
    if (found.found === 'absent') {
      try {
        const created = await create();
        ctx.log.info(`ad: created ${id.what}`, { dn: created.dn, objectGuid: created.objectGuid, reference: ctx.reference });
        return {
          kind: 'done',
          changed: true,
          result: { dn: created.dn, objectGuid: created.objectGuid, objectClass: id.kind, created: true, stamp: id.description, attributes: writtenValues(written) },
        };
      } catch (err) {
        // Someone took the name between the look and the create: say who (or find it is ours after all).
        if (!(isDirectoryFailure(err) && err.kind === 'already-exists')) throw err;
        found = await look(this.directory, id);
        if (found.found === 'absent') throw err;
      }
    }
    const o = found.object;
    const extra = converge ? await converge(o) : {};
    const changed = Object.keys(extra).length > 0;
    const result: StepResult = { ...facts(o), ...createdBy(o, ctx), ...extra };
    if (found.moved) result.plannedDn = id.dn;
    ctx.log.info(`ad: ${id.what} already exists (created by this step before)`, { dn: o.dn, objectGuid: o.objectGuid, reference: ctx.reference, changed });
    return { kind: 'done', changed, result };
  }

  // ---- ad.setAttributes -----------------------------------------------------------------------------------------

  async setAttributes(input: StepInputs['ad.setAttributes'], ctx: StepContext): Promise<StepOutcome> {
    const o = await this.directory.get(input.dn);
    if (!o) throw missing(input.dn, 'the object');
    for (const part of [input.replace, input.add, input.remove, input.replaceIfPresent]) {
      for (const key of Object.keys(part ?? {})) {
        const k = key.toLowerCase();
        if (k === 'unicodepwd' || k === 'userpassword' || k === 'objectclass') throw badPlan(`The plan changes '${key}' with ad.setAttributes, which Mailroom never does.`);
      }
    }
    const replace: Record<string, string[]> = {};
    const changes: Record<string, { before: string[]; after: string[] }> = {};
    const unchanged: string[] = [];
    const unread: string[] = [];
    const skipped: string[] = [];
    const consider = (attribute: string, value: string | readonly string[], onlyIfPresent: boolean): void => {
      const want = list(value);
      const current = readable(o, attribute);
      if (current === undefined) {
        if (onlyIfPresent) throw badPlan(`The plan changes '${attribute}' only if it has a value, but Mailroom cannot read that attribute.`);
        // Not readable through the port: replacing with the same values is harmless, so write it.
        replace[attribute] = want;
        unread.push(attribute);
        return;
      }
      if (onlyIfPresent && current.length === 0) {
        skipped.push(attribute);
        return;
      }
      if (sameValues(attribute, current, want)) {
        unchanged.push(attribute);
        return;
      }
      replace[attribute] = want;
      changes[attribute] = { before: current, after: want };
    };
    for (const [a, v] of Object.entries(input.replace ?? {})) consider(a, v, false);
    for (const [a, v] of Object.entries(input.replaceIfPresent ?? {})) consider(a, v, true);
    if (Object.keys(replace).length) await this.directory.setAttributes(o.dn, replace);

    const added: Record<string, string[]> = {};
    const removed: Record<string, string[]> = {};
    for (const [a, v] of Object.entries(input.add ?? {})) {
      const change = await this.directory.addValues(o.dn, a, list(v));
      if (change.changed.length) added[a] = [...change.changed];
      else unchanged.push(a);
    }
    for (const [a, v] of Object.entries(input.remove ?? {})) {
      const change = await this.directory.removeValues(o.dn, a, list(v));
      if (change.changed.length) removed[a] = [...change.changed];
      else unchanged.push(a);
    }
    const changed = Object.keys(replace).length > 0 || Object.keys(added).length > 0 || Object.keys(removed).length > 0;
    const result: StepResult = { ...facts(o) };
    if (Object.keys(changes).length) result.changes = changes;
    if (unread.length) result.written = Object.fromEntries(unread.map((a) => [a, replace[a] ?? []]));
    if (Object.keys(added).length) result.added = added;
    if (Object.keys(removed).length) result.removed = removed;
    if (unchanged.length) result.unchanged = [...new Set(unchanged)];
    if (skipped.length) result.skippedNoValue = skipped;
    ctx.log.info('ad: attributes', { dn: o.dn, reference: ctx.reference, changed, attributes: [...Object.keys(replace), ...Object.keys(added), ...Object.keys(removed)] });
    return { kind: 'done', changed, result };
  }

  // ---- ad.setPrimaryAddress -------------------------------------------------------------------------------------

  async setPrimaryAddress(input: StepInputs['ad.setPrimaryAddress'], ctx: StepContext): Promise<StepOutcome> {
    const o = await this.directory.get(input.dn);
    if (!o) throw missing(input.dn, 'the object');
    const change: Record<string, string | string[]> = {};
    const result: StepResult = { ...facts(o) };
    if (o.mail !== input.mail) {
      change.mail = input.mail;
      result.mail = { before: o.mail ?? null, after: input.mail };
    }
    if (input.rewriteProxyAddresses) {
      const before = [...o.proxyAddresses];
      const after = withPrimary(before, input.mail, input.previous);
      if (!sameList(before, after)) {
        change.proxyAddresses = after;
        result.proxyAddresses = {
          added: after.filter((v) => !before.includes(v)),
          removed: before.filter((v) => !after.includes(v)),
        };
      }
    }
    if (o.mail !== undefined && !sameText(o.mail, input.previous) && !sameText(o.mail, input.mail)) {
      // Changed in AD since the plan was made; the address it had is kept as a secondary one all the same.
      result.mailWasNotPrevious = o.mail;
    }
    const changed = Object.keys(change).length > 0;
    // One modify: mail and proxyAddresses change together or not at all.
    if (changed) await this.directory.setAttributes(o.dn, change);
    ctx.log.info('ad: primary address', { dn: o.dn, reference: ctx.reference, changed, mail: input.mail });
    return { kind: 'done', changed, result };
  }

  // ---- ad.disableAccount ----------------------------------------------------------------------------------------

  async disableAccount(input: StepInputs['ad.disableAccount'], ctx: StepContext): Promise<StepOutcome> {
    const o = await this.directory.get(input.dn);
    if (!o) throw missing(input.dn, 'the account');
    const { changed } = await this.directory.disableAccount(o.dn);
    ctx.log.info('ad: disabled the account', { dn: o.dn, reference: ctx.reference, changed });
    return { kind: 'done', changed, result: { ...facts(o), enabled: false } };
  }

  // ---- ad.addGroupMember / ad.removeGroupMember ----------------------------------------------------------------

  async groupMember(input: StepInputs['ad.addGroupMember'], ctx: StepContext, add: boolean): Promise<StepOutcome> {
    const change = add
      ? await this.directory.addGroupMembers(input.groupDn, [input.memberDn])
      : await this.directory.removeGroupMembers(input.groupDn, [input.memberDn]);
    const changed = change.changed.length > 0;
    ctx.log.info(add ? 'ad: group member added' : 'ad: group member removed', { groupDn: input.groupDn, memberDn: input.memberDn, reference: ctx.reference, changed });
    return { kind: 'done', changed, result: { groupDn: input.groupDn, memberDn: input.memberDn, member: add, ...(add ? { added: changed } : { removed: changed }) } };
  }

  // ---- ad.deleteObject (roll back) ------------------------------------------------------------------------------

  async deleteObject(input: StepInputs['ad.deleteObject'], ctx: StepContext): Promise<StepOutcome> {
    if (!input.expectStamp) throw badPlan(`The plan deletes '${input.dn}' without the stamp that proves Mailroom created it.`);
    const o = await this.directory.get(input.dn);
    if (!o) {
      ctx.log.info('ad: the object to delete is gone already', { dn: input.dn, reference: ctx.reference });
      return { kind: 'done', changed: false, result: { dn: input.dn, deleted: false, absent: true } };
    }
    const problems: string[] = [];
    if (o.description !== input.expectStamp) {
      problems.push(o.description ? `its description is ${quoted(o.description)}, not ${quoted(input.expectStamp)}` : `it has no description, so not ${quoted(input.expectStamp)}`);
    }
    if (input.objectGuid && o.objectGuid && o.objectGuid.toLowerCase() !== input.objectGuid.toLowerCase()) {
      problems.push(`its objectGUID is ${o.objectGuid}, not ${input.objectGuid} (the object Mailroom created)`);
    }
    if (input.objectClass && o.objectClass !== input.objectClass) problems.push(`it is ${KIND_WORDS[o.objectClass]}, not ${KIND_WORDS[input.objectClass]}`);
    if (problems.length) {
      throw new StepError(
        `Mailroom did not delete ${describeObject(o)}: ${problems.join('; ')}. It may have been changed or replaced since ${ctx.reference} created it; nothing was deleted. ` +
          'Check the object in AD: delete it by hand if it is the one to go (then press Retry), or leave it.',
        false,
        undefined,
        { dn: o.dn, objectGuid: o.objectGuid, expectedGuid: input.objectGuid ?? null, description: o.description ?? null },
      );
    }
    const outcome = await this.directory.delete(o.dn);
    ctx.log.info('ad: deleted the object this request created', { dn: o.dn, objectGuid: o.objectGuid, reference: ctx.reference, outcome });
    return { kind: 'done', changed: outcome === 'deleted', result: { dn: o.dn, objectGuid: o.objectGuid, objectClass: o.objectClass, deleted: outcome === 'deleted', ...(outcome === 'absent' ? { absent: true } : {}) } };
  }
}

/** Whether an object found by a re-run is provably this request's own: it carries the request's own stamp. */
function createdBy(o: DirectoryObject, ctx: StepContext): StepResult {
  const stamp = o.description ?? '';
  return { created: stamp === createdByStamp(ctx.reference), stamp };
}

/** Current values of an attribute the port can read, or undefined when it cannot read it. */
function readable(o: DirectoryObject, attribute: string): string[] | undefined {
  const one = (v: string | number | undefined): string[] => (v === undefined || v === '' ? [] : [String(v)]);
  switch (attribute.toLowerCase()) {
    case 'cn': return one(o.cn);
    case 'samaccountname': return one(o.samAccountName);
    case 'userprincipalname': return one(o.userPrincipalName);
    case 'mail': return one(o.mail);
    case 'mailnickname': return one(o.mailNickname);
    case 'proxyaddresses': return [...o.proxyAddresses];
    case 'targetaddress': return one(o.targetAddress);
    case 'displayname': return one(o.displayName);
    case 'givenname': return one(o.givenName);
    case 'sn': return one(o.sn);
    case 'department': return one(o.department);
    case 'title': return one(o.title);
    case 'description': return one(o.description);
    case 'useraccountcontrol': return one(o.userAccountControl);
    case 'grouptype': return one(o.groupType);
    case 'msexchhidefromaddresslists': return o.hiddenFromAddressLists === undefined ? [] : [o.hiddenFromAddressLists ? 'TRUE' : 'FALSE'];
    case 'msexchrecipienttypedetails': return one(o.recipientTypeDetails);
    default: return undefined;
  }
}

/** Whether the current values already are the wanted ones: exact (a case change is written), except booleans and numbers. */
function sameValues(attribute: string, current: readonly string[], want: readonly string[]): boolean {
  const a = attribute.toLowerCase();
  if (a === 'msexchhidefromaddresslists') return sameList(current.map((v) => v.toUpperCase()), want.map((v) => v.toUpperCase()));
  if (a === 'useraccountcontrol' || a === 'grouptype') return sameList(current.map((v) => String(Number(v) | 0)), want.map((v) => String(Number(v) | 0)));
  return sameList(current, want);
}

/**
 * proxyAddresses with `SMTP:<mail>` as the only primary: the old primary (and `previous`) kept as `smtp:`
 * secondaries, an existing secondary equal to the new address dropped (it becomes the primary), other prefixes
 * (x500:, sip: …) untouched. Addresses compare case-insensitively, as AD does, so the list never holds one twice.
 */
export function withPrimary(current: readonly string[], mail: string, previous: string): string[] {
  const out: string[] = [`SMTP:${mail}`];
  const hasSmtp = (address: string): boolean => out.some((v) => /^smtp:/i.test(v) && sameText(v.slice(5), address));
  for (const v of current) {
    const m = /^smtp:(.+)$/i.exec(v);
    if (!m?.[1]) {
      if (!out.some((x) => sameText(x, v))) out.push(v);
      continue;
    }
    if (!hasSmtp(m[1])) out.push(`smtp:${m[1]}`);
  }
  if (previous && !hasSmtp(previous)) out.push(`smtp:${previous}`);
  return out;
}

function executor<A extends AdAction>(action: A, doing: string, body: (input: StepInputs[A], ctx: StepContext) => Promise<StepOutcome>): StepExecutor<A> {
  return {
    action,
    async run(input: StepInputs[A], ctx: StepContext): Promise<StepOutcome> {
      try {
        return await body(input, ctx);
      } catch (err) {
        throw toStepError(err, doing);
      }
    },
  };
}

/** The executors of every `ad.*` action. */
export function adExecutors(deps: AdExecutorDeps): StepExecutor[] {
  const ad = new AdExecutors(deps);
  const all = [
    executor('ad.createUser', 'create the AD user', (i, c) => ad.createUser(i, c)),
    executor('ad.createContact', 'create the AD contact', (i, c) => ad.createContact(i, c)),
    executor('ad.createGroup', 'create the AD group', (i, c) => ad.createGroup(i, c)),
    executor('ad.setAttributes', 'change the AD object', (i, c) => ad.setAttributes(i, c)),
    executor('ad.setPrimaryAddress', 'set the primary address in AD', (i, c) => ad.setPrimaryAddress(i, c)),
    executor('ad.disableAccount', 'disable the AD account', (i, c) => ad.disableAccount(i, c)),
    executor('ad.addGroupMember', 'add the group member in AD', (i, c) => ad.groupMember(i, c, true)),
    executor('ad.removeGroupMember', 'remove the group member in AD', (i, c) => ad.groupMember(i, c, false)),
    executor('ad.deleteObject', 'delete the AD object', (i, c) => ad.deleteObject(i, c)),
  ] as const;
  return [...all] as StepExecutor[];
}
