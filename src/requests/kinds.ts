/**
 * The request kinds Mailroom knows: their stable ids, titles, and the one field schema the bot uses both
 * to build the form card and to parse the one-line command. Also the typed, validated request objects
 * (a discriminated union on `kind`) that validation produces and the planner consumes.
 */
import { COUNTRY_CODES, countryName } from './countries';
import type { FoundRecipient } from './lookup';
import { LIMITS } from './syntax';

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
// Field definitions (each defined once, reused by the kinds)
// ---------------------------------------------------------------------------------------------

const firstName: FieldDef = {
  id: 'firstName', label: 'First name', type: 'text', required: true, maxLength: LIMITS.givenName,
  placeholder: 'Ada', keys: ['first', 'firstname', 'given', 'givenname'],
};
const lastName: FieldDef = {
  id: 'lastName', label: 'Last name', type: 'text', required: true, maxLength: LIMITS.sn,
  placeholder: 'Lovelace', keys: ['last', 'lastname', 'surname', 'sn', 'family'],
};
const personDisplayName: FieldDef = {
  id: 'displayName', label: 'Display name', type: 'text', required: false, maxLength: LIMITS.displayName,
  placeholder: 'Ada Lovelace', help: 'Shown in the address book. Empty: first and last name.',
  keys: ['display', 'displayname', 'name'],
};
const resourceName = (placeholder: string, help: string): FieldDef => ({
  id: 'displayName', label: 'Name', type: 'text', required: true, maxLength: LIMITS.displayName,
  placeholder, help, keys: ['name', 'display', 'displayname'],
});
const department: FieldDef = {
  id: 'department', label: 'Department', type: 'text', required: false, maxLength: LIMITS.department,
  placeholder: 'Research', keys: ['department', 'dept'],
};
const jobTitle: FieldDef = {
  id: 'jobTitle', label: 'Job title', type: 'text', required: false, maxLength: LIMITS.title,
  placeholder: 'Analyst', keys: ['title', 'jobtitle'],
};
const company: FieldDef = {
  id: 'company', label: 'Company', type: 'text', required: false, maxLength: LIMITS.company,
  placeholder: 'Partner Ltd', keys: ['company', 'organisation', 'organization'],
};
const COUNTRY_CHOICES: readonly FieldChoice[] = COUNTRY_CODES.map((c) => ({ value: c, title: `${countryName(c)} (${c})` }));
const usageLocation = (required: boolean, help: string): FieldDef => ({
  id: 'usageLocation', label: 'Usage location', type: 'choice', required, choices: COUNTRY_CHOICES,
  placeholder: 'DE', help, keys: ['usage', 'usagelocation', 'country', 'location'],
});
const alias: FieldDef = {
  id: 'alias', label: 'Alias', type: 'text', required: false, maxLength: LIMITS.alias,
  placeholder: 'ada.lovelace', help: 'Exchange alias (mailNickname). Empty: from the naming policy.',
  keys: ['alias', 'mailnickname', 'nickname'],
};
const samAccountName = (limit: number): FieldDef => ({
  id: 'samAccountName', label: 'Logon name (pre-Windows 2000)', type: 'text', required: false, maxLength: limit,
  placeholder: 'alovelace', help: `sAMAccountName, at most ${limit} characters. Empty: from the naming policy.`,
  keys: ['sam', 'samaccountname', 'logon'],
});
const userPrincipalName: FieldDef = {
  id: 'userPrincipalName', label: 'Sign-in name (UPN)', type: 'email', required: false, maxLength: LIMITS.upn,
  placeholder: 'ada.lovelace@contoso.com', help: 'Empty: from the naming policy and the UPN suffix.',
  keys: ['upn', 'userprincipalname', 'signin'],
};
const emailAddress: FieldDef = {
  id: 'emailAddress', label: 'Email address', type: 'email', required: false, maxLength: LIMITS.address,
  placeholder: 'ada.lovelace@contoso.com', help: 'Primary SMTP address. Empty: alias @ the default domain.',
  keys: ['email', 'mail', 'address', 'smtp'],
};
const externalAddress = (help: string): FieldDef => ({
  id: 'externalAddress', label: 'External email address', type: 'email', required: true, maxLength: LIMITS.address,
  placeholder: 'ada@partner.example', help, keys: ['email', 'external', 'externaladdress', 'mail', 'target', 'targetaddress'],
});
const capacity: FieldDef = {
  id: 'capacity', label: 'Capacity', type: 'number', required: false, min: 0, max: 10000,
  placeholder: '12', help: 'Seats in the room.', keys: ['capacity', 'seats'],
};
const scope: FieldDef = {
  id: 'scope', label: 'Group scope', type: 'choice', required: false, default: 'universal',
  choices: [{ value: 'universal', title: 'Universal' }, { value: 'global', title: 'Global' }],
  help: 'Exchange Online shows every synced group as Universal.', keys: ['scope'],
};
const securityEnabled: FieldDef = {
  id: 'securityEnabled', label: 'Security group', type: 'toggle', required: false, default: 'false',
  help: 'Also usable for permissions (mail-enabled security group).', keys: ['security', 'securityenabled'],
};
const members: FieldDef = {
  id: 'members', label: 'Initial members', type: 'text', required: false, maxLength: 4000,
  placeholder: 'ada.lovelace@contoso.com, grace.hopper@contoso.com',
  help: 'Email addresses or aliases of AD users, contacts or groups, separated by commas.', keys: ['members', 'member'],
};
const description: FieldDef = {
  id: 'description', label: 'Description', type: 'text', required: false, maxLength: LIMITS.description,
  keys: ['description', 'desc'],
};
const identity: FieldDef = {
  id: 'identity', label: 'Recipient', type: 'text', required: true, maxLength: 256,
  placeholder: 'ada.lovelace@contoso.com', help: 'Email address, UPN or alias of the existing recipient.',
  keys: ['identity', 'id', 'recipient', 'mailbox', 'who'],
};
const newAddress: FieldDef = {
  id: 'newAddress', label: 'New primary address', type: 'email', required: true, maxLength: LIMITS.address,
  placeholder: 'ada@contoso.com', keys: ['new', 'newaddress', 'address', 'primary'],
};
const address = (label: string): FieldDef => ({
  id: 'address', label, type: 'email', required: true, maxLength: LIMITS.address,
  placeholder: 'ada.l@contoso.com', keys: ['address', 'email', 'smtp'],
});
const cloudManagedState: FieldDef = {
  id: 'state', label: 'Cloud-managed', type: 'choice', required: true,
  choices: [{ value: 'on', title: 'On: manage Exchange attributes in Exchange Online' }, { value: 'off', title: 'Off: manage them in AD again' }],
  keys: ['state', 'set', 'value'],
};
const mailboxType: FieldDef = {
  id: 'type', label: 'Convert to', type: 'choice', required: true,
  choices: [
    { value: 'Shared', title: 'Shared' },
    { value: 'Regular', title: 'Regular (a person\'s mailbox)' },
    { value: 'Room', title: 'Room' },
    { value: 'Equipment', title: 'Equipment' },
  ],
  keys: ['type', 'to', 'as'],
};
const adjustLicence: FieldDef = {
  id: 'adjustLicence', label: 'Adjust the licence', type: 'toggle', required: false, default: 'true',
  help: 'Assign the Exchange licence for Regular (and rooms that keep one); remove it for Shared, Room and Equipment.',
  keys: ['licence', 'license', 'adjustlicence', 'adjustlicense'],
};
const toggleOn = (id: string, label: string, keys: readonly string[], help?: string): FieldDef => ({
  id, label, type: 'toggle', required: false, default: 'true', keys, ...(help ? { help } : {}),
});

/** The mailbox permissions Mailroom grants and revokes (Exchange's names). */
export const MAILBOX_PERMISSIONS = ['FullAccess', 'SendAs', 'SendOnBehalf'] as const;
export type MailboxPermissionName = (typeof MAILBOX_PERMISSIONS)[number];

const PERMISSION_TITLES: Readonly<Record<MailboxPermissionName, string>> = {
  FullAccess: 'Full access (open the mailbox and work with its mail)',
  SendAs: 'Send as (mail appears to come from the mailbox)',
  SendOnBehalf: 'Send on behalf (mail shows "on behalf of" the mailbox)',
};

/** "full access", "send as", "send on behalf": the permission as people say it. */
export function permissionWords(p: MailboxPermissionName): string {
  return p === 'FullAccess' ? 'full access' : p === 'SendAs' ? 'send as' : 'send on behalf';
}

const permissionMailbox: FieldDef = {
  ...identity, label: 'Mailbox', placeholder: 'sales@contoso.com', help: 'Email address, UPN or alias of the mailbox (user, shared, room or equipment).',
  keys: ['mailbox', 'identity', 'id', 'on'],
};
const permission: FieldDef = {
  id: 'permission', label: 'Permission', type: 'choice', required: true,
  choices: MAILBOX_PERMISSIONS.map((p) => ({ value: p, title: PERMISSION_TITLES[p] })),
  keys: ['permission', 'right', 'access'],
};
const people = (keys: readonly string[]): FieldDef => ({
  id: 'users', label: 'Users', type: 'text', required: true, maxLength: 4000,
  placeholder: 'ada.lovelace@contoso.com, grace.hopper@contoso.com',
  help: 'Email addresses, UPNs or aliases of the people (mailboxes, mail users or mail-enabled security groups), separated by commas.',
  keys,
});
const autoMapping: FieldDef = {
  id: 'autoMapping', label: 'Auto-mapping (full access only)', type: 'toggle', required: false, default: 'true',
  help: 'On (Exchange\'s default): Outlook adds the mailbox to the user\'s folder list by itself. Off: the user opens it by hand.',
  keys: ['automapping', 'automap', 'mapping'],
};
const group: FieldDef = {
  ...identity, label: 'Group', placeholder: 'sales-team@contoso.com', help: 'Email address or alias of the mail-enabled group (distribution or mail-enabled security group).',
  keys: ['group', 'identity', 'id', 'dl'],
};
const groupMembers: FieldDef = {
  id: 'members', label: 'Members', type: 'text', required: true, maxLength: 4000,
  placeholder: 'ada.lovelace@contoso.com, grace.hopper@contoso.com',
  help: 'Email addresses, UPNs or aliases of the users, contacts or groups, separated by commas.', keys: ['members', 'member', 'who'],
};

const sharedMembers: FieldDef = {
  id: 'members', label: 'Members (full access and send as)', type: 'text', required: false, maxLength: 4000,
  placeholder: 'ada.lovelace@contoso.com, grace.hopper@contoso.com',
  help: 'People who get full access (with auto-mapping) and send as on the new mailbox: email addresses, UPNs or aliases, separated by commas.',
  keys: ['members', 'member', 'users'],
};

const GRANT_PHRASES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'grant full access': { permission: 'FullAccess' },
  'grant fullaccess': { permission: 'FullAccess' },
  'grant send as': { permission: 'SendAs' },
  'grant sendas': { permission: 'SendAs' },
  'grant send on behalf': { permission: 'SendOnBehalf' },
  'grant sendonbehalf': { permission: 'SendOnBehalf' },
};
const REVOKE_PHRASES: Readonly<Record<string, Readonly<Record<string, string>>>> = Object.fromEntries(
  Object.entries(GRANT_PHRASES).map(([p, v]) => [p.replace(/^grant/, 'revoke'), v]),
);

const addressListMailbox: FieldDef = {
  ...identity, label: 'Mailbox', placeholder: 'ada.lovelace@contoso.com', help: 'Email address, UPN or alias of the mailbox (user, shared, room or equipment).',
  keys: ['mailbox', 'identity', 'id', 'recipient', 'who'],
};
const visibility: FieldDef = {
  id: 'visibility', label: 'Address lists', type: 'choice', required: true,
  choices: [
    { value: 'hidden', title: 'Hidden: not in the address book (the global address list)' },
    { value: 'shown', title: 'Shown: in the address book again' },
  ],
  keys: ['visibility', 'state', 'set'],
};
const VISIBILITY_PHRASES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'hide from address lists': { visibility: 'hidden' },
  'hide from address list': { visibility: 'hidden' },
  'hide from gal': { visibility: 'hidden' },
  'show in address lists': { visibility: 'shown' },
  'show in address list': { visibility: 'shown' },
  'show in gal': { visibility: 'shown' },
  'unhide from address lists': { visibility: 'shown' },
};

const forwardTo: FieldDef = {
  id: 'forwardTo', label: 'Forward to', type: 'text', required: true, maxLength: LIMITS.address,
  placeholder: 'grace.hopper@contoso.com or ada@partner.example',
  help: 'A recipient of this organisation (email address, UPN or alias), or an outside email address.',
  keys: ['to', 'forwardto', 'target', 'destination'],
};
const keepCopy: FieldDef = {
  id: 'keepCopy', label: 'Keep a copy in the mailbox', type: 'toggle', required: false, default: 'true',
  help: 'On: mail is delivered to the mailbox and forwarded (DeliverToMailboxAndForward). Off: mail is only forwarded.',
  keys: ['keepcopy', 'copy', 'keep', 'delivertomailboxandforward'],
};

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
    description: 'A person leaves: disable the account, keep the mailbox as a shared mailbox without licence, hide it.',
    fields: [identity,
      toggleOn('disableAccount', 'Disable the AD account', ['disable', 'disableaccount']),
      toggleOn('convertToShared', 'Convert the mailbox to shared', ['shared', 'converttoshared', 'convert']),
      toggleOn('removeLicence', 'Remove the Exchange licence', ['removelicence', 'removelicense', 'licence', 'license'],
        'Only safe after the conversion to shared: a user mailbox without a licence is deleted after 30 days.'),
      toggleOn('hideFromAddressLists', 'Hide from address lists', ['hide', 'hidden', 'hidefromaddresslists'])],
    command: { phrases: ['offboard', 'offboarding'], positional: [identitySlot], example: 'offboard ada.lovelace@contoso.com' },
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
  readonly disableAccount: boolean;
  readonly convertToShared: boolean;
  readonly removeLicence: boolean;
  readonly hideFromAddressLists: boolean;
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
  | ForwardingOffRequest;

export type RequestOf<K extends KindId> = Extract<RecipientRequest, { kind: K }>;

export type CreationRequest = Extract<RecipientRequest, { displayName: string }>;
export type ChangeRequest = Extract<RecipientRequest, { target: TargetRecipient }>;

/** The RecipientTypeDetails a mailbox type converts to. */
export function recipientTypeOfMailboxType(t: MailboxTypeName): string {
  return t === 'Regular' ? 'UserMailbox' : `${t}Mailbox`;
}
