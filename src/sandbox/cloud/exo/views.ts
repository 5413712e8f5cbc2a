/**
 * How the Get-* cmdlets show a recipient: one view per cmdlet (Get-Mailbox, Get-User, Get-MailUser, Get-MailContact,
 * Get-Contact, Get-DistributionGroup, Get-Group, Get-Recipient), built from the Exchange recipient and its Entra
 * user or contact.
 */
import { recipientTypeOf, isMailboxType } from '../rules';
import type { EntraContact, EntraUser, ExoRecipient, Tenant } from '../tenant';
import { CUSTOM } from './params';

export function distinguishedName(t: Tenant, r: ExoRecipient): string {
  return `CN=${r.name},OU=${t.initialDomain},OU=Microsoft Exchange Hosted Organizations,DC=SBXPR01A001,DC=PROD,DC=OUTLOOK,DC=COM`;
}

function common(t: Tenant, r: ExoRecipient): Record<string, unknown> {
  const props: Record<string, unknown> = {
    Identity: r.name,
    Id: r.name,
    Name: r.name,
    DisplayName: r.displayName,
    Alias: r.alias,
    Guid: r.guid,
    ExchangeObjectId: r.guid,
    ExternalDirectoryObjectId: r.externalDirectoryObjectId,
    DistinguishedName: distinguishedName(t, r),
    OrganizationalUnit: `SBXPR01A001.PROD.OUTLOOK.COM/Microsoft Exchange Hosted Organizations/${t.initialDomain}`,
    RecipientType: recipientTypeOf(r.recipientTypeDetails),
    RecipientTypeDetails: r.recipientTypeDetails,
    PrimarySmtpAddress: r.primarySmtpAddress ?? '',
    WindowsEmailAddress: r.windowsEmailAddress ?? '',
    EmailAddresses: [...r.emailAddresses],
    HiddenFromAddressListsEnabled: r.hiddenFromAddressListsEnabled,
    IsDirSynced: r.isDirSynced,
    WhenCreated: r.whenCreated,
    WhenChanged: r.whenChanged,
    WhenCreatedUTC: r.whenCreated,
    WhenChangedUTC: r.whenChanged,
  };
  CUSTOM.forEach((c, i) => (props[c] = r.customAttributes[i] ?? ''));
  return props;
}

export function userOf(t: Tenant, r: ExoRecipient): Readonly<EntraUser> | undefined {
  return r.objectKind === 'user' ? t.userById(r.externalDirectoryObjectId) : undefined;
}

function contactOf(t: Tenant, r: ExoRecipient): Readonly<EntraContact> | undefined {
  return r.objectKind === 'contact' ? t.contacts().find((c) => c.id === r.externalDirectoryObjectId) : undefined;
}

/** The person fields Get-User, Get-Contact and Get-Recipient show (from the Entra user or contact; empty for groups). */
function personProps(t: Tenant, r: ExoRecipient): Record<string, unknown> {
  const p = userOf(t, r) ?? contactOf(t, r);
  return {
    FirstName: p?.givenName ?? '',
    LastName: p?.surname ?? '',
    Department: p?.department ?? '',
    Title: p?.jobTitle ?? '',
    Company: p?.companyName ?? '',
  };
}

export function mailboxProps(t: Tenant, r: ExoRecipient): Record<string, unknown> {
  const u = userOf(t, r);
  const skuAssigned = u?.licenseAssignmentStates.some((l) => l.state === 'Active') ?? false;
  return {
    ...common(t, r),
    UserPrincipalName: u?.userPrincipalName ?? '',
    MicrosoftOnlineServicesID: u?.userPrincipalName ?? '',
    IsExchangeCloudManaged: r.isExchangeCloudManaged,
    ExchangeGuid: r.exchangeGuid,
    ResourceType: r.recipientTypeDetails === 'RoomMailbox' ? 'Room' : r.recipientTypeDetails === 'EquipmentMailbox' ? 'Equipment' : null,
    IsResource: r.recipientTypeDetails === 'RoomMailbox' || r.recipientTypeDetails === 'EquipmentMailbox',
    ResourceCapacity: r.resourceCapacity ?? null,
    IsShared: r.recipientTypeDetails === 'SharedMailbox',
    AccountDisabled: u ? !u.accountEnabled : false,
    SKUAssigned: skuAssigned,
    LicenseReconciliationNeeded: r.recipientTypeDetails === 'UserMailbox' && !skuAssigned,
    WhenMailboxCreated: r.whenMailboxCreated,
    UsageLocation: u?.usageLocation ?? null,
    ArchiveStatus: 'None',
    LitigationHoldEnabled: false,
    ForwardingAddress: r.forwardingAddress ? recipientName(t, r.forwardingAddress) : null,
    ForwardingSmtpAddress: r.forwardingSmtpAddress ?? null,
    DeliverToMailboxAndForward: r.deliverToMailboxAndForward ?? false,
    GrantSendOnBehalfTo: names(t, t.sendOnBehalfOf(r.externalDirectoryObjectId)),
    MessageCopyForSentAsEnabled: r.messageCopyForSentAsEnabled ?? false,
    MessageCopyForSendOnBehalfEnabled: r.messageCopyForSendOnBehalfEnabled ?? false,
  };
}

export function userProps(t: Tenant, r: ExoRecipient): Record<string, unknown> {
  const u = userOf(t, r);
  return {
    Identity: r.name,
    Id: r.name,
    Name: r.name,
    DisplayName: r.displayName,
    FirstName: u?.givenName ?? '',
    LastName: u?.surname ?? '',
    UserPrincipalName: u?.userPrincipalName ?? '',
    MicrosoftOnlineServicesID: u?.userPrincipalName ?? '',
    WindowsEmailAddress: r.windowsEmailAddress ?? '',
    RecipientType: recipientTypeOf(r.recipientTypeDetails),
    RecipientTypeDetails: r.recipientTypeDetails,
    IsDirSynced: r.isDirSynced,
    ExternalDirectoryObjectId: r.externalDirectoryObjectId,
    Department: u?.department ?? '',
    Title: u?.jobTitle ?? '',
    Company: u?.companyName ?? '',
    AccountDisabled: u ? !u.accountEnabled : false,
    UsageLocation: u?.usageLocation ?? null,
    SKUAssigned: u ? u.licenseAssignmentStates.some((l) => l.state === 'Active') : null,
    Guid: r.guid,
    ExchangeObjectId: r.guid,
    DistinguishedName: distinguishedName(t, r),
    WhenCreated: r.whenCreated,
    WhenChanged: r.whenChanged,
  };
}

export function mailUserProps(t: Tenant, r: ExoRecipient): Record<string, unknown> {
  const u = userOf(t, r);
  return {
    ...common(t, r),
    ExternalEmailAddress: r.externalEmailAddress ?? '',
    ExchangeGuid: r.exchangeGuid,
    UserPrincipalName: u?.userPrincipalName ?? '',
    MicrosoftOnlineServicesID: u?.userPrincipalName ?? '',
  };
}

export function contactProps(t: Tenant, r: ExoRecipient): Record<string, unknown> {
  return { ...common(t, r), ExternalEmailAddress: r.externalEmailAddress ?? '' };
}

/** Get-Contact's view of a mail contact: the contact's person fields too. */
export function getContactProps(t: Tenant, r: ExoRecipient): Record<string, unknown> {
  return { ...contactProps(t, r), ...personProps(t, r) };
}

/**
 * Get-DistributionGroup's view. Defaults from New-DistributionGroup's page: MemberJoinRestriction Closed;
 * MemberDepartRestriction Open for distribution groups, Closed for security groups; RequireSenderAuthenticationEnabled true.
 */
export function groupProps(t: Tenant, r: ExoRecipient): Record<string, unknown> {
  return {
    ...common(t, r),
    GroupType: r.groupType ?? 'Universal',
    // a synced group's owner is AD's managedBy (Entra Connect syncs it); a cloud group's is set in Exchange Online
    ManagedBy: r.isDirSynced ? t.syncedGroupOwners(r.externalDirectoryObjectId).map((o) => t.recipientOf(o.obj.id)?.name ?? o.obj.displayName ?? o.obj.id) : [...(r.managedBy ?? [])],
    MemberJoinRestriction: 'Closed',
    MemberDepartRestriction: r.recipientTypeDetails === 'MailUniversalSecurityGroup' ? 'Closed' : 'Open',
    RequireSenderAuthenticationEnabled: true,
  };
}

export function getGroupProps(t: Tenant, r: ExoRecipient): Record<string, unknown> {
  const members = t
    .groupMembers(r.externalDirectoryObjectId)
    .map((m) => t.recipientOf(m.obj.id)?.name ?? m.obj.displayName);
  return {
    Identity: r.name,
    Id: r.name,
    Name: r.name,
    DisplayName: r.displayName,
    GroupType: r.groupType ?? 'Universal',
    RecipientType: recipientTypeOf(r.recipientTypeDetails),
    RecipientTypeDetails: r.recipientTypeDetails,
    WindowsEmailAddress: r.windowsEmailAddress ?? '',
    IsDirSynced: r.isDirSynced,
    ExternalDirectoryObjectId: r.externalDirectoryObjectId,
    Members: members,
    Guid: r.guid,
    ExchangeObjectId: r.guid,
    DistinguishedName: distinguishedName(t, r),
    WhenCreated: r.whenCreated,
    WhenChanged: r.whenChanged,
  };
}

function typeProps(t: Tenant, r: ExoRecipient): Record<string, unknown> {
  if (isMailboxType(r.recipientTypeDetails)) return mailboxProps(t, r);
  if (r.recipientTypeDetails === 'MailUser' || r.recipientTypeDetails === 'GuestMailUser') return mailUserProps(t, r);
  if (r.recipientTypeDetails === 'MailContact') return contactProps(t, r);
  return groupProps(t, r);
}

/** Get-Recipient's view: the recipient's own properties plus those Get-Recipient shows for every kind. */
export function recipientProps(t: Tenant, r: ExoRecipient): Record<string, unknown> {
  const u = userOf(t, r);
  return {
    ExchangeGuid: r.exchangeGuid,
    ResourceType: null,
    UsageLocation: u?.usageLocation ?? null,
    SKUAssigned: u ? u.licenseAssignmentStates.some((l) => l.state === 'Active') : null,
    LitigationHoldEnabled: false,
    ...personProps(t, r),
    ...typeProps(t, r),
  };
}

/** A recipient's name by Entra object id (GrantSendOnBehalfTo, ForwardingAddress, BookInPolicy …); null once it is gone. */
export function recipientName(t: Tenant, entraId: string): string | null {
  return t.recipientOf(entraId)?.name ?? null;
}

export function names(t: Tenant, ids: readonly string[] | undefined, name: (t: Tenant, id: string) => string | null = recipientName): string[] {
  return (ids ?? []).map((id) => name(t, id)).filter((n): n is string => n !== null);
}
