/**
 * Test fixtures for the pure request and plan modules: a tenant profile and an in-memory RecipientLookup
 * (a fake is enough here: these are unit tests of pure modules; the adapters are tested against Samba and
 * the sandbox elsewhere).
 */
import type { AcceptedDomain, FoundRecipient, Holder, NameQuery, RecipientLookup, RecipientMatch, RecipientRelations } from '../../src/requests/lookup';
import { DEFAULT_NAMING } from '../../src/requests/naming';
import type { TenantProfile } from '../../src/requests/tenant-profile';

export const BASE = 'OU=Mailroom,DC=corp,DC=example';

export const PROFILE: TenantProfile = {
  exchangeAttributeMode: 'ad-mastered',
  sync: 'connect',
  licensing: { mode: 'direct', skuId: '4b9405b0-7788-4568-add1-99614e613b69', skuName: 'Exchange Online (Plan 1)' },
  ous: {
    users: `OU=Users,${BASE}`,
    shared: `OU=Shared,${BASE}`,
    rooms: `OU=Rooms,${BASE}`,
    equipment: `OU=Equipment,${BASE}`,
    mailUsers: `OU=External,${BASE}`,
    contacts: `OU=Contacts,${BASE}`,
    groups: `OU=Groups,${BASE}`,
  },
  upnSuffix: 'contoso.example',
  mailDomain: 'contoso.example',
  tenantDomain: 'contoso.onmicrosoft.com',
  defaultUsageLocation: 'DE',
  roomsKeepLicence: false,
  naming: DEFAULT_NAMING,
  cloudManageNewMailboxes: false,
  adHasExchangeSchema: false,
};

export const CLOUD_DEFAULT: TenantProfile = { ...PROFILE, exchangeAttributeMode: 'cloud-default', cloudManageNewMailboxes: true };

export const DOMAINS: AcceptedDomain[] = [
  { name: 'contoso.example', default: true },
  { name: 'contoso-sales.example', default: false },
  { name: 'contoso.onmicrosoft.com', default: false },
];

/** An object that holds names and addresses; with `recipient` it is also found by findRecipient. */
export interface FakeObject {
  readonly name: string;
  readonly where: 'ad' | 'exo';
  readonly sam?: string;
  readonly upn?: string;
  readonly alias?: string;
  readonly addresses?: readonly string[];
  /** Its distinguished name in AD (whoHas by DN compares it ignoring case). */
  readonly dn?: string;
  readonly recipient?: FoundRecipient;
  /** The identity of the manager AD names (relationsOf). */
  readonly manager?: string;
  /** Primary addresses of the mail-enabled groups it is a direct member of (relationsOf). */
  readonly memberOf?: readonly string[];
}

export class FakeLookup implements RecipientLookup {
  calls = 0;
  /** When set, every call rejects with this error (an outage). */
  failWith: Error | null = null;
  private readonly index = new Map<string, Holder[]>();

  constructor(
    private readonly objects: readonly FakeObject[] = [],
    private readonly domains: readonly AcceptedDomain[] = DOMAINS,
  ) {
    const put = (key: string, h: Holder): void => {
      const list = this.index.get(key) ?? [];
      list.push(h);
      this.index.set(key, list);
    };
    for (const o of objects) {
      const h = { where: o.where, name: o.name };
      if (o.sam) put(`sam:${o.sam.toLowerCase()}`, h);
      if (o.upn) put(`upn:${o.upn.toLowerCase()}`, h);
      if (o.alias) put(`alias:${o.alias.toLowerCase()}`, h);
      for (const a of o.addresses ?? []) put(`address:${a.toLowerCase()}`, h);
      if (o.dn) put(`dn:${o.dn.toLowerCase()}`, h);
      if (o.recipient) put(`address:${o.recipient.primarySmtpAddress.toLowerCase()}`, h);
    }
  }

  /** Counts the call; an outage rejects every call. */
  private answer<T>(compute: () => T): Promise<T> {
    this.calls++;
    if (this.failWith) return Promise.reject(this.failWith);
    try {
      return Promise.resolve(compute());
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  acceptedDomains(): Promise<AcceptedDomain[]> {
    return this.answer(() => [...this.domains]);
  }

  whoHas(what: NameQuery): Promise<Holder[]> {
    return this.answer(() => {
      const keys: string[] = [];
      if (what.samAccountName !== undefined) keys.push(`sam:${what.samAccountName}`);
      if (what.userPrincipalName !== undefined) keys.push(`upn:${what.userPrincipalName}`);
      if (what.alias !== undefined) keys.push(`alias:${what.alias}`);
      for (const a of [what.address, ...(what.addresses ?? [])]) if (a !== undefined) keys.push(`address:${a}`);
      if (what.dn !== undefined) keys.push(`dn:${what.dn}`);
      if (keys.length === 0) throw new Error('whoHas was asked for nothing');
      const found = new Set<Holder>();
      for (const k of keys) for (const h of this.index.get(k.toLowerCase()) ?? []) found.add(h);
      return [...found];
    });
  }

  relationsOf(recipient: FoundRecipient): Promise<RecipientRelations> {
    return this.answer((): RecipientRelations => {
      const o = this.objects.find((x) => x.recipient?.primarySmtpAddress.toLowerCase() === recipient.primarySmtpAddress.toLowerCase());
      const one = (id: string): FoundRecipient[] => {
        const m = this.match(id);
        return m.found === 'one' ? [m.recipient] : [];
      };
      return { manager: o?.manager ? this.match(o.manager) : null, groups: (o?.memberOf ?? []).flatMap(one) };
    });
  }

  /** Every recipient whose primary address, UPN, alias or an address is the identity (compared ignoring case). */
  findRecipient(identity: string): Promise<RecipientMatch> {
    return this.answer(() => this.match(identity));
  }

  private match(identity: string): RecipientMatch {
    {
      const id = identity.toLowerCase();
      const hits = this.objects.flatMap((x) =>
        x.recipient &&
        (x.recipient.primarySmtpAddress.toLowerCase() === id ||
          x.upn?.toLowerCase() === id ||
          x.alias?.toLowerCase() === id ||
          (x.addresses ?? []).some((a) => a.toLowerCase() === id))
          ? [x.recipient]
          : [],
      );
      const [first] = hits;
      if (!first) return { found: 'none' };
      if (hits.length === 1) return { found: 'one', recipient: first };
      return { found: 'several', candidates: hits.map((r) => ({ name: r.name, primarySmtpAddress: r.primarySmtpAddress })) };
    }
  }
}

const dn = (cn: string, ou = `OU=Users,${BASE}`): string => `CN=${cn},${ou}`;

/** A directory with a few people and recipients of every type. */
export function sampleObjects(): FakeObject[] {
  return [
    {
      name: 'Ada Byron', where: 'ad', sam: 'abyron', upn: 'ada.byron@contoso.example', alias: 'ada',
      addresses: ['ada@contoso.example', 'ada.byron@contoso.example'],
      recipient: { name: 'Ada Byron', type: 'UserMailbox', primarySmtpAddress: 'ada.byron@contoso.example', isDirSynced: true, isExchangeCloudManaged: false, adDn: dn('Ada Byron'), userPrincipalName: 'ada.byron@contoso.example' },
      manager: 'grace.hopper@contoso.example',
      memberOf: ['allstaff@contoso.example', 'helpdesk@contoso.example'],
    },
    {
      name: 'Grace Hopper', where: 'ad', sam: 'ghopper', upn: 'grace.hopper@contoso.example', alias: 'grace.hopper',
      addresses: ['grace.hopper@contoso.example', 'grace@contoso.example'],
      recipient: { name: 'Grace Hopper', type: 'UserMailbox', primarySmtpAddress: 'grace.hopper@contoso.example', isDirSynced: true, isExchangeCloudManaged: true, adDn: dn('Grace Hopper'), userPrincipalName: 'grace.hopper@contoso.example' },
    },
    {
      name: 'Cloud Only', where: 'exo', upn: 'cloud.only@contoso.example', alias: 'cloud.only', addresses: ['cloud.only@contoso.example'],
      recipient: { name: 'Cloud Only', type: 'UserMailbox', primarySmtpAddress: 'cloud.only@contoso.example', isDirSynced: false, isExchangeCloudManaged: false, userPrincipalName: 'cloud.only@contoso.example' },
    },
    {
      name: 'Team Sales', where: 'ad', sam: 'teamsales', upn: 'sales@contoso.example', alias: 'sales', addresses: ['sales@contoso.example'],
      recipient: { name: 'Team Sales', type: 'SharedMailbox', primarySmtpAddress: 'sales@contoso.example', isDirSynced: true, isExchangeCloudManaged: false, adDn: dn('Team Sales', `OU=Shared,${BASE}`), userPrincipalName: 'sales@contoso.example' },
    },
    {
      name: 'Pat Partner', where: 'ad', sam: 'ppartner', upn: 'pat.partner@contoso.example', alias: 'pat.partner', addresses: ['pat@partner.example'],
      recipient: { name: 'Pat Partner', type: 'MailUser', primarySmtpAddress: 'pat@partner.example', isDirSynced: true, isExchangeCloudManaged: null, adDn: dn('Pat Partner', `OU=External,${BASE}`), userPrincipalName: 'pat.partner@contoso.example' },
    },
    {
      name: 'Vera Vendor', where: 'ad', alias: 'vera.vendor', addresses: ['vera@vendor.example'],
      recipient: { name: 'Vera Vendor', type: 'MailContact', primarySmtpAddress: 'vera@vendor.example', isDirSynced: true, isExchangeCloudManaged: null, adDn: dn('Vera Vendor', `OU=Contacts,${BASE}`) },
    },
    {
      name: 'All Staff', where: 'ad', sam: 'allstaff', alias: 'allstaff', addresses: ['allstaff@contoso.example'],
      recipient: { name: 'All Staff', type: 'MailUniversalDistributionGroup', primarySmtpAddress: 'allstaff@contoso.example', isDirSynced: true, isExchangeCloudManaged: null, adDn: dn('All Staff', `OU=Groups,${BASE}`) },
    },
    {
      name: 'Board Room', where: 'ad', sam: 'boardroom', upn: 'boardroom@contoso.example', alias: 'boardroom', addresses: ['boardroom@contoso.example'],
      recipient: { name: 'Board Room', type: 'RoomMailbox', primarySmtpAddress: 'boardroom@contoso.example', isDirSynced: true, isExchangeCloudManaged: false, adDn: dn('Board Room', `OU=Rooms,${BASE}`), userPrincipalName: 'boardroom@contoso.example' },
    },
    {
      name: 'Cloud Team', where: 'exo', alias: 'cloudteam', addresses: ['cloudteam@contoso.example'],
      recipient: { name: 'Cloud Team', type: 'MailUniversalDistributionGroup', primarySmtpAddress: 'cloudteam@contoso.example', isDirSynced: false, isExchangeCloudManaged: null, exoId: '5f0c1e2d-0000-4000-8000-00000000c10d' },
    },
    {
      name: 'Helpdesk', where: 'ad', sam: 'helpdesk', alias: 'helpdesk', addresses: ['helpdesk@contoso.example'],
      recipient: { name: 'Helpdesk', type: 'MailUniversalSecurityGroup', primarySmtpAddress: 'helpdesk@contoso.example', isDirSynced: true, isExchangeCloudManaged: null, adDn: dn('Helpdesk', `OU=Groups,${BASE}`) },
    },
    { name: 'Guest Gary', where: 'exo', alias: 'gary_guest', addresses: ['gary@elsewhere.example'], recipient: { name: 'Guest Gary', type: 'GuestMailUser', primarySmtpAddress: 'gary@elsewhere.example', isDirSynced: false, isExchangeCloudManaged: null } },
    // AD-only account (no mail): holds a logon name.
    { name: 'CN=Service Account,OU=Service,DC=corp,DC=example', where: 'ad', sam: 'svc-backup', upn: 'svc-backup@contoso.example' },
  ];
}
