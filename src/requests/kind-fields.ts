/**
 * The fields of the request kinds (kinds.ts), each defined once and reused by the kinds: labels, types, limits, help
 * and the command-line keys; also the phrases that imply a value (`grant send as`, `hide from address lists`).
 */
import { COUNTRY_CODES, countryName } from './countries';
import type { FieldChoice, FieldDef } from './kinds';
import { LIMITS } from './syntax';

// ---------------------------------------------------------------------------------------------
// Field definitions (each defined once, reused by the kinds)
// ---------------------------------------------------------------------------------------------

export const firstName: FieldDef = {
  id: 'firstName', label: 'First name', type: 'text', required: true, maxLength: LIMITS.givenName,
  placeholder: 'Ada', keys: ['first', 'firstname', 'given', 'givenname'],
};
export const lastName: FieldDef = {
  id: 'lastName', label: 'Last name', type: 'text', required: true, maxLength: LIMITS.sn,
  placeholder: 'Lovelace', keys: ['last', 'lastname', 'surname', 'sn', 'family'],
};
export const personDisplayName: FieldDef = {
  id: 'displayName', label: 'Display name', type: 'text', required: false, maxLength: LIMITS.displayName,
  placeholder: 'Ada Lovelace', help: 'Shown in the address book. Empty: first and last name.',
  keys: ['display', 'displayname', 'name'],
};
export const resourceName = (placeholder: string, help: string): FieldDef => ({
  id: 'displayName', label: 'Name', type: 'text', required: true, maxLength: LIMITS.displayName,
  placeholder, help, keys: ['name', 'display', 'displayname'],
});
export const department: FieldDef = {
  id: 'department', label: 'Department', type: 'text', required: false, maxLength: LIMITS.department,
  placeholder: 'Research', keys: ['department', 'dept'],
};
export const jobTitle: FieldDef = {
  id: 'jobTitle', label: 'Job title', type: 'text', required: false, maxLength: LIMITS.title,
  placeholder: 'Analyst', keys: ['title', 'jobtitle'],
};
export const company: FieldDef = {
  id: 'company', label: 'Company', type: 'text', required: false, maxLength: LIMITS.company,
  placeholder: 'Partner Ltd', keys: ['company', 'organisation', 'organization'],
};
export const COUNTRY_CHOICES: readonly FieldChoice[] = COUNTRY_CODES.map((c) => ({ value: c, title: `${countryName(c)} (${c})` }));
export const usageLocation = (required: boolean, help: string): FieldDef => ({
  id: 'usageLocation', label: 'Usage location', type: 'choice', required, choices: COUNTRY_CHOICES,
  placeholder: 'DE', help, keys: ['usage', 'usagelocation', 'country', 'location'],
});
export const alias: FieldDef = {
  id: 'alias', label: 'Alias', type: 'text', required: false, maxLength: LIMITS.alias,
  placeholder: 'ada.lovelace', help: 'Exchange alias (mailNickname). Empty: from the naming policy.',
  keys: ['alias', 'mailnickname', 'nickname'],
};
export const samAccountName = (limit: number): FieldDef => ({
  id: 'samAccountName', label: 'Logon name (pre-Windows 2000)', type: 'text', required: false, maxLength: limit,
  placeholder: 'alovelace', help: `sAMAccountName, at most ${limit} characters. Empty: from the naming policy.`,
  keys: ['sam', 'samaccountname', 'logon'],
});
export const userPrincipalName: FieldDef = {
  id: 'userPrincipalName', label: 'Sign-in name (UPN)', type: 'email', required: false, maxLength: LIMITS.upn,
  placeholder: 'ada.lovelace@contoso.com', help: 'Empty: from the naming policy and the UPN suffix.',
  keys: ['upn', 'userprincipalname', 'signin'],
};
export const emailAddress: FieldDef = {
  id: 'emailAddress', label: 'Email address', type: 'email', required: false, maxLength: LIMITS.address,
  placeholder: 'ada.lovelace@contoso.com', help: 'Primary SMTP address. Empty: alias @ the default domain.',
  keys: ['email', 'mail', 'address', 'smtp'],
};
export const externalAddress = (help: string): FieldDef => ({
  id: 'externalAddress', label: 'External email address', type: 'email', required: true, maxLength: LIMITS.address,
  placeholder: 'ada@partner.example', help, keys: ['email', 'external', 'externaladdress', 'mail', 'target', 'targetaddress'],
});
export const capacity: FieldDef = {
  id: 'capacity', label: 'Capacity', type: 'number', required: false, min: 0, max: 10000,
  placeholder: '12', help: 'Seats in the room.', keys: ['capacity', 'seats'],
};
export const scope: FieldDef = {
  id: 'scope', label: 'Group scope', type: 'choice', required: false, default: 'universal',
  choices: [{ value: 'universal', title: 'Universal' }, { value: 'global', title: 'Global' }],
  help: 'Exchange Online shows every synced group as Universal.', keys: ['scope'],
};
export const securityEnabled: FieldDef = {
  id: 'securityEnabled', label: 'Security group', type: 'toggle', required: false, default: 'false',
  help: 'Also usable for permissions (mail-enabled security group).', keys: ['security', 'securityenabled'],
};
export const members: FieldDef = {
  id: 'members', label: 'Initial members', type: 'text', required: false, maxLength: 4000,
  placeholder: 'ada.lovelace@contoso.com, grace.hopper@contoso.com',
  help: 'Email addresses or aliases of AD users, contacts or groups, separated by commas.', keys: ['members', 'member'],
};
export const description: FieldDef = {
  id: 'description', label: 'Description', type: 'text', required: false, maxLength: LIMITS.description,
  keys: ['description', 'desc'],
};
export const identity: FieldDef = {
  id: 'identity', label: 'Recipient', type: 'text', required: true, maxLength: 256,
  placeholder: 'ada.lovelace@contoso.com', help: 'Email address, UPN or alias of the existing recipient.',
  keys: ['identity', 'id', 'recipient', 'mailbox', 'who'],
};
export const newAddress: FieldDef = {
  id: 'newAddress', label: 'New primary address', type: 'email', required: true, maxLength: LIMITS.address,
  placeholder: 'ada@contoso.com', keys: ['new', 'newaddress', 'address', 'primary'],
};
export const address = (label: string): FieldDef => ({
  id: 'address', label, type: 'email', required: true, maxLength: LIMITS.address,
  placeholder: 'ada.l@contoso.com', keys: ['address', 'email', 'smtp'],
});
export const cloudManagedState: FieldDef = {
  id: 'state', label: 'Cloud-managed', type: 'choice', required: true,
  choices: [{ value: 'on', title: 'On: manage Exchange attributes in Exchange Online' }, { value: 'off', title: 'Off: manage them in AD again' }],
  keys: ['state', 'set', 'value'],
};
export const mailboxType: FieldDef = {
  id: 'type', label: 'Convert to', type: 'choice', required: true,
  choices: [
    { value: 'Shared', title: 'Shared' },
    { value: 'Regular', title: 'Regular (a person\'s mailbox)' },
    { value: 'Room', title: 'Room' },
    { value: 'Equipment', title: 'Equipment' },
  ],
  keys: ['type', 'to', 'as'],
};
export const adjustLicence: FieldDef = {
  id: 'adjustLicence', label: 'Adjust the licence', type: 'toggle', required: false, default: 'true',
  help: 'Assign the Exchange licence for Regular (and rooms that keep one); remove it for Shared, Room and Equipment.',
  keys: ['licence', 'license', 'adjustlicence', 'adjustlicense'],
};
export const toggleOn = (id: string, label: string, keys: readonly string[], help?: string): FieldDef => ({
  id, label, type: 'toggle', required: false, default: 'true', keys, ...(help ? { help } : {}),
});

/** The mailbox permissions Mailroom grants and revokes (Exchange's names). */
export const MAILBOX_PERMISSIONS = ['FullAccess', 'SendAs', 'SendOnBehalf'] as const;
export type MailboxPermissionName = (typeof MAILBOX_PERMISSIONS)[number];

export const PERMISSION_TITLES: Readonly<Record<MailboxPermissionName, string>> = {
  FullAccess: 'Full access (open the mailbox and work with its mail)',
  SendAs: 'Send as (mail appears to come from the mailbox)',
  SendOnBehalf: 'Send on behalf (mail shows "on behalf of" the mailbox)',
};

/** "full access", "send as", "send on behalf": the permission as people say it. */
export function permissionWords(p: MailboxPermissionName): string {
  return p === 'FullAccess' ? 'full access' : p === 'SendAs' ? 'send as' : 'send on behalf';
}

export const permissionMailbox: FieldDef = {
  ...identity, label: 'Mailbox', placeholder: 'sales@contoso.com', help: 'Email address, UPN or alias of the mailbox (user, shared, room or equipment).',
  keys: ['mailbox', 'identity', 'id', 'on'],
};
export const permission: FieldDef = {
  id: 'permission', label: 'Permission', type: 'choice', required: true,
  choices: MAILBOX_PERMISSIONS.map((p) => ({ value: p, title: PERMISSION_TITLES[p] })),
  keys: ['permission', 'right', 'access'],
};
export const people = (keys: readonly string[]): FieldDef => ({
  id: 'users', label: 'Users', type: 'text', required: true, maxLength: 4000,
  placeholder: 'ada.lovelace@contoso.com, grace.hopper@contoso.com',
  help: 'Email addresses, UPNs or aliases of the people (mailboxes, mail users or mail-enabled security groups), separated by commas.',
  keys,
});
export const autoMapping: FieldDef = {
  id: 'autoMapping', label: 'Auto-mapping (full access only)', type: 'toggle', required: false, default: 'true',
  help: 'On (Exchange\'s default): Outlook adds the mailbox to the user\'s folder list by itself. Off: the user opens it by hand.',
  keys: ['automapping', 'automap', 'mapping'],
};
export const group: FieldDef = {
  ...identity, label: 'Group', placeholder: 'sales-team@contoso.com', help: 'Email address or alias of the mail-enabled group (distribution or mail-enabled security group).',
  keys: ['group', 'identity', 'id', 'dl'],
};
export const groupMembers: FieldDef = {
  id: 'members', label: 'Members', type: 'text', required: true, maxLength: 4000,
  placeholder: 'ada.lovelace@contoso.com, grace.hopper@contoso.com',
  help: 'Email addresses, UPNs or aliases of the users, contacts or groups, separated by commas.', keys: ['members', 'member', 'who'],
};

export const sharedMembers: FieldDef = {
  id: 'members', label: 'Members (full access and send as)', type: 'text', required: false, maxLength: 4000,
  placeholder: 'ada.lovelace@contoso.com, grace.hopper@contoso.com',
  help: 'People who get full access (with auto-mapping) and send as on the new mailbox: email addresses, UPNs or aliases, separated by commas.',
  keys: ['members', 'member', 'users'],
};

export const GRANT_PHRASES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'grant full access': { permission: 'FullAccess' },
  'grant fullaccess': { permission: 'FullAccess' },
  'grant send as': { permission: 'SendAs' },
  'grant sendas': { permission: 'SendAs' },
  'grant send on behalf': { permission: 'SendOnBehalf' },
  'grant sendonbehalf': { permission: 'SendOnBehalf' },
};
export const REVOKE_PHRASES: Readonly<Record<string, Readonly<Record<string, string>>>> = Object.fromEntries(
  Object.entries(GRANT_PHRASES).map(([p, v]) => [p.replace(/^grant/, 'revoke'), v]),
);

export const addressListMailbox: FieldDef = {
  ...identity, label: 'Mailbox', placeholder: 'ada.lovelace@contoso.com', help: 'Email address, UPN or alias of the mailbox (user, shared, room or equipment).',
  keys: ['mailbox', 'identity', 'id', 'recipient', 'who'],
};
export const visibility: FieldDef = {
  id: 'visibility', label: 'Address lists', type: 'choice', required: true,
  choices: [
    { value: 'hidden', title: 'Hidden: not in the address book (the global address list)' },
    { value: 'shown', title: 'Shown: in the address book again' },
  ],
  keys: ['visibility', 'state', 'set'],
};
export const VISIBILITY_PHRASES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'hide from address lists': { visibility: 'hidden' },
  'hide from address list': { visibility: 'hidden' },
  'hide from gal': { visibility: 'hidden' },
  'show in address lists': { visibility: 'shown' },
  'show in address list': { visibility: 'shown' },
  'show in gal': { visibility: 'shown' },
  'unhide from address lists': { visibility: 'shown' },
};

export const forwardTo: FieldDef = {
  id: 'forwardTo', label: 'Forward to', type: 'text', required: true, maxLength: LIMITS.address,
  placeholder: 'grace.hopper@contoso.com or ada@partner.example',
  help: 'A recipient of this organisation (email address, UPN or alias), or an outside email address.',
  keys: ['to', 'forwardto', 'target', 'destination'],
};
export const keepCopy: FieldDef = {
  id: 'keepCopy', label: 'Keep a copy in the mailbox', type: 'toggle', required: false, default: 'true',
  help: 'On: mail is delivered to the mailbox and forwarded (DeliverToMailboxAndForward). Off: mail is only forwarded.',
  keys: ['keepcopy', 'copy', 'keep', 'delivertomailboxandforward'],
};

// Booking of rooms and equipment (Set-CalendarProcessing): each field empty means "unchanged".

export const resourceMailbox: FieldDef = {
  ...identity, label: 'Room or equipment mailbox', placeholder: 'room-4.12@contoso.com', help: 'Email address, UPN or alias of the room or equipment mailbox.',
  keys: ['mailbox', 'room', 'resource', 'identity', 'id'],
};
export const processing: FieldDef = {
  id: 'processing', label: 'Booking requests', type: 'choice', required: false,
  choices: [
    { value: 'accept', title: 'Accepted or declined by the mailbox itself (AutoAccept)' },
    { value: 'delegates', title: 'Held for its delegates to decide (AutoUpdate)' },
    { value: 'none', title: 'Not processed at all (None)' },
  ],
  help: 'Empty: unchanged.', keys: ['processing', 'requests', 'autoaccept', 'automateprocessing'],
};
export const bookingWindow: FieldDef = {
  id: 'bookingWindow', label: 'Booking window (days)', type: 'number', required: false, min: 0, max: 1080,
  placeholder: '180', help: 'How many days ahead it can be booked (BookingWindowInDays, 0 to 1080). Empty: unchanged.', keys: ['window', 'bookingwindow', 'days'],
};
export const maxDuration: FieldDef = {
  id: 'maxDuration', label: 'Longest booking (minutes)', type: 'number', required: false, min: 0, max: 43200,
  placeholder: '1440', help: 'The longest meeting it accepts (MaximumDurationInMinutes, 0 to 43200). Empty: unchanged.', keys: ['maxduration', 'duration', 'maximumduration'],
};
export const conflicts: FieldDef = {
  id: 'conflicts', label: 'Conflicting bookings', type: 'choice', required: false,
  choices: [
    { value: 'decline', title: 'Declined (AllowConflicts off)' },
    { value: 'allow', title: 'Accepted as well (AllowConflicts on)' },
  ],
  help: 'Empty: unchanged.', keys: ['conflicts', 'allowconflicts'],
};
export const bookers: FieldDef = {
  id: 'bookers', label: 'Who may book', type: 'text', required: false, maxLength: 4000,
  placeholder: 'everyone, or ada.lovelace@contoso.com, sales-team@contoso.com',
  help: '"everyone", or the users and groups who may book (email addresses, UPNs or aliases, separated by commas); nobody else may. Empty: unchanged.',
  keys: ['bookers', 'book', 'bookinpolicy', 'allowed'],
};

// Automatic replies (Set-MailboxAutoReplyConfiguration).

export const autoReplyState: FieldDef = {
  id: 'state', label: 'Automatic replies', type: 'choice', required: true,
  choices: [{ value: 'on', title: 'On (from the start to the end, if given)' }, { value: 'off', title: 'Off' }],
  keys: ['state', 'set'],
};
export const replyMessage = (required: boolean, help: string): FieldDef => ({
  id: 'message', label: 'Reply', type: 'text', required, maxLength: 4000,
  placeholder: 'I am away until 3 January. Please write to sales@contoso.com.', help, keys: ['message', 'reply', 'text', 'internal'],
});
export const externalMessage: FieldDef = {
  id: 'externalMessage', label: 'Reply to outside senders', type: 'text', required: false, maxLength: 4000,
  help: 'Empty: the same reply.', keys: ['external', 'externalmessage'],
};
export const externalAudience: FieldDef = {
  id: 'audience', label: 'Outside senders who get a reply', type: 'choice', required: false, default: 'all',
  choices: [
    { value: 'all', title: 'All of them' },
    { value: 'known', title: 'Only those in the mailbox\'s contacts' },
    { value: 'none', title: 'None (only people in the organisation)' },
  ],
  keys: ['audience', 'externalaudience'],
};
export const replyStart: FieldDef = {
  id: 'start', label: 'From', type: 'text', required: false, maxLength: 40,
  placeholder: '2026-12-20 or 2026-12-20 08:00', help: 'Empty: now. A date alone: from the start of that day.', keys: ['start', 'from', 'starttime'],
};
export const replyEnd: FieldDef = {
  id: 'end', label: 'Until', type: 'text', required: false, maxLength: 40,
  placeholder: '2027-01-03 or 2027-01-03 18:00', help: 'Empty: until it is turned off. A date alone: to the end of that day.', keys: ['end', 'until', 'endtime'],
};

// Offboarding, besides the switches.

export const leaveDate: FieldDef = {
  id: 'when', label: 'When', type: 'text', required: false, maxLength: 40,
  placeholder: 'now, or 2026-12-31, or 2026-12-31 17:00',
  help: 'Empty or "now": as soon as it is approved. A date alone: at the end of that day; a date and time: then.', keys: ['when', 'on', 'date', 'leave', 'leavedate', 'at'],
};
export const fullAccessFor: FieldDef = {
  id: 'fullAccessFor', label: 'Full access to the mailbox for', type: 'text', required: false, default: 'manager', maxLength: 256,
  placeholder: 'manager, none, or grace.hopper@contoso.com',
  help: '"manager": the manager AD names (if there is one); a person\'s email address, UPN or alias; or "none".', keys: ['fullaccess', 'access', 'delegate', 'fullaccessfor'],
};
export const offboardingReply: FieldDef = {
  id: 'autoReply', label: 'Automatic reply', type: 'text', required: false, maxLength: 4000,
  placeholder: 'Ada has left Contoso. Please write to sales@contoso.com.', help: 'Empty: none is set.', keys: ['reply', 'autoreply', 'message', 'oof'],
};
export const offboardingForward: FieldDef = {
  ...forwardTo, required: false, help: 'Empty: no forwarding. A recipient of this organisation, or an outside address; a copy stays in the mailbox.',
  keys: ['forward', 'forwardto'],
};
