import { decide, expireIfDue, momentText, nextReminderAt, parseMoment } from '../requests';
import type { AuditEventInput, Store } from '../store';
import type { ApproverDirectoryPort, ApproverResolver } from './approver-resolution';
import type { CardPlace, DelegationsPort } from './ports';
import type { RequestView } from './request-view';
import { notVisibleMessage } from './approval-access';
import { cancelOf } from './rollback-info';
import { actorEvent, type RequestUseCaseDeps } from './use-case-deps';
import type { Approvals, DecisionOutcome, RequestActor } from './use-cases';

export interface ApprovalsDeps extends RequestUseCaseDeps {
  readonly store: Pick<Store, 'requests' | 'decisions' | 'audit'> & { readonly delegations?: DelegationsPort };
  /** Escalation and reassignment (absent: reminders only, no reassign). */
  readonly resolver?: Pick<ApproverResolver, 'escalate' | 'reassign'>;
  /** Finds the person a delegation or reassignment names. */
  readonly directory?: Pick<ApproverDirectoryPort, 'findUser'>;
  /** The organisation's time zone a delegation's end date is read in (TIME_ZONE). Default UTC. */
  readonly timeZone?: string;
}

/** The answer to a delegation or reassignment: done (with what to say), or why not (nothing was changed). */
export type ApprovalChange = { readonly ok: true; readonly message: string } | { readonly ok: false; readonly message: string };

/** The longest an out-of-office delegation may run. */
const MAX_DELEGATION_DAYS = 366;

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
  async decide(
    actor: RequestActor,
    reference: string,
    version: number | undefined,
    outcome: 'approve' | 'reject',
    reason: string | undefined,
    options: { readonly quiet?: boolean; readonly answered?: CardPlace } = {},
  ): Promise<DecisionOutcome> {
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
    // A delegate decides for the approver who delegated: the policy checks that approver's right, the decision names both.
    const as = await access.decidingAs(actor, record, decisions);
    const onBehalfOf = as.ok ? as.onBehalfOf : undefined;
    const policyActor = onBehalfOf
      ? { id: onBehalfOf.id, name: onBehalfOf.name, groupIds: await access.actorGroups(onBehalfOf.id) }
      : { id: actor.aadObjectId, name: actor.name, groupIds: await access.actorGroups(actor.aadObjectId) };
    const deciderName = onBehalfOf ? `${actor.name} for ${onBehalfOf.name}` : actor.name;
    const result = decide(await access.stateOf(record, decisions), { actor: policyActor, outcome, reason, version: asOf, now: this.deps.now() }, access.policy);
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
            decidedByName: deciderName,
            decisionReason: outcome === 'reject' ? (reason ?? '').trim() : null,
            remindAt: null,
          };
    // The decision and the move are one transaction, and the store refuses an approver who decided on this request
    // before (read inside that transaction): a crash between two writes cannot let a stage-1 approver decide stage 2.
    const moved = await this.deps.lifecycle.decide(record, patch, {
      stage: record.stage,
      approverAadObjectId: actor.aadObjectId,
      approverName: deciderName,
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
      actorEvent(actor, 'request.decided', record.reference, {
        outcome, stage: record.stage, version: record.version, effect: result.effect,
        ...(onBehalfOf ? { onBehalfOf: onBehalfOf.id, onBehalfOfName: onBehalfOf.name } : {}),
        ...(outcome === 'reject' ? { reason: (reason ?? '').trim() } : {}),
      }),
    );
    const view = await views.viewOf(moved.record);
    const message =
      result.effect === 'approved'
        ? `Your request ${record.reference} (${view.kindTitle}) was approved by ${deciderName}.`
        : result.effect === 'rejected'
          ? `Your request ${record.reference} (${view.kindTitle}) was rejected by ${deciderName}: ${(reason ?? '').trim()}`
          : `Your request ${record.reference} passed stage ${record.stage} (approved by ${deciderName}); it now waits for stage ${result.state.stage}.`;
    // quiet: a row of a batch; the batch tells people once for all its rows (batches.ts)
    if (!options.quiet) {
      // the card pressed on shows the outcome already (the invoke's answer): the others are updated
      await this.deps.notifications.requestChanged(moved.record, view, message, options.answered);
      if (result.effect === 'next-stage') await this.deps.notifications.approvalNeeded(moved.record, view, await access.approverUserIds(moved.record));
    }
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

  /**
   * `delegate approvals to <person> until <date>`: while the delegation runs, the delegate gets the cards of what the
   * approver may decide and may decide it for them (the decision names both). Cards of requests already waiting for
   * the approver go to the delegate at once.
   */
  async delegate(actor: RequestActor, to: string, until: string): Promise<ApprovalChange> {
    const { store, directory } = this.deps;
    const delegations = store.delegations;
    if (!delegations || !directory) return { ok: false, message: 'Delegation is not available here. Nothing was changed.' };
    const zone = this.deps.timeZone ?? 'UTC';
    const end = parseMoment(until, zone, true);
    if ('error' in end) return { ok: false, message: `${end.error} Nothing was changed.` };
    const now = this.deps.now();
    if (end.at.getTime() <= now.getTime()) return { ok: false, message: `${momentText(end.at, zone)} has passed; give a later date. Nothing was changed.` };
    if (end.at.getTime() > now.getTime() + MAX_DELEGATION_DAYS * 86_400_000) return { ok: false, message: `${momentText(end.at, zone)} is more than a year ahead; give a date within a year. Nothing was changed.` };
    const person = await directory.findUser(to);
    if (!person) return { ok: false, message: `Mailroom found no person "${to.slice(0, 100)}" (a user with a mailbox or a mail user) to delegate to. Give their email address or sign-in name. Nothing was changed.` };
    if (person.id === actor.aadObjectId.toLowerCase()) return { ok: false, message: 'You cannot delegate your approvals to yourself. Nothing was changed.' };
    await delegations.set({ fromAadObjectId: actor.aadObjectId, fromName: actor.name, toAadObjectId: person.id, toName: person.name, until: end.at.toISOString() }, now);
    await this.audit(actorEvent(actor, 'approval.delegated', null, { to: person.id, toName: person.name, until: end.at.toISOString() }));
    let sent = 0;
    for (const r of await store.requests.listByStatus(['pending-approval'], { limit: 500 })) {
      const d = await store.decisions.list(r.id);
      if (!(await this.deps.access.mayDecide(actor, r, d))) continue;
      await this.deps.notifications.approvalNeeded(r, await this.deps.views.viewOf(r), [person.id]);
      sent++;
    }
    return {
      ok: true,
      message: `Until ${momentText(end.at, zone)}, ${person.name} gets the approval cards you would get and may decide them for you; each decision names you both.${sent ? ` ${sent === 1 ? 'One request waits' : `${sent} requests wait`} already; ${person.name} got ${sent === 1 ? 'its card' : 'their cards'}.` : ''} "delegate approvals off" ends it sooner.`,
    };
  }

  /** `delegate approvals off`: ends the actor's delegation. */
  async undelegate(actor: RequestActor): Promise<ApprovalChange> {
    const delegations = this.deps.store.delegations;
    if (!delegations) return { ok: false, message: 'Delegation is not available here. Nothing was changed.' };
    const running = await delegations.from(actor.aadObjectId, this.deps.now());
    if (!(await delegations.clear(actor.aadObjectId)) || !running) return { ok: false, message: 'You have no delegation running. Nothing was changed.' };
    await this.audit(actorEvent(actor, 'approval.delegation-ended', null, { to: running.toAadObjectId, toName: running.toName }));
    return { ok: true, message: `Your approvals no longer go to ${running.toName}.` };
  }

  /**
   * `reassign R-12 to <person>`: an approver of the current stage hands it to someone else, who gets the card and may
   * decide it (so may the approvers it had). Someone who may not see the request hears only that there is none.
   */
  async reassign(actor: RequestActor, reference: string, to: string): Promise<ApprovalChange> {
    const { store, access, directory, resolver } = this.deps;
    const record = await store.requests.get(reference);
    if (!record || !(await access.maySee(actor, record))) {
      await this.audit(actorEvent(actor, 'approval.reassign-refused', record?.reference ?? null, { code: 'not-visible' }));
      return { ok: false, message: notVisibleMessage(reference) };
    }
    const decisions = await store.decisions.list(record.id);
    if (record.status !== 'pending-approval') return { ok: false, message: `${record.reference} is ${record.status}; only a request that waits for a decision can be reassigned. Nothing was changed.` };
    if (!(await access.mayDecide(actor, record, decisions))) {
      await this.audit(actorEvent(actor, 'approval.reassign-refused', record.reference, { code: 'not-an-approver' }));
      return { ok: false, message: `Only someone who may decide ${record.reference} now can reassign it. Nothing was changed.` };
    }
    if (!directory || !resolver) return { ok: false, message: 'Reassigning is not available here. Nothing was changed.' };
    const person = await directory.findUser(to);
    if (!person) return { ok: false, message: `Mailroom found no person "${to.slice(0, 100)}" (a user with a mailbox or a mail user). Give their email address or sign-in name. Nothing was changed.` };
    if (person.id === record.requesterAadObjectId.toLowerCase()) return { ok: false, message: `${person.name} made ${record.reference}; nobody decides their own request. Nothing was changed.` };
    if (person.id === actor.aadObjectId.toLowerCase()) return { ok: false, message: `You may decide ${record.reference} already. Nothing was changed.` };
    const added = await resolver.reassign(record, person, actor.aadObjectId);
    await this.audit(actorEvent(actor, 'approval.reassigned', record.reference, { stage: record.stage, to: person.id, toName: person.name, added }));
    const view = await this.deps.views.viewOf(record);
    await this.deps.notifications.approvalNeeded(record, view, [person.id]);
    await this.deps.notifications.requestChanged(record, view, `${actor.name} asked ${person.name} to decide ${record.reference}.`);
    return { ok: true, message: `${person.name} got the approval card of ${record.reference} and may decide it now.` };
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
      // Nobody decided by the first reminder: the stage goes to the next level too (once), who get the card.
      let escalated: { id: string }[] = [];
      try {
        escalated = this.deps.resolver ? await this.deps.resolver.escalate(moved.record) : [];
      } catch (err) {
        // the reminder went out; the escalation is tried again at the next reminder
        this.deps.log.warn('the request could not be escalated', { reference: record.reference, err: err instanceof Error ? err.message : String(err) });
      }
      if (escalated.length) {
        await this.audit({ actorAadObjectId: null, actorName: 'Mailroom', requestRef: record.reference, event: 'request.escalated', data: { stage: record.stage, to: escalated.map((u) => u.id) } });
        await notifications.approvalNeeded(moved.record, view, escalated.map((u) => u.id));
      }
      await notifications.requestChanged(moved.record, view, escalated.length ? `Nobody has decided ${record.reference} yet: it was escalated to the administrators, who may decide it now as well.` : undefined);
    }
    return { reminded, expired };
  }
}
