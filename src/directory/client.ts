/**
 * DirectoryClient: Mailroom's only door to Active Directory, and the operations it offers: look-ups (get,
 * findByIdentity, whoHas), creating users, contacts, groups and OUs, changing values, members, accounts and
 * passwords, deleting. Its connections (LDAPS with the CA verified, a pool, reconnect-and-retry-once) are
 * connection.ts; every DN is built and compared through dn.ts, every filter built from ldapts' filter classes,
 * every error mapped to a DirectoryError.
 *
 * Every operation is idempotent-friendly: callers look first (findByIdentity, whoHas, get), then act; value and
 * membership changes compute the difference themselves, so repeating them changes nothing.
 */
import { debuglog, inspect } from 'node:util';
import { Attribute, Change, Control, type Entry, type Filter } from 'ldapts';
import { encodeUnicodePwd, guidToBuffer, guidToString, isGuidText, UAC, UAC_DISABLED, UAC_ENABLED } from './attributes';
import { DirectoryConnection, type DirectoryClientOptions, type Session } from './connection';
import * as dn from './dn';
import { first, int, kindOf, OBJECT_ATTRIBUTES, replace, text, toAttributes, toObject, values, buffer, type Values } from './entries';
import { configurationError, DirectoryError, toDirectoryError, type OperationContext } from './errors';
import { and, eq, or } from './filter';
import { DOMAIN_PASSWORD_COMPLEX, generatePassword, revealPassword, type PasswordPolicy, type Secret } from './password';
import type {
  AttributeValue,
  CreatedObject,
  DirectoryObject,
  NewContact,
  NewGroup,
  NewObject,
  NewUser,
  ValuesChange,
  WhoHasField,
  WhoHasMatch,
  WhoHasQuery,
} from './types';

const USER_CLASSES = ['top', 'person', 'organizationalPerson', 'user'];
const CONTACT_CLASSES = ['top', 'person', 'organizationalPerson', 'contact'];
const GROUP_CLASSES = ['top', 'group'];
const OU_CLASSES = ['top', 'organizationalUnit'];
const TREE_DELETE_OID = '1.2.840.113556.1.4.805';
const SAM_INVALID = /["/\\[\]:;|=,+*?<>]/;
const SAM_MAX = 20;
/** Attributes whose values are DNs: compared parsed. */
const DN_ATTRIBUTES = new Set(['member', 'memberof', 'manager', 'directreports', 'showinaddressbook', 'managedby', 'publicdelegates']);

/**
 * The attributes DirectoryClient writes itself, besides the caller's, per operation: `add` in the one LDAP add that
 * creates the object (AD checks only Create child on the parent for it, never Write property per attribute), `modify`
 * afterwards (each needs Write property on the object; unicodePwd the Reset Password right instead). The AD rights
 * model (src/doctor/ad-rights.ts) is built from these through src/workflow/executors/ad-writes.ts.
 */
export const DIRECTORY_WRITES = {
  createUser: { add: ['objectClass', 'cn', 'sAMAccountName', 'userPrincipalName', 'userAccountControl'], modify: ['unicodePwd', 'pwdLastSet', 'userAccountControl'] },
  createContact: { add: ['objectClass', 'cn'], modify: [] },
  createGroup: { add: ['objectClass', 'cn', 'sAMAccountName', 'groupType', 'member'], modify: [] },
  setPassword: { add: [], modify: ['unicodePwd', 'pwdLastSet'] },
  enableAccount: { add: [], modify: ['userAccountControl'] },
  disableAccount: { add: [], modify: ['userAccountControl'] },
  addGroupMembers: { add: [], modify: ['member'] },
  removeGroupMembers: { add: [], modify: ['member'] },
} as const satisfies Record<string, { readonly add: readonly string[]; readonly modify: readonly string[] }>;

/** Case-insensitive, accent-sensitive equality (AD's matching for the names and addresses Mailroom compares). */
function sameText(a: string, b: string): boolean {
  return a === b || a.localeCompare(b, 'en', { sensitivity: 'accent' }) === 0;
}

/** Whether two values of an attribute are the same value for AD: DNs compared parsed, other values as AD compares text. */
function sameValue(attribute: string, a: string, b: string): boolean {
  return DN_ATTRIBUTES.has(attribute.toLowerCase()) ? dn.equal(a, b) : sameText(a, b);
}

/** Windows' sAMAccountName rules (Samba accepts more). */
function checkSamAccountName(sam: string, unchanged: string): void {
  const problem =
    sam.length === 0
      ? 'is empty'
      : sam.length > SAM_MAX
        ? `is ${sam.length} characters long; Windows AD allows at most ${SAM_MAX}`
        : SAM_INVALID.test(sam)
          ? `contains '${SAM_INVALID.exec(sam)?.[0] ?? ''}', which AD does not allow (none of " / \\ [ ] : ; | = , + * ? < >)`
          : /^[\s.]+$/.test(sam) || sam.endsWith('.')
            ? 'may not end with a period or consist only of spaces and periods'
            : undefined;
  if (problem) {
    throw new DirectoryError({ code: 19, kind: 'constraint', transient: false, outcome: 'unchanged', message: `The sAMAccountName '${sam}' ${problem}; ${unchanged}.` });
  }
}

function quoted(value: string): string {
  return `'${value}'`;
}

/** The prefix of a proxyAddresses value (`smtp`, `x500` …) and the rest. */
function splitPrefixed(value: string): { prefix: string; address: string } | undefined {
  const m = /^([A-Za-z0-9]{1,9}):(.+)$/.exec(value);
  return m ? { prefix: m[1]!, address: m[2]! } : undefined;
}

export class DirectoryClient {
  readonly #ldap: DirectoryConnection;
  #policy: Promise<PasswordPolicy> | undefined;

  constructor(options: DirectoryClientOptions) {
    this.#ldap = new DirectoryConnection(options);
  }

  /** The DC's URL (`ldaps://host:port`). */
  get url(): string {
    return this.#ldap.url;
  }

  /** The service account. */
  get bindDn(): string {
    return this.#ldap.bindDn;
  }

  /** Pool counters: connections idle, busy, being opened, callers waiting, opened so far. */
  get stats(): DirectoryConnection['stats'] {
    return this.#ldap.stats;
  }

  toJSON(): Record<string, unknown> {
    return { url: this.url, bindDn: this.bindDn };
  }

  [inspect.custom](): string {
    return `DirectoryClient(${this.url} as ${this.bindDn})`;
  }

  /** Close every connection (waits for operations in flight). Later calls fail with kind `closed`. */
  async close(): Promise<void> {
    await this.#ldap.close();
  }

  /** The domain's DN (configured, or the DC's defaultNamingContext). */
  async baseDn(): Promise<string> {
    return this.#ldap.session((s) => this.#ldap.base(s));
  }

  // ---- lookups ------------------------------------------------------------------------------------------------

  /** The object at a DN, or null. */
  async get(dnString: string): Promise<DirectoryObject | null> {
    dn.parse(dnString);
    const entry = await this.#ldap.session((s) => this.#ldap.read(s, dnString, OBJECT_ATTRIBUTES));
    return entry ? toObject(entry) : null;
  }

  /**
   * The user, contact or group an identity names: a DN, an objectGUID, or a value of sAMAccountName,
   * userPrincipalName, mail, mailNickname or proxyAddresses (with or without `smtp:`; AD compares case-insensitively).
   * Null if none; a DirectoryError of kind `ambiguous` if several objects match.
   */
  async findByIdentity(identity: string): Promise<DirectoryObject | null> {
    const id = identity.trim();
    if (!id) throw configurationError('An empty identity cannot be looked up in Active Directory.');
    const ctx: OperationContext = { action: 'read', target: `the identity '${id}'` };
    return this.#ldap.session(async (s) => {
      const base = await this.#ldap.base(s);
      if (isGuidText(id)) {
        const found = await this.#ldap.search(s, base, eq('objectGUID', guidToBuffer(id)), OBJECT_ATTRIBUTES, ctx);
        return found[0] ? toObject(found[0]) : null;
      }
      if (dn.looksLikeDn(id)) {
        const entry = await this.#ldap.read(s, id, OBJECT_ATTRIBUTES);
        if (entry) return toObject(entry);
      }
      const alternatives: Filter[] = [
        eq('sAMAccountName', id),
        eq('userPrincipalName', id),
        eq('mail', id),
        eq('mailNickname', id),
        eq('proxyAddresses', `smtp:${id}`),
      ];
      const prefixed = splitPrefixed(id);
      if (prefixed) {
        alternatives.push(eq('proxyAddresses', id));
        if (prefixed.prefix.toLowerCase() === 'smtp') alternatives.push(eq('mail', prefixed.address));
      }
      const filter = and(or(eq('objectCategory', 'person'), eq('objectCategory', 'group')), or(...alternatives));
      const found = await this.#ldap.search(s, base, filter, OBJECT_ATTRIBUTES, ctx);
      if (found.length > 1) {
        const names = found.slice(0, 5).map((e) => first(e, 'displayName') ?? first(e, 'cn') ?? e.dn);
        throw new DirectoryError({
          code: 0,
          kind: 'ambiguous',
          transient: false,
          outcome: 'unchanged',
          message: `'${id}' names ${found.length} objects in Active Directory (${names.join('; ')}); nothing was changed. Use an identity that names one object, such as its sAMAccountName or DN.`,
        });
      }
      return found[0] ? toObject(found[0]) : null;
    });
  }

  /**
   * The AD half of a uniqueness check: every object (of any class) that already holds one of the given values.
   * sAMAccountName, userPrincipalName, mailNickname, mail and addresses compare case-insensitively, as AD does.
   */
  async whoHas(query: WhoHasQuery): Promise<WhoHasMatch[]> {
    const wanted: { field: WhoHasField; attribute: string; value: string; compare: string }[] = [];
    const add = (field: WhoHasField, attribute: string, value: string, compare = value): void => {
      wanted.push({ field, attribute, value, compare });
    };
    if (query.samAccountName?.trim()) add('samAccountName', 'sAMAccountName', query.samAccountName.trim());
    if (query.userPrincipalName?.trim()) add('userPrincipalName', 'userPrincipalName', query.userPrincipalName.trim());
    if (query.alias?.trim()) add('alias', 'mailNickname', query.alias.trim());
    const addresses = new Set<string>();
    for (const raw of [query.address, ...(query.addresses ?? [])].map((a) => a?.trim())) {
      if (!raw) continue;
      const p = splitPrefixed(raw);
      addresses.add(p && p.prefix.toLowerCase() === 'smtp' ? p.address : raw);
    }
    for (const address of addresses) {
      add('address', 'mail', address);
      add('address', 'proxyAddresses', `smtp:${address}`);
      add('address', 'userPrincipalName', address);
      add('address', 'targetAddress', `smtp:${address}`);
    }
    if (query.dn?.trim()) {
      dn.parse(query.dn.trim());
      add('dn', 'distinguishedName', query.dn.trim());
    }
    if (wanted.length === 0) return [];
    const filter = or(...wanted.map((w) => eq(w.attribute, w.compare)));
    const entries = await this.#ldap.session(async (s) =>
      this.#ldap.search(s, await this.#ldap.base(s), filter, ['objectClass', 'cn', 'displayName', 'sAMAccountName', 'userPrincipalName', 'mail', 'mailNickname', 'proxyAddresses', 'targetAddress'], {
        action: 'read',
        target: 'the directory',
      }),
    );
    return entries.map((e) => {
      const matches: WhoHasMatch['matches'][number][] = [];
      for (const w of wanted) {
        // a DN is compared parsed (AD escapes its own way); the entry's own DN is the value
        if (w.field === 'dn') {
          if (dn.equal(e.dn, w.compare)) matches.push({ field: w.field, attribute: w.attribute, value: e.dn });
          continue;
        }
        for (const v of values(e, w.attribute)) {
          if (sameText(v, w.compare)) matches.push({ field: w.field, attribute: w.attribute, value: v });
        }
      }
      return {
        where: 'ad' as const,
        name: first(e, 'displayName') ?? first(e, 'cn') ?? e.dn,
        dn: e.dn,
        objectClass: kindOf(values(e, 'objectClass')),
        matches,
      };
    });
  }

  /** All members (DNs) of a group; null if the group does not exist. */
  async groupMembers(groupDn: string): Promise<string[] | null> {
    return this.#ldap.session((s) => this.#ldap.readAll(s, groupDn, 'member'));
  }

  /** The DNs of the groups an object is a direct member of (its memberOf back-link); null if the object does not exist. */
  async memberOf(dnString: string): Promise<string[] | null> {
    dn.parse(dnString);
    return this.#ldap.session((s) => this.#ldap.readAll(s, dnString, 'memberOf'));
  }

  /**
   * The version of Exchange's schema extension in this forest (the `rangeUpper` of `ms-Exch-Schema-Version-Pt`, which
   * Exchange's /PrepareSchema adds and every later version raises); null when the schema was never prepared for
   * Exchange, so AD has no msExch* attributes Mailroom could write.
   */
  async exchangeSchemaVersion(): Promise<number | null> {
    return this.#ldap.session(async (s) => {
      const root = await this.#ldap.read(s, '', ['schemaNamingContext'], { action: 'read', target: "the domain controller's root entry" });
      const schema = root ? first(root, 'schemaNamingContext') : undefined;
      if (!schema) return null;
      const pt = await this.#ldap.read(s, `CN=ms-Exch-Schema-Version-Pt,${schema}`, ['rangeUpper'], { action: 'read', target: "Exchange's schema version" });
      const version = pt ? int(first(pt, 'rangeUpper')) : undefined;
      return pt ? (version ?? 0) : null;
    });
  }

  /** The DN in an object's `manager`; null when it names none or the object does not exist. */
  async managerOf(dnString: string): Promise<string | null> {
    dn.parse(dnString);
    const values = await this.#ldap.session((s) => this.#ldap.readAll(s, dnString, 'manager'));
    return values?.[0] ?? null;
  }

  // ---- creating -------------------------------------------------------------------------------------------------

  /**
   * Create a user: added disabled (514) without a password, then the password set, then enabled (512) — the order
   * Windows AD requires. If a later step fails the new account is deleted again, so a failure leaves nothing behind
   * (or says precisely what it left: outcome `partial`).
   */
  async createUser(user: NewUser): Promise<CreatedObject> {
    const target = `the user '${nameOf(user)}' (${user.samAccountName})`;
    checkSamAccountName(user.samAccountName, 'nothing was created');
    if (user.enabled && user.password === undefined) {
      throw configurationError(`${target} is to be enabled but has no password; nothing was created. Give a password or create the account disabled.`);
    }
    if (user.password !== undefined) this.#checkPasswordSafeToSend();
    const own: Values = { objectClass: USER_CLASSES, sAMAccountName: user.samAccountName, userPrincipalName: user.userPrincipalName, userAccountControl: UAC_DISABLED };
    const mustChange = user.mustChangePassword === true;
    return this.#create(user, target, own, async (s, step) => {
      // enabling the account and "change the password at the next sign-in" are one modify: one write for AD, not two
      if (user.password !== undefined) await this.#writePassword(s, step, user.password, mustChange && !user.enabled);
      if (user.enabled) {
        const enable = [replace('userAccountControl', [String(UAC_ENABLED)]), ...(mustChange ? [replace('pwdLastSet', ['0'])] : [])];
        await s.op(this.#ldap.ctx(step), true, (c) => c.modify(step.dn, enable));
      }
    });
  }

  /** Create a contact (mail contact when `mail` is among its attributes). */
  async createContact(contact: NewContact): Promise<CreatedObject> {
    return this.#create(contact, `the contact '${nameOf(contact)}'`, { objectClass: CONTACT_CLASSES });
  }

  /** Create a group of the given groupType (global or universal, security or distribution) with its first members. */
  async createGroup(group: NewGroup): Promise<CreatedObject> {
    if (group.samAccountName !== undefined) checkSamAccountName(group.samAccountName, 'nothing was created');
    return this.#create(group, `the group '${nameOf(group)}'`, {
      objectClass: GROUP_CLASSES,
      sAMAccountName: group.samAccountName,
      groupType: group.groupType,
      member: (group.members ?? []).map((m) => dn.format(dn.parse(m))),
    });
  }

  /**
   * The one way Mailroom adds an object: one LDAP add of its attributes and those the method sets itself (`own`,
   * which win), then `finish` on the new entry (a user's password and enabling), then its DN as AD stores it and its
   * objectGUID read back. If `finish` fails, the new entry is deleted again.
   */
  async #create(object: NewObject, target: string, own: Values, finish?: (s: Session, step: OperationContext & { dn: string }) => Promise<void>): Promise<CreatedObject> {
    const newDn = dn.child(object.parentDn, dn.rdn('CN', object.cn));
    const attributes: Values = { ...object.attributes, cn: object.cn, ...own };
    const ctx: OperationContext = { action: 'create', target, dn: newDn, parentDn: object.parentDn, values: withoutClass(attributes) };
    return this.#ldap.session(async (s) => {
      await s.op(this.#ldap.ctx(ctx), false, (c) => c.add(newDn, toAttributes(attributes)));
      if (finish) {
        const step = { action: 'modify' as const, target, dn: newDn };
        try {
          await finish(s, step);
        } catch (err) {
          throw await this.#rollBack(s, step, err);
        }
      }
      return this.#readBack(s, newDn, ctx);
    });
  }

  async #readBack(s: Session, newDn: string, ctx: OperationContext): Promise<CreatedObject> {
    const partial = `${ctx.target ?? quoted(newDn)} was created, but Mailroom could not read it back; look it up before trying again`;
    const entry = await this.#ldap.read(s, newDn, ['objectGUID'], this.#ldap.ctx({ ...ctx, action: 'read', unchanged: partial, outcome: 'partial' }));
    const guid = entry ? buffer(entry, 'objectGUID') : undefined;
    if (!entry || !guid) {
      throw new DirectoryError({ code: 32, kind: 'no-such-object', transient: true, outcome: 'partial', message: `${partial}.`, dn: newDn });
    }
    return { dn: entry.dn, objectGuid: guidToString(guid) };
  }

  /** Delete an account this call just created (`step` failed on it); the error says whether that worked. */
  async #rollBack(s: Session, step: OperationContext & { dn: string }, err: unknown): Promise<DirectoryError> {
    const newDn = step.dn;
    const cause = err instanceof DirectoryError && err.cause !== undefined ? err.cause : err;
    try {
      await s.op(this.#ldap.ctx({ action: 'delete', dn: newDn, target: step.target }), true, (c) => c.del(newDn));
      this.#ldap.log?.info('directory: rolled back a half-created account', { dn: newDn });
      return toDirectoryError(cause, this.#ldap.ctx({ ...step, unchanged: 'Mailroom deleted the account it had just added, so nothing was created', outcome: 'unchanged' }));
    } catch (rollbackErr) {
      const why = rollbackErr instanceof Error ? rollbackErr.message : String(rollbackErr);
      this.#ldap.log?.warn('directory: could not roll back a half-created account', { dn: newDn, reason: why });
      return toDirectoryError(
        cause,
        this.#ldap.ctx({
          ...step,
          unchanged: `the account '${newDn}' was added (disabled) and Mailroom could not delete it again (${why.replace(/\.$/, '')}); delete it in AD before trying again`,
          outcome: 'partial',
        }),
      );
    }
  }

  /** Make sure an OU path exists below the domain, creating the missing OUs top-down. */
  async ensureOu(ouDn: string): Promise<{ dn: string; created: string[] }> {
    const wanted = dn.parse(ouDn);
    return this.#ldap.idempotent(async (s) => {
      const base = await this.#ldap.base(s);
      if (!dn.isWithin(ouDn, base)) throw configurationError(`'${ouDn}' is not inside the domain '${base}'; nothing was created.`);
      const baseLevels = dn.parse(base).length;
      const created: string[] = [];
      for (let levels = baseLevels + 1; levels <= wanted.length; levels += 1) {
        const levelRdns = wanted.slice(wanted.length - levels);
        const levelDn = dn.format(levelRdns);
        if (await this.#ldap.read(s, levelDn, ['objectClass'])) continue;
        const leaf = levelRdns[0];
        if (!leaf || leaf.length !== 1 || leaf[0]?.type.toUpperCase() !== 'OU') {
          throw new DirectoryError({
            code: 32,
            kind: 'no-such-object',
            transient: false,
            outcome: created.length ? 'partial' : 'unchanged',
            dn: levelDn,
            message: `'${levelDn}' does not exist and is not an OU Mailroom could create; ${created.length ? `Mailroom created ${created.join(', ')} before it stopped` : 'nothing was created'}.`,
          });
        }
        try {
          await s.op(this.#ldap.ctx({ action: 'create', target: `the OU ${dn.describe(levelDn)}`, dn: levelDn, parentDn: dn.parent(levelDn) }), false, (c) =>
            c.add(levelDn, { objectClass: OU_CLASSES, ou: leaf[0]!.value }),
          );
          created.push(levelDn);
        } catch (err) {
          // Someone else created it meanwhile: that is what we wanted.
          if (!(err instanceof DirectoryError && err.kind === 'already-exists')) throw err;
        }
      }
      const entry = await this.#ldap.read(s, ouDn, ['objectClass']);
      return { dn: entry?.dn ?? dn.format(wanted), created };
    });
  }

  // ---- changing -------------------------------------------------------------------------------------------------

  /**
   * Replace attributes: a value or a list replaces all values, `null` (or '' or []) clears the attribute.
   * One LDAP modify, so either every change is made or none. Passwords go through setPassword.
   */
  async setAttributes(dnString: string, changes: Readonly<Record<string, AttributeValue | null>>): Promise<void> {
    const entries = Object.entries(changes);
    if (entries.length === 0) return;
    const mods = entries.map(([type, value]) => {
      if (type.toLowerCase() === 'unicodepwd') throw configurationError('Set passwords with setPassword(), never with setAttributes().');
      if (type.toLowerCase() === 'objectclass') throw configurationError('objectClass cannot be changed by Mailroom.');
      return replace(type, value === null ? [] : text(value));
    });
    const ctx = this.#ldap.ctx({ action: 'modify', dn: dnString, target: dn.describe(dnString), values: changes });
    await this.#ldap.session((s) => s.op(ctx, true, (c) => c.modify(dnString, mods)));
  }

  /**
   * Add values to a multi-valued attribute (e.g. proxyAddresses), skipping values already there (compared as AD
   * does: case-insensitively, so `smtp:Ann@x` counts as present when `SMTP:ann@x` is). Repeating it changes nothing.
   */
  async addValues(dnString: string, attribute: string, add: readonly string[]): Promise<ValuesChange> {
    return this.#changeValues(dnString, attribute, add, 'add', dn.describe(dnString));
  }

  /** Remove values (compared case-insensitively; the stored spelling is removed), skipping values not there. */
  async removeValues(dnString: string, attribute: string, remove: readonly string[]): Promise<ValuesChange> {
    return this.#changeValues(dnString, attribute, remove, 'delete', dn.describe(dnString));
  }

  async addGroupMembers(groupDn: string, memberDns: readonly string[]): Promise<ValuesChange> {
    return this.#changeValues(groupDn, 'member', memberDns.map((m) => dn.format(dn.parse(m))), 'add', `the group ${dn.describe(groupDn)}`);
  }

  async removeGroupMembers(groupDn: string, memberDns: readonly string[]): Promise<ValuesChange> {
    return this.#changeValues(groupDn, 'member', memberDns.map((m) => dn.format(dn.parse(m))), 'delete', `the group ${dn.describe(groupDn)}`);
  }

  async #changeValues(dnString: string, attribute: string, requested: readonly string[], operation: 'add' | 'delete', target: string): Promise<ValuesChange> {
    const unique: string[] = [];
    for (const v of requested) if (v !== '' && !unique.some((u) => sameValue(attribute, u, v))) unique.push(v);
    if (unique.length === 0) return { changed: [], unchanged: [] };
    const ctx = this.#ldap.ctx({ action: 'modify', dn: dnString, target, values: { [attribute]: unique } });
    return this.#ldap.idempotent(async (s) => {
      const current = await this.#ldap.readAll(s, dnString, attribute);
      if (current === null) {
        throw new DirectoryError({
          code: 32,
          kind: 'no-such-object',
          transient: false,
          outcome: 'unchanged',
          dn: dnString,
          message: `${upper(target)} does not exist in Active Directory (it may have been deleted, moved or renamed); nothing was changed.`,
        });
      }
      const changed: string[] = [];
      const unchanged: string[] = [];
      for (const v of unique) {
        const stored = current.find((c) => sameValue(attribute, c, v));
        if (operation === 'add') (stored === undefined ? changed : unchanged).push(v);
        else if (stored === undefined) unchanged.push(v);
        else changed.push(stored);
      }
      if (changed.length) {
        await s.op(ctx, false, (c) => c.modify(dnString, new Change({ operation, modification: new Attribute({ type: attribute, values: changed }) })));
      }
      return { changed, unchanged };
    });
  }

  /** Set a user's password (an administrator's reset: history is not checked by AD). */
  async setPassword(dnString: string, password: string | Secret, options: { mustChange?: boolean } = {}): Promise<void> {
    this.#checkPasswordSafeToSend();
    const step = { action: 'modify' as const, dn: dnString, target: `the password of ${dn.describe(dnString)}` };
    await this.#ldap.session((s) => this.#writePassword(s, step, password, options.mustChange === true));
  }

  /** unicodePwd, then pwdLastSet 0 when the person must change it at the next sign-in. */
  async #writePassword(s: Session, step: OperationContext & { dn: string }, password: string | Secret, mustChange: boolean): Promise<void> {
    const pwd = encodeUnicodePwd(revealPassword(password));
    await s.op(this.#ldap.ctx({ ...step, values: { unicodePwd: '' } }), true, (c) => c.modify(step.dn, replace('unicodePwd', [pwd])));
    if (mustChange) await s.op(this.#ldap.ctx(step), true, (c) => c.modify(step.dn, replace('pwdLastSet', ['0'])));
  }

  /** Disable an account (userAccountControl bit 0x2); `changed` is false if it already was. */
  async disableAccount(dnString: string): Promise<{ changed: boolean }> {
    return this.#setDisabled(dnString, true);
  }

  /** Enable an account. On Windows AD this fails with `password-policy` if the account has no valid password. */
  async enableAccount(dnString: string): Promise<{ changed: boolean }> {
    return this.#setDisabled(dnString, false);
  }

  async #setDisabled(dnString: string, disabled: boolean): Promise<{ changed: boolean }> {
    const target = `the account ${dn.describe(dnString)}`;
    return this.#ldap.idempotent(async (s) => {
      const entry = await this.#ldap.read(s, dnString, ['userAccountControl', 'objectClass']);
      if (!entry) {
        throw new DirectoryError({ code: 32, kind: 'no-such-object', transient: false, outcome: 'unchanged', dn: dnString, message: `${upper(target)} does not exist in Active Directory; nothing was changed.` });
      }
      const uac = int(first(entry, 'userAccountControl'));
      if (uac === undefined) {
        throw new DirectoryError({ code: 65, kind: 'wrong-object-class', transient: false, outcome: 'unchanged', dn: dnString, message: `${upper(dn.describe(dnString))} is not an account that can be ${disabled ? 'disabled' : 'enabled'}; nothing was changed.` });
      }
      const next = disabled ? uac | UAC.ACCOUNTDISABLE : uac & ~UAC.ACCOUNTDISABLE;
      if (next === uac) return { changed: false };
      await s.op(this.#ldap.ctx({ action: 'modify', dn: dnString, target }), true, (c) => c.modify(dnString, replace('userAccountControl', [String(next)])));
      return { changed: true };
    });
  }

  /**
   * Delete an object (roll-back of objects Mailroom created). `tree: true` deletes everything below it as well.
   * Resolves `absent` if there was nothing to delete, so a repeated delete is harmless.
   */
  async delete(dnString: string, options: { tree?: boolean } = {}): Promise<'deleted' | 'absent'> {
    dn.parse(dnString);
    const ctx = this.#ldap.ctx({ action: 'delete', dn: dnString, target: dn.describe(dnString) });
    const controls = options.tree ? [new Control(TREE_DELETE_OID, { critical: true })] : undefined;
    try {
      await this.#ldap.session((s) => s.op(ctx, true, (c) => c.del(dnString, controls)));
      return 'deleted';
    } catch (err) {
      if (err instanceof DirectoryError && err.kind === 'no-such-object') return 'absent';
      throw err;
    }
  }

  // ---- passwords ------------------------------------------------------------------------------------------------

  /** ldapts' debug log (NODE_DEBUG=ldapts) would write unicodePwd's bytes to stderr: refuse to send passwords then. */
  #checkPasswordSafeToSend(): void {
    if (debuglog('ldapts').enabled) {
      throw configurationError('NODE_DEBUG includes ldapts, whose debug log would print passwords; Mailroom sets no password while it is on.');
    }
  }

  /** The password policy that may apply to new accounts: the domain's, tightened by any fine-grained policy. Read once. */
  async passwordPolicy(): Promise<PasswordPolicy> {
    this.#policy ??= this.#ldap.session(async (s) => {
      const base = await this.#ldap.base(s);
      const domain = await this.#ldap.read(s, base, ['minPwdLength', 'pwdProperties', 'pwdHistoryLength']);
      let minLength = int(domain ? first(domain, 'minPwdLength') : undefined) ?? 0;
      let complexity = ((int(domain ? first(domain, 'pwdProperties') : undefined) ?? 0) & DOMAIN_PASSWORD_COMPLEX) !== 0;
      let historyLength = int(domain ? first(domain, 'pwdHistoryLength') : undefined) ?? 0;
      const container = dn.child(dn.child(base, dn.rdn('CN', 'System')), dn.rdn('CN', 'Password Settings Container'));
      let psos: Entry[] = [];
      if (await this.#ldap.read(s, container, ['cn'])) {
        psos = await this.#ldap.search(s, container, eq('objectClass', 'msDS-PasswordSettings'), ['msDS-MinimumPasswordLength', 'msDS-PasswordComplexityEnabled', 'msDS-PasswordHistoryLength'], {
          action: 'read',
          target: 'the fine-grained password policies',
        });
      }
      for (const p of psos) {
        minLength = Math.max(minLength, int(first(p, 'msDS-MinimumPasswordLength')) ?? 0);
        complexity ||= first(p, 'msDS-PasswordComplexityEnabled')?.toUpperCase() === 'TRUE';
        historyLength = Math.max(historyLength, int(first(p, 'msDS-PasswordHistoryLength')) ?? 0);
      }
      return { minLength, complexity, historyLength, psoCount: psos.length };
    }).catch((err: unknown) => {
      this.#policy = undefined;
      throw err;
    });
    return this.#policy;
  }

  /** A new random password for an account, meeting the domain's policy; never log it (it prints as [redacted]). */
  async generatePassword(account: { samAccountName?: string; displayName?: string; givenName?: string; sn?: string; length?: number } = {}): Promise<Secret> {
    const policy = await this.passwordPolicy();
    const options: { accountNames: (string | undefined)[]; length?: number } = {
      accountNames: [account.samAccountName, account.displayName, account.givenName, account.sn],
    };
    if (account.length !== undefined) options.length = account.length;
    return generatePassword(policy, options);
  }
}

function upper(s: string): string {
  return s.length ? s[0]!.toUpperCase() + s.slice(1) : s;
}

/** How a new object is named in messages: its displayName, else its CN. */
function nameOf(object: NewObject): string {
  const name = object.attributes?.displayName;
  return typeof name === 'string' && name !== '' ? name : object.cn;
}

function withoutClass(values: Values): Values {
  const { objectClass: _ignored, ...rest } = values;
  return rest;
}
