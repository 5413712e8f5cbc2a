/**
 * Runs done steps of a request again, for a later step that finds their effect gone (the mailbox wait, when the
 * licence or usage location it needs was removed: executors/mailbox-preconditions.ts). Each runs through its own
 * executor with the input the plan stored for it (what was approved), looks first and writes only what is missing,
 * and is audited like any step (`operation.started`, then `operation.done` or `operation.failed`), marked
 * `rerunFor` the step that asked. The steps stay `done` in the store: a done step is final (run-repository.ts).
 */
import type { StepContext, StepExecutor, StepResult } from './executors/types';
import { StepError } from './executors/types';
import type { StepRerunPort } from './executors/mailbox-preconditions';
import { maskInput } from './run-outcomes';
import type { RunStorePort } from './run-ports';

export class StepRerun implements StepRerunPort {
  private readonly executors = new Map<string, StepExecutor>();

  constructor(
    private readonly store: Pick<RunStorePort, 'runs' | 'audit'>,
    executors: readonly StepExecutor[],
  ) {
    for (const e of executors) this.executors.set(e.action, e);
  }

  async rerun(ctx: StepContext, stepIds: readonly string[]): Promise<StepResult[]> {
    const steps = await this.store.runs.listByRequest(ctx.requestId);
    const out: StepResult[] = [];
    for (const stepId of stepIds) {
      const step = steps.find((s) => s.stepId === stepId && s.status === 'done');
      const executor = step && this.executors.get(step.action);
      if (!step || !executor) {
        throw new StepError(`Mailroom could not run the step ${stepId} of ${ctx.reference} again: the request has no such finished step. Nothing was changed.`, false);
      }
      const base = { step: stepId, action: step.action, attempt: ctx.attempt, rerunFor: ctx.stepId };
      const audit = (event: string, data: Record<string, unknown>) =>
        this.store.audit.append({ actorAadObjectId: null, actorName: 'Mailroom', requestRef: ctx.reference, event, data: { ...base, ...data } });
      await audit('operation.started', { input: maskInput(step.input) });
      // attempt > 1: the executor reads afresh instead of trusting an earlier step's look. The asking step's intent
      // is not this step's: the repeat records none (its effect is reported in the asking step's result).
      const { intent: _intent, intend: _intend, ...asking } = ctx;
      const stepCtx: StepContext = { ...asking, stepId, attempt: Math.max(2, ctx.attempt), log: ctx.log.child({ step: stepId, rerunFor: ctx.stepId }) };
      try {
        const outcome = await executor.run(step.input as never, stepCtx);
        if (outcome.kind !== 'done') throw new StepError(`The step ${stepId} of ${ctx.reference}, run again, did not finish at once. Press Retry.`, true);
        await audit('operation.done', { changed: outcome.changed, result: maskInput(outcome.result ?? {}) });
        out.push({ ...(outcome.result ?? {}), changed: outcome.changed });
      } catch (err) {
        const e = err instanceof StepError ? err : new StepError(err instanceof Error ? err.message : String(err), true);
        await audit('operation.failed', { error: e.message, transient: e.transient, ...(e.detail ?? {}) });
        throw e;
      }
    }
    return out;
  }
}
