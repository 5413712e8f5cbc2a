/**
 * The read-back policy of the Entra and Exchange steps: after a write, read again until the change shows
 * (docs/hybrid-behaviour.md: one observed Exchange call reported success and wrote nothing).
 *
 * The read is repeated once after a short pause (`pauseMs`, replication); a write the reads still do not show fails
 * the step as a transient error for the runner to try again (`retryAfterMs`, growing with the attempt) while
 * `ctx.attempt < attempts` (3), and as a permanent error from the third attempt on. A later try that finds the
 * state in place reports `changed: false`.
 */
import { permanent } from './cloud-errors';
import { StepError, type StepContext, type StepResult } from './types';

export interface ReadBackOptions {
  /** Reads after a write within one try (the first at once, the others after `pauseMs`). Default 2. */
  readonly reads?: number;
  /** Pause before a repeated read (ms). Default 2000. */
  readonly pauseMs?: number;
  /** From this attempt on a write that did not take is a permanent error; before it, a transient one. Default 3. */
  readonly attempts?: number;
  /** retryAfterMs of the transient error, times the attempt. Default 60 000. */
  readonly retryAfterMs?: number;
}

const sleep = (ms: number): Promise<void> => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

export class ReadBack {
  private readonly reads: number;
  private readonly pauseMs: number;
  private readonly attempts: number;
  private readonly retryMs: number;

  constructor(options: ReadBackOptions = {}) {
    this.reads = Math.max(1, options.reads ?? 2);
    this.pauseMs = options.pauseMs ?? 2000;
    this.attempts = Math.max(1, options.attempts ?? 3);
    this.retryMs = options.retryAfterMs ?? 60_000;
  }

  /** Reads until `ok` holds or the reads are used up; answers the last value read. */
  async confirm<T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<{ ok: boolean; value: T }> {
    let value = await read();
    for (let i = 1; i < this.reads && !ok(value); i++) {
      await sleep(this.pauseMs);
      value = await read();
    }
    return { ok: ok(value), value };
  }

  /**
   * The write was accepted but the read-back does not show it: transient for the first tries, then permanent.
   * `accepted`: the change as written; `shows`: what the read-back shows instead; `advice`: what a person can check.
   */
  notTaken(ctx: StepContext, system: string, accepted: string, shows: string, advice: string, detail: StepResult): StepError {
    const facts = { ...detail, readBackAttempt: ctx.attempt };
    if (ctx.attempt < this.attempts) {
      return new StepError(
        `${system} accepted the change (${accepted}) but still shows ${shows}. Mailroom looks again shortly (try ${ctx.attempt} of ${this.attempts}).`,
        true,
        this.retryMs * Math.max(1, ctx.attempt),
        facts,
      );
    }
    return permanent(
      `${system} accepted the change (${accepted}) but still shows ${shows}, also after ${ctx.attempt} tries: the change did not take. Nothing else was changed. ${advice} Then press Retry.`,
      facts,
    );
  }
}
