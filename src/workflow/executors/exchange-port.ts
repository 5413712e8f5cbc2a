/**
 * Exchange Online as the Exchange steps and the waits see it: one port for its cmdlets (`ExoClient`,
 * src/cloud/exo.ts, implements it) and the recipient properties Mailroom reads.
 */

/** Exchange Online cmdlets. Errors are `ExoCommandError`s (read structurally: cloud-errors.ts). */
export interface ExchangePort {
  invoke<T = Record<string, unknown>>(cmdlet: string, parameters?: Record<string, unknown>): Promise<{ readonly value: T[]; readonly warnings?: readonly string[] }>;
}

/** The properties of Get-Recipient / Get-Mailbox that Mailroom reads. */
export interface RecipientRow {
  Identity?: string;
  Name?: string;
  Alias?: string;
  Guid?: string;
  ExchangeObjectId?: string;
  ExchangeGuid?: string;
  ExternalDirectoryObjectId?: string;
  UserPrincipalName?: string;
  RecipientTypeDetails?: string;
  PrimarySmtpAddress?: string;
  WindowsEmailAddress?: string;
  EmailAddresses?: string[];
  ExternalEmailAddress?: string | null;
  HiddenFromAddressListsEnabled?: boolean;
  IsDirSynced?: boolean;
  IsExchangeCloudManaged?: boolean;
  ResourceCapacity?: number | string | null;
  /** Get-Mailbox: who may send on behalf of the mailbox (names). */
  GrantSendOnBehalfTo?: string[] | null;
  /** Get-Mailbox: the recipient mail is forwarded to (its name), the outside address ("smtp:x@y"), and whether a copy stays. */
  ForwardingAddress?: string | null;
  ForwardingSmtpAddress?: string | null;
  DeliverToMailboxAndForward?: boolean;
}
