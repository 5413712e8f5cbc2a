import type { ApprovalSettings, Principal } from '../config/config';
import {
  isKindId,
  mayDecide,
  type ApprovalDecision,
  type ApprovalPolicyConfig,
  type ApprovalState,
  type Approver,
  type KindId,
} from '../requests';
import { parseRequestId, requestReference, type DecisionRecord, type RequestRecord } from '../store';
import type { GroupMembersPort, GroupMembershipPort } from './ports';
import type { RequestActor } from './use-cases';

/** The configured approvers (users and groups, per kind, one or two stages) as the approval policy reads them. */
export function policyFrom(settings: ApprovalSettings): ApprovalPolicyConfig {
  const toApprovers = (list: readonly Principal[]): Approver[] =>
    list.filter((p): p is Extract<Principal, { kind: 'user' | 'group' }> => p.kind !== 'anyone').map((p) => ({ kind: p.kind, id: p.id }));
  const kinds: Partial<Record<KindId, { approvers: Approver[]; secondStage?: Approver[] }>> = {};
  for (const [kind, k] of Object.entries(settings.perKind)) {
    if (!isKindId(kind)) continue;
    const second = toApprovers(k.secondStage ?? settings.secondStage);
    kinds[kind] = { approvers: toApprovers(k.approvers ?? settings.approvers), ...(second.length ? { secondStage: second } : {}) };
  }
  const fallbackSecond = toApprovers(settings.secondStage);
  return {
    kinds,
    fallback: settings.approvers.length ? { approvers: toApprovers(settings.approvers), ...(fallbackSecond.length ? { secondStage: fallbackSecond } : {}) } : undefined,
    expiresAfterMs: settings.expireAfterMs,
    remindAfterMs: settings.remindAfterMs,
  };
}

/**
 * The one answer to a request the caller may not see: the same words whether it does not exist or belongs to
 * someone else, so request numbers cannot be probed. It names only the number the caller gave (as `R-n`).
 */
export function notVisibleMessage(reference: unknown): string {
  const id = typeof reference === 'string' || typeof reference === 'number' ? parseRequestId(reference) : undefined;
  return `There is no ${id === undefined ? 'such request' : `request ${requestReference(id)}`} that you may see. Nothing was changed.`;
}

/**
 * Who may see, act on and decide a request under the approval policy: the requester, admins and the approvers of
 * its kind (directly or through an Entra group). Every use case asks here; nothing else reads the policy.
 */
export class ApprovalAccess {
  constructor(
    readonly policy: ApprovalPolicyConfig,
    private readonly groups: (GroupMembershipPort & Partial<GroupMembersPort>) | undefined,
  ) {}

  stageCount(kind: string): number {
    if (!isKindId(kind)) return 1;
    const k = this.policy.kinds[kind] ?? this.policy.fallback;
    return k?.secondStage?.length ? 2 : 1;
  }

  /** The request as the pure approval policy sees it. */
  state(record: RequestRecord, decisions: readonly DecisionRecord[]): ApprovalState {
    const kind = record.kind as KindId;
    const status = record.status === 'pending-approval' ? 'pending' : record.status === 'rejected' ? 'rejected' : record.status === 'expired' ? 'expired' : 'approved';
    const stageStart = decisions.filter((d) => d.stage < record.stage).map((d) => d.at).sort().pop() ?? record.createdAt;
    return {
      requestId: record.reference,
      kind,
      requesterId: record.requesterAadObjectId,
      version: record.version,
      status,
      stage: record.stage,
      stageCount: this.stageCount(record.kind),
      createdAt: record.createdAt,
      stageStartedAt: stageStart,
      decisions: decisions.map(
        (d): ApprovalDecision => ({ stage: d.stage, actorId: d.approverAadObjectId, actorName: d.approverName, outcome: d.decision === 'approve' ? 'approved' : 'rejected', reason: d.reason ?? undefined, at: d.at }),
      ),
      closedAt: record.decidedAt ?? undefined,
    };
  }

  /** The approver group ids of the policy that the actor belongs to. */
  async actorGroups(actorId: string): Promise<string[]> {
    const ids = new Set<string>();
    for (const k of [...Object.values(this.policy.kinds), this.policy.fallback]) {
      for (const a of [...(k?.approvers ?? []), ...(k?.secondStage ?? [])]) if (a.kind === 'group') ids.add(a.id);
    }
    if (!ids.size || !this.groups) return [];
    return this.groups.memberGroups(actorId, [...ids]);
  }

  /** May the actor decide this request's current stage (for "my approvals" and the card's buttons)? */
  async mayDecide(actor: RequestActor, record: RequestRecord, decisions: readonly DecisionRecord[]): Promise<boolean> {
    if (record.status !== 'pending-approval') return false;
    const res = mayDecide(this.state(record, decisions), { id: actor.aadObjectId, name: actor.name, groupIds: await this.actorGroups(actor.aadObjectId) }, this.policy);
    return res.ok;
  }

  /** Who may see a request and act on it (cancel, roll back): its requester, admins, and approvers of its kind. */
  async maySee(actor: RequestActor, record: RequestRecord): Promise<boolean> {
    if (actor.isAdmin || record.requesterAadObjectId === actor.aadObjectId) return true;
    const state = this.state(record, []);
    for (let stage = 1; stage <= state.stageCount; stage++) {
      const res = mayDecide({ ...state, status: 'pending', stage }, { id: actor.aadObjectId, name: actor.name, groupIds: await this.actorGroups(actor.aadObjectId) }, this.policy);
      if (res.ok || ('code' in res && res.code === 'own-request')) return true;
    }
    return false;
  }

  /** The users who approve the request's current stage (groups expanded), never its requester. */
  async approverUserIds(record: RequestRecord): Promise<string[]> {
    const kind = record.kind as KindId;
    const k = this.policy.kinds[kind] ?? this.policy.fallback;
    const list = record.stage === 1 ? (k?.approvers ?? []) : (k?.secondStage ?? []);
    const ids = new Set<string>();
    for (const a of list) {
      if (a.kind === 'user') ids.add(a.id);
      else if (this.groups?.memberUserIds) for (const u of await this.groups.memberUserIds(a.id)) ids.add(u.toLowerCase());
    }
    ids.delete(record.requesterAadObjectId);
    return [...ids];
  }
}
