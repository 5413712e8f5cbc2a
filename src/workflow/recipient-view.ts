/**
 * Reading recipients: `show` composes one view of a recipient from Active Directory, Entra ID (Graph) and Exchange
 * Online, `find` lists the recipients whose names or addresses start with a text. Reads need no approval and change
 * nothing; each look-up is audited (who looked up what and how many were found, never what the card showed).
 *
 * Every part of the card is read on its own: a part that cannot be read (a cmdlet the caller may not run, a service
 * that does not answer) becomes "could not read …" on the card and the rest is still shown.
 */
import type { Logger } from '../log';
import type { RecipientMatch } from '../requests';
import type { AuditEventInput } from '../store';
import { exchangeAttributeDifferences } from './drift';
import { opathString } from './recipient-lookup';
import type { RequestActor } from './use-cases';

// ------------------------------------------------------------------------------------------------- ports

/** The Exchange Online cmdlets (src/cloud's ExoClient). */
export interface RecipientExoPort {
  invoke<T = Record<string, unknown>>(cmdlet: string, parameters?: Record<string, unknown>): Promise<{ value: T[] }>;
}

/** An AD object as the card needs it (src/directory's DirectoryObject fits). */
export interface AdRecipient {
  readonly dn: string;
  readonly objectClass: string;
  readonly displayName?: string;
  readonly userPrincipalName?: string;
  readonly mail?: string;
  readonly mailNickname?: string;
  readonly proxyAddresses: readonly string[];
  readonly hiddenFromAddressLists?: boolean;
  readonly enabled?: boolean;
}

/** Active Directory (src/directory's DirectoryClient). */
export interface RecipientAdPort {
  /** Null if none; throws a DirectoryError of kind `ambiguous` when several objects match. */
  findByIdentity(identity: string): Promise<AdRecipient | null>;
  /** DNs of the groups the object is a direct member of; null if it does not exist. */
  memberOf(dn: string): Promise<string[] | null>;
}

/** Entra ID (src/cloud's GraphDirectory). */
export interface RecipientGraphPort {
  user<T = Record<string, unknown>>(idOrUpn: string, select: readonly string[]): Promise<T | null>;
  memberOfGroups(userId: string): Promise<readonly { id: string; displayName: string; onPremisesSyncEnabled: boolean }[]>;
  subscribedSkus(): Promise<readonly { skuId: string; skuPartNumber: string }[]>;
}

/** Identity resolution shared with validation (HybridRecipientLookup.findRecipient): none, one or several. */
export interface RecipientFinder {
  findRecipient(identity: string): Promise<RecipientMatch>;
}

export interface RecipientViewDeps {
  readonly exo: RecipientExoPort;
  readonly ad: RecipientAdPort;
  readonly graph: RecipientGraphPort;
  readonly finder: RecipientFinder;
  /** Whether AD has Exchange's schema (msExchHideFromAddressLists): from the tenant profile. */
  readonly adHasExchangeSchema: () => Promise<boolean>;
  readonly audit: (e: AuditEventInput) => Promise<unknown>;
  readonly log: Logger;
}

// ------------------------------------------------------------------------------------------------- the view

/** A part of the card: read, or why it could not be read. */
export type Section<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

export interface RecipientView {
  readonly name: string;
  /** In words: "User mailbox", "Mail contact", "Distribution group" … */
  readonly kind: string;
  /** Exchange Online's RecipientTypeDetails; null when Exchange Online has no recipient for it. */
  readonly recipientTypeDetails: string | null;
  /** What the change forms are pre-filled with: the primary SMTP address, else the UPN, else the DN. */
  readonly identity: string;
  readonly adDn: string | null;
  readonly userPrincipalName: string | null;
  readonly primarySmtpAddress: string | null;
  /** The SMTP addresses, primary first. */
  readonly addresses: readonly string[];
  readonly isDirSynced: boolean;
  /** Mailboxes only (null for other kinds). */
  readonly isExchangeCloudManaged: boolean | null;
  /** Who masters what, in one sentence. */
  readonly authority: string;
  /** Users: whether the account is enabled (AD for synced users, else Entra ID); null for others or unknown. */
  readonly accountEnabled: boolean | null;
  /** Users only (null for contacts and groups): licence names (skuPartNumber). */
  readonly licences: Section<readonly string[]> | null;
  /** Mailboxes: Regular, Shared, Room, Equipment; null for other kinds. */
  readonly mailboxType: string | null;
  /** HiddenFromAddressListsEnabled (AD's msExchHideFromAddressLists when Exchange has no recipient). */
  readonly hidden: boolean | null;
  /** Mailboxes: a sentence, or null when mail is not forwarded. */
  readonly forwarding: Section<string | null> | null;
  readonly memberOf: Section<readonly string[]>;
  /** Groups: how many members (at most MEMBERS_COUNTED) and the first names. */
  readonly members: Section<{ readonly count: number; readonly more: boolean; readonly names: readonly string[] }> | null;
  /** Groups: ManagedBy. */
  readonly managedBy: readonly string[] | null;
  /** Mailboxes: who holds FullAccess (not inherited, not denied, not SELF). */
  readonly fullAccess: Section<readonly string[]> | null;
  /** Mailboxes and groups: who holds Send As. */
  readonly sendAs: Section<readonly string[]> | null;
  /** Mailboxes and groups: GrantSendOnBehalfTo. */
  readonly sendOnBehalf: Section<readonly string[]> | null;
  /** Synced recipients: which side masters the Exchange attributes, and what differs; null when not synced. */
  readonly drift: Section<{ readonly master: 'ad' | 'exchange'; readonly differences: readonly string[] }> | null;
}

export interface RecipientListItem {
  readonly name: string;
  readonly kind: string;
  /** Primary SMTP address, else UPN. */
  readonly address: string;
}

export type ShowResult =
  | { readonly found: 'one'; readonly recipient: RecipientView }
  | { readonly found: 'several'; readonly candidates: readonly RecipientListItem[]; readonly note?: string }
  | { readonly found: 'none' }
  | { readonly found: 'invalid'; readonly message: string }
  | { readonly found: 'failed'; readonly message: string };

export type FindResult =
  | { readonly ok: true; readonly items: readonly RecipientListItem[]; readonly more: boolean }
  | { readonly ok: false; readonly message: string };

/** `show` and `find` as the chat layer calls them. */
export interface RecipientViews {
  show(actor: RequestActor, identity: string): Promise<ShowResult>;
  find(actor: RequestActor, text: string): Promise<FindResult>;
}

/** How many matches `find` lists. */
export const FIND_AT_MOST = 20;
/** How many group members the card names, and how many it counts. */
export const MEMBERS_NAMED = 15;
export const MEMBERS_COUNTED = 1000;
/** The longest identity or search text accepted (Exchange's longest identities, DNs, are far shorter). */
export const LOOKUP_MAX_CHARS = 256;

// ------------------------------------------------------------------------------------------------- helpers

interface ExoRow {
  Name?: string;
  DisplayName?: string;
  Alias?: string;
  RecipientTypeDetails?: string;
  PrimarySmtpAddress?: string;
  WindowsEmailAddress?: string;
  EmailAddresses?: string[];
  HiddenFromAddressListsEnabled?: boolean;
  IsDirSynced?: boolean;
  IsExchangeCloudManaged?: boolean | null;
  UserPrincipalName?: string;
  ExternalDirectoryObjectId?: string;
  ExchangeObjectId?: string;
  Guid?: string;
  ForwardingSmtpAddress?: string | null;
  ForwardingAddress?: string | null;
  DeliverToMailboxAndForward?: boolean;
  GrantSendOnBehalfTo?: string[] | string | null;
  ManagedBy?: string[] | string | null;
}

interface EntraUser {
  id: string;
  accountEnabled?: boolean;
  assignedLicenses?: { skuId: string }[];
  onPremisesSyncEnabled?: boolean | null;
}

const KIND_NAMES: Readonly<Record<string, string>> = {
  UserMailbox: 'User mailbox',
  SharedMailbox: 'Shared mailbox',
  RoomMailbox: 'Room mailbox',
  EquipmentMailbox: 'Equipment mailbox',
  MailUser: 'Mail user',
  GuestMailUser: 'Guest mail user',
  MailContact: 'Mail contact',
  MailUniversalDistributionGroup: 'Distribution group',
  MailUniversalSecurityGroup: 'Mail-enabled security group',
  MailNonUniversalGroup: 'Distribution group (not universal)',
  GroupMailbox: 'Microsoft 365 group',
  User: 'User without an Exchange recipient',
};
const MAILBOX_TYPES: Readonly<Record<string, string>> = { UserMailbox: 'Regular', SharedMailbox: 'Shared', RoomMailbox: 'Room', EquipmentMailbox: 'Equipment' };

export function kindName(recipientTypeDetails: string): string {
  return KIND_NAMES[recipientTypeDetails] ?? recipientTypeDetails;
}

const isMailbox = (t: string | null): boolean => t !== null && t in MAILBOX_TYPES;
const isGroup = (t: string | null): boolean => t !== null && /Group$/.test(t);
/** Kinds whose Entra object is a user (licences, account, memberships through Graph). */
const isUserKind = (t: string | null): boolean => isMailbox(t) || t === 'MailUser' || t === 'GuestMailUser' || t === 'User';

const textList = (v: string[] | string | null | undefined): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' && v ? [v] : []);
const rightsOf = (v: unknown): string[] => (Array.isArray(v) ? v.map((x) => String(x)) : typeof v === 'string' ? v.split(/[,\s]+/) : []);

/** SMTP addresses, primary first (EmailAddresses keeps `SMTP:` for the primary); other prefixes (SIP, X500) left out. */
export function smtpAddressesPrimaryFirst(emailAddresses: readonly string[], primary: string | undefined): string[] {
  const smtp = emailAddresses.filter((a) => /^smtp:/i.test(a));
  const primaryEntry = smtp.find((a) => a.startsWith('SMTP:')) ?? (primary ? `SMTP:${primary}` : undefined);
  const rest = smtp.filter((a) => a !== primaryEntry).map((a) => a.slice(5));
  const first = primaryEntry ? [primaryEntry.slice(5)] : [];
  const seen = new Set(first.map((a) => a.toLowerCase()));
  return [...first, ...rest.filter((a) => !seen.has(a.toLowerCase()) && (seen.add(a.toLowerCase()), true))];
}

/** A DN's first RDN value (`CN=Sales Team,OU=…` → `Sales Team`), for showing a group AD names by DN. */
export function nameOfDn(dn: string): string {
  const m = /^[A-Za-z]+=((?:\\.|[^,])*)/.exec(dn);
  return m ? m[1]!.replace(/\\([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))).replace(/\\(.)/g, '$1') : dn;
}

function reason(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > 300 ? `${text.slice(0, 299)}…` : text;
}

/** What a bad identity or search text gets: undefined when it is fine. */
function refusal(what: 'identity' | 'text', value: string): string | undefined {
  const noun = what === 'identity' ? 'an address, UPN, alias or name' : 'the start of a name or address';
  if (!value) return `Say which recipient: ${noun}. Nothing was looked up.`;
  if (value.length > LOOKUP_MAX_CHARS) return `That is ${value.length} characters long; Mailroom looks up at most ${LOOKUP_MAX_CHARS}. Nothing was looked up.`;
  if (/[*?]/.test(value)) return `Mailroom does not take wildcards (* or ?): give ${noun} as it is${what === 'identity' ? ', or use find to list matches' : ''}. Nothing was looked up.`;
  if (what === 'text' && value.length < 2) return 'Give at least two characters to find recipients. Nothing was looked up.';
  return undefined;
}

// ------------------------------------------------------------------------------------------------- the use case

export class RecipientViewService implements RecipientViews {
  private skuNames: Promise<Map<string, string>> | undefined;

  constructor(private readonly d: RecipientViewDeps) {}

  async show(actor: RequestActor, rawIdentity: string): Promise<ShowResult> {
    const identity = rawIdentity.trim();
    const invalid = refusal('identity', identity);
    const result = invalid ? ({ found: 'invalid', message: invalid } as const) : await this.lookUp(identity);
    await this.d.audit({
      actorAadObjectId: actor.aadObjectId,
      actorName: actor.name,
      event: 'recipient.show',
      data: { query: identity.slice(0, LOOKUP_MAX_CHARS), outcome: result.found, ...(result.found === 'several' ? { matches: result.candidates.length } : {}) },
    });
    return result;
  }

  async find(actor: RequestActor, rawText: string): Promise<FindResult> {
    const text = rawText.trim();
    const invalid = refusal('text', text);
    let result: FindResult;
    if (invalid) result = { ok: false, message: invalid };
    else {
      try {
        result = await this.search(text);
      } catch (err) {
        this.d.log.warn('find failed', { err });
        result = { ok: false, message: `Exchange Online could not be searched: ${reason(err)}. Nothing was changed.` };
      }
    }
    await this.d.audit({
      actorAadObjectId: actor.aadObjectId,
      actorName: actor.name,
      event: 'recipient.find',
      data: { query: text.slice(0, LOOKUP_MAX_CHARS), ...(result.ok ? { matches: result.items.length, more: result.more } : { outcome: 'refused' }) },
    });
    return result;
  }

  // ----------------------------------------------------------------------------------------------- find

  /**
   * Get-Recipient with a filter on the properties Microsoft lists as filterable for it (Name, DisplayName, Alias,
   * PrimarySmtpAddress, FirstName, LastName), each `-like 'text*'`; users without an Exchange recipient come from
   * Get-User (DisplayName, UserPrincipalName). One more than listed is asked for, to tell whether there are more.
   */
  private async search(text: string): Promise<FindResult> {
    const like = opathString(`${text}*`);
    const recipientFilter = ['Name', 'DisplayName', 'Alias', 'PrimarySmtpAddress', 'FirstName', 'LastName'].map((p) => `(${p} -like ${like})`).join(' -or ');
    const userFilter = `((DisplayName -like ${like}) -or (UserPrincipalName -like ${like})) -and (RecipientTypeDetails -eq 'User')`;
    const [recipients, users] = await Promise.all([
      this.d.exo.invoke<ExoRow>('Get-Recipient', { Filter: recipientFilter, ResultSize: FIND_AT_MOST + 1 }),
      this.d.exo.invoke<ExoRow>('Get-User', { Filter: userFilter, ResultSize: FIND_AT_MOST + 1 }),
    ]);
    const seen = new Set<string>();
    const items: RecipientListItem[] = [];
    for (const r of [...recipients.value, ...users.value]) {
      const id = (r.ExchangeObjectId ?? r.Guid ?? r.ExternalDirectoryObjectId ?? `${r.Name ?? ''}|${r.PrimarySmtpAddress ?? ''}`).toLowerCase();
      if (seen.has(id)) continue;
      seen.add(id);
      items.push({ name: r.DisplayName || r.Name || '?', kind: kindName(r.RecipientTypeDetails ?? 'Unknown'), address: r.PrimarySmtpAddress || r.UserPrincipalName || r.WindowsEmailAddress || '' });
    }
    items.sort((a, b) => a.name.localeCompare(b.name, 'en', { sensitivity: 'base' }) || a.address.localeCompare(b.address));
    return { ok: true, items: items.slice(0, FIND_AT_MOST), more: items.length > FIND_AT_MOST };
  }

  // ----------------------------------------------------------------------------------------------- show

  private async lookUp(identity: string): Promise<ShowResult> {
    let match: RecipientMatch;
    try {
      match = await this.d.finder.findRecipient(identity);
    } catch (err) {
      this.d.log.warn('show: Exchange Online look-up failed', { err });
      return { found: 'failed', message: `Exchange Online could not be asked for '${identity}': ${reason(err)}. Nothing was changed.` };
    }
    if (match.found === 'several') {
      return { found: 'several', candidates: match.candidates.map((c) => ({ name: c.name, kind: '', address: c.primarySmtpAddress })) };
    }
    if (match.found === 'one') {
      const id = match.recipient.exoId ?? match.recipient.primarySmtpAddress ?? identity;
      return { found: 'one', recipient: await this.exchangeRecipient(id, match.recipient.type, identity) };
    }
    // Exchange Online has no recipient: an AD object (not synced yet, or not mail-enabled) may still have the name.
    let ad: AdRecipient | null;
    try {
      ad = await this.d.ad.findByIdentity(identity);
    } catch (err) {
      if ((err as { kind?: string }).kind === 'ambiguous') return { found: 'several', candidates: [], note: reason(err) };
      this.d.log.warn('show: AD look-up failed', { err });
      return { found: 'failed', message: `Exchange Online has no recipient '${identity}', and Active Directory could not be asked: ${reason(err)}. Nothing was changed.` };
    }
    if (!ad) return { found: 'none' };
    return { found: 'one', recipient: await this.adOnlyRecipient(ad) };
  }

  /** Reads one part; a failure becomes the part's "could not read" text (and a log line), never the card's. */
  private async part<T>(what: string, read: () => Promise<T>): Promise<Section<T>> {
    try {
      return { ok: true, value: await read() };
    } catch (err) {
      this.d.log.warn('show: a part could not be read', { what, err });
      return { ok: false, error: `could not read ${what}: ${reason(err)}` };
    }
  }

  private skus(): Promise<Map<string, string>> {
    this.skuNames ??= this.d.graph.subscribedSkus().then(
      (list) => new Map(list.map((s) => [s.skuId.toLowerCase(), s.skuPartNumber])),
      (err: unknown) => {
        this.skuNames = undefined;
        throw err;
      },
    );
    return this.skuNames;
  }

  private async licenceNames(user: EntraUser): Promise<string[]> {
    const assigned = user.assignedLicenses ?? [];
    if (!assigned.length) return [];
    const names = await this.skus().catch(() => new Map<string, string>());
    return assigned.map((l) => names.get(l.skuId.toLowerCase()) ?? l.skuId);
  }

  /** The card of a recipient Exchange Online has (exoId: its ExchangeObjectId). */
  private async exchangeRecipient(exoId: string, type: string, asked: string): Promise<RecipientView> {
    const cmdlet = isMailbox(type) ? 'Get-Mailbox' : isGroup(type) ? 'Get-DistributionGroup' : 'Get-Recipient';
    const detail = await this.part(cmdlet, async () => {
      const row = (await this.d.exo.invoke<ExoRow>(cmdlet, { Identity: exoId })).value[0];
      if (!row) throw new Error(`${cmdlet} answered no object for ${exoId}`);
      return row;
    });
    // Without the detail Get-Recipient's row still names the recipient (a card without it would say nothing).
    const row: ExoRow = detail.ok ? detail.value : ((await this.d.exo.invoke<ExoRow>('Get-Recipient', { Identity: exoId }).catch(() => ({ value: [] as ExoRow[] }))).value[0] ?? { RecipientTypeDetails: type });
    const t = row.RecipientTypeDetails ?? type;
    const primary = row.PrimarySmtpAddress || undefined;
    const synced = row.IsDirSynced === true;
    const cloudManaged = isMailbox(t) ? row.IsExchangeCloudManaged === true : null;

    const adPart = synced ? this.part('Active Directory', () => this.adObjectOf(row, asked)) : Promise.resolve(undefined);
    const entraPart =
      isUserKind(t) && row.ExternalDirectoryObjectId
        ? this.part('Entra ID (Graph user)', () => this.d.graph.user<EntraUser>(row.ExternalDirectoryObjectId!, ['id', 'accountEnabled', 'assignedLicenses', 'onPremisesSyncEnabled']))
        : Promise.resolve(undefined);
    const fullAccessPart = isMailbox(t) ? this.part('Get-MailboxPermission', () => this.fullAccess(exoId)) : Promise.resolve(null);
    const sendAsPart = isMailbox(t) || isGroup(t) ? this.part('Get-RecipientPermission', () => this.sendAs(exoId)) : Promise.resolve(null);
    const membersPart = isGroup(t) ? this.part('Get-DistributionGroupMember', () => this.members(exoId)) : Promise.resolve(null);
    const [adRead, entra, fullAccess, sendAs, members, schema] = await Promise.all([adPart, entraPart, fullAccessPart, sendAsPart, membersPart, this.d.adHasExchangeSchema().catch(() => false)]);
    const ad = adRead?.ok ? adRead.value : null;
    const entraUser = entra?.ok ? entra.value : null;

    const memberOf = await this.memberships(ad?.dn ?? null, isUserKind(t) ? (entraUser?.id ?? row.ExternalDirectoryObjectId ?? null) : null, synced);
    const licences: Section<readonly string[]> | null = !isUserKind(t) ? null : !entra ? { ok: false, error: 'could not read the licences: Exchange Online names no Entra ID user' } : !entra.ok ? entra : entra.value ? { ok: true, value: await this.licenceNames(entra.value) } : { ok: false, error: 'could not read the licences: Entra ID has no such user' };

    let drift: RecipientView['drift'] = null;
    if (synced) {
      if (!adRead?.ok) drift = adRead ?? { ok: false, error: 'could not read Active Directory' };
      else if (!ad) drift = { ok: false, error: 'could not compare: no AD object has this recipient’s address or UPN' };
      else {
        const differences = exchangeAttributeDifferences(
          { mail: ad.mail, mailNickname: ad.mailNickname, proxyAddresses: ad.proxyAddresses, userPrincipalName: ad.userPrincipalName, displayName: ad.displayName, hiddenFromAddressLists: schema ? ad.hiddenFromAddressLists === true : undefined },
          { PrimarySmtpAddress: row.PrimarySmtpAddress, Alias: row.Alias, EmailAddresses: row.EmailAddresses ?? [], DisplayName: row.DisplayName, HiddenFromAddressListsEnabled: row.HiddenFromAddressListsEnabled },
        );
        drift = { ok: true, value: { master: cloudManaged ? 'exchange' : 'ad', differences } };
      }
    }

    const forwarding: RecipientView['forwarding'] = !isMailbox(t) ? null : !detail.ok ? detail : { ok: true, value: forwardingOf(row) };
    const sendOnBehalf: RecipientView['sendOnBehalf'] = !(isMailbox(t) || isGroup(t)) ? null : !detail.ok ? detail : { ok: true, value: textList(row.GrantSendOnBehalfTo) };
    const upn = row.UserPrincipalName || ad?.userPrincipalName || null;
    return {
      name: row.DisplayName || row.Name || primary || exoId,
      kind: kindName(t),
      recipientTypeDetails: t,
      identity: primary ?? upn ?? ad?.dn ?? exoId,
      adDn: ad?.dn ?? null,
      userPrincipalName: upn,
      primarySmtpAddress: primary ?? null,
      addresses: smtpAddressesPrimaryFirst(row.EmailAddresses ?? [], primary),
      isDirSynced: synced,
      isExchangeCloudManaged: cloudManaged,
      authority: authorityOf(synced, cloudManaged, t),
      accountEnabled: !isUserKind(t) ? null : (ad?.enabled ?? entraUser?.accountEnabled ?? null),
      licences,
      mailboxType: MAILBOX_TYPES[t] ?? null,
      hidden: typeof row.HiddenFromAddressListsEnabled === 'boolean' ? row.HiddenFromAddressListsEnabled : null,
      forwarding,
      memberOf,
      members,
      managedBy: isGroup(t) && detail.ok ? textList(row.ManagedBy) : null,
      fullAccess,
      sendAs,
      sendOnBehalf,
      drift,
    };
  }

  /** The card of an AD object Exchange Online has no recipient for. */
  private async adOnlyRecipient(ad: AdRecipient): Promise<RecipientView> {
    const upn = ad.userPrincipalName ?? null;
    const user = ad.objectClass === 'user';
    // Get-User shows whether the account reached the cloud at all (RecipientTypeDetails User: no Exchange recipient).
    const cloudUser = user && upn ? await this.part('Get-User', async () => (await this.d.exo.invoke<ExoRow>('Get-User', { Identity: upn })).value[0] ?? null).then((s) => (s.ok ? s.value : null)).catch(() => null) : null;
    const entra = user && upn ? await this.part('Entra ID (Graph user)', () => this.d.graph.user<EntraUser>(upn, ['id', 'accountEnabled', 'assignedLicenses', 'onPremisesSyncEnabled'])) : undefined;
    const entraUser = entra?.ok ? entra.value : null;
    const licences: Section<readonly string[]> | null = !user ? null : !entra ? { ok: true, value: [] } : !entra.ok ? entra : { ok: true, value: entraUser ? await this.licenceNames(entraUser) : [] };
    const memberOf = await this.memberships(ad.dn, entraUser?.id ?? null, true);
    const kind = cloudUser ? kindName('User') : `AD ${ad.objectClass}, not in Exchange Online`;
    return {
      name: ad.displayName || nameOfDn(ad.dn),
      kind,
      recipientTypeDetails: cloudUser?.RecipientTypeDetails ?? null,
      identity: ad.mail ?? upn ?? ad.dn,
      adDn: ad.dn,
      userPrincipalName: upn,
      primarySmtpAddress: null,
      addresses: smtpAddressesPrimaryFirst(ad.proxyAddresses, ad.mail),
      isDirSynced: cloudUser?.IsDirSynced === true || entraUser?.onPremisesSyncEnabled === true,
      isExchangeCloudManaged: null,
      authority: entraUser || cloudUser ? 'AD masters it (synced to Entra ID); Exchange Online has no recipient for it.' : 'AD only: not (yet) in Entra ID or Exchange Online.',
      accountEnabled: ad.enabled ?? null,
      licences,
      mailboxType: null,
      hidden: ad.hiddenFromAddressLists ?? null,
      forwarding: null,
      memberOf,
      members: null,
      managedBy: null,
      fullAccess: null,
      sendAs: null,
      sendOnBehalf: null,
      drift: null,
    };
  }

  /** The AD object of a synced recipient: by its primary address, else its UPN. */
  private async adObjectOf(row: ExoRow, asked: string): Promise<AdRecipient | null> {
    for (const id of [row.PrimarySmtpAddress, row.UserPrincipalName, asked]) {
      if (!id) continue;
      const o = await this.d.ad.findByIdentity(id);
      if (o) return o;
    }
    return null;
  }

  /** AD's groups (AD masters synced groups' members) and, for users, Entra ID's cloud groups. */
  private memberships(adDn: string | null, entraUserId: string | null, synced: boolean): Promise<Section<readonly string[]>> {
    if (!adDn && !entraUserId) {
      return Promise.resolve(synced ? { ok: false, error: 'could not read the group memberships: the AD object was not found' } : { ok: false, error: 'not read: Mailroom reads memberships of cloud contacts and groups from neither AD nor Entra ID' });
    }
    const what = [adDn ? 'memberOf in AD' : '', entraUserId ? 'memberOf in Entra ID' : ''].filter(Boolean).join(' and ');
    return this.part(what, async () => {
      const [inAd, inEntra] = await Promise.all([adDn ? this.d.ad.memberOf(adDn) : Promise.resolve([]), entraUserId ? this.d.graph.memberOfGroups(entraUserId) : Promise.resolve([])]);
      const names = (inAd ?? []).map(nameOfDn);
      // Synced groups are AD's (listed above when the AD object was read); cloud groups only Entra ID knows.
      const cloud = inEntra.filter((g) => !g.onPremisesSyncEnabled || !adDn).map((g) => (g.onPremisesSyncEnabled ? g.displayName : `${g.displayName} (cloud group)`));
      return [...new Set([...names, ...cloud])].sort((a, b) => a.localeCompare(b, 'en', { sensitivity: 'base' }));
    });
  }

  /** FullAccess holders: explicit (not inherited), allowed, not the mailbox itself (NT AUTHORITY\SELF). */
  private async fullAccess(exoId: string): Promise<string[]> {
    const rows = (await this.d.exo.invoke<{ User?: string; AccessRights?: unknown; IsInherited?: boolean; Deny?: boolean }>('Get-MailboxPermission', { Identity: exoId })).value;
    return rows.filter((r) => r.IsInherited !== true && r.Deny !== true && rightsOf(r.AccessRights).includes('FullAccess') && r.User && !/^NT AUTHORITY\\SELF$/i.test(r.User)).map((r) => r.User!);
  }

  /** Send As holders: explicit, allowed, not SELF. */
  private async sendAs(exoId: string): Promise<string[]> {
    const rows = (await this.d.exo.invoke<{ Trustee?: string; AccessRights?: unknown; AccessControlType?: string; IsInherited?: boolean }>('Get-RecipientPermission', { Identity: exoId })).value;
    return rows
      .filter((r) => r.IsInherited !== true && (r.AccessControlType ?? 'Allow') === 'Allow' && rightsOf(r.AccessRights).includes('SendAs') && r.Trustee && !/^NT AUTHORITY\\SELF$/i.test(r.Trustee))
      .map((r) => r.Trustee!);
  }

  private async members(exoId: string): Promise<{ count: number; more: boolean; names: string[] }> {
    const rows = (await this.d.exo.invoke<ExoRow>('Get-DistributionGroupMember', { Identity: exoId, ResultSize: MEMBERS_COUNTED + 1 })).value;
    const names = rows.map((r) => r.DisplayName || r.Name || r.PrimarySmtpAddress || '?').sort((a, b) => a.localeCompare(b, 'en', { sensitivity: 'base' }));
    return { count: Math.min(rows.length, MEMBERS_COUNTED), more: rows.length > MEMBERS_COUNTED, names: names.slice(0, MEMBERS_NAMED) };
  }
}

/** Forwarding as one sentence, or null when mail is not forwarded. */
function forwardingOf(row: ExoRow): string | null {
  const to = row.ForwardingSmtpAddress || row.ForwardingAddress;
  if (!to) return null;
  const target = to.replace(/^smtp:/i, '');
  return `to ${target}${row.DeliverToMailboxAndForward === true ? ', keeping a copy in the mailbox' : ', without keeping a copy'}`;
}

function authorityOf(synced: boolean, cloudManaged: boolean | null, t: string): string {
  if (!synced) return 'Cloud: Exchange Online and Entra ID master it (no AD object).';
  if (cloudManaged) return 'AD masters the identity; Exchange Online masters the Exchange attributes (IsExchangeCloudManaged = True).';
  if (isMailbox(t)) return 'AD masters it (synced, IsExchangeCloudManaged = False): Exchange attributes are changed in AD.';
  return 'AD masters it (synced): Exchange attributes are changed in AD.';
}
