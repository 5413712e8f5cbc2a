/**
 * `wait.untilTime`: a plan that must not act before a moment (an offboarding on the person's leave date) starts with
 * this wait. It looks at nothing outside: the runner keeps the step waiting in the store with the moment as its next
 * check, so the wait survives restarts, shows on the request's card, and ends with a cancel like any other wait.
 */
import type { StepInputs } from '../../plans';
import { StepError, type BatchWaiter, type WaitAnswers, type WaitingStep } from './types';

/** Waits until each step's `at`; `now` is the runner's clock. */
export function scheduleWaiter(now: () => Date = () => new Date()): BatchWaiter<'wait.untilTime'> {
  return {
    action: 'wait.untilTime',
    checkAll(waiting: readonly WaitingStep<'wait.untilTime'>[]): Promise<WaitAnswers> {
      const answers: WaitAnswers = new Map();
      const t = now().getTime();
      for (const w of waiting) {
        const input: StepInputs['wait.untilTime'] = w.input;
        const at = Date.parse(input.at);
        if (Number.isNaN(at)) {
          answers.set(w.key, new StepError(`Mailroom cannot wait until "${input.at}": it is not a moment in time. Nothing was done; file the request again with a valid date.`, false));
        } else if (t >= at) {
          answers.set(w.key, { kind: 'done', changed: false, result: { at: new Date(at).toISOString(), reached: new Date(t).toISOString() } });
        } else {
          answers.set(w.key, { kind: 'wait', until: new Date(at), reason: `waiting until ${new Date(at).toISOString()} (${input.what})`, result: { at: new Date(at).toISOString() } });
        }
      }
      return Promise.resolve(answers);
    },
  };
}
