/**
 * Mailbox permissions (Get-/Add-/Remove-MailboxPermission) and Send As (Get-/Add-/Remove-RecipientPermission):
 * Exchange Online's own data, taken on synced mailboxes as well (see `delegation.ts`).
 */
import type { EmulatorContext } from '../context';
import { ExoError } from '../errors';
import { isMailboxType, type RecipientTypeDetails } from '../rules';
import type { ExoRecipient, MailboxAce, Tenant } from '../tenant';
import { noChangeWarning } from './changes';
import { byType, matchesIdentity, notFoundObject, resolve } from './lookup';
import { bool, enumValue, list, required, str, type Cmdlet, type Params } from './params';
import { distinguishedName, userOf } from './views';

/** Mailbox rights Add-MailboxPermission takes ("AccessRights … Valid values are"); Remove-MailboxPermission also lists SendAs. */
const MAILBOX_RIGHTS = ['ChangeOwner', 'ChangePermission', 'DeleteItem', 'ExternalAccount', 'FullAccess', 'ReadPermission'];
const INHERITANCE_TYPES = ['None', 'All', 'Children', 'Descendents', 'SelfAndChildren'];
const SELF = 'NT AUTHORITY\\SELF';
/** "You can use this cmdlet to add a maximum of 500 permission entries (ACEs) to a mailbox." (Add-MailboxPermission) */
const MAX_MAILBOX_ACES = 500;
/** Who can be a trustee (SecurityPrincipalIdParameter): users with or without a mailbox, mail users, mail-enabled security groups. */
const PRINCIPAL_TYPES: RecipientTypeDetails[] = ['User', 'UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox', 'MailUser', 'GuestMailUser', 'MailUniversalSecurityGroup'];

/** A security principal named by any of its identities, `DOMAIN\sAMAccountName` included (synced users). */
function matchesPrincipal(t: Tenant, r: ExoRecipient, identity: string): boolean {
  if (matchesIdentity(t, r, identity)) return true;
  const bs = identity.lastIndexOf('\\');
  if (bs <= 0) return false;
  const sam = userOf(t, r)?.onPremisesSamAccountName;
  return sam !== null && sam !== undefined && sam.toLowerCase() === identity.slice(bs + 1).trim().toLowerCase();
}

/** The trustee a -User / -Trustee parameter names; anything that is not a security principal is refused. */
function securityPrincipal(ctx: EmulatorContext, identity: string, parameter: string): ExoRecipient {
  const hits = ctx.tenant.recipients().filter((r) => matchesPrincipal(ctx.tenant, r, identity));
  if (hits.length === 0) throw notFoundObject(identity);
  if (hits.length > 1) throw new ExoError('Ambiguous', `The operation couldn't be performed because '${identity}' matches multiple entries.`);
  const r = hits[0]!;
  if (!PRINCIPAL_TYPES.includes(r.recipientTypeDetails)) {
    throw new ExoError(
      'Argument',
      `"${r.name}" is a ${r.recipientTypeDetails}, not a security principal: -${parameter} takes a user, a mail user or a mail-enabled security group. Nothing was changed.`,
    );
  }
  return r;
}

/** How a trustee shows in Get-MailboxPermission's User and Get-RecipientPermission's Trustee: a user's UPN, else its name. */
function principalName(t: Tenant, entraId: string): string | null {
  const u = t.userById(entraId);
  if (u) return u.userPrincipalName;
  return t.recipientOf(entraId)?.name ?? null;
}

/** Exchange's warning when Remove-*Permission finds nothing to remove (quoted in TechNet Wiki 31321, "The ACE doesn't exist on the object"). */
function aceMissingWarning(t: Tenant, r: ExoRecipient, trustee: ExoRecipient): string {
  return `Can't remove the access control entry on the object "${distinguishedName(t, r)}" for account "${principalName(t, trustee.externalDirectoryObjectId) ?? trustee.name}" because the ACE doesn't exist on the object.`;
}

function mailboxPermissionRow(t: Tenant, r: ExoRecipient, ace: MailboxAce): Record<string, unknown> | null {
  const user = principalName(t, ace.trusteeId);
  if (user === null) return null; // the trustee is gone: an unresolved SID, which Exchange hides by default
  return { Identity: r.name, User: user, AccessRights: [...ace.accessRights], IsInherited: false, Deny: ace.deny, InheritanceType: ace.inheritanceType, IsValid: true, ObjectState: 'Unchanged' };
}

/** Get-MailboxPermission's rows: the owner's own entry (NT AUTHORITY\SELF) for a mailbox, then the entries added. */
function mailboxPermissionRows(t: Tenant, r: ExoRecipient): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  if (isMailboxType(r.recipientTypeDetails)) {
    rows.push({ Identity: r.name, User: SELF, AccessRights: ['FullAccess', 'ReadPermission'], IsInherited: false, Deny: false, InheritanceType: 'All', IsValid: true, ObjectState: 'Unchanged' });
  }
  for (const ace of r.mailboxPermissions ?? []) {
    const row = mailboxPermissionRow(t, r, ace);
    if (row) rows.push(row);
  }
  return rows;
}

function recipientPermissionRow(r: ExoRecipient, trustee: string): Record<string, unknown> {
  return { Identity: r.name, Trustee: trustee, AccessControlType: 'Allow', AccessRights: ['SendAs'], IsInherited: false, InheritanceType: 'None', IsValid: true, ObjectState: 'Unchanged' };
}

/** Get-RecipientPermission's rows for a recipient: SELF's Send As on a mailbox, then the trustees added. */
function recipientPermissionRows(t: Tenant, r: ExoRecipient): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = isMailboxType(r.recipientTypeDetails) ? [recipientPermissionRow(r, SELF)] : [];
  for (const id of r.sendAs ?? []) {
    const name = principalName(t, id);
    if (name !== null) rows.push(recipientPermissionRow(r, name));
  }
  return rows;
}

function accessRightsList(p: Params, cmdlet: string, valid: readonly string[]): string[] {
  const raw = list(p.get('AccessRights'));
  if (raw.length === 0) throw new ExoError('ParameterBinding', `Cannot process command because of one or more missing mandatory parameters: AccessRights. (${cmdlet})`);
  return [...new Set(raw.map((v) => enumValue('AccessRights', v, valid, 'Microsoft.Exchange.Management.RecipientTasks.MailboxRights')))];
}

function sendAsRights(p: Params, cmdlet: string): void {
  const raw = list(p.get('AccessRights'));
  if (raw.length === 0) throw new ExoError('ParameterBinding', `Cannot process command because of one or more missing mandatory parameters: AccessRights. (${cmdlet})`);
  for (const v of raw) {
    if (v.trim().toLowerCase() !== 'sendas') {
      throw new ExoError('ParameterBinding', `Cannot bind parameter 'AccessRights': "${v}" is not valid. The only valid value for this parameter is SendAs. Nothing was changed.`);
    }
  }
}

function refuseUnsimulated(p: Params, parameters: string[], cmdlet: string): void {
  for (const name of parameters) {
    if (p.has(name)) {
      throw new ExoError('Argument', `${cmdlet} -${name} is valid in Exchange Online, but the Mailroom sandbox does not simulate it (no Microsoft 365 groups, owners or soft-deleted mailboxes). Nothing was changed.`);
    }
  }
}

const PERMISSION_TARGETS: RecipientTypeDetails[] = ['UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox', 'MailUser'];

const getMailboxPermission: Cmdlet = {
  parameters: ['Identity', 'User', 'Owner', 'ResultSize', 'IncludeUnresolvedPermissions', 'ReadFromDomainController', 'GroupMailbox', 'SoftDeletedMailbox'],
  run: (ctx, p) => {
    refuseUnsimulated(p, ['Owner', 'GroupMailbox', 'SoftDeletedMailbox'], 'Get-MailboxPermission');
    const t = ctx.tenant;
    const r = resolve(ctx, byType(t, PERMISSION_TARGETS), required(p, 'Identity', 'Get-MailboxPermission'));
    let rows = mailboxPermissionRows(t, r);
    const user = str(p, 'User');
    if (user !== undefined) {
      const trustee = securityPrincipal(ctx, user, 'User');
      const name = principalName(t, trustee.externalDirectoryObjectId);
      rows = rows.filter((row) => row.User === name);
    }
    return { values: rows, warnings: [] };
  },
};

const addMailboxPermission: Cmdlet = {
  parameters: ['Identity', 'User', 'AccessRights', 'AutoMapping', 'Deny', 'InheritanceType', 'Owner', 'GroupMailbox', 'IgnoreDefaultScope'],
  run: (ctx, p) => {
    const cmdlet = 'Add-MailboxPermission';
    refuseUnsimulated(p, ['Owner', 'GroupMailbox'], cmdlet);
    const t = ctx.tenant;
    const r = resolve(ctx, byType(t, PERMISSION_TARGETS), required(p, 'Identity', cmdlet));
    if (list(p.get('AccessRights')).some((v) => v.trim().toLowerCase() === 'sendas')) {
      throw new ExoError('Argument', 'Exchange Online grants Send As with Add-RecipientPermission -AccessRights SendAs, not with Add-MailboxPermission. Nothing was changed.');
    }
    const rights = accessRightsList(p, cmdlet, MAILBOX_RIGHTS);
    const trustee = securityPrincipal(ctx, required(p, 'User', cmdlet), 'User');
    const deny = bool(p, 'Deny') === true;
    const inheritance = enumValue('InheritanceType', str(p, 'InheritanceType') ?? 'All', INHERITANCE_TYPES, 'System.DirectoryServices.ActiveDirectorySecurityInheritance');
    const autoMapping = bool(p, 'AutoMapping') ?? true;
    const aces = structuredClone(r.mailboxPermissions ?? []);
    const id = trustee.externalDirectoryObjectId;
    let ace = aces.find((a) => a.trusteeId === id && a.deny === deny);
    const added = rights.filter((x) => !(ace?.accessRights ?? []).includes(x));
    if (added.length === 0) {
      // Granting what the trustee already has changes nothing and is no error (the sandbox's wording).
      return { values: [mailboxPermissionRow(t, r, ace!)!], warnings: [`${principalName(t, id)} already has ${rights.join(', ')} on "${r.name}"${deny ? ' (deny)' : ''}; nothing was changed.`] };
    }
    if (!ace) {
      if (aces.length >= MAX_MAILBOX_ACES) {
        // The limit's error as Exchange Online reports it (quoted in "Exchange Online max ACL limit", thextrabit.com).
        throw new ExoError('InvalidOperation', `The mailbox ${r.exchangeGuid} has reached the limit of maximum allowed access control entries of ${MAX_MAILBOX_ACES}. Clean existing entries and rearrange them leveraging groups for assigning the same permissions to multiple users.`);
      }
      ace = { trusteeId: id, accessRights: [], deny, inheritanceType: inheritance, autoMapping };
      aces.push(ace);
    }
    ace.accessRights.push(...added);
    // Auto-mapping is set when FullAccess is granted; changing it needs a remove and a new grant (the AutoMapping note).
    if (added.includes('FullAccess')) ace.autoMapping = autoMapping && trustee.recipientTypeDetails !== 'MailUniversalSecurityGroup';
    t.updateRecipient(r.guid, { mailboxPermissions: aces });
    return { values: [mailboxPermissionRow(t, r, ace)!], warnings: [] };
  },
};

const removeMailboxPermission: Cmdlet = {
  parameters: ['Identity', 'User', 'AccessRights', 'Deny', 'InheritanceType', 'BypassMasterAccountSid', 'ClearAutoMapping', 'ResetDefault', 'GroupMailbox', 'SoftDeletedMailbox', 'IgnoreDefaultScope'],
  run: (ctx, p) => {
    const cmdlet = 'Remove-MailboxPermission';
    refuseUnsimulated(p, ['GroupMailbox', 'SoftDeletedMailbox'], cmdlet);
    const t = ctx.tenant;
    const r = resolve(ctx, byType(t, PERMISSION_TARGETS), required(p, 'Identity', cmdlet));
    const aces = structuredClone(r.mailboxPermissions ?? []);
    if (bool(p, 'ResetDefault') === true || bool(p, 'ClearAutoMapping') === true) {
      if (p.has('User') || p.has('AccessRights')) {
        throw new ExoError('ParameterBinding', 'Parameter set cannot be resolved using the specified named parameters: ResetDefault and ClearAutoMapping do not take User or AccessRights. Nothing was changed.');
      }
      // ResetDefault: "only the mailbox owner has Full Access"; ClearAutoMapping: "exclude this mailbox from auto-mapping for all users".
      const next = bool(p, 'ResetDefault') === true ? [] : aces.map((a) => ({ ...a, autoMapping: false }));
      const changed = t.updateRecipient(r.guid, { mailboxPermissions: next });
      return { values: [], warnings: changed ? [] : [noChangeWarning(r)] };
    }
    const rights = accessRightsList(p, cmdlet, [...MAILBOX_RIGHTS, 'SendAs']);
    const trustee = securityPrincipal(ctx, required(p, 'User', cmdlet), 'User');
    const deny = bool(p, 'Deny') === true;
    if (p.has('InheritanceType')) enumValue('InheritanceType', str(p, 'InheritanceType') ?? '', INHERITANCE_TYPES, 'System.DirectoryServices.ActiveDirectorySecurityInheritance');
    const ace = aces.find((a) => a.trusteeId === trustee.externalDirectoryObjectId && a.deny === deny);
    if (!ace || !rights.some((x) => ace.accessRights.includes(x))) return { values: [], warnings: [aceMissingWarning(t, r, trustee)] };
    ace.accessRights = ace.accessRights.filter((x) => !rights.includes(x));
    t.updateRecipient(r.guid, { mailboxPermissions: aces.filter((a) => a.accessRights.length > 0) });
    return { values: [], warnings: [] };
  },
};

const getRecipientPermission: Cmdlet = {
  parameters: ['Identity', 'Trustee', 'AccessRights', 'ResultSize', 'ReadFromDomainController'],
  run: (ctx, p) => {
    const t = ctx.tenant;
    const identity = str(p, 'Identity');
    const targets = t.recipients().filter((r) => r.recipientTypeDetails !== 'User');
    const scope = identity !== undefined ? [resolve(ctx, targets, identity)] : targets;
    if (p.has('AccessRights')) sendAsRights(p, 'Get-RecipientPermission');
    let rows = scope.flatMap((r) => recipientPermissionRows(t, r));
    const trusteeId = str(p, 'Trustee');
    if (trusteeId !== undefined) {
      const trustee = securityPrincipal(ctx, trusteeId, 'Trustee');
      const name = principalName(t, trustee.externalDirectoryObjectId);
      rows = rows.filter((row) => row.Trustee === name);
    }
    const size = str(p, 'ResultSize');
    if (size !== undefined && size.toLowerCase() !== 'unlimited') {
      const n = Number(size);
      if (!Number.isInteger(n) || n < 0) {
        throw new ExoError('ParameterBinding', `Cannot process argument transformation on parameter 'ResultSize'. Cannot convert value "${size}" to type "Microsoft.Exchange.Data.Unlimited\`1[System.UInt32]".`);
      }
      rows = rows.slice(0, n);
    }
    return { values: rows, warnings: [] };
  },
};

function recipientPermissionChange(cmdlet: 'Add-RecipientPermission' | 'Remove-RecipientPermission'): Cmdlet {
  return {
    parameters: ['Identity', 'Trustee', 'AccessRights', 'Deny'],
    run: (ctx, p) => {
      const t = ctx.tenant;
      const r = resolve(ctx, t.recipients().filter((x) => x.recipientTypeDetails !== 'User'), required(p, 'Identity', cmdlet));
      sendAsRights(p, cmdlet);
      if (p.has('Deny')) throw new ExoError('ParameterBinding', "A parameter cannot be found that matches parameter name 'Deny'.");
      const trustee = securityPrincipal(ctx, required(p, 'Trustee', cmdlet), 'Trustee');
      const id = trustee.externalDirectoryObjectId;
      const current = r.sendAs ?? [];
      const name = principalName(t, id) ?? trustee.name;
      if (cmdlet === 'Add-RecipientPermission') {
        if (current.includes(id)) {
          // Already there: nothing changes and it is no error (the sandbox's wording).
          return { values: [recipientPermissionRow(r, name)], warnings: [`${name} already has SendAs on "${r.name}"; nothing was changed.`] };
        }
        t.updateRecipient(r.guid, { sendAs: [...current, id] });
        return { values: [recipientPermissionRow(r, name)], warnings: [] };
      }
      if (!current.includes(id)) return { values: [], warnings: [aceMissingWarning(t, r, trustee)] };
      t.updateRecipient(r.guid, { sendAs: current.filter((x) => x !== id) });
      return { values: [], warnings: [] };
    },
  };
}

/** The permission cmdlets. */
export const PERMISSION_CMDLETS: Record<string, Cmdlet> = {
  'Get-MailboxPermission': getMailboxPermission,
  'Add-MailboxPermission': addMailboxPermission,
  'Remove-MailboxPermission': removeMailboxPermission,
  'Get-RecipientPermission': getRecipientPermission,
  'Add-RecipientPermission': recipientPermissionChange('Add-RecipientPermission'),
  'Remove-RecipientPermission': recipientPermissionChange('Remove-RecipientPermission'),
};
