/**
 * The plain data of a simulated tenant (see `tenant.ts` for the class that keeps it and its rules): what
 * the sync engine passes in (read from AD), what an upsert reports, the state `Tenant.toJSON` saves, the
 * options a tenant starts from, and what a new Entra object looks like before anything is set on it.
 *
 * Nothing here decides anything: the hybrid rules are in `rules.ts`, their application in `tenant.ts`.
 */
import type { Clock } from './clock';
import type { IdGenerator } from './ids';
import type { AdGroupScope, RecipientTypeDetails } from './rules';
import type { ServicePlan, SkuDefinition } from './skus';

// =============================================================================================
// Input types: what the sync engine passes in (read from AD)
// =============================================================================================

/**
 * A user as read from AD. Only `distinguishedName`, `samAccountName`, `userPrincipalName`,
 * `accountEnabled` and one of `objectGuid`/`immutableId` are required; leave out what AD does not have.
 * Without the Exchange schema AD has `mail`, `mailNickname`, `targetAddress` and `proxyAddresses`;
 * `hideFromAddressLists` (msExchHideFromAddressLists), `usageLocation` (msExchUsageLocation) and
 * `extensionAttributes` exist only with it.
 */
export interface AdUserInput {
  /** AD objectGUID (string form); the immutable id is derived from it unless `immutableId` is given. */
  objectGuid?: string;
  /** Entra's sourceAnchor (base64 objectGUID or ms-DS-ConsistencyGuid). Wins over `objectGuid`. */
  immutableId?: string;
  distinguishedName: string;
  samAccountName: string;
  /** AD userPrincipalName. Entra keeps it if its suffix is a verified domain, else uses the initial domain. */
  userPrincipalName: string;
  /** From userAccountControl (ACCOUNTDISABLE not set). */
  accountEnabled: boolean;
  displayName?: string | null;
  givenName?: string | null;
  surname?: string | null;
  department?: string | null;
  jobTitle?: string | null;
  companyName?: string | null;
  mobilePhone?: string | null;
  telephoneNumber?: string | null;
  officeLocation?: string | null;
  employeeId?: string | null;
  /** objectSid in SDDL form (S-1-5-21-…). */
  objectSid?: string | null;
  mail?: string | null;
  mailNickname?: string | null;
  targetAddress?: string | null;
  proxyAddresses?: string[];
  hideFromAddressLists?: boolean | null;
  usageLocation?: string | null;
  /** extensionAttribute1..15 → EXO CustomAttribute1..15; key `extensionAttribute3` etc. */
  extensionAttributes?: Record<string, string | null | undefined>;
  /**
   * AD `manager`, as the immutable id (or objectGUID) of the manager's AD object; resolved when that object is synced
   * (Entra Connect syncs `manager` to the Entra user's manager, a reference attribute mastered in AD).
   */
  manager?: string | null;
  /**
   * AD `publicDelegates` (Exchange's GrantSendOnBehalfTo), as immutable ids (or objectGUIDs) of the delegates; only
   * where AD has the attribute. Entra Connect syncs it to Exchange Online while AD masters the mailbox's Exchange attributes.
   */
  publicDelegates?: string[];
}

/** A contact as read from AD. */
export interface AdContactInput {
  objectGuid?: string;
  immutableId?: string;
  distinguishedName: string;
  displayName?: string | null;
  givenName?: string | null;
  surname?: string | null;
  companyName?: string | null;
  department?: string | null;
  jobTitle?: string | null;
  mail?: string | null;
  mailNickname?: string | null;
  /** For contacts, Exchange's ExternalEmailAddress; defaults to `mail`. */
  targetAddress?: string | null;
  proxyAddresses?: string[];
  hideFromAddressLists?: boolean | null;
}

/** A group as read from AD. */
export interface AdGroupInput {
  objectGuid?: string;
  immutableId?: string;
  distinguishedName: string;
  samAccountName: string;
  displayName?: string | null;
  description?: string | null;
  /** From groupType: global, universal or domain local. */
  scope: AdGroupScope;
  /** From groupType: security (true) or distribution (false). */
  securityEnabled: boolean;
  mail?: string | null;
  mailNickname?: string | null;
  proxyAddresses?: string[];
  hideFromAddressLists?: boolean | null;
  objectSid?: string | null;
  /**
   * Members as immutable ids (or objectGUIDs; both forms are accepted). Members that are not synced
   * (yet) are kept and resolve as soon as they are.
   */
  members?: string[];
  /**
   * AD's `managedBy` as an immutable id (or objectGUID): Entra Connect syncs it for groups ("Attributes synchronized to
   * Microsoft Entra ID", Exchange Online), and Exchange Online shows the owner in the group's ManagedBy once it is synced.
   */
  managedBy?: string | null;
}

/** What an upsert did, for the sync engine's log. */
export interface SyncOutcome {
  immutableId: string;
  /** The Entra object id. */
  entraId: string;
  created: boolean;
  /** The object's EXO type after the change, or null when it is not in EXO. */
  exo: RecipientTypeDetails | null;
  /** Human-readable notes (e.g. which AD changes EXO ignored and why). */
  notes: string[];
}


// =============================================================================================
// State types (plain data, saved by toJSON)
// =============================================================================================

export interface AppRegistration {
  clientId: string;
  displayName: string;
  /** Object id of the app's service principal in this tenant (the `oid` of its tokens). */
  servicePrincipalId: string;
  secrets: string[];
  /** Registered certificates (PEM). A client assertion must be signed by one of their keys. */
  certificates: string[];
  /** Application permissions on Microsoft Graph (`roles` in Graph tokens). */
  graphRoles: string[];
  /** Application permissions on Exchange Online (`roles` in EXO tokens), e.g. Exchange.ManageAsApp. */
  exchangeRoles: string[];
  /**
   * Microsoft Entra roles assigned to the app's service principal (their template ids travel in the tokens' `wids`
   * claim; Exchange Online builds the app's RBAC from them). Absent in state saved before it existed: then
   * {@link DEFAULT_DIRECTORY_ROLES}.
   */
  directoryRoles?: DirectoryRoleName[];
  /**
   * Exchange Online management roles the app holds through role groups its Exchange service principal is a member of
   * (New-ServicePrincipal + Add-RoleGroupMember), e.g. "Mail Recipients". Exchange evaluates them per request.
   */
  exchangeManagementRoles?: string[];
}

/**
 * The Microsoft Entra roles the emulator knows for Exchange Online app-only access, with their template ids
 * (https://learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference). Both give "the
 * required permissions for any task in Exchange Online PowerShell"
 * (https://learn.microsoft.com/powershell/exchange/app-only-auth-powershell-v2, Step 5, Option 1).
 */
export const DIRECTORY_ROLE_TEMPLATE_IDS = {
  'Global Administrator': '62e90394-69f5-4237-9190-012177145e10',
  'Exchange Administrator': '29232cdf-9323-42fd-ade2-1d097af3e4de',
} as const;
export type DirectoryRoleName = keyof typeof DIRECTORY_ROLE_TEMPLATE_IDS;

/** A Cloud Sync (AD2AAD) job as Graph's synchronizationJob reports it. */
export interface SyncJobState {
  servicePrincipalId: string;
  jobId: string;
  templateId: string;
  /** synchronizationStatus.code: NotConfigured, NotRun, Active, Paused, Quarantine. */
  code: SyncJobStatusCode;
  /** With Quarantine: synchronizationQuarantine.reason and its error. */
  quarantine: { reason: string; errorCode: string; message: string; since: string } | null;
  /**
   * The id of the job schema's one synchronization rule (AD2AADProvisioning). Absent: {@link AD2AAD_RULE_ID}, the
   * id Microsoft's AD-to-Entra-ID examples show.
   */
  ruleId?: string;
}

/**
 * The rule id of Cloud Sync's AD2AADProvisioning schema in Microsoft's provisionOnDemand example ("Sync on-demand
 * from Active Directory to Microsoft Entra ID", synchronization-synchronizationjob-provisionondemand) and in job
 * schemas read from tenants (`GET …/jobs/{jobId}/schema`, synchronizationRules[0].id).
 */
export const AD2AAD_RULE_ID = '6c409270-f78a-4bc6-af23-7cf3ab6482fe';

export type SyncJobStatusCode = 'NotConfigured' | 'NotRun' | 'Active' | 'Paused' | 'Quarantine';

export interface AcceptedDomain {
  name: string;
  isInitial: boolean;
  isDefault: boolean;
}

export interface SkuState extends SkuDefinition {
  prepaidUnits: number;
}

export interface LicenceAssignment {
  skuId: string;
  disabledPlans: string[];
  /** null for a direct assignment, else the id of the licensing group. */
  assignedByGroup: string | null;
  state: 'Active' | 'Error';
  error: 'None' | 'CountViolation';
  lastUpdatedDateTime: string;
}

export interface EntraUser {
  id: string;
  userPrincipalName: string;
  displayName: string;
  givenName: string | null;
  surname: string | null;
  /** Entra's `mail`: the mailbox's primary address once there is a mailbox, else AD `mail`. */
  mail: string | null;
  mailNickname: string;
  department: string | null;
  jobTitle: string | null;
  companyName: string | null;
  mobilePhone: string | null;
  businessPhones: string[];
  officeLocation: string | null;
  employeeId: string | null;
  usageLocation: string | null;
  accountEnabled: boolean;
  userType: 'Member' | 'Guest';
  createdDateTime: string;
  onPremisesSyncEnabled: boolean | null;
  onPremisesImmutableId: string | null;
  onPremisesSamAccountName: string | null;
  onPremisesDistinguishedName: string | null;
  onPremisesUserPrincipalName: string | null;
  onPremisesDomainName: string | null;
  onPremisesSecurityIdentifier: string | null;
  onPremisesLastSyncDateTime: string | null;
  /** Direct licence assignments (group-based ones live on the group). */
  directLicenses: { skuId: string; disabledPlans: string[] }[];
  /** All assignments, direct and through groups, with their state (computed). */
  licenseAssignmentStates: LicenceAssignment[];
  /** `ExchangeAttributesCloudManagedByDefault` when this user was first synced. */
  cloudManagedByDefaultAtFirstSync: boolean;
  /**
   * The manager of a cloud user (an Entra object id), set with `PUT /users/{id}/manager/$ref`. A synced user's manager
   * comes from AD (`ad.manager`). Absent in older saved state.
   */
  managerId?: string | null;
  /** signInSessionsValidFromDateTime: reset by revokeSignInSessions; absent until the first revocation. */
  signInSessionsValidFromDateTime?: string | null;
  /** The last AD state applied (synced users only). */
  ad: AdUserInput | null;
}

export interface EntraGroup {
  id: string;
  displayName: string;
  description: string | null;
  mail: string | null;
  mailEnabled: boolean;
  mailNickname: string;
  securityEnabled: boolean;
  groupTypes: string[];
  createdDateTime: string;
  onPremisesSyncEnabled: boolean | null;
  onPremisesImmutableId: string | null;
  onPremisesSamAccountName: string | null;
  onPremisesSecurityIdentifier: string | null;
  onPremisesDomainName: string | null;
  onPremisesLastSyncDateTime: string | null;
  onPremisesScope: AdGroupScope | null;
  proxyAddresses: string[];
  assignedLicenses: { skuId: string; disabledPlans: string[] }[];
  /** Members of a cloud group (Entra object ids). */
  memberIds: string[];
  /** Members of a synced group, as immutable ids from AD. */
  adMemberImmutableIds: string[];
  ad: AdGroupInput | null;
  /** onPremisesSyncBehavior.isCloudManaged: the source of authority of a synced group moved to the cloud; absent in older saved state. */
  isCloudManaged?: boolean;
}

export interface EntraContact {
  id: string;
  displayName: string;
  givenName: string | null;
  surname: string | null;
  mail: string | null;
  mailNickname: string;
  companyName: string | null;
  department: string | null;
  jobTitle: string | null;
  proxyAddresses: string[];
  onPremisesSyncEnabled: boolean | null;
  onPremisesImmutableId: string | null;
  onPremisesLastSyncDateTime: string | null;
  createdDateTime: string;
  ad: AdContactInput | null;
}

/** An Exchange Online recipient (what Get-User / Get-Recipient / Get-Mailbox see). */
export interface ExoRecipient {
  /** EXO's own object id (`Guid`, `ExchangeObjectId`). */
  guid: string;
  /** The Entra object behind it. */
  externalDirectoryObjectId: string;
  objectKind: 'user' | 'contact' | 'group';
  recipientTypeDetails: RecipientTypeDetails;
  name: string;
  alias: string;
  displayName: string;
  primarySmtpAddress: string | null;
  windowsEmailAddress: string | null;
  emailAddresses: string[];
  externalEmailAddress: string | null;
  hiddenFromAddressListsEnabled: boolean;
  isDirSynced: boolean;
  isExchangeCloudManaged: boolean;
  exchangeGuid: string;
  groupType: string | null;
  /** CustomAttribute1..15 (index 0 = CustomAttribute1). */
  customAttributes: string[];
  /** AD proxyAddresses last applied (to diff the next change against). */
  adProxyAddresses: string[];
  /** Set when IsExchangeCloudManaged went back to False: the next sync re-applies all of AD. */
  reapplyFromAd: boolean;
  /** When the last Exchange licence was removed from a regular user mailbox (kept; see rules). */
  licenceRemovedAt: string | null;
  whenMailboxCreated: string | null;
  whenCreated: string;
  whenChanged: string;
  /** Room and equipment mailboxes: how many people (Set-Mailbox -ResourceCapacity); absent in older saved state. */
  resourceCapacity?: number | null;
  /** Cloud distribution groups: the owners (recipient names) New-/Set-DistributionGroup -ManagedBy gave; absent in older saved state. */
  managedBy?: string[];
  /** Mailboxes: Add-/Remove-MailboxPermission entries (Exchange Online's own, never synced); absent in older saved state. */
  mailboxPermissions?: MailboxAce[];
  /** Add-/Remove-RecipientPermission SendAs trustees (Entra object ids); absent in older saved state. */
  sendAs?: string[];
  /** Mailboxes: GrantSendOnBehalfTo (publicDelegates), as Entra object ids of the delegates; absent in older saved state. */
  grantSendOnBehalfTo?: string[];
  /** Mailboxes: ForwardingAddress, the Entra object id of an internal recipient; absent in older saved state. */
  forwardingAddress?: string | null;
  /** Mailboxes: ForwardingSmtpAddress as Exchange shows it (`smtp:user@example.com`); absent in older saved state. */
  forwardingSmtpAddress?: string | null;
  deliverToMailboxAndForward?: boolean;
  messageCopyForSentAsEnabled?: boolean;
  messageCopyForSendOnBehalfEnabled?: boolean;
  /** Mailboxes: what Set-CalendarProcessing changed (the rest are the documented defaults); absent in older saved state. */
  calendarProcessing?: CalendarProcessingChanges;
  /** Mailboxes: Set-MailboxAutoReplyConfiguration's settings; absent until the first change (then: Disabled, no messages). */
  autoReply?: AutoReplyState;
}

/** One mailbox permission entry (ACE) added with Add-MailboxPermission. */
export interface MailboxAce {
  /** The trustee's Entra object id (a user with or without mailbox, or a mail-enabled security group). */
  trusteeId: string;
  /** MailboxRights: FullAccess, ReadPermission, ChangePermission, ChangeOwner, DeleteItem, ExternalAccount. */
  accessRights: string[];
  deny: boolean;
  /** ActiveDirectorySecurityInheritance: None, All, Children, Descendents, SelfAndChildren (default All). */
  inheritanceType: string;
  /** Add-MailboxPermission -AutoMapping (default $true); only meaningful with FullAccess. */
  autoMapping: boolean;
}

/** Set-CalendarProcessing values that differ from the defaults; recipient lists are Entra object ids. */
export type CalendarProcessingChanges = Record<string, string | number | boolean | string[] | null>;

/** Set-MailboxAutoReplyConfiguration's state of a mailbox. */
export interface AutoReplyState {
  /** Disabled, Enabled or Scheduled. */
  autoReplyState: string;
  /** ExternalAudience: None, Known or All. */
  externalAudience: string;
  internalMessage: string | null;
  externalMessage: string | null;
  startTime: string | null;
  endTime: string | null;
}

interface PendingMailbox {
  userId: string;
  dueAt: number;
}

/** The serialisable state of a tenant. */
export interface TenantState {
  version: 1;
  tenantId: string;
  displayName: string;
  domains: AcceptedDomain[];
  exchangeAttributesCloudManagedByDefault: boolean;
  mailboxProvisioningDelayMs: number;
  /** The default country for group-based licensing of users without usageLocation. */
  countryLetterCode: string;
  apps: AppRegistration[];
  skus: SkuState[];
  users: EntraUser[];
  groups: EntraGroup[];
  contacts: EntraContact[];
  recipients: ExoRecipient[];
  pendingMailboxes: PendingMailbox[];
  /** Cloud Sync jobs (absent in state saved before they were modelled). */
  syncJobs?: SyncJobState[];
  /** Microsoft Teams: the tenant's app catalog (absent in state saved before Teams was modelled). */
  teamsApps?: TeamsCatalogApp[];
  /** Microsoft Teams: apps installed in users' personal scope. */
  teamsInstallations?: TeamsUserInstallation[];
  /** Microsoft Teams: activity feed notifications Graph accepted (sendActivityNotification). */
  activityNotifications?: ActivityNotificationRecord[];
}

// =============================================================================================
// Microsoft Teams
// =============================================================================================

/** A Teams app in the tenant's app catalog (Graph teamsApp) with what the emulator needs of its manifest. */
export interface TeamsCatalogApp {
  /** The catalog id Graph generates (teamsApp.id). */
  id: string;
  /** The manifest's `id` (teamsApp.externalId). */
  externalId: string;
  displayName: string;
  distributionMethod: 'organization' | 'store' | 'sideloaded';
  /** The manifest's `bots[0].botId`, if the app has a bot. */
  botId: string | null;
  /** The manifest's `webApplicationInfo.id`: the Entra app that sends its activity feed notifications. */
  webApplicationInfoId: string | null;
  /** The manifest's `activities.activityTypes[].type`. */
  activityTypes: string[];
}

/** An app installed in a user's personal scope (Graph userScopeTeamsAppInstallation) and its 1:1 chat with the user. */
export interface TeamsUserInstallation {
  id: string;
  userId: string;
  teamsAppId: string;
  chatId: string;
  /** ISO time (tenant clock). */
  installedAt: string;
}

/** One activity feed notification Graph accepted. */
export interface ActivityNotificationRecord {
  userId: string;
  /** The catalog id of the Teams app that sent it. */
  teamsAppId: string;
  activityType: string;
  topic: { source: 'text' | 'entityUrl'; value: string; webUrl?: string };
  previewText: { content: string };
  templateParameters: { name: string; value: string }[];
  chainId?: number;
  /** ISO time (tenant clock). */
  at: string;
}

// =============================================================================================
// Options
// =============================================================================================

export interface SkuSeed {
  /** A key of {@link KNOWN_SKUS}, or a custom part number together with `skuId` and `servicePlans`. */
  skuPartNumber: string;
  units: number;
  skuId?: string;
  servicePlans?: ServicePlan[];
}

export interface AppSeed {
  clientId?: string;
  displayName?: string;
  clientSecret?: string;
  certificatePem?: string;
  graphRoles?: string[];
  exchangeRoles?: string[];
  directoryRoles?: DirectoryRoleName[];
  exchangeManagementRoles?: string[];
}

export interface TenantOptions {
  tenantId?: string;
  displayName?: string;
  /** The `*.onmicrosoft.com` domain. Default `contoso.onmicrosoft.com`. */
  initialDomain?: string;
  /** Verified custom domains. Default `['contoso.com']`. */
  customDomains?: string[];
  /** The default accepted domain; default the first custom domain, else the initial one. */
  defaultDomain?: string;
  clock?: Clock;
  ids?: IdGenerator;
  /** Delay between an Exchange licence and its mailbox. Default 0 (at once). */
  mailboxProvisioningDelayMs?: number;
  exchangeAttributesCloudManagedByDefault?: boolean;
  countryLetterCode?: string;
  /** Default: 25 EXCHANGESTANDARD, 5 EXCHANGEENTERPRISE, 10 000 FLOW_FREE. */
  skus?: SkuSeed[];
  /** Default: one app with Graph and Exchange permissions (see {@link DEFAULT_GRAPH_ROLES}). */
  apps?: AppSeed[];
}

export const DEFAULT_GRAPH_ROLES: readonly string[] = [
  'User.ReadWrite.All',
  'Group.ReadWrite.All',
  'GroupMember.ReadWrite.All',
  'Directory.ReadWrite.All',
  'Organization.Read.All',
  'Synchronization.ReadWrite.All',
  'LicenseAssignment.ReadWrite.All',
];
export const DEFAULT_EXCHANGE_ROLES: readonly string[] = ['Exchange.ManageAsApp'];
/** Exchange Administrator: the Entra role the app-only guide assigns first (Option 1). */
export const DEFAULT_DIRECTORY_ROLES: readonly DirectoryRoleName[] = ['Exchange Administrator'];


/** An Entra object of any kind, as Graph's directoryObjects see it. */
export type AnyEntraObject = { kind: 'user'; obj: EntraUser } | { kind: 'group'; obj: EntraGroup } | { kind: 'contact'; obj: EntraContact };

// =============================================================================================
// New objects: every attribute empty but those given (synced ones get the rest from AD at once)
// =============================================================================================

/** A new Entra user: a Member with no names, licences or on-premises attributes beyond those given. */
export function newEntraUser(
  id: string,
  createdDateTime: string,
  given: Pick<
    EntraUser,
    'userPrincipalName' | 'displayName' | 'mailNickname' | 'accountEnabled' | 'onPremisesSyncEnabled' | 'onPremisesImmutableId' | 'cloudManagedByDefaultAtFirstSync'
  >,
): EntraUser {
  return {
    id,
    userPrincipalName: given.userPrincipalName,
    displayName: given.displayName,
    givenName: null,
    surname: null,
    mail: null,
    mailNickname: given.mailNickname,
    department: null,
    jobTitle: null,
    companyName: null,
    mobilePhone: null,
    businessPhones: [],
    officeLocation: null,
    employeeId: null,
    usageLocation: null,
    accountEnabled: given.accountEnabled,
    userType: 'Member',
    createdDateTime,
    onPremisesSyncEnabled: given.onPremisesSyncEnabled,
    onPremisesImmutableId: given.onPremisesImmutableId,
    onPremisesSamAccountName: null,
    onPremisesDistinguishedName: null,
    onPremisesUserPrincipalName: null,
    onPremisesDomainName: null,
    onPremisesSecurityIdentifier: null,
    onPremisesLastSyncDateTime: null,
    directLicenses: [],
    licenseAssignmentStates: [],
    cloudManagedByDefaultAtFirstSync: given.cloudManagedByDefaultAtFirstSync,
    ad: null,
  };
}

/** A new Entra group: not mail-enabled, no members or licences, no on-premises attributes beyond those given. */
export function newEntraGroup(
  id: string,
  createdDateTime: string,
  given: Pick<EntraGroup, 'displayName' | 'mailNickname' | 'securityEnabled' | 'onPremisesSyncEnabled' | 'onPremisesImmutableId' | 'onPremisesScope'>,
): EntraGroup {
  return {
    id,
    displayName: given.displayName,
    description: null,
    mail: null,
    mailEnabled: false,
    mailNickname: given.mailNickname,
    securityEnabled: given.securityEnabled,
    groupTypes: [],
    createdDateTime,
    onPremisesSyncEnabled: given.onPremisesSyncEnabled,
    onPremisesImmutableId: given.onPremisesImmutableId,
    onPremisesSamAccountName: null,
    onPremisesSecurityIdentifier: null,
    onPremisesDomainName: null,
    onPremisesLastSyncDateTime: null,
    onPremisesScope: given.onPremisesScope,
    proxyAddresses: [],
    assignedLicenses: [],
    memberIds: [],
    adMemberImmutableIds: [],
    ad: null,
  };
}

/** A new Entra contact: no names or organisation beyond those given. */
export function newEntraContact(
  id: string,
  createdDateTime: string,
  given: Pick<EntraContact, 'displayName' | 'mail' | 'mailNickname' | 'proxyAddresses' | 'onPremisesSyncEnabled' | 'onPremisesImmutableId'>,
): EntraContact {
  return {
    id,
    displayName: given.displayName,
    givenName: null,
    surname: null,
    mail: given.mail,
    mailNickname: given.mailNickname,
    companyName: null,
    department: null,
    jobTitle: null,
    proxyAddresses: given.proxyAddresses,
    onPremisesSyncEnabled: given.onPremisesSyncEnabled,
    onPremisesImmutableId: given.onPremisesImmutableId,
    onPremisesLastSyncDateTime: null,
    createdDateTime,
    ad: null,
  };
}
