/**
 * The distribution group cmdlets: Get-DistributionGroup, Get-Group, Get-DistributionGroupMember, New-/Set-/Remove-
 * DistributionGroup and Add-/Remove-DistributionGroupMember. Synced groups are managed in AD and refuse every write.
 */
import type { EmulatorContext } from '../context';
import { ExoError } from '../errors';
import { isMailboxType, writeScopeMessage } from '../rules';
import type { ExoRecipient } from '../tenant';
import { ADDRESS_PARAMETERS, commonChanges, noChangeWarning, refuse } from './changes';
import { byType, GET, GROUPS, matchesIdentity, query, resolve, viewOfType } from './lookup';
import { bool, list, required, str, type Caller, type Cmdlet, type Params } from './params';
import { getGroupProps, groupProps, recipientProps } from './views';

/** The default alias of a group: "The value of the Name parameter is used. Spaces are removed and unsupported characters are converted to question marks (?)." */
function aliasFromName(name: string): string {
  return name.replace(/\s+/g, '').replace(/[^A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.\u00A1-\u00FF]/g, '?');
}

/**
 * Refuses a change of a group by a caller that is not one of its managers, without -BypassSecurityGroupManagerCheck
 * ("If you aren't defined in the ManagedBy property of the group, you need to use this switch in commands that modify
 * or delete the group"). An app is never a manager: ManagedBy lists mailboxes, mail users and mail-enabled security
 * groups. The switch itself needs the roles `mayBypassGroupManagerCheck` (exo-authz.ts) names; RBAC hides it otherwise.
 */
function assertGroupManager(p: Params, caller: Caller): void {
  const bypass = bool(p, 'BypassSecurityGroupManagerCheck') === true;
  if (bypass && !caller.mayBypassGroupManagerCheck) {
    throw new ExoError('ParameterBinding', "A parameter cannot be found that matches parameter name 'BypassSecurityGroupManagerCheck'.");
  }
  if (!bypass) {
    throw new ExoError('GroupManager', "You don't have sufficient permissions. This operation can only be performed by a manager of the group.");
  }
}

/** A recipient named as a group member ("the recipients (mail-enabled objects) that are members of the group"). */
function groupMember(ctx: EmulatorContext, identity: string): ExoRecipient {
  const candidates = ctx.tenant.recipients().filter((r) => r.recipientTypeDetails !== 'User');
  const hits = candidates.filter((r) => matchesIdentity(ctx.tenant, r, identity));
  if (hits.length === 0) {
    throw new ExoError('NotFound', `Couldn't find object "${identity}". Please make sure that it was spelled correctly or specify a different object.`);
  }
  if (hits.length > 1) throw new ExoError('Ambiguous', `The operation couldn't be performed because '${identity}' matches multiple entries.`);
  return hits[0]!;
}

/** A group owner: "must be a mailbox, mail user or mail-enabled security group". */
function groupOwner(ctx: EmulatorContext, identity: string): ExoRecipient {
  const r = groupMember(ctx, identity);
  if (!isMailboxType(r.recipientTypeDetails) && r.recipientTypeDetails !== 'MailUser' && r.recipientTypeDetails !== 'MailUniversalSecurityGroup') {
    throw new ExoError('Argument', `"${r.name}" can't be an owner of the group: an owner must be a mailbox, mail user or mail-enabled security group.`);
  }
  return r;
}

/** Add-/Remove-DistributionGroupMember -Identity <group> -Member <recipient>: cloud groups only; synced ones are managed in AD. */
function groupMembership(cmdlet: 'Add-DistributionGroupMember' | 'Remove-DistributionGroupMember'): Cmdlet {
  return {
    parameters: ['Identity', 'Member', 'BypassSecurityGroupManagerCheck'],
    run: (ctx, p, caller) => {
      const t = ctx.tenant;
      const g = resolve(ctx, byType(t, GROUPS), required(p, 'Identity', cmdlet));
      const m = groupMember(ctx, required(p, 'Member', cmdlet));
      assertGroupManager(p, caller);
      if (g.isDirSynced) throw new ExoError('WriteScope', writeScopeMessage(cmdlet, 'Members', g.name, false));
      const isMember = t.groupMembers(g.externalDirectoryObjectId).some((o) => o.obj.id === m.externalDirectoryObjectId);
      if (cmdlet === 'Add-DistributionGroupMember') {
        if (isMember) throw new ExoError('MemberExists', `The recipient "${m.name}" is already a member of the group "${g.name}".`);
        t.addGroupMember(g.externalDirectoryObjectId, m.externalDirectoryObjectId, 'exchange');
      } else {
        if (!isMember) throw new ExoError('NotMember', `The recipient "${m.name}" isn't a member of the group "${g.name}".`);
        t.removeGroupMember(g.externalDirectoryObjectId, m.externalDirectoryObjectId, 'exchange');
      }
      return { values: [], warnings: [] };
    },
  };
}

/** The distribution group cmdlets. */
export const GROUP_CMDLETS: Record<string, Cmdlet> = {
  'Get-DistributionGroup': { parameters: GET, run: (ctx, p) => query(ctx, p, viewOfType(ctx.tenant, GROUPS), groupProps, 'Get-DistributionGroup') },
  'Get-Group': { parameters: GET, run: (ctx, p) => query(ctx, p, viewOfType(ctx.tenant, GROUPS), getGroupProps, 'Get-Group') },
  'Get-DistributionGroupMember': {
    parameters: ['Identity', 'ResultSize'],
    run: (ctx, p) => {
      const g = resolve(ctx, byType(ctx.tenant, GROUPS), required(p, 'Identity', 'Get-DistributionGroupMember'));
      const members = ctx.tenant
        .groupMembers(g.externalDirectoryObjectId)
        .map((m) => ctx.tenant.recipientOf(m.obj.id))
        .filter((r): r is ExoRecipient => r !== undefined && r.recipientTypeDetails !== 'User')
        .map((r) => recipientProps(ctx.tenant, r));
      return { values: members, warnings: [] };
    },
  },
  'New-DistributionGroup': {
    parameters: ['Name', 'Alias', 'DisplayName', 'PrimarySmtpAddress', 'Type', 'Members', 'ManagedBy', 'CopyOwnerToMember', 'Notes', 'IgnoreNamingPolicy', 'MemberJoinRestriction', 'MemberDepartRestriction', 'RequireSenderAuthenticationEnabled'],
    run: (ctx, p) => {
      const t = ctx.tenant;
      const name = required(p, 'Name', 'New-DistributionGroup');
      const type = str(p, 'Type') ?? 'Distribution';
      if (!['distribution', 'security'].includes(type.toLowerCase())) {
        throw new ExoError('ParameterBinding', `Cannot process argument transformation on parameter 'Type'. Cannot convert value "${type}" to type "Microsoft.Exchange.Data.Directory.Recipient.GroupType".`);
      }
      const owners = list(p.get('ManagedBy')).map((o) => groupOwner(ctx, o));
      const members = list(p.get('Members')).map((m) => groupMember(ctx, m));
      if (bool(p, 'CopyOwnerToMember') === true) members.push(...owners);
      const rec = t.createCloudDistributionGroup({
        name,
        alias: str(p, 'Alias') ?? aliasFromName(name),
        displayName: str(p, 'DisplayName'),
        primarySmtpAddress: str(p, 'PrimarySmtpAddress'),
        security: type.toLowerCase() === 'security',
        managedBy: owners.map((o) => o.name),
        memberIds: members.map((m) => m.externalDirectoryObjectId),
      });
      return { values: [groupProps(t, rec)], warnings: [] };
    },
  },
  'Set-DistributionGroup': {
    parameters: ['Identity', 'ManagedBy', 'BypassSecurityGroupManagerCheck', 'RequireSenderAuthenticationEnabled', ...ADDRESS_PARAMETERS],
    run: (ctx, p, caller) => {
      const t = ctx.tenant;
      const r = resolve(ctx, byType(t, GROUPS), required(p, 'Identity', 'Set-DistributionGroup'));
      assertGroupManager(p, caller);
      if (p.has('EmailAddresses') && p.has('PrimarySmtpAddress')) {
        // Set-DistributionGroup's page: "You can't use the EmailAddresses and PrimarySmtpAddress parameters in the same command."
        throw new ExoError('Argument', "The EmailAddresses and PrimarySmtpAddress parameters can't be used in the same command.");
      }
      refuse('Set-DistributionGroup', r, [...p.keys()].filter((k) => k !== 'Identity' && k !== 'BypassSecurityGroupManagerCheck'));
      const change = commonChanges(p, r);
      if (p.has('ManagedBy')) change.managedBy = list(p.get('ManagedBy')).map((o) => groupOwner(ctx, o).name);
      const changed = t.updateRecipient(r.guid, change);
      return { values: [], warnings: changed ? [] : [noChangeWarning(r)] };
    },
  },
  'Remove-DistributionGroup': {
    parameters: ['Identity', 'BypassSecurityGroupManagerCheck'],
    run: (ctx, p, caller) => {
      const r = resolve(ctx, byType(ctx.tenant, GROUPS), required(p, 'Identity', 'Remove-DistributionGroup'));
      assertGroupManager(p, caller);
      if (r.isDirSynced) throw new ExoError('WriteScope', writeScopeMessage('Remove-DistributionGroup', 'Identity', r.name, false));
      ctx.tenant.removeCloudRecipient(r.guid);
      return { values: [], warnings: [] };
    },
  },
  'Add-DistributionGroupMember': groupMembership('Add-DistributionGroupMember'),
  'Remove-DistributionGroupMember': groupMembership('Remove-DistributionGroupMember'),
};
