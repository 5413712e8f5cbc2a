import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Logger } from '../log';
import { isUndoStepId, type Plan, type StepAction } from '../plans';
import type { AuditEventInput, RequestRecord, RequestStatus } from '../store';
import { StepError, type BatchWaiter, type StepContext, type StepExecutor, type StepOutcome } from './executors/types';
import { keptText, rollbackFor, rollbackOf, rollbackOffer } from './rollback-info';

/** A step row as the runner sees it (the store's run repository provides these). */
export interface RunStep {
  readonly id: number;
  readonly requestId: number;
  readonly stepIndex: number;
  readonly stepId: string;
  readonly action: string;
  readonly system: string;
  readonly input: unknown;
  readonly status: 'pending' | 'running' | 'waiting' | 'done' | 'failed' | 'skipped' | 'cancelled';
  readonly attempts: number;
  readonly result: unknown;
  readonly error: string | null;
}

/** What the runner needs from the store. */
export interface RunStorePort {
  runs: {
    createSteps(requestId: number, steps: readonly { stepId: string; action: string; system: string; input: unknown }[], now: Date): Promise<unknown>;
    claimNext(owner: string, now: Date, leaseMs: number, limit: number): Promise<RunStep[]>;
    claimWaiting(owner: string, now: Date, leaseMs: number, limit: number): Promise<RunStep[]>;
    complete(stepId: number, owner: string, result: unknown, now: Date): Promise<boolean>;
    wait(stepId: number, owner: string, until: Date, result: unknown, now: Date): Promise<boolean>;
    retryLater(stepId: number, owner: string, nextAt: Date, error: string, now: Date): Promise<boolean>;
    fail(stepId: number, owner: string, error: string, now: Date): Promise<boolean>;
    listByRequest(requestId: number): Promise<RunStep[]>;
    resetFailed(requestId: number, now: Date): Promise<unknown>;
    heartbeat(ids: readonly number[], owner: string, leaseMs: number, now: Date): Promise<unknown>;
    /** Roll back: append the compensation steps, skipping the unfinished original ones (idempotent). */
    appendSteps(requestId: number, steps: readonly { stepId: string; action: string; system: string; input: unknown }[], now: Date, options?: { skipUnfinished?: boolean }): Promise<unknown>;
    /** The lease holder gives its step up: the request was cancelled. */
    cancelClaimed(id: number, owner: string, now: Date, note?: string): Promise<boolean>;
  };
  requests: {
    get(idOrRef: number | string): Promise<RequestRecord | undefined>;
    listByStatus(statuses: readonly RequestStatus[], opts: { limit: number }): Promise<RequestRecord[]>;
    transition(id: number, expectedVersion: number, patch: { status?: RequestStatus; result?: unknown; error?: string | null }): Promise<{ ok: true; record: RequestRecord } | { ok: false; current: RequestRecord }>;
  };
  audit: { append(e: AuditEventInput): Promise<unknown> };
}

/** Tells people how a run goes (the Teams layer updates the status cards; calls are coalesced there). */
export interface RunNotifications {
  runChanged(record: RequestRecord, steps: readonly RunStep[], message?: string): Promise<void>;
}

export interface RunnerOptions {
  readonly store: RunStorePort;
  readonly executors: readonly StepExecutor[];
  readonly waiters: readonly BatchWaiter[];
  readonly notifications: RunNotifications;
  readonly log: Logger;
  readonly now?: () => Date;
  /** Unique per process; default host:pid:random. */
  readonly owner?: string;
  readonly leaseMs?: number;
  /** How often the loop looks for work (ms). */
  readonly pollMs?: number;
  /** How often waiting steps are re-checked (ms). */
  readonly waitPollMs?: number;
  /** Transient failures: tries before the step fails, and the backoff. */
  readonly maxAttempts?: number;
  readonly backoffBaseMs?: number;
  readonly backoffCapMs?: number;
  /** Steps run at once by this process. */
  readonly concurrency?: number;
}

const SECRET_HINT = /pass(word|wd|phrase)|secret|token|pwd$|apikey|privatekey|authorization/i;

/** Capped exponential backoff with jitter; Retry-After wins when it is longer. */
export function backoffMs(attempt: number, baseMs: number, capMs: number, retryAfterMs?: number, random: () => number = Math.random): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.round(exp / 2 + (random() * exp) / 2);
  return Math.max(jittered, retryAfterMs ?? 0);
}

/**
 * The durable runner: claims steps with a lease (several instances may share one PostgreSQL), runs them through
 * idempotent executors, records every outcome, retries transient failures with capped backoff honouring
 * Retry-After, stops a request on a permanent failure with a person-readable reason, and serves every waiting
 * step from one poller that batches its checks. Waits are timers in the store, never sleeping promises.
 */
export class WorkflowRunner {
  private readonly executors = new Map<string, StepExecutor>();
  private readonly waiters = new Map<string, BatchWaiter>();
  readonly owner: string;
  private readonly now: () => Date;
  private readonly leaseMs: number;
  private readonly maxAttempts: number;
  private timer: NodeJS.Timeout | undefined;
  private waitTimer: NodeJS.Timeout | undefined;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private running = false;
  private inFlight = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly o: RunnerOptions) {
    for (const e of o.executors) this.executors.set(e.action, e);
    for (const w of o.waiters) this.waiters.set(w.action, w);
    this.owner = o.owner ?? `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.now = o.now ?? (() => new Date());
    this.leaseMs = o.leaseMs ?? 120_000;
    this.maxAttempts = o.maxAttempts ?? 8;
  }

  /** Actions the plan uses that no executor or waiter implements (checked before a run starts). */
  missingExecutors(plan: Plan): string[] {
    return plan.steps.map((s) => s.action).filter((a) => !this.executors.has(a) && !this.waiters.has(a));
  }

  /** Starts the run of an approved request: creates its steps (idempotent) and marks it queued. */
  async enqueue(record: RequestRecord, actor: { aadObjectId: string | null; name: string }): Promise<void> {
    const plan = record.plan as Plan;
    const missing = this.missingExecutors(plan);
    if (missing.length) throw new Error(`no executor for ${missing.join(', ')}`);
    await this.o.store.runs.createSteps(
      record.id,
      plan.steps.map((s) => ({ stepId: s.id, action: s.action, system: s.system, input: s.input })),
      this.now(),
    );
    await this.setStatus(record.id, 'queued');
    await this.o.store.audit.append({ actorAadObjectId: actor.aadObjectId, actorName: actor.name, requestRef: record.reference, event: 'run.queued', data: { steps: plan.steps.length } });
    this.kick();
  }

  /** Retry after a permanent failure (the cause was fixed): failed steps become pending again. */
  async retry(record: RequestRecord, actor: { aadObjectId: string; name: string }): Promise<void> {
    await this.o.store.runs.resetFailed(record.id, this.now());
    await this.setStatus(record.id, 'running', null);
    await this.o.store.audit.append({ actorAadObjectId: actor.aadObjectId, actorName: actor.name, requestRef: record.reference, event: 'run.retried', data: {} });
    this.kick();
  }

  /**
   * Finishes what a crash interrupted between two writes: a run whose steps are all done but whose request is
   * not, and an approved request whose steps were never created. Runs at start and then now and again.
   */
  async reconcile(): Promise<number> {
    let fixed = 0;
    for (const record of await this.o.store.requests.listByStatus(['approved', 'queued', 'running', 'waiting'], { limit: 500 })) {
      let steps = await this.o.store.runs.listByRequest(record.id);
      const rollback = rollbackOf(record);
      if (rollback && steps.length && (!steps.some((s) => isUndoStepId(s.stepId)) || steps.some((s) => !isUndoStepId(s.stepId) && ['pending', 'waiting', 'failed', 'cancelled'].includes(s.status)))) {
        // A roll back was asked for, but its steps were not (all) stored before a crash: store them now.
        await this.o.store.runs.appendSteps(record.id, rollback.steps.map((s) => ({ stepId: s.id, action: s.action, system: s.system, input: s.input })), this.now(), { skipUnfinished: true });
        steps = await this.o.store.runs.listByRequest(record.id);
        fixed++;
      }
      if (steps.length === 0 && record.plan) {
        await this.enqueue(record, { aadObjectId: null, name: 'Mailroom (recovery)' });
        fixed++;
      } else if (steps.length && steps.every((s) => s.status === 'done' || s.status === 'skipped') && record.status !== 'done') {
        await this.finish(record, steps);
        fixed++;
      }
    }
    return fixed;
  }

  start(): void {
    this.reconcile().catch((err: unknown) => this.o.log.error('reconcile failed', { err }));
    this.reconcileTimer = setInterval(() => {
      this.reconcile().catch((err: unknown) => this.o.log.error('reconcile failed', { err }));
    }, 60_000);
    this.reconcileTimer.unref();
    const pollMs = this.o.pollMs ?? 1000;
    const waitPollMs = this.o.waitPollMs ?? 5000;
    this.timer = setInterval(() => this.kick(), pollMs);
    this.timer.unref();
    this.waitTimer = setInterval(() => {
      this.pollWaiting().catch((err: unknown) => this.o.log.error('wait poll failed', { err }));
    }, waitPollMs);
    this.waitTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.waitTimer) clearInterval(this.waitTimer);
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    await Promise.allSettled([...this.inFlight]);
  }

  /** Runs claimable steps now (also what the timer does). */
  kick(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    const p = this.drain()
      .catch((err: unknown) => this.o.log.error('runner pass failed', { err }))
      .finally(() => {
        this.running = false;
        this.inFlight.delete(p);
      });
    this.inFlight.add(p);
  }

  /** One full pass for tests: run every claimable step until none is left, then poll the waits once. */
  async runUntilIdle(maxPasses = 200): Promise<void> {
    for (let i = 0; i < maxPasses; i++) {
      const didWork = await this.drainOnce();
      const polled = await this.pollWaiting();
      if (!didWork && !polled) return;
    }
  }

  /**
   * Keeps up to `concurrency` steps running: a free slot is filled as soon as a step ends (a slow AD write never
   * holds back the quick cloud steps of other requests), and the pass ends when nothing runs and nothing is due.
   */
  private async drain(): Promise<void> {
    const limit = this.o.concurrency ?? 8;
    const running = new Set<Promise<void>>();
    for (;;) {
      const free = this.stopped ? 0 : limit - running.size;
      let claimed: RunStep[] = [];
      try {
        if (free > 0) claimed = await this.o.store.runs.claimNext(this.owner, this.now(), this.leaseMs, free);
      } catch (err) {
        await Promise.allSettled(running); // the pass ends with its steps, never leaves them behind
        throw err;
      }
      for (const step of claimed) {
        const p: Promise<void> = this.runStep(step)
          .catch((err: unknown) => this.o.log.error('step failed to run', { err, step: step.stepId }))
          .finally(() => running.delete(p));
        running.add(p);
      }
      if (running.size === 0) return;
      await Promise.race(running);
    }
  }

  private async drainOnce(): Promise<boolean> {
    const claimed = await this.o.store.runs.claimNext(this.owner, this.now(), this.leaseMs, this.o.concurrency ?? 8);
    if (!claimed.length) return false;
    await Promise.all(claimed.map((s) => this.runStep(s)));
    return true;
  }

  private async context(step: RunStep, record: RequestRecord): Promise<StepContext> {
    const steps = await this.o.store.runs.listByRequest(step.requestId);
    const results: Record<string, Record<string, unknown>> = {};
    for (const s of steps) if (s.status === 'done' && s.result && typeof s.result === 'object') results[s.stepId] = s.result as Record<string, unknown>;
    return { reference: record.reference, requestId: record.id, stepId: step.stepId, attempt: step.attempts, now: this.now(), log: this.o.log.child({ reference: record.reference, step: step.stepId }), results };
  }

  private async runStep(step: RunStep): Promise<void> {
    const record = await this.o.store.requests.get(step.requestId);
    if (!record) return;
    if (record.status === 'cancelled') {
      // Claimed just before the cancel: it has not started, so it does not run.
      await this.o.store.runs.cancelClaimed(step.id, this.owner, this.now());
      return;
    }
    if (record.status === 'queued' || record.status === 'waiting') await this.setStatus(record.id, 'running');
    const ctx = await this.context(step, record);
    const waiter = this.waiters.get(step.action);
    if (waiter) {
      // a wait step: first check now (it may already hold), then leave it to the poller
      const outcome = (await waiter.checkAll([{ key: String(step.id), input: step.input as never, ctx }])).get(String(step.id));
      await this.record(step, record, outcome ?? { kind: 'wait', until: new Date(this.now().getTime() + (this.o.waitPollMs ?? 5000)), reason: 'waiting' });
      return;
    }
    const executor = this.executors.get(step.action);
    if (!executor) {
      await this.record(step, record, new StepError(`Mailroom has no executor for the step "${step.action}"; nothing was done in this step.`, false));
      return;
    }
    let outcome: StepOutcome | StepError;
    try {
      await this.o.store.audit.append({ actorAadObjectId: null, actorName: 'Mailroom', requestRef: record.reference, event: 'operation.started', data: { step: step.stepId, action: step.action, attempt: step.attempts, input: maskInput(step.input) } });
      const beat = setInterval(() => {
        this.o.store.runs.heartbeat([step.id], this.owner, this.leaseMs, this.now()).catch((err: unknown) => this.o.log.warn('lease renewal failed', { err }));
      }, Math.max(1000, Math.floor(this.leaseMs / 3)));
      beat.unref();
      try {
        outcome = await executor.run(step.input as never, ctx);
      } finally {
        clearInterval(beat);
      }
    } catch (err) {
      outcome = err instanceof StepError ? err : new StepError(err instanceof Error ? err.message : String(err), true);
    }
    await this.record(step, record, outcome);
  }

  /** Checks every waiting step whose time has come, batched per action. Returns whether any was due. */
  async pollWaiting(): Promise<boolean> {
    const due = await this.o.store.runs.claimWaiting(this.owner, this.now(), this.leaseMs, 500);
    if (!due.length) return false;
    const byAction = new Map<string, RunStep[]>();
    for (const s of due) byAction.set(s.action, [...(byAction.get(s.action) ?? []), s]);
    for (const [action, steps] of byAction) {
      const waiter = this.waiters.get(action);
      const records = new Map<number, RequestRecord>();
      for (const s of steps) {
        const r = await this.o.store.requests.get(s.requestId);
        if (!r) continue;
        if (r.status === 'cancelled') {
          // A cancelled request's wait is neither checked again nor moved on.
          await this.o.store.runs.cancelClaimed(s.id, this.owner, this.now());
          continue;
        }
        records.set(s.requestId, r);
      }
      const items = await Promise.all(
        steps.filter((s) => records.has(s.requestId)).map(async (s) => ({ key: String(s.id), input: s.input as never, ctx: await this.context(s, records.get(s.requestId)!) })),
      );
      let answers: Map<string, StepOutcome | StepError>;
      try {
        answers = waiter ? await waiter.checkAll(items) : new Map<string, StepOutcome | StepError>();
      } catch (err) {
        const e = err instanceof StepError ? err : new StepError(err instanceof Error ? err.message : String(err), true);
        answers = new Map(items.map((i) => [i.key, e]));
      }
      for (const s of steps) {
        const r = records.get(s.requestId);
        if (!r) continue;
        const a = answers.get(String(s.id)) ?? { kind: 'wait' as const, until: new Date(this.now().getTime() + (this.o.waitPollMs ?? 5000)), reason: 'waiting' };
        await this.record(s, r, a, true);
      }
    }
    return true;
  }

  /** Records a step's outcome. `fresh`: `record` was read just now (else it is read again: it may have been cancelled meanwhile). */
  private async record(step: RunStep, record: RequestRecord, outcome: StepOutcome | StepError, fresh = false): Promise<void> {
    const now = this.now();
    const base = { step: step.stepId, action: step.action, attempt: step.attempts };
    if (!fresh) record = (await this.o.store.requests.get(record.id)) ?? record;
    if (record.status === 'cancelled') return this.recordAfterCancel(step, record, outcome, now);
    if (outcome instanceof StepError) {
      if (outcome.transient && step.attempts < this.maxAttempts) {
        const wait = backoffMs(step.attempts, this.o.backoffBaseMs ?? 1000, this.o.backoffCapMs ?? 60_000, outcome.retryAfterMs);
        if (await this.o.store.runs.retryLater(step.id, this.owner, new Date(now.getTime() + wait), outcome.message, now)) {
          await this.o.store.audit.append({ actorAadObjectId: null, actorName: 'Mailroom', requestRef: record.reference, event: 'operation.retry', data: { ...base, inMs: wait, error: outcome.message, ...(outcome.detail ?? {}) } });
        }
        return;
      }
      if (await this.o.store.runs.fail(step.id, this.owner, outcome.message, now)) {
        await this.o.store.audit.append({ actorAadObjectId: null, actorName: 'Mailroom', requestRef: record.reference, event: 'operation.failed', data: { ...base, error: outcome.message, ...(outcome.detail ?? {}) } });
        const latest = await this.setStatus(record.id, 'failed', outcome.message);
        const steps = await this.o.store.runs.listByRequest(record.id);
        const message = isUndoStepId(step.stepId)
          ? `The roll back of ${record.reference} stopped: ${outcome.message} Press Retry once the cause is fixed.`
          : `${record.reference} stopped: ${outcome.message}${rollbackOffer(record.reference, rollbackFor(record, steps))}`;
        if (latest) await this.o.notifications.runChanged(latest, steps, message);
      }
      return;
    }
    if (outcome.kind === 'wait') {
      const firstTime = step.status !== 'waiting';
      if (await this.o.store.runs.wait(step.id, this.owner, outcome.until, outcome.result ?? step.result ?? null, now)) {
        if (firstTime) {
          await this.o.store.audit.append({ actorAadObjectId: null, actorName: 'Mailroom', requestRef: record.reference, event: 'operation.waiting', data: { ...base, reason: outcome.reason } });
          const latest = await this.setStatus(record.id, 'waiting');
          if (latest) await this.o.notifications.runChanged(latest, await this.o.store.runs.listByRequest(record.id));
        }
      }
      return;
    }
    // audit first: a crash between the two writes then repeats the step (idempotent, changed:false), never loses its record
    await this.o.store.audit.append({ actorAadObjectId: null, actorName: 'Mailroom', requestRef: record.reference, event: 'operation.done', data: { ...base, changed: outcome.changed, result: maskInput(outcome.result ?? {}) } });
    // `changed` is kept with the result: a roll back undoes only what a step changed.
    if (!(await this.o.store.runs.complete(step.id, this.owner, { ...(outcome.result ?? {}), changed: outcome.changed }, now))) return;
    const steps = await this.o.store.runs.listByRequest(record.id);
    const finished = steps.every((s) => s.status === 'done' || s.status === 'skipped');
    if (finished) {
      await this.finish(record, steps);
      return;
    }
    const latest = await this.setStatus(record.id, 'running');
    if (latest) await this.o.notifications.runChanged(latest, steps);
    this.kick();
  }

  /**
   * The request was cancelled while `step` ran: its outcome is recorded (a change it made is never lost), nothing
   * later is claimed, a wait is not checked again, a transient failure is not retried.
   */
  private async recordAfterCancel(step: RunStep, record: RequestRecord, outcome: StepOutcome | StepError, now: Date): Promise<void> {
    const base = { step: step.stepId, action: step.action, attempt: step.attempts, cancelled: true };
    const audit = (event: string, data: Record<string, unknown>) =>
      this.o.store.audit.append({ actorAadObjectId: null, actorName: 'Mailroom', requestRef: record.reference, event, data: { ...base, ...data } });
    let what: string;
    if (outcome instanceof StepError) {
      if (!outcome.transient) {
        if (!(await this.o.store.runs.fail(step.id, this.owner, outcome.message, now))) return;
        await audit('operation.failed', { error: outcome.message, ...(outcome.detail ?? {}) });
        what = `it failed: ${outcome.message}`;
      } else {
        if (!(await this.o.store.runs.cancelClaimed(step.id, this.owner, now, outcome.message))) return;
        await audit('operation.cancelled', { error: outcome.message, ...(outcome.detail ?? {}) });
        what = `its try did not finish (${outcome.message.replace(/[.\s]+$/, '')}) and is not repeated`;
      }
    } else if (outcome.kind === 'wait') {
      if (!(await this.o.store.runs.cancelClaimed(step.id, this.owner, now))) return;
      await audit('operation.cancelled', { reason: outcome.reason });
      what = 'the wait ended with the cancel';
    } else {
      await audit('operation.done', { changed: outcome.changed, result: maskInput(outcome.result ?? {}) });
      if (!(await this.o.store.runs.complete(step.id, this.owner, { ...(outcome.result ?? {}), changed: outcome.changed }, now))) return;
      what = outcome.changed ? 'it finished and its change is recorded' : 'it finished (nothing needed changing)';
    }
    const steps = await this.o.store.runs.listByRequest(record.id);
    const summary = ((record.plan as Partial<Plan> | null)?.steps?.find((s) => s.id === step.stepId)?.summary ?? step.action).replace(/[.\s]+$/, '');
    const message = `${record.reference} was cancelled while "${summary}" ran; ${what}. Nothing else runs.${rollbackOffer(record.reference, rollbackFor(record, steps))}`;
    await this.o.notifications.runChanged(record, steps, message);
  }

  private async finish(record: RequestRecord, steps: readonly RunStep[]): Promise<void> {
    const rollback = rollbackOf(record);
    if (rollback || steps.some((s) => isUndoStepId(s.stepId))) {
      await this.finishRollback(record, steps);
      return;
    }
    const latest = await this.setStatus(record.id, 'done', null, summarise(steps));
    if (latest?.status === 'cancelled') {
      // Cancelled while its last step ran: that step is recorded, the request stays cancelled.
      await this.o.notifications.runChanged(latest, steps, `${record.reference} was cancelled while its last step ran; that step finished and is recorded.${rollbackOffer(record.reference, rollbackFor(latest, steps))}`);
      return;
    }
    await this.o.store.audit.append({ actorAadObjectId: null, actorName: 'Mailroom', requestRef: record.reference, event: 'run.done', data: {} });
    const title = (record.plan as Partial<Plan> | null)?.title;
    if (latest) await this.o.notifications.runChanged(latest, steps, `${record.reference} is done${title ? `: ${title}` : ''}.`);
  }

  /** Every compensation step is done: the request is rolled back; say what was removed and what stays. */
  private async finishRollback(record: RequestRecord, steps: readonly RunStep[]): Promise<void> {
    const latest = await this.setStatus(record.id, 'rolled-back', null);
    const info = rollbackOf(latest ?? record) ?? rollbackOf(record);
    const undo = steps.filter((s) => isUndoStepId(s.stepId));
    const whatOf = (s: RunStep) => info?.steps.find((c) => c.id === s.stepId)?.what ?? s.action;
    const gone = (s: RunStep) => (s.result as { changed?: unknown } | null)?.changed === false;
    const removed = undo.filter((s) => !gone(s)).map(whatOf);
    const already = undo.filter(gone).map(whatOf);
    await this.o.store.audit.append({
      actorAadObjectId: null,
      actorName: 'Mailroom',
      requestRef: record.reference,
      event: 'run.rolled-back',
      data: { removed: undo.filter((s) => !gone(s)).map((s) => s.stepId), alreadyGone: undo.filter(gone).map((s) => s.stepId), kept: (info?.kept ?? []).map((k) => k.stepId) },
    });
    const parts = [
      `${record.reference} was rolled back.`,
      removed.length ? `Removed: ${removed.join('; ')}.` : '',
      already.length ? `Already gone: ${already.join('; ')}.` : '',
      info?.kept.length ? `Stays: ${keptText(info.kept)}` : 'Nothing else that Mailroom did stays.',
      ...(info?.notes ?? []),
    ];
    if (latest) await this.o.notifications.runChanged(latest, steps, parts.filter(Boolean).join(' '));
  }

  /** Moves the request's status (retrying on a concurrent version bump); returns the latest record. */
  private async setStatus(requestId: number, status: RequestStatus, error?: string | null, result?: unknown): Promise<RequestRecord | undefined> {
    for (let i = 0; i < 5; i++) {
      const current = await this.o.store.requests.get(requestId);
      if (!current) return undefined;
      if (current.status === 'cancelled' || (current.status === status && error === undefined && result === undefined)) return current;
      if (current.status === 'done' && status !== 'done') return current;
      if (current.status === 'rolled-back') return current;
      const moved = await this.o.store.requests.transition(current.id, current.version, {
        status,
        ...(error !== undefined ? { error } : {}),
        ...(result !== undefined ? { result } : {}),
      });
      if (moved.ok) return moved.record;
    }
    return this.o.store.requests.get(requestId);
  }
}

function maskInput(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskInput);
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  // the audit log refuses secret-looking keys outright, so they are left out (a password is never in a step's input)
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (!SECRET_HINT.test(k)) out[k] = maskInput(v);
  return out;
}

function summarise(steps: readonly RunStep[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of steps) if (s.result && typeof s.result === 'object') Object.assign(out, s.result as Record<string, unknown>);
  delete out.changed; // per step, not for the request
  return out;
}

export type { StepAction };
