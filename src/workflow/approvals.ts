import { decide, expireIfDue, nextReminderAt } from '../requests';
import type { AuditEventInput, Store } from '../store';
import type { RequestView } from './request-view';
import { notVisibleMessage } from './approval-access';
import { cancelOf } from './rollback-info';
import { actorEvent, type RequestUseCaseDeps } from './use-case-deps';
import type { Approvals, DecisionOutcome, RequestActor } from './use-cases';

export interface ApprovalsDeps extends RequestUseCaseDeps {
  readonly store: Pick<Store, 'requests' | 'decisions' | 'audit'>;
}

/**
 * Decisions on requests (one or two stages, the store making sure one decision wins per version), the list of what
 * waits for an approver, and the tick that reminds approvers and expires what nobody decided.
 */
export class ApprovalService implements Approvals {
  constructor(private readonly deps: ApprovalsDeps) {}

  private audit(e: AuditEventInput) {
    return this.deps.store.audit.append(e);
  }

  /**
   * Approve or reject: the policy decides who may, the store makes sure only one decision wins per version. Someone
   * who may not see the request hears only that there is none they may see (the same words as for a number that
   * does not exist); whoever may see it hears why not, with its card.
   */
  async decide(actor: RequestActor, reference: string, version: number | undefined, outcome: 'approve' | 'reject', reason: string | undefined): Promise<DecisionOutcome> {
    const { store, access, views } = this.deps;
    const record = await store.requests.get(reference);
    if (!record) {
      await this.audit(actorEvent(actor, 'request.decision-refused', null, { reference: String(reference).slice(0, 40), code: 'not-found' }));
      return { ok: false, code: 'not-found', message: notVisibleMessage(reference) };
    }
    if (!(await access.maySee(actor, record))) {
      await this.audit(actorEvent(actor, 'request.decision-refused', record.reference, { code: 'not-allowed', version: version ?? record.version, outcome }));
      return { ok: false, code: 'not-allowed', message: notVisibleMessage(reference) };
    }
    const decisions = await store.decisions.list(record.id);
    const asOf = version ?? record.version;
    if (record.status === 'cancelled') {
      await this.audit(actorEvent(actor, 'request.decision-refused', record.reference, { code: 'cancelled', version: asOf }));
      return { ok: false, code: 'cancelled', message: `${record.reference} was cancelled${cancelOf(record) ? ` by ${cancelOf(record)?.by ?? ''}` : ''}. Nothing was changed.`, view: views.view(record, decisions) };
    }
    const result = decide(
      access.state(record, decisions),
      { actor: { id: actor.aadObjectId, name: actor.name, groupIds: await access.actorGroups(actor.aadObjectId) }, outcome, reason, version: asOf, now: this.deps.now() },
      access.policy,
    );
    if (!result.ok) {
      await this.audit(actorEvent(actor, 'request.decision-refused', record.reference, { code: result.code, version: asOf, outcome }));
      return { ok: false, code: result.code, message: `${result.message} Nothing was changed.`, view: views.view(record, decisions) };
    }
    const now = this.deps.now().toISOString();
    const patch =
      result.effect === 'next-stage'
        ? { stage: result.state.stage, remindAt: nextReminderAt(result.state, access.policy, this.deps.now()), remindedAt: null }
        : {
            status: result.effect === 'approved' ? ('approved' as const) : ('rejected' as const),
            decidedAt: now,
            decidedBy: actor.aadObjectId,
            decidedByName: actor.name,
            decisionReason: outcome === 'reject' ? (reason ?? '').trim() : null,
            remindAt: null,
          };
    // The decision and the move are one transaction, and the store refuses an approver who decided on this request
    // before (read inside that transaction): a crash between two writes cannot let a stage-1 approver decide stage 2.
    const moved = await this.deps.lifecycle.decide(record, patch, {
      stage: record.stage,
      approverAadObjectId: actor.aadObjectId,
      approverName: actor.name,
      decision: outcome,
      reason: outcome === 'reject' ? (reason ?? '').trim() : null,
      at: now,
    });
    if (!moved.ok) {
      const latest = await store.decisions.list(record.id);
      if (moved.code === 'decided-before') {
        await this.audit(actorEvent(actor, 'request.decision-refused', record.reference, { code: 'decided-earlier-stage', version: asOf, outcome }));
        return {
          ok: false,
          code: 'decided-earlier-stage',
          message: `You already approved stage ${moved.earlier.stage} of ${record.reference}; the next stage needs somebody else. Nothing was changed.`,
          view: views.view(moved.current, latest),
        };
      }
      const last = latest[latest.length - 1];
      const message = last
        ? `${record.reference} was already ${last.decision === 'approve' ? 'approved' : 'rejected'} by ${last.approverName} at ${last.at}. Nothing was changed.`
          : `${record.reference} changed while you decided (now version ${moved.current.version}). Nothing was changed; look at the latest card.`;
      await this.audit(actorEvent(actor, 'request.decision-refused', record.reference, { code: 'already-decided', version: asOf }));
      return { ok: false, code: 'already-decided', message, view: views.view(moved.current, latest) };
    }
    await this.audit(
      actorEvent(actor, 'request.decided', record.reference, { outcome, stage: record.stage, version: record.version, effect: result.effect, ...(outcome === 'reject' ? { reason: (reason ?? '').trim() } : {}) }),
    );
    const view = await views.viewOf(moved.record);
    const message =
      result.effect === 'approved'
        ? `Your request ${record.reference} (${view.kindTitle}) was approved by ${actor.name}.`
        : result.effect === 'rejected'
          ? `Your request ${record.reference} (${view.kindTitle}) was rejected by ${actor.name}: ${(reason ?? '').trim()}`
          : `Your request ${record.reference} passed stage ${record.stage} (approved by ${actor.name}); it now waits for stage ${result.state.stage}.`;
    await this.deps.notifications.requestChanged(moved.record, view, message);
    if (result.effect === 'next-stage') await this.deps.notifications.approvalNeeded(moved.record, view, await access.approverUserIds(moved.record));
    if (result.effect === 'approved' && this.deps.runs) {
      try {
        await this.deps.runs.enqueue(moved.record, actor);
      } catch (err) {
        this.deps.log.error('the approved request could not be queued', { reference: record.reference, err });
      }
      const latest = (await store.requests.get(record.id)) ?? moved.record;
      return { ok: true, reference: latest.reference, view: await views.viewOf(latest), effect: result.effect };
    }
    return { ok: true, reference: moved.record.reference, view, effect: result.effect };
  }

  async listAwaiting(actor: RequestActor, limit = 50): Promise<RequestView[]> {
    const pending = await this.deps.store.requests.listByStatus(['pending-approval'], { limit: 500 });
    const out: RequestView[] = [];
    for (const r of pending) {
      const d = await this.deps.store.decisions.list(r.id);
      if (await this.deps.access.mayDecide(actor, r, d)) out.push(this.deps.views.view(r, d));
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Reminders and expiry: run on a timer by one or more instances (transitions are version-guarded). */
  async tick(): Promise<{ reminded: number; expired: number }> {
    const { store, access, views, notifications, lifecycle } = this.deps;
    const now = this.deps.now();
    let reminded = 0;
    let expired = 0;
    for (const record of await store.requests.dueForExpiry(now)) {
      const decisions = await store.decisions.list(record.id);
      const next = expireIfDue(access.state(record, decisions), now, access.policy);
      if (!next) continue;
      const moved = await lifecycle.move(record, { status: 'expired', decidedAt: now.toISOString(), remindAt: null });
      if (!moved.ok) continue;
      expired++;
      await this.audit({ actorAadObjectId: null, actorName: 'Mailroom', requestRef: record.reference, event: 'request.expired', data: { version: record.version } });
      await notifications.requestChanged(moved.record, views.view(moved.record, decisions), `Your request ${record.reference} expired without a decision. Nothing was changed; you can make it again.`);
    }
    for (const record of await store.requests.dueForReminder(now)) {
      const decisions = await store.decisions.list(record.id);
      const state = access.state(record, decisions);
      const moved = await lifecycle.move(record, { remindedAt: now.toISOString(), remindAt: nextReminderAt(state, access.policy, now) });
      if (!moved.ok) continue;
      reminded++;
      await this.audit({ actorAadObjectId: null, actorName: 'Mailroom', requestRef: record.reference, event: 'request.reminded', data: { stage: record.stage } });
      const view = views.view(moved.record, decisions);
      await notifications.remind(moved.record, view, await access.approverUserIds(moved.record));
      await notifications.requestChanged(moved.record, view, undefined);
    }
    return { reminded, expired };
  }
}
