/**
 * Who decides a filed request besides the configured users and groups: the requester's manager and a group's owners
 * (resolved when the request is filed, kept with it), whom an approver reassigns it to, and whom it is escalated to —
 * after its first reminder, or at once when a stage has nobody who could decide it (no manager, no owners).
 */
import { isKindId, stagesFor, type Approver } from '../requests';
import type { RequestRecord } from '../store';
import type { ApprovalAccess } from './approval-access';
import type { ExtraApproversPort, ExtraApproverWhy } from './ports';

/** A user as Mailroom addresses them: Entra object id and display name. */
export interface DirectoryUser {
  readonly id: string;
  readonly name: string;
}

/** What resolution asks of Entra ID and Exchange Online (src/cloud's clients, through create-workflow.ts). */
export interface ApproverDirectoryPort {
  /** The manager Entra ID names for a user (a synced user's comes from AD's `manager`); null when none. */
  managerOf(userId: string): Promise<DirectoryUser | null>;
  /** The owners of a mail-enabled group (Exchange Online's ManagedBy) that are users; [] when none. */
  groupOwners(groupIdentity: string): Promise<DirectoryUser[]>;
  /** The users of an Entra group, nested groups included. */
  memberUserIds(groupId: string): Promise<string[]>;
  /** A user by sign-in name, address or object id; null when there is none. */
  findUser(identity: string): Promise<DirectoryUser | null>;
}

/** Who a request is escalated to: users, and groups whose members (nested included) each get it. */
export type EscalationTarget = { readonly kind: 'user'; readonly id: string } | { readonly kind: 'group'; readonly id: string };

export interface ApproverResolverDeps {
  readonly directory: ApproverDirectoryPort;
  readonly approvers: ExtraApproversPort;
  readonly access: ApprovalAccess;
  readonly escalateTo: readonly EscalationTarget[];
  readonly now: () => Date;
}

/** What resolution did for one stage, in words for the requester and the audit. */
export interface StageNote {
  readonly stage: number;
  readonly text: string;
}

/** The group a membership request changes (its Exchange identity), if the request is one. */
function targetGroupOf(record: RequestRecord): string | undefined {
  if (record.kind !== 'group-member-add' && record.kind !== 'group-member-remove') return undefined;
  const t = (record.request as { target?: { exoId?: string; primarySmtpAddress?: string } } | null)?.target;
  return t?.exoId ?? t?.primarySmtpAddress;
}

export class ApproverResolver {
  constructor(private readonly deps: ApproverResolverDeps) {}

  private async add(record: RequestRecord, stage: number, users: readonly DirectoryUser[], why: ExtraApproverWhy, addedBy: string | null): Promise<DirectoryUser[]> {
    const added: DirectoryUser[] = [];
    for (const u of users) {
      if (u.id.toLowerCase() === record.requesterAadObjectId.toLowerCase()) continue; // nobody decides their own request
      if (await this.deps.approvers.add({ requestId: record.id, stage, aadObjectId: u.id.toLowerCase(), name: u.name, why, addedBy }, this.deps.now())) added.push(u);
    }
    return added;
  }

  /** The escalation targets as users (groups expanded, nested included). */
  private async escalationUsers(): Promise<DirectoryUser[]> {
    const out = new Map<string, DirectoryUser>();
    for (const t of this.deps.escalateTo) {
      if (t.kind === 'user') out.set(t.id.toLowerCase(), { id: t.id.toLowerCase(), name: 'an administrator' });
      else for (const id of await this.deps.directory.memberUserIds(t.id)) out.set(id.toLowerCase(), { id: id.toLowerCase(), name: 'an administrator' });
    }
    return [...out.values()];
  }

  /**
   * Resolves the request's manager and owner approvers of every stage, when it is filed. A stage that then has nobody
   * who could decide it goes to the escalation approvers at once. Returns what happened, per stage, in words.
   */
  async resolve(record: RequestRecord): Promise<StageNote[]> {
    if (!isKindId(record.kind)) return [];
    const stages = stagesFor(record.kind, this.deps.access.policy);
    const notes: StageNote[] = [];
    for (const [i, list] of stages.entries()) {
      const stage = i + 1;
      const configured = list.filter((a): a is Extract<Approver, { id: string }> => a.kind === 'user' || a.kind === 'group');
      let found = 0;
      if (list.some((a) => a.kind === 'manager')) {
        const manager = await this.deps.directory.managerOf(record.requesterAadObjectId);
        if (manager && manager.id.toLowerCase() !== record.requesterAadObjectId.toLowerCase()) {
          await this.add(record, stage, [manager], 'manager', null);
          found++;
          notes.push({ stage, text: `${manager.name}, the requester's manager, decides stage ${stage}.` });
        } else {
          notes.push({ stage, text: `Neither AD nor Entra ID names a manager for ${record.requesterName}.` });
        }
      }
      if (list.some((a) => a.kind === 'owners')) {
        const group = targetGroupOf(record);
        const owners = group ? await this.deps.directory.groupOwners(group) : [];
        const usable = owners.filter((o) => o.id.toLowerCase() !== record.requesterAadObjectId.toLowerCase());
        if (usable.length) {
          await this.add(record, stage, usable, 'owner', null);
          found += usable.length;
          notes.push({ stage, text: `The owners of the group (${usable.map((o) => o.name).join(', ')}) decide stage ${stage}.` });
        } else {
          notes.push({ stage, text: `The group has no owner ${owners.length ? 'besides the requester ' : ''}in Exchange Online (ManagedBy).` });
        }
      }
      if (configured.length === 0 && found === 0) {
        const to = await this.add(record, stage, await this.escalationUsers(), 'escalated', null);
        notes.push({ stage, text: to.length || (await this.deps.approvers.list(record.id, stage)).length ? `Stage ${stage} goes to the administrators instead.` : `Nobody can decide stage ${stage}: no administrators are configured (APPROVAL_ESCALATE_TO or ROLE_ADMINS).` });
      }
    }
    return notes;
  }

  /** Escalates the request's current stage once: the escalation approvers may decide it too. Returns who was added. */
  async escalate(record: RequestRecord): Promise<DirectoryUser[]> {
    const already = (await this.deps.approvers.list(record.id, record.stage)).some((a) => a.why === 'escalated');
    if (already) return [];
    return this.add(record, record.stage, await this.escalationUsers(), 'escalated', null);
  }

  /** An approver hands the current stage to someone else (they may decide it as well). */
  async reassign(record: RequestRecord, to: DirectoryUser, by: string): Promise<boolean> {
    return (await this.add(record, record.stage, [to], 'reassigned', by)).length > 0;
  }
}
