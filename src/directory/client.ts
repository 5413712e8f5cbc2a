/**
 * DirectoryClient: Mailroom's only door to Active Directory. LDAPS with the CA verified, a small pool of bound
 * connections, reconnect-and-retry-once for operations that are safe to repeat, every DN built and compared through
 * dn.ts, every filter built from ldapts' filter classes, every error mapped to a DirectoryError.
 *
 * Every operation is idempotent-friendly: callers look first (findByIdentity, whoHas, get), then act; value and
 * membership changes compute the difference themselves, so repeating them changes nothing.
 */
import type * as tls from 'node:tls';
import { debuglog, inspect } from 'node:util';
import { Attribute, Change, Client, Control, ResultCodeError, type ClientOptions, type Entry, type Filter } from 'ldapts';
import {
  encodeUnicodePwd,
  groupTypeValue,
  guidToBuffer,
  guidToString,
  isGuidText,
  parseGroupType,
  UAC,
  UAC_DISABLED,
  UAC_ENABLED,
} from './attributes';
import * as dn from './dn';
import {
  configurationError,
  DirectoryError,
  isConnectionLoss,
  toDirectoryError,
  type OperationContext,
} from './errors';
import { and, eq, or } from './filter';
import { DOMAIN_PASSWORD_COMPLEX, generatePassword, revealPassword, type PasswordPolicy, type Secret } from './password';
import { ConnectionPool, type Lease } from './pool';
import type {
  AttributeValue,
  CreatedObject,
  DirectoryLogger,
  DirectoryObject,
  NewContact,
  NewGroup,
  NewUser,
  ObjectKind,
  ValuesChange,
  WhoHasField,
  WhoHasMatch,
  WhoHasQuery,
} from './types';

export interface DirectoryClientOptions {
  /** `ldaps://host[:port]`. Plain `ldap://` is refused: it would carry passwords in the clear. */
  readonly url: string;
  /** The service account: a DN or a UPN (`svc-mailroom@corp.example`). */
  readonly bindDn: string;
  readonly password: string;
  /** PEM of the CA(s) that issued the DC's certificate. Default: Node's built-in public CAs. Verification is never off. */
  readonly caPem?: string | readonly string[];
  /** Milliseconds for TCP + TLS connect. */
  readonly connectTimeoutMs: number;
  /** Milliseconds for each LDAP operation. */
  readonly timeoutMs: number;
  /** The domain's DN. Default: the DC's defaultNamingContext (read once). */
  readonly baseDn?: string;
  /** Connections kept open at most (default 2). */
  readonly maxConnections?: number;
  /** Idle connections older than this are replaced before use (default 60 s). */
  readonly maxIdleMs?: number;
  readonly logger?: DirectoryLogger;
  /** Replaces `tls.connect` (tests use it to reach the socket). */
  readonly createSecureConnection?: typeof tls.connect;
}

const USER_CLASSES = ['top', 'person', 'organizationalPerson', 'user'];
const CONTACT_CLASSES = ['top', 'person', 'organizationalPerson', 'contact'];
const GROUP_CLASSES = ['top', 'group'];
const OU_CLASSES = ['top', 'organizationalUnit'];
const TREE_DELETE_OID = '1.2.840.113556.1.4.805';
const SAM_INVALID = /["/\\[\]:;|=,+*?<>]/;
const SAM_MAX = 20;
/** Attributes whose values are DNs: compared parsed. */
const DN_ATTRIBUTES = new Set(['member', 'memberof', 'manager', 'directreports', 'showinaddressbook', 'managedby']);
const CONNECT_RETRY_DELAY_MS = 250;

const OBJECT_ATTRIBUTES = [
  'objectClass',
  'objectGUID',
  'cn',
  'sAMAccountName',
  'userPrincipalName',
  'mail',
  'mailNickname',
  'proxyAddresses',
  'targetAddress',
  'displayName',
  'givenName',
  'sn',
  'department',
  'title',
  'description',
  'userAccountControl',
  'groupType',
  'msExchHideFromAddressLists',
  'msExchRecipientTypeDetails',
  'whenCreated',
  'whenChanged',
  'uSNChanged',
];

type Values = Readonly<Record<string, AttributeValue | undefined>>;

/** One caller's connection for one operation or sequence; reconnects when the connection breaks. */
class Session {
  #lease: Lease | undefined;

  constructor(
    private readonly acquire: () => Promise<Lease>,
    private readonly log: DirectoryLogger | undefined,
  ) {}

  /** Run one LDAP call; `retry`: repeat it once on a fresh connection if the connection broke (safe calls only). */
  async op<T>(ctx: OperationContext, retry: boolean, fn: (client: Client) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      const lease = this.#lease ?? (this.#lease = await this.acquire());
      try {
        return await fn(lease.client);
      } catch (err) {
        const lost = isConnectionLoss(err);
        if (lost || /Operation timed out$/.test(err instanceof Error ? err.message : '')) {
          this.#lease = undefined;
          lease.discard();
        }
        // "Not bound" means the DC refused the request unread, so even a create may be sent again.
        const refusedUnread = err instanceof ResultCodeError && err.code === 1;
        if (lost && (retry || refusedUnread) && attempt === 0) {
          this.log?.warn('directory: connection lost, reconnecting to retry', { action: ctx.action, dn: ctx.dn });
          continue;
        }
        throw toDirectoryError(err, ctx);
      }
    }
  }

  end(): void {
    this.#lease?.release();
    this.#lease = undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw configurationError(`${name} must be a positive number of milliseconds, not ${String(value)}`);
  return value;
}

/** Validate the LDAP URL: ldaps:// only, host required, nothing else in it. */
function checkUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw configurationError(`'${url}' is not an LDAP URL; use ldaps://<domain controller>:636.`);
  }
  if (parsed.protocol === 'ldap:') {
    throw configurationError(
      `Mailroom only connects to Active Directory over LDAPS, but the URL is '${url}'. Plain LDAP would send the service ` +
        "account's password and new users' passwords without encryption. Use ldaps://<domain controller>:636 and configure the CA that issued its certificate.",
    );
  }
  if (parsed.protocol !== 'ldaps:') throw configurationError(`'${url}' is not an ldaps:// URL; use ldaps://<domain controller>:636.`);
  if (!parsed.hostname) throw configurationError(`'${url}' names no domain controller; use ldaps://<domain controller>:636.`);
  if (parsed.username || parsed.password || (parsed.pathname && parsed.pathname !== '/') || parsed.search) {
    throw configurationError(`The LDAP URL may hold only a host and a port (ldaps://<domain controller>:636).`);
  }
  return `ldaps://${parsed.host}`;
}

function text(value: AttributeValue): string[] {
  if (typeof value === 'boolean') return [value ? 'TRUE' : 'FALSE'];
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw configurationError(`Attribute values must be whole numbers, not ${value}`);
    return [String(value)];
  }
  if (typeof value === 'string') return value === '' ? [] : [value];
  return value.filter((v) => v !== '');
}

/** ldapts Attributes from a record, leaving out undefined and empty values (AD refuses empty strings). */
function toAttributes(values: Values): Attribute[] {
  const out: Attribute[] = [];
  for (const [type, value] of Object.entries(values)) {
    if (value === undefined) continue;
    const v = text(value);
    if (v.length) out.push(new Attribute({ type, values: v }));
  }
  return out;
}

const replace = (type: string, values: string[] | Buffer[]): Change => new Change({ operation: 'replace', modification: new Attribute({ type, values }) });

/** Case-insensitive lookup of an attribute in an ldapts entry; Buffers become UTF-8 text. */
function values(entry: Entry, name: string): string[] {
  const wanted = name.toLowerCase();
  const key = Object.keys(entry).find((k) => k.toLowerCase() === wanted);
  if (key === undefined) return [];
  const v = entry[key];
  if (v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : x));
}

function first(entry: Entry, name: string): string | undefined {
  return values(entry, name)[0];
}

function buffer(entry: Entry, name: string): Buffer | undefined {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
  const v = key === undefined ? undefined : entry[key];
  if (Buffer.isBuffer(v)) return v;
  if (Array.isArray(v) && Buffer.isBuffer(v[0])) return v[0];
  return undefined;
}

function kindOf(classes: readonly string[]): ObjectKind {
  const c = new Set(classes.map((x) => x.toLowerCase()));
  if (c.has('computer')) return 'computer';
  if (c.has('user')) return 'user';
  if (c.has('contact')) return 'contact';
  if (c.has('group')) return 'group';
  if (c.has('organizationalunit')) return 'organizational-unit';
  return 'other';
}

function int(value: string | undefined): number | undefined {
  if (value === undefined || !/^-?\d+$/.test(value)) return undefined;
  return Number(value);
}

function toObject(entry: Entry): DirectoryObject {
  const classes = values(entry, 'objectClass');
  const kind = kindOf(classes);
  const guid = buffer(entry, 'objectGUID');
  const uac = int(first(entry, 'userAccountControl'));
  const groupType = int(first(entry, 'groupType'));
  const hidden = first(entry, 'msExchHideFromAddressLists');
  const parsedGroup = groupType === undefined ? undefined : parseGroupType(groupType);
  const o: Record<string, unknown> = {
    dn: entry.dn,
    objectGuid: guid ? guidToString(guid) : '',
    objectClass: kind,
    objectClasses: classes,
    cn: first(entry, 'cn'),
    samAccountName: first(entry, 'sAMAccountName'),
    userPrincipalName: first(entry, 'userPrincipalName'),
    mail: first(entry, 'mail'),
    mailNickname: first(entry, 'mailNickname'),
    proxyAddresses: values(entry, 'proxyAddresses'),
    targetAddress: first(entry, 'targetAddress'),
    displayName: first(entry, 'displayName'),
    givenName: first(entry, 'givenName'),
    sn: first(entry, 'sn'),
    department: first(entry, 'department'),
    title: first(entry, 'title'),
    description: first(entry, 'description'),
    userAccountControl: uac,
    enabled: uac !== undefined && (kind === 'user' || kind === 'computer') ? (uac & UAC.ACCOUNTDISABLE) === 0 : undefined,
    groupType,
    groupScope: parsedGroup?.scope,
    securityEnabled: parsedGroup?.securityEnabled,
    hiddenFromAddressLists: hidden === undefined ? undefined : hidden.toUpperCase() === 'TRUE',
    recipientTypeDetails: first(entry, 'msExchRecipientTypeDetails'),
    whenCreated: first(entry, 'whenCreated'),
    whenChanged: first(entry, 'whenChanged'),
    uSNChanged: first(entry, 'uSNChanged'),
  };
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o as unknown as DirectoryObject;
}

/** Case-insensitive, accent-sensitive equality (AD's matching for the names and addresses Mailroom compares). */
function sameText(a: string, b: string): boolean {
  return a === b || a.localeCompare(b, 'en', { sensitivity: 'accent' }) === 0;
}

function sameValue(attribute: string, a: string, b: string): boolean {
  if (DN_ATTRIBUTES.has(attribute.toLowerCase())) {
    try {
      return dn.equal(a, b);
    } catch {
      return sameText(a, b);
    }
  }
  return sameText(a, b);
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

/** How a DN is named in messages: its leaf value and the full DN. */
function describe(dnString: string): string {
  try {
    return `'${dn.leafValue(dnString)}' (${dnString})`;
  } catch {
    return quoted(dnString);
  }
}

/** The prefix of a proxyAddresses value (`smtp`, `x500` …) and the rest. */
function splitPrefixed(value: string): { prefix: string; address: string } | undefined {
  const m = /^([A-Za-z0-9]{1,9}):(.+)$/.exec(value);
  return m ? { prefix: m[1]!, address: m[2]! } : undefined;
}

export class DirectoryClient {
  readonly url: string;
  readonly bindDn: string;
  readonly connectTimeoutMs: number;
  readonly timeoutMs: number;
  readonly #password: string;
  readonly #ca: string[] | undefined;
  readonly #pool: ConnectionPool;
  readonly #log: DirectoryLogger | undefined;
  readonly #createSecureConnection: typeof tls.connect | undefined;
  #baseDn: Promise<string> | undefined;
  #policy: Promise<PasswordPolicy> | undefined;

  constructor(options: DirectoryClientOptions) {
    this.url = checkUrl(options.url);
    if (!options.bindDn?.trim()) throw configurationError('The service account (bindDn) for Active Directory is missing.');
    // An empty password makes an "unauthenticated bind" that AD accepts without checking anything.
    if (!options.password) throw configurationError("The service account's password for Active Directory is missing.");
    this.bindDn = options.bindDn.trim();
    this.#password = options.password;
    this.connectTimeoutMs = positive('connectTimeoutMs', options.connectTimeoutMs);
    this.timeoutMs = positive('timeoutMs', options.timeoutMs);
    const ca = options.caPem === undefined ? undefined : typeof options.caPem === 'string' ? [options.caPem] : [...options.caPem];
    if (ca && (ca.length === 0 || ca.some((p) => !p.includes('-----BEGIN CERTIFICATE-----')))) {
      throw configurationError('caPem must hold PEM certificates (-----BEGIN CERTIFICATE-----).');
    }
    this.#ca = ca;
    this.#log = options.logger;
    this.#createSecureConnection = options.createSecureConnection;
    if (options.baseDn !== undefined) this.#baseDn = Promise.resolve(dn.format(dn.parse(options.baseDn)));
    const size = options.maxConnections ?? 2;
    if (!Number.isInteger(size) || size < 1) throw configurationError(`maxConnections must be a whole number of at least 1, not ${size}`);
    this.#pool = new ConnectionPool({
      size,
      maxIdleMs: options.maxIdleMs ?? 60_000,
      create: () => this.#connect(),
      onDiscard: (reason) => this.#log?.debug('directory: connection closed', { reason }),
    });
  }

  /** Pool counters: connections idle, busy, being opened, callers waiting, opened so far. */
  get stats(): ConnectionPool['stats'] {
    return this.#pool.stats;
  }

  toJSON(): Record<string, unknown> {
    return { url: this.url, bindDn: this.bindDn };
  }

  [inspect.custom](): string {
    return `DirectoryClient(${this.url} as ${this.bindDn})`;
  }

  /** Close every connection (waits for operations in flight). Later calls fail with kind `closed`. */
  async close(): Promise<void> {
    await this.#pool.close();
  }

  // ---- connection ---------------------------------------------------------------------------------------------

  #clientOptions(): ClientOptions {
    // A fresh object every time: ldapts writes defaults into its options (and startTLS into TLS options).
    const tlsOptions: tls.ConnectionOptions = { minVersion: 'TLSv1.2' };
    if (this.#ca) tlsOptions.ca = [...this.#ca];
    const options: ClientOptions = {
      url: this.url,
      tlsOptions,
      connectTimeout: this.connectTimeoutMs,
      timeout: this.timeoutMs,
    };
    if (this.#createSecureConnection) options.createSecureConnection = this.#createSecureConnection;
    return options;
  }

  #ctx(ctx: OperationContext): OperationContext {
    return { server: this.url, bindDn: this.bindDn, timeoutMs: this.timeoutMs, connectTimeoutMs: this.connectTimeoutMs, ...ctx };
  }

  async #connect(): Promise<Client> {
    for (let attempt = 0; ; attempt += 1) {
      const started = Date.now();
      const client = new Client(this.#clientOptions());
      try {
        await client.bind(this.bindDn, this.#password);
        this.#log?.debug('directory: connected', { url: this.url, bindDn: this.bindDn, ms: Date.now() - started });
        return client;
      } catch (err) {
        await client.unbind().catch(() => undefined);
        const mapped = toDirectoryError(err, this.#ctx({ action: 'connect' }));
        if (attempt === 0 && (mapped.kind === 'unavailable' || mapped.kind === 'connection-lost')) {
          this.#log?.warn('directory: connecting failed, trying once more', { url: this.url, ...mapped.toLog() });
          await sleep(CONNECT_RETRY_DELAY_MS);
          continue;
        }
        this.#log?.warn('directory: cannot connect', { url: this.url, bindDn: this.bindDn, ...mapped.toLog() });
        throw mapped;
      }
    }
  }

  /** Run `body` on one leased connection (a sequence of calls sees its own writes and never interleaves). */
  async #session<T>(body: (s: Session) => Promise<T>): Promise<T> {
    const s = new Session(() => this.#pool.acquire(), this.#log);
    try {
      return await body(s);
    } finally {
      s.end();
    }
  }

  /** A sequence that is safe to repeat as a whole (look, then change): repeated once if the connection broke. */
  async #idempotent<T>(body: (s: Session) => Promise<T>): Promise<T> {
    try {
      return await this.#session(body);
    } catch (err) {
      if (!(err instanceof DirectoryError) || !(err.kind === 'connection-lost' || err.kind === 'not-bound')) throw err;
      this.#log?.warn('directory: connection lost during a repeatable sequence, repeating it', err.toLog());
      return this.#session(body);
    }
  }

  // ---- low-level reads ----------------------------------------------------------------------------------------

  async #search(s: Session, base: string, filter: Filter, attributes: string[], ctx: OperationContext): Promise<Entry[]> {
    const { searchEntries } = await s.op(this.#ctx(ctx), true, (c) =>
      c.search(base, { scope: 'sub', filter, attributes, explicitBufferAttributes: ['objectGUID'], paged: { pageSize: 500 } }),
    );
    return searchEntries;
  }

  /** One entry by DN, or null if there is none. */
  async #read(s: Session, dnString: string, attributes: string[], ctx?: OperationContext): Promise<Entry | null> {
    try {
      const { searchEntries } = await s.op(this.#ctx(ctx ?? { action: 'read', dn: dnString, target: describe(dnString) }), true, (c) =>
        c.search(dnString, { scope: 'base', attributes, explicitBufferAttributes: ['objectGUID'] }),
      );
      return searchEntries[0] ?? null;
    } catch (err) {
      if (err instanceof DirectoryError && err.kind === 'no-such-object') return null;
      throw err;
    }
  }

  /** All values of one attribute, following AD's ranged retrieval (`member;range=0-1499`) for large groups. */
  async #readAll(s: Session, dnString: string, attribute: string): Promise<string[] | null> {
    const out: string[] = [];
    let request = attribute;
    for (;;) {
      const entry = await this.#read(s, dnString, [request]);
      if (!entry) return null;
      const lower = attribute.toLowerCase();
      const rangedKey = Object.keys(entry).find((k) => k.toLowerCase().startsWith(`${lower};range=`));
      if (!rangedKey) {
        out.push(...values(entry, attribute));
        return out;
      }
      out.push(...values(entry, rangedKey));
      const m = /;range=(\d+)-(\*|\d+)$/i.exec(rangedKey);
      if (!m || m[2] === '*') return out;
      request = `${attribute};range=${Number(m[2]) + 1}-*`;
    }
  }

  async #base(s: Session): Promise<string> {
    this.#baseDn ??= (async () => {
      const root = await this.#read(s, '', ['defaultNamingContext'], { action: 'read', target: "the domain controller's root entry" });
      const base = root ? first(root, 'defaultNamingContext') : undefined;
      if (!base) throw configurationError('The domain controller did not name its domain (no defaultNamingContext); configure baseDn.');
      return base;
    })().catch((err: unknown) => {
      this.#baseDn = undefined;
      throw err;
    });
    return this.#baseDn;
  }

  /** The domain's DN (configured, or the DC's defaultNamingContext). */
  async baseDn(): Promise<string> {
    return this.#session((s) => this.#base(s));
  }

  // ---- lookups ------------------------------------------------------------------------------------------------

  /** The object at a DN, or null. */
  async get(dnString: string): Promise<DirectoryObject | null> {
    dn.parse(dnString);
    const entry = await this.#session((s) => this.#read(s, dnString, OBJECT_ATTRIBUTES));
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
    return this.#session(async (s) => {
      const base = await this.#base(s);
      if (isGuidText(id)) {
        const found = await this.#search(s, base, eq('objectGUID', guidToBuffer(id)), OBJECT_ATTRIBUTES, ctx);
        return found[0] ? toObject(found[0]) : null;
      }
      if (dn.looksLikeDn(id)) {
        const entry = await this.#read(s, id, OBJECT_ATTRIBUTES);
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
      const found = await this.#search(s, base, filter, OBJECT_ATTRIBUTES, ctx);
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
    if (wanted.length === 0) return [];
    const filter = or(...wanted.map((w) => eq(w.attribute, w.compare)));
    const entries = await this.#session(async (s) =>
      this.#search(s, await this.#base(s), filter, ['objectClass', 'cn', 'displayName', 'sAMAccountName', 'userPrincipalName', 'mail', 'mailNickname', 'proxyAddresses', 'targetAddress'], {
        action: 'read',
        target: 'the directory',
      }),
    );
    return entries.map((e) => {
      const matches: WhoHasMatch['matches'][number][] = [];
      for (const w of wanted) {
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
    return this.#session((s) => this.#readAll(s, groupDn, 'member'));
  }

  // ---- creating -------------------------------------------------------------------------------------------------

  /** Add an entry, then read back its DN (as AD stores it) and objectGUID. */
  async #create(s: Session, newDn: string, attributes: Values, ctx: OperationContext): Promise<CreatedObject> {
    await s.op(this.#ctx(ctx), false, (c) => c.add(newDn, toAttributes(attributes)));
    return this.#readBack(s, newDn, ctx);
  }

  async #readBack(s: Session, newDn: string, ctx: OperationContext): Promise<CreatedObject> {
    const partial = `${ctx.target ?? quoted(newDn)} was created, but Mailroom could not read it back; look it up before trying again`;
    const entry = await this.#read(s, newDn, ['objectGUID'], this.#ctx({ ...ctx, action: 'read', unchanged: partial, outcome: 'partial' }));
    const guid = entry ? buffer(entry, 'objectGUID') : undefined;
    if (!entry || !guid) {
      throw new DirectoryError({ code: 32, kind: 'no-such-object', transient: true, outcome: 'partial', message: `${partial}.`, dn: newDn });
    }
    return { dn: entry.dn, objectGuid: guidToString(guid) };
  }

  /**
   * Create a user: added disabled (514) without a password, then the password set, then enabled (512) — the order
   * Windows AD requires. If a later step fails the new account is deleted again, so a failure leaves nothing behind
   * (or says precisely what it left: outcome `partial`).
   */
  async createUser(user: NewUser): Promise<CreatedObject> {
    const target = `the user '${user.displayName}' (${user.samAccountName})`;
    checkSamAccountName(user.samAccountName, 'nothing was created');
    if (user.enabled && user.password === undefined) {
      throw configurationError(`${target} is to be enabled but has no password; nothing was created. Give a password or create the account disabled.`);
    }
    if (user.password !== undefined) this.#checkPasswordSafeToSend();
    const newDn = dn.child(user.parentDn, dn.rdn('CN', user.cn));
    const attributes: Values = {
      ...user.extra,
      objectClass: USER_CLASSES,
      cn: user.cn,
      sAMAccountName: user.samAccountName,
      userPrincipalName: user.userPrincipalName,
      givenName: user.givenName,
      sn: user.sn,
      displayName: user.displayName,
      department: user.department,
      title: user.title,
      description: user.description,
      mail: user.mail,
      mailNickname: user.mailNickname,
      proxyAddresses: user.proxyAddresses,
      targetAddress: user.targetAddress,
      userAccountControl: UAC_DISABLED,
    };
    const ctx: OperationContext = { action: 'create', target, dn: newDn, parentDn: user.parentDn, values: withoutClass(attributes) };
    return this.#session(async (s) => {
      await s.op(this.#ctx(ctx), false, (c) => c.add(newDn, toAttributes(attributes)));
      const step: OperationContext = { action: 'modify', target, dn: newDn };
      try {
        if (user.password !== undefined) {
          const pwd = encodeUnicodePwd(revealPassword(user.password));
          await s.op(this.#ctx({ ...step, values: { unicodePwd: '' } }), true, (c) => c.modify(newDn, replace('unicodePwd', [pwd])));
          if (user.mustChangePassword) await s.op(this.#ctx(step), true, (c) => c.modify(newDn, replace('pwdLastSet', ['0'])));
        }
        if (user.enabled) {
          await s.op(this.#ctx(step), true, (c) => c.modify(newDn, replace('userAccountControl', [String(UAC_ENABLED)])));
        }
      } catch (err) {
        throw await this.#rollBack(s, newDn, target, step, err);
      }
      return this.#readBack(s, newDn, ctx);
    });
  }

  /** Delete an account this call just created; the error says whether that worked. */
  async #rollBack(s: Session, newDn: string, target: string, step: OperationContext, err: unknown): Promise<DirectoryError> {
    const cause = err instanceof DirectoryError && err.cause !== undefined ? err.cause : err;
    try {
      await s.op(this.#ctx({ action: 'delete', dn: newDn, target }), true, (c) => c.del(newDn));
      this.#log?.info('directory: rolled back a half-created account', { dn: newDn });
      return toDirectoryError(cause, this.#ctx({ ...step, unchanged: 'Mailroom deleted the account it had just added, so nothing was created', outcome: 'unchanged' }));
    } catch (rollbackErr) {
      const why = rollbackErr instanceof Error ? rollbackErr.message : String(rollbackErr);
      this.#log?.warn('directory: could not roll back a half-created account', { dn: newDn, reason: why });
      return toDirectoryError(
        cause,
        this.#ctx({
          ...step,
          unchanged: `the account '${newDn}' was added (disabled) and Mailroom could not delete it again (${why.replace(/\.$/, '')}); delete it in AD before trying again`,
          outcome: 'partial',
        }),
      );
    }
  }

  /** Create a contact (mail contact when `mail` is set). */
  async createContact(contact: NewContact): Promise<CreatedObject> {
    const newDn = dn.child(contact.parentDn, dn.rdn('CN', contact.cn));
    const attributes: Values = {
      ...contact.extra,
      objectClass: CONTACT_CLASSES,
      cn: contact.cn,
      displayName: contact.displayName,
      givenName: contact.givenName,
      sn: contact.sn,
      description: contact.description,
      mail: contact.mail,
      mailNickname: contact.mailNickname,
      proxyAddresses: contact.proxyAddresses,
      targetAddress: contact.targetAddress,
    };
    const target = `the contact '${contact.displayName ?? contact.cn}'`;
    return this.#session((s) => this.#create(s, newDn, attributes, { action: 'create', target, dn: newDn, parentDn: contact.parentDn, values: withoutClass(attributes) }));
  }

  /** Create a global or universal group, security-enabled or a distribution group, with its first members. */
  async createGroup(group: NewGroup): Promise<CreatedObject> {
    if (group.samAccountName !== undefined) checkSamAccountName(group.samAccountName, 'nothing was created');
    const members = (group.members ?? []).map((m) => dn.format(dn.parse(m)));
    const newDn = dn.child(group.parentDn, dn.rdn('CN', group.cn));
    const attributes: Values = {
      ...group.extra,
      objectClass: GROUP_CLASSES,
      cn: group.cn,
      sAMAccountName: group.samAccountName,
      groupType: groupTypeValue(group.scope, group.securityEnabled),
      displayName: group.displayName,
      description: group.description,
      mail: group.mail,
      mailNickname: group.mailNickname,
      proxyAddresses: group.proxyAddresses,
      member: members,
    };
    const target = `the group '${group.displayName ?? group.cn}'`;
    return this.#session((s) => this.#create(s, newDn, attributes, { action: 'create', target, dn: newDn, parentDn: group.parentDn, values: withoutClass(attributes) }));
  }

  /** Make sure an OU path exists below the domain, creating the missing OUs top-down. */
  async ensureOu(ouDn: string): Promise<{ dn: string; created: string[] }> {
    const wanted = dn.parse(ouDn);
    return this.#idempotent(async (s) => {
      const base = await this.#base(s);
      if (!dn.isWithin(ouDn, base)) throw configurationError(`'${ouDn}' is not inside the domain '${base}'; nothing was created.`);
      const baseLevels = dn.parse(base).length;
      const created: string[] = [];
      for (let levels = baseLevels + 1; levels <= wanted.length; levels += 1) {
        const levelRdns = wanted.slice(wanted.length - levels);
        const levelDn = dn.format(levelRdns);
        if (await this.#read(s, levelDn, ['objectClass'])) continue;
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
          await s.op(this.#ctx({ action: 'create', target: `the OU ${describe(levelDn)}`, dn: levelDn, parentDn: dn.parent(levelDn) }), false, (c) =>
            c.add(levelDn, { objectClass: OU_CLASSES, ou: leaf[0]!.value }),
          );
          created.push(levelDn);
        } catch (err) {
          // Someone else created it meanwhile: that is what we wanted.
          if (!(err instanceof DirectoryError && err.kind === 'already-exists')) throw err;
        }
      }
      const entry = await this.#read(s, ouDn, ['objectClass']);
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
    const ctx = this.#ctx({ action: 'modify', dn: dnString, target: describe(dnString), values: changes });
    await this.#session((s) => s.op(ctx, true, (c) => c.modify(dnString, mods)));
  }

  /**
   * Add values to a multi-valued attribute (e.g. proxyAddresses), skipping values already there (compared as AD
   * does: case-insensitively, so `smtp:Ann@x` counts as present when `SMTP:ann@x` is). Repeating it changes nothing.
   */
  async addValues(dnString: string, attribute: string, add: readonly string[]): Promise<ValuesChange> {
    return this.#changeValues(dnString, attribute, add, 'add', describe(dnString));
  }

  /** Remove values (compared case-insensitively; the stored spelling is removed), skipping values not there. */
  async removeValues(dnString: string, attribute: string, remove: readonly string[]): Promise<ValuesChange> {
    return this.#changeValues(dnString, attribute, remove, 'delete', describe(dnString));
  }

  async addGroupMembers(groupDn: string, memberDns: readonly string[]): Promise<ValuesChange> {
    return this.#changeValues(groupDn, 'member', memberDns.map((m) => dn.format(dn.parse(m))), 'add', `the group ${describe(groupDn)}`);
  }

  async removeGroupMembers(groupDn: string, memberDns: readonly string[]): Promise<ValuesChange> {
    return this.#changeValues(groupDn, 'member', memberDns.map((m) => dn.format(dn.parse(m))), 'delete', `the group ${describe(groupDn)}`);
  }

  async #changeValues(dnString: string, attribute: string, requested: readonly string[], operation: 'add' | 'delete', target: string): Promise<ValuesChange> {
    const unique: string[] = [];
    for (const v of requested) if (v !== '' && !unique.some((u) => sameValue(attribute, u, v))) unique.push(v);
    if (unique.length === 0) return { changed: [], unchanged: [] };
    const ctx = this.#ctx({ action: 'modify', dn: dnString, target, values: { [attribute]: unique } });
    return this.#idempotent(async (s) => {
      const current = await this.#readAll(s, dnString, attribute);
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
    const pwd = encodeUnicodePwd(revealPassword(password));
    const ctx = this.#ctx({ action: 'modify', dn: dnString, target: `the password of ${describe(dnString)}`, values: { unicodePwd: '' } });
    await this.#session(async (s) => {
      await s.op(ctx, true, (c) => c.modify(dnString, replace('unicodePwd', [pwd])));
      if (options.mustChange) await s.op(ctx, true, (c) => c.modify(dnString, replace('pwdLastSet', ['0'])));
    });
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
    const target = `the account ${describe(dnString)}`;
    return this.#idempotent(async (s) => {
      const entry = await this.#read(s, dnString, ['userAccountControl', 'objectClass']);
      if (!entry) {
        throw new DirectoryError({ code: 32, kind: 'no-such-object', transient: false, outcome: 'unchanged', dn: dnString, message: `${upper(target)} does not exist in Active Directory; nothing was changed.` });
      }
      const uac = int(first(entry, 'userAccountControl'));
      if (uac === undefined) {
        throw new DirectoryError({ code: 65, kind: 'wrong-object-class', transient: false, outcome: 'unchanged', dn: dnString, message: `${upper(describe(dnString))} is not an account that can be ${disabled ? 'disabled' : 'enabled'}; nothing was changed.` });
      }
      const next = disabled ? uac | UAC.ACCOUNTDISABLE : uac & ~UAC.ACCOUNTDISABLE;
      if (next === uac) return { changed: false };
      await s.op(this.#ctx({ action: 'modify', dn: dnString, target }), true, (c) => c.modify(dnString, replace('userAccountControl', [String(next)])));
      return { changed: true };
    });
  }

  /**
   * Delete an object (roll-back of objects Mailroom created). `tree: true` deletes everything below it as well.
   * Resolves `absent` if there was nothing to delete, so a repeated delete is harmless.
   */
  async delete(dnString: string, options: { tree?: boolean } = {}): Promise<'deleted' | 'absent'> {
    dn.parse(dnString);
    const ctx = this.#ctx({ action: 'delete', dn: dnString, target: describe(dnString) });
    const controls = options.tree ? [new Control(TREE_DELETE_OID, { critical: true })] : undefined;
    try {
      await this.#session((s) => s.op(ctx, true, (c) => c.del(dnString, controls)));
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
    this.#policy ??= this.#session(async (s) => {
      const base = await this.#base(s);
      const domain = await this.#read(s, base, ['minPwdLength', 'pwdProperties', 'pwdHistoryLength']);
      let minLength = int(domain ? first(domain, 'minPwdLength') : undefined) ?? 0;
      let complexity = ((int(domain ? first(domain, 'pwdProperties') : undefined) ?? 0) & DOMAIN_PASSWORD_COMPLEX) !== 0;
      let historyLength = int(domain ? first(domain, 'pwdHistoryLength') : undefined) ?? 0;
      const container = dn.child(dn.child(base, dn.rdn('CN', 'System')), dn.rdn('CN', 'Password Settings Container'));
      let psos: Entry[] = [];
      if (await this.#read(s, container, ['cn'])) {
        psos = await this.#search(s, container, eq('objectClass', 'msDS-PasswordSettings'), ['msDS-MinimumPasswordLength', 'msDS-PasswordComplexityEnabled', 'msDS-PasswordHistoryLength'], {
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

function withoutClass(values: Values): Values {
  const { objectClass: _ignored, ...rest } = values;
  return rest;
}
