/**
 * `npm run doctor -- --print-exo-rbac`: the Exchange Online commands that give Mailroom's app exactly the Exchange
 * roles its cmdlets need, writing only to the recipients Mailroom manages: the narrower alternative to assigning the
 * app the Entra role Exchange Administrator.
 *
 * The recipe is the one Microsoft documents for app-only access to Exchange Online PowerShell cmdlets, "Option 2:
 * Assign custom role groups to the application using service principals" (https://learn.microsoft.com/powershell/exchange/app-only-auth-powershell-v2,
 * Step 5): New-ServicePrincipal (Exchange's pointer to the Entra service principal), a role group with the roles and a
 * recipient write scope (New-ManagementScope -RecipientRestrictionFilter, New-RoleGroup -CustomRecipientWriteScope),
 * Add-RoleGroupMember. Not New-ManagementRoleAssignment -App … -CustomResourceScope: that parameter set is "RBAC for
 * Applications" (https://learn.microsoft.com/exchange/permissions-exo/application-rbac), which scopes the Application
 * roles that reach mailbox data through Graph and EWS ("Application Mail.Read" …), not administrative cmdlets, and the
 * App parameter set has no -CustomRecipientWriteScope.
 */
import type { MailroomConfig } from '../config/config';

/** One Exchange cmdlet Mailroom calls, the parameters it passes, and the management role that includes it. */
export interface MailroomCmdlet {
  readonly cmdlet: string;
  readonly parameters: readonly string[];
  readonly role: 'Mail Recipients' | 'Distribution Groups' | 'Security Group Creation and Membership' | 'View-Only Configuration';
  /** Where Mailroom calls it and why. */
  readonly usedFor: string;
}

/**
 * Every Exchange Online cmdlet Mailroom calls (src/workflow: tenant-profile-provider.ts, recipient-lookup.ts, sweep.ts,
 * executors/exchange.ts, exo-permissions.ts, exchange-lookup.ts) and the built-in role that includes it. Mail Recipients manages existing
 * mailboxes, mail users and mail contacts; Distribution Groups manages distribution groups; View-Only Configuration
 * reads the organisation's configuration. Mailroom creates no recipient in Exchange (AD and sync do), so it needs
 * neither Mail Recipient Creation nor an unscoped role.
 */
export const MAILROOM_EXO_CMDLETS: readonly MailroomCmdlet[] = [
  { cmdlet: 'Get-OrganizationConfig', parameters: [], role: 'View-Only Configuration', usedFor: 'the tenant profile: are Exchange attributes cloud-managed by default' },
  { cmdlet: 'Get-AcceptedDomain', parameters: [], role: 'View-Only Configuration', usedFor: 'the mail domain and the initial domain' },
  { cmdlet: 'Get-Recipient', parameters: ['Identity', 'Filter', 'ResultSize'], role: 'Mail Recipients', usedFor: 'look-ups, uniqueness checks and waits' },
  { cmdlet: 'Get-User', parameters: ['Filter', 'ResultSize'], role: 'Mail Recipients', usedFor: 'UPN uniqueness checks' },
  { cmdlet: 'Get-Mailbox', parameters: ['Identity', 'Filter', 'ResultSize'], role: 'Mail Recipients', usedFor: 'waits for new mailboxes, the cloud-managed sweep' },
  {
    cmdlet: 'Set-Mailbox',
    parameters: ['Identity', 'Type', 'IsExchangeCloudManaged', 'ResourceCapacity', 'WindowsEmailAddress', 'Alias', 'EmailAddresses', 'HiddenFromAddressListsEnabled'],
    role: 'Mail Recipients',
    usedFor: 'shared, room and equipment conversion, cloud management, addresses, alias, visibility',
  },
  { cmdlet: 'Set-MailUser', parameters: ['Identity', 'ExternalEmailAddress', 'Alias', 'EmailAddresses', 'HiddenFromAddressListsEnabled'], role: 'Mail Recipients', usedFor: 'changes to cloud mail users' },
  { cmdlet: 'Set-MailContact', parameters: ['Identity', 'ExternalEmailAddress', 'Alias', 'EmailAddresses', 'HiddenFromAddressListsEnabled'], role: 'Mail Recipients', usedFor: 'changes to cloud mail contacts' },
  { cmdlet: 'Set-DistributionGroup', parameters: ['Identity', 'PrimarySmtpAddress', 'Alias', 'EmailAddresses', 'HiddenFromAddressListsEnabled'], role: 'Distribution Groups', usedFor: 'changes to cloud distribution groups' },
  // Set-DistributionGroup's page: the switch "requires … the Organization Management role group or … the Security Group
  // Creation and Membership role"; Mailroom needs it because an app is never in a group's ManagedBy.
  { cmdlet: 'Set-DistributionGroup', parameters: ['BypassSecurityGroupManagerCheck'], role: 'Security Group Creation and Membership', usedFor: 'changing groups whose ManagedBy does not list Mailroom (every group: an app is never a group manager)' },
  { cmdlet: 'Get-MailboxPermission', parameters: ['Identity', 'User'], role: 'Mail Recipients', usedFor: 'full access: looked at before and read back after a change' },
  { cmdlet: 'Add-MailboxPermission', parameters: ['Identity', 'User', 'AccessRights', 'InheritanceType', 'AutoMapping'], role: 'Mail Recipients', usedFor: 'granting full access' },
  { cmdlet: 'Remove-MailboxPermission', parameters: ['Identity', 'User', 'AccessRights', 'InheritanceType'], role: 'Mail Recipients', usedFor: 'revoking full access' },
  { cmdlet: 'Get-RecipientPermission', parameters: ['Identity', 'Trustee', 'AccessRights'], role: 'Mail Recipients', usedFor: 'send as: looked at before and read back after a change' },
  { cmdlet: 'Add-RecipientPermission', parameters: ['Identity', 'Trustee', 'AccessRights'], role: 'Mail Recipients', usedFor: 'granting send as' },
  { cmdlet: 'Remove-RecipientPermission', parameters: ['Identity', 'Trustee', 'AccessRights'], role: 'Mail Recipients', usedFor: 'revoking send as' },
  { cmdlet: 'Set-Mailbox', parameters: ['GrantSendOnBehalfTo'], role: 'Mail Recipients', usedFor: 'send on behalf of cloud-managed and cloud-only mailboxes' },
  { cmdlet: 'Set-Mailbox', parameters: ['ForwardingAddress', 'ForwardingSmtpAddress', 'DeliverToMailboxAndForward'], role: 'Mail Recipients', usedFor: 'forwarding of mailboxes (synced and cloud-only alike)' },
  { cmdlet: 'Get-CalendarProcessing', parameters: ['Identity'], role: 'Mail Recipients', usedFor: 'booking settings of rooms and equipment: looked at before and read back after a change' },
  { cmdlet: 'Set-CalendarProcessing', parameters: ['Identity', 'AutomateProcessing', 'BookingWindowInDays', 'MaximumDurationInMinutes', 'AllowConflicts', 'AllBookInPolicy', 'BookInPolicy'], role: 'Mail Recipients', usedFor: 'booking settings of rooms and equipment' },
  { cmdlet: 'Get-MailboxAutoReplyConfiguration', parameters: ['Identity'], role: 'Mail Recipients', usedFor: 'automatic replies: looked at before and read back after a change' },
  { cmdlet: 'Set-MailboxAutoReplyConfiguration', parameters: ['Identity', 'AutoReplyState', 'InternalMessage', 'ExternalMessage', 'ExternalAudience', 'StartTime', 'EndTime'], role: 'Mail Recipients', usedFor: 'automatic replies (also set by offboarding)' },
  { cmdlet: 'Get-DistributionGroup', parameters: ['Identity', 'Filter', 'ResultSize'], role: 'Distribution Groups', usedFor: "show: a group's type and owners; offboarding: the cloud-only groups a person is in (-Filter \"Members -eq '<DN>'\")" },
  { cmdlet: 'Get-DistributionGroupMember', parameters: ['Identity', 'ResultSize'], role: 'Distribution Groups', usedFor: 'the members of cloud-only groups: looked at before and read back after a change' },
  { cmdlet: 'Add-DistributionGroupMember', parameters: ['Identity', 'Member'], role: 'Distribution Groups', usedFor: 'adding members to cloud-only groups' },
  { cmdlet: 'Remove-DistributionGroupMember', parameters: ['Identity', 'Member'], role: 'Distribution Groups', usedFor: 'removing members from cloud-only groups' },
  { cmdlet: 'Add-DistributionGroupMember', parameters: ['BypassSecurityGroupManagerCheck'], role: 'Security Group Creation and Membership', usedFor: 'changing the members of groups whose ManagedBy does not list Mailroom' },
];

const SP_NAME = 'Mailroom';
const SCOPE_NAME = 'Mailroom recipients';
const WRITE_GROUP = 'Mailroom recipient management';
const READ_GROUP = 'Mailroom configuration reader';

/** PowerShell single-quoted string. */
function ps(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** The commands, one per line, each with a comment saying why. */
export function exoRbacScript(config: Pick<MailroomConfig, 'cloud' | 'profile'>): string {
  const clientId = config.cloud?.clientId || '<CLIENT_ID>';
  const tenantId = config.cloud?.tenantId || '<TENANT_ID>';
  const mailDomain = config.profile.mailDomain;
  const writeRoles = [...new Set(MAILROOM_EXO_CMDLETS.filter((c) => c.role !== 'View-Only Configuration').map((c) => c.role))];
  const readRoles = [...new Set(MAILROOM_EXO_CMDLETS.filter((c) => c.role === 'View-Only Configuration').map((c) => c.role))];
  const list = (roles: readonly string[]): string => roles.map((r) => `"${r}"`).join(',');
  const lines = [
    `# Exchange Online roles for Mailroom's app ${clientId},`,
    '# limited to the recipients Mailroom manages: the narrower alternative to giving the app the Entra role Exchange',
    '# Administrator. Microsoft documents it as "Option 2: Assign custom role groups to the application using service principals":',
    '# https://learn.microsoft.com/powershell/exchange/app-only-auth-powershell-v2 (Step 5).',
    '# Run it in PowerShell 7 with the Microsoft.Graph and ExchangeOnlineManagement modules, signed in as an Exchange',
    '# administrator. The app keeps its API permission Exchange.ManageAsApp (Step 2 of the same article): without it',
    '# Exchange Online refuses the app whatever its roles.',
    '',
    "# 1. Find the app's service principal (enterprise application) in Entra ID: New-ServicePrincipal needs its ids.",
    `Connect-MgGraph -TenantId ${ps(tenantId)} -Scopes Application.Read.All  # read-only: only to look the service principal up`,
    `$entraSp = Get-MgServicePrincipal -Filter "appId eq '${clientId}'"  # Mailroom's app (CLIENT_ID)`,
    '',
    '# 2. Point Exchange Online at it: role groups take Exchange service principals, not Entra objects.',
    'Connect-ExchangeOnline  # as an Exchange administrator (Organization Management)',
    `New-ServicePrincipal -AppId $entraSp.AppId -ObjectId $entraSp.Id -DisplayName ${ps(SP_NAME)}  # Exchange's reference to the app`,
    `$exoSp = Get-ServicePrincipal -Identity ${ps(SP_NAME)}  # the reference, to add to the role groups below`,
    '',
    "# 3. The recipients Mailroom may change. Exchange has no OU for a recipient that comes from AD, so the scope filters",
    '#    on recipient properties (https://learn.microsoft.com/powershell/exchange/filter-properties). Every mailbox, mail',
    "#    user and group Mailroom creates or changes has an address in Mailroom's mail domain; mail contacts have only",
    '#    outside addresses, so they are included by type. A write scope limits writes only: Mailroom still reads the whole',
    '#    organisation, which its uniqueness checks need.',
    ...(mailDomain
      ? [`$mailDomain = ${ps(mailDomain)}  # MAIL_DOMAIN`]
      : ['$mailDomain = (Get-AcceptedDomain | Where-Object Default).DomainName  # MAIL_DOMAIN is not set: Mailroom uses the default accepted domain']),
    `New-ManagementScope -Name ${ps(SCOPE_NAME)} -RecipientRestrictionFilter "(EmailAddresses -like 'smtp:*@$mailDomain') -or (RecipientTypeDetails -eq 'MailContact')"  # Mailroom's recipients only`,
    "#    Narrower still: stamp the recipients Mailroom may manage (e.g. extensionAttribute15 in AD, which syncs to",
    "#    CustomAttribute15) and use -RecipientRestrictionFilter \"CustomAttribute15 -eq 'Mailroom'\" instead.",
    '',
    "# 4. The roles of the cmdlets Mailroom calls, writing only within that scope.",
    `New-RoleGroup -Name ${ps(WRITE_GROUP)} -Roles ${list(writeRoles)} -CustomRecipientWriteScope ${ps(SCOPE_NAME)} -Description 'Mailroom: change existing mailboxes, mail users, contacts and groups within the scope'  # ${writeRoles.join(' and ')}: Get-/Set-Mailbox, Set-MailUser, Set-MailContact, Set-DistributionGroup, Get-Recipient, Get-User`,
    `New-RoleGroup -Name ${ps(READ_GROUP)} -Roles ${list(readRoles)} -Description 'Mailroom: read the organisation configuration and accepted domains'  # ${readRoles.join(', ')}: Get-OrganizationConfig, Get-AcceptedDomain (reads only, no scope)`,
    `Add-RoleGroupMember -Identity ${ps(WRITE_GROUP)} -Member $exoSp.Identity  # the app gets the scoped recipient roles`,
    `Add-RoleGroupMember -Identity ${ps(READ_GROUP)} -Member $exoSp.Identity  # and the configuration reader`,
    '',
    '# 5. Check that each cmdlet and parameter Mailroom uses is in the roles above',
    '#    (https://learn.microsoft.com/powershell/exchange/find-exchange-cmdlet-permissions): each command must list the role.',
    ...MAILROOM_EXO_CMDLETS.map(
      (c) => `Get-ManagementRole -Cmdlet ${c.cmdlet}${c.parameters.length ? ` -CmdletParameters ${c.parameters.join(',')}` : ''} | Format-Table Name  # needs ${c.role}: ${c.usedFor}`,
    ),
    '',
    "# 6. If the app has the Entra role Exchange Administrator (or Exchange Recipient Administrator), remove that",
    "#    assignment (Entra admin centre → Roles and administrators): RBAC adds up the permissions of every source, so the",
    "#    scope above limits nothing while it stays. Then run `npm run doctor`; Exchange Online answers a cmdlet outside",
    '#    these roles with 401 "User is not allowed to call <cmdlet>".',
  ];
  return lines.join('\n');
}
