/**
 * The steps of a plan: what the workflow's executors implement. Each action has exactly one input shape
 * (the exact data to write: DNs, attributes with values, skuIds …; never a password), so executors switch
 * on `action` and get a typed `input`. Every step must be carried out idempotently (look first, act only
 * if the desired state is missing).
 */
import type { MailboxPermissionName, MailboxTypeName } from '../requests/kinds';
import type { SyncEngine } from '../requests/tenant-profile';

export type StepSystem = 'ad' | 'entra' | 'exo' | 'wait';

/**
 * LDAP attribute values as strings, multi-valued attributes as lists, by their LDAP names: the AD steps hand them to
 * the directory as they are (`NewObject.attributes`).
 */
export type AttributeValues = Readonly<Record<string, string | readonly string[]>>;

/** How to bring a change or a new object through sync, and how long to wait for it. */
export interface SyncWait {
  readonly engine: SyncEngine;
  /** Entra Cloud Sync: ask for on-demand provisioning of `dn` (Graph provisionOnDemand) before waiting. */
  readonly provisionOnDemand: boolean;
  readonly dn: string;
  readonly objectType: 'user' | 'contact' | 'group';
}

/** The Entra user of a licence step and how the licence is given. */
export type LicenceInput =
  | { readonly userPrincipalName: string; readonly via: 'direct'; readonly skuId: string; readonly skuName: string }
  /** Membership of an Entra (cloud) licensing group, changed through Graph. */
  | { readonly userPrincipalName: string; readonly via: 'group'; readonly groupId: string; readonly groupName: string };

/** What `exo.awaitRecipient` waits for; every given property must hold. */
export interface RecipientExpectation {
  readonly recipientTypeDetails?: string;
  readonly primarySmtpAddress?: string;
  /** Proxy addresses that must be present (`smtp:x`; compared case-insensitively on the address). */
  readonly emailAddressesInclude?: readonly string[];
  readonly emailAddressesExclude?: readonly string[];
  readonly externalEmailAddress?: string;
  readonly hiddenFromAddressListsEnabled?: boolean;
}

export interface StepInputs {
  /** Create a user: add with the attributes, then set a generated password, then userAccountControl. */
  'ad.createUser': {
    readonly dn: string;
    readonly parentDn: string;
    readonly cn: string;
    readonly samAccountName: string;
    readonly userPrincipalName: string;
    /** Attributes besides objectClass, cn, sAMAccountName, userPrincipalName, unicodePwd and userAccountControl. */
    readonly attributes: AttributeValues;
    readonly accountEnabled: boolean;
    /** The executor generates a random password (never shown for disabled accounts, shown once otherwise). */
    readonly password: 'generate';
    readonly mustChangePassword: boolean;
  };
  'ad.createContact': { readonly dn: string; readonly parentDn: string; readonly cn: string; readonly attributes: AttributeValues };
  'ad.createGroup': {
    readonly dn: string;
    readonly parentDn: string;
    readonly cn: string;
    readonly samAccountName: string;
    /** AD groupType as a signed 32-bit integer (global 2, universal 8, | 0x80000000 for security): `groupTypeOf(scope, securityEnabled)`. */
    readonly groupType: number;
    readonly scope: 'global' | 'universal';
    readonly securityEnabled: boolean;
    readonly attributes: AttributeValues;
    readonly memberDns: readonly string[];
  };
  /**
   * Modify an object. `replace`: set exactly these values; `add`/`remove`: add or remove single values (an
   * existing/missing value is not an error); `replaceIfPresent`: replace only attributes that have a value now.
   */
  'ad.setAttributes': {
    readonly dn: string;
    readonly replace?: AttributeValues;
    readonly add?: AttributeValues;
    readonly remove?: AttributeValues;
    readonly replaceIfPresent?: AttributeValues;
  };
  /**
   * Set `mail`; with `rewriteProxyAddresses`, also make `SMTP:<mail>` the only primary entry of proxyAddresses and
   * keep the previous primary as `smtp:<previous>` (read, change, write back: AD compares values case-insensitively).
   */
  'ad.setPrimaryAddress': { readonly dn: string; readonly mail: string; readonly previous: string; readonly rewriteProxyAddresses: boolean };
  'ad.disableAccount': { readonly dn: string };
  /** Roll back of an offboarding: enable the account again (clear ACCOUNTDISABLE in userAccountControl). */
  'ad.enableAccount': { readonly dn: string };
  'ad.addGroupMember': { readonly groupDn: string; readonly memberDn: string };
  'ad.removeGroupMember': { readonly groupDn: string; readonly memberDn: string };
  /**
   * Roll back: delete an object this request created, only while it still carries `expectStamp` in `description`
   * (and, when known, the objectGUID it was created with). Absent: done. Anything else at the DN: nothing deleted.
   */
  'ad.deleteObject': {
    readonly dn: string;
    readonly expectStamp: string;
    readonly objectGuid?: string;
    readonly objectClass?: 'user' | 'contact' | 'group';
  };
  /** Wait until the user exists in Entra ID (matched on the AD object), optionally with accountEnabled as given. */
  'sync.awaitUser': SyncWait & {
    /** Known for new users; existing users are matched on `dn` (onPremisesDistinguishedName). */
    readonly samAccountName?: string;
    readonly userPrincipalName?: string;
    readonly expectAccountEnabled?: boolean;
    readonly timeoutMinutes: number;
  };
  'sync.awaitContact': SyncWait & { readonly mail: string; readonly timeoutMinutes: number };
  'sync.awaitGroup': SyncWait & { readonly samAccountName: string; readonly timeoutMinutes: number };
  /** Graph PATCH /users/{upn} usageLocation (onlyIfMissing: only when it has none). */
  'entra.ensureUsageLocation': {
    readonly userPrincipalName: string;
    readonly usageLocation: string;
    readonly onlyIfMissing: boolean;
    /**
     * The id of a later direct-licence step of the same user whose read-back proves the usage location as well
     * (Entra refuses a licence to a user without one): the write is then not read back on its own.
     */
    readonly confirmedBy?: string;
  };
  'entra.assignLicence': LicenceInput;
  'entra.removeLicence': LicenceInput;
  /** Wait until Get-Mailbox finds the mailbox (the licence creates it). */
  'exo.awaitMailbox': { readonly identity: string; readonly timeoutMinutes: number };
  /**
   * Wait until the recipient shows in EXO as expected; `sync`: push the AD object first (Cloud Sync on demand).
   * `entraIdFrom`: the id of an earlier step of the plan whose result's `entraId` is the recipient's Entra object
   * (a sync wait): Exchange Online is then asked by ExternalDirectoryObjectId, not by `identity` (which stays the
   * name people read). Get-Recipient cannot filter on a sign-in name, and a mail user's is not among its addresses.
   */
  'exo.awaitRecipient': { readonly identity: string; readonly expect: RecipientExpectation; readonly sync?: SyncWait; readonly entraIdFrom?: string; readonly timeoutMinutes: number };
  'exo.setMailboxType': { readonly identity: string; readonly type: MailboxTypeName };
  'exo.setCloudManaged': { readonly identity: string; readonly enabled: boolean };
  /** Set-Mailbox -WindowsEmailAddress / Set-DistributionGroup -PrimarySmtpAddress / Set-MailContact -ExternalEmailAddress … per recipientType. */
  'exo.setPrimaryAddress': { readonly identity: string; readonly recipientType: string; readonly address: string };
  'exo.setAlias': { readonly identity: string; readonly recipientType: string; readonly alias: string };
  /** -EmailAddresses @{Add=…; Remove=…} with `smtp:` proxies. */
  'exo.setEmailAddresses': { readonly identity: string; readonly recipientType: string; readonly add: readonly string[]; readonly remove: readonly string[] };
  'exo.setHiddenFromAddressLists': { readonly identity: string; readonly recipientType: string; readonly hidden: boolean };
  'exo.setResourceCapacity': { readonly identity: string; readonly capacity: number };
  /**
   * Set-Mailbox -ForwardingAddress (a recipient) -ForwardingSmtpAddress (an outside address) -DeliverToMailboxAndForward:
   * the whole forwarding of a mailbox (both null: no forwarding). `forwardingAddressKeys`: how the recipient may show
   * in Get-Mailbox ForwardingAddress (its name, addresses, ids).
   */
  'exo.setForwarding': {
    readonly identity: string;
    readonly mailboxName: string;
    readonly forwardingAddress: string | null;
    readonly forwardingAddressKeys?: readonly string[];
    readonly forwardingSmtpAddress: string | null;
    readonly deliverToMailboxAndForward: boolean;
  };
  /**
   * Send on behalf in AD: add or remove one DN in publicDelegates of a mailbox's AD user (sync carries it to
   * GrantSendOnBehalfTo while AD masters the mailbox's Exchange attributes).
   */
  'ad.addPublicDelegate': { readonly dn: string; readonly delegateDn: string };
  'ad.removePublicDelegate': { readonly dn: string; readonly delegateDn: string };
  /**
   * Wait until Get-Mailbox shows each delegate in (or, `present: false`, not in) GrantSendOnBehalfTo, after sync
   * carried publicDelegates. A delegate is recognised by any of its `keys` (name, addresses, ids, DN).
   */
  'exo.awaitSendOnBehalf': {
    readonly identity: string;
    readonly delegates: readonly DelegateKeys[];
    readonly present: boolean;
    readonly sync: SyncWait;
    readonly timeoutMinutes: number;
  };
  /**
   * One mailbox permission for one user in Exchange Online, looked at first and read back: FullAccess
   * (Add-MailboxPermission -AccessRights FullAccess -InheritanceType All -AutoMapping), SendAs (Add-RecipientPermission
   * -AccessRights SendAs) or SendOnBehalf (Set-Mailbox -GrantSendOnBehalfTo @{Add=…}). The result records whether the
   * user held it before, so that a roll back never takes away what was there already.
   */
  'exo.grantMailboxPermission': MailboxPermissionInput;
  /** The reverse: Remove-MailboxPermission, Remove-RecipientPermission, Set-Mailbox -GrantSendOnBehalfTo @{Remove=…}. */
  'exo.revokeMailboxPermission': MailboxPermissionInput;
  /** Add-/Remove-DistributionGroupMember on a cloud-only group, looked at first (Get-DistributionGroupMember) and read back. */
  'exo.addGroupMember': GroupMemberInput;
  'exo.removeGroupMember': GroupMemberInput;
  /**
   * Set-CalendarProcessing on a room or equipment mailbox: only the settings given. Reads them first (recorded as the
   * intent and reported as `before`, with BookInPolicy as addresses) and reads them back.
   */
  'exo.setCalendarProcessing': CalendarProcessingInput;
  /** Set-MailboxAutoReplyConfiguration: the whole automatic reply of a mailbox, read first (`before`) and read back. */
  'exo.setAutoReply': AutoReplyInput;
  /** Graph POST /users/{upn}/revokeSignInSessions: refresh tokens and session cookies stop working. Cannot be undone. */
  'entra.revokeSessions': { readonly userPrincipalName: string };
  /** Wait until a moment (an offboarding's leave date): nothing is looked at, the step is done once `at` has come. */
  'wait.untilTime': { readonly at: string; readonly what: string };
}

/** What `exo.setCalendarProcessing` sets; absent settings are not touched. */
export interface CalendarSettings {
  readonly automateProcessing?: 'AutoAccept' | 'AutoUpdate' | 'None';
  readonly bookingWindowInDays?: number;
  readonly maximumDurationInMinutes?: number;
  readonly allowConflicts?: boolean;
  /** True: everyone in the organisation may book (AllBookInPolicy); false: only `bookInPolicy`. */
  readonly allBookInPolicy?: boolean;
  /** Who may book when AllBookInPolicy is off (addresses or ids of users and groups); replaces the list. */
  readonly bookInPolicy?: readonly string[];
}

export interface CalendarProcessingInput {
  readonly identity: string;
  readonly mailboxName: string;
  readonly settings: CalendarSettings;
  /** How each of `settings.bookInPolicy` may show in Get-CalendarProcessing's BookInPolicy (names, addresses, ids). */
  readonly bookInPolicyKeys?: readonly DelegateKeys[];
}

export type AutoReplyStateName = 'Enabled' | 'Disabled' | 'Scheduled';

export interface AutoReplyInput {
  readonly identity: string;
  readonly mailboxName: string;
  readonly state: AutoReplyStateName;
  /** Plain text (Exchange keeps it as HTML); null clears it. Absent with Disabled: the messages stay as they are. */
  readonly internalMessage?: string | null;
  readonly externalMessage?: string | null;
  readonly externalAudience?: 'All' | 'Known' | 'None';
  /** ISO date-times; Scheduled only. */
  readonly startTime?: string;
  readonly endTime?: string;
}

/** How a delegate, member or permission holder may show in Exchange's output: its name, addresses, ids or DN. */
export interface DelegateKeys {
  readonly name: string;
  readonly keys: readonly string[];
}

export interface MailboxPermissionInput {
  /** The mailbox (ExchangeObjectId or address). */
  readonly identity: string;
  readonly mailboxName: string;
  readonly permission: MailboxPermissionName;
  /** The user (ExchangeObjectId or address), as -User / -Trustee / -GrantSendOnBehalfTo. */
  readonly user: string;
  readonly userName: string;
  /** How the user may show in Exchange's output (User, Trustee, GrantSendOnBehalfTo): name, addresses, UPN, ids. */
  readonly userKeys?: readonly string[];
  /** FullAccess grants only; Exchange's default is true. */
  readonly autoMapping?: boolean;
}

export interface GroupMemberInput {
  readonly identity: string;
  readonly groupName: string;
  readonly member: string;
  readonly memberName: string;
  /** How the member may show in Get-DistributionGroupMember's output. */
  readonly memberKeys?: readonly string[];
}

export type StepAction = keyof StepInputs;

export const STEP_ACTIONS: readonly StepAction[] = [
  'ad.createUser', 'ad.createContact', 'ad.createGroup', 'ad.setAttributes', 'ad.setPrimaryAddress', 'ad.disableAccount',
  'ad.addGroupMember', 'ad.removeGroupMember', 'ad.deleteObject',
  'sync.awaitUser', 'sync.awaitContact', 'sync.awaitGroup',
  'entra.ensureUsageLocation', 'entra.assignLicence', 'entra.removeLicence',
  'exo.awaitMailbox', 'exo.awaitRecipient', 'exo.setMailboxType', 'exo.setCloudManaged', 'exo.setPrimaryAddress', 'exo.setAlias',
  'exo.setEmailAddresses', 'exo.setHiddenFromAddressLists', 'exo.setResourceCapacity', 'exo.setForwarding',
  'ad.addPublicDelegate', 'ad.removePublicDelegate', 'exo.awaitSendOnBehalf',
  'exo.grantMailboxPermission', 'exo.revokeMailboxPermission', 'exo.addGroupMember', 'exo.removeGroupMember',
  'ad.enableAccount', 'exo.setCalendarProcessing', 'exo.setAutoReply', 'entra.revokeSessions', 'wait.untilTime',
];

/** Which system a step talks to; waits are their own system (timers in the store, not sleeping promises). */
export function systemOf(action: StepAction): StepSystem {
  if (action.startsWith('sync.') || action.startsWith('wait.') || action === 'exo.awaitMailbox' || action === 'exo.awaitRecipient' || action === 'exo.awaitSendOnBehalf') return 'wait';
  return action.slice(0, action.indexOf('.')) as StepSystem;
}

export type Step = {
  [A in StepAction]: {
    /** Stable within the plan, e.g. "ad.create-user". */
    readonly id: string;
    readonly system: StepSystem;
    readonly action: A;
    readonly input: StepInputs[A];
    /** One plain sentence for the approval card. */
    readonly summary: string;
    readonly waits: boolean;
  };
}[StepAction];

export type StepOf<A extends StepAction> = Extract<Step, { action: A }>;
