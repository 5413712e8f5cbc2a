import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Logger } from '../log';
import { isUndoStepId, type Plan } from '../plans';
import type { RequestRecord, RequestStatus } from '../store';
import { StepError, type BatchWaiter, type StepContext, type StepExecutor, type StepOutcome } from './executors/types';
import type { RequestLifecycle } from './lifecycle';
import { rollbackFor, rollbackOf, rollbackOffer } from './rollback-info';
import { backoffMs } from '../retry-timing';
import { maskInput, rolledBackReport, summarise } from './run-outcomes';
import type { RunNoticePort, RunStep, RunStorePort } from './run-ports';

export interface RunnerOptions {
  readonly store: RunStorePort;
  readonly executors: readonly StepExecutor[];
  readonly waiters: readonly BatchWaiter[];
  /** The one owner of request status changes. */
  readonly lifecycle: RequestLifecycle;
  readonly outbox: RunNoticePort;
  /** A message was left in the outbox: it may be sent now rather than at the sender's next poll. */
  readonly onMessage?: () => void;
  readonly log: Logger;
  readonly now?: () => Date;
  /** Unique per process; default host:pid:random. */
  readonly owner?: string;
  readonly leaseMs?: number;
  /** How often the loop looks for work (ms). */
  readonly pollMs?: number;
  /**
   * How often the store is asked for waiting steps that are due (ms): steps other instances left waiting are found so.
   * A wait this process records is also looked at when it falls due, if that is sooner.
   */
  readonly waitPollMs?: number;
  /** Transient failures: tries before the step fails, and the backoff. */
  readonly maxAttempts?: number;
  /** Tries that never ended (their lease ran out) before the step is stopped; default {@link MAX_ABANDONED}. */
  readonly maxAbandoned?: number;
  readonly backoffBaseMs?: number;
  readonly backoffCapMs?: number;
  /** Steps run at once by this process. */
  readonly concurrency?: number;
}

/**
 * A step whose tries never end is stopped after this many: each time, the process running it stopped (crashed, was
 * killed, restarted) or hung past its lease, and another claim took it over. Five, because a healthy step can be
 * caught by a few restarts that are not its fault (a deploy, another step that crashes the process while it runs
 * alongside), while a step that itself brings Mailroom down should stop within a handful of restarts instead of
 * taking the bot down for ever. The count is kept in the store (`abandoned`), so restarts do not reset it; Retry does.
 */
export const MAX_ABANDONED = 5;

/**
 * Waiting steps checked together in one wait poll (see pollWaiting); the waiters batch their look-ups within it. With
 * 1,000 mailboxes waiting, slices of 100 left Mailroom's peak RSS at 198 MB in the bench, of 50 at 188 MB.
 */
const WAIT_CHECK_SLICE = 50;

/** A wait poll for a due time also takes the waits due within this many ms after it: one look-up for them all. */
const WAIT_WAKE_GATHER_MS = 40;

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
  private readonly waitPollMs: number;
  private readonly maxAttempts: number;
  private readonly maxAbandoned: number;
  private timer: NodeJS.Timeout | undefined;
  private waitTimer: NodeJS.Timeout | undefined;
  /** The early wait poll set by {@link wakeForWait}, and when it fires (runner clock, ms). */
  private waitWake: { readonly timer: NodeJS.Timeout; readonly at: number } | undefined;
  /** Due times (runner clock, ms) of the waits this process recorded that no poll has taken yet. */
  private waitDue: number[] = [];
  private reconcileTimer: NodeJS.Timeout | undefined;
  private running = false;
  private inFlight = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly options: RunnerOptions) {
    for (const e of options.executors) this.executors.set(e.action, e);
    for (const w of options.waiters) this.waiters.set(w.action, w);
    this.owner = options.owner ?? `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.now = options.now ?? (() => new Date());
    this.leaseMs = options.leaseMs ?? 120_000;
    this.waitPollMs = options.waitPollMs ?? 5000;
    this.maxAttempts = options.maxAttempts ?? 8;
    this.maxAbandoned = options.maxAbandoned ?? MAX_ABANDONED;
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
    await this.options.store.runs.createSteps(
      record.id,
      plan.steps.map((s) => ({ stepId: s.id, action: s.action, system: s.system, input: s.input })),
      this.now(),
    );
    // asked for together: on SQLite the move and its audit event share one commit (the store's group commit)
    await Promise.all([
      this.options.lifecycle.runMove(record.id, 'queued', { known: record }),
      this.options.store.audit.append({ actorAadObjectId: actor.aadObjectId, actorName: actor.name, requestRef: record.reference, event: 'run.queued', data: { steps: plan.steps.length } }),
    ]);
    this.kick();
  }

  /**
   * Retry after a permanent failure (the cause was fixed): failed steps become pending again, their count of tries
   * that never ended back to 0. The audit event names each step reset with its counts before the reset.
   */
  async retry(record: RequestRecord, actor: { aadObjectId: string; name: string }): Promise<void> {
    const failed = (await this.options.store.runs.listByRequest(record.id)).filter((s) => s.status === 'failed');
    await this.options.store.runs.resetFailed(record.id, this.now());
    await this.options.lifecycle.runMove(record.id, 'running', { error: null });
    const reset = failed.map((s) => ({ step: s.stepId, attempts: s.attempts, abandoned: s.abandoned }));
    await this.options.store.audit.append({ actorAadObjectId: actor.aadObjectId, actorName: actor.name, requestRef: record.reference, event: 'run.retried', data: reset.length ? { reset } : {} });
    this.kick();
  }

  /**
   * Finishes what a crash interrupted between two writes: a run whose steps are all done but whose request is
   * not, and an approved request whose steps were never created. Runs at start and then now and again.
   */
  async reconcile(): Promise<number> {
    let fixed = 0;
    for (const record of await this.options.store.requests.listByStatus(['approved', 'queued', 'running', 'waiting'], { limit: 500 })) {
      let steps = await this.options.store.runs.listByRequest(record.id);
      const rollback = rollbackOf(record);
      if (rollback && steps.length && (!steps.some((s) => isUndoStepId(s.stepId)) || steps.some((s) => !isUndoStepId(s.stepId) && ['pending', 'waiting', 'failed', 'cancelled'].includes(s.status)))) {
        // A roll back was asked for, but its steps were not (all) stored before a crash: store them now.
        await this.options.store.runs.appendSteps(record.id, rollback.steps.map((s) => ({ stepId: s.id, action: s.action, system: s.system, input: s.input })), this.now(), { skipUnfinished: true });
        steps = await this.options.store.runs.listByRequest(record.id);
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
    this.reconcile().catch((err: unknown) => this.options.log.error('reconcile failed', { err }));
    this.reconcileTimer = setInterval(() => {
      this.reconcile().catch((err: unknown) => this.options.log.error('reconcile failed', { err }));
    }, 60_000);
    this.reconcileTimer.unref();
    const pollMs = this.options.pollMs ?? 1000;
    this.timer = setInterval(() => this.kick(), pollMs);
    this.timer.unref();
    this.waitTimer = setInterval(() => {
      this.pollWaiting().catch((err: unknown) => this.options.log.error('wait poll failed', { err }));
    }, this.waitPollMs);
    this.waitTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.waitTimer) clearInterval(this.waitTimer);
    if (this.waitWake) clearTimeout(this.waitWake.timer);
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Polls the waits again when one this process recorded falls due before the regular poll may come: a wait is looked
   * at when its own schedule says (a quarter of its interval after it began, then half, …), not up to a poll interval
   * later. One timer, for the earliest due time (gathering those just after it); when it fires, the next is set.
   */
  private wakeForWait(due: number): void {
    if (!this.waitTimer || this.stopped) return; // not started: the caller polls
    if (due - this.now().getTime() >= this.waitPollMs) return; // the regular poll comes first
    this.waitDue.push(due);
    if (!this.waitWake || due + WAIT_WAKE_GATHER_MS < this.waitWake.at) this.setWaitWake(due + WAIT_WAKE_GATHER_MS);
  }

  private setWaitWake(at: number): void {
    if (this.waitWake) clearTimeout(this.waitWake.timer);
    const timer = setTimeout(() => {
      this.waitWake = undefined;
      const fired = this.now().getTime();
      this.waitDue = this.waitDue.filter((d) => d > fired);
      this.pollWaiting()
        .catch((err: unknown) => this.options.log.error('wait poll failed', { err }))
        .finally(() => {
          // the earliest wait left (one recorded while the poll ran may have set a timer already)
          let next = Infinity;
          for (const d of this.waitDue) next = Math.min(next, d);
          if (next !== Infinity && !this.stopped && (!this.waitWake || next + WAIT_WAKE_GATHER_MS < this.waitWake.at)) this.setWaitWake(next + WAIT_WAKE_GATHER_MS);
        });
    }, Math.max(0, at - this.now().getTime()));
    timer.unref();
    this.waitWake = { timer, at };
  }

  /** Runs claimable steps now (also what the timer does). */
  kick(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    const p = this.drain()
      .catch((err: unknown) => this.options.log.error('runner pass failed', { err }))
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
    const limit = this.options.concurrency ?? 8;
    const running = new Set<Promise<void>>();
    for (;;) {
      const free = this.stopped ? 0 : limit - running.size;
      let claimed: RunStep[] = [];
      try {
        if (free > 0) claimed = await this.options.store.runs.claimNext(this.owner, this.now(), this.leaseMs, free);
      } catch (err) {
        await Promise.allSettled(running); // the pass ends with its steps, never leaves them behind
        throw err;
      }
      for (const step of claimed) {
        const p: Promise<void> = this.runStep(step)
          .catch((err: unknown) => this.options.log.error('step failed to run', { err, step: step.stepId }))
          .finally(() => running.delete(p));
        running.add(p);
      }
      if (running.size === 0) return;
      await Promise.race(running);
    }
  }

  private async drainOnce(): Promise<boolean> {
    const claimed = await this.options.store.runs.claimNext(this.owner, this.now(), this.leaseMs, this.options.concurrency ?? 8);
    if (!claimed.length) return false;
    await Promise.all(claimed.map((s) => this.runStep(s)));
    return true;
  }

  /** The step's context, and the request's steps as read for it (one read per step's run; `record` reuses them). */
  private async context(step: RunStep, record: RequestRecord): Promise<StepContext & { readonly steps: readonly RunStep[] }> {
    const steps = await this.options.store.runs.listByRequest(step.requestId);
    const results: Record<string, Record<string, unknown>> = {};
    for (const s of steps) if (s.status === 'done' && s.result && typeof s.result === 'object') results[s.stepId] = s.result as Record<string, unknown>;
    const intent = step.intent && typeof step.intent === 'object' && !Array.isArray(step.intent) ? (step.intent as Record<string, unknown>) : undefined;
    const intend = async (what: Record<string, unknown>): Promise<void> => {
      if (!(await this.options.store.runs.noteIntent(step.id, this.owner, what, this.now()))) {
        throw new StepError(`Mailroom lost its hold on the step ${step.stepId} of ${record.reference} (another instance may have taken it over); this try stopped before acting and changed nothing.`, true);
      }
    };
    return {
      reference: record.reference,
      requestId: record.id,
      stepId: step.stepId,
      attempt: step.attempts,
      now: this.now(),
      log: this.options.log.child({ reference: record.reference, step: step.stepId }),
      results,
      ...(intent ? { intent } : {}),
      intend,
      steps,
    };
  }

  /** The error that stops a step whose tries kept ending without an outcome (see MAX_ABANDONED). */
  private abandonedError(step: RunStep, record: RequestRecord): StepError {
    const summary = ((record.plan as Partial<Plan> | null)?.steps?.find((s) => s.id === step.stepId)?.summary ?? step.action).replace(/[.\s]+$/, '');
    return new StepError(
      `Mailroom stopped the step "${summary}": it was started ${step.abandoned} times and never finished. Each time the Mailroom process running it stopped (it crashed, was killed or restarted) or hung for longer than its lease. It is not started again by itself, in case it is what stops Mailroom. Nothing more was done in this step (what an earlier try did may stay; the step is safe to repeat). Check Mailroom's logs around those restarts, then press Retry.`,
      false,
      undefined,
      { abandoned: step.abandoned },
    );
  }

  private async runStep(step: RunStep): Promise<void> {
    let record = await this.options.store.requests.get(step.requestId);
    if (!record) return;
    if (record.status === 'cancelled') {
      // Claimed just before the cancel: it has not started, so it does not run.
      await this.options.store.runs.cancelClaimed(step.id, this.owner, this.now());
      return;
    }
    if (step.abandoned >= this.maxAbandoned) {
      // Its earlier tries never ended: it is not started again (it may be what stops the process).
      await this.record(step, record, this.abandonedError(step, record));
      return;
    }
    if (record.status === 'queued' || record.status === 'waiting') record = (await this.options.lifecycle.runMove(record.id, 'running', { known: record })).record ?? record;
    if (record.status === 'cancelled') {
      // Cancelled between the read above and the move: the move did not happen, so neither does the step.
      await this.options.store.runs.cancelClaimed(step.id, this.owner, this.now());
      return;
    }
    const { steps, ...ctx } = await this.context(step, record);
    const waiter = this.waiters.get(step.action);
    if (waiter) {
      // a wait step: first check now (it may already hold), then leave it to the poller
      const outcome = (await waiter.checkAll([{ key: String(step.id), input: step.input as never, ctx }])).get(String(step.id));
      await this.record(step, record, outcome ?? { kind: 'wait', until: new Date(this.now().getTime() + this.waitPollMs), reason: 'waiting' }, false, steps);
      return;
    }
    const executor = this.executors.get(step.action);
    if (!executor) {
      await this.record(step, record, new StepError(`Mailroom has no executor for the step "${step.action}"; nothing was done in this step.`, false));
      return;
    }
    let outcome: StepOutcome | StepError;
    try {
      await this.options.store.audit.append({ actorAadObjectId: null, actorName: 'Mailroom', requestRef: record.reference, event: 'operation.started', data: { step: step.stepId, action: step.action, attempt: step.attempts, input: maskInput(step.input) } });
      const beat = setInterval(() => {
        this.options.store.runs.heartbeat([step.id], this.owner, this.leaseMs, this.now()).catch((err: unknown) => this.options.log.warn('lease renewal failed', { err }));
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
    await this.record(step, record, outcome, false, steps);
  }

  /** Checks every waiting step whose time has come, batched per action. Returns whether any was due. */
  async pollWaiting(): Promise<boolean> {
    const due = await this.options.store.runs.claimWaiting(this.owner, this.now(), this.leaseMs, 500);
    if (!due.length) return false;
    // Checked a slice at a time: the requests and steps a check reads are held until its answers are recorded, and
    // hundreds of them held at once (a wave of waiting mailboxes) would outlive young-generation collections and
    // swell the heap.
    for (let i = 0; i < due.length; i += WAIT_CHECK_SLICE) await this.checkWaiting(due.slice(i, i + WAIT_CHECK_SLICE));
    return true;
  }

  /** Checks claimed waiting steps, by action (one look-up for all steps of a kind of wait), and records the answers. */
  private async checkWaiting(due: readonly RunStep[]): Promise<void> {
    const byAction = new Map<string, RunStep[]>();
    for (const s of due) byAction.set(s.action, [...(byAction.get(s.action) ?? []), s]);
    for (const [action, steps] of byAction) {
      const waiter = this.waiters.get(action);
      const records = new Map<number, RequestRecord>();
      for (const s of steps) {
        const r = await this.options.store.requests.get(s.requestId);
        if (!r) continue;
        if (r.status === 'cancelled') {
          // A cancelled request's wait is neither checked again nor moved on.
          await this.options.store.runs.cancelClaimed(s.id, this.owner, this.now());
          continue;
        }
        if (s.abandoned >= this.maxAbandoned) {
          // Its earlier polls never ended: it is not checked again (the check may be what stops the process).
          await this.record(s, r, this.abandonedError(s, r), true);
          continue;
        }
        records.set(s.requestId, r);
      }
      const read = new Map<number, readonly RunStep[]>();
      const items = await Promise.all(
        steps
          .filter((s) => records.has(s.requestId))
          .map(async (s) => {
            const { steps: all, ...ctx } = await this.context(s, records.get(s.requestId)!);
            read.set(s.id, all);
            return { key: String(s.id), input: s.input as never, ctx };
          }),
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
        const a = answers.get(String(s.id)) ?? { kind: 'wait' as const, until: new Date(this.now().getTime() + this.waitPollMs), reason: 'waiting' };
        await this.record(s, r, a, true, read.get(s.id));
      }
    }
  }

  /**
   * Records a step's outcome. `fresh`: `record` was read just now (else it is read again: it may have been cancelled
   * meanwhile). `known`: the request's steps as read when this step's try began (only this step changes while it runs:
   * a request runs one step at a time), so a step that leaves later steps to run needs no second read of them.
   */
  private async record(step: RunStep, record: RequestRecord, outcome: StepOutcome | StepError, fresh = false, known?: readonly RunStep[]): Promise<void> {
    const now = this.now();
    const base = { step: step.stepId, action: step.action, attempt: step.attempts };
    if (!fresh) record = await this.latest(record);
    if (record.status === 'cancelled') return this.recordAfterCancel(step, record, outcome, now);
    if (outcome instanceof StepError) {
      if (outcome.transient && step.attempts < this.maxAttempts) {
        const wait = backoffMs(step.attempts, this.options.backoffBaseMs ?? 1000, this.options.backoffCapMs ?? 60_000, outcome.retryAfterMs);
        if (await this.options.store.runs.retryLater(step.id, this.owner, new Date(now.getTime() + wait), outcome.message, now)) {
          await this.options.store.audit.append({ actorAadObjectId: null, actorName: 'Mailroom', requestRef: record.reference, event: 'operation.retry', data: { ...base, inMs: wait, error: outcome.message, ...(outcome.detail ?? {}) } });
        }
        return;
      }
      if (await this.options.store.runs.fail(step.id, this.owner, outcome.message, now)) {
        await this.options.store.audit.append({ actorAadObjectId: null, actorName: 'Mailroom', requestRef: record.reference, event: 'operation.failed', data: { ...base, error: outcome.message, ...(outcome.detail ?? {}) } });
        const steps = await this.options.store.runs.listByRequest(record.id);
        const message = isUndoStepId(step.stepId)
          ? `The roll back of ${record.reference} stopped: ${outcome.message} Press Retry once the cause is fixed.`
          : `${record.reference} stopped: ${outcome.message}${rollbackOffer(record.reference, rollbackFor(record, steps))}`;
        await this.moveAndTell(record, 'failed', message, { error: outcome.message });
      }
      return;
    }
    if (outcome.kind === 'wait') {
      const firstTime = step.status !== 'waiting';
      if (await this.options.store.runs.wait(step.id, this.owner, outcome.until, outcome.result ?? step.result ?? null, now)) {
        this.wakeForWait(outcome.until.getTime());
        if (firstTime) {
          await this.options.store.audit.append({ actorAadObjectId: null, actorName: 'Mailroom', requestRef: record.reference, event: 'operation.waiting', data: { ...base, reason: outcome.reason } });
          await this.moveAndTell(record, 'waiting', null);
        }
      }
      return;
    }
    const ended = (s: Pick<RunStep, 'id' | 'status'>) => s.id === step.id || s.status === 'done' || s.status === 'skipped';
    // Later steps are left (as read when the try began): the request runs on, no need to read its steps again.
    // Its last step (or no earlier read): the steps are read now, as the request's result is made of them.
    const more = known?.some((s) => !ended(s)) ?? false;
    // It runs already (read just now) and goes on: nothing moves. A row of a batch has no card of its own to refresh
    // (its batch counts rows by status, which did not change); any other request's cards show the step done.
    const refresh = more && record.status === 'running' && record.batchId === null;
    // The outcome, its audit event and that refresh in one transaction: a crash cannot keep one without the others.
    // The event is kept even when the lease was lost meanwhile (what the step did happened). `changed` is kept with
    // the result: a roll back undoes only what a step changed.
    const completed = await this.options.store.runs.complete(step.id, this.owner, { ...(outcome.result ?? {}), changed: outcome.changed }, now, {
      audit: { actorAadObjectId: null, actorName: 'Mailroom', requestRef: record.reference, event: 'operation.done', data: { ...base, changed: outcome.changed, result: maskInput(outcome.result ?? {}) } },
      ...(refresh ? { notice: { requestId: record.id, message: null } } : {}),
    });
    if (!completed) return;
    const steps = more ? [] : await this.options.store.runs.listByRequest(record.id);
    if (!more && steps.every((s) => s.status === 'done' || s.status === 'skipped')) {
      await this.finish(record, steps);
      return;
    }
    if (record.status === 'running') {
      if (record.batchId === null && !refresh) await this.notify(record);
    } else {
      await this.moveAndTell(record, 'running', null);
    }
    this.kick();
  }

  /** The request as it is now: `known` when its version has not moved since (no need to read and decode it again). */
  private async latest(known: RequestRecord): Promise<RequestRecord> {
    const now = await this.options.store.requests.versionOf(known.id);
    if (now && now.version === known.version && now.status === known.status) return known;
    return (await this.options.store.requests.get(known.id)) ?? known;
  }

  /**
   * The request was cancelled while `step` ran: its outcome is recorded (a change it made is never lost), nothing
   * later is claimed, a wait is not checked again, a transient failure is not retried.
   */
  private async recordAfterCancel(step: RunStep, record: RequestRecord, outcome: StepOutcome | StepError, now: Date): Promise<void> {
    const base = { step: step.stepId, action: step.action, attempt: step.attempts, cancelled: true };
    const audit = (event: string, data: Record<string, unknown>) =>
      this.options.store.audit.append({ actorAadObjectId: null, actorName: 'Mailroom', requestRef: record.reference, event, data: { ...base, ...data } });
    let what: string;
    if (outcome instanceof StepError) {
      if (!outcome.transient) {
        if (!(await this.options.store.runs.fail(step.id, this.owner, outcome.message, now))) return;
        await audit('operation.failed', { error: outcome.message, ...(outcome.detail ?? {}) });
        what = `it failed: ${outcome.message}`;
      } else {
        if (!(await this.options.store.runs.cancelClaimed(step.id, this.owner, now, outcome.message))) return;
        await audit('operation.cancelled', { error: outcome.message, ...(outcome.detail ?? {}) });
        what = `its try did not finish (${outcome.message.replace(/[.\s]+$/, '')}) and is not repeated`;
      }
    } else if (outcome.kind === 'wait') {
      if (!(await this.options.store.runs.cancelClaimed(step.id, this.owner, now))) return;
      await audit('operation.cancelled', { reason: outcome.reason });
      what = 'the wait ended with the cancel';
    } else {
      await audit('operation.done', { changed: outcome.changed, result: maskInput(outcome.result ?? {}) });
      if (!(await this.options.store.runs.complete(step.id, this.owner, { ...(outcome.result ?? {}), changed: outcome.changed }, now))) return;
      what = outcome.changed ? 'it finished and its change is recorded' : 'it finished (nothing needed changing)';
    }
    const steps = await this.options.store.runs.listByRequest(record.id);
    const summary = ((record.plan as Partial<Plan> | null)?.steps?.find((s) => s.id === step.stepId)?.summary ?? step.action).replace(/[.\s]+$/, '');
    const message = `${record.reference} was cancelled while "${summary}" ran; ${what}. Nothing else runs.${rollbackOffer(record.reference, rollbackFor(record, steps))}`;
    await this.notify(record, message);
  }

  private async finish(record: RequestRecord, steps: readonly RunStep[]): Promise<void> {
    const rollback = rollbackOf(record);
    if (rollback || steps.some((s) => isUndoStepId(s.stepId))) {
      await this.finishRollback(record, steps);
      return;
    }
    const title = (record.plan as Partial<Plan> | null)?.title;
    const latest = await this.moveAndTell(record, 'done', `${record.reference} is done${title ? `: ${title}` : ''}.`, { error: null, result: summarise(steps) }, { onlyIfMoved: true });
    if (latest?.status === 'cancelled') {
      // Cancelled while its last step ran: that step is recorded, the request stays cancelled.
      await this.notify(latest, `${record.reference} was cancelled while its last step ran; that step finished and is recorded.${rollbackOffer(record.reference, rollbackFor(latest, steps))}`);
      return;
    }
    await this.options.store.audit.append({ actorAadObjectId: null, actorName: 'Mailroom', requestRef: record.reference, event: 'run.done', data: {} });
  }

  /** Every compensation step is done: the request is rolled back; say what was removed and what stays. */
  private async finishRollback(record: RequestRecord, steps: readonly RunStep[]): Promise<void> {
    const report = rolledBackReport(record, steps);
    await this.options.store.audit.append({ actorAadObjectId: null, actorName: 'Mailroom', requestRef: record.reference, event: 'run.rolled-back', data: report.audit });
    await this.moveAndTell(record, 'rolled-back', report.message, { error: null });
  }

  /**
   * Moves the request (the runner's moves) and leaves what people must hear of it in the outbox, in one transaction.
   * When the request does not move (it is there already, or it was cancelled meanwhile) the notice is left on its
   * own, unless `onlyIfMoved`. A message wakes the sender. Returns the latest record. `known`: the request as read
   * last (a stale one only costs the versioned move a second try).
   */
  private async moveAndTell(
    known: RequestRecord,
    status: RequestStatus,
    message: string | null,
    change: { error?: string | null; result?: unknown } = {},
    options: { onlyIfMoved?: boolean } = {},
  ): Promise<RequestRecord | undefined> {
    const { record, moved } = await this.options.lifecycle.runMove(known.id, status, { ...change, notice: { message }, known });
    if (moved) {
      if (message) this.options.onMessage?.();
    } else if (record && !options.onlyIfMoved) {
      await this.notify(record, message ?? undefined);
    }
    return record;
  }

  /** Leaves what people must hear of the request in the outbox (a message wakes the sender at once). */
  private async notify(record: RequestRecord, message?: string): Promise<void> {
    await this.options.outbox.add(record.id, message ?? null, this.now());
    if (message) this.options.onMessage?.();
  }
}
