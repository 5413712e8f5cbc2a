/**
 * The sync engine's read side of AD: one LDAPS connection (CA verified, connect and operation
 * timeouts set), paged searches, the USN watermark from the rootDSE, tombstones through the Show Deleted
 * control. Values that go into filters are escaped with ldapts' `escapeFilter`.
 */
import { Attribute, Change, Client, Control, EqualityFilter, escapeFilter, NoSuchObjectError, type ClientOptions, type Filter } from 'ldapts';
import { BINARY_ATTRIBUTES, SYNC_ATTRIBUTES, type LdapEntry } from './mapping';

/** LDAP_SERVER_SHOW_DELETED_OID: return tombstones (isDeleted=TRUE). */
const SHOW_DELETED_OID = '1.2.840.113556.1.4.417';
/** LDAP_SERVER_SHOW_RECYCLED_OID: also return recycled objects (AD with the Recycle Bin). */
const SHOW_RECYCLED_OID = '1.2.840.113556.1.4.2064';
/** LDAP_SERVER_EXTENDED_DN_OID: DN values as `<GUID=…>;<SID=…>;CN=…` (members with their objectGUID). */
const EXTENDED_DN_OID = '1.2.840.113556.1.4.529';

/** Everything the engine syncs: users (not computers), contacts, groups. */
export const SYNC_CLASS_FILTER = '(|(&(objectCategory=person)(objectClass=user))(&(objectCategory=person)(objectClass=contact))(objectCategory=group))';

export interface DirectoryConnection {
  /** `ldaps://host:636` */
  url: string;
  baseDn: string;
  bindDn: string;
  password: string;
  /** PEM of the CA that signed the DC's certificate. */
  caPem: string | Buffer;
  /** TCP + TLS connect timeout. Default 5 s. */
  connectTimeoutMs?: number;
  /** Timeout of each LDAP operation. Default 15 s. */
  timeoutMs?: number;
}

const PAGE_SIZE = 500;

function clientOptions(conn: DirectoryConnection): ClientOptions {
  if (!/^ldaps:\/\//i.test(conn.url)) {
    throw new Error(`the sync engine reads AD over LDAPS only; ${conn.url} is not an ldaps:// URL`);
  }
  // A fresh object each time: ldapts may mutate TLS options.
  return {
    url: conn.url,
    tlsOptions: { ca: conn.caPem, minVersion: 'TLSv1.2' },
    connectTimeout: conn.connectTimeoutMs ?? 5_000,
    timeout: conn.timeoutMs ?? 15_000,
  };
}

/** A bound connection (the engine keeps it between cycles that follow closely). Close it with {@link AdSession.close}. */
export class AdSession {
  private constructor(
    private readonly client: Client,
    private readonly baseDn: string,
  ) {}

  static async open(conn: DirectoryConnection): Promise<AdSession> {
    const client = new Client(clientOptions(conn));
    try {
      await client.bind(conn.bindDn, conn.password);
    } catch (err) {
      await client.unbind().catch(() => undefined);
      throw err;
    }
    return new AdSession(client, conn.baseDn);
  }

  async close(): Promise<void> {
    await this.client.unbind().catch(() => undefined);
  }

  /** Whether the socket is still open (the DC may close an idle connection, or restart). */
  get connected(): boolean {
    return this.client.isConnected;
  }

  /** The DC's highestCommittedUSN: every change after it has a greater uSNChanged. */
  async highestCommittedUsn(): Promise<number> {
    const { searchEntries } = await this.client.search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['highestCommittedUSN'] });
    const raw = searchEntries[0]?.highestCommittedUSN;
    const value = Array.isArray(raw) ? raw[0] : raw;
    const n = Number(Buffer.isBuffer(value) ? value.toString('utf8') : value);
    if (!Number.isSafeInteger(n)) throw new Error('the rootDSE has no highestCommittedUSN');
    return n;
  }

  /** All users, contacts and groups of the domain, or those changed after `afterUsn`. */
  async objects(afterUsn: number | null): Promise<LdapEntry[]> {
    const filter = afterUsn === null ? SYNC_CLASS_FILTER : `(&${SYNC_CLASS_FILTER}${escapeFilter`(uSNChanged>=${afterUsn + 1})`})`;
    return this.search(this.baseDn, 'sub', filter, [new Control(EXTENDED_DN_OID)]);
  }

  /**
   * One object by its objectGUID (bytes as AD stores them), or null. A Filter object, not a string: ldapts
   * parses `\xx` escapes in a filter string as UTF-8 text, which breaks binary values.
   */
  async objectByGuid(guid: Buffer): Promise<LdapEntry | null> {
    const found = await this.search(this.baseDn, 'sub', new EqualityFilter({ attribute: 'objectGUID', value: guid }), [new Control(EXTENDED_DN_OID)]);
    return found[0] ?? null;
  }

  /** One object by DN, or null when there is none (or the DN is not under the domain). */
  async objectByDn(dn: string): Promise<LdapEntry | null> {
    try {
      const found = await this.search(dn, 'base', '(objectClass=*)', [new Control(EXTENDED_DN_OID)]);
      return found[0] ?? null;
    } catch (err) {
      if (err instanceof NoSuchObjectError) return null;
      throw err;
    }
  }

  /** Tombstones of objects deleted after `afterUsn` (objectGUID survives deletion). */
  async deletedSince(afterUsn: number): Promise<LdapEntry[]> {
    const filter = escapeFilter`(&(isDeleted=TRUE)(uSNChanged>=${afterUsn + 1}))`;
    return this.search(this.baseDn, 'sub', filter, [new Control(SHOW_DELETED_OID), new Control(SHOW_RECYCLED_OID)], ['objectGUID', 'objectClass', 'uSNChanged']);
  }

  /** Adds an OU if it is missing. Returns true when it was created. */
  async ensureOu(dn: string, description: string): Promise<boolean> {
    const existing = await this.search(dn, 'base', '(objectClass=organizationalUnit)', [], ['ou']).catch((err: unknown) => {
      if (err instanceof NoSuchObjectError) return [];
      throw err;
    });
    if (existing.length > 0) return false;
    await this.client.add(dn, { objectClass: ['top', 'organizationalUnit'], description });
    return true;
  }

  /** Adds a UPN suffix to the forest (`uPNSuffixes` of CN=Partitions) if it is missing. */
  async ensureUpnSuffix(suffix: string): Promise<boolean> {
    const partitions = `CN=Partitions,CN=Configuration,${this.baseDn}`;
    const [entry] = await this.search(partitions, 'base', '(objectClass=*)', [], ['uPNSuffixes']);
    const raw = entry?.uPNSuffixes ?? [];
    const have = (Array.isArray(raw) ? raw : [raw]).map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : v).toLowerCase());
    if (have.includes(suffix.toLowerCase())) return false;
    await this.client.modify(partitions, new Change({ operation: 'add', modification: new Attribute({ type: 'uPNSuffixes', values: [suffix] }) }));
    return true;
  }

  private async search(base: string, scope: 'base' | 'sub', filter: string | Filter, controls: Control[], attributes: readonly string[] = SYNC_ATTRIBUTES): Promise<LdapEntry[]> {
    const { searchEntries } = await this.client.search(
      base,
      {
        scope,
        filter,
        attributes: [...attributes],
        explicitBufferAttributes: [...BINARY_ATTRIBUTES],
        ...(scope === 'base' ? {} : { paged: { pageSize: PAGE_SIZE } }),
      },
      controls,
    );
    return searchEntries;
  }
}
