/** Sample requests of every new-recipient kind and a target recipient, shared by the planner and roll-back tests. */
import type { RecipientRequest, TargetRecipient } from '../../src/requests/kinds';
import type { TenantProfile } from '../../src/requests/tenant-profile';
import { BASE } from '../requests/fixtures';

export const ENTRA_GROUP = { mode: 'group', groupId: 'g-1', groupName: 'EXO Licensed' } satisfies TenantProfile['licensing'];
export const AD_GROUP = { mode: 'group', groupId: 'g-2', groupName: 'EXO Licensed (AD)', adGroupDn: `CN=EXO Licensed,OU=Groups,${BASE}` } satisfies TenantProfile['licensing'];

export const userMailbox = {
  kind: 'user-mailbox', firstName: 'Ada', lastName: 'Lovelace', displayName: 'Ada Lovelace', alias: 'ada.lovelace', samAccountName: 'alovelace',
  userPrincipalName: 'ada.lovelace@contoso.example', primarySmtpAddress: 'ada.lovelace@contoso.example', usageLocation: 'GB', department: 'Research',
} satisfies RecipientRequest;
export const shared = {
  kind: 'shared-mailbox', displayName: 'Team Sales', alias: 'sales', samAccountName: 'teamsales', userPrincipalName: 'sales@contoso.example', primarySmtpAddress: 'sales@contoso.example',
} satisfies RecipientRequest;
export const room = {
  kind: 'room-mailbox', displayName: 'Board Room', alias: 'boardroom', samAccountName: 'boardroom', userPrincipalName: 'boardroom@contoso.example', primarySmtpAddress: 'boardroom@contoso.example', capacity: 12,
} satisfies RecipientRequest;
export const equipment = {
  kind: 'equipment-mailbox', displayName: 'Pool Car 1', alias: 'poolcar1', samAccountName: 'poolcar1', userPrincipalName: 'poolcar1@contoso.example', primarySmtpAddress: 'poolcar1@contoso.example',
} satisfies RecipientRequest;
export const mailUser = {
  kind: 'mail-user', firstName: 'Ada', lastName: 'Partner', displayName: 'Ada Partner', alias: 'ada.partner', samAccountName: 'apartner', userPrincipalName: 'ada.partner@contoso.example', externalAddress: 'ada@partner.example',
} satisfies RecipientRequest;
export const contact = { kind: 'mail-contact', displayName: 'Ada Partner', alias: 'adapartner', externalAddress: 'ada@partner.example' } satisfies RecipientRequest;
export const group = {
  kind: 'distribution-group', displayName: 'Sales Team', alias: 'salesteam', samAccountName: 'salesteam', primarySmtpAddress: 'salesteam@contoso.example', scope: 'global', securityEnabled: true,
  members: [{ identity: 'ada@contoso.example', name: 'Ada Byron', adDn: `CN=Ada Byron,OU=Users,${BASE}` }],
} satisfies RecipientRequest;

export const target = (over: Partial<TargetRecipient> = {}): TargetRecipient => ({
  identity: 'ada.byron@contoso.example', name: 'Ada Byron', type: 'UserMailbox', primarySmtpAddress: 'ada.byron@contoso.example', isDirSynced: true, isExchangeCloudManaged: false,
  adDn: `CN=Ada Byron,OU=Users,${BASE}`, userPrincipalName: 'ada.byron@contoso.example', ...over,
});
