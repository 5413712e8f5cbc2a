/**
 * The port through which validation asks the outside world what exists: accepted domains, who holds a
 * name or address (in AD and in Exchange Online), and what an existing recipient is. Adapters (LDAP +
 * EXO) implement it elsewhere; tests use an in-memory fake. A rejected promise means the check could not
 * be made (an outage), never "the input is bad".
 */

export interface AcceptedDomain {
  readonly name: string;
  readonly default: boolean;
}

export interface Holder {
  /** `request`: an open Mailroom request that takes the name when it runs (not in AD or Exchange yet). */
  readonly where: 'ad' | 'exo' | 'request';
  /** A name a person recognises (display name, or DN/identity; a request's reference). */
  readonly name: string;
  /** The holder's stable identity when the adapter knows it: the AD DN, or Exchange's ExchangeObjectId. */
  readonly id?: string;
}

export interface FoundRecipient {
  readonly name: string;
  /** EXO RecipientTypeDetails, e.g. UserMailbox, SharedMailbox, MailUser, MailContact, MailUniversalSecurityGroup. */
  readonly type: string;
  readonly primarySmtpAddress: string;
  readonly isDirSynced: boolean;
  /** Null for recipients that have no such flag (mail users, contacts, groups). */
  readonly isExchangeCloudManaged: boolean | null;
  readonly adDn?: string;
  /** The Entra sign-in name of a user/mailbox (Get-Mailbox UserPrincipalName); needed for licence steps. */
  readonly userPrincipalName?: string;
  /** A stable EXO identity (ExchangeObjectId), when the adapter has it. */
  readonly exoId?: string;
}

/** One of several recipients an identity matched, as an error lists it. */
export interface RecipientCandidate {
  readonly name: string;
  readonly primarySmtpAddress: string;
}

/**
 * What an identity finds in Exchange Online: no recipient, exactly one, or several. Several is an error for the
 * person to resolve (with the candidates to choose from): Mailroom never picks one of them.
 */
export type RecipientMatch =
  | { readonly found: 'none' }
  | { readonly found: 'one'; readonly recipient: FoundRecipient }
  | { readonly found: 'several'; readonly candidates: readonly RecipientCandidate[] };

export interface NameQuery {
  samAccountName?: string;
  userPrincipalName?: string;
  alias?: string;
  /** Any proxy address (primary or secondary), compared case-insensitively. */
  address?: string;
  /** More addresses, each compared as `address` is. */
  addresses?: readonly string[];
  /** A distinguished name: AD's object there, if any (a new object's name taken in its OU). */
  dn?: string;
}

export interface RecipientLookup {
  /** EXO Get-AcceptedDomain, cached by the adapter. */
  acceptedDomains(): Promise<AcceptedDomain[]>;
  /**
   * Every object in AD or EXO that already holds any of the given values. Several values may be passed at once;
   * the adapter answers them with one round trip per system, so callers ask for everything they need together.
   */
  whoHas(what: NameQuery): Promise<Holder[]>;
  /**
   * The existing recipient an identity (address, UPN or alias, never a wildcard) names: none, one, or several
   * (each candidate that Exchange Online lists for it).
   */
  findRecipient(identity: string): Promise<RecipientMatch>;
  /** The manager and the mail-enabled groups (AD's and cloud-only ones) of a recipient (offboarding). */
  relationsOf(recipient: FoundRecipient): Promise<RecipientRelations>;
}

/** Who a person works for and which mail-enabled groups they are in: what an offboarding acts on besides the mailbox. */
export interface RecipientRelations {
  /**
   * The manager named in AD (`manager`, which sync carries to Entra ID) as Exchange Online finds it; null when AD names
   * none (or the recipient has no AD object).
   */
  readonly manager: RecipientMatch | null;
  /**
   * The mail-enabled groups (distribution and mail-enabled security groups) the recipient is a direct member of: the
   * synced ones as AD lists them, the cloud-only ones as Exchange Online does.
   */
  readonly groups: readonly FoundRecipient[];
}

/**
 * Thrown (as a rejection of validateRequest) when a check could not be made because the lookup failed.
 * Nothing was requested; the person can try again.
 */
export class LookupUnavailableError extends Error {
  override readonly name = 'LookupUnavailableError';
  constructor(
    readonly check: string,
    override readonly cause: unknown,
  ) {
    super(
      `Mailroom could not check ${check}: ${cause instanceof Error ? cause.message : String(cause)}. ` +
        'Nothing was requested. Try again in a minute; if it keeps failing, tell an administrator.',
    );
  }
}

/** Runs one port call, turning a failure into LookupUnavailableError that names the check. */
export async function ask<T>(check: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof LookupUnavailableError) throw err;
    throw new LookupUnavailableError(check, err);
  }
}
