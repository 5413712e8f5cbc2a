/**
 * The hybrid rules of /work/shared/docs/hybrid-behaviour.md as pure functions: what an AD object
 * becomes in Entra ID and Exchange Online (EXO), how addresses are formed and changed, and which
 * writes EXO refuses. The tenant model (`tenant.ts`) calls these; they have no state and no I/O.
 *
 * Sources: the field test of Entra Connect 2.5.79.0 without the Exchange schema (Nov/Dec 2025) and
 * Microsoft's announcement of cloud-managed remote mailboxes (Aug/Oct 2025). Where they disagree,
 * the field test wins.
 */

/** Every recipient type the simulator models (EXO `RecipientTypeDetails`). */
export type RecipientTypeDetails =
  | 'User'
  | 'UserMailbox'
  | 'SharedMailbox'
  | 'RoomMailbox'
  | 'EquipmentMailbox'
  | 'MailUser'
  | 'GuestMailUser'
  | 'MailContact'
  | 'MailUniversalDistributionGroup'
  | 'MailUniversalSecurityGroup';

export const MAILBOX_TYPES: readonly RecipientTypeDetails[] = ['UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox'];

export function isMailboxType(t: RecipientTypeDetails): boolean {
  return MAILBOX_TYPES.includes(t);
}

/** EXO `RecipientType` for a `RecipientTypeDetails`. */
export function recipientTypeOf(t: RecipientTypeDetails): string {
  switch (t) {
    case 'UserMailbox':
    case 'SharedMailbox':
    case 'RoomMailbox':
    case 'EquipmentMailbox':
      return 'UserMailbox';
    case 'MailUser':
    case 'GuestMailUser':
      return 'MailUser';
    default:
      return t;
  }
}

// ---------------------------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------------------------

/** The AD attributes of a user that decide what reaches EXO. */
export interface AdUserExchangeFields {
  mail?: string | null;
  mailNickname?: string | null;
  targetAddress?: string | null;
}

function present(v: string | null | undefined): v is string {
  return typeof v === 'string' && v.trim() !== '';
}

/**
 * Without a licence, a synced user shows in EXO as a `MailUser` only when `mail`, `mailNickname` and
 * `targetAddress` are all set (sync carries alias and targetAddress only when mailNickname is set);
 * otherwise it is a plain `User` (visible to `Get-User`, not to `Get-Recipient`).
 * When the organisation default blocks Exchange attributes from AD for this user, targetAddress does
 * not arrive, so it stays a `User`.
 */
export function unlicensedSyncedUserType(ad: AdUserExchangeFields, exchangeAttributesBlocked = false): 'User' | 'MailUser' {
  if (exchangeAttributesBlocked) return 'User';
  return present(ad.mail) && present(ad.mailNickname) && present(ad.targetAddress) ? 'MailUser' : 'User';
}

/** Entra's `mailNickname` for a synced object: AD `mailNickname`, else `sAMAccountName`. */
export function syncedMailNickname(mailNickname: string | null | undefined, samAccountName: string): string {
  return present(mailNickname) ? mailNickname.trim() : samAccountName;
}

/**
 * An Exchange alias from a wish: keeps letters, digits and `!#$%&'*+-/=?^_\`{|}~.`, drops the rest,
 * collapses dots. Empty input yields `fallback`.
 */
export function toAlias(wish: string, fallback = 'recipient'): string {
  const cleaned = wish
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]/g, '')
    .replace(/\.{2,}/g, '.')
    .replace(/^\.+|\.+$/g, '');
  return cleaned === '' ? fallback : cleaned.slice(0, 64);
}

/** The primary SMTP address of a licensed user's new mailbox: AD `mail`, else the UPN. */
export function mailboxPrimaryAddress(mail: string | null | undefined, userPrincipalName: string): string {
  return present(mail) ? mail.trim() : userPrincipalName;
}

/**
 * Whether an address has a domain Entra reserves: "Discard on-premises addresses that have a reserved domain suffix,
 * e.g. @*.onmicrosoft.com, @*.microsoftonline.com" ("How the proxyAddresses attribute is populated in Microsoft Entra
 * ID", https://learn.microsoft.com/troubleshoot/entra/entra-id/user-prov-sync/proxyaddresses-attribute-populate).
 */
export function hasReservedDomain(address: string): boolean {
  const domain = (address.split('@')[1] ?? '').toLowerCase();
  return domain.endsWith('.onmicrosoft.com') || domain.endsWith('.microsoftonline.com');
}

/**
 * The primary address Entra's proxy calculation makes of a synced object's AD `mail` and `proxyAddresses` (same
 * article): an `SMTP:` entry of proxyAddresses is the primary ("Set the primary SMTP using the same address that's
 * specified in the on-premises proxyAddresses attribute", scenario 3, where mail is not set — and "Set or update the
 * Mail attribute based on the calculated Primary SMTP address"); else `mail` ("Set the primary SMTP using the same value
 * of the mail attribute", scenario 2); else `fallback` (a mailbox's UPN, scenario 1), or null. Entries with a reserved
 * domain are discarded first. The field test's "changing AD mail moved the primary" is the second case: its users had no
 * proxyAddresses in AD.
 */
export function calculatedPrimaryAddress(ad: { mail?: string | null; proxyAddresses?: readonly string[] | null }, fallback: string | null = null): string | null {
  for (const p of ad.proxyAddresses ?? []) {
    const n = normaliseProxy(p);
    if (isPrimarySmtp(n) && !hasReservedDomain(splitProxy(n).address)) return splitProxy(n).address;
  }
  return present(ad.mail) ? ad.mail.trim() : fallback;
}

/**
 * Adds the user principal name as a secondary address when it is not among the addresses and its domain is accepted:
 * "When the user has an Exchange license assigned or the user is an Exchange Online recipient, such as a shared
 * mailbox, the userPrincipalName is always added as a proxy address" (same article, scenario 1; scenario 2:
 * mail user2mail@, UPN user2upn@, licensed → `smtp:user2upn@Contoso.com` beside `SMTP:user2mail@Contoso.com`).
 * Applies to mailboxes (user, shared, room, equipment); a mail user, contact or group has no licence and no UPN alias.
 */
export function withUpnAddress(addresses: readonly string[], userPrincipalName: string, domainAccepted: boolean): string[] {
  if (!domainAccepted || addresses.some((a) => isSmtpProxy(a) && splitProxy(a).address.toLowerCase() === userPrincipalName.toLowerCase())) return [...addresses];
  return [...addresses, `smtp:${userPrincipalName}`];
}

/** Splits `SMTP:a@x` into prefix and address; a bare address is taken as `smtp`. */
export function splitProxy(proxy: string): { prefix: string; address: string } {
  const i = proxy.indexOf(':');
  if (i <= 0) return { prefix: 'smtp', address: proxy };
  return { prefix: proxy.slice(0, i), address: proxy.slice(i + 1) };
}

function isSmtpProxy(proxy: string): boolean {
  return splitProxy(proxy).prefix.toLowerCase() === 'smtp';
}

export function isPrimarySmtp(proxy: string): boolean {
  return splitProxy(proxy).prefix === 'SMTP';
}

/** Case-insensitive identity of a proxy address (prefix type + address). */
export function proxyKey(proxy: string): string {
  const { prefix, address } = splitProxy(proxy);
  return `${prefix.toLowerCase()}:${address.toLowerCase()}`;
}

/** Normalises a proxy address: keeps `SMTP:`/`smtp:` case (it carries meaning), other prefixes as given. */
export function normaliseProxy(proxy: string): string {
  const { prefix, address } = splitProxy(proxy.trim());
  if (prefix.toLowerCase() === 'smtp') return `${prefix === 'SMTP' ? 'SMTP' : 'smtp'}:${address}`;
  return `${prefix}:${address}`;
}

/** The primary SMTP address in a list, if any. */
export function primaryOf(addresses: readonly string[]): string | null {
  const p = addresses.find(isPrimarySmtp);
  return p ? splitProxy(p).address : null;
}

/**
 * The `EmailAddresses` of a mailbox as EXO first creates it for a synced, licensed user:
 * `SMTP:<primary>`, `SIP:<primary in lower case>`, `smtp:<alias>@<initial domain>`, the UPN when it is another
 * address (see {@link withUpnAddress}), then any secondary addresses from AD `proxyAddresses` (deduplicated; reserved
 * domains discarded). Observed in the field test (where UPN and mail were the same address):
 * `SMTP:UserWithMailWithEXO@msxfaqdev.de, SIP:userwithmailwithexo@msxfaqdev.de,
 * smtp:UserWithMailWithEXO@msxfaqdev.onmicrosoft.com`.
 */
export function initialMailboxAddresses(input: {
  primary: string;
  alias: string;
  initialDomain: string;
  adProxyAddresses?: readonly string[];
  /** The UPN and whether its domain is accepted (it always is for an Entra UPN). */
  userPrincipalName?: { address: string; accepted: boolean };
}): string[] {
  let out: string[] = [`SMTP:${input.primary}`, `SIP:${input.primary.toLowerCase()}`];
  const routing = `smtp:${input.alias}@${input.initialDomain}`;
  const add = (p: string): void => {
    if (!out.some((x) => proxyKey(x) === proxyKey(p))) out.push(p);
  };
  add(routing);
  if (input.userPrincipalName) out = withUpnAddress(out, input.userPrincipalName.address, input.userPrincipalName.accepted);
  for (const p of input.adProxyAddresses ?? []) {
    const n = normaliseProxy(p);
    if (isSmtpProxy(n) && hasReservedDomain(splitProxy(n).address)) continue;
    if (isSmtpProxy(n)) add(`smtp:${splitProxy(n).address}`);
    else add(n);
  }
  return out;
}

/**
 * Makes `newPrimary` the primary SMTP address. The previous primary stays as a secondary `smtp:`
 * address at the end; an existing secondary equal to the new primary is promoted. Observed after one
 * change of AD `mail`: `SMTP:new@contoso.com, SIP:alias@contoso.com, smtp:alias@contoso.onmicrosoft.com,
 * smtp:old@contoso.com`.
 */
export function applyPrimaryAddressChange(addresses: readonly string[], newPrimary: string): string[] {
  const newKey = proxyKey(`smtp:${newPrimary}`);
  const oldPrimary = primaryOf(addresses);
  if (oldPrimary !== null && oldPrimary.toLowerCase() === newPrimary.toLowerCase()) {
    // Same address (perhaps different case): rewrite in place.
    return addresses.map((a) => (isPrimarySmtp(a) ? `SMTP:${newPrimary}` : a));
  }
  const rest = addresses.filter((a) => !isPrimarySmtp(a) && proxyKey(a) !== newKey);
  const out = [`SMTP:${newPrimary}`, ...rest];
  if (oldPrimary !== null) out.push(`smtp:${oldPrimary}`);
  return out;
}

/**
 * Applies a change of AD `proxyAddresses` to an EXO address list by difference: secondaries that AD
 * had last time and no longer has are removed, new ones are added. Addresses that did not come from
 * AD (the routing address, demoted primaries, EXO-added ones) are kept; addresses with a reserved domain are
 * discarded (see {@link hasReservedDomain}). The primary is not changed here: an `SMTP:` entry is taken as a secondary
 * (the caller makes the calculated primary, {@link calculatedPrimaryAddress}, primary first with
 * {@link applyPrimaryAddressChange}; then an old primary AD no longer lists goes, as in the article's scenario 3).
 */
export function applyAdProxyAddressesDiff(
  current: readonly string[],
  previousAd: readonly string[],
  nextAd: readonly string[],
): string[] {
  const asSecondary = (p: string): string => {
    const n = normaliseProxy(p);
    return isSmtpProxy(n) ? `smtp:${splitProxy(n).address}` : n;
  };
  const kept = (p: string): boolean => !(isSmtpProxy(normaliseProxy(p)) && hasReservedDomain(splitProxy(normaliseProxy(p)).address));
  const prev = new Set(previousAd.filter(kept).map((p) => proxyKey(p)));
  const next = nextAd.filter(kept).map(asSecondary);
  const nextKeys = new Set(next.map((p) => proxyKey(p)));
  const out = current.filter((a) => isPrimarySmtp(a) || !prev.has(proxyKey(a)) || nextKeys.has(proxyKey(a)));
  for (const p of next) {
    if (!out.some((a) => proxyKey(a) === proxyKey(p))) out.push(p);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Contacts and groups
// ---------------------------------------------------------------------------------------------

/** A synced AD contact appears in EXO (as `MailContact`) only when it has `mail`. */
export function contactReachesExo(mail: string | null | undefined): boolean {
  return present(mail);
}

/** A synced AD group appears in EXO only when it has `mail`, whatever its scope and type. */
export function groupReachesExo(mail: string | null | undefined): boolean {
  return present(mail);
}

export type AdGroupScope = 'global' | 'universal' | 'domainLocal';

/**
 * How a mail-enabled synced group shows in EXO: always `Universal` (global groups too), plus
 * `SecurityEnabled` for security groups.
 */
export function exoGroupShape(securityEnabled: boolean): {
  GroupType: 'Universal' | 'Universal, SecurityEnabled';
  RecipientTypeDetails: 'MailUniversalDistributionGroup' | 'MailUniversalSecurityGroup';
} {
  return securityEnabled
    ? { GroupType: 'Universal, SecurityEnabled', RecipientTypeDetails: 'MailUniversalSecurityGroup' }
    : { GroupType: 'Universal', RecipientTypeDetails: 'MailUniversalDistributionGroup' };
}

// ---------------------------------------------------------------------------------------------
// Source of authority
// ---------------------------------------------------------------------------------------------

/** The EXO state of a recipient that decides who masters its Exchange attributes. */
export interface SoaState {
  isDirSynced: boolean;
  isExchangeCloudManaged: boolean;
}

/**
 * Whether AD's Exchange attributes (proxyAddresses, mailNickname/alias, targetAddress,
 * msExchHideFromAddressLists, extension attributes) still flow from AD into EXO for this recipient.
 * `mail` is not among them: it always sets the primary address, even when cloud-managed.
 */
export function adMastersExchangeAttributes(s: SoaState): boolean {
  return s.isDirSynced && !s.isExchangeCloudManaged;
}

/**
 * `IsExchangeCloudManaged` of a mailbox that is created for a synced user: true when the organisation
 * default (`ExchangeAttributesCloudManagedByDefault`) was on when the user was first synced.
 */
export function initialCloudManaged(orgDefaultAtFirstSync: boolean): boolean {
  return orgDefaultAtFirstSync;
}

/** What happens to a mailbox when its last Exchange Online licence goes. */
export type LicenceRemovalEffect = 'keep' | 'keep-in-grace';

/**
 * Shared, room and equipment mailboxes need no licence and are kept. A regular user mailbox is kept
 * too; the real service deletes it after a 30-day grace period, which the simulator does not model
 * (it only records when the licence went).
 */
export function licenceRemovalEffect(t: RecipientTypeDetails): LicenceRemovalEffect {
  return t === 'UserMailbox' ? 'keep-in-grace' : 'keep';
}

// ---------------------------------------------------------------------------------------------
// Which EXO writes are refused
// ---------------------------------------------------------------------------------------------

/** Parameters that are Exchange attributes: mastered by AD for synced, not cloud-managed recipients. */
const EXCHANGE_ATTRIBUTE_PARAMETERS: readonly string[] = [
  'EmailAddresses',
  'Alias',
  'HiddenFromAddressListsEnabled',
  'WindowsEmailAddress',
  'PrimarySmtpAddress',
  'ExternalEmailAddress',
  'GrantSendOnBehalfTo',
  'ManagedBy',
  ...Array.from({ length: 15 }, (_, i) => `CustomAttribute${i + 1}`),
  ...Array.from({ length: 5 }, (_, i) => `ExtensionCustomAttribute${i + 1}`),
];

/** Parameters that are identity attributes: always mastered by AD for synced objects. */
const IDENTITY_ATTRIBUTE_PARAMETERS: readonly string[] = ['DisplayName', 'Name', 'FirstName', 'LastName', 'Department'];

export type WriteRefusal = { kind: 'WriteScope' | 'DualWrite'; parameter: string } | null;

/**
 * Decides whether EXO refuses a parameter of a Set-* cmdlet on a recipient, following the field test:
 * - cloud-only recipients: everything is writable;
 * - synced mailboxes: Exchange attributes need `IsExchangeCloudManaged=True` (else the "write scope"
 *   error); identity attributes are never writable; `-Type`, `-IsExchangeCloudManaged` and mailbox
 *   settings always are;
 * - synced mail users: `-Alias` and `-ExchangeGuid` are accepted (the alias stays until AD's
 *   mailNickname changes), custom attributes fail with the dual-write error, other Exchange attributes
 *   with the write-scope error — there is no IsExchangeCloudManaged for mail users;
 * - synced contacts and groups: every Exchange and identity attribute is refused.
 */
export function exoWriteRefusal(input: {
  cmdlet: string;
  parameter: string;
  recipientTypeDetails: RecipientTypeDetails;
  isDirSynced: boolean;
  isExchangeCloudManaged: boolean;
}): WriteRefusal {
  const { cmdlet, parameter, recipientTypeDetails: t } = input;
  if (!input.isDirSynced) return null;
  const isExchangeAttr = EXCHANGE_ATTRIBUTE_PARAMETERS.includes(parameter);
  const isIdentityAttr = IDENTITY_ATTRIBUTE_PARAMETERS.includes(parameter);
  if (isIdentityAttr) return { kind: 'WriteScope', parameter };
  if (!isExchangeAttr) return null;
  if (isMailboxType(t)) {
    return input.isExchangeCloudManaged ? null : { kind: 'WriteScope', parameter };
  }
  if (t === 'MailUser' && cmdlet === 'Set-MailUser') {
    if (parameter === 'Alias') return null;
    if (/^(Extension)?CustomAttribute\d+$/.test(parameter)) return { kind: 'DualWrite', parameter };
    return { kind: 'WriteScope', parameter };
  }
  return { kind: 'WriteScope', parameter };
}

/** The "write scope" text Exchange Online returns for Exchange attributes of dir-synced objects. */
export function writeScopeMessage(cmdlet: string, parameter: string, objectName: string, mailbox: boolean): string {
  const subject = mailbox ? `mailbox "${objectName}"` : `"${objectName}"`;
  return (
    `The operation on ${subject} failed because it's out of the current user's write scope. ` +
    `The action '${cmdlet}', '${parameter}', can't be performed on the object '${objectName}' because the object is being ` +
    `synchronized from your on-premises organization. This action should be performed on the object in your on-premises organization.`
  );
}

/** The "dual write" text: EXO tried to write through to Entra ID and Entra refused (synced object). */
export function dualWriteMessage(requestId: string): string {
  return (
    'An Azure Active Directory call was made to keep object in sync between Azure Active Directory and Exchange Online. ' +
    'However, it failed. Detailed error message: Unable to update the specified properties for on-premises mastered ' +
    `Directory Sync objects or objects currently undergoing migration. DualWrite (Graph) RequestId: ${requestId} ` +
    'The issue may be transient and please retry a couple of minutes later. If issue persists, please see exception members for more information.'
  );
}
