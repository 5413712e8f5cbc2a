import type { ApprovalSettings, Principal } from '../config/config';
import type { Logger } from '../log';
import { keptLine, plan as makePlan, PlanRefusedError, type Plan, type RollbackPlan } from '../plans';
import {
  decide,
  expireIfDue,
  expiresAt,
  isKindId,
  KINDS,
  kindRefusal,
  mayDecide,
  nextReminderAt,
  openApproval,
  validateRequest,
  LookupUnavailableError,
  type ApprovalDecision,
  type ApprovalPolicyConfig,
  type ApprovalState,
  type Approver,
  type FieldError,
  type KindId,
  type RecipientLookup,
  type TenantProfile,
} from '../requests';
import type { AuditEventInput, DecisionRecord, RequestRecord, RunStepRecord, Store } from '../store';
import { cancelOf, digestOf, keptText, rollbackFor, rollbackOf, rollbackOffer, stepList, withResult, type RollbackInfo } from './rollback-info';

/** Who acts: always from the authenticated activity (never from card data). */
export interface RequestActor {
  readonly aadObjectId: string;
  readonly name: string;
  readonly tenantId: string;
  readonly isAdmin: boolean;
}

/** How the outside world hears about requests (implemented by the Teams layer). */
export interface RequestNotifications {
  /** A new request (or a request that reached a new stage) waits for these approvers. */
  approvalNeeded(record: RequestRecord, view: RequestView, approverUserIds: readonly string[]): Promise<void>;
  /** The request changed: update every copy of its cards in place and tell the requester. */
  requestChanged(record: RequestRecord, view: RequestView, message: string | undefined): Promise<void>;
  /** A reminder to the approvers of the current stage. */
  remind(record: RequestRecord, view: RequestView, approverUserIds: readonly string[]): Promise<void>;
}

/** Answers which of the given Entra groups a user belongs to (Graph checkMemberGroups). */
export interface GroupMembershipPort {
  memberGroups(userAadObjectId: string, groupIds: readonly string[]): Promise<string[]>;
}

/** Lists the users of an Entra group (to send approval cards to its members). */
export interface GroupMembersPort {
  memberUserIds(groupId: string): Promise<string[]>;
}

export interface RequestServiceDeps {
  readonly store: Store;
  readonly lookup: RecipientLookup;
  readonly profile: () => Promise<TenantProfile>;
  readonly approval: ApprovalSettings;
  readonly groups?: GroupMembershipPort & Partial<GroupMembersPort>;
  readonly notifications: RequestNotifications;
  readonly log: Logger;
  readonly now?: () => Date;
  /** Starts the run of a fully approved request (the workflow runner). */
  readonly onApproved?: (record: RequestRecord, actor: RequestActor) => Promise<void>;
  /** Retries a failed run after its cause was fixed. */
  readonly onRetry?: (record: RequestRecord, actor: RequestActor) => Promise<void>;
  /** Work was stored for the runner (roll-back steps): it may start now instead of at its next poll. */
  readonly onWorkQueued?: () => void;
  /** The run state of each step, for the cards. */
  readonly runSteps?: (requestId: number) => Promise<StepState[]>;
}

/** Everything a card or a list needs to show a request, computed in one place. */
export interface RequestView {
  readonly reference: string;
  readonly kind: string;
  readonly kindTitle: string;
  readonly status: string;
  /** `pending` while waiting for a decision, else the store status. */
  readonly approvalStatus: 'pending' | 'approved' | 'rejected' | 'cancelled' | 'expired' | 'other';
  readonly statusText: string;
  readonly stageText: string;
  readonly requesterName: string;
  readonly requesterAadObjectId: string;
  readonly createdAt: string;
  readonly version: number;
  readonly facts: { title: string; value: string }[];
  readonly steps: { n: number; summary: string; system: string; state: string; icon: string; detail: string }[];
  /** The run has started: the cards show each step's state. */
  readonly running: boolean;
  /** A failed run can be retried after the cause is fixed. */
  readonly canRetry: boolean;
  /** The card offers Cancel: the request has not finished and is not being rolled back. */
  readonly canCancel: boolean;
  /** The card offers Roll back: the request stopped or was cancelled and Mailroom created something it can remove. */
  readonly canRollBack: boolean;
  /** A roll back was asked for (it runs, stopped or is done). */
  readonly rollingBack: boolean;
  /** The roll back's steps and their states (empty until one is asked for). */
  readonly undoSteps: { n: number; summary: string; state: string; icon: string; detail: string }[];
  /** What the roll back leaves as it is, one sentence each (empty until one is asked for). */
  readonly kept: { text: string }[];
  readonly rollbackNotes: { text: string }[];
  readonly notes: string[];
  readonly summary: string;
}

export type SubmitResult =
  | { readonly ok: true; readonly record: RequestRecord; readonly view: RequestView }
  | { readonly ok: false; readonly errors: FieldError[]; readonly refused?: string };

/** A roll back as the confirmation card shows it. */
export type RollbackPreview =
  | { readonly ok: true; readonly record: RequestRecord; readonly view: RequestView; readonly plan: RollbackPlan; readonly digest: string }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly record?: RequestRecord; readonly view?: RequestView };

/** A roll back asked for: started, refused, or (code `changed`) what it would do now differs from what was confirmed. */
export type RollbackOutcome =
  | { readonly ok: true; readonly record: RequestRecord; readonly view: RequestView }
  | {
      readonly ok: false;
      readonly code: string;
      readonly message: string;
      readonly record?: RequestRecord;
      readonly view?: RequestView;
      /** With code `changed`: the roll back as it stands now, to confirm again. */
      readonly preview?: { readonly plan: RollbackPlan; readonly digest: string };
    };

/** Statuses a request can be cancelled in (a roll back in progress cannot). */
const CANCELLABLE = ['pending-approval', 'approved', 'queued', 'running', 'waiting', 'failed'];
const RUN_STATUSES = ['queued', 'running', 'waiting'];

export type DecisionOutcome =
  | { readonly ok: true; readonly record: RequestRecord; readonly view: RequestView; readonly effect: 'next-stage' | 'approved' | 'rejected' }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly record?: RequestRecord; readonly view?: RequestView };

const PENDING = 'pending-approval';

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
 * Intake and approval of requests: validation, plan, approval policy, decisions, cancellation, reminders and
 * expiry — every step audited. Teams-free: cards and messages go out through {@link RequestNotifications}.
 */
export class RequestService {
  readonly policy: ApprovalPolicyConfig;
  private readonly now: () => Date;

  constructor(private readonly deps: RequestServiceDeps) {
    this.policy = policyFrom(deps.approval);
    this.now = deps.now ?? (() => new Date());
  }

  private audit(e: AuditEventInput) {
    return this.deps.store.audit.append(e);
  }

  private actorEvent(actor: RequestActor, event: string, requestRef: string | null, data: Record<string, unknown> = {}): AuditEventInput {
    return { actorAadObjectId: actor.aadObjectId, actorName: actor.name, requestRef, event, data };
  }

  /** Validates, plans and files a request; on bad input nothing is stored but the audit record of the failure. */
  async submit(actor: RequestActor, kind: string, rawValues: Record<string, unknown>, source: 'form' | 'command'): Promise<SubmitResult> {
    if (!isKindId(kind)) {
      await this.audit(this.actorEvent(actor, 'request.validation-failed', null, { kind: String(kind).slice(0, 60), source, errors: [{ field: 'kind', message: 'unknown kind' }] }));
      return { ok: false, errors: [{ field: 'kind', message: `Mailroom has no request kind "${String(kind).slice(0, 60)}".` }] };
    }
    const profile = await this.deps.profile();
    const refusal = kindRefusal(kind, profile);
    if (refusal) {
      await this.audit(this.actorEvent(actor, 'request.refused', null, { kind, source, reason: refusal }));
      return { ok: false, errors: [], refused: refusal };
    }
    let result;
    try {
      result = await validateRequest(kind, rawValues, { lookup: this.deps.lookup, profile });
    } catch (err) {
      if (err instanceof LookupUnavailableError) {
        await this.audit(this.actorEvent(actor, 'request.validation-failed', null, { kind, source, unavailable: err.check }));
        return { ok: false, errors: [], refused: err.message };
      }
      throw err;
    }
    if (!result.ok) {
      await this.audit(this.actorEvent(actor, 'request.validation-failed', null, { kind, source, errors: result.errors.map((e) => ({ field: e.field, message: e.message })) }));
      return { ok: false, errors: result.errors };
    }
    let thePlan: Plan;
    try {
      thePlan = makePlan(result.request, profile);
    } catch (err) {
      if (err instanceof PlanRefusedError) {
        await this.audit(this.actorEvent(actor, 'request.refused', null, { kind, source, reason: err.message }));
        return { ok: false, errors: [], refused: err.message };
      }
      throw err;
    }
    const now = this.now();
    const opened = openApproval({ requestId: 'new', kind, requesterId: actor.aadObjectId, now }, this.policy);
    if (!opened.ok) {
      await this.audit(this.actorEvent(actor, 'request.refused', null, { kind, source, reason: opened.reason }));
      return { ok: false, errors: [], refused: opened.reason };
    }
    const remind = nextReminderAt(opened.state, this.policy, now);
    const record = await this.deps.store.requests.create({
      kind,
      requesterAadObjectId: actor.aadObjectId,
      requesterName: actor.name,
      tenantId: actor.tenantId,
      values: stringValues(rawValues),
      request: result.request,
      plan: thePlan,
      status: PENDING,
      stage: 1,
      remindAt: remind,
      expiresAt: expiresAt(opened.state, this.policy),
    });
    await this.audit(
      this.actorEvent(actor, 'request.created', record.reference, { kind, source, version: record.version, steps: thePlan.steps.map((s) => s.action) }),
    );
    const view = this.view(record, []);
    await this.notifyApprovers(record, view);
    this.deps.log.info('request filed', { reference: record.reference, kind, requester: actor.aadObjectId });
    return { ok: true, record, view };
  }

  async get(reference: string): Promise<{ record: RequestRecord; decisions: DecisionRecord[] } | undefined> {
    const record = await this.deps.store.requests.get(reference);
    if (!record) return undefined;
    return { record, decisions: await this.deps.store.decisions.list(record.id) };
  }

  view(record: RequestRecord, decisions: readonly DecisionRecord[], run: readonly StepState[] = []): RequestView {
    return buildView(record, decisions, this.stageCount(record.kind), run);
  }

  /** The view with decisions and the run's step states loaded (and what a roll back could remove, when it could). */
  async viewOf(record: RequestRecord): Promise<RequestView> {
    const [decisions, run] = await Promise.all([this.deps.store.decisions.list(record.id), this.deps.runSteps ? this.deps.runSteps(record.id) : Promise.resolve([])]);
    let possible: RollbackPlan | undefined;
    if (run.length && (record.status === 'failed' || record.status === 'cancelled') && !rollbackOf(record)) {
      const steps = await this.deps.store.runs.listByRequest(record.id);
      if (!steps.some((s) => s.status === 'running')) possible = rollbackFor(record, steps);
    }
    return buildView(record, decisions, this.stageCount(record.kind), run, possible);
  }

  /** Retry a failed run (its requester or an admin), once the cause is fixed. */
  async retry(actor: RequestActor, reference: string, version: number | undefined): Promise<DecisionOutcome> {
    const found = await this.get(reference);
    if (!found) return { ok: false, code: 'not-found', message: `There is no request ${String(reference).slice(0, 40)}. Nothing was changed.` };
    const { record } = found;
    const refuse = async (code: string, message: string): Promise<DecisionOutcome> => {
      await this.audit(this.actorEvent(actor, 'run.retry-refused', record.reference, { code }));
      return { ok: false, code, message: `${message} Nothing was changed.`, record, view: await this.viewOf(record) };
    };
    if (record.requesterAadObjectId !== actor.aadObjectId && !actor.isAdmin) return refuse('not-allowed', `Only ${record.requesterName} or an admin can retry ${record.reference}.`);
    if (record.status !== 'failed') return refuse('not-failed', `${record.reference} is ${record.status}; only a stopped request can be retried.`);
    if (version !== undefined && version !== record.version) return refuse('stale', `This card is out of date (${record.reference} has changed since).`);
    if (!this.deps.onRetry) return refuse('unavailable', 'Running requests is not configured.');
    await this.deps.onRetry(record, actor);
    const latest = (await this.deps.store.requests.get(record.id)) ?? record;
    return { ok: true, record: latest, view: await this.viewOf(latest), effect: 'approved' };
  }

  private stageCount(kind: string): number {
    if (!isKindId(kind)) return 1;
    const k = this.policy.kinds[kind] ?? this.policy.fallback;
    return k?.secondStage?.length ? 2 : 1;
  }

  private state(record: RequestRecord, decisions: readonly DecisionRecord[]): ApprovalState {
    const kind = record.kind as KindId;
    const status = record.status === PENDING ? 'pending' : record.status === 'rejected' ? 'rejected' : record.status === 'expired' ? 'expired' : 'approved';
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
  private async actorGroups(actorId: string): Promise<string[]> {
    const ids = new Set<string>();
    for (const k of [...Object.values(this.policy.kinds), this.policy.fallback]) {
      for (const a of [...(k?.approvers ?? []), ...(k?.secondStage ?? [])]) if (a.kind === 'group') ids.add(a.id);
    }
    if (!ids.size || !this.deps.groups) return [];
    return this.deps.groups.memberGroups(actorId, [...ids]);
  }

  /** May the actor decide this request's current stage (for "my approvals" and the card's buttons)? */
  async mayDecide(actor: RequestActor, record: RequestRecord, decisions: readonly DecisionRecord[]): Promise<boolean> {
    if (record.status !== PENDING) return false;
    const res = mayDecide(this.state(record, decisions), { id: actor.aadObjectId, name: actor.name, groupIds: await this.actorGroups(actor.aadObjectId) }, this.policy);
    return res.ok;
  }

  /** Approve or reject: the policy decides who may, the store makes sure only one decision wins per version. */
  async decide(actor: RequestActor, reference: string, version: number, outcome: 'approve' | 'reject', reason: string | undefined): Promise<DecisionOutcome> {
    const found = await this.get(reference);
    if (!found) {
      await this.audit(this.actorEvent(actor, 'request.decision-refused', null, { reference: String(reference).slice(0, 40), code: 'not-found' }));
      return { ok: false, code: 'not-found', message: `There is no request ${String(reference).slice(0, 40)}. Nothing was changed.` };
    }
    const { record, decisions } = found;
    const state = this.state(record, decisions);
    if (record.status === 'cancelled') {
      await this.audit(this.actorEvent(actor, 'request.decision-refused', record.reference, { code: 'cancelled', version }));
      return { ok: false, code: 'cancelled', message: `${record.reference} was cancelled${cancelOf(record) ? ` by ${cancelOf(record)?.by ?? ''}` : ''}. Nothing was changed.`, record, view: this.view(record, decisions) };
    }
    const result = decide(
      state,
      { actor: { id: actor.aadObjectId, name: actor.name, groupIds: await this.actorGroups(actor.aadObjectId) }, outcome, reason, version, now: this.now() },
      this.policy,
    );
    if (!result.ok) {
      await this.audit(this.actorEvent(actor, 'request.decision-refused', record.reference, { code: result.code, version, outcome }));
      return { ok: false, code: result.code, message: `${result.message} Nothing was changed.`, record, view: this.view(record, decisions) };
    }
    const now = this.now().toISOString();
    const patch =
      result.effect === 'next-stage'
        ? { stage: result.state.stage, remindAt: nextReminderAt(result.state, this.policy, this.now()), remindedAt: null }
        : {
            status: result.effect === 'approved' ? ('approved' as const) : ('rejected' as const),
            decidedAt: now,
            decidedBy: actor.aadObjectId,
            decidedByName: actor.name,
            decisionReason: outcome === 'reject' ? (reason ?? '').trim() : null,
            remindAt: null,
          };
    const moved = await this.deps.store.requests.transition(record.id, record.version, patch);
    if (!moved.ok) {
      const latest = await this.deps.store.decisions.list(record.id);
      const last = latest[latest.length - 1];
      const message = last
        ? `${record.reference} was already ${last.decision === 'approve' ? 'approved' : 'rejected'} by ${last.approverName} at ${last.at}. Nothing was changed.`
        : `${record.reference} changed while you decided (now version ${moved.current.version}). Nothing was changed; look at the latest card.`;
      await this.audit(this.actorEvent(actor, 'request.decision-refused', record.reference, { code: 'already-decided', version }));
      return { ok: false, code: 'already-decided', message, record: moved.current, view: this.view(moved.current, latest) };
    }
    await this.deps.store.decisions.record({
      requestId: record.id,
      stage: record.stage,
      approverAadObjectId: actor.aadObjectId,
      approverName: actor.name,
      decision: outcome,
      reason: outcome === 'reject' ? (reason ?? '').trim() : null,
      at: now,
      requestVersion: record.version,
    });
    await this.audit(
      this.actorEvent(actor, 'request.decided', record.reference, { outcome, stage: record.stage, version: record.version, effect: result.effect, ...(outcome === 'reject' ? { reason: (reason ?? '').trim() } : {}) }),
    );
    const view = await this.viewOf(moved.record);
    const message =
      result.effect === 'approved'
        ? `Your request ${record.reference} (${view.kindTitle}) was approved by ${actor.name}.`
        : result.effect === 'rejected'
          ? `Your request ${record.reference} (${view.kindTitle}) was rejected by ${actor.name}: ${(reason ?? '').trim()}`
          : `Your request ${record.reference} passed stage ${record.stage} (approved by ${actor.name}); it now waits for stage ${result.state.stage}.`;
    await this.deps.notifications.requestChanged(moved.record, view, message);
    if (result.effect === 'next-stage') await this.notifyApprovers(moved.record, view);
    if (result.effect === 'approved' && this.deps.onApproved) {
      try {
        await this.deps.onApproved(moved.record, actor);
      } catch (err) {
        this.deps.log.error('the approved request could not be queued', { reference: record.reference, err });
      }
      const latest = (await this.deps.store.requests.get(record.id)) ?? moved.record;
      return { ok: true, record: latest, view: await this.viewOf(latest), effect: result.effect };
    }
    return { ok: true, record: moved.record, view, effect: result.effect };
  }

  /**
   * The requester, an approver of the kind or an admin cancels a request that has not finished: before its run,
   * or while it runs, waits or stands failed. A step that is executing finishes and its outcome is recorded; no
   * later step is claimed; pending and waiting steps are cancelled. A roll back in progress is not cancelled.
   */
  async cancel(actor: RequestActor, reference: string, version: number | undefined): Promise<DecisionOutcome> {
    const found = await this.get(reference);
    if (!found) return { ok: false, code: 'not-found', message: `There is no request ${String(reference).slice(0, 40)}. Nothing was changed.` };
    const { record } = found;
    const refuse = async (code: string, message: string): Promise<DecisionOutcome> => {
      await this.audit(this.actorEvent(actor, 'request.cancel-refused', record.reference, { code, status: record.status }));
      return { ok: false, code, message: `${message} Nothing was changed.`, record, view: await this.viewOf(record) };
    };
    if (!(await this.mayAct(actor, record))) {
      // Someone who may not see the request gets no card of it.
      await this.audit(this.actorEvent(actor, 'request.cancel-refused', record.reference, { code: 'not-allowed', status: record.status }));
      return { ok: false, code: 'not-allowed', message: `Only ${record.requesterName} (who made ${record.reference}), an approver of ${this.kindTitle(record)} requests or an admin can cancel it. Nothing was changed.` };
    }
    const rollback = rollbackOf(record);
    if (rollback && record.status !== 'failed' && record.status !== 'rolled-back') {
      return refuse('rolling-back', `${record.reference} is being rolled back (asked by ${rollback.by}); a roll back is not stopped halfway.`);
    }
    if (!CANCELLABLE.includes(record.status)) return refuse('too-late', `${record.reference} is ${record.status}; only a request that has not finished can be cancelled.`);
    if (version !== undefined && version !== record.version) return refuse('stale', `This card is out of date (${record.reference} has changed since).`);
    const now = this.now();
    const info = { by: actor.name, byId: actor.aadObjectId, at: now.toISOString(), from: record.status };
    const moved = await this.deps.store.requests.transition(record.id, record.version, { status: 'cancelled', remindAt: null, result: withResult(record, 'cancelled', info) });
    if (!moved.ok) return refuse('stale', `${record.reference} changed at the same moment.`);
    // What has not started stops here; a step running under its lease finishes and is recorded by the runner.
    await this.deps.store.runs.cancelPending(record.id, now);
    const steps = await this.deps.store.runs.listByRequest(record.id);
    await this.audit(
      this.actorEvent(actor, 'request.cancelled', record.reference, { version: record.version, from: record.status, steps: Object.fromEntries(steps.map((st) => [st.stepId, st.status])) }),
    );
    const view = await this.viewOf(moved.record);
    let message = `Request ${record.reference} was cancelled by ${actor.name}.`;
    if (steps.length) {
      const done = stepList(record, steps, 'done');
      const running = stepList(record, steps, 'running');
      message += done ? ` Done before the cancel: ${done}.` : ' Nothing was done before the cancel.';
      if (running) message += ` Still finishing: ${running}; its outcome will be recorded, and nothing runs after it.`;
      else if (!rollback) message += rollbackOffer(record.reference, rollbackFor(record, steps));
    } else {
      message += ' Nothing was changed in AD or Exchange Online.';
    }
    await this.deps.notifications.requestChanged(moved.record, view, message);
    return { ok: true, record: moved.record, view, effect: 'rejected' };
  }

  /** What a roll back of the request would remove and keep (for the confirmation card); refusals are audited. */
  async rollbackPreview(actor: RequestActor, reference: string, version: number | undefined): Promise<RollbackPreview> {
    const checked = await this.rollbackCheck(actor, reference, version);
    if (!checked.ok) return checked;
    return { ok: true, record: checked.record, view: await this.viewOf(checked.record), plan: checked.plan, digest: digestOf(checked.plan) };
  }

  /**
   * Roll back what Mailroom created for a failed or cancelled request: the requester, an approver of the kind or an
   * admin. Version-guarded like a decision, so a second click is refused. The compensation steps are appended to the
   * request's run (its unfinished steps skipped) and run by the runner like any step; the request is `running`
   * until they are done, then `rolled-back`. `digest`: what the person confirmed; if the roll back would now do
   * something else, nothing is started and the new roll back comes back to be confirmed.
   */
  async rollback(actor: RequestActor, reference: string, version: number | undefined, digest?: string): Promise<RollbackOutcome> {
    const checked = await this.rollbackCheck(actor, reference, version);
    if (!checked.ok) return checked;
    const { record, steps, plan } = checked;
    const now = this.now();
    const current = digestOf(plan);
    if (digest !== undefined && digest !== current) {
      await this.audit(this.actorEvent(actor, 'rollback.refused', record.reference, { code: 'changed', version: record.version }));
      return {
        ok: false,
        code: 'changed',
        message: `What a roll back of ${record.reference} would do has changed since this card was made (a step finished meanwhile). Nothing was changed; check the list below and confirm again.`,
        record,
        view: await this.viewOf(record),
        preview: { plan, digest: current },
      };
    }
    const info: RollbackInfo = {
      by: actor.name,
      byId: actor.aadObjectId,
      at: now.toISOString(),
      from: record.status,
      firstIndex: steps.reduce((m, st) => Math.max(m, st.stepIndex + 1), 0),
      steps: plan.steps,
      kept: plan.kept,
      notes: plan.notes,
      digest: current,
    };
    const moved = await this.deps.store.requests.transition(record.id, record.version, { status: 'running', error: null, result: withResult(record, 'rollback', info) });
    if (!moved.ok) {
      const winner = rollbackOf(moved.current);
      const code = winner ? 'already' : 'stale';
      await this.audit(this.actorEvent(actor, 'rollback.refused', record.reference, { code, version: record.version }));
      const message = winner
        ? `${record.reference} is already being rolled back (asked by ${winner.by} at ${shortTime(winner.at)}). Nothing was changed.`
        : `${record.reference} changed at the same moment. Nothing was changed; look at the latest card.`;
      return { ok: false, code, message, record: moved.current, view: await this.viewOf(moved.current) };
    }
    try {
      await this.deps.store.runs.appendSteps(record.id, plan.steps.map((st) => ({ stepId: st.id, action: st.action, system: st.system, input: st.input })), now, { skipUnfinished: true });
    } catch (err) {
      // The request keeps the roll back; the runner's recovery stores its steps (reconcile).
      this.deps.log.error('the roll-back steps could not be stored now; recovery will store them', { reference: record.reference, err });
    }
    this.deps.onWorkQueued?.();
    await this.audit(
      this.actorEvent(actor, 'rollback.requested', record.reference, {
        version: record.version,
        from: record.status,
        compensation: plan.steps.map((st) => ({ step: st.id, action: st.action, undoes: st.undoes, input: st.input })),
        kept: plan.kept.map((k) => ({ step: k.stepId, reason: k.reason })),
      }),
    );
    const view = await this.viewOf(moved.record);
    const message =
      `${actor.name} asked to roll back ${record.reference}. Mailroom removes, in this order: ${plan.steps.map((st) => st.what).join('; ')}.` +
      (plan.kept.length ? ` Stays: ${keptText(plan.kept)}` : '');
    await this.deps.notifications.requestChanged(moved.record, view, message);
    return { ok: true, record: moved.record, view };
  }

  /** Who may roll back and whether the request can be: the refusals are audited and say that nothing changed. */
  private async rollbackCheck(
    actor: RequestActor,
    reference: string,
    version: number | undefined,
  ): Promise<{ ok: true; record: RequestRecord; steps: RunStepRecord[]; plan: RollbackPlan } | { ok: false; code: string; message: string; record?: RequestRecord; view?: RequestView }> {
    const record = await this.deps.store.requests.get(reference);
    if (!record) {
      await this.audit(this.actorEvent(actor, 'rollback.refused', null, { reference: String(reference).slice(0, 40), code: 'not-found' }));
      return { ok: false, code: 'not-found', message: `There is no request ${String(reference).slice(0, 40)}. Nothing was changed.` };
    }
    const refuse = async (code: string, message: string) => {
      await this.audit(this.actorEvent(actor, 'rollback.refused', record.reference, { code, version: version ?? null, status: record.status }));
      return { ok: false as const, code, message: `${message} Nothing was changed.`, record, view: await this.viewOf(record) };
    };
    if (!(await this.mayAct(actor, record))) {
      // Someone who may not see the request gets no card of it.
      await this.audit(this.actorEvent(actor, 'rollback.refused', record.reference, { code: 'not-allowed', version: version ?? null, status: record.status }));
      return {
        ok: false,
        code: 'not-allowed',
        message: `Only ${record.requesterName} (who made ${record.reference}), an approver of ${this.kindTitle(record)} requests or an admin can roll it back. Nothing was changed.`,
      };
    }
    const earlier = rollbackOf(record);
    if (earlier) {
      const when = `asked by ${earlier.by} at ${shortTime(earlier.at)}`;
      if (record.status === 'rolled-back') return refuse('already', `${record.reference} was already rolled back (${when}).`);
      if (record.status === 'failed') return refuse('already', `${record.reference} is already being rolled back (${when}), and that roll back stopped: press Retry on its card once the cause is fixed.`);
      return refuse('already', `${record.reference} is already being rolled back (${when}).`);
    }
    if (record.status !== 'failed' && record.status !== 'cancelled') {
      const why = RUN_STATUSES.includes(record.status) ? ' Cancel it first; what it did can be rolled back once it has stopped.' : '';
      return refuse('not-stopped', `${record.reference} is ${record.status}; only a request that stopped or was cancelled can be rolled back.${why}`);
    }
    if (version !== undefined && version !== record.version) return refuse('stale', `This card is out of date (${record.reference} has changed since).`);
    const steps = await this.deps.store.runs.listByRequest(record.id);
    const busy = steps.find((st) => st.status === 'running');
    if (busy) {
      return refuse('busy', `A step of ${record.reference} is still finishing (${stepList(record, steps, 'running')}); try again in a moment, once its outcome is recorded.`);
    }
    const plan = rollbackFor(record, steps);
    if (!plan.steps.length) {
      const kept = plan.kept.length ? ` ${keptText(plan.kept)}` : '';
      return refuse('nothing', `Mailroom created nothing for ${record.reference} that a roll back could remove.${kept}`);
    }
    return { ok: true, record, steps, plan };
  }

  /** The requester, an approver of the request's kind, or an admin (checked on the authenticated Teams user). */
  private mayAct(actor: RequestActor, record: RequestRecord): Promise<boolean> {
    return this.maySee(actor, record);
  }

  private kindTitle(record: RequestRecord): string {
    return isKindId(record.kind) ? KINDS[record.kind].title.toLowerCase() : record.kind;
  }

  async listMine(actor: RequestActor, limit = 20): Promise<RequestView[]> {
    const records = await this.deps.store.requests.listByRequester(actor.aadObjectId, { limit });
    return Promise.all(records.map(async (r) => this.view(r, await this.deps.store.decisions.list(r.id))));
  }

  async listAwaiting(actor: RequestActor, limit = 50): Promise<RequestView[]> {
    const pending = await this.deps.store.requests.listByStatus([PENDING], { limit: 500 });
    const out: RequestView[] = [];
    for (const r of pending) {
      const d = await this.deps.store.decisions.list(r.id);
      if (await this.mayDecide(actor, r, d)) out.push(this.view(r, d));
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Who may see a request: its requester, admins, and approvers of its kind. */
  async maySee(actor: RequestActor, record: RequestRecord): Promise<boolean> {
    if (actor.isAdmin || record.requesterAadObjectId === actor.aadObjectId) return true;
    const state = this.state(record, []);
    for (let stage = 1; stage <= state.stageCount; stage++) {
      const res = mayDecide({ ...state, status: 'pending', stage }, { id: actor.aadObjectId, name: actor.name, groupIds: await this.actorGroups(actor.aadObjectId) }, this.policy);
      if (res.ok || ('code' in res && res.code === 'own-request')) return true;
    }
    return false;
  }

  /** Reminders and expiry: run on a timer by one or more instances (transitions are version-guarded). */
  async tick(): Promise<{ reminded: number; expired: number }> {
    const now = this.now();
    let reminded = 0;
    let expired = 0;
    for (const record of await this.deps.store.requests.dueForExpiry(now)) {
      const decisions = await this.deps.store.decisions.list(record.id);
      const next = expireIfDue(this.state(record, decisions), now, this.policy);
      if (!next) continue;
      const moved = await this.deps.store.requests.transition(record.id, record.version, { status: 'expired', decidedAt: now.toISOString(), remindAt: null });
      if (!moved.ok) continue;
      expired++;
      await this.audit({ actorAadObjectId: null, actorName: 'Mailroom', requestRef: record.reference, event: 'request.expired', data: { version: record.version } });
      await this.deps.notifications.requestChanged(moved.record, this.view(moved.record, decisions), `Your request ${record.reference} expired without a decision. Nothing was changed; you can make it again.`);
    }
    for (const record of await this.deps.store.requests.dueForReminder(now)) {
      const decisions = await this.deps.store.decisions.list(record.id);
      const state = this.state(record, decisions);
      const moved = await this.deps.store.requests.transition(record.id, record.version, { remindedAt: now.toISOString(), remindAt: nextReminderAt(state, this.policy, now) });
      if (!moved.ok) continue;
      reminded++;
      await this.audit({ actorAadObjectId: null, actorName: 'Mailroom', requestRef: record.reference, event: 'request.reminded', data: { stage: record.stage } });
      const view = this.view(moved.record, decisions);
      await this.deps.notifications.remind(moved.record, view, await this.approverUserIds(moved.record));
      await this.deps.notifications.requestChanged(moved.record, view, undefined);
    }
    return { reminded, expired };
  }

  private async approverUserIds(record: RequestRecord): Promise<string[]> {
    const kind = record.kind as KindId;
    const k = this.policy.kinds[kind] ?? this.policy.fallback;
    const list = record.stage === 1 ? (k?.approvers ?? []) : (k?.secondStage ?? []);
    const ids = new Set<string>();
    for (const a of list) {
      if (a.kind === 'user') ids.add(a.id);
      else if (this.deps.groups?.memberUserIds) for (const u of await this.deps.groups.memberUserIds(a.id)) ids.add(u.toLowerCase());
    }
    ids.delete(record.requesterAadObjectId);
    return [...ids];
  }

  private async notifyApprovers(record: RequestRecord, view: RequestView): Promise<void> {
    await this.deps.notifications.approvalNeeded(record, view, await this.approverUserIds(record));
  }
}

function stringValues(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  return out;
}

function factValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.map(factValue).join(', ');
  if (v && typeof v === 'object' && typeof (v as { name?: unknown }).name === 'string') return (v as { name: string }).name;
  return JSON.stringify(v) ?? '';
}

/** A step's run state as the cards show it. */
export interface StepState {
  readonly stepIndex: number;
  readonly status: string;
  readonly error: string | null;
}

const STATE_ICONS: Record<string, string> = { pending: '○', running: '▶', waiting: '⏳', done: '✔', failed: '✖', skipped: '–', cancelled: '–' };

/** "2025-03-03 09:14 UTC" */
function shortTime(iso: string | null | undefined): string {
  return iso ? iso.replace('T', ' ').slice(0, 16) + ' UTC' : '?';
}

/**
 * Everything a card shows of a request. `possible`: what a roll back would remove now (given when the request
 * stopped or was cancelled and no step is still running); the card offers Roll back when it removes anything.
 */
export function buildView(record: RequestRecord, decisions: readonly DecisionRecord[], stageCount: number, run: readonly StepState[] = [], possible?: RollbackPlan): RequestView {
  const kindTitle = isKindId(record.kind) ? KINDS[record.kind].title : record.kind;
  const fields = isKindId(record.kind) ? KINDS[record.kind].fields : [];
  const facts: { title: string; value: string }[] = [];
  const req = (record.request ?? {}) as Record<string, unknown>;
  for (const f of fields) {
    const v = req[f.id] ?? record.values[f.id];
    if (v === undefined || v === null || v === '') continue;
    facts.push({ title: f.label, value: factValue(v) });
  }
  const p = (record.plan ?? { steps: [], notes: [] }) as { steps?: { summary: string; system: string }[]; notes?: string[]; warnings?: string[] };
  const states = new Map(run.map((r) => [r.stepIndex, r]));
  const detailOf = (st: StepState | undefined): string => (st && st.error && ['failed', 'cancelled', 'skipped'].includes(st.status) ? st.error : '');
  const steps = (p.steps ?? []).map((s, i) => {
    const st = states.get(i);
    const state = st?.status ?? (run.length ? 'pending' : '');
    return { n: i + 1, summary: s.summary, system: s.system, state, icon: state ? `${STATE_ICONS[state] ?? ''} ` : '', detail: detailOf(st) };
  });
  const rollback = rollbackOf(record);
  const undoSteps = (rollback?.steps ?? []).map((s, i) => {
    const st = states.get(rollback!.firstIndex + i);
    const state = st?.status ?? 'pending';
    return { n: i + 1, summary: s.summary, state, icon: `${STATE_ICONS[state] ?? ''} `, detail: detailOf(st) };
  });
  const cancelled = cancelOf(record);
  const planned = steps.length;
  const doneCount = steps.filter((x) => x.state === 'done').length;
  const last = decisions[decisions.length - 1];
  const approvalStatus: RequestView['approvalStatus'] =
    record.status === PENDING ? 'pending' : (['approved', 'rejected', 'cancelled', 'expired'] as const).find((s) => s === record.status) ?? 'other';
  const at = (iso: string | null | undefined) => (iso ? iso.replace('T', ' ').slice(0, 16) + ' UTC' : '?');
  let statusText: string;
  switch (record.status) {
    case PENDING:
      statusText = `Waiting for approval${stageCount > 1 ? ` (stage ${record.stage} of ${stageCount})` : ''}${last ? `; stage ${last.stage} approved by ${last.approverName}` : ''}.`;
      break;
    case 'approved':
      statusText = `Approved by ${record.decidedByName ?? last?.approverName ?? '?'} at ${at(record.decidedAt)}.`;
      break;
    case 'rejected':
      statusText = `Rejected by ${record.decidedByName ?? '?'} at ${at(record.decidedAt)}: ${record.decisionReason ?? ''}`;
      break;
    case 'cancelled':
      statusText = cancelled
        ? `Cancelled by ${cancelled.by} at ${at(cancelled.at)}` +
          (run.length
            ? `: ${doneCount} of ${planned} steps were done before the cancel${steps.some((x) => x.state === 'running') ? '; the step that was running is finishing' : ''}.`
            : '.')
        : `Cancelled at ${at(record.updatedAt)}.`;
      break;
    case 'expired':
      statusText = `Expired at ${at(record.decidedAt ?? record.updatedAt)} without a decision.`;
      break;
    case 'queued':
      statusText = `Approved by ${record.decidedByName ?? '?'} at ${at(record.decidedAt)}; queued to run.`;
      break;
    case 'running':
      statusText = rollback
        ? `Rolling back (asked by ${rollback.by} at ${at(rollback.at)}): ${undoSteps.filter((x) => x.state === 'done').length} of ${undoSteps.length} removal steps done.`
        : `Approved by ${record.decidedByName ?? '?'} at ${at(record.decidedAt)}; running.`;
      break;
    case 'waiting':
      statusText = rollback
        ? `Rolling back (asked by ${rollback.by} at ${at(rollback.at)}); waiting: ${undoSteps.find((x) => x.state === 'waiting')?.summary ?? 'for the next step'}`
        : `Approved by ${record.decidedByName ?? '?'} at ${at(record.decidedAt)}; waiting: ${steps.find((x) => x.state === 'waiting')?.summary ?? 'for the next step'}`;
      break;
    case 'done':
      statusText = `Done at ${at(record.updatedAt)} (approved by ${record.decidedByName ?? '?'} at ${at(record.decidedAt)}).`;
      break;
    case 'failed':
      statusText = rollback ? `Roll back stopped: ${record.error ?? 'a step failed'}` : `Stopped: ${record.error ?? 'a step failed'}`;
      break;
    case 'rolled-back':
      statusText = `Rolled back at ${at(record.updatedAt)} (asked by ${rollback?.by ?? '?'}): ${undoSteps.length} removal step${undoSteps.length === 1 ? '' : 's'} done${rollback?.kept.length ? `; ${rollback.kept.length === 1 ? '1 change stays' : `${rollback.kept.length} changes stay`}` : ''}.`;
      break;
    default:
      statusText = `Status: ${record.status as string}.`;
  }
  const first = facts[0];
  return {
    reference: record.reference,
    kind: record.kind,
    kindTitle,
    status: record.status,
    approvalStatus,
    statusText,
    stageText: stageCount > 1 ? `Approval in ${stageCount} stages.` : '',
    requesterName: record.requesterName,
    requesterAadObjectId: record.requesterAadObjectId,
    createdAt: at(record.createdAt),
    version: record.version,
    facts,
    steps,
    running: run.length > 0,
    canRetry: record.status === 'failed',
    canCancel: ['pending-approval', 'approved', 'queued', 'running', 'waiting'].includes(record.status) && !rollback,
    canRollBack: !rollback && (record.status === 'failed' || record.status === 'cancelled') && (possible?.steps.length ?? 0) > 0,
    rollingBack: rollback !== undefined,
    undoSteps,
    kept: (rollback?.kept ?? []).map((k) => ({ text: keptLine(k) })),
    rollbackNotes: (rollback?.notes ?? []).map((text) => ({ text })),
    notes: [...(p.notes ?? []), ...(p.warnings ?? [])],
    summary: first ? first.value : '',
  };
}
