/**
 * One polling cycle of a wait, the same for every kind of wait (waits.ts says what each kind looks for): restore each
 * step's wait state, trigger on-demand provisioning where asked, look every step up in one go, and answer each step
 * (see `WaitAnswers` in types.ts).
 *
 * State between polls lives in the `wait` answer's result: `{ attempt, waitingSince, provisionOnDemand? }`, read back
 * from `ctx.results[ctx.stepId]` when the runner passes it, and remembered in memory as well (per key and attempt),
 * so a re-poll never triggers twice within a process. State of another attempt (the Retry button) is ignored: a
 * Retry starts a fresh wait and triggers provisioning again.
 *
 * Every still-waiting step is answered with `wait` (its next poll: `until`, after ¼, ½ and then whole intervals, see
 * `nextLookIn`; never past its deadline); a step past `timeoutMinutes` (counted from `waitingSince`) fails
 * permanently, saying what did not appear and what to check.
 * A look-up that failed for now leaves its steps waiting (no timeout is declared on a failed look-up); one that
 * was refused (permissions, a bad query) fails its steps.
 */
import type { StepAction, StepInputs, SyncWait } from '../../plans';
import type { OnDemandRecord, OnDemandTrigger } from './on-demand-limiter';
import { StepError, type BatchWaiter, type StepResult, type WaitAnswers, type WaitingStep } from './types';

/** The actions served by waiters instead of executors. */
export type WaitAction = Extract<StepAction, 'sync.awaitUser' | 'sync.awaitContact' | 'sync.awaitGroup' | 'exo.awaitMailbox' | 'exo.awaitRecipient' | 'exo.awaitSendOnBehalf'>;

export interface WaitState {
  attempt: number;
  waitingSince: string;
  provisionOnDemand?: OnDemandRecord;
}

/** A waiting step in this cycle, with its wait state. */
export interface Probe<A extends WaitAction> {
  readonly step: WaitingStep<A>;
  readonly state: WaitState;
}

/** What a look-up found for one step. */
export type Found =
  /** The desired state holds. */
  | { readonly kind: 'ok'; readonly result: StepResult }
  /** Not (yet): `why` says what is missing, for the timeout message; `seen`: the object is there, not as expected. */
  | { readonly kind: 'missing'; readonly why: string; readonly seen: boolean }
  /** The look-up failed for now: no answer this cycle. */
  | { readonly kind: 'unknown' }
  | { readonly kind: 'error'; readonly error: StepError };

/** What one kind of wait looks for, and how it speaks of it. */
export interface WaitKind<A extends WaitAction> {
  readonly action: A;
  /** The sync (and on-demand provisioning) a step waits for, if any. */
  syncOf(input: StepInputs[A]): SyncWait | undefined;
  /** How soon a still-waiting step is checked again (ms). */
  pollMs(input: StepInputs[A]): number;
  /** The `wait` answer's reason, for the card. */
  reason(input: StepInputs[A]): string;
  /** Looks up every probe (few calls for all); a probe missing from the answer counts as `unknown`. */
  lookup(probes: readonly Probe<A>[]): Promise<Map<string, Found>>;
  /** The message of a step that timed out: what did not appear, and what to check. */
  timeout(input: StepInputs[A], found: Extract<Found, { kind: 'missing' }> | undefined, state: WaitState): string;
}

/**
 * A look-up's answers per probe as {@link Found}: rows go to `decide`; `unknown` (failed for now) and a refusal
 * (StepError) pass through.
 */
export function foundFrom<A extends WaitAction, Row>(
  answers: ReadonlyMap<string, Row[] | 'unknown' | StepError>,
  probes: readonly Probe<A>[],
  decide: (p: Probe<A>, rows: Row[]) => Found,
): Map<string, Found> {
  const out = new Map<string, Found>();
  for (const p of probes) {
    const a = answers.get(p.step.key);
    if (a === undefined || a === 'unknown') out.set(p.step.key, { kind: 'unknown' });
    else if (a instanceof StepError) out.set(p.step.key, { kind: 'error', error: a });
    else out.set(p.step.key, decide(p, a));
  }
  return out;
}

function parseState(raw: unknown, attempt: number): WaitState | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  if (r.attempt !== attempt || typeof r.waitingSince !== 'string' || Number.isNaN(Date.parse(r.waitingSince))) return undefined;
  const state: WaitState = { attempt, waitingSince: r.waitingSince };
  const pod = r.provisionOnDemand;
  if (typeof pod === 'object' && pod !== null && typeof (pod as OnDemandRecord).at === 'string' && typeof (pod as OnDemandRecord).status === 'string') {
    const p = pod as OnDemandRecord;
    state.provisionOnDemand = { at: p.at, status: p.status, ...(typeof p.reason === 'string' ? { reason: p.reason } : {}) };
  }
  return state;
}

/**
 * How soon a wait looks again: as long as it has waited so far, at least a quarter of its interval and at most the
 * interval. A wait is looked at when it begins, then after ¼, ½ and 1 interval, then once an interval: most objects
 * appear within the first interval (an on-demand provisioning or a sync cycle after the write), so they are seen about
 * when they appear, for two more look-ups per wait (each one batched with every other wait due then).
 */
export function nextLookIn(pollMs: number, waitedMs: number): number {
  return Math.min(pollMs, Math.max(Math.ceil(pollMs / 4), waitedMs));
}

function stateResult(s: WaitState): StepResult {
  return { attempt: s.attempt, waitingSince: s.waitingSince, ...(s.provisionOnDemand ? { provisionOnDemand: { ...s.provisionOnDemand } } : {}) };
}

/** Wait states in this process's memory, per step key and attempt (bounded). */
export class WaitMemory {
  private readonly states = new Map<string, WaitState>();

  get(key: string, attempt: number): WaitState | undefined {
    return this.states.get(`${key}#${attempt}`);
  }

  set(key: string, s: WaitState): void {
    if (this.states.size > 20_000) this.states.delete(this.states.keys().next().value as string);
    this.states.set(`${key}#${s.attempt}`, s);
  }

  forget(key: string, attempt: number): void {
    this.states.delete(`${key}#${attempt}`);
  }
}

/** The waiter of one kind of wait: its `checkAll` runs one cycle for every waiting step of the kind. */
export class Waiter<A extends WaitAction> implements BatchWaiter<A> {
  readonly action: A;

  constructor(
    private readonly kind: WaitKind<A>,
    private readonly trigger: OnDemandTrigger,
    private readonly memory: WaitMemory,
  ) {
    this.action = kind.action;
  }

  async checkAll(waiting: readonly WaitingStep<A>[]): Promise<WaitAnswers> {
    const out: WaitAnswers = new Map();
    if (waiting.length === 0) return out;
    const probes: Probe<A>[] = waiting.map((step) => {
      const prior = parseState(step.ctx.results[step.ctx.stepId], step.ctx.attempt) ?? this.memory.get(step.key, step.ctx.attempt);
      const state: WaitState = prior ? { ...prior } : { attempt: step.ctx.attempt, waitingSince: step.ctx.now.toISOString() };
      return { step, state };
    });
    await this.trigger.run(probes.map((p) => ({ sync: this.kind.syncOf(p.step.input), ctx: p.step.ctx, state: p.state })));
    const found = await this.kind.lookup(probes);
    for (const { step, state } of probes) {
      const { key, input, ctx } = step;
      const f = found.get(key) ?? { kind: 'unknown' as const };
      if (f.kind === 'ok') {
        this.memory.forget(key, ctx.attempt);
        const waited = Math.max(0, Math.round((ctx.now.getTime() - Date.parse(state.waitingSince)) / 1000));
        // changed: a provisionOnDemand call of Mailroom's synced it (a wait writes nothing else); a Failure or a skip did not.
        const pod = state.provisionOnDemand?.status;
        const changed = pod === 'Success' || pod === 'Warning';
        out.set(key, { kind: 'done', changed, result: { ...f.result, ...stateResult(state), waitedSeconds: waited } });
        continue;
      }
      if (f.kind === 'error') {
        this.memory.forget(key, ctx.attempt);
        out.set(key, f.error);
        continue;
      }
      const deadline = Date.parse(state.waitingSince) + input.timeoutMinutes * 60_000;
      if (f.kind === 'missing' && ctx.now.getTime() >= deadline) {
        this.memory.forget(key, ctx.attempt);
        out.set(key, new StepError(this.kind.timeout(input, f, state), false, undefined, { ...stateResult(state), timeoutMinutes: input.timeoutMinutes }));
        continue;
      }
      this.memory.set(key, state);
      const next = Math.min(ctx.now.getTime() + nextLookIn(this.kind.pollMs(input), ctx.now.getTime() - Date.parse(state.waitingSince)), Math.max(deadline, ctx.now.getTime() + 1000));
      out.set(key, { kind: 'wait', until: new Date(next), reason: this.kind.reason(input), result: stateResult(state) });
    }
    return out;
  }
}
