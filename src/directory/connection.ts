/**
 * The LDAPS connections of a DirectoryClient: its options checked (ldaps:// only, a verified CA, no empty password),
 * a small pool of bound connections, one session per operation or sequence with reconnect-and-retry-once for calls
 * that are safe to repeat, and the reads every operation builds on (by DN, by search, all values of an attribute).
 */
import type * as tls from 'node:tls';
import { Client, ResultCodeError, type ClientOptions, type Entry, type Filter } from 'ldapts';
import * as dn from './dn';
import { first, values } from './entries';
import { configurationError, DirectoryError, isConnectionLoss, toDirectoryError, type OperationContext } from './errors';
import { ConnectionPool, type Lease } from './pool';
import type { DirectoryLogger } from './types';

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

const CONNECT_RETRY_DELAY_MS = 250;

/** One caller's connection for one operation or sequence; reconnects when the connection breaks. */
export class Session {
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

/** The connections of one DirectoryClient, and the low-level calls on them. */
export class DirectoryConnection {
  readonly url: string;
  readonly bindDn: string;
  readonly connectTimeoutMs: number;
  readonly timeoutMs: number;
  readonly log: DirectoryLogger | undefined;
  readonly #password: string;
  readonly #ca: string[] | undefined;
  readonly #pool: ConnectionPool;
  readonly #createSecureConnection: typeof tls.connect | undefined;
  #baseDn: Promise<string> | undefined;

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
    this.log = options.logger;
    this.#createSecureConnection = options.createSecureConnection;
    if (options.baseDn !== undefined) this.#baseDn = Promise.resolve(dn.format(dn.parse(options.baseDn)));
    const size = options.maxConnections ?? 2;
    if (!Number.isInteger(size) || size < 1) throw configurationError(`maxConnections must be a whole number of at least 1, not ${size}`);
    this.#pool = new ConnectionPool({
      size,
      maxIdleMs: options.maxIdleMs ?? 60_000,
      create: () => this.#connect(),
      onDiscard: (reason) => this.log?.debug('directory: connection closed', { reason }),
    });
  }

  /** Pool counters: connections idle, busy, being opened, callers waiting, opened so far. */
  get stats(): ConnectionPool['stats'] {
    return this.#pool.stats;
  }

  /** Close every connection (waits for operations in flight). Later calls fail with kind `closed`. */
  async close(): Promise<void> {
    await this.#pool.close();
  }

  // ---- connecting -----------------------------------------------------------------------------------------------

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

  /** An operation's context for its errors, with the server and the service account. */
  ctx(ctx: OperationContext): OperationContext {
    return { server: this.url, bindDn: this.bindDn, timeoutMs: this.timeoutMs, connectTimeoutMs: this.connectTimeoutMs, ...ctx };
  }

  async #connect(): Promise<Client> {
    for (let attempt = 0; ; attempt += 1) {
      const started = Date.now();
      const client = new Client(this.#clientOptions());
      try {
        await client.bind(this.bindDn, this.#password);
        this.log?.debug('directory: connected', { url: this.url, bindDn: this.bindDn, ms: Date.now() - started });
        return client;
      } catch (err) {
        await client.unbind().catch(() => undefined);
        const mapped = toDirectoryError(err, this.ctx({ action: 'connect' }));
        if (attempt === 0 && (mapped.kind === 'unavailable' || mapped.kind === 'connection-lost')) {
          this.log?.warn('directory: connecting failed, trying once more', { url: this.url, ...mapped.toLog() });
          await sleep(CONNECT_RETRY_DELAY_MS);
          continue;
        }
        this.log?.warn('directory: cannot connect', { url: this.url, bindDn: this.bindDn, ...mapped.toLog() });
        throw mapped;
      }
    }
  }

  /** Run `body` on one leased connection (a sequence of calls sees its own writes and never interleaves). */
  async session<T>(body: (s: Session) => Promise<T>): Promise<T> {
    const s = new Session(() => this.#pool.acquire(), this.log);
    try {
      return await body(s);
    } finally {
      s.end();
    }
  }

  /** A sequence that is safe to repeat as a whole (look, then change): repeated once if the connection broke. */
  async idempotent<T>(body: (s: Session) => Promise<T>): Promise<T> {
    try {
      return await this.session(body);
    } catch (err) {
      if (!(err instanceof DirectoryError) || !(err.kind === 'connection-lost' || err.kind === 'not-bound')) throw err;
      this.log?.warn('directory: connection lost during a repeatable sequence, repeating it', err.toLog());
      return this.session(body);
    }
  }

  // ---- low-level reads ----------------------------------------------------------------------------------------

  /** Entries below `base` matching `filter` (paged). */
  async search(s: Session, base: string, filter: Filter, attributes: string[], ctx: OperationContext): Promise<Entry[]> {
    const { searchEntries } = await s.op(this.ctx(ctx), true, (c) =>
      c.search(base, { scope: 'sub', filter, attributes, explicitBufferAttributes: ['objectGUID'], paged: { pageSize: 500 } }),
    );
    return searchEntries;
  }

  /** One entry by DN, or null if there is none. */
  async read(s: Session, dnString: string, attributes: string[], ctx?: OperationContext): Promise<Entry | null> {
    try {
      const { searchEntries } = await s.op(this.ctx(ctx ?? { action: 'read', dn: dnString, target: dn.describe(dnString) }), true, (c) =>
        c.search(dnString, { scope: 'base', attributes, explicitBufferAttributes: ['objectGUID'] }),
      );
      return searchEntries[0] ?? null;
    } catch (err) {
      if (err instanceof DirectoryError && err.kind === 'no-such-object') return null;
      throw err;
    }
  }

  /** All values of one attribute, following AD's ranged retrieval (`member;range=0-1499`) for large groups. */
  async readAll(s: Session, dnString: string, attribute: string): Promise<string[] | null> {
    const out: string[] = [];
    let request = attribute;
    for (;;) {
      const entry = await this.read(s, dnString, [request]);
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

  /** The domain's DN: configured, else the DC's defaultNamingContext (read once). */
  async base(s: Session): Promise<string> {
    this.#baseDn ??= (async () => {
      const root = await this.read(s, '', ['defaultNamingContext'], { action: 'read', target: "the domain controller's root entry" });
      const base = root ? first(root, 'defaultNamingContext') : undefined;
      if (!base) throw configurationError('The domain controller did not name its domain (no defaultNamingContext); configure baseDn.');
      return base;
    })().catch((err: unknown) => {
      this.#baseDn = undefined;
      throw err;
    });
    return this.#baseDn;
  }
}
