/**
 * The one comparison of a recipient's Exchange attributes in AD with Exchange Online's, shared by the drift report
 * (`sweep.ts`) and the recipient card (`recipient-view.ts`). Pure: both sides are passed in as read.
 */

/** The AD side: the attributes AD holds for Exchange (absent ones undefined). */
export interface AdExchangeAttributes {
  readonly mail?: string;
  readonly mailNickname?: string;
  readonly proxyAddresses: readonly string[];
  /** Entra ID adds a mailbox's UPN as a proxy address itself: an address equal to it is no difference. */
  readonly userPrincipalName?: string;
  /** Compared only when given (the card passes it; the drift report does not). */
  readonly displayName?: string;
  /**
   * msExchHideFromAddressLists: compared only when given, i.e. when the AD schema has the attribute (an absent value
   * then means not hidden).
   */
  readonly hiddenFromAddressLists?: boolean;
}

/** The Exchange Online side, as Get-Recipient / Get-Mailbox answer it. */
export interface ExoExchangeAttributes {
  readonly PrimarySmtpAddress?: string;
  readonly Alias?: string;
  readonly EmailAddresses?: readonly string[];
  readonly DisplayName?: string;
  readonly HiddenFromAddressListsEnabled?: boolean;
}

const lower = (s: string | undefined) => (s ?? '').toLowerCase();
const smtpSet = (list: readonly string[] | undefined) => new Set((list ?? []).filter((a) => /^smtp:/i.test(a)).map((a) => a.slice(5).toLowerCase()));

/**
 * What differs between AD and Exchange Online, one sentence per attribute. Addresses on the tenant's
 * `*.onmicrosoft.com` domain and a mailbox's UPN exist only in Exchange by design and are not a difference; neither are
 * addresses when AD has no proxyAddresses at all (then Exchange calculated them).
 */
export function exchangeAttributeDifferences(ad: AdExchangeAttributes, exo: ExoExchangeAttributes): string[] {
  const address = exo.PrimarySmtpAddress ?? '';
  const differences: string[] = [];
  if (ad.mail && lower(ad.mail) !== lower(address)) differences.push(`AD mail is ${ad.mail}, Exchange's primary is ${address} (AD mail wins at the next sync)`);
  if (ad.mailNickname && lower(ad.mailNickname) !== lower(exo.Alias)) differences.push(`alias: AD ${ad.mailNickname}, Exchange ${exo.Alias ?? '–'}`);
  const inAd = smtpSet(ad.proxyAddresses);
  const inExo = smtpSet(exo.EmailAddresses);
  const onlyAd = [...inAd].filter((a) => !inExo.has(a));
  const onlyExo = [...inExo].filter((a) => !inAd.has(a) && !a.endsWith('.onmicrosoft.com') && a !== lower(ad.userPrincipalName));
  if (inAd.size && onlyAd.length) differences.push(`only in AD: ${onlyAd.join(', ')}`);
  if (inAd.size && onlyExo.length) differences.push(`only in Exchange: ${onlyExo.join(', ')}`);
  if (ad.displayName !== undefined && exo.DisplayName !== undefined && ad.displayName !== exo.DisplayName) differences.push(`display name: AD ${ad.displayName}, Exchange ${exo.DisplayName}`);
  if (ad.hiddenFromAddressLists !== undefined && exo.HiddenFromAddressListsEnabled !== undefined && ad.hiddenFromAddressLists !== exo.HiddenFromAddressListsEnabled) {
    differences.push(`hidden from address lists: AD ${ad.hiddenFromAddressLists ? 'yes' : 'no'}, Exchange ${exo.HiddenFromAddressListsEnabled ? 'yes' : 'no'}`);
  }
  return differences;
}
