/**
 * The contract between the durable runner and the step executors. The runner claims a step, calls its
 * executor, and records the outcome; executors know nothing of leases, retries or the store.
 *
 * Every executor is idempotent: it looks first, acts only if the desired state is missing, and reports what
 * it found or did. A step may be run again after a crash at any point (even after it acted but before the
 * outcome was recorded), so "already there" is a success, never an error.
 */
import type { Logger } from '../../log';
import type { StepAction, StepInputs } from '../../plans';

export interface StepContext {
  /** `R-12` */
  readonly reference: string;
  readonly requestId: number;
  /** The step's id within its plan, e.g. `ad.create-user`. */
  readonly stepId: string;
  /** 1 for the first try. */
  readonly attempt: number;
  readonly now: Date;
  readonly log: Logger;
  /** Results of the plan's earlier steps, by step id (JSON, never secrets). */
  readonly results: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /**
   * What an earlier try of this step recorded it was about to do (`intend`), if one did. A try after a crash that
   * finds the effect in place reads it to tell its own effect (intent recorded: it may have acted before the crash)
   * from one that was there before the request (no intent: it never went to act).
   */
  readonly intent?: StepResult;
  /**
   * Records durably what this try is about to do, before it does it (JSON, never secrets). Throws a transient
   * StepError when the step's lease was lost meanwhile: the try must then stop without acting. Absent where no store
   * backs the step (an executor run on its own, a done step run again): the executor then acts without a record.
   */
  readonly intend?: (intent: StepResult) => Promise<void>;
}

/** JSON-safe facts for the audit log and later steps: no passwords, no tokens. */
export type StepResult = Record<string, unknown>;

/**
 * The key under which a step hands the Entra user it saw (or just wrote) to the steps after it, so that they can
 * start from that look instead of reading the user again: the user wait, the usage-location and licence steps.
 */
export const GRAPH_USER_SNAPSHOT = 'graphUser';

/** The user facts the Entra steps need, with the time they were seen. */
export function graphUserSnapshot(
  u: { readonly id?: unknown; readonly userPrincipalName?: unknown; readonly usageLocation?: unknown; readonly assignedLicenses?: unknown; readonly licenseAssignmentStates?: unknown },
  seenAt: Date,
): StepResult {
  return {
    id: u.id,
    userPrincipalName: u.userPrincipalName ?? null,
    usageLocation: u.usageLocation ?? null,
    assignedLicenses: u.assignedLicenses ?? [],
    ...(u.licenseAssignmentStates ? { licenseAssignmentStates: u.licenseAssignmentStates } : {}),
    seenAt: seenAt.toISOString(),
  };
}

export type StepOutcome =
  /** The desired state holds now. `changed`: false when it already held (nothing written). */
  | { readonly kind: 'done'; readonly changed: boolean; readonly result?: StepResult }
  /** Not yet (sync, mailbox): check again at `until` or when the poller sees it done. */
  | { readonly kind: 'wait'; readonly until: Date; readonly reason: string; readonly result?: StepResult };

/**
 * A failure. `transient` ones (throttling, timeouts, a busy or unreachable server) are retried with capped
 * backoff, honouring `retryAfterMs`; permanent ones stop the request with `message`, which a helpdesk person
 * must understand: what failed, what was (not) changed, what to do.
 */
export class StepError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
    readonly retryAfterMs?: number,
    /** Facts for the audit log (no secrets). */
    readonly detail?: StepResult,
  ) {
    super(message);
    this.name = 'StepError';
  }
}

export interface StepExecutor<A extends StepAction = StepAction> {
  readonly action: A;
  run(input: StepInputs[A], ctx: StepContext): Promise<StepOutcome>;
}

/**
 * One waiting step handed to a waiter. `key` names it in the answers (the runner passes its run step's id);
 * `ctx.results[ctx.stepId]`, when the runner passes it, is the `result` of the step's last `wait` answer: the
 * waiter's state between polls (a waiter keeps that state in memory as well, so it must not depend on it).
 */
export interface WaitingStep<A extends StepAction = StepAction> {
  readonly key: string;
  readonly input: StepInputs[A];
  readonly ctx: StepContext;
}

/**
 * A waiter's answers for one polling cycle, by {@link WaitingStep.key}:
 * - `done`: the awaited state holds; the runner records the result and moves the plan on.
 * - `wait`: not yet; the runner checks again at `until` (never past the step's deadline). `result` carries the
 *   waiter's state between polls (when the wait started, the attempt, what provisionOnDemand answered).
 * - a StepError: the wait failed: a permanent one (a timeout, a refused look-up) stops the request, a transient one
 *   is retried.
 * - no entry: no news this cycle; the runner treats the step as still waiting and checks again after its own poll
 *   interval.
 */
export type WaitAnswers = Map<string, StepOutcome | StepError>;

/**
 * A wait served by one poller for every waiting request: `checkAll` receives the due waiting steps of its action
 * (fifty at a time) and answers for each with few calls (Graph `$batch`, one Exchange query per call), so the cost of
 * a polling cycle grows by a call or two per fifty waiting requests, not by one per request. A trouble of one step is
 * that step's answer: if `checkAll` throws, the runner gives every step of the call the same error (transient unless
 * it is a StepError).
 */
export interface BatchWaiter<A extends StepAction = StepAction> {
  readonly action: A;
  checkAll(waiting: readonly WaitingStep<A>[]): Promise<WaitAnswers>;
}

/** Keeps a generated password for the requester to reveal once; only ciphertext is stored. */
export interface SecretVault {
  put(requestId: number, name: string, secret: string): Promise<void>;
  /** Returns the secret once and deletes it; undefined when it was revealed already or never stored. */
  takeOnce(requestId: number, name: string): Promise<string | undefined>;
}
