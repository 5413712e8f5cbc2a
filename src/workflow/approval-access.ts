import type { ApprovalSettings, ApproverPrincipal } from '../config/config';
import {
  isKindId,
  mayDecide,
  type ApprovalDecision,
  type ApprovalPolicyConfig,
  type ApprovalState,
  type Approver,
  type ExtraStageApprover,
  type KindId,
} from '../requests';
import { parseRequestId, requestReference, type DecisionRecord, type RequestRecord } from '../store';
import type { DelegationsPort, ExtraApproversPort, GroupMembersPort, GroupMembershipPort } from './ports';
import type { RequestActor } from './use-cases';

/** The configured approvers (users and groups, per kind, one or two stages) as the approval policy reads them. */
export function policyFrom(settings: ApprovalSettings): ApprovalPolicyConfig {
  const toApprovers = (list: readonly ApproverPrincipal[]): Approver[] =>
    list.flatMap((p): Approver[] => (p.kind === 'anyone' ? [] : p.kind === 'manager' || p.kind === 'owners' ? [{ kind: p.kind }] : [{ kind: p.kind, id: p.id }]));
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

/** Extra approvers and delegations, as the access checks read them; absent: none (unit tests of the policy alone). */
export interface ApprovalAccessStores {
  readonly approvers: Pick<ExtraApproversPort, 'list'>;
  readonly delegations: Pick<DelegationsPort, 'from' | 'to'>;
  readonly now: () => Date;
}

/** Who decides, and for whom: the actor, or the approver whose delegate the actor is. */
export type DecidingAs =
  | { readonly ok: true; readonly onBehalfOf?: { readonly id: string; readonly name: string } }
  | { readonly ok: false };

/**
 * Who may see, act on and decide a request under the approval policy: the requester, admins and the approvers of
 * its kind (directly, through an Entra group with nested groups, or as the request's extra approvers: the
 * requester's manager, a group's owners, whom an approver reassigned it to, whom it was escalated to), and the
 * delegates of any of them while their delegation runs. Every use case asks here; nothing else reads the policy.
 */
export class ApprovalAccess {
  constructor(
    readonly policy: ApprovalPolicyConfig,
    private readonly groups: (GroupMembershipPort & Partial<GroupMembersPort>) | undefined,
    private readonly stores?: ApprovalAccessStores,
  ) {}

  stageCount(kind: string): number {
    if (!isKindId(kind)) return 1;
    const k = this.policy.kinds[kind] ?? this.policy.fallback;
    return k?.secondStage?.length ? 2 : 1;
  }

  /** The request as the pure approval policy sees it (with its extra approvers, when given). */
  state(record: RequestRecord, decisions: readonly DecisionRecord[], extra: readonly ExtraStageApprover[] = []): ApprovalState {
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
      extra,
    };
  }

  /** The extra approvers of a request, as the policy reads them. */
  async extraOf(record: RequestRecord): Promise<ExtraStageApprover[]> {
    if (!this.stores) return [];
    return (await this.stores.approvers.list(record.id)).map((a) => ({ stage: a.stage, id: a.aadObjectId.toLowerCase() }));
  }

  /** The request as the policy sees it, its extra approvers loaded. */
  async stateOf(record: RequestRecord, decisions: readonly DecisionRecord[]): Promise<ApprovalState> {
    return this.state(record, decisions, await this.extraOf(record));
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

  /**
   * Whether the actor may decide the current stage, and for whom: as themselves, or as the delegate of an approver who
   * may (the delegation running now). The actor's own right comes first.
   */
  async decidingAs(actor: RequestActor, record: RequestRecord, decisions: readonly DecisionRecord[]): Promise<DecidingAs> {
    if (record.status !== 'pending-approval') return { ok: false };
    const state = await this.stateOf(record, decisions);
    const own = mayDecide(state, { id: actor.aadObjectId, name: actor.name, groupIds: await this.actorGroups(actor.aadObjectId) }, this.policy);
    if (own.ok) return { ok: true };
    // Nobody decides their own request or two stages, also not through a delegation.
    if (own.code === 'own-request' || own.code === 'decided-earlier-stage' || !this.stores) return { ok: false };
    for (const d of await this.stores.delegations.to(actor.aadObjectId.toLowerCase(), this.stores.now())) {
      const res = mayDecide(state, { id: d.fromAadObjectId, name: d.fromName, groupIds: await this.actorGroups(d.fromAadObjectId) }, this.policy);
      if (res.ok) return { ok: true, onBehalfOf: { id: d.fromAadObjectId, name: d.fromName } };
    }
    return { ok: false };
  }

  /** May the actor decide this request's current stage (for "my approvals" and the card's buttons)? */
  async mayDecide(actor: RequestActor, record: RequestRecord, decisions: readonly DecisionRecord[]): Promise<boolean> {
    return (await this.decidingAs(actor, record, decisions)).ok;
  }

  /** Who may see a request and act on it (cancel, roll back): its requester, admins, approvers of its kind, and their delegates. */
  async maySee(actor: RequestActor, record: RequestRecord): Promise<boolean> {
    return (await this.visibleAmong(actor, [record])).length === 1;
  }

  /**
   * The records among `records` the actor may see, each as {@link maySee} decides it: their own, every one for an
   * admin, and those they (or someone who delegated to them) approve at some stage. The actor's groups and
   * delegations are asked once for all of them (a batch's rows).
   */
  async visibleAmong(actor: RequestActor, records: readonly RequestRecord[]): Promise<RequestRecord[]> {
    if (actor.isAdmin) return [...records];
    const others = records.filter((r) => r.requesterAadObjectId !== actor.aadObjectId);
    if (!others.length) return [...records];
    const people = [{ id: actor.aadObjectId, name: actor.name }];
    if (this.stores) for (const d of await this.stores.delegations.to(actor.aadObjectId.toLowerCase(), this.stores.now())) people.push({ id: d.fromAadObjectId, name: d.fromName });
    const deciders = await Promise.all(people.map(async (p) => ({ ...p, groupIds: await this.actorGroups(p.id) })));
    const seen: RequestRecord[] = [];
    for (const record of records) {
      if (record.requesterAadObjectId === actor.aadObjectId) {
        seen.push(record);
        continue;
      }
      const state = this.state(record, [], await this.extraOf(record));
      const approves = deciders.some((who) => {
        for (let stage = 1; stage <= state.stageCount; stage++) {
          const res = mayDecide({ ...state, status: 'pending', stage }, who, this.policy);
          if (res.ok || ('code' in res && res.code === 'own-request')) return true;
        }
        return false;
      });
      if (approves) seen.push(record);
    }
    return seen;
  }

  /** The configured users and groups of the request's current stage, and the group members (nested groups included). */
  private async configuredUserIds(record: RequestRecord): Promise<string[]> {
    const kind = record.kind as KindId;
    const k = this.policy.kinds[kind] ?? this.policy.fallback;
    const list = record.stage === 1 ? (k?.approvers ?? []) : (k?.secondStage ?? []);
    const ids = new Set<string>();
    for (const a of list) {
      if (a.kind === 'user') ids.add(a.id.toLowerCase());
      else if (a.kind === 'group' && this.groups?.memberUserIds) for (const u of await this.groups.memberUserIds(a.id)) ids.add(u.toLowerCase());
    }
    return [...ids];
  }

  /**
   * The users who approve the request's current stage: the configured ones (groups expanded, nested ones included),
   * the request's extra approvers of the stage, and the delegate of each of them whose delegation runs now; never its
   * requester.
   */
  async approverUserIds(record: RequestRecord): Promise<string[]> {
    const ids = new Set(await this.configuredUserIds(record));
    for (const x of await this.extraOf(record)) if (x.stage === record.stage) ids.add(x.id);
    if (this.stores) {
      for (const id of [...ids]) {
        const d = await this.stores.delegations.from(id, this.stores.now());
        if (d) ids.add(d.toAadObjectId.toLowerCase());
      }
    }
    ids.delete(record.requesterAadObjectId.toLowerCase());
    return [...ids];
  }
}
