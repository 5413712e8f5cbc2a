/**
 * The request kinds Mailroom knows: their stable ids, titles, and the one field schema the bot uses both
 * to build the form card and to parse the one-line command (the fields themselves: kind-fields.ts). The typed,
 * validated request objects that validation produces and the planner consumes are request-types.ts.
 */
import {
  firstName, lastName, personDisplayName, resourceName, department, jobTitle, company, usageLocation, alias, samAccountName, userPrincipalName, emailAddress, externalAddress, capacity, scope, securityEnabled, members, description, identity, newAddress, address, cloudManagedState, mailboxType, adjustLicence, toggleOn, permissionMailbox, permission, people, autoMapping, group, groupMembers, sharedMembers, GRANT_PHRASES, REVOKE_PHRASES, addressListMailbox, visibility, VISIBILITY_PHRASES, forwardTo, keepCopy,
  resourceMailbox, processing, bookingWindow, maxDuration, conflicts, bookers, autoReplyState, replyMessage, externalMessage, externalAudience, replyStart, replyEnd,
  leaveDate, fullAccessFor, offboardingReply, offboardingForward,
} from './kind-fields';
import { LIMITS } from './syntax';

export { MAILBOX_PERMISSIONS, permissionWords, type MailboxPermissionName } from './kind-fields';
export * from './request-types';

export const KIND_IDS = [
  'user-mailbox',
  'shared-mailbox',
  'room-mailbox',
  'equipment-mailbox',
  'mail-user',
  'mail-contact',
  'distribution-group',
  'primary-address',
  'secondary-address-add',
  'secondary-address-remove',
  'cloud-managed',
  'mailbox-type',
  'offboarding',
  'mailbox-permission-grant',
  'mailbox-permission-revoke',
  'group-member-add',
  'group-member-remove',
  'address-list-visibility',
  'forwarding-set',
  'forwarding-off',
  'booking',
  'auto-reply',
] as const;

export type KindId = (typeof KIND_IDS)[number];

export function isKindId(s: string): s is KindId {
  return (KIND_IDS as readonly string[]).includes(s);
}

export type FieldType = 'text' | 'email' | 'choice' | 'toggle' | 'number';

export interface FieldChoice {
  readonly value: string;
  readonly title: string;
}

export interface FieldDef {
  /** Key in the raw values (form input id, and the canonical command key after lower-casing). */
  readonly id: string;
  readonly label: string;
  readonly type: FieldType;
  /** Required in the form. Validation may still fill a required value from the tenant profile (usage location). */
  readonly required: boolean;
  readonly choices?: readonly FieldChoice[];
  readonly placeholder?: string;
  readonly help?: string;
  readonly maxLength?: number;
  /** Value used when the field is left empty (toggles: 'true'/'false'; choices: a choice value). */
  readonly default?: string;
  readonly min?: number;
  readonly max?: number;
  /** Command-line keys, lower case; the first is the canonical key. The id (lower-cased) is always accepted too. */
  readonly keys: readonly string[];
}

/**
 * A slot in the positional part of a command: a field, or a word that may appear there ("to"). A field slot with
 * `rest` takes every positional value that follows (joined with spaces) until the word of the next slot: a list
 * such as `ada@contoso.com, grace@contoso.com`.
 */
export type PositionalSlot = { readonly field: string; readonly rest?: boolean } | { readonly word: string };

export interface KindDef {
  readonly id: KindId;
  readonly title: string;
  readonly description: string;
  readonly fields: readonly FieldDef[];
  readonly command: {
    /** Lower-case phrases that start the command; the first is the canonical one. */
    readonly phrases: readonly string[];
    readonly positional: readonly PositionalSlot[];
    /** Example shown in help and in "which kinds exist". */
    readonly example: string;
    /**
     * Values a phrase stands for, by phrase: `grant full access` is `grant permission` with permission=FullAccess.
     * A value given again as key=value is an error (given twice).
     */
    readonly implies?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  };
  /** True for kinds that create an object (as opposed to changing an existing recipient). */
  readonly creates: boolean;
}

// ---------------------------------------------------------------------------------------------
// Kinds
// ---------------------------------------------------------------------------------------------

const identitySlot = { field: 'identity' } as const;

export const KINDS: Readonly<Record<KindId, KindDef>> = {
  'user-mailbox': {
    id: 'user-mailbox', title: 'User mailbox', creates: true,
    description: 'A person\'s AD account with a licensed Exchange Online mailbox.',
    fields: [firstName, lastName, personDisplayName, department, jobTitle,
      usageLocation(true, 'Country where the person uses the service; needed for the licence.'),
      alias, samAccountName(LIMITS.samAccountName), userPrincipalName, emailAddress],
    command: { phrases: ['new mailbox', 'new user mailbox', 'new user'], positional: [], example: 'new mailbox first=Ada last=Lovelace department=Research' },
  },
  'shared-mailbox': {
    id: 'shared-mailbox', title: 'Shared mailbox', creates: true,
    description: 'A mailbox several people use; its AD account is disabled and it needs no licence.',
    fields: [resourceName('Team Sales', 'Display name of the shared mailbox.'), alias, samAccountName(LIMITS.samAccountName), userPrincipalName, emailAddress, sharedMembers],
    command: { phrases: ['new shared mailbox', 'new shared'], positional: [], example: 'new shared mailbox name="Team Sales" alias=sales members=ada.lovelace@contoso.com,grace.hopper@contoso.com' },
  },
  'room-mailbox': {
    id: 'room-mailbox', title: 'Room mailbox', creates: true,
    description: 'A bookable meeting room.',
    fields: [resourceName('Board Room', 'Display name of the room.'), capacity, alias, samAccountName(LIMITS.samAccountName), userPrincipalName, emailAddress,
      usageLocation(false, 'Needed when rooms keep their licence (meeting devices). Empty: the tenant default.')],
    command: { phrases: ['new room mailbox', 'new room'], positional: [], example: 'new room name="Board Room" capacity=12' },
  },
  'equipment-mailbox': {
    id: 'equipment-mailbox', title: 'Equipment mailbox', creates: true,
    description: 'A bookable resource that is not a room (a car, a projector).',
    fields: [resourceName('Pool Car 1', 'Display name of the equipment.'), alias, samAccountName(LIMITS.samAccountName), userPrincipalName, emailAddress,
      usageLocation(false, 'Needed when resources keep their licence. Empty: the tenant default.')],
    command: { phrases: ['new equipment mailbox', 'new equipment'], positional: [], example: 'new equipment name="Pool Car 1"' },
  },
  'mail-user': {
    id: 'mail-user', title: 'Mail user', creates: true,
    description: 'An external person with an AD account whose mail goes to an outside address.',
    fields: [firstName, lastName, personDisplayName, externalAddress('Where their mail goes (targetAddress); not one of your domains.'),
      company, department, alias, samAccountName(LIMITS.samAccountName), userPrincipalName],
    command: { phrases: ['new mail user', 'new mailuser', 'new mail-user'], positional: [], example: 'new mail user first=Ada last=Partner email=ada@partner.example' },
  },
  'mail-contact': {
    id: 'mail-contact', title: 'Mail contact', creates: true,
    description: 'An outside address in the address book (no account).',
    fields: [resourceName('Ada Partner', 'Display name of the contact.'), externalAddress('The contact\'s address; not one of your domains.'),
      { ...firstName, required: false }, { ...lastName, required: false }, company, alias],
    command: { phrases: ['new contact', 'new mail contact', 'new mailcontact'], positional: [], example: 'new contact name="Ada Partner" email=ada@partner.example' },
  },
  'distribution-group': {
    id: 'distribution-group', title: 'Distribution group', creates: true,
    description: 'A mail-enabled AD group (distribution or security), managed in AD.',
    fields: [resourceName('Sales Team', 'Display name of the group.'), scope, securityEnabled, members, alias,
      samAccountName(LIMITS.groupSamAccountName), emailAddress, description],
    command: { phrases: ['new group', 'new distribution group', 'new distribution list', 'new dl'], positional: [], example: 'new group name="Sales Team" scope=universal security=yes' },
  },
  'primary-address': {
    id: 'primary-address', title: 'Change the primary address', creates: false,
    description: 'Make another address the primary one; the old one stays as a secondary address.',
    fields: [identity, newAddress],
    command: { phrases: ['change primary', 'change primary address', 'set primary'], positional: [identitySlot, { field: 'newAddress' }], example: 'change primary ada.lovelace@contoso.com new=ada@contoso.com' },
  },
  'secondary-address-add': {
    id: 'secondary-address-add', title: 'Add a secondary address', creates: false,
    description: 'Add an address that also delivers to this recipient.',
    fields: [identity, address('Address to add')],
    command: { phrases: ['add address', 'add secondary address'], positional: [identitySlot, { field: 'address' }], example: 'add address ada.lovelace@contoso.com address=ada.l@contoso.com' },
  },
  'secondary-address-remove': {
    id: 'secondary-address-remove', title: 'Remove a secondary address', creates: false,
    description: 'Remove an address that is not the primary one.',
    fields: [identity, address('Address to remove')],
    command: { phrases: ['remove address', 'remove secondary address'], positional: [identitySlot, { field: 'address' }], example: 'remove address ada.lovelace@contoso.com address=ada.l@contoso.com' },
  },
  'cloud-managed': {
    id: 'cloud-managed', title: 'Cloud-managed on/off', creates: false,
    description: 'Move the Exchange attributes of one synced mailbox to Exchange Online (on) or back to AD (off).',
    fields: [identity, cloudManagedState],
    command: { phrases: ['cloud-managed', 'cloud managed', 'cloudmanaged'], positional: [identitySlot, { field: 'state' }], example: 'cloud-managed ada.lovelace@contoso.com on' },
  },
  'mailbox-type': {
    id: 'mailbox-type', title: 'Convert a mailbox', creates: false,
    description: 'Convert a mailbox to Regular, Shared, Room or Equipment.',
    fields: [identity, mailboxType, adjustLicence],
    command: { phrases: ['convert', 'convert mailbox'], positional: [identitySlot, { word: 'to' }, { field: 'type' }], example: 'convert ada.lovelace@contoso.com to shared' },
  },
  offboarding: {
    id: 'offboarding', title: 'Offboarding', creates: false,
    description: 'A person leaves, now or on their leave date: account disabled and signed out, mailbox kept as a shared mailbox for the manager, automatic reply and forwarding, out of the groups and the address book, licence removed.',
    fields: [identity, leaveDate,
      toggleOn('disableAccount', 'Disable the AD account', ['disable', 'disableaccount']),
      toggleOn('revokeSessions', 'Sign out everywhere (revoke sign-in sessions)', ['revoke', 'signout', 'revokesessions', 'sessions']),
      toggleOn('convertToShared', 'Convert the mailbox to shared', ['shared', 'converttoshared', 'convert']),
      fullAccessFor, offboardingReply, offboardingForward,
      toggleOn('removeFromGroups', 'Remove from distribution groups', ['groups', 'removefromgroups'],
        'The groups are listed in the plan and kept with the request, so a roll back puts the person back.'),
      toggleOn('hideFromAddressLists', 'Hide from address lists', ['hide', 'hidden', 'hidefromaddresslists']),
      toggleOn('removeLicence', 'Remove the Exchange licence', ['removelicence', 'removelicense', 'licence', 'license'],
        'Only safe after the conversion to shared: a user mailbox without a licence is deleted after 30 days.')],
    command: { phrases: ['offboard', 'offboarding'], positional: [identitySlot], example: 'offboard ada.lovelace@contoso.com when=2026-12-31 reply="Ada has left Contoso. Please write to sales@contoso.com."' },
  },
  'mailbox-permission-grant': {
    id: 'mailbox-permission-grant', title: 'Grant mailbox permissions', creates: false,
    description: 'Give people full access, send as or send on behalf on a mailbox (full access with auto-mapping, Exchange\'s default, unless switched off).',
    fields: [permissionMailbox, permission, people(['users', 'user', 'to', 'trustee', 'trustees', 'delegates']), autoMapping],
    command: {
      phrases: ['grant permission', ...Object.keys(GRANT_PHRASES)],
      positional: [{ word: 'on' }, identitySlot, { word: 'to' }, { field: 'users', rest: true }],
      example: 'grant full access on sales@contoso.com to ada.lovelace@contoso.com, grace.hopper@contoso.com',
      implies: GRANT_PHRASES,
    },
  },
  'mailbox-permission-revoke': {
    id: 'mailbox-permission-revoke', title: 'Revoke mailbox permissions', creates: false,
    description: 'Take full access, send as or send on behalf on a mailbox away from people.',
    fields: [permissionMailbox, permission, people(['users', 'user', 'from', 'trustee', 'trustees', 'delegates'])],
    command: {
      phrases: ['revoke permission', ...Object.keys(REVOKE_PHRASES)],
      positional: [{ word: 'on' }, identitySlot, { word: 'from' }, { field: 'users', rest: true }],
      example: 'revoke send as on sales@contoso.com from ada.lovelace@contoso.com',
      implies: REVOKE_PHRASES,
    },
  },
  'group-member-add': {
    id: 'group-member-add', title: 'Add group members', creates: false,
    description: 'Add people (or contacts, or groups) to an existing distribution or mail-enabled security group.',
    fields: [group, groupMembers],
    command: { phrases: ['add member', 'add members', 'add group member'], positional: [{ field: 'members', rest: true }, { word: 'to' }, identitySlot], example: 'add member ada.lovelace@contoso.com, grace.hopper@contoso.com to sales-team@contoso.com' },
  },
  'group-member-remove': {
    id: 'group-member-remove', title: 'Remove group members', creates: false,
    description: 'Remove members from an existing distribution or mail-enabled security group.',
    fields: [group, groupMembers],
    command: { phrases: ['remove member', 'remove members', 'remove group member'], positional: [{ field: 'members', rest: true }, { word: 'from' }, identitySlot], example: 'remove member ada.lovelace@contoso.com from sales-team@contoso.com' },
  },
  'address-list-visibility': {
    id: 'address-list-visibility', title: 'Hide from or show in address lists', creates: false,
    description: 'Hide a mailbox from the address book (HiddenFromAddressListsEnabled), or show it there again.',
    fields: [addressListMailbox, visibility],
    command: {
      phrases: ['address lists', ...Object.keys(VISIBILITY_PHRASES)],
      positional: [identitySlot, { field: 'visibility' }],
      example: 'hide from address lists ada.lovelace@contoso.com',
      implies: VISIBILITY_PHRASES,
    },
  },
  'forwarding-set': {
    id: 'forwarding-set', title: 'Forward a mailbox\'s mail', creates: false,
    description: 'Forward the mail of a mailbox to another recipient or to an outside address, keeping a copy or not.',
    fields: [addressListMailbox, forwardTo, keepCopy],
    command: { phrases: ['forward', 'set forwarding', 'forward mail'], positional: [identitySlot, { word: 'to' }, { field: 'forwardTo' }], example: 'forward ada.lovelace@contoso.com to grace.hopper@contoso.com keepcopy=yes' },
  },
  'forwarding-off': {
    id: 'forwarding-off', title: 'Stop forwarding', creates: false,
    description: 'Turn off the forwarding of a mailbox (to a recipient and to an outside address).',
    fields: [addressListMailbox],
    command: { phrases: ['stop forwarding', 'forwarding off', 'remove forwarding'], positional: [identitySlot], example: 'stop forwarding ada.lovelace@contoso.com' },
  },
  booking: {
    id: 'booking', title: 'Room and equipment booking', creates: false,
    description: 'How a room or equipment mailbox takes bookings: decided by itself or by its delegates, how far ahead, how long, conflicts, who may book. Only what is filled in changes.',
    fields: [resourceMailbox, processing, bookingWindow, maxDuration, conflicts, bookers],
    command: { phrases: ['booking', 'set booking', 'room booking'], positional: [identitySlot], example: 'booking room-4.12@contoso.com processing=accept window=90 bookers=everyone' },
  },
  'auto-reply': {
    id: 'auto-reply', title: 'Automatic replies', creates: false,
    description: 'Turn the automatic replies (out of office) of a mailbox on, for a time or until further notice, or off.',
    fields: [addressListMailbox, autoReplyState, replyMessage(false, 'Needed to turn replies on. People in the organisation get it.'), externalMessage, externalAudience, replyStart, replyEnd],
    command: {
      phrases: ['auto reply', 'autoreply', 'automatic reply', 'automatic replies', 'out of office'],
      positional: [identitySlot, { field: 'state' }],
      example: 'auto reply ada.lovelace@contoso.com on message="I am away until 3 January." until=2027-01-03',
    },
  },
};

/** The field ids of a kind, e.g. to pick the form inputs out of an Action.Execute data object. */
export function fieldIds(kind: KindId): string[] {
  return KINDS[kind].fields.map((f) => f.id);
}

/** The form's values only (strings), from a card's submitted data that also carries verbs and ids. */
export function pickFieldValues(kind: KindId, data: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const id of fieldIds(kind)) {
    if (Object.prototype.hasOwnProperty.call(data, id)) out[id] = data[id];
  }
  return out;
}

/** Which field is wrong, and why, in words that say what would be accepted. */
export interface FieldError {
  readonly field: string;
  readonly message: string;
}

/** Field id used in errors about the command line's own syntax (quotes, unknown keys). */
export const COMMAND_FIELD = 'command';
/** Field id used in errors that concern the request as a whole (e.g. refused by the tenant's mode). */
export const REQUEST_FIELD = 'request';
/** Field id used in errors about the kind itself (unknown kind). */
export const KIND_FIELD = 'kind';
