/**
 * Cloud-only objects, created in Exchange Online (New-Mailbox, New-MailUser, New-MailContact, New-DistributionGroup)
 * or by tests (guests, cloud users and groups).
 */
import { ExoError } from '../errors';
import { exoGroupShape, splitProxy, toAlias } from '../rules';
import { newEntraContact, newEntraGroup, newEntraUser, type EntraGroup, type EntraUser, type ExoRecipient } from '../tenant-model';
import type { TenantCore } from './core';
import { tick } from './mailboxes';

/** What New-Mailbox takes. */
export interface CloudMailboxInput {
  type: 'SharedMailbox' | 'RoomMailbox' | 'EquipmentMailbox' | 'UserMailbox';
  name: string;
  alias?: string;
  displayName?: string;
  primarySmtpAddress?: string;
}

/** What New-MailUser takes. */
export interface CloudMailUserInput {
  name: string;
  alias?: string;
  displayName?: string;
  externalEmailAddress: string;
  primarySmtpAddress?: string;
  microsoftOnlineServicesId?: string;
}

/** What New-MailContact takes. */
export interface CloudMailContactInput {
  name: string;
  alias?: string;
  displayName?: string;
  externalEmailAddress: string;
}

/** An invited guest. */
export interface GuestInput {
  mail: string;
  displayName?: string;
}

/** A cloud-only Entra user. */
export interface CloudUserInput {
  userPrincipalName: string;
  displayName: string;
  mailNickname?: string;
  usageLocation?: string;
  accountEnabled?: boolean;
}

/** A cloud-only Entra group. */
export interface CloudGroupInput {
  displayName: string;
  mailNickname?: string;
  securityEnabled?: boolean;
}

/** What New-DistributionGroup takes. */
export interface CloudDistributionGroupInput {
  name: string;
  alias: string;
  displayName?: string;
  primarySmtpAddress?: string;
  security: boolean;
  managedBy?: string[];
  memberIds?: string[];
}

/** A new mail user, mail contact or guest: mail to it goes to `external`; `primary` is its one address. */
function forwardTo(rec: ExoRecipient, external: string, primary: string): void {
  rec.externalEmailAddress = `SMTP:${external}`;
  rec.primarySmtpAddress = primary;
  rec.windowsEmailAddress = primary;
  rec.emailAddresses = [`SMTP:${primary}`];
}


/**
 * Creates a cloud-only mailbox as EXO `New-Mailbox -Shared|-Room|-Equipment` does: an Entra user
 * (disabled, not synced) and the mailbox at once, without a licence and without IsExchangeCloudManaged.
 */
export function createCloudMailbox(core: TenantCore, input: CloudMailboxInput): ExoRecipient {
  tick(core);
  assertNameFree(core, input.name);
  const alias = toAlias(input.alias ?? input.name);
  const primary = input.primarySmtpAddress ?? `${alias}@${core.defaultDomain()}`;
  core.assertAcceptedDomain(primary);
  const upn = input.primarySmtpAddress ?? `${alias}@${core.initialDomain}`;
  const user = newCloudUser(core, { upn, displayName: input.displayName ?? input.name, mailNickname: alias, accountEnabled: input.type === 'UserMailbox' });
  const rec = core.newRecipient(user.id, 'user', input.type, input.name, alias, user.displayName, false);
  rec.emailAddresses = [`SMTP:${primary}`];
  if (primary.toLowerCase() !== `${alias}@${core.initialDomain}`.toLowerCase()) rec.emailAddresses.push(`smtp:${alias}@${core.initialDomain}`);
  rec.primarySmtpAddress = primary;
  rec.windowsEmailAddress = primary;
  rec.exchangeGuid = core.ids();
  rec.whenMailboxCreated = core.iso();
  core.checkAddressesUnique(rec);
  core.refreshUserMail(user, rec);
  return { ...rec };
}

/** Creates a cloud-only mail user as EXO `New-MailUser` does (with an Entra user that can sign in). */
export function createCloudMailUser(core: TenantCore, input: CloudMailUserInput): ExoRecipient {
  tick(core);
  assertNameFree(core, input.name);
  const alias = toAlias(input.alias ?? input.name);
  const external = splitProxy(input.externalEmailAddress).address;
  const primary = input.primarySmtpAddress ?? external;
  const upn = input.microsoftOnlineServicesId ?? `${alias}@${core.initialDomain}`;
  const user = newCloudUser(core, { upn, displayName: input.displayName ?? input.name, mailNickname: alias, accountEnabled: true });
  const rec = core.newRecipient(user.id, 'user', 'MailUser', input.name, alias, user.displayName, false);
  forwardTo(rec, external, primary);
  core.checkAddressesUnique(rec);
  core.refreshUserMail(user, rec);
  return { ...rec };
}

/** Creates a cloud-only mail contact (EXO `New-MailContact`). */
export function createCloudMailContact(core: TenantCore, input: CloudMailContactInput): ExoRecipient {
  tick(core);
  const alias = toAlias(input.alias ?? input.name);
  const external = splitProxy(input.externalEmailAddress).address;
  const c = newEntraContact(core.ids(), core.iso(), {
    displayName: input.displayName ?? input.name,
    mail: external,
    mailNickname: alias,
    proxyAddresses: [`SMTP:${external}`],
    onPremisesSyncEnabled: null,
    onPremisesImmutableId: null,
  });
  core.s.contacts.push(c);
  const rec = core.newRecipient(c.id, 'contact', 'MailContact', input.name, alias, c.displayName, false);
  forwardTo(rec, external, external);
  core.checkAddressesUnique(rec);
  return { ...rec };
}

/** Adds an invited guest: Entra user of type Guest and an EXO `GuestMailUser`, hidden from address lists. */
export function addGuest(core: TenantCore, input: GuestInput): EntraUser {
  tick(core);
  const local = input.mail.replace('@', '_');
  const user = newCloudUser(core, {
    upn: `${local}#EXT#@${core.initialDomain}`,
    displayName: input.displayName ?? input.mail,
    mailNickname: toAlias(local),
    accountEnabled: true,
  });
  user.userType = 'Guest';
  user.mail = input.mail;
  const rec = core.newRecipient(user.id, 'user', 'GuestMailUser', toAlias(local), toAlias(local), user.displayName, false);
  forwardTo(rec, input.mail, input.mail);
  rec.hiddenFromAddressListsEnabled = true;
  return { ...user };
}

/** Creates a cloud-only user in Entra (no mailbox until licensed). */
export function createCloudUser(core: TenantCore, input: CloudUserInput): EntraUser {
  tick(core);
  const u = newCloudUser(core, {
    upn: input.userPrincipalName,
    displayName: input.displayName,
    mailNickname: input.mailNickname ?? toAlias(input.userPrincipalName.split('@')[0] ?? 'user'),
    accountEnabled: input.accountEnabled ?? true,
  });
  if (input.usageLocation) u.usageLocation = input.usageLocation.toUpperCase();
  core.newRecipient(u.id, 'user', 'User', u.mailNickname, u.mailNickname, u.displayName, false);
  return { ...u };
}

/** Creates a cloud-only security or Microsoft 365-less group in Entra (not mail-enabled). */
export function createCloudGroup(core: TenantCore, input: CloudGroupInput): EntraGroup {
  tick(core);
  const g = newEntraGroup(core.ids(), core.iso(), {
    displayName: input.displayName,
    mailNickname: input.mailNickname ?? toAlias(input.displayName),
    securityEnabled: input.securityEnabled ?? true,
    onPremisesSyncEnabled: null,
    onPremisesImmutableId: null,
    onPremisesScope: null,
  });
  core.s.groups.push(g);
  return { ...g };
}

/**
 * Creates a cloud-only distribution group or mail-enabled security group as EXO `New-DistributionGroup` does
 * (https://learn.microsoft.com/powershell/module/exchangepowershell/new-distributiongroup): "The group's scope is
 * always Universal"; without -DisplayName the name is the display name; without -PrimarySmtpAddress the primary is
 * `alias@<default accepted domain>`. In Entra it is a mail-enabled, not synced group whose members are the given
 * Entra object ids.
 */
export function createCloudDistributionGroup(core: TenantCore, input: CloudDistributionGroupInput): ExoRecipient {
  tick(core);
  assertNameFree(core, input.name);
  const alias = toAlias(input.alias);
  const primary = input.primarySmtpAddress ?? `${alias}@${core.defaultDomain()}`;
  core.assertAcceptedDomain(primary);
  const shape = exoGroupShape(input.security);
  const g = newEntraGroup(core.ids(), core.iso(), {
    displayName: input.displayName ?? input.name,
    mailNickname: alias,
    securityEnabled: input.security,
    onPremisesSyncEnabled: null,
    onPremisesImmutableId: null,
    onPremisesScope: null,
  });
  g.mail = primary;
  g.mailEnabled = true;
  g.proxyAddresses = [`SMTP:${primary}`];
  g.memberIds = [...new Set(input.memberIds ?? [])];
  const rec = core.newRecipient(g.id, 'group', shape.RecipientTypeDetails, input.name, alias, g.displayName, false);
  rec.groupType = shape.GroupType;
  rec.emailAddresses = [`SMTP:${primary}`];
  rec.primarySmtpAddress = primary;
  rec.windowsEmailAddress = primary;
  rec.managedBy = [...(input.managedBy ?? [])];
  try {
    core.checkAddressesUnique(rec);
  } catch (err) {
    core.deleteRecipient(rec);
    throw err;
  }
  core.s.groups.push(g);
  return structuredClone(rec);
}

function newCloudUser(core: TenantCore, input: { upn: string; displayName: string; mailNickname: string; accountEnabled: boolean }): EntraUser {
  if (core.userByUpn.has(input.upn.toLowerCase())) {
    throw new ExoError('InvalidOperation', `The UserPrincipalName "${input.upn}" is already in use.`);
  }
  const u = newEntraUser(core.ids(), core.iso(), {
    userPrincipalName: input.upn,
    displayName: input.displayName,
    mailNickname: input.mailNickname,
    accountEnabled: input.accountEnabled,
    onPremisesSyncEnabled: null,
    onPremisesImmutableId: null,
    cloudManagedByDefaultAtFirstSync: false,
  });
  core.addUser(u);
  return u;
}

/** EXO's New-* refusal of a name another recipient has. */
function assertNameFree(core: TenantCore, name: string): void {
  if (core.s.recipients.some((r) => r.name.toLowerCase() === name.toLowerCase())) {
    throw new ExoError('InvalidOperation', `The name "${name}" is being used. Please choose another name.`);
  }
}
