/**
 * The typed, validated request objects (a discriminated union on `kind`) that validation produces and the planner
 * consumes, and the recipient-type facts they rely on.
 */
import type { MailboxPermissionName } from './kind-fields';
import type { KindId } from './kinds';
import type { FoundRecipient } from './lookup';

// ---------------------------------------------------------------------------------------------
// Validated requests
// ---------------------------------------------------------------------------------------------

/** EXO RecipientTypeDetails of the mailbox types. */
const MAILBOX_RECIPIENT_TYPES = ['UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox'] as const;
const GROUP_RECIPIENT_TYPES = ['MailUniversalDistributionGroup', 'MailUniversalSecurityGroup', 'MailNonUniversalGroup'] as const;

export function isMailboxType(t: string): boolean {
  return (MAILBOX_RECIPIENT_TYPES as readonly string[]).includes(t);
}
export function isGroupType(t: string): boolean {
  return (GROUP_RECIPIENT_TYPES as readonly string[]).includes(t);
}

/** An existing recipient as validation found it (the plan relies on this snapshot; the workflow re-checks it). */
export interface TargetRecipient extends FoundRecipient {
  /** What the requester typed. */
  readonly identity: string;
}

interface Created {
  readonly displayName: string;
  readonly alias: string;
  /**
   * The AD object's name (CN) when it is not the display name: AD already had an object of that name in the OU, so
   * the new one is `<display name> (<logon name or alias>)`. The display name stays as requested.
   */
  readonly cn?: string;
}

export interface UserMailboxRequest extends Created {
  readonly kind: 'user-mailbox';
  readonly firstName: string;
  readonly lastName: string;
  readonly department?: string;
  readonly jobTitle?: string;
  readonly usageLocation: string;
  readonly samAccountName: string;
  readonly userPrincipalName: string;
  readonly primarySmtpAddress: string;
}

export interface ResourceMailboxRequest<K extends 'shared-mailbox' | 'room-mailbox' | 'equipment-mailbox'> extends Created {
  readonly kind: K;
  readonly samAccountName: string;
  readonly userPrincipalName: string;
  readonly primarySmtpAddress: string;
  /** Set when the mailbox keeps a licence or needs one temporarily; else the tenant default is used for the temporary licence. */
  readonly usageLocation?: string;
}

export interface SharedMailboxRequest extends ResourceMailboxRequest<'shared-mailbox'> {
  /** People given full access (with auto-mapping) and send as once the mailbox exists. */
  readonly members?: readonly RecipientRef[];
}
export interface RoomMailboxRequest extends ResourceMailboxRequest<'room-mailbox'> {
  readonly capacity?: number;
}
export type EquipmentMailboxRequest = ResourceMailboxRequest<'equipment-mailbox'>;

export interface MailUserRequest extends Created {
  readonly kind: 'mail-user';
  readonly firstName: string;
  readonly lastName: string;
  readonly company?: string;
  readonly department?: string;
  readonly samAccountName: string;
  readonly userPrincipalName: string;
  readonly externalAddress: string;
}

export interface MailContactRequest extends Created {
  readonly kind: 'mail-contact';
  readonly firstName?: string;
  readonly lastName?: string;
  readonly company?: string;
  readonly externalAddress: string;
}

export interface GroupMember {
  readonly identity: string;
  readonly name: string;
  readonly adDn: string;
}

export interface DistributionGroupRequest extends Created {
  readonly kind: 'distribution-group';
  readonly scope: 'global' | 'universal';
  readonly securityEnabled: boolean;
  readonly samAccountName: string;
  readonly primarySmtpAddress: string;
  readonly description?: string;
  readonly members: readonly GroupMember[];
}

export interface PrimaryAddressRequest {
  readonly kind: 'primary-address';
  readonly target: TargetRecipient;
  readonly newAddress: string;
}

export interface SecondaryAddressAddRequest {
  readonly kind: 'secondary-address-add';
  readonly target: TargetRecipient;
  readonly address: string;
}

export interface SecondaryAddressRemoveRequest {
  readonly kind: 'secondary-address-remove';
  readonly target: TargetRecipient;
  readonly address: string;
}

export interface CloudManagedRequest {
  readonly kind: 'cloud-managed';
  readonly target: TargetRecipient;
  readonly enabled: boolean;
}

export type MailboxTypeName = 'Regular' | 'Shared' | 'Room' | 'Equipment';

export interface MailboxTypeRequest {
  readonly kind: 'mailbox-type';
  readonly target: TargetRecipient;
  readonly type: MailboxTypeName;
  readonly adjustLicence: boolean;
}

export interface OffboardingRequest {
  readonly kind: 'offboarding';
  readonly target: TargetRecipient;
  /** The leave date (`when`): the run waits until then. Absent: as soon as it is approved. */
  readonly when?: { readonly iso: string; readonly text: string };
  readonly disableAccount: boolean;
  readonly revokeSessions: boolean;
  readonly convertToShared: boolean;
  readonly removeLicence: boolean;
  readonly hideFromAddressLists: boolean;
  /** Given full access (with auto-mapping) to the mailbox: the manager AD names, or a named person. */
  readonly fullAccessFor?: { readonly person: RecipientRef; readonly as: 'manager' | 'named' };
  /** "manager" was asked for, but AD names none (or Exchange Online does not know it): the plan says so. */
  readonly managerMissing?: string;
  /** Plain text set as the automatic reply (internal and external). */
  readonly autoReply?: string;
  /** Forwarding set (a copy stays): to a recipient, or to an outside address. */
  readonly forwarding?: { readonly recipient?: RecipientRef; readonly smtpAddress?: string };
  /** The mail-enabled groups the person is removed from (as found at validation; the list the approver sees). */
  readonly removeFromGroups: readonly RecipientRef[];
}

/** A recipient a request names besides its target (a user given a permission, a group member), as validation found it. */
export interface RecipientRef {
  /** What the requester typed. */
  readonly identity: string;
  readonly name: string;
  /** EXO RecipientTypeDetails. */
  readonly type: string;
  readonly primarySmtpAddress: string;
  readonly isDirSynced: boolean;
  readonly adDn?: string;
  readonly exoId?: string;
  readonly userPrincipalName?: string;
}

interface MailboxPermissionChange {
  readonly target: TargetRecipient;
  readonly permission: MailboxPermissionName;
  /** At least one; each a different recipient, none the mailbox itself. */
  readonly users: readonly RecipientRef[];
}

export interface MailboxPermissionGrantRequest extends MailboxPermissionChange {
  readonly kind: 'mailbox-permission-grant';
  /** FullAccess only: Add-MailboxPermission -AutoMapping (Exchange's default: true). */
  readonly autoMapping?: boolean;
}

export interface MailboxPermissionRevokeRequest extends MailboxPermissionChange {
  readonly kind: 'mailbox-permission-revoke';
}

export interface GroupMembersAddRequest {
  readonly kind: 'group-member-add';
  readonly target: TargetRecipient;
  readonly members: readonly RecipientRef[];
}

export interface GroupMembersRemoveRequest {
  readonly kind: 'group-member-remove';
  readonly target: TargetRecipient;
  readonly members: readonly RecipientRef[];
}

export interface AddressListVisibilityRequest {
  readonly kind: 'address-list-visibility';
  readonly target: TargetRecipient;
  /** True: hide from address lists (HiddenFromAddressListsEnabled / msExchHideFromAddressLists TRUE). */
  readonly hidden: boolean;
}

/** Forward a mailbox's mail: to a recipient of the organisation (ForwardingAddress) or an outside address (ForwardingSmtpAddress). */
export interface ForwardingSetRequest {
  readonly kind: 'forwarding-set';
  readonly target: TargetRecipient;
  /** A recipient of the organisation; exactly one of `recipient` and `smtpAddress` is set. */
  readonly recipient?: RecipientRef;
  /** An outside address (not in an accepted domain, no recipient has it). */
  readonly smtpAddress?: string;
  /** DeliverToMailboxAndForward. */
  readonly keepCopy: boolean;
}

export interface ForwardingOffRequest {
  readonly kind: 'forwarding-off';
  readonly target: TargetRecipient;
}

/** Booking settings of a room or equipment mailbox; only the given ones change. */
export interface BookingRequest {
  readonly kind: 'booking';
  readonly target: TargetRecipient;
  readonly processing?: 'AutoAccept' | 'AutoUpdate' | 'None';
  readonly bookingWindowInDays?: number;
  readonly maximumDurationInMinutes?: number;
  readonly allowConflicts?: boolean;
  /** 'everyone', or the users and groups who may book. */
  readonly bookers?: 'everyone' | readonly RecipientRef[];
}

export interface AutoReplyRequest {
  readonly kind: 'auto-reply';
  readonly target: TargetRecipient;
  readonly enabled: boolean;
  readonly message?: string;
  readonly externalMessage?: string;
  readonly externalAudience?: 'All' | 'Known' | 'None';
  /** Both set for a scheduled reply (ISO, with the text people read). */
  readonly start?: { readonly iso: string; readonly text: string };
  readonly end?: { readonly iso: string; readonly text: string };
}

export type RecipientRequest =
  | UserMailboxRequest
  | SharedMailboxRequest
  | RoomMailboxRequest
  | EquipmentMailboxRequest
  | MailUserRequest
  | MailContactRequest
  | DistributionGroupRequest
  | PrimaryAddressRequest
  | SecondaryAddressAddRequest
  | SecondaryAddressRemoveRequest
  | CloudManagedRequest
  | MailboxTypeRequest
  | OffboardingRequest
  | MailboxPermissionGrantRequest
  | MailboxPermissionRevokeRequest
  | GroupMembersAddRequest
  | GroupMembersRemoveRequest
  | AddressListVisibilityRequest
  | ForwardingSetRequest
  | ForwardingOffRequest
  | BookingRequest
  | AutoReplyRequest;

export type RequestOf<K extends KindId> = Extract<RecipientRequest, { kind: K }>;

export type CreationRequest = Extract<RecipientRequest, { displayName: string }>;
export type ChangeRequest = Extract<RecipientRequest, { target: TargetRecipient }>;

/** The RecipientTypeDetails a mailbox type converts to. */
export function recipientTypeOfMailboxType(t: MailboxTypeName): string {
  return t === 'Regular' ? 'UserMailbox' : `${t}Mailbox`;
}
