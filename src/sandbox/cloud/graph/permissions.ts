/**
 * The application permissions each Graph endpoint accepts, and Graph's answer when the token lacks them.
 */
import { GraphError } from '../errors';
import type { GraphCall } from './call';

// The application permissions each endpoint accepts, from the Permissions table of its API page (least privileged
// first, then the higher privileged ones). A list is any-of; requireAll() takes lists that must all hold.
// Application.ReadWrite.OwnedBy (accepted by the synchronization APIs for an app that owns the service principal) is
// not modelled: the Cloud Sync service principal is Microsoft's, not Mailroom's.

/** https://learn.microsoft.com/graph/api/user-get, user-list: User.Read.All; User.ReadWrite.All, Directory.Read.All, Directory.ReadWrite.All. */
export const READ_USERS = ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];
/** https://learn.microsoft.com/graph/api/user-update: User.ReadWrite.All; Directory.ReadWrite.All. */
export const WRITE_USERS = ['User.ReadWrite.All', 'Directory.ReadWrite.All'];
/**
 * https://learn.microsoft.com/graph/api/user-revokesigninsessions, Application: User.RevokeSessions.All; User.ReadWrite.All,
 * Directory.ReadWrite.All.
 */
export const REVOKE_SESSIONS = ['User.RevokeSessions.All', 'User.ReadWrite.All', 'Directory.ReadWrite.All'];
/** https://learn.microsoft.com/graph/api/user-assignlicense: LicenseAssignment.ReadWrite.All; Directory.ReadWrite.All, User.ReadWrite.All. */
export const WRITE_LICENCES = ['LicenseAssignment.ReadWrite.All', 'User.ReadWrite.All', 'Directory.ReadWrite.All'];
/** https://learn.microsoft.com/graph/api/group-list-members (and group-get, group-list): GroupMember.Read.All and the higher ones. */
export const READ_GROUPS = ['Group.Read.All', 'Group.ReadWrite.All', 'GroupMember.Read.All', 'GroupMember.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];
/** https://learn.microsoft.com/graph/api/group-post-members (user members): GroupMember.ReadWrite.All; Group.ReadWrite.All, Directory.ReadWrite.All. */
export const WRITE_MEMBERS = ['GroupMember.ReadWrite.All', 'Group.ReadWrite.All', 'Directory.ReadWrite.All'];
export const WRITE_GROUP_LICENCES = ['LicenseAssignment.ReadWrite.All', 'Group.ReadWrite.All', 'Directory.ReadWrite.All'];
/**
 * https://learn.microsoft.com/graph/api/user-list-memberof, "another user's direct memberships", Application:
 * Directory.Read.All; Directory.ReadWrite.All.
 */
export const USER_MEMBER_OF = ['Directory.Read.All', 'Directory.ReadWrite.All'];
/**
 * https://learn.microsoft.com/graph/api/directoryobject-checkmembergroups, "group memberships for a user", Application:
 * User.Read.All and GroupMember.Read.All, User.Read.All and Group.Read.All, Directory.Read.All (the ReadWrite
 * variants include the reads).
 */
export const CHECK_MEMBER_GROUPS = [
  ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
  ['GroupMember.Read.All', 'GroupMember.ReadWrite.All', 'Group.Read.All', 'Group.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
];
/**
 * https://learn.microsoft.com/graph/api/subscribedsku-list, Application: LicenseAssignment.Read.All; Directory.Read.All,
 * Directory.ReadWrite.All, Organization.Read.All, Organization.ReadWrite.All (LicenseAssignment.ReadWrite.All is not
 * among them).
 */
export const READ_SUBSCRIBED_SKUS = ['LicenseAssignment.Read.All', 'Organization.Read.All', 'Organization.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];
export const READ_ORG = ['Organization.Read.All', 'Organization.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All', 'LicenseAssignment.ReadWrite.All'];
/** https://learn.microsoft.com/graph/api/orgcontact-list: OrgContact.Read.All; Directory.Read.All, Directory.ReadWrite.All. */
export const READ_CONTACTS = ['OrgContact.Read.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];
/** https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-provisionondemand: Synchronization.ReadWrite.All. */
export const SYNC = ['Synchronization.ReadWrite.All'];
/** https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-get: Synchronization.Read.All, Synchronization.ReadWrite.All. */
export const READ_SYNC = ['Synchronization.Read.All', 'Synchronization.ReadWrite.All'];
/**
 * https://learn.microsoft.com/graph/api/synchronization-synchronizationschema-get, Application:
 * CustomSecAttributeProvisioning.Read.All; CustomSecAttributeProvisioning.ReadWrite.All, Synchronization.Read.All,
 * Synchronization.ReadWrite.All (and Application.ReadWrite.OwnedBy, not modelled).
 */
export const READ_SYNC_SCHEMA = ['CustomSecAttributeProvisioning.Read.All', 'CustomSecAttributeProvisioning.ReadWrite.All', 'Synchronization.Read.All', 'Synchronization.ReadWrite.All'];
/**
 * https://learn.microsoft.com/graph/api/onpremisessyncbehavior-get and onpremisessyncbehavior-update, group, Application:
 * Group-OnPremisesSyncBehavior.ReadWrite.All for reading and for writing ("Higher privileged permissions: Not
 * available": Group.ReadWrite.All and Directory.ReadWrite.All do not include it).
 */
export const GROUP_SYNC_BEHAVIOR = ['Group-OnPremisesSyncBehavior.ReadWrite.All'];

/**
 * https://learn.microsoft.com/graph/api/group-list-transitivemembers, Application: GroupMember.Read.All; Directory.Read.All,
 * Group.Read.All, Group.ReadWrite.All, GroupMember.ReadWrite.All (Directory.ReadWrite.All is not among them).
 */
export const READ_TRANSITIVE_MEMBERS = ['GroupMember.Read.All', 'Directory.Read.All', 'Group.Read.All', 'Group.ReadWrite.All', 'GroupMember.ReadWrite.All'];
/**
 * https://learn.microsoft.com/graph/api/appcatalogs-list-teamsapps, Application: AppCatalog.Read.All, AppCatalog.ReadWrite.All
 * (Directory.Read.All and Directory.ReadWrite.All are listed for delegated access only, for backward compatibility).
 */
export const READ_APP_CATALOG = ['AppCatalog.Read.All', 'AppCatalog.ReadWrite.All'];
/**
 * https://learn.microsoft.com/graph/api/userteamwork-post-installedapps (and userteamwork-delete-installedapps), Application:
 * TeamsAppInstallation.ReadWriteSelfForUser.All; TeamsAppInstallation.ManageSelectedForUser.All,
 * TeamsAppInstallation.ReadWriteAndConsentForUser.All, TeamsAppInstallation.ReadWriteAndConsentSelfForUser.All,
 * TeamsAppInstallation.ReadWriteForUser.All, TeamsAppInstallation.ReadWriteSelectedForUser.All.
 */
export const WRITE_USER_APP_INSTALLATIONS = [
  'TeamsAppInstallation.ReadWriteSelfForUser.All',
  'TeamsAppInstallation.ManageSelectedForUser.All',
  'TeamsAppInstallation.ReadWriteAndConsentForUser.All',
  'TeamsAppInstallation.ReadWriteAndConsentSelfForUser.All',
  'TeamsAppInstallation.ReadWriteForUser.All',
  'TeamsAppInstallation.ReadWriteSelectedForUser.All',
];
/**
 * https://learn.microsoft.com/graph/api/userteamwork-list-installedapps, userteamwork-get-installedapps and
 * userscopeteamsappinstallation-get-chat, Application: TeamsAppInstallation.ReadForUser.All and the ReadWrite ones above.
 */
export const READ_USER_APP_INSTALLATIONS = ['TeamsAppInstallation.ReadForUser.All', ...WRITE_USER_APP_INSTALLATIONS];
/**
 * https://learn.microsoft.com/graph/api/userteamwork-sendactivitynotification, Application: TeamsActivity.Send.User (resource-
 * specific consent, granted per user through the app's manifest: not modelled, it never appears in a tenant-wide token) and
 * TeamsActivity.Send.
 */
export const SEND_ACTIVITY = ['TeamsActivity.Send'];

/** Graph's answer when the token lacks the permission an endpoint needs. */
export function requireRole(call: GraphCall, anyOf: string[]): void {
  requireAll(call, [anyOf]);
}

export function requireAll(call: GraphCall, allOf: string[][]): void {
  if (!allOf.every((anyOf) => call.claims.roles.some((r) => anyOf.includes(r)))) {
    throw new GraphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
  }
}
