import type { RollbackPlan } from '../plans';
import type { AuditEventInput, RequestRecord, RunStepRecord, Store } from '../store';
import { notVisibleMessage } from './approval-access';
import { shortTime, type RequestView } from './request-view';
import { digestOf, keptText, rollbackAllowed, rollbackFor, rollbackOf, rollbackOffer, stepList, withResult, type RollbackInfo } from './rollback-info';
import { actorEvent, type RequestUseCaseDeps } from './use-case-deps';
import type { DecisionOutcome, RequestActor, RollbackOutcome, RollbackPreview, RunControl } from './use-cases';

/** Statuses a request can be cancelled in (a roll back in progress cannot). */
const CANCELLABLE = ['pending-approval', 'approved', 'queued', 'running', 'waiting', 'failed'];
const RUN_STATUSES = ['queued', 'running', 'waiting'];

export interface RunControlDeps extends RequestUseCaseDeps {
  readonly store: Pick<Store, 'requests' | 'runs' | 'audit'>;
}

/**
 * What people do to a request once it is filed, besides deciding: retry a stopped run, cancel (before or during the
 * run), and roll back what Mailroom created for a stopped or cancelled request. Each is allowed to the requester,
 * an approver of the kind or an admin (retry: the requester or an admin), version-guarded, and audited when refused.
 */
export class RunControlService implements RunControl {
  constructor(private readonly deps: RunControlDeps) {}

  private audit(e: AuditEventInput) {
    return this.deps.store.audit.append(e);
  }

  /**
   * The request, when the actor may see it (its requester, an approver of its kind, an admin). Otherwise the one
   * neutral refusal, the same for a number that does not exist and for someone else's request, with no card and
   * no name in it; the refusal is audited under `event` (code `not-found` or `not-allowed`).
   */
  private async visible(
    actor: RequestActor,
    reference: string,
    event: string,
    data: Record<string, unknown> = {},
  ): Promise<{ ok: true; record: RequestRecord } | { ok: false; code: string; message: string }> {
    const record = await this.deps.store.requests.get(reference);
    if (!record) {
      await this.audit(actorEvent(actor, event, null, { reference: String(reference).slice(0, 40), code: 'not-found', ...data }));
      return { ok: false, code: 'not-found', message: notVisibleMessage(reference) };
    }
    if (!(await this.deps.access.maySee(actor, record))) {
      await this.audit(actorEvent(actor, event, record.reference, { code: 'not-allowed', ...data, status: record.status }));
      return { ok: false, code: 'not-allowed', message: notVisibleMessage(reference) };
    }
    return { ok: true, record };
  }

  /** Retry a failed run (its requester or an admin), once the cause is fixed. */
  async retry(actor: RequestActor, reference: string, version: number | undefined): Promise<DecisionOutcome> {
    const found = await this.visible(actor, reference, 'run.retry-refused');
    if (!found.ok) return found;
    const { record } = found;
    const refuse = async (code: string, message: string): Promise<DecisionOutcome> => {
      await this.audit(actorEvent(actor, 'run.retry-refused', record.reference, { code }));
      return { ok: false, code, message: `${message} Nothing was changed.`, view: await this.deps.views.viewOf(record) };
    };
    // An approver of the kind sees the request (and so its requester's name) but does not retry it.
    if (record.requesterAadObjectId !== actor.aadObjectId && !actor.isAdmin) return refuse('not-allowed', `Only ${record.requesterName} (who made ${record.reference}) or an admin can retry it.`);
    if (record.status !== 'failed') return refuse('not-failed', `${record.reference} is ${record.status}; only a stopped request can be retried.`);
    if (version !== undefined && version !== record.version) return refuse('stale', `This card is out of date (${record.reference} has changed since).`);
    if (!this.deps.runs) return refuse('unavailable', 'Running requests is not configured.');
    await this.deps.runs.retry(record, actor);
    const latest = (await this.deps.store.requests.get(record.id)) ?? record;
    return { ok: true, reference: latest.reference, view: await this.deps.views.viewOf(latest), effect: 'approved' };
  }

  /**
   * The requester, an approver of the kind or an admin cancels a request that has not finished: before its run,
   * or while it runs, waits or stands failed. A step that is executing finishes and its outcome is recorded; no
   * later step is claimed; pending and waiting steps are cancelled. A roll back in progress is not cancelled.
   */
  async cancel(actor: RequestActor, reference: string, version: number | undefined): Promise<DecisionOutcome> {
    const found = await this.visible(actor, reference, 'request.cancel-refused');
    if (!found.ok) return found;
    const { record } = found;
    const refuse = async (code: string, message: string): Promise<DecisionOutcome> => {
      await this.audit(actorEvent(actor, 'request.cancel-refused', record.reference, { code, status: record.status }));
      return { ok: false, code, message: `${message} Nothing was changed.`, view: await this.deps.views.viewOf(record) };
    };
    const rollback = rollbackOf(record);
    if (rollback && record.status !== 'failed' && record.status !== 'rolled-back') {
      return refuse('rolling-back', `${record.reference} is being rolled back (asked by ${rollback.by}); a roll back is not stopped halfway.`);
    }
    if (!CANCELLABLE.includes(record.status)) return refuse('too-late', `${record.reference} is ${record.status}; only a request that has not finished can be cancelled.`);
    if (version !== undefined && version !== record.version) return refuse('stale', `This card is out of date (${record.reference} has changed since).`);
    const now = this.deps.now();
    const info = { by: actor.name, byId: actor.aadObjectId, at: now.toISOString(), from: record.status };
    const moved = await this.deps.lifecycle.move(record, { status: 'cancelled', remindAt: null, result: withResult(record, 'cancelled', info) });
    if (!moved.ok) return refuse('stale', `${record.reference} changed at the same moment.`);
    // What has not started stops here; a step running under its lease finishes and is recorded by the runner.
    await this.deps.store.runs.cancelPending(record.id, now);
    const steps = await this.deps.store.runs.listByRequest(record.id);
    await this.audit(
      actorEvent(actor, 'request.cancelled', record.reference, { version: record.version, from: record.status, steps: Object.fromEntries(steps.map((st) => [st.stepId, st.status])) }),
    );
    const view = await this.deps.views.viewOf(moved.record);
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
    return { ok: true, reference: moved.record.reference, view, effect: 'rejected' };
  }

  /** What a roll back of the request would remove and keep (for the confirmation card); refusals are audited. */
  async rollbackPreview(actor: RequestActor, reference: string, version: number | undefined): Promise<RollbackPreview> {
    const checked = await this.rollbackCheck(actor, reference, version);
    if (!checked.ok) return checked;
    return { ok: true, reference: checked.record.reference, view: await this.deps.views.viewOf(checked.record), plan: checked.plan, digest: digestOf(checked.plan) };
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
    const now = this.deps.now();
    const current = digestOf(plan);
    if (digest !== undefined && digest !== current) {
      await this.audit(actorEvent(actor, 'rollback.refused', record.reference, { code: 'changed', version: record.version }));
      return {
        ok: false,
        code: 'changed',
        message: `What a roll back of ${record.reference} would do has changed since this card was made (a step finished meanwhile). Nothing was changed; check the list below and confirm again.`,
        view: await this.deps.views.viewOf(record),
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
    const moved = await this.deps.lifecycle.move(record, { status: 'running', error: null, result: withResult(record, 'rollback', info) });
    if (!moved.ok) {
      const winner = rollbackOf(moved.current);
      const code = winner ? 'already' : 'stale';
      await this.audit(actorEvent(actor, 'rollback.refused', record.reference, { code, version: record.version }));
      const message = winner
        ? `${record.reference} is already being rolled back (asked by ${winner.by} at ${shortTime(winner.at)}). Nothing was changed.`
        : `${record.reference} changed at the same moment. Nothing was changed; look at the latest card.`;
      return { ok: false, code, message, view: await this.deps.views.viewOf(moved.current) };
    }
    try {
      await this.deps.store.runs.appendSteps(record.id, plan.steps.map((st) => ({ stepId: st.id, action: st.action, system: st.system, input: st.input })), now, { skipUnfinished: true });
    } catch (err) {
      // The request keeps the roll back; the runner's recovery stores its steps (reconcile).
      this.deps.log.error('the roll-back steps could not be stored now; recovery will store them', { reference: record.reference, err });
    }
    this.deps.runs?.kick();
    await this.audit(
      actorEvent(actor, 'rollback.requested', record.reference, {
        version: record.version,
        from: record.status,
        compensation: plan.steps.map((st) => ({ step: st.id, action: st.action, undoes: st.undoes, input: st.input })),
        kept: plan.kept.map((k) => ({ step: k.stepId, reason: k.reason })),
      }),
    );
    const view = await this.deps.views.viewOf(moved.record);
    const message =
      `${actor.name} asked to roll back ${record.reference}. Mailroom removes, in this order: ${plan.steps.map((st) => st.what).join('; ')}.` +
      (plan.kept.length ? ` Stays: ${keptText(plan.kept)}` : '');
    await this.deps.notifications.requestChanged(moved.record, view, message);
    return { ok: true, reference: moved.record.reference, view };
  }

  /** Who may roll back and whether the request can be: the refusals are audited and say that nothing changed. */
  private async rollbackCheck(
    actor: RequestActor,
    reference: string,
    version: number | undefined,
  ): Promise<{ ok: true; record: RequestRecord; steps: RunStepRecord[]; plan: RollbackPlan } | { ok: false; code: string; message: string; record?: RequestRecord; view?: RequestView }> {
    const found = await this.visible(actor, reference, 'rollback.refused', { version: version ?? null });
    if (!found.ok) return found;
    const { record } = found;
    const refuse = async (code: string, message: string) => {
      await this.audit(actorEvent(actor, 'rollback.refused', record.reference, { code, version: version ?? null, status: record.status }));
      return { ok: false as const, code, message: `${message} Nothing was changed.`, view: await this.deps.views.viewOf(record) };
    };
    const earlier = rollbackOf(record);
    if (earlier) {
      const when = `asked by ${earlier.by} at ${shortTime(earlier.at)}`;
      if (record.status === 'rolled-back') return refuse('already', `${record.reference} was already rolled back (${when}).`);
      if (record.status === 'failed') return refuse('already', `${record.reference} is already being rolled back (${when}), and that roll back stopped: press Retry on its card once the cause is fixed.`);
      return refuse('already', `${record.reference} is already being rolled back (${when}).`);
    }
    if (!rollbackAllowed(record)) {
      const why = RUN_STATUSES.includes(record.status) ? ' Cancel it first; what it did can be rolled back once it has stopped.' : record.status === 'done' ? ' A finished creation is not rolled back: ask for its removal instead.' : '';
      return refuse('not-stopped', `${record.reference} is ${record.status}; only a request that stopped or was cancelled, or a finished change, can be rolled back.${why}`);
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
}
