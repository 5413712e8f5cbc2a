/**
 * The Exchange Online steps for mailbox permissions and the members of cloud-only groups:
 *
 * - `exo.grantMailboxPermission` / `exo.revokeMailboxPermission`: FullAccess (Add-/Remove-MailboxPermission
 *   -AccessRights FullAccess -InheritanceType All, -AutoMapping on a grant), SendAs (Add-/Remove-RecipientPermission
 *   -AccessRights SendAs) and SendOnBehalf (Set-Mailbox -GrantSendOnBehalfTo @{Add=…}/@{Remove=…});
 * - `exo.addGroupMember` / `exo.removeGroupMember`: Add-/Remove-DistributionGroupMember.
 *
 * Each looks first (Get-MailboxPermission -User, Get-RecipientPermission -Trustee, Get-Mailbox, Get-DistributionGroupMember),
 * writes only when the state differs, and reads back (read-back.ts). `changed: false` means the user already held
 * (or did not hold) the permission before the request, so a roll back leaves it as it was. A try after a crash that
 * finds the change made, with the intent an earlier try recorded before writing, reports `changedByEarlierTry: true`.
 */
import type { MailboxPermissionInput, StepInputs } from '../../plans';
import { permissionWords } from '../../requests/kinds';
import { bareAddress } from './cloud-compare';
import { exoFailure, permanent, type Doing } from './cloud-errors';
import type { ExchangePort, RecipientRow } from './exchange-port';
import type { ReadBack } from './read-back';
import type { StepContext, StepExecutor, StepOutcome, StepResult } from './types';

const EXO = 'Exchange Online';

/** A row of Get-MailboxPermission or Get-RecipientPermission, as far as Mailroom reads it. */
interface PermissionRow {
  Identity?: string;
  User?: string;
  Trustee?: string;
  AccessRights?: string[] | string;
  AccessControlType?: string;
  IsInherited?: boolean;
  Deny?: boolean;
}

const MAILBOX_TYPES = ['UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox', 'LinkedMailbox', 'SchedulingMailbox'];
const GROUP_TYPES = ['MailUniversalDistributionGroup', 'MailUniversalSecurityGroup', 'MailNonUniversalGroup', 'RoomList'];

const norm = (v: string): string => bareAddress(v.trim()).toLowerCase();

/** `DOMAIN\name` → `name` (how on-premises-style principals can show). */
const withoutDomain = (v: string): string => (v.includes('\\') ? v.slice(v.lastIndexOf('\\') + 1) : v);

/** The names a principal may show as in Exchange's output. */
class PrincipalKeys {
  private readonly keys = new Set<string>();

  constructor(values: readonly (string | null | undefined)[]) {
    this.add(values);
  }

  add(values: readonly (string | null | undefined)[]): void {
    for (const v of values) if (typeof v === 'string' && v.trim() !== '') this.keys.add(norm(v));
  }

  addRow(row: RecipientRow & { DisplayName?: string; WindowsLiveID?: string; DistinguishedName?: string }): void {
    this.add([row.Identity, row.Name, row.DisplayName, row.Alias, row.PrimarySmtpAddress, row.UserPrincipalName, row.WindowsLiveID, row.ExchangeObjectId, row.Guid, row.ExternalDirectoryObjectId, row.DistinguishedName]);
    this.add((row.EmailAddresses ?? []).filter((p) => /^smtp:/i.test(p)));
  }

  matches(shown: string | null | undefined): boolean {
    if (typeof shown !== 'string' || shown.trim() === '') return false;
    return this.keys.has(norm(shown)) || this.keys.has(norm(withoutDomain(shown)));
  }
}

const rightsOf = (row: PermissionRow): string[] => (Array.isArray(row.AccessRights) ? row.AccessRights : typeof row.AccessRights === 'string' ? row.AccessRights.split(/[,\s]+/) : []).map((r) => r.toLowerCase());

class ExchangeAccess {
  constructor(
    private readonly exo: ExchangePort,
    readonly readBack: ReadBack,
  ) {}

  async rows<T>(cmdlet: string, parameters: Record<string, unknown>, doing: Doing): Promise<T[]> {
    try {
      return (await this.exo.invoke<T>(cmdlet, parameters)).value;
    } catch (err) {
      throw exoFailure(err, doing);
    }
  }

  async one(cmdlet: 'Get-Mailbox' | 'Get-Recipient', identity: string, doing: Doing): Promise<RecipientRow & { GrantSendOnBehalfTo?: string[] | null }> {
    const row = (await this.rows<RecipientRow & { GrantSendOnBehalfTo?: string[] | null }>(cmdlet, { Identity: identity }, doing))[0];
    if (!row) {
      throw permanent(`Mailroom could not ${doing.what}: Exchange Online has no ${doing.subject}. ${doing.unchanged} ${doing.notFoundAdvice ?? 'Check the address, then press Retry.'}`, { ...doing.detail, identity });
    }
    return row;
  }

  async write(cmdlet: string, parameters: Record<string, unknown>, doing: Doing): Promise<void> {
    const all = cmdlet.endsWith('-DistributionGroupMember') ? { ...parameters, BypassSecurityGroupManagerCheck: true } : parameters;
    try {
      await this.exo.invoke(cmdlet, all);
    } catch (err) {
      throw exoFailure(err, doing);
    }
  }
}

const stable = (row: RecipientRow, fallback: string): string => row.ExchangeObjectId || row.Guid || fallback;

/** Where the mailbox and the user are, and the names the user may show as. */
async function parties(x: ExchangeAccess, input: MailboxPermissionInput, doing: Doing, userDoing: Doing): Promise<{ mailboxId: string; userId: string; keys: PrincipalKeys }> {
  const mailbox = await x.one('Get-Mailbox', input.identity, doing);
  const type = mailbox.RecipientTypeDetails ?? '';
  if (type !== '' && !MAILBOX_TYPES.includes(type)) {
    throw permanent(`${input.mailboxName} is now a ${type}, not a mailbox, so it has no mailbox permissions. ${doing.unchanged} Check it in the Exchange admin centre.`, { ...doing.detail, recipientTypeDetails: type });
  }
  const user = await x.one('Get-Recipient', input.user, userDoing);
  const keys = new PrincipalKeys([input.user, input.userName, ...(input.userKeys ?? [])]);
  keys.addRow(user);
  return { mailboxId: stable(mailbox, input.identity), userId: stable(user, input.user), keys };
}

/** Whether the user holds the permission directly (not inherited, not a deny). */
async function holds(x: ExchangeAccess, input: MailboxPermissionInput, mailboxId: string, userId: string, keys: PrincipalKeys, doing: Doing): Promise<boolean> {
  switch (input.permission) {
    case 'FullAccess': {
      const rows = await x.rows<PermissionRow>('Get-MailboxPermission', { Identity: mailboxId, User: userId }, doing);
      return rows.some((r) => r.Deny !== true && r.IsInherited !== true && rightsOf(r).includes('fullaccess') && keys.matches(r.User));
    }
    case 'SendAs': {
      const rows = await x.rows<PermissionRow>('Get-RecipientPermission', { Identity: mailboxId, Trustee: userId, AccessRights: 'SendAs' }, doing);
      return rows.some((r) => (r.AccessControlType ?? 'Allow').toLowerCase() !== 'deny' && r.IsInherited !== true && rightsOf(r).includes('sendas') && keys.matches(r.Trustee));
    }
    case 'SendOnBehalf': {
      const mailbox = await x.one('Get-Mailbox', mailboxId, doing);
      return (mailbox.GrantSendOnBehalfTo ?? []).some((d) => keys.matches(d));
    }
  }
}

function writeOf(input: MailboxPermissionInput, grant: boolean, mailboxId: string, userId: string): { cmdlet: string; parameters: Record<string, unknown>; text: string } {
  switch (input.permission) {
    case 'FullAccess': {
      const base = { Identity: mailboxId, User: userId, AccessRights: ['FullAccess'], InheritanceType: 'All' };
      if (grant) {
        const autoMapping = input.autoMapping ?? true;
        return { cmdlet: 'Add-MailboxPermission', parameters: { ...base, AutoMapping: autoMapping }, text: `Add-MailboxPermission -AccessRights FullAccess -AutoMapping $${String(autoMapping)}` };
      }
      return { cmdlet: 'Remove-MailboxPermission', parameters: base, text: 'Remove-MailboxPermission -AccessRights FullAccess' };
    }
    case 'SendAs': {
      const cmdlet = grant ? 'Add-RecipientPermission' : 'Remove-RecipientPermission';
      return { cmdlet, parameters: { Identity: mailboxId, Trustee: userId, AccessRights: ['SendAs'] }, text: `${cmdlet} -AccessRights SendAs` };
    }
    case 'SendOnBehalf': {
      const change = { '@odata.type': '#Exchange.GenericHashTable', [grant ? 'Add' : 'Remove']: [userId] };
      return { cmdlet: 'Set-Mailbox', parameters: { Identity: mailboxId, GrantSendOnBehalfTo: change }, text: `Set-Mailbox -GrantSendOnBehalfTo @{${grant ? 'Add' : 'Remove'}=${userId}}` };
    }
  }
}

function permissionStep(x: ExchangeAccess, grant: boolean): StepExecutor<'exo.grantMailboxPermission' | 'exo.revokeMailboxPermission'> {
  const action = grant ? 'exo.grantMailboxPermission' : 'exo.revokeMailboxPermission';
  return {
    action,
    async run(input: MailboxPermissionInput, ctx: StepContext): Promise<StepOutcome> {
      const words = permissionWords(input.permission);
      const what = grant ? `give ${input.userName} ${words} on ${input.mailboxName}` : `take ${words} on ${input.mailboxName} away from ${input.userName}`;
      const detail: StepResult = { identity: input.identity, user: input.user, permission: input.permission };
      const unchanged = 'The permissions were not changed.';
      const doing: Doing = { what, unchanged, subject: `mailbox ${input.mailboxName} (${input.identity})`, notFoundAdvice: 'Check the mailbox (it may have been removed since the request was made), then press Retry.', detail };
      const userDoing: Doing = { what, unchanged, subject: `recipient ${input.userName} (${input.user})`, notFoundAdvice: 'Check the user (they may have been removed since the request was made), then press Retry.', detail };
      const { mailboxId, userId, keys } = await parties(x, input, doing, userDoing);
      const facts: StepResult = { ...detail, mailboxId, userId, ...(grant && input.permission === 'FullAccess' ? { autoMapping: input.autoMapping ?? true } : {}) };
      const before = await holds(x, input, mailboxId, userId, keys, doing);
      if (before === grant) {
        // Already as wanted: before this request (no intent), or made by an earlier try that crashed before its outcome.
        const byEarlierTry = ctx.intent !== undefined;
        return { kind: 'done', changed: false, result: { ...facts, held: grant, hadBefore: byEarlierTry ? !grant : grant, ...(byEarlierTry ? { changedByEarlierTry: true } : {}) } };
      }
      await ctx.intend?.({ ...facts, about: grant ? 'grant' : 'revoke' });
      const w = writeOf(input, grant, mailboxId, userId);
      await x.write(w.cmdlet, w.parameters, doing);
      const check = await x.readBack.confirm(() => holds(x, input, mailboxId, userId, keys, doing), (h) => h === grant);
      if (!check.ok) {
        throw x.readBack.notTaken(ctx, EXO, w.text, grant ? `no ${words} for ${input.userName}` : `${words} for ${input.userName} still`,
          'Check the mailbox\'s permissions in the Exchange admin centre (Mailboxes, the mailbox, Delegation).', { ...facts, cmdlet: w.cmdlet });
      }
      ctx.log.info(grant ? 'exo: permission granted' : 'exo: permission revoked', { reference: ctx.reference, identity: input.identity, user: input.user, permission: input.permission });
      return { kind: 'done', changed: true, result: { ...facts, held: grant, hadBefore: !grant, cmdlet: w.cmdlet } };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Members of cloud-only groups
// ---------------------------------------------------------------------------------------------

function memberStep(x: ExchangeAccess, add: boolean): StepExecutor<'exo.addGroupMember' | 'exo.removeGroupMember'> {
  const action = add ? 'exo.addGroupMember' : 'exo.removeGroupMember';
  return {
    action,
    async run(input: StepInputs['exo.addGroupMember'], ctx: StepContext): Promise<StepOutcome> {
      const what = add ? `add ${input.memberName} to the group ${input.groupName}` : `remove ${input.memberName} from the group ${input.groupName}`;
      const detail: StepResult = { identity: input.identity, member: input.member };
      const unchanged = 'The members were not changed.';
      const doing: Doing = { what, unchanged, subject: `group ${input.groupName} (${input.identity})`, notFoundAdvice: 'Check the group (it may have been removed since the request was made), then press Retry.', detail };
      const memberDoing: Doing = { what, unchanged, subject: `recipient ${input.memberName} (${input.member})`, notFoundAdvice: 'Check the member (it may have been removed since the request was made), then press Retry.', detail };
      const group = await x.one('Get-Recipient', input.identity, doing);
      const type = group.RecipientTypeDetails ?? '';
      if (type !== '' && !GROUP_TYPES.includes(type)) {
        throw permanent(`${input.groupName} is now a ${type}, not a distribution or mail-enabled security group. ${unchanged} Check it in the Exchange admin centre.`, { ...detail, recipientTypeDetails: type });
      }
      if (group.IsDirSynced === true) {
        throw permanent(`${input.groupName} is now synced from AD, so its members are changed in AD, not in Exchange Online. ${unchanged} Make the request again: Mailroom then plans the change in AD.`, detail);
      }
      const groupId = stable(group, input.identity);
      const member = await x.one('Get-Recipient', input.member, memberDoing);
      const memberId = stable(member, input.member);
      const keys = new PrincipalKeys([input.member, input.memberName, ...(input.memberKeys ?? [])]);
      keys.addRow(member);
      const isMember = async (): Promise<boolean> =>
        (await x.rows<RecipientRow & { DistinguishedName?: string }>('Get-DistributionGroupMember', { Identity: groupId, ResultSize: 'Unlimited' }, doing)).some(
          (r) => (memberId !== '' && [r.ExchangeObjectId, r.Guid, r.ExternalDirectoryObjectId].some((id) => typeof id === 'string' && id.toLowerCase() === memberId.toLowerCase())) || keys.matches(r.PrimarySmtpAddress) || keys.matches(r.Name),
        );
      const facts: StepResult = { ...detail, groupId, memberId };
      if ((await isMember()) === add) {
        const byEarlierTry = ctx.intent !== undefined;
        return { kind: 'done', changed: false, result: { ...facts, member: add, hadBefore: byEarlierTry ? !add : add, ...(byEarlierTry ? { changedByEarlierTry: true } : {}) } };
      }
      await ctx.intend?.({ ...facts, about: add ? 'add' : 'remove' });
      const cmdlet = add ? 'Add-DistributionGroupMember' : 'Remove-DistributionGroupMember';
      await x.write(cmdlet, { Identity: groupId, Member: memberId }, doing);
      const check = await x.readBack.confirm(isMember, (m) => m === add);
      if (!check.ok) {
        throw x.readBack.notTaken(ctx, EXO, `${cmdlet} -Member ${input.memberName}`, add ? `${input.memberName} not among the members` : `${input.memberName} still among the members`,
          'Check the group\'s members in the Exchange admin centre.', { ...facts, cmdlet });
      }
      ctx.log.info(add ? 'exo: group member added' : 'exo: group member removed', { reference: ctx.reference, identity: input.identity, member: input.member });
      return { kind: 'done', changed: true, result: { ...facts, member: add, hadBefore: !add, cmdlet } };
    },
  };
}

/** The executors of the permission and cloud group member actions. */
export function exoPermissionExecutors(exo: ExchangePort, readBack: ReadBack): StepExecutor[] {
  const x = new ExchangeAccess(exo, readBack);
  return [permissionStep(x, true), permissionStep(x, false), memberStep(x, true), memberStep(x, false)] as StepExecutor[];
}
