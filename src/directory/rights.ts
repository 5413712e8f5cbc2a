/**
 * Reading what the service account may do in AD, for the doctor: who it is (its SID and groups), the schema GUIDs
 * of classes, attributes and extended rights, and per object the rights the DC computes itself
 * (`allowedChildClassesEffective`, `allowedAttributesEffective`) and its DACL (nTSecurityDescriptor with the SD
 * flags control asking for the DACL only, which Authenticated Users may read on OUs by default). Reads only.
 */
import { Control, type Entry, type Filter } from 'ldapts';
import { guidToString } from './attributes';
import { DirectoryConnection, type DirectoryClientOptions } from './connection';
import * as dn from './dn';
import { buffer, first, values } from './entries';
import { DirectoryError } from './errors';
import { and, eq, or } from './filter';
import { parseSecurityDescriptor, sidToString, WELL_KNOWN_SIDS, type Ace } from './security';

/** LDAP_SERVER_SD_FLAGS_OID with DACL_SECURITY_INFORMATION (4): read the DACL without the right to read the SACL. */
class DaclOnlyControl extends Control {
  constructor() {
    super('1.2.840.113556.1.4.801', { critical: true });
  }

  protected override writeControl(writer: { writeBuffer(buffer: Buffer, tag: number): void }): void {
    // BER: SEQUENCE { INTEGER 4 }, as the control's OCTET STRING value.
    writer.writeBuffer(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x04]), 0x04);
  }
}

export interface ServiceAccount {
  readonly dn: string;
  readonly sid: string;
  readonly userPrincipalName?: string;
  readonly samAccountName?: string;
  /** The account's SID, its groups (tokenGroups, when readable) and the well-known SIDs of every signed-in token. */
  readonly tokenSids: ReadonlySet<string>;
  /** False when tokenGroups could not be read: rights given to the account's groups are then not seen. */
  readonly groupsKnown: boolean;
}

export interface SchemaIds {
  /** lDAPDisplayName (as the schema spells it) → schemaIDGUID, for the classes and attributes found. */
  readonly guids: ReadonlyMap<string, string>;
  /** Attribute → its property set (attributeSecurityGUID), when it belongs to one. */
  readonly propertySets: ReadonlyMap<string, string>;
}

export interface ObjectRights {
  readonly dn: string;
  readonly objectClasses: readonly string[];
  /** Classes the account may create below it, as the DC computes them. */
  readonly allowedChildClassesEffective: readonly string[];
  /** Attributes the account may write on it, as the DC computes them. */
  readonly allowedAttributesEffective: readonly string[];
  /** Null when the DACL could not be read. */
  readonly dacl: readonly Ace[] | null;
}

const lower = (s: string): string => s.toLowerCase();

export class DirectoryRightsReader {
  readonly #ldap: DirectoryConnection;

  constructor(options: DirectoryClientOptions) {
    this.#ldap = new DirectoryConnection({ ...options, maxConnections: 1 });
  }

  get url(): string {
    return this.#ldap.url;
  }

  async close(): Promise<void> {
    await this.#ldap.close();
  }

  /** Connects and signs in (throws the DirectoryError of the TLS handshake or the bind); answers the domain's DN. */
  async signIn(): Promise<string> {
    return this.#ldap.session((s) => this.#ldap.base(s));
  }

  /** The naming contexts of the rootDSE. */
  async namingContexts(): Promise<{ schema: string; configuration: string }> {
    return this.#ldap.session(async (s) => {
      const root = await this.#ldap.read(s, '', ['schemaNamingContext', 'configurationNamingContext'], { action: 'read', target: "the domain controller's root entry" });
      const schema = root ? first(root, 'schemaNamingContext') : undefined;
      const configuration = root ? first(root, 'configurationNamingContext') : undefined;
      if (!schema || !configuration) throw new Error('the domain controller did not name its schema and configuration partitions');
      return { schema, configuration };
    });
  }

  /** The signed-in account: found by DN, UPN or DOMAIN\name as configured. */
  async account(bindName: string): Promise<ServiceAccount> {
    return this.#ldap.session(async (s) => {
      const base = await this.#ldap.base(s);
      const name = bindName.trim();
      let entry: Entry | null = null;
      if (dn.looksLikeDn(name)) {
        const found = await this.#search(s, name, 'base', eq('objectClass', 'top'), ['objectSid', 'userPrincipalName', 'sAMAccountName']).catch((err: unknown) => {
          if (err instanceof DirectoryError && err.kind === 'no-such-object') return [];
          throw err;
        });
        entry = found[0] ?? null;
      } else {
        const sam = /^[^\\]+\\(.+)$/.exec(name)?.[1];
        const filter: Filter = and(eq('objectCategory', 'person'), sam ? eq('sAMAccountName', sam) : or(eq('userPrincipalName', name), eq('sAMAccountName', name.replace(/@.*$/, ''))));
        const found = await this.#search(s, base, 'sub', filter, ['objectSid', 'userPrincipalName', 'sAMAccountName']);
        entry = found.length === 1 ? found[0]! : (found.find((e) => first(e, 'userPrincipalName')?.toLowerCase() === name.toLowerCase()) ?? null);
      }
      const sidBytes = entry ? buffer(entry, 'objectSid') : undefined;
      if (!entry || !sidBytes) throw new Error(`the service account '${name}' signed in, but Mailroom cannot find its own object in the directory`);
      const sid = sidToString(sidBytes);
      const sids = new Set<string>([sid, ...Object.values(WELL_KNOWN_SIDS)]);
      let groupsKnown = false;
      const groups = await this.#search(s, entry.dn, 'base', eq('objectClass', 'user'), ['tokenGroups']).catch(() => []);
      const raw = groups[0]?.tokenGroups;
      const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
      for (const g of list) {
        if (Buffer.isBuffer(g)) {
          sids.add(sidToString(g));
          groupsKnown = true;
        }
      }
      const upn = first(entry, 'userPrincipalName');
      const sam = first(entry, 'sAMAccountName');
      return { dn: entry.dn, sid, ...(upn ? { userPrincipalName: upn } : {}), ...(sam ? { samAccountName: sam } : {}), tokenSids: sids, groupsKnown };
    });
  }

  /** schemaIDGUIDs of classes and attributes (by lDAPDisplayName) and the property sets of the attributes. */
  async schemaIds(names: readonly string[]): Promise<SchemaIds> {
    const { schema } = await this.namingContexts();
    return this.#ldap.session(async (s) => {
      const found = await this.#search(s, schema, 'one', or(...names.map((n) => eq('lDAPDisplayName', n))), ['lDAPDisplayName', 'schemaIDGUID', 'attributeSecurityGUID']);
      const guids = new Map<string, string>();
      const propertySets = new Map<string, string>();
      for (const e of found) {
        const name = first(e, 'lDAPDisplayName');
        const id = buffer(e, 'schemaIDGUID');
        if (!name || !id) continue;
        const wanted = names.find((n) => lower(n) === lower(name)) ?? name;
        guids.set(wanted, guidToString(id));
        const set = buffer(e, 'attributeSecurityGUID');
        if (set?.length === 16) propertySets.set(wanted, guidToString(set));
      }
      return { guids, propertySets };
    });
  }

  /** The rightsGuid of an extended right by its cn (e.g. `User-Force-Change-Password`, shown as "Reset Password"). */
  async extendedRight(cn: string): Promise<string | undefined> {
    const { configuration } = await this.namingContexts();
    return this.#ldap.session(async (s) => {
      const container = dn.child(configuration, dn.rdn('CN', 'Extended-Rights'));
      const found = await this.#search(s, container, 'one', eq('cn', cn), ['rightsGuid']);
      return found[0] ? first(found[0], 'rightsGuid')?.toLowerCase() : undefined;
    });
  }

  /** An object's effective rights and DACL; null when it does not exist (or the account cannot see it). */
  async objectRights(objectDn: string): Promise<ObjectRights | null> {
    dn.parse(objectDn);
    return this.#ldap.session(async (s) => {
      let entries: Entry[];
      try {
        entries = await this.#search(s, objectDn, 'base', eq('objectClass', 'top'), ['objectClass', 'allowedChildClassesEffective', 'allowedAttributesEffective', 'nTSecurityDescriptor'], [new DaclOnlyControl()]);
      } catch (err) {
        if (err instanceof DirectoryError && err.kind === 'no-such-object') return null;
        throw err;
      }
      const e = entries[0];
      if (!e) return null;
      const sd = buffer(e, 'nTSecurityDescriptor');
      let dacl: readonly Ace[] | null = null;
      if (sd && sd.length >= 20) {
        try {
          dacl = parseSecurityDescriptor(sd).dacl;
        } catch {
          dacl = null;
        }
      }
      return {
        dn: e.dn,
        objectClasses: values(e, 'objectClass'),
        allowedChildClassesEffective: values(e, 'allowedChildClassesEffective'),
        allowedAttributesEffective: values(e, 'allowedAttributesEffective'),
        dacl: sd ? dacl : null,
      };
    });
  }

  /** One object of a class directly below a container (users without computers), or null. */
  async oneChild(containerDn: string, objectClass: 'user' | 'contact' | 'group'): Promise<string | null> {
    const filter = objectClass === 'group' ? eq('objectCategory', 'group') : and(eq('objectCategory', 'person'), eq('objectClass', objectClass));
    const ctx = this.#ldap.ctx({ action: 'read', dn: containerDn, target: dn.describe(containerDn) });
    // The first page of one entry is enough: an OU may hold many thousands.
    return this.#ldap.session((s) =>
      s.op(ctx, true, async (c) => {
        for await (const page of c.searchPaginated(containerDn, { scope: 'one', filter, attributes: ['cn'], paged: { pageSize: 1 } })) {
          return page.searchEntries[0]?.dn ?? null;
        }
        return null;
      }),
    );
  }

  async #search(
    s: Parameters<Parameters<DirectoryConnection['session']>[0]>[0],
    base: string,
    scope: 'base' | 'one' | 'sub',
    filter: Filter,
    attributes: string[],
    controls: Control[] = [],
  ): Promise<Entry[]> {
    const ctx = this.#ldap.ctx({ action: 'read', dn: base, target: dn.looksLikeDn(base) ? dn.describe(base) : base });
    const { searchEntries } = await s.op(ctx, true, (c) =>
      c.search(
        base,
        {
          scope,
          filter,
          attributes,
          explicitBufferAttributes: ['objectSid', 'tokenGroups', 'schemaIDGUID', 'attributeSecurityGUID', 'nTSecurityDescriptor'],
          ...(scope === 'base' ? {} : { paged: { pageSize: 500 } }),
        },
        controls,
      ),
    );
    return searchEntries;
  }
}
