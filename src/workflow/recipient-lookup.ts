import { isGroupType, nameKeys, type AcceptedDomain, type FoundRecipient, type Holder, type NameQuery, type RecipientCandidate, type RecipientLookup, type RecipientMatch, type RecipientRelations } from '../requests';

/** The AD half (implemented by src/directory's DirectoryClient). */
export interface AdLookupPort {
  whoHas(query: NameQuery): Promise<readonly { name: string; dn: string }[]>;
  findByIdentity(identity: string): Promise<{ dn: string } | null>;
  get(dn: string): Promise<{ dn: string; mail?: string; userPrincipalName?: string } | null>;
  /** DNs of the groups the object is a direct member of; null if it does not exist. */
  memberOf(dn: string): Promise<string[] | null>;
  /** The DN its `manager` names; null if none. */
  managerOf(dn: string): Promise<string | null>;
}

/** The Exchange Online half (implemented by src/cloud's ExoClient). */
export interface ExoPort {
  invoke<T = Record<string, unknown>>(cmdlet: string, parameters?: Record<string, unknown>): Promise<{ value: T[] }>;
}

/** OPATH string literal: single quotes doubled. */
export function opathString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

interface ExoRecipientRow {
  Name?: string;
  DisplayName?: string;
  RecipientTypeDetails?: string;
  PrimarySmtpAddress?: string;
  IsDirSynced?: boolean;
  IsExchangeCloudManaged?: boolean | null;
  UserPrincipalName?: string;
  ExchangeObjectId?: string;
  Guid?: string;
  ExternalDirectoryObjectId?: string;
  DistinguishedName?: string;
  WindowsEmailAddress?: string;
}

/**
 * Uniqueness and identity checks across AD and Exchange Online, for validation. Accepted domains are cached
 * for a few minutes (they rarely change); everything else is asked live, because a request must not be filed
 * for a name that was taken a moment ago.
 */
export class HybridRecipientLookup implements RecipientLookup {
  private domains: { value: AcceptedDomain[]; until: number } | undefined;

  private readonly cacheMs: number;
  private readonly now: () => number;
  private readonly heldByRequests: ((keys: readonly string[]) => Promise<readonly { readonly reference: string }[]>) | undefined;

  constructor(
    private readonly ad: AdLookupPort,
    private readonly exo: ExoPort,
    options: {
      /** How long accepted domains are kept (ms). */
      readonly cacheMs?: number;
      readonly now?: () => number;
      /** The open requests that take any of these names when they run (the store); none when left out. */
      readonly heldByRequests?: (keys: readonly string[]) => Promise<readonly { readonly reference: string }[]>;
    } = {},
  ) {
    this.cacheMs = options.cacheMs ?? 5 * 60_000;
    this.now = options.now ?? Date.now;
    this.heldByRequests = options.heldByRequests;
  }

  async acceptedDomains(): Promise<AcceptedDomain[]> {
    if (this.domains && this.domains.until > this.now()) return this.domains.value;
    const { value } = await this.exo.invoke<{ DomainName?: string; Name?: string; Default?: boolean }>('Get-AcceptedDomain');
    const list = value.map((d) => ({ name: String(d.DomainName ?? d.Name ?? '').toLowerCase(), default: d.Default === true })).filter((d) => d.name);
    this.domains = { value: list, until: this.now() + this.cacheMs };
    return list;
  }

  async whoHas(what: NameQuery): Promise<Holder[]> {
    const [adHits, exoHits, requests] = await Promise.all([this.ad.whoHas(what), this.exoHolders(what), this.requestHolders(what)]);
    return [...adHits.map((h): Holder => ({ where: 'ad', name: h.name || h.dn, id: h.dn })), ...exoHits, ...requests];
  }

  /** Open requests that will take any of the names when they run (each once): they hold them as much as AD does. */
  private async requestHolders(what: NameQuery): Promise<Holder[]> {
    const keys = nameKeys(what);
    if (!this.heldByRequests || !keys.length) return [];
    const refs = new Set((await this.heldByRequests(keys)).map((h) => h.reference));
    return [...refs].map((reference): Holder => ({ where: 'request', name: reference }));
  }

  /** At most two Exchange calls whatever was asked: one Get-Recipient for the alias and addresses, one Get-User for the UPN. */
  private async exoHolders(what: NameQuery): Promise<Holder[]> {
    const recipientTerms: string[] = [];
    if (what.alias) recipientTerms.push(`Alias -eq ${opathString(what.alias)}`);
    const addresses = new Map<string, string>();
    for (const a of [what.address, ...(what.addresses ?? [])]) if (a) addresses.set(a.toLowerCase(), a);
    for (const a of addresses.values()) recipientTerms.push(`EmailAddresses -eq ${opathString(`smtp:${a}`)}`);
    const filters: { cmdlet: string; filter: string }[] = [];
    if (recipientTerms.length) filters.push({ cmdlet: 'Get-Recipient', filter: recipientTerms.length === 1 ? recipientTerms[0]! : recipientTerms.map((t) => `(${t})`).join(' -or ') });
    if (what.userPrincipalName) filters.push({ cmdlet: 'Get-User', filter: `UserPrincipalName -eq ${opathString(what.userPrincipalName)}` });
    const answers = await Promise.all(filters.map((f) => this.exo.invoke<ExoRecipientRow>(f.cmdlet, { Filter: f.filter, ResultSize: 10 })));
    const out: Holder[] = [];
    const seen = new Set<string>();
    for (const r of answers.flatMap((a) => a.value)) {
      const id = r.ExchangeObjectId ?? r.Guid;
      if (id) {
        if (seen.has(id)) continue;
        seen.add(id);
      }
      out.push({ where: 'exo', name: `${r.DisplayName || r.Name || r.PrimarySmtpAddress || '?'}${r.RecipientTypeDetails ? ` (${r.RecipientTypeDetails})` : ''}`, ...(id ? { id } : {}) });
    }
    return out;
  }

  /**
   * Get-Recipient -Identity: one recipient, none, or several. Exchange answers an identity that matches several
   * recipients with an error (ManagementObjectAmbiguousException) or, for some identities, with every match; either
   * way Mailroom lists them (see {@link recipientsNamed}) and picks none.
   */
  /**
   * The manager AD names, and the mail-enabled groups a recipient is a direct member of: the AD groups (AD keeps a
   * synced group's membership), each found in Exchange Online by its address (a group without `mail` is not
   * mail-enabled and is left out; so is one Exchange Online does not know yet), and the cloud-only ones Exchange Online
   * knows.
   */
  async relationsOf(recipient: FoundRecipient): Promise<RecipientRelations> {
    const [ad, cloudGroups] = await Promise.all([this.adRelations(recipient.adDn), this.cloudGroupsOf(recipient)]);
    return { manager: ad.manager, groups: [...ad.groups, ...cloudGroups] };
  }

  /**
   * The cloud-only mail-enabled groups a recipient is a direct member of: Get-DistributionGroup filtered on `Members`
   * by the recipient's DN in Exchange Online (the filter Microsoft documents for "which groups is this one in"). Synced
   * groups are left out: their membership is AD's, read there.
   */
  private async cloudGroupsOf(recipient: FoundRecipient): Promise<FoundRecipient[]> {
    const identity = recipient.exoId ?? recipient.primarySmtpAddress;
    if (!identity) return [];
    let dn: string | undefined;
    try {
      dn = (await this.exo.invoke<ExoRecipientRow>('Get-Recipient', { Identity: identity })).value[0]?.DistinguishedName;
    } catch (err) {
      if ((err as { notFound?: boolean }).notFound) return [];
      throw err;
    }
    if (!dn) return [];
    const rows = (await this.exo.invoke<ExoRecipientRow>('Get-DistributionGroup', { Filter: `Members -eq ${opathString(dn)}`, ResultSize: 'Unlimited' })).value;
    return distinctRows(rows)
      .filter((g) => g.IsDirSynced !== true && isGroupType(g.RecipientTypeDetails ?? ''))
      .map((g) => ({
        name: g.DisplayName || g.Name || g.PrimarySmtpAddress || '?',
        type: g.RecipientTypeDetails ?? '',
        primarySmtpAddress: g.PrimarySmtpAddress ?? '',
        isDirSynced: false,
        isExchangeCloudManaged: null,
        ...(g.ExchangeObjectId || g.Guid ? { exoId: g.ExchangeObjectId ?? g.Guid } : {}),
      }));
  }

  private async adRelations(adDn: string | undefined): Promise<{ manager: RecipientMatch | null; groups: FoundRecipient[] }> {
    if (adDn === undefined) return { manager: null, groups: [] };
    const [managerDn, groupDns] = await Promise.all([this.ad.managerOf(adDn), this.ad.memberOf(adDn)]);
    const byDn = async (dnString: string): Promise<RecipientMatch | null> => {
      const o = await this.ad.get(dnString);
      const key = o?.mail ?? o?.userPrincipalName;
      return key ? this.findRecipient(key) : null;
    };
    const [manager, ...groups] = await Promise.all([managerDn ? byDn(managerDn) : Promise.resolve(null), ...(groupDns ?? []).map(byDn)]);
    const found = groups.flatMap((m) => (m?.found === 'one' && isGroupType(m.recipient.type) ? [m.recipient] : []));
    return { manager: manager ?? null, groups: found };
  }

  async findRecipient(identity: string): Promise<RecipientMatch> {
    let rows: ExoRecipientRow[];
    try {
      rows = (await this.exo.invoke<ExoRecipientRow>('Get-Recipient', { Identity: identity })).value;
    } catch (err) {
      if ((err as { notFound?: boolean }).notFound) return { found: 'none' };
      if ((err as { ambiguous?: boolean }).ambiguous) return { found: 'several', candidates: await this.recipientsNamed(identity) };
      throw err;
    }
    rows = distinctRows(rows);
    if (rows.length > 1) return { found: 'several', candidates: rows.map(candidateOf) };
    const r = rows[0];
    if (!r) return { found: 'none' };
    let isExchangeCloudManaged: boolean | null = null;
    let userPrincipalName = r.UserPrincipalName;
    if (/Mailbox$/.test(r.RecipientTypeDetails ?? '')) {
      const mbx = (await this.exo.invoke<ExoRecipientRow>('Get-Mailbox', { Identity: r.PrimarySmtpAddress ?? identity })).value[0];
      isExchangeCloudManaged = mbx?.IsExchangeCloudManaged ?? null;
      userPrincipalName = mbx?.UserPrincipalName ?? userPrincipalName;
    }
    const adDn = r.IsDirSynced ? (await this.ad.findByIdentity(r.PrimarySmtpAddress ?? identity))?.dn : undefined;
    const recipient: FoundRecipient = {
      name: r.DisplayName || r.Name || identity,
      type: r.RecipientTypeDetails ?? 'Unknown',
      primarySmtpAddress: r.PrimarySmtpAddress ?? '',
      isDirSynced: r.IsDirSynced === true,
      isExchangeCloudManaged,
      ...(adDn ? { adDn } : {}),
      ...(userPrincipalName ? { userPrincipalName } : {}),
      ...(r.ExchangeObjectId || r.Guid ? { exoId: r.ExchangeObjectId ?? r.Guid } : {}),
    };
    return { found: 'one', recipient };
  }

  /**
   * The recipients an identity names, for the error that lists them: those whose name, alias, DN or an SMTP address
   * is the identity (Get-Recipient), and for an address the users whose UPN it is (Get-User; not a Get-Recipient
   * filter). At most {@link CANDIDATES_AT_MOST} of each.
   */
  private async recipientsNamed(identity: string): Promise<RecipientCandidate[]> {
    const q = opathString(identity);
    const recipientFilter = [`Name -eq ${q}`, `Alias -eq ${q}`, `DistinguishedName -eq ${q}`, `EmailAddresses -eq ${opathString(`smtp:${identity}`)}`].map((t) => `(${t})`).join(' -or ');
    const calls = [this.exo.invoke<ExoRecipientRow>('Get-Recipient', { Filter: recipientFilter, ResultSize: CANDIDATES_AT_MOST })];
    if (identity.includes('@')) calls.push(this.exo.invoke<ExoRecipientRow>('Get-User', { Filter: `UserPrincipalName -eq ${q}`, ResultSize: CANDIDATES_AT_MOST }));
    const answers = await Promise.all(calls);
    return distinctRows(answers.flatMap((a) => a.value)).map(candidateOf);
  }
}

/** How many recipients one listing query asks for (an identity without wildcards matches a handful at most). */
const CANDIDATES_AT_MOST = 100;

/** Rows without repeats (the same ExchangeObjectId or Guid). */
function distinctRows(rows: readonly ExoRecipientRow[]): ExoRecipientRow[] {
  const seen = new Set<string>();
  return rows.filter((r) => {
    const id = (r.ExchangeObjectId ?? r.Guid ?? '').toLowerCase();
    if (!id) return true;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

function candidateOf(r: ExoRecipientRow): RecipientCandidate {
  return { name: r.DisplayName || r.Name || r.PrimarySmtpAddress || '?', primarySmtpAddress: r.PrimarySmtpAddress || r.WindowsEmailAddress || r.UserPrincipalName || '' };
}
