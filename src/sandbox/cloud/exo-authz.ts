/**
 * Who may run which cmdlet in the emulated Exchange Online, for app-only callers
 * (https://learn.microsoft.com/powershell/exchange/app-only-auth-powershell-v2, Step 5):
 *
 * - Option 1, a Microsoft Entra role on the app's service principal. Its template id travels in the token's `wids`
 *   claim ("Exchange Online configures the session RBAC using the directory role information that's available in the
 *   token"). Global Administrator and Exchange Administrator "provide the required permissions for any task in
 *   Exchange Online PowerShell"; the other roles of the guide's table are not modelled.
 * - Option 2, Exchange management roles through a role group the app's Exchange service principal is a member of
 *   (New-ServicePrincipal, Add-RoleGroupMember). Exchange evaluates them per request, so a change applies at once.
 *
 * A cmdlet the caller holds no role for is refused with HTTP 401 and
 * `{"error":{"code":"Unauthorized","message":"User is not allowed to call <Cmdlet>","innererror":{…}}}`, the body quoted
 * in MicrosoftDocs/office-docs-powershell#7970 (an app-only caller whose role did not cover Get-Mailbox).
 */
import { DIRECTORY_ROLE_TEMPLATE_IDS } from './tenant-model';

/**
 * The cmdlets of each management role, for the cmdlets the emulator serves (and Set-DistributionGroup, which
 * Mailroom calls). From the roles' descriptions ("Mail Recipients: manage existing mailboxes, mail users and mail
 * contacts … can't create these recipients", "Mail Recipient Creation" creates and removes them, "Distribution
 * Groups" manages distribution groups, the View-Only roles read); a tenant's authoritative list is
 * `Get-ManagementRoleEntry '<Role>\*'` (https://learn.microsoft.com/powershell/exchange/find-exchange-cmdlet-permissions).
 */
export const MANAGEMENT_ROLE_CMDLETS: Readonly<Record<string, readonly string[]>> = {
  'Mail Recipients': [
    'Get-Recipient', 'Get-User', 'Get-Mailbox', 'Set-Mailbox', 'Get-MailUser', 'Set-MailUser', 'Get-MailContact', 'Set-MailContact', 'Get-Contact',
    // Managing existing mailboxes includes their permissions, Send As and settings (Add-MailboxPermission's and
    // Add-RecipientPermission's "Find the permissions required": check a tenant with Get-ManagementRole -Cmdlet).
    'Get-MailboxPermission', 'Add-MailboxPermission', 'Remove-MailboxPermission', 'Get-RecipientPermission', 'Add-RecipientPermission', 'Remove-RecipientPermission',
    'Get-CalendarProcessing', 'Set-CalendarProcessing', 'Get-MailboxAutoReplyConfiguration', 'Set-MailboxAutoReplyConfiguration',
  ],
  'Mail Recipient Creation': ['Get-Recipient', 'Get-User', 'Get-AcceptedDomain', 'New-Mailbox', 'New-MailUser', 'New-MailContact', 'Remove-Mailbox', 'Remove-MailUser', 'Remove-MailContact'],
  'Distribution Groups': [
    'Get-Recipient', 'Get-Group', 'Get-DistributionGroup', 'Get-DistributionGroupMember', 'Set-DistributionGroup', 'New-DistributionGroup', 'Remove-DistributionGroup',
    'Add-DistributionGroupMember', 'Remove-DistributionGroupMember',
  ],
  // Creates mail-enabled security groups and manages their membership; the role -BypassSecurityGroupManagerCheck needs.
  'Security Group Creation and Membership': [
    'Get-Recipient', 'Get-DistributionGroup', 'Get-DistributionGroupMember', 'New-DistributionGroup', 'Remove-DistributionGroup', 'Add-DistributionGroupMember', 'Remove-DistributionGroupMember',
  ],
  'View-Only Recipients': [
    'Get-Recipient', 'Get-User', 'Get-Mailbox', 'Get-MailUser', 'Get-MailContact', 'Get-Contact', 'Get-Group', 'Get-DistributionGroup', 'Get-DistributionGroupMember',
    'Get-MailboxPermission', 'Get-RecipientPermission', 'Get-CalendarProcessing',
  ],
  // The Help Desk role group's role for people's mailbox options (automatic replies, calendar processing).
  'User Options': ['Get-CalendarProcessing', 'Set-CalendarProcessing', 'Get-MailboxAutoReplyConfiguration', 'Set-MailboxAutoReplyConfiguration'],
  'View-Only Configuration': ['Get-AcceptedDomain', 'Get-OrganizationConfig'],
  'Organization Configuration': ['Get-OrganizationConfig', 'Set-OrganizationConfig'],
};

const ALL_TASKS = new Set<string>([DIRECTORY_ROLE_TEMPLATE_IDS['Global Administrator'], DIRECTORY_ROLE_TEMPLATE_IDS['Exchange Administrator']]);

/** Whether an app-only caller may run `cmdlet`: an Entra role in `wids` that covers every task, or a management role. */
export function mayRunCmdlet(wids: readonly string[], managementRoles: readonly string[], cmdlet: string): boolean {
  if (wids.some((w) => ALL_TASKS.has(w.toLowerCase()))) return true;
  const c = cmdlet.toLowerCase();
  return managementRoles.some((role) => {
    const key = Object.keys(MANAGEMENT_ROLE_CMDLETS).find((k) => k.toLowerCase() === role.toLowerCase());
    return key !== undefined && (MANAGEMENT_ROLE_CMDLETS[key] ?? []).some((x) => x.toLowerCase() === c);
  });
}

/**
 * Whether the caller may use -BypassSecurityGroupManagerCheck (change a group whose ManagedBy does not list it).
 * Set-DistributionGroup's page: "To use this switch, your account requires specific permissions based on the group
 * type: Distribution groups or mail-enabled security groups: You need to be a member of the Organization Management
 * role group or have the Security Group Creation and Membership role assigned." Exchange Administrator and Global
 * Administrator have the permissions of Organization Management. RBAC hides a parameter outside the caller's roles.
 */
export function mayBypassGroupManagerCheck(wids: readonly string[], managementRoles: readonly string[]): boolean {
  return wids.some((w) => ALL_TASKS.has(w.toLowerCase())) || managementRoles.some((r) => r.toLowerCase() === 'security group creation and membership');
}

/** The body Exchange Online answers (HTTP 401) when the caller holds no role for the cmdlet. */
export function notAllowedBody(cmdlet: string): unknown {
  const message = `User is not allowed to call ${cmdlet}`;
  return { error: { code: 'Unauthorized', message, innererror: { message, type: 'Microsoft.Exchange.Admin.OData.Core.ODataServiceException' } } };
}
